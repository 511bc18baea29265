"""MCP over Streamable HTTP, for a team: bearer tokens, DNS-rebinding protection, streamed answers, sessions.

`mcp-server-tavus --transport http` serves the same server as stdio at `/mcp`, for 2026-07-28 clients and for
2025-11-25 clients (the SDK routes each request on its `MCP-Protocol-Version` header). What this module adds:

- Bearer tokens from `TAVUS_MCP_AUTH_TOKENS`, checked by the SDK's auth middleware through `StaticTokenVerifier`.
  Several tokens may be configured at once, so one can be rotated without downtime. A client's token is never
  sent on to Tavus: the server uses its own key.
- Or users (`TAVUS_MCP_USERS_FILE`, `tavus_mcp.users`), each signing in with a token of their own or through an
  OAuth authorization server (`TAVUS_MCP_OAUTH_ISSUER`, `tavus_mcp.oauth`), each call sending its user's Tavus
  key. SIGHUP reads the users file again. docs/team.md says which to choose.
- Host and Origin checks against an allowlist (`TAVUS_MCP_ALLOWED_HOSTS`, `TAVUS_MCP_ALLOWED_ORIGINS`).
- Answers as event streams whenever a call sends something before its result (progress, a question to the user),
  with a sign of life at least every `TAVUS_MCP_KEEPALIVE` seconds for proxies' read timeouts. A client that
  cancels or drops the connection stops its call.
- Streamable HTTP sessions for 2025-11-25 clients (`TAVUS_MCP_SESSIONS`, on by default), so that the server can ask
  them mid-call before spending (`elicitation/create` needs the session to carry the answer back); replicas need
  proxy affinity then (docs/deployment.md). 2026-07-28 requests are sessionless either way. The lifespan (one
  Tavus client and its bounded connections) is entered once per process and shared by every request.
- `GET /healthz`, a cap on request bodies, and a graceful stop on SIGTERM that lets calls in flight finish, streamed
  ones included, under this command, `uvicorn --workers` and gunicorn alike.
- `create_app`, an ASGI app factory for uvicorn's and gunicorn's own workers (`--workers N`): settings come from
  the environment when it is called, so every worker process builds the same server.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import anyio
import h11
import httpx2
import uvicorn
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, SecretStr
from sse_starlette import EventSourceResponse
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol

from tavus_mcp import __version__
from tavus_mcp.client import stop_calls_by
from tavus_mcp.config import EXIT_CANNOT_LISTEN as EXIT_CANNOT_LISTEN  # the status when it cannot listen
from tavus_mcp.config import ConfigError, Settings, doc_url, is_loopback, parse_flag
from tavus_mcp.oauth import ENV_OAUTH_ISSUER, AccessTokenValidator, OAuthSettings, UserTokenVerifier
from tavus_mcp.redaction import REDACTED, redact_text, register_secrets
from tavus_mcp.server import build_server
from tavus_mcp.team_sandbox import users_environment
from tavus_mcp.users import ENV_USERS_FILE, HASH_HINT, token_digest
from tavus_mcp.users_file import UserDirectory

logger = logging.getLogger("tavus_mcp.http")

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Tool arguments are a few kilobytes; a megabyte leaves room for long conversational context and refuses the rest.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# How long a stopping server lets calls in flight finish before cancelling them.
DEFAULT_SHUTDOWN_TIMEOUT = 30
# How long a connection has to send a complete request (headers and body) once the server waits for one.
DEFAULT_REQUEST_TIMEOUT = 10
# Connections served at once: at most this many, and fewer when the open-file limit (ulimit -n) leaves less room
# beside the connections to Tavus and a reserve for everything else the process opens.
MAX_CLIENT_CONNECTIONS = 1000
MIN_CLIENT_CONNECTIONS = 16
FILE_DESCRIPTOR_RESERVE = 64
# The listen queue, and so the most connections the event loop accepts in one go, before any of them can be
# counted against the cap: room is kept for them too. (uvicorn's default, 2048, would need that many spare files.)
LISTEN_BACKLOG = 128
MIN_TOKEN_LENGTH = 16
# The most a request's head (its request line and headers) may take. h11 has the same bound, but checks it only
# while a head is incomplete: a whole head of 70 KiB in one write would pass. EdgeProtocol checks every head.
MAX_HEAD_BYTES = 16 * 1024

ENV_HOST = "TAVUS_MCP_HOST"
ENV_PORT = "TAVUS_MCP_PORT"
ENV_AUTH_TOKENS = "TAVUS_MCP_AUTH_TOKENS"
ENV_ALLOWED_HOSTS = "TAVUS_MCP_ALLOWED_HOSTS"
ENV_ALLOWED_ORIGINS = "TAVUS_MCP_ALLOWED_ORIGINS"
ENV_MAX_BODY_BYTES = "TAVUS_MCP_MAX_BODY_BYTES"
ENV_SHUTDOWN_TIMEOUT = "TAVUS_MCP_SHUTDOWN_TIMEOUT"
ENV_REQUEST_TIMEOUT = "TAVUS_MCP_REQUEST_TIMEOUT"
ENV_SESSIONS = "TAVUS_MCP_SESSIONS"

TOKEN_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105 - a command, not a token

# RFC 6750 b64token: what can follow "Bearer " in an Authorization header.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A Host header value: a name or an IPv4 address, or a bracketed IPv6 address, then an optional port or ":*".
_HOST_SHAPE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9\-._]+)(:(\d{1,5}|\*))?")
_ORIGIN_SHAPE = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9\-._]+)(:(\d{1,5}|\*))?")

# Requests for loopback names are always accepted: a DNS-rebinding page cannot send them (its Host is its own name).
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_BINDS = ("0.0.0.0", "::", "")  # noqa: S104 - names of the wildcard addresses, compared against, not bound

# `AuthSettings` requires an issuer, but the SDK reads it only to publish OAuth metadata (with `resource_server_url`
# or an `auth_server_provider`), and this server does neither: static tokens have no issuer. Never served.
_NO_ISSUER = "https://static-bearer-tokens.invalid"


@dataclass(frozen=True)
class HttpSettings:
    """The settings of the HTTP transport only; what reaches Tavus is `config.Settings`."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # Never in repr, str or logs.
    auth_tokens: tuple[SecretStr, ...] = field(default=(), repr=False)
    # Host header values and origins accepted on top of the loopback ones.
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    shutdown_timeout: int = DEFAULT_SHUTDOWN_TIMEOUT
    request_timeout: int = DEFAULT_REQUEST_TIMEOUT
    # Streamable HTTP sessions for 2025-11-25 clients: what lets the server ask them a question mid-call.
    sessions: bool = True
    # A team's users, each with a sign-in and a Tavus key of their own (instead of `auth_tokens`).
    users_file: str | None = None
    # The OAuth authorization server whose access tokens sign users in (needs `users_file`).
    oauth: OAuthSettings | None = None

    @property
    def authenticated(self) -> bool:
        return bool(self.auth_tokens) or self.users_file is not None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        host: str | None = None,
        port: int | None = None,
        allowed_hosts: str | None = None,
        allowed_origins: str | None = None,
        sessions_by_default: bool = True,
    ) -> HttpSettings:
        """Settings from `TAVUS_MCP_*` variables; a non-None argument (a command-line flag) wins over its variable.
        `sessions_by_default`: whether sessions are on when TAVUS_MCP_SESSIONS is not set.

        Raises ConfigError, naming the setting, for a value the server cannot use, and for a server that would
        listen beyond loopback without a token.
        """

        def get(name: str) -> str:
            return environ.get(name, "").strip()

        raw_port = get(ENV_PORT)
        raw_body = get(ENV_MAX_BODY_BYTES)
        raw_shutdown = get(ENV_SHUTDOWN_TIMEOUT)
        raw_request = get(ENV_REQUEST_TIMEOUT)
        raw_sessions = get(ENV_SESSIONS)
        settings = cls(
            host=host if host is not None else (get(ENV_HOST) or DEFAULT_HOST),
            port=port if port is not None else (_whole(raw_port, f"{ENV_PORT} (--port)") if raw_port else DEFAULT_PORT),
            auth_tokens=tuple(SecretStr(token) for token in _items(get(ENV_AUTH_TOKENS))),
            allowed_hosts=tuple(_items(allowed_hosts if allowed_hosts is not None else get(ENV_ALLOWED_HOSTS))),
            allowed_origins=tuple(_items(allowed_origins if allowed_origins is not None else get(ENV_ALLOWED_ORIGINS))),
            max_body_bytes=_whole(raw_body, ENV_MAX_BODY_BYTES) if raw_body else DEFAULT_MAX_BODY_BYTES,
            shutdown_timeout=_whole(raw_shutdown, ENV_SHUTDOWN_TIMEOUT) if raw_shutdown else DEFAULT_SHUTDOWN_TIMEOUT,
            request_timeout=_whole(raw_request, ENV_REQUEST_TIMEOUT) if raw_request else DEFAULT_REQUEST_TIMEOUT,
            sessions=parse_flag(raw_sessions, ENV_SESSIONS) if raw_sessions else sessions_by_default,
            users_file=get(ENV_USERS_FILE) or None,
            oauth=OAuthSettings.from_env(environ),
        )
        return settings.validated()

    def validated(self) -> HttpSettings:
        """These settings, with host names lowercased; raises ConfigError naming the bad setting."""
        host = self.host.strip()
        if not host or any(char.isspace() or char in "/@" for char in host):
            raise ConfigError(f"{ENV_HOST} (--host) must be an address or host name to listen on; got {self.host!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{ENV_PORT} (--port) must be a port number from 0 to 65535; got {self.port!r}")
        for number, token in enumerate(self.auth_tokens, 1):
            # The token itself is never repeated: the message says which one and what is wrong with it.
            value = token.get_secret_value()
            if not _TOKEN_SHAPE.fullmatch(value):
                raise ConfigError(
                    f"token {number} in {ENV_AUTH_TOKENS} has a character a bearer token cannot have (only letters, "
                    "digits and - . _ ~ + / then = are allowed; tokens are separated by commas); generate one with "
                    f"{TOKEN_HINT}"
                )
            if len(value) < MIN_TOKEN_LENGTH:
                raise ConfigError(
                    f"token {number} in {ENV_AUTH_TOKENS} is shorter than {MIN_TOKEN_LENGTH} characters, too easy to "
                    f"guess; generate one with {TOKEN_HINT}"
                )
        for entry in self.allowed_hosts:
            if not _HOST_SHAPE.fullmatch(entry.lower()):
                raise ConfigError(
                    f"{ENV_ALLOWED_HOSTS} (--allowed-hosts) takes host names as clients send them in the Host header, "
                    f"such as mcp.example.com or mcp.example.com:8443, separated by commas (not URLs); got {entry!r}"
                )
        for entry in self.allowed_origins:
            if not _ORIGIN_SHAPE.fullmatch(entry.lower()):
                raise ConfigError(
                    f"{ENV_ALLOWED_ORIGINS} (--allowed-origins) takes origins such as https://app.example.com "
                    f"(scheme, host and optional port; no path), separated by commas; got {entry!r}"
                )
        if not self.max_body_bytes >= 1024:
            raise ConfigError(
                f"{ENV_MAX_BODY_BYTES} must be a number of bytes of at least 1024; got {self.max_body_bytes}"
            )
        if not 1 <= self.shutdown_timeout <= 3600:
            raise ConfigError(
                f"{ENV_SHUTDOWN_TIMEOUT} must be a whole number of seconds from 1 to 3600; got {self.shutdown_timeout}"
            )
        if not 1 <= self.request_timeout <= 300:
            raise ConfigError(
                f"{ENV_REQUEST_TIMEOUT} must be a whole number of seconds from 1 to 300; got {self.request_timeout}"
            )
        if self.auth_tokens and self.users_file is not None:
            raise ConfigError(
                f"{ENV_AUTH_TOKENS} and {ENV_USERS_FILE} are both set: choose one. To keep a shared token working "
                f"with a users file, add it as a user with token_sha256 (compute it with {HASH_HINT}) and no "
                f"tavus_api_key_env (its calls then use TAVUS_API_KEY), then unset {ENV_AUTH_TOKENS}"
            )
        if self.oauth is not None and self.users_file is None:
            raise ConfigError(
                f"{ENV_OAUTH_ISSUER} needs {ENV_USERS_FILE}: an access token signs in a user of that file (by its "
                "subject or email), whose Tavus key the calls use; see {doc_url('docs/team.md#oauth')}"
            )
        if not self.authenticated and not is_loopback(host):
            raise ConfigError(
                f"refusing to listen on {host} without authentication: anyone who can reach the port could start "
                f"billed Tavus conversations with this server's API key. Set {ENV_AUTH_TOKENS} to one or more secret "
                "tokens, separated by commas, that clients send as 'Authorization: Bearer <token>' (generate one "
                f"with {TOKEN_HINT}) or {ENV_USERS_FILE} to a file of users ({doc_url('docs/team.md')}), or listen on "
                "127.0.0.1 "
                "only (--host 127.0.0.1)"
            )
        if not self.authenticated and (self.allowed_hosts or self.allowed_origins):
            # Naming a host or an origin means clients come from elsewhere, typically through a reverse proxy on
            # this machine, which reaches the server on loopback: loopback alone proves nothing about who they are.
            raise ConfigError(
                f"refusing to serve {ENV_ALLOWED_HOSTS}/{ENV_ALLOWED_ORIGINS} without authentication: clients that "
                "reach the server through another name (a reverse proxy, a load balancer) could start billed Tavus "
                f"conversations with this server's API key. Set {ENV_AUTH_TOKENS} to one or more secret tokens, "
                f"separated by commas (generate one with {TOKEN_HINT})"
            )
        return HttpSettings(
            host=host,
            port=self.port,
            auth_tokens=self.auth_tokens,
            allowed_hosts=tuple(entry.lower() for entry in self.allowed_hosts),
            allowed_origins=tuple(entry.lower() for entry in self.allowed_origins),
            max_body_bytes=self.max_body_bytes,
            shutdown_timeout=self.shutdown_timeout,
            request_timeout=self.request_timeout,
            sessions=self.sessions,
            users_file=self.users_file,
            oauth=self.oauth,
        )

    def transport_security(self) -> TransportSecuritySettings:
        """DNS-rebinding protection: the Host headers and Origins the server answers.

        The SDK matches entries exactly, and `name:*` as the name with any port; a name without a port here is
        accepted both bare and with any port. Entries are lower case, and `CaseInsensitiveHost` lowers the
        request's Host and Origin before the SDK compares them. Always given explicitly: for a host other than
        loopback the SDK's default is no check at all.
        """
        hosts = list(_LOOPBACK_HOSTS)
        if self.host not in _WILDCARD_BINDS:
            # The address or name the server was told to listen on is how clients reach it: 127.0.0.2 as well.
            host = self.host.lower()
            hosts.append(f"[{host}]" if ":" in host else host)
        hosts.extend(self.allowed_hosts)
        allowed_hosts: list[str] = []
        for host in hosts:
            has_port = bool(re.search(r":(\d+|\*)$", host))
            allowed_hosts.extend([host] if has_port else [host, f"{host}:*"])
        allowed_origins = [f"http://{host}{port}" for host in _LOOPBACK_HOSTS for port in ("", ":*")]
        allowed_origins.extend(self.allowed_origins)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(dict.fromkeys(allowed_hosts)),
            allowed_origins=list(dict.fromkeys(allowed_origins)),
        )


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _whole(value: str, setting: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{setting} must be a whole number; got {value!r}") from None


class StaticTokenVerifier(TokenVerifier):
    """Accepts the bearer tokens configured in `TAVUS_MCP_AUTH_TOKENS`, for the SDK's bearer-auth middleware.

    Tokens are compared as SHA-256 digests with `hmac.compare_digest`, always against every configured token:
    how long a check takes says nothing about how much of a token was right, its length, or which one matched.
    """

    def __init__(self, tokens: Sequence[SecretStr]) -> None:
        if not tokens:
            raise ValueError("StaticTokenVerifier needs at least one token")
        self._digests = tuple(token_digest(token.get_secret_value()) for token in tokens)

    def __repr__(self) -> str:
        return f"StaticTokenVerifier({len(self._digests)} tokens)"

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token_digest(token)
        matched = 0
        for number, digest in enumerate(self._digests, 1):
            if hmac.compare_digest(presented, digest):
                matched = number
        if not matched:
            return None
        # The presented token is not kept: nothing here needs it, so it can be neither logged nor passed on.
        # The client id says which configured token matched (its position), which helps while rotating.
        return AccessToken(token=REDACTED, client_id=f"token-{matched}", scopes=[])


def load_users(settings: Settings, http: HttpSettings, environ: Mapping[str, str]) -> UserDirectory | None:
    """The users of `http.users_file`, or None without one; raises ConfigError naming the entry and the problem."""
    if http.users_file is None:
        return None
    return UserDirectory(
        http.users_file,
        users_environment(settings, environ),  # in the sandbox, no user needs a key
        server_key_set=settings.api_key is not None or settings.sandbox,
    )


def build_app(
    settings: Settings,
    http: HttpSettings,
    *,
    users: UserDirectory | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> Starlette:
    """The ASGI app: MCP at `/mcp` (behind the token check when tokens or users are configured) and `GET /healthz`.

    Its lifespan enters the server's lifespan once, creating the one Tavus client every request shares; serve it
    with an ASGI server that runs lifespan events (uvicorn does by default). With a users file (`users`, else
    read now from `http.users_file`), SIGHUP reads it again while the app runs.
    """
    # Never in a log line, whatever logs it.
    register_secrets(*(token.get_secret_value() for token in http.auth_tokens))
    if users is None:
        users = load_users(settings, http, os.environ)
    verifier: TokenVerifier | None = None
    if users is not None:
        validator = AccessTokenValidator(http.oauth) if http.oauth is not None else None
        verifier = UserTokenVerifier(users, validator)
    elif http.auth_tokens:
        verifier = StaticTokenVerifier(http.auth_tokens)
    auth = None
    if http.oauth is not None:
        # The SDK publishes Protected Resource Metadata naming the issuer, and its 401 points clients at it. The
        # verifier checks each token's audience itself (the `aud` claim), hence no second check by the SDK.
        # Validated from strings, so that AuthSettings keeps a path-less issuer as written (no "/" added): issuer
        # identifiers are compared as strings, and the metadata must name the issuer exactly as the provider does.
        auth = AuthSettings.model_validate(
            {
                "issuer_url": http.oauth.issuer,
                "resource_server_url": http.oauth.audience,
                "validate_token_resource": False,
            }
        )
    elif verifier is not None:
        # Without `resource_server_url` the SDK publishes no OAuth metadata and its 401 names no authorization
        # server: clients are configured with a token, there is nothing for them to discover.
        auth = AuthSettings(issuer_url=AnyHttpUrl(_NO_ISSUER), resource_server_url=None)
    server = build_server(settings, transport=transport, state_secret=_shared_secret(settings, users))

    health = {
        "status": "ok",
        "version": __version__,
        "tavus_api_key_configured": settings.api_key is not None,
        "sandbox": settings.sandbox,
    }

    async def healthz(_: Request) -> Response:
        return JSONResponse(health, headers={"cache-control": "no-store"})

    _stream_through_a_stop(settings.keepalive)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        auth=auth,
        token_verifier=verifier,
        # Custom routes are outside the token check (the SDK never requires auth on them): a load balancer's probe
        # carries no token, and this answer holds nothing secret.
        custom_starlette_routes=[Route(HEALTH_PATH, healthz, methods=["GET"], include_in_schema=False)],
        # With sessions, a 2025-11-25 client's requests share an Mcp-Session-Id held in this process, and the
        # answer to a question asked mid-call (elicitation/create) comes back to the call that asked it. Without,
        # each request is a throwaway session of its own, which cannot ask. 2026-07-28 requests are sessionless.
        stateless_http=not http.sessions,
        # Event streams, not single JSON bodies: progress and questions reach the client before the result. (The
        # SDK answers a 2026-07-28 call that sent nothing within its first seconds with plain JSON all the same.)
        json_response=False,
        max_request_body_size=http.max_body_bytes,
        transport_security=http.transport_security(),
        host=http.host,
    )
    app.add_middleware(_NoStandaloneStream)
    if http.sessions:
        app.add_middleware(CancelOnDisconnect, max_body_bytes=http.max_body_bytes)
    if verifier is None:
        app.add_middleware(_LoopbackOnly)
    app.add_middleware(CaseInsensitiveHost)
    if users is not None:
        _reload_on_hangup(app, users)
    _stop_calls_on_signal(app, http.shutdown_timeout)
    return app


def _shared_secret(settings: Settings, users: UserDirectory | None) -> str | None:
    """What every worker and replica of this deployment holds, to derive the key that seals confirmations from: the
    Tavus API key, or else the users' own keys (a team server where each user pays with theirs)."""
    if settings.api_key is not None or settings.sandbox or users is None:
        return None  # build_server uses the API key itself; the sandbox keeps a key of its own process's
    keys = sorted(user.api_key.get_secret_value() for user in users.current.users if user.api_key is not None)
    return "\n".join(keys) or None


def _stream_through_a_stop(keepalive: float) -> None:
    """Set sse-starlette, which writes the SDK's 2025-11-25 event streams, for calls that outlive a SIGTERM and for
    proxies: process-wide settings of the library, the same for every app this process builds.

    - Its streams are not ended when the server is told to stop: a call in flight finishes its answer within the
      graceful stop, as a call answered with JSON does (its own default ends every stream at once, cutting answers
      short). Streams still end when their call does, and uvicorn's graceful timeout bounds the rest.
    - A comment line (`: ping`) every `keepalive` seconds while a stream has nothing else to say.
    """
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    EventSourceResponse.DEFAULT_PING_INTERVAL = keepalive  # type: ignore[assignment]


def _stop_calls_on_signal(app: Starlette, grace: int) -> None:
    """While the app runs, SIGTERM or SIGINT first sets the deadline at which calls still waiting for Tavus are
    answered with an error (shortly before `grace` runs out), then goes on to the ASGI server's own handler.

    Under `uvicorn --workers` and gunicorn's uvicorn workers, the engine installs its handlers before the app's
    lifespan starts: they are chained here, so that their graceful stop, bounded by their own timeout, sees the
    same answers as this command's.
    """
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()

        def on_stop() -> None:
            # Enough of a margin for the answer to be written before the ASGI server cancels what is left.
            stop_calls_by(loop.time() + grace - min(1.0, grace / 4))

        with _chained(signal.SIGTERM, loop, on_stop), _chained(signal.SIGINT, loop, on_stop):
            async with serve(app) as state:
                yield state

    app.router.lifespan_context = lifespan


@contextmanager
def _chained(signum: int, loop: asyncio.AbstractEventLoop, handler: Callable[[], object]) -> Iterator[None]:
    """Run `handler` on the event loop when `signum` arrives, then whatever handled the signal before."""
    previous = signal.getsignal(signum) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):
        # Signals are the main thread's (an app served from a test's thread), or no server handles this one.
        yield
        return

    def chained(sig: int, frame: FrameType | None) -> None:
        # From the loop, not inside the signal handler, which may interrupt it anywhere.
        loop.call_soon_threadsafe(handler)
        previous(sig, frame)

    signal.signal(signum, chained)
    try:
        yield
    finally:
        if signal.getsignal(signum) is chained:
            signal.signal(signum, previous)


def _reload_on_hangup(app: Starlette, users: UserDirectory) -> None:
    """While the app runs, SIGHUP reads the users file again (in each worker process that receives it)."""
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        with _on_signal(signal.SIGHUP, users.reload):
            async with serve(app) as state:
                yield state

    app.router.lifespan_context = lifespan


@contextmanager
def _on_signal(signum: int, handler: Callable[[], object]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    try:
        # Run by the event loop between callbacks, not inside the signal handler: reading a file and logging are
        # safe there, and the swap of users is atomic for every request.
        loop.add_signal_handler(signum, handler)
    except (ValueError, RuntimeError, NotImplementedError):
        # Not the main thread (an app served from a test's thread), or no signals on this platform.
        logger.info("%s cannot be caught here: the users file is read only at start", signal.Signals(signum).name)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signum)


class CaseInsensitiveHost:
    """Lowers the Host and Origin headers before the SDK's DNS-rebinding check, which compares them as written:
    host names and schemes are case-insensitive (RFC 9110 section 4.2.3), so `Host: LOCALHOST:8000` is localhost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [
                (name, value.lower()) if name in (b"host", b"origin") else (name, value)
                for name, value in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class _DropColorMessage(logging.Filter):
    """uvicorn attaches an ANSI-coloured copy of some messages as `color_message`; structured logs want one copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


class CancelOnDisconnect:
    """In a 2025-11-25 session, a call whose client closes the connection before its answer is cancelled, as if the
    client had sent `notifications/cancelled`: its answer can no longer be delivered (the server keeps no events to
    resume a stream from), and otherwise it would go on, polling Tavus, for as long as the session lives.

    The SDK cancels the call itself when a 2026-07-28 request's connection closes, and a sessionless 2025-11-25
    request ends with its connection; in a session, a closed stream is left for the client to resume. The
    cancellation goes to the session as the client's own notification would, through the app (the same
    credentials, checked again), so the SDK's transport does the rest.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        if scope["type"] != "http" or scope["method"] != "POST" or b"mcp-session-id" not in headers:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        dropped = False
        answered = False

        async def watch_receive() -> Message:
            nonlocal dropped
            message = await receive()
            if message["type"] == "http.request" and len(body) <= self.max_body_bytes:
                body.extend(message.get("body", b""))
            elif message["type"] == "http.disconnect":
                dropped = True
            return message

        async def watch_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        await self.app(scope, watch_receive, watch_send)
        request_id = _request_id(bytes(body)) if dropped and not answered else None
        if request_id is not None:
            with anyio.CancelScope(shield=True):
                await self._cancel(scope, request_id)

    async def _cancel(self, scope: Scope, request_id: str | int) -> None:
        logger.debug("the client closed the connection of request %r before its answer: cancelling it", request_id)
        notification = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "the client closed the connection"},
        }
        content = json.dumps(notification).encode()
        kept = [(name, value) for name, value in scope["headers"] if name not in _REPLACED_HEADERS]
        headers = [
            *kept,
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(content)).encode()),
        ]
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await anyio.sleep_forever()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def ignore(message: Message) -> None:
            pass

        await self.app({**scope, "headers": headers}, receive, ignore)


_REPLACED_HEADERS = (b"content-type", b"accept", b"content-length", b"transfer-encoding")


def _request_id(body: bytes) -> str | int | None:
    """The id of the JSON-RPC request in `body`, or None for anything else (a notification, a response)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or "method" not in message:
        return None
    request_id = message.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


class _NoStandaloneStream:
    """Answers a GET of the MCP endpoint 405, as the protocol allows: the server sends nothing unprompted, so a
    standalone event stream would only hold a connection (and, under a graceful stop, the stop) open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == MCP_PATH:
            await Response(status_code=405, headers={"allow": "POST, DELETE"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _LoopbackOnly:
    """Without tokens, answer only peers on this machine, whatever address the ASGI server was bound to.

    `mcp-server-tavus --transport http` refuses a non-loopback bind without tokens, but under `uvicorn --factory` or
    gunicorn the app cannot see the bind address: this keeps the same promise there. A Host header proves nothing
    (anyone can send `Host: localhost`); the peer's address does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _peer_is_loopback(scope.get("client")):
            response = PlainTextResponse(
                f"This server has no {ENV_AUTH_TOKENS} and answers only this machine.", status_code=403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _peer_is_loopback(client: Any) -> bool:
    # No client address: a Unix socket, or an in-process test client, nothing from the network.
    return not client or is_loopback(str(client[0]))


def create_app() -> Starlette:
    """The ASGI app, with every setting read from the environment now: the factory for ASGI servers' workers.

    `uvicorn --factory tavus_mcp.http:create_app --workers N` and
    `gunicorn -k uvicorn_worker.UvicornWorker -w N 'tavus_mcp.http:create_app()'` each call it once per worker
    process. It reads the same variables as `mcp-server-tavus --transport http` and refuses the same bad
    configurations, printing the reason and exiting with status 3: what uvicorn (`STARTUP_FAILURE`) and gunicorn
    (`WORKER_BOOT_ERROR`) both take for a worker that cannot boot, so that they stop instead of starting a
    replacement that fails the same way, forever (they do with any other status). The ASGI server owns the socket:
    pass it the host and port (TAVUS_MCP_HOST names the host clients use, for the Host-header check). Sessions
    (TAVUS_MCP_SESSIONS) are off unless set to 1, which suits one worker only.
    """
    from tavus_mcp.client import check_proxy_environment
    from tavus_mcp.logs import configure_logging

    environ = os.environ
    if not logging.getLogger().handlers:
        # Not configured by the ASGI server (uvicorn configures only its own loggers): the server's logfmt lines.
        configure_logging((environ.get("TAVUS_LOG_LEVEL", "").strip() or "INFO").upper())
    try:
        settings = Settings.from_env(environ)
        check_proxy_environment(environ)
        # Off unless set: an engine's workers share one port, and the kernel hands each new connection to any of
        # them, so no proxy can keep a client's requests on the worker that holds its session.
        http = HttpSettings.from_env(environ, sessions_by_default=False)
        users = load_users(settings, http, environ)
    except ConfigError as exc:
        print(f"mcp-server-tavus: {redact_text(str(exc))}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    _quiet_libraries()
    return build_app(settings, http, users=users)


def _quiet_libraries() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(_DropColorMessage())
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Their INFO lines open and close every session (and every stateless request's): noise at INFO.
        for name in ("mcp.server.streamable_http", "mcp.server.streamable_http_manager"):
            logging.getLogger(name).setLevel(logging.WARNING)


def serve_http(
    settings: Settings,
    http: HttpSettings,
    *,
    users: UserDirectory | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    announce: Callable[[], object] | None = None,
) -> int:
    """Serve MCP over Streamable HTTP in this process until SIGTERM or SIGINT, then stop gracefully; the exit status.

    `announce` is called once the port is listened on (the CLI's word on where calls go): a server that cannot
    listen says only that.

    On a signal the server stops accepting connections, lets requests in flight finish for up to
    `http.shutdown_timeout` seconds, closes the Tavus client and returns 0. A call still waiting for Tavus shortly
    before that deadline is answered with an error that says the server is stopping (and, for a create, that the
    conversation may exist) rather than cut off without an answer. When the port cannot be listened on, one line
    says why and the status is EXIT_CANNOT_LISTEN. For more processes, run `create_app` under uvicorn's or
    gunicorn's workers.
    """
    _quiet_libraries()
    try:
        sock = listen(http.host, http.port)
    except OSError as exc:
        logger.error("%s", cannot_listen(exc, http.host, http.port))
        return EXIT_CANNOT_LISTEN
    port = sock.getsockname()[1]  # the port given, or the one the system chose for --port 0
    if announce is not None:
        announce()
    if users is None:
        users = load_users(settings, http, os.environ)
    if users is not None:
        auth = f"per-user sign-in ({len(users.current)} users from {users.path}; SIGHUP reloads it)"
        if http.oauth is not None:
            auth += f", OAuth access tokens from {http.oauth.issuer} for {http.oauth.audience}"
    elif http.auth_tokens:
        auth = f"bearer token required ({len(http.auth_tokens)} accepted)"
    else:
        auth = f"no authentication (loopback only; set {ENV_AUTH_TOKENS} to require a token)"
    logger.info("serving MCP over Streamable HTTP at http://%s:%s%s: %s", _url_host(http.host), port, MCP_PATH, auth)
    if http.host in _WILDCARD_BINDS and not http.allowed_hosts:
        logger.warning(
            "listening on all interfaces, but only requests addressed to localhost are accepted until %s names the "
            "host clients use (such as mcp.example.com); others are refused with 421 Invalid Host header",
            ENV_ALLOWED_HOSTS,
        )
    if http.shutdown_timeout < settings.timeout:
        logger.warning(
            "%s (%s s) is shorter than TAVUS_TIMEOUT (%g s): a call still waiting for Tavus when the server stops "
            "is cut off before Tavus's time is up, and told that its conversation may have been created anyway. "
            "Set %s above TAVUS_TIMEOUT (such as %d) to let calls finish",
            ENV_SHUTDOWN_TIMEOUT,
            http.shutdown_timeout,
            settings.timeout,
            ENV_SHUTDOWN_TIMEOUT,
            int(settings.timeout) + 5,
        )
    limit = client_connection_limit(settings.max_connections)
    config = uvicorn.Config(
        build_app(settings, http, users=users, transport=transport),
        # uvicorn's pure-Python parser, h11: it strips the whitespace around header values (RFC 9110 section 5.5);
        # httptools, uvicorn's other choice, does not. Extended here with a deadline for a complete request, a
        # connection cap and a bound on every request's head (EdgeProtocol).
        http=edge_protocol(max_connections=limit, request_timeout=http.request_timeout),
        # The process's logging (configured by the CLI) is used as it is: uvicorn's records go to the same handler.
        log_config=None,
        access_log=True,
        server_header=False,
        timeout_graceful_shutdown=http.shutdown_timeout,
        backlog=LISTEN_BACKLOG,
        lifespan="on",
    )
    run_until_stopped(uvicorn.Server(config), sock)
    logger.info("stopped serving MCP over Streamable HTTP")
    return 0


def run_until_stopped(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run a uvicorn server on a listening socket until SIGTERM or SIGINT (Ctrl+C) stops it gracefully."""

    def stop(signum: int, frame: FrameType | None) -> None:
        # Also what a signal uvicorn caught is re-raised to once it has stopped: the process then exits 0 rather
        # than dying of SIGTERM. Before uvicorn installs its own handlers, this stops it from starting at all.
        server.should_exit = True

    handled = (signal.SIGTERM, signal.SIGINT)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in handled} if in_main_thread else {}
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host` and `port` (as uvicorn binds one); OSError if it cannot be.

    Listening at once, not only bound: two processes may both bind a port with SO_REUSEADDR while neither listens,
    and the second would learn that the port is taken only later, from uvicorn, after saying it serves."""
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on every accepted connection (it checks the protocol):
    # without it, Nagle's algorithm holds each answer on a kept-alive connection for about 40 ms.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def cannot_listen(
    exc: OSError, host: str, port: int, *, port_setting: str = f"--port or {ENV_PORT}", host_setting: str = ""
) -> str:
    """One line saying why `host:port` cannot be listened on and what to change (`port_setting`, `host_setting`)."""
    host_setting = host_setting or f"--host or {ENV_HOST}"
    where = f"{_url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = (
            f"port {port} is already in use by another program. Stop that program, or choose another port with "
            f"{port_setting}"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine. Choose one of its addresses with {host_setting}"
    elif exc.errno == errno.EACCES:
        why = f"this user may not listen on port {port} (ports below 1024 need privileges). Choose a port above 1023"
    elif isinstance(exc, socket.gaierror):
        why = f"the host name {host} does not resolve. Give an address such as 127.0.0.1 with {host_setting}"
    else:
        why = f"{exc.strerror or exc}"
    return f"cannot listen on {where}: {why}"


def client_connection_limit(tavus_connections: int) -> int:
    """How many client connections one process serves at once: MAX_CLIENT_CONNECTIONS, or fewer when the
    open-file limit leaves less room beside the connections to Tavus, a burst of accepts and a reserve. Past it,
    the connections that have waited longest for a complete request are closed to make room, so accepting never
    fails for want of a file descriptor (which only logs an error and leaves legitimate clients waiting)."""
    try:
        import resource
    except ImportError:  # Windows
        return MAX_CLIENT_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CLIENT_CONNECTIONS
    room = soft - tavus_connections - FILE_DESCRIPTOR_RESERVE - LISTEN_BACKLOG
    if room < MIN_CLIENT_CONNECTIONS:
        logger.warning(
            "the open-file limit (ulimit -n) of %d leaves room for only %d client connections beside %d to Tavus; "
            "raise it (LimitNOFILE= in a systemd unit) to serve more clients at once",
            soft,
            max(room, 0),
            tavus_connections,
        )
    return max(MIN_CLIENT_CONNECTIONS, min(MAX_CLIENT_CONNECTIONS, room))


class _Edge:
    """One server's connection bookkeeping: the bounds, and the connections waiting for a complete request, in
    the order they started waiting."""

    def __init__(self, max_connections: int, request_timeout: float) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.waiting: dict[EdgeProtocol, None] = {}


class EdgeProtocol(H11Protocol):
    """uvicorn's h11 protocol, with the bounds it lacks (its keep-alive timeout starts only after a response):

    - a deadline: a connection that has not sent a complete request (headers and body) `request_timeout` seconds
      after the server started waiting for one is answered 408 and closed, however slowly it trickles bytes;
    - a cap: past `max_connections`, the connection that has waited longest for a complete request is closed
      (the newcomer itself, with 503, when every other connection is busy with a request);
    - a head of at most MAX_HEAD_BYTES, however its bytes arrive (in pieces, in one write, behind another request
      on the same connection): past it, 431 and closed.

    Subclassed per server by `edge_protocol`, which sets `edge`.
    """

    edge: _Edge

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._track()
        if len(self.connections) > self.edge.max_connections:
            oldest = next(iter(self.edge.waiting), self)
            logger.warning(
                "at the limit of %d client connections: closing the one that has waited longest for a complete request",
                self.edge.max_connections,
            )
            oldest._close(503 if oldest is self else None)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def handle_events(self) -> None:
        # Called whenever h11 may parse a new request head: after bytes arrive, and after a response when the
        # client sent its next request early. The head is measured in h11's buffer before h11 parses it.
        if self.conn.their_state is h11.IDLE and _head_size(self.conn.trailing_data[0]) > MAX_HEAD_BYTES:
            logger.debug("closing a connection whose request head passes %d bytes", MAX_HEAD_BYTES)
            self._close(431)
            return
        super().handle_events()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _track(self) -> None:
        """Start the deadline when the connection starts waiting for a request; stop it once one is complete."""
        waiting = not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        if waiting and self._deadline is None:
            self.edge.waiting[self] = None
            self._deadline = self.loop.call_later(self.edge.request_timeout, self._timed_out)
        elif not waiting:
            self._stop_waiting()

    def _stop_waiting(self) -> None:
        self.edge.waiting.pop(self, None)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        started = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        logger.debug("closing a connection that sent no complete request within %s s", self.edge.request_timeout)
        # An idle kept-alive connection is just closed; one that started a request is told why.
        self._close(408 if started else None)

    def _close(self, status: int | None) -> None:
        self._stop_waiting()
        if self.transport.is_closing():
            return
        if status is not None:
            reason, body = {
                408: (b"Request Timeout", b"The request was not completed in time.\n"),
                431: (b"Request Header Fields Too Large", b"The request's headers pass %d bytes.\n" % MAX_HEAD_BYTES),
                503: (b"Service Unavailable", b"Too many connections.\n"),
            }[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
            )
        self.transport.close()


_END_OF_HEAD = re.compile(rb"\n\r?\n")  # the blank line after the headers, as h11 finds it


def _head_size(buffered: bytes) -> int:
    """How many bytes of `buffered`, which starts with a request, its head takes (all of them while incomplete)."""
    end = _END_OF_HEAD.search(buffered, 0, MAX_HEAD_BYTES + 2)
    return end.end() if end else len(buffered)


def edge_protocol(*, max_connections: int, request_timeout: float) -> type[EdgeProtocol]:
    """An `EdgeProtocol` class with its own bookkeeping, for one uvicorn server (`uvicorn.Config(http=...)`)."""
    edge = _Edge(max_connections, request_timeout)
    return type("EdgeProtocol", (EdgeProtocol,), {"edge": edge})


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
