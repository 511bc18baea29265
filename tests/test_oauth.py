"""Signing in through OAuth 2.1: the server as a resource server, a real OpenID provider, and the SDK's MCP client.

The provider is panva's oidc-provider on Node (scripts/install-client-tools.sh installs both into .tools/),
started here on loopback with tests/oidc_provider.mjs and a signing key this module makes. The MCP client is the
SDK's `OAuthClientProvider`, as hosts use it: it meets the server's 401, reads its Protected Resource Metadata,
discovers the provider, registers itself (dynamic client registration), runs the authorization code flow with
PKCE asking for a token for the server's URL (RFC 8707), and calls tools with the JWT access token it gets. A
stand-in browser follows the provider's redirects and signs a user in.

Tokens the provider never issued are made here with PyJWT: signed with the provider's own key but expired, for
another audience or from another issuer, and signed with another key (forged). Each is refused with 401.

Without Node and oidc-provider in .tools/ the tests skip, saying how to install them; with
TAVUS_REQUIRE_CLIENT_TOOLS=1 (for CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tavus_mcp.oauth import AccessTokenValidator, OAuthSettings
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.servers import (
    ServerProcess,
    Tavus,
    connect,
    free_port,
    ok,
    post,
    running_server,
    served_tavus,
    stop,
    wait_until_up,
)

pytestmark = pytest.mark.oauth

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "node"
PROVIDER_ENTRY = ROOT / ".tools" / "oidc-provider" / "node_modules" / "oidc-provider" / "lib" / "index.js"
PROVIDER_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
INSTALL = "scripts/install-client-tools.sh"

REPLICA = "rfe12d8b9597"
ALICE_KEY = "alice-tavus-key-0f3a9c7e21b4"
BOB_KEY = "bob-tavus-key-7d1e4b9a05c6"
CAROL_TOKEN = "carol-token-9f1e3d5c7b2a4e6d"
TEST_TIMEOUT = 90.0
START_TIMEOUT = 30.0


def rsa_key(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    """A signing key and its private JWK (for the provider's configuration)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return key, jwk


@pytest.fixture(scope="module")
def _tools() -> None:
    for path, what in ((NODE, "Node.js 22"), (PROVIDER_ENTRY, "oidc-provider")):
        if not path.exists():
            message = f"{what} is not installed in .tools/: run {INSTALL}"
            if os.environ.get("TAVUS_REQUIRE_CLIENT_TOOLS") == "1":
                pytest.fail(message)
            pytest.skip(message)


@dataclass
class Provider:
    issuer: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def openid_provider(folder: Path, port: int, keys: list[dict[str, Any]], resources: list[str]) -> Iterator[Provider]:
    """oidc-provider on 127.0.0.1:`port`, signing with the first of `keys`, issuing tokens for `resources`."""
    issuer = f"http://127.0.0.1:{port}"
    config = folder / f"provider-{port}-{keys[0]['kid']}.json"
    config.write_text(
        json.dumps(
            {"entry": str(PROVIDER_ENTRY), "issuer": issuer, "port": port, "keys": keys, "resources": resources}
        ),
        encoding="utf-8",
    )
    provider = Provider(issuer, folder / f"provider-{port}-{keys[0]['kid']}.log")
    with provider.log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(NODE), str(PROVIDER_SCRIPT), str(config)],
            env={"PATH": os.environ.get("PATH", ""), "NODE_ENV": "test"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(
                process, f"{issuer}/.well-known/openid-configuration", "oidc-provider", provider.log, START_TIMEOUT
            )
            yield provider
        finally:
            stop(process)


@dataclass
class Team:
    """The provider, the server that trusts it, and the provider's signing key (for tokens the tests make)."""

    provider: Provider
    server: ServerProcess
    key: rsa.RSAPrivateKey

    @property
    def audience(self) -> str:
        return self.server.url

    def token(self, **claims: Any) -> str:
        """A JWT access token signed with the provider's key: good unless `claims` (or key=, kid=) say otherwise."""
        now = int(time.time())
        key = claims.pop("key", self.key)
        kid = claims.pop("kid", "k1")
        algorithm = claims.pop("algorithm", "RS256")
        payload = {
            "iss": self.provider.issuer,
            "aud": self.audience,
            "sub": "alice",
            "iat": now,
            "exp": now + 600,
            "client_id": "test-client",
            "scope": "tavus",
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid, "typ": "at+jwt"})


USERS_TOML = f"""\
# alice signs in through the provider as subject "alice", bob by his email; carol with a token of her own.
[[users]]
name = "alice"
subject = "alice"
tavus_api_key_env = "ALICE_TAVUS_API_KEY"

[[users]]
name = "bob"
email = "bob@example.test"
tavus_api_key_env = "BOB_TAVUS_API_KEY"

[[users]]
name = "carol"
token_sha256 = "{__import__("hashlib").sha256(CAROL_TOKEN.encode()).hexdigest()}"
"""


@pytest.fixture(scope="module")
def _served_tavus() -> Iterator[Tavus]:
    with served_tavus() as tavus:
        yield tavus


@pytest.fixture
def tavus(_served_tavus: Tavus) -> Iterator[Tavus]:
    _served_tavus.reset((SANDBOX_API_KEY, ALICE_KEY, BOB_KEY))
    yield _served_tavus
    # Whatever signed a client in, nothing of it reached Tavus: no Authorization header, only users' keys.
    for headers in _served_tavus.recorder.headers:
        assert "authorization" not in headers
        assert headers.get("x-api-key") in (SANDBOX_API_KEY, ALICE_KEY, BOB_KEY)


@pytest.fixture(scope="module")
def team(_tools: None, _served_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("oauth")
    server_port, provider_port = free_port(), free_port()
    audience = f"http://127.0.0.1:{server_port}/mcp"
    key, jwk = rsa_key("k1")
    users_file = folder / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    with openid_provider(folder, provider_port, [jwk], [audience]) as provider:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TAVUS_API_KEY": SANDBOX_API_KEY,
            "TAVUS_API_BASE_URL": _served_tavus.base_url,
            "TAVUS_LOG_LEVEL": "INFO",
            "TAVUS_MCP_USERS_FILE": str(users_file),
            "TAVUS_MCP_OAUTH_ISSUER": provider.issuer,
            "TAVUS_MCP_OAUTH_AUDIENCE": audience,
            "ALICE_TAVUS_API_KEY": ALICE_KEY,
            "BOB_TAVUS_API_KEY": BOB_KEY,
        }
        with running_server(folder / "server.log", env, port=server_port) as server:
            yield Team(provider, server, key)


# What clients discover


def test_the_server_publishes_its_metadata_and_its_401_points_at_it(tavus: Tavus, team: Team) -> None:
    metadata_url = f"{team.server.base}/.well-known/oauth-protected-resource/mcp"

    refused = post(team.server.url)
    metadata = httpx2.get(metadata_url, timeout=10.0)

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="Authentication required", resource_metadata="{metadata_url}"'
    )
    assert metadata.status_code == 200
    assert metadata.json() == {
        "resource": team.audience,
        "authorization_servers": [team.provider.issuer],
        "bearer_methods_supported": ["header"],
    }
    assert tavus.emulator.received == []


# The flow real hosts use


@dataclass
class Browser:
    """What a person's browser does during the authorization code flow: follows the provider's redirects, signs
    `login` in at its interaction page (which grants what the client asked for), and hands the code back."""

    login: str
    redirect_uri: str
    visited: list[str] = field(default_factory=list)
    result: AuthorizationCodeResult | None = None

    async def open(self, url: str) -> None:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10.0) as http:  # it keeps cookies
            for _ in range(10):
                self.visited.append(url)
                response = await http.get(url)
                assert response.status_code in (302, 303), f"{url}: {response.status_code} {response.text}"
                location = urljoin(url, response.headers["location"])
                if location.startswith(self.redirect_uri):
                    query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
                    assert "error" not in query, query
                    self.result = AuthorizationCodeResult(
                        code=query["code"], state=query.get("state"), iss=query.get("iss")
                    )
                    return
                if urlsplit(location).path.startswith("/interaction/"):
                    location += "?" + urlencode({"login": self.login})
                url = location
        raise AssertionError(f"the provider never redirected back: {self.visited}")

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


@dataclass
class MemoryStorage:
    tokens: OAuthToken | None = None
    client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("login", "mode", "user", "key"),
    [("alice", "auto", "alice", ALICE_KEY), ("bob", "legacy", "bob", BOB_KEY)],
    ids=["by-subject", "by-email"],
)
async def test_an_mcp_client_discovers_the_provider_signs_in_and_calls_with_its_users_key(
    tavus: Tavus, team: Team, login: str, mode: Any, user: str, key: str
) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    browser = Browser(login, redirect_uri)
    storage = MemoryStorage()
    oauth = OAuthClientProvider(
        server_url=team.server.url,
        client_metadata=OAuthClientMetadata(client_name="tavus-test-host", redirect_uris=[AnyUrl(redirect_uri)]),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    logged_before = len(team.server.log())

    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team.server.url, auth=oauth, mode=mode) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA, "test_mode": True})

    # The client found the provider through the server, registered, and went through its authorization endpoint.
    assert browser.visited[0].startswith(f"{team.provider.issuer}/auth?")
    assert storage.client_info is not None and storage.client_info.client_id
    assert storage.tokens is not None
    # The access token is a JWT the provider signed for this server (RFC 8707), standing for the signed-in user.
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], claims["sub"]) == (team.provider.issuer, team.audience, login)
    # The call ran with that user's key.
    assert tavus.creates() == [(key, {"replica_id": REPLICA, "test_mode": True})]
    assert created["conversation_id"] in tavus.emulator.conversations
    lines = [line for line in team.server.log()[logged_before:].splitlines() if " msg=tool_call " in line]
    assert len(lines) == 1 and f" msg=tool_call user={user} tool=create_conversation outcome=ok " in lines[0]
    assert storage.tokens.access_token not in team.server.log()


@pytest.mark.anyio
async def test_a_users_file_token_works_beside_oauth(tavus: Tavus, team: Team) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team.server.url, token=CAROL_TOKEN) as carol:
            await ok(carol, "list_replicas", {})

    assert [seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/replicas")] == [SANDBOX_API_KEY]


# Tokens the server must refuse


def test_a_good_token_made_with_the_providers_key_is_accepted(tavus: Tavus, team: Team) -> None:
    # The control for the refusals below: the same token, with nothing wrong, is let in.
    response = post(team.server.url, headers={"authorization": f"Bearer {team.token()}"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"key": rsa_key("k1")[0]}, "Signature verification failed (InvalidSignatureError)"),
        ({"exp": int(time.time()) - 600}, "Signature has expired (ExpiredSignatureError)"),
        ({"aud": "http://127.0.0.1:1/mcp"}, "Audience doesn't match (InvalidAudienceError)"),
        ({"iss": "http://127.0.0.1:1"}, "Invalid issuer (InvalidIssuerError)"),
        ({"exp": None}, 'Token is missing the "exp" claim (MissingRequiredClaimError)'),
        ({"kid": "k9"}, 'Unable to find a signing key that matches: "k9" (PyJWKClientError)'),
        ({"key": "", "algorithm": "none"}, "The specified alg value is not allowed (InvalidAlgorithmError)"),
    ],
    ids=["forged", "expired", "wrong-audience", "wrong-issuer", "no-expiry", "unknown-key", "unsigned"],
)
def test_a_token_that_is_not_good_gets_401(tavus: Tavus, team: Team, claims: dict[str, Any], reason: str) -> None:
    logged_before = len(team.server.log())
    token = team.token(**claims)

    response = post(team.server.url, headers={"authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "Authentication required"}
    log = team.server.log()[logged_before:]
    quoted = reason.replace('"', '\\"')  # as logfmt writes it
    assert f'msg="access token refused: {quoted}"' in log
    assert token not in log
    assert tavus.emulator.received == []


def test_a_good_token_for_no_user_of_the_file_gets_401(tavus: Tavus, team: Team) -> None:
    logged_before = len(team.server.log())

    response = post(team.server.url, headers={"authorization": f"Bearer {team.token(sub='mallory')}"})

    assert response.status_code == 401
    assert (
        "access token refused: its subject 'mallory' (or email) is no user's subject or email in "
        in (team.server.log()[logged_before:])
    )


# Keys the provider rotates


def test_keys_the_provider_rotates_are_fetched_and_retired_keys_refused(_tools: None, tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    audience = "http://127.0.0.1:8000/mcp"
    old_key, old_jwk = rsa_key("old")
    new_key, new_jwk = rsa_key("new")
    # A cooldown of 0 between fetches for unknown keys, so that the test need not wait out the server's.
    validator = AccessTokenValidator(OAuthSettings(issuer=issuer, audience=audience), refresh_cooldown=0)

    def token(key: rsa.RSAPrivateKey, kid: str) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": "alice", "iat": now, "exp": now + 600}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    with openid_provider(tmp_path, port, [old_jwk], [audience]):
        assert validator.validate(token(old_key, "old")) is not None
        assert validator.validate(token(new_key, "new")) is None
    # The provider rotates: the new key signs, the old one is no longer published.
    with openid_provider(tmp_path, port, [new_jwk], [audience]):
        good = validator.validate(token(new_key, "new"))
        retired = validator.validate(token(old_key, "old"))

    assert good is not None and good["sub"] == "alice"
    assert retired is None


def test_an_issuer_whose_metadata_names_another_or_cannot_be_read_lets_no_token_in(
    team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    # The provider's own address under another name: its metadata says 127.0.0.1, not localhost.
    port = urlsplit(team.provider.issuer).port
    misnamed = AccessTokenValidator(OAuthSettings(issuer=f"http://localhost:{port}", audience=team.audience))
    down = AccessTokenValidator(OAuthSettings(issuer=f"http://127.0.0.1:{free_port()}", audience=team.audience))

    assert misnamed.validate(team.token(iss=f"http://localhost:{port}")) is None
    assert down.validate(team.token()) is None
    # Not asked again at once: a burst of tokens while the provider is down does not hammer it.
    assert down.validate(team.token()) is None

    errors = [record.getMessage() for record in caplog.records if record.name == "tavus_mcp.oauth"]
    assert errors[0] == (
        f"the metadata at http://localhost:{port}/.well-known/oauth-authorization-server names issuer "
        f"'{team.provider.issuer}', not TAVUS_MCP_OAUTH_ISSUER 'http://localhost:{port}': set "
        "TAVUS_MCP_OAUTH_ISSUER to the issuer exactly as it says"
    )
    assert errors[1].startswith("access tokens cannot be checked: no metadata with a jwks_uri for http://127.0.0.1:")
    assert errors[2].startswith("access token refused: the metadata of http://127.0.0.1:")
    assert len(errors) == 3
