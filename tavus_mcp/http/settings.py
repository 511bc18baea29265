"""The HTTP transport's settings: its defaults and bounds, the TAVUS_MCP_* variables, and `HttpSettings`, read
from the environment at start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr

from tavus_mcp.config import ConfigError, doc_url, is_loopback, parse_flag
from tavus_mcp.oauth import ENV_OAUTH_ISSUER, OAuthSettings
from tavus_mcp.users import ENV_USERS_FILE, HASH_HINT

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
