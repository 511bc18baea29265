"""OAuth access tokens checked in the quick suite: tokens signed here, keys published by an issuer served here.

The issuer is a few lines of Starlette on loopback (its metadata and its JWKS, as an OpenID provider publishes
them); the server is a real `python -m tavus_mcp --transport http` trusting it, with a users file. Every token is
made here with PyJWT: a good one is served and its calls send its user's key; one that is expired, not yet valid,
forged, for another audience or from another issuer, unsigned, signed with a key the issuer does not publish,
without an expiry, or for nobody in the users file gets 401, and the reason is logged without the token.
tests/test_oauth.py does the same with a real OpenID provider and the SDK's OAuth client (slow: it needs Node).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.servers import Tavus, connect, free_port, ok, post, running_server, served_tavus
from tests.test_oauth import Provider, Team, rsa_key
from tests.upstream import serve_on_loopback

pytestmark = pytest.mark.http

REPLICA = "rfe12d8b9597"
ALICE_KEY = "alice-tavus-key-0f3a9c7e21b4"
BOB_KEY = "bob-tavus-key-7d1e4b9a05c6"
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}
TEST_TIMEOUT = 60.0

USERS_TOML = """\
# alice signs in as subject "alice", bob by his (verified) email.
[[users]]
name = "alice"
subject = "alice"
tavus_api_key_env = "ALICE_TAVUS_API_KEY"

[[users]]
name = "bob"
email = "bob@example.test"
tavus_api_key_env = "BOB_TAVUS_API_KEY"
"""


def issuer_app(key: rsa.RSAPrivateKey, kid: str) -> Starlette:
    """An authorization server as resource servers see one: its metadata, naming its JWKS, and the JWKS."""
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="RS256", use="sig")

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def metadata(request: Request) -> Response:
        return JSONResponse({"issuer": base(request), "jwks_uri": f"{base(request)}/jwks"})

    async def jwks(_: Request) -> Response:
        return JSONResponse({"keys": [jwk]})

    return Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata),
            Route("/.well-known/openid-configuration", metadata),
            Route("/jwks", jwks),
        ]
    )


def other_key() -> rsa.RSAPrivateKey:
    return rsa_key("other")[0]


@pytest.fixture(scope="module")
def _served_tavus() -> Iterator[Tavus]:
    with served_tavus() as tavus:
        yield tavus


@pytest.fixture
def tavus(_served_tavus: Tavus) -> Iterator[Tavus]:
    _served_tavus.reset((SANDBOX_API_KEY, ALICE_KEY, BOB_KEY))
    yield _served_tavus


@pytest.fixture(scope="module")
def team(_served_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("oauth-tokens")
    users_file = folder / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    key, _ = rsa_key("k1")
    port = free_port()
    with serve_on_loopback(issuer_app(key, "k1")) as issuer:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TAVUS_API_KEY": SANDBOX_API_KEY,
            "TAVUS_API_BASE_URL": _served_tavus.base_url,
            "TAVUS_LOG_LEVEL": "INFO",
            "TAVUS_MCP_USERS_FILE": str(users_file),
            "TAVUS_MCP_OAUTH_ISSUER": issuer,
            "TAVUS_MCP_OAUTH_AUDIENCE": f"http://127.0.0.1:{port}/mcp",
            "ALICE_TAVUS_API_KEY": ALICE_KEY,
            "BOB_TAVUS_API_KEY": BOB_KEY,
        }
        with running_server(folder / "server.log", env, port=port) as server:
            # test_oauth's Team makes the tokens: good ones, signed with the issuer's key, unless told otherwise.
            yield Team(Provider(issuer, folder / "no-provider.log"), server, key)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("claims", "key"),
    [({"sub": "alice"}, ALICE_KEY), ({"sub": "b-1", "email": "BOB@example.test", "email_verified": True}, BOB_KEY)],
    ids=["by-subject", "by-email"],
)
async def test_a_good_token_is_served_and_its_calls_send_its_users_key(
    tavus: Tavus, team: Team, claims: dict[str, Any], key: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team.server.url, token=team.token(**claims)) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA, "test_mode": True})

    assert tavus.creates() == [(key, {"replica_id": REPLICA, "test_mode": True})]
    assert created["conversation_id"] in tavus.emulator.conversations


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "Signature has expired (ExpiredSignatureError)"),
        ({"nbf": int(time.time()) + 600}, "The token is not yet valid (nbf) (ImmatureSignatureError)"),
        ({"key": other_key()}, "Signature verification failed (InvalidSignatureError)"),
        ({"aud": "http://127.0.0.1:1/mcp"}, "Audience doesn't match (InvalidAudienceError)"),
        ({"iss": "http://127.0.0.1:1"}, "Invalid issuer (InvalidIssuerError)"),
        ({"key": "", "algorithm": "none"}, "The specified alg value is not allowed (InvalidAlgorithmError)"),
        ({"key": other_key(), "kid": "k9"}, 'Unable to find a signing key that matches: "k9" (PyJWKClientError)'),
        ({"exp": None}, 'Token is missing the "exp" claim (MissingRequiredClaimError)'),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-signature",
        "wrong-audience",
        "wrong-issuer",
        "alg-none",
        "key-not-in-jwks",
        "no-expiry",
    ],
)
def test_a_token_that_is_not_good_gets_401_and_the_reason_is_logged(
    tavus: Tavus, team: Team, claims: dict[str, Any], reason: str
) -> None:
    logged_before = len(team.server.log())
    token = team.token(**claims)

    response = post(team.server.url, headers={"authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    log = team.server.log()[logged_before:]
    quoted = reason.replace('"', '\\"')  # as logfmt writes it
    assert f'msg="access token refused: {quoted}"' in log
    assert token not in log
    assert tavus.injector.seen == []


@pytest.mark.parametrize(
    "claims",
    [{"sub": "mallory"}, {"sub": "b-2", "email": "bob@example.test", "email_verified": False}],
    ids=["nobody-in-the-file", "unverified-email"],
)
def test_a_good_token_for_no_user_of_the_file_gets_401(tavus: Tavus, team: Team, claims: dict[str, Any]) -> None:
    logged_before = len(team.server.log())

    response = post(team.server.url, headers={"authorization": f"Bearer {team.token(**claims)}"})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    subject = claims["sub"]
    assert f"access token refused: its subject '{subject}' (or email) is no user's" in team.server.log()[logged_before:]
    assert tavus.injector.seen == []
