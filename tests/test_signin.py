"""Signing in with OAuth access tokens, as an attacker with a correctly signed token would try it: an email that
only looks like a user's, an email the provider has not verified, and an issuer whose key endpoint hangs.

The issuer is a small app served here on loopback (its RFC 8414 metadata and its JWKS, counting every request and
hanging when told to); tokens are signed here with its key. The server is the team app (`build_app`) served by
uvicorn on loopback in front of the Tavus emulator; clients send real HTTP requests.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tavus_mcp.http import HttpSettings, build_app
from tavus_mcp.oauth import OAuthSettings
from tavus_mcp.users_file import UserDirectory
from tests.conftest import Sandbox
from tests.servers import INITIALIZE, connect
from tests.upstream import serve_on_loopback

pytestmark = pytest.mark.anyio

AUDIENCE = "http://127.0.0.1/mcp"
KIM_TOKEN = "kim-bearer-token-5c1e9a7f3b2d"
USERS_TOML = f"""\
[[users]]
name = "alice"
subject = "alice-subject"

[[users]]
name = "kim"
email = "kim@example.com"

[[users]]
name = "strasse"
email = "strasse@example.com"

[[users]]
name = "bearer"
token_sha256 = "{hashlib.sha256(KIM_TOKEN.encode()).hexdigest()}"
"""
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}


class Issuer:
    """An authorization server's published side: its metadata and its keys, each request counted; `hang` names the
    path that answers nothing until the test ends."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}
        self.hits: Counter[str] = Counter()
        self.hang: str | None = None
        self.released = threading.Event()
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self.metadata),
                Route("/.well-known/openid-configuration", self.metadata),
                Route("/jwks", self.keys),
            ]
        )

    async def _maybe_hang(self, request: Request) -> None:
        self.hits[request.url.path] += 1
        if request.url.path == self.hang:
            while not self.released.is_set():  # noqa: ASYNC110 - set from the test's thread
                await anyio.sleep(0.05)

    async def metadata(self, request: Request) -> Response:
        await self._maybe_hang(request)
        return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/jwks"})

    async def keys(self, request: Request) -> Response:
        await self._maybe_hang(request)
        return JSONResponse(self.jwks)

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": AUDIENCE, "sub": "someone", "iat": now, "exp": now + 600, **claims}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": "k1"})


@contextmanager
def served_issuer() -> Iterator[Issuer]:
    """An issuer served on loopback; whatever hangs is released on the way out."""
    issuer = Issuer()
    with serve_on_loopback(issuer.app) as url:
        issuer.url = url
        yield issuer
        issuer.released.set()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with served_issuer() as issuer:
        yield issuer


@contextmanager
def team_server(sandbox: Sandbox, issuer: Issuer, folder: Path, **oauth: float) -> Iterator[str]:
    """The team app trusting `issuer`, with the users above; the URL of its MCP endpoint."""
    users_file = folder / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    http = HttpSettings(users_file=str(users_file), oauth=OAuthSettings(issuer.url, AUDIENCE, **oauth))
    settings = sandbox.settings()
    app = build_app(settings, http, users=UserDirectory(str(users_file), {}, server_key_set=True))
    with serve_on_loopback(app, lifespan="on") as url:
        yield f"{url}/mcp"


def sign_in(url: str, token: str) -> httpx2.Response:
    headers = {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
    }
    return httpx2.post(url, json=INITIALIZE, headers=headers, timeout=30)


# Emails: the same address, ASCII letters' case aside; verified, as a JSON boolean


@pytest.fixture(scope="module")
def email_sign_in(
    _served_emulator: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Issuer, str, Path]]:
    """One issuer and one team app trusting it for the sign-ins below, which only sign in: the issuer, the app's
    /mcp URL and the folder of its users file."""
    folder = tmp_path_factory.mktemp("email-sign-in")
    with served_issuer() as issuer, team_server(_served_emulator, issuer, folder) as url:
        yield issuer, url, folder


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"email": "kim@example.com", "email_verified": True}, 200),
        ({"email": "KIM@Example.COM", "email_verified": True}, 200),
        ({"email": "\u212aim@example.com", "email_verified": True}, 401),  # KELVIN SIGN, which lower() makes "k"
        ({"email": "\uff4bim@example.com", "email_verified": True}, 401),  # FULLWIDTH LATIN SMALL LETTER K
        ({"email": "stra\u00dfe@example.com", "email_verified": True}, 401),  # casefold() makes it "strasse"
        ({"email": "STRASSE@EXAMPLE.COM", "email_verified": True}, 200),
        ({"email": "kim@example.com", "email_verified": "false"}, 401),
        ({"email": "kim@example.com", "email_verified": "true"}, 401),
        ({"email": "kim@example.com", "email_verified": 1}, 401),
        ({"email": "kim@example.com", "email_verified": False}, 401),
        ({"email": "kim@example.com"}, 401),
        ({"sub": "alice-subject", "email": "kim@example.com"}, 200),
    ],
    ids=[
        "same",
        "ascii-case",
        "kelvin-sign",
        "fullwidth-k",
        "sharp-s",
        "ascii-case-strasse",
        "verified-string-false",
        "verified-string-true",
        "verified-number",
        "not-verified",
        "verified-missing",
        "by-subject",
    ],
)
def test_an_email_signs_in_only_as_the_same_verified_address(
    email_sign_in: tuple[Issuer, str, Path], caplog: pytest.LogCaptureFixture, claims: dict[str, Any], status: int
) -> None:
    issuer, url, folder = email_sign_in
    response = sign_in(url, issuer.token(**claims))

    assert response.status_code == status, response.text
    if status == 401:
        assert response.json() == UNAUTHORIZED
        refused = [record.getMessage() for record in caplog.records if record.name == "tavus_mcp.oauth"]
        assert refused == [
            "access token refused: its subject 'someone' (or email) is no user's subject or email in "
            f"{folder / 'users.toml'}"
        ]


async def test_a_user_signed_in_by_email_calls_tools(sandbox: Sandbox, issuer: Issuer, tmp_path: Path) -> None:
    # The control for the refusals above, through the SDK's client: the token signs kim in, and the call runs.
    with team_server(sandbox, issuer, tmp_path) as url, anyio.fail_after(60):
        async with connect(url, token=issuer.token(email="Kim@Example.com", email_verified=True)) as client:
            result = await client.call_tool("list_replicas", {"limit": 1})

    assert not result.is_error
    assert sandbox.requests_to("GET", "/v2/replicas")


# An issuer that hangs: every request answered within the fetch timeout; a failed fetch not retried for a cooldown


@pytest.mark.parametrize("hanging", ["/jwks", "/.well-known/oauth-authorization-server"])
async def test_an_issuer_that_hangs_is_asked_once_and_every_request_gets_its_401(
    sandbox: Sandbox, issuer: Issuer, tmp_path: Path, hanging: str
) -> None:
    issuer.hang = hanging
    answers: list[tuple[int, Any, float]] = []

    async def one_request(http: httpx2.AsyncClient, url: str) -> None:
        started = time.perf_counter()
        token = issuer.token(email="kim@example.com", email_verified=True)
        response = await http.post(
            url,
            json=INITIALIZE,
            headers={"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"},
        )
        answers.append((response.status_code, response.json(), time.perf_counter() - started))

    # A fetch timeout of 1 s, and a cooldown far longer than the test: within it, the issuer is asked once.
    with team_server(sandbox, issuer, tmp_path, fetch_timeout=1.0, retry_after=600.0) as url:
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(timeout=30) as http, anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(one_request, http, url)
            # A users-file token never waits for the issuer.
            bearer = await anyio.to_thread.run_sync(sign_in, url, KIM_TOKEN)

    print(f"5 requests during an outage of {hanging}, answered after", [f"{took:.2f} s" for *_, took in answers])
    assert [(status, body) for status, body, _ in answers] == [(401, UNAUTHORIZED)] * 5
    assert issuer.hits[hanging] == 1
    if hanging == "/jwks":
        assert issuer.hits["/.well-known/oauth-authorization-server"] == 1
    else:
        # Its one fetch timeout spent on the first address, the discovery asks no other.
        assert issuer.hits == Counter({hanging: 1})
    assert bearer.status_code == 200
