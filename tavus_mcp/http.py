"""MCP over Streamable HTTP, for a team: bearer tokens, DNS-rebinding protection, stateless replicas.

`mcp-server-tavus --transport http` serves the same server as stdio at `/mcp`, for 2026-07-28 clients and for
2025-11-25 clients (the SDK routes each request on its `MCP-Protocol-Version` header). What this module adds:

- Bearer tokens from `TAVUS_MCP_AUTH_TOKENS`, checked by the SDK's auth middleware through `StaticTokenVerifier`.
  Several tokens may be configured at once, so one can be rotated without downtime. A client's token is never
  sent on to Tavus: the server uses its own key.
- Host and Origin checks against an allowlist (`TAVUS_MCP_ALLOWED_HOSTS`, `TAVUS_MCP_ALLOWED_ORIGINS`).
- No per-client state: `stateless_http=True`, so any replica serves any request; the lifespan (one Tavus client
  and its bounded connections) is entered once per process and shared by every request.
- `GET /healthz`, a cap on request bodies, and a graceful stop on SIGTERM.
- `--workers N`: N such processes on one socket (`tavus_mcp.workers`), each with its share of the connections to
  Tavus, for a machine with more than one core.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import FrameType

import httpx2
import uvicorn
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tavus_mcp import __version__
from tavus_mcp.config import ConfigError, Settings
from tavus_mcp.server import build_server
from tavus_mcp.workers import MAX_WORKERS, can_fork, supervise

logger = logging.getLogger("tavus_mcp.http")

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Tool arguments are a few kilobytes; a megabyte leaves room for long conversational context and refuses the rest.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# How long a stopping server lets calls in flight finish before cancelling them.
DEFAULT_SHUTDOWN_TIMEOUT = 30
MIN_TOKEN_LENGTH = 16

ENV_HOST = "TAVUS_MCP_HOST"
ENV_PORT = "TAVUS_MCP_PORT"
ENV_AUTH_TOKENS = "TAVUS_MCP_AUTH_TOKENS"
ENV_ALLOWED_HOSTS = "TAVUS_MCP_ALLOWED_HOSTS"
ENV_ALLOWED_ORIGINS = "TAVUS_MCP_ALLOWED_ORIGINS"
ENV_MAX_BODY_BYTES = "TAVUS_MCP_MAX_BODY_BYTES"
ENV_SHUTDOWN_TIMEOUT = "TAVUS_MCP_SHUTDOWN_TIMEOUT"
ENV_WORKERS = "TAVUS_MCP_WORKERS"

TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105 - a command, not a token

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


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server reachable from this machine only."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve anywhere


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
    # Processes serving the socket; more than one needs fork.
    workers: int = 1

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        host: str | None = None,
        port: int | None = None,
        allowed_hosts: str | None = None,
        allowed_origins: str | None = None,
        workers: str | None = None,
    ) -> HttpSettings:
        """Settings from `TAVUS_MCP_*` variables; a non-None argument (a command-line flag) wins over its variable.

        Raises ConfigError, naming the setting, for a value the server cannot use, and for a server that would
        listen beyond loopback without a token.
        """

        def get(name: str) -> str:
            return environ.get(name, "").strip()

        raw_port = get(ENV_PORT)
        raw_body = get(ENV_MAX_BODY_BYTES)
        raw_shutdown = get(ENV_SHUTDOWN_TIMEOUT)
        raw_workers = workers.strip() if workers is not None else get(ENV_WORKERS)
        settings = cls(
            host=host if host is not None else (get(ENV_HOST) or DEFAULT_HOST),
            port=port if port is not None else (_whole(raw_port, f"{ENV_PORT} (--port)") if raw_port else DEFAULT_PORT),
            auth_tokens=tuple(SecretStr(token) for token in _items(get(ENV_AUTH_TOKENS))),
            allowed_hosts=tuple(_items(allowed_hosts if allowed_hosts is not None else get(ENV_ALLOWED_HOSTS))),
            allowed_origins=tuple(_items(allowed_origins if allowed_origins is not None else get(ENV_ALLOWED_ORIGINS))),
            max_body_bytes=_whole(raw_body, ENV_MAX_BODY_BYTES) if raw_body else DEFAULT_MAX_BODY_BYTES,
            shutdown_timeout=_whole(raw_shutdown, ENV_SHUTDOWN_TIMEOUT) if raw_shutdown else DEFAULT_SHUTDOWN_TIMEOUT,
            workers=_whole(raw_workers, f"{ENV_WORKERS} (--workers)") if raw_workers else 1,
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
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                f"{ENV_WORKERS} (--workers) must be a whole number of processes from 1 to {MAX_WORKERS} (one per CPU "
                f"core is usual); got {self.workers}"
            )
        if self.workers > 1 and not can_fork():
            raise ConfigError(
                f"{ENV_WORKERS} (--workers) above 1 needs fork, which this system lacks (Linux and macOS have it); "
                "run one process per port instead, behind a load balancer"
            )
        if not self.auth_tokens and not is_loopback(host):
            raise ConfigError(
                f"refusing to listen on {host} without authentication: anyone who can reach the port could start "
                f"billed Tavus conversations with this server's API key. Set {ENV_AUTH_TOKENS} to one or more secret "
                "tokens, separated by commas, that clients send as 'Authorization: Bearer <token>' (generate one "
                f"with {TOKEN_HINT}), or listen on 127.0.0.1 only (--host 127.0.0.1)"
            )
        if not self.auth_tokens and (self.allowed_hosts or self.allowed_origins):
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
            workers=self.workers,
        )

    def check_compatible(self, settings: Settings) -> None:
        """Raises ConfigError when these settings cannot serve `settings`."""
        if self.workers > 1 and settings.sandbox:
            raise ConfigError(
                f"{ENV_WORKERS} (--workers) above 1 cannot serve the embedded sandbox (--sandbox): each worker would "
                "have its own, and a conversation created through one would be unknown to the others. Use one "
                "worker with --sandbox"
            )
        if self.workers > settings.max_connections:
            raise ConfigError(
                f"{ENV_WORKERS} (--workers) must be at most {settings.max_connections}: the workers share "
                f"{settings.max_connections} connections to Tavus, at least one each; got {self.workers}"
            )

    def transport_security(self) -> TransportSecuritySettings:
        """DNS-rebinding protection: the Host headers and Origins the server answers.

        The SDK matches entries exactly, and `name:*` as the name with any port; a name without a port here is
        accepted both bare and with any port. Always given explicitly: for a host other than loopback the SDK's
        default is no check at all.
        """
        hosts = list(_LOOPBACK_HOSTS)
        if not is_loopback(self.host) and self.host not in _WILDCARD_BINDS:
            # The address or name the server was told to listen on is how clients reach it.
            hosts.append(f"[{self.host}]" if ":" in self.host else self.host)
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
        self._digests = tuple(_digest(token.get_secret_value()) for token in tokens)

    def __repr__(self) -> str:
        return f"StaticTokenVerifier({len(self._digests)} tokens)"

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = _digest(token)
        matched = 0
        for number, digest in enumerate(self._digests, 1):
            if hmac.compare_digest(presented, digest):
                matched = number
        if not matched:
            return None
        # The presented token is not kept: nothing here needs it, so it can be neither logged nor passed on.
        # The client id says which configured token matched (its position), which helps while rotating.
        return AccessToken(token="[redacted]", client_id=f"token-{matched}", scopes=[])  # noqa: S106 - a placeholder


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()


def build_app(
    settings: Settings, http: HttpSettings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> Starlette:
    """The ASGI app: MCP at `/mcp` (behind the token check when tokens are configured) and `GET /healthz`.

    Its lifespan enters the server's lifespan once, creating the one Tavus client every request shares; serve it
    with an ASGI server that runs lifespan events (uvicorn does by default).
    """
    verifier = StaticTokenVerifier(http.auth_tokens) if http.auth_tokens else None
    # Without `resource_server_url` the SDK publishes no OAuth metadata and its 401 names no authorization server:
    # clients are configured with a token, there is nothing for them to discover.
    auth = AuthSettings(issuer_url=AnyHttpUrl(_NO_ISSUER), resource_server_url=None) if verifier else None
    server = build_server(settings, transport=transport, token_verifier=verifier, auth=auth)

    health = {
        "status": "ok",
        "version": __version__,
        "tavus_api_key_configured": settings.api_key is not None,
        "sandbox": settings.sandbox,
    }

    async def healthz(_: Request) -> Response:
        return JSONResponse(health, headers={"cache-control": "no-store"})

    # Custom routes are outside the token check (the SDK never requires auth on them): a load balancer's probe
    # carries no token, and this answer holds nothing secret.
    server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)(healthz)

    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        # Legacy (2025-11-25) clients get a throwaway per-request session instead of an Mcp-Session-Id held in
        # this process; 2026-07-28 requests are sessionless anyway. The tools never call back into the client,
        # so nothing is lost.
        stateless_http=True,
        max_request_body_size=http.max_body_bytes,
        transport_security=http.transport_security(),
        host=http.host,
    )


class _DropColorMessage(logging.Filter):
    """uvicorn attaches an ANSI-coloured copy of some messages as `color_message`; structured logs want one copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def serve_http(settings: Settings, http: HttpSettings, *, transport: httpx2.AsyncBaseTransport | None = None) -> int:
    """Serve MCP over Streamable HTTP until SIGTERM or SIGINT, then stop gracefully; the process's exit status.

    On a signal the server stops accepting connections, lets requests in flight finish for up to
    `http.shutdown_timeout` seconds (cancelling what is left after that), closes the Tavus client and returns 0.
    With `http.workers` above 1, as many processes serve one socket, each with an equal share of
    `settings.max_connections`; see `tavus_mcp.workers`. The caller has checked `http.check_compatible(settings)`.
    """
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(_DropColorMessage())
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Its only INFO line is "Terminating session: None", after every stateless request: noise at INFO.
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)

    if http.auth_tokens:
        auth = f"bearer token required ({len(http.auth_tokens)} accepted)"
    else:
        auth = f"no authentication (loopback only; set {ENV_AUTH_TOKENS} to require a token)"
    workers = f"; {http.workers} worker processes" if http.workers > 1 else ""
    logger.info(
        "serving MCP over Streamable HTTP at http://%s:%s%s: %s%s",
        _url_host(http.host),
        http.port,
        MCP_PATH,
        auth,
        workers,
    )
    if http.host in _WILDCARD_BINDS and not http.allowed_hosts:
        logger.warning(
            "listening on all interfaces, but only requests addressed to localhost are accepted until %s names the "
            "host clients use (such as mcp.example.com); others are refused with 421 Invalid Host header",
            ENV_ALLOWED_HOSTS,
        )

    if http.workers == 1:
        _serve(settings, http, transport=transport)
        logger.info("stopped serving MCP over Streamable HTTP")
        return 0

    try:
        listening = _listen(http)
    except OSError as exc:
        logger.error("could not listen on %s:%s: %s", _url_host(http.host), http.port, exc.strerror or exc)
        return 1
    addresses = sorted({_address(sock) for group in listening for sock in group})
    logger.info("listening on %s", " ".join(addresses))
    share = replace(settings, max_connections=settings.max_connections // http.workers)
    parent = os.getpid()

    def serve(index: int) -> None:
        mine = listening[index % len(listening)]
        for group in listening:
            if group is not mine:
                for sock in group:
                    sock.close()
        _serve(share, http, transport=transport, sockets=mine, parent=parent)

    def close_listening() -> None:
        # The parent's copies too: otherwise, once the workers have closed theirs, the kernel would still queue
        # new connections that nobody accepts, rather than refuse them.
        for group in listening:
            for sock in group:
                sock.close()

    try:
        code = supervise(http.workers, serve, shutdown_timeout=http.shutdown_timeout, on_stop=close_listening)
    finally:
        close_listening()
    logger.info("stopped serving MCP over Streamable HTTP")
    return code


def _serve(
    settings: Settings,
    http: HttpSettings,
    *,
    transport: httpx2.AsyncBaseTransport | None,
    sockets: list[socket.socket] | None = None,
    parent: int | None = None,
) -> None:
    """Run uvicorn until it is told to stop: on `http`'s address, or on `sockets` in a worker of `parent`."""
    app = build_app(settings, http, transport=transport)
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        # The process's logging (configured by the CLI) is used as it is: uvicorn's records go to the same handler.
        log_config=None,
        access_log=True,
        server_header=False,
        timeout_graceful_shutdown=http.shutdown_timeout,
        lifespan="on",
    )
    server = uvicorn.Server(config) if parent is None else _WorkerServer(config, parent)

    def stop(signum: int, frame: FrameType | None) -> None:
        # Also what a signal uvicorn caught is re-raised to once it has stopped: the process then exits 0 rather
        # than dying of SIGTERM. Before uvicorn installs its own handlers, this stops it from starting at all.
        server.should_exit = True

    handled = (signal.SIGTERM, signal.SIGINT)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in handled} if in_main_thread else {}
    if in_main_thread and parent is not None:
        # A worker starts with these blocked (tavus_mcp.workers): one sent meanwhile is delivered to `stop` now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
    try:
        server.run(sockets=sockets)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _WorkerServer(uvicorn.Server):
    """uvicorn in a worker process. The parent decides how to stop: any one signal means a graceful stop here (a
    terminal's Ctrl+C reaches the workers as well as the parent, which then sends SIGTERM: that must not count as
    a second, forcing, signal). And a worker whose parent has died stops, rather than serve on unsupervised."""

    def __init__(self, config: uvicorn.Config, parent: int) -> None:
        super().__init__(config)
        self.parent = parent

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if os.getppid() != self.parent:
            self.should_exit = True
        return await super().on_tick(counter)


def _listen(http: HttpSettings) -> list[list[socket.socket]]:
    """The listening sockets of the workers, bound to every address `http.host` resolves to (as uvicorn binds).

    On Linux, one group per worker, all on the same port (SO_REUSEPORT), so that the kernel spreads new
    connections evenly over the workers. Elsewhere one group they share, which leaves a burst of connections to
    whichever worker wakes first. Either way another server already on the port is an error, as it is for one
    process: SO_REUSEPORT would otherwise let the two silently share the traffic.
    """
    host = http.host.strip("[]") or None
    found = socket.getaddrinfo(host, http.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    targets = list(dict.fromkeys((family, str(address[0])) for family, _, _, _, address in found))
    shared = not (sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT"))
    groups: list[list[socket.socket]] = []
    try:
        port = http.port
        for worker in range(1 if shared else http.workers):
            group: list[socket.socket] = []
            groups.append(group)
            for family, address in targets:
                if worker == 0 and not shared:
                    # Fails if the port is taken, even by sockets that would admit this one with SO_REUSEPORT.
                    with _bound(family, address, port, reuse_port=False) as probe:
                        port = port or probe.getsockname()[1]
                group.append(_bound(family, address, port, reuse_port=not shared, several=len(targets) > 1))
                port = port or group[0].getsockname()[1]
    except OSError:
        for group in groups:
            for sock in group:
                sock.close()
        raise
    return groups


def _bound(family: int, address: str, port: int, *, reuse_port: bool, several: bool = False) -> socket.socket:
    """A TCP socket listening on (address, port), inheritable across fork."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and several:
            # Both 0.0.0.0 and :: are bound: the IPv6 socket must not claim IPv4 too.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
