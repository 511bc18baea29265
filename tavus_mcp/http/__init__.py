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

This package holds the app (`build_app`, `create_app`) and `serve_http`, which runs it under this command; around
them, `settings` (`HttpSettings` and the TAVUS_MCP_* variables), `guards` (the ASGI middlewares), `stopping` (the
graceful stop and SIGHUP) and `edge` (the listening socket and uvicorn's bounded h11 protocol).
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence

import httpx2
import uvicorn
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.config import STARTUP_FAILURE

from tavus_mcp import __version__
from tavus_mcp.config import EXIT_CANNOT_LISTEN, ConfigError, Settings
from tavus_mcp.http.edge import (
    _quiet_libraries,
    _url_host,
    cannot_listen,
    client_connection_limit,
    edge_protocol,
    listen,
    run_until_stopped,
)
from tavus_mcp.http.guards import (
    CancelOnDisconnect,
    CaseInsensitiveHost,
    KeepModernStreamsAlive,
    _LoopbackOnly,
    _NoStandaloneStream,
)
from tavus_mcp.http.settings import (
    _WILDCARD_BINDS,
    ENV_ALLOWED_HOSTS,
    ENV_AUTH_TOKENS,
    ENV_SHUTDOWN_TIMEOUT,
    HEALTH_PATH,
    LISTEN_BACKLOG,
    MCP_PATH,
    HttpSettings,
)
from tavus_mcp.http.stopping import _reload_on_hangup, _stop_calls_on_signal, _stream_through_a_stop
from tavus_mcp.oauth import AccessTokenValidator, UserTokenVerifier
from tavus_mcp.redaction import REDACTED, redact_text, register_secrets
from tavus_mcp.server import build_server
from tavus_mcp.team_sandbox import users_environment
from tavus_mcp.users import token_digest
from tavus_mcp.users_file import UserDirectory

# The transport's one logger name, which its modules share: log lines name it as before the split.
logger = logging.getLogger("tavus_mcp.http")

# `AuthSettings` requires an issuer, but the SDK reads it only to publish OAuth metadata (with `resource_server_url`
# or an `auth_server_provider`), and this server does neither: static tokens have no issuer. Never served.
_NO_ISSUER = "https://static-bearer-tokens.invalid"

__all__ = ["HttpSettings", "StaticTokenVerifier", "build_app", "create_app", "load_users", "serve_http"]


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
        # SDK answers a 2026-07-28 call that sends nothing for 15 s with plain JSON if it ends by then;
        # KeepModernStreamsAlive begins the stream at TAVUS_MCP_KEEPALIVE instead.)
        json_response=False,
        max_request_body_size=http.max_body_bytes,
        transport_security=http.transport_security(),
        host=http.host,
    )
    app.add_middleware(_NoStandaloneStream)
    app.add_middleware(KeepModernStreamsAlive, interval=settings.keepalive)
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
