"""Signing in to a team server: bearer tokens of the users file, and OAuth 2.1 access tokens mapped to its users.

The server is an OAuth resource server as the MCP authorization spec describes one: with `TAVUS_MCP_OAUTH_ISSUER`
and `TAVUS_MCP_OAUTH_AUDIENCE` set, the SDK publishes Protected Resource Metadata (RFC 9728) naming the issuer and
answers 401 with the `WWW-Authenticate` header clients follow to it; this module checks the JWT access tokens the
issuer signs (signature against its published keys, issuer, audience, expiry) and maps each to a user of the
users file by its `sub` or `email` claim. Keys come from the issuer's metadata (`jwks_uri`), cached by PyJWT's
`PyJWKClient` and fetched again when a token names a key it has not seen (a rotation). While the issuer cannot be
reached, one request waits for it (up to the fetch timeout) and it is not asked again for a cooldown: the others are
refused at once rather than each waiting its turn behind the same unanswered fetch.

Whatever signed a token in, the call runs as a `User`, carried by the `UserAccessToken` the SDK keeps for the
request (`get_access_token()`): the server reads the user from there, so a call never sees another's key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls
from mcp.server.auth.provider import AccessToken, TokenVerifier
from pydantic import Field, InstanceOf

from tavus_mcp.config import ConfigError, is_loopback
from tavus_mcp.logs import call_user
from tavus_mcp.redaction import REDACTED
from tavus_mcp.users import User
from tavus_mcp.users_file import UserDirectory

logger = logging.getLogger("tavus_mcp.oauth")

ENV_OAUTH_ISSUER = "TAVUS_MCP_OAUTH_ISSUER"
ENV_OAUTH_AUDIENCE = "TAVUS_MCP_OAUTH_AUDIENCE"

# Asymmetric algorithms only: "none" and HS* (a key shared with every client) are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Clock skew tolerated between this server and the issuer, on exp, nbf and iat.
LEEWAY_SECONDS = 30
# How long the issuer's keys are used before being fetched again, and the least time between two fetches caused
# by a token naming an unknown key (so that tokens with made-up key ids cannot make the server hammer the issuer).
JWKS_LIFESPAN_SECONDS = 300
REFRESH_COOLDOWN_SECONDS = 10
FETCH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class OAuthSettings:
    """The authorization server this server trusts, and the resource identifier its tokens must be issued for."""

    issuer: str
    audience: str
    # The longest the issuer's metadata (all its addresses together) or its keys are waited for, and how long after
    # a failure neither is asked again.
    fetch_timeout: float = FETCH_TIMEOUT_SECONDS
    retry_after: float = REFRESH_COOLDOWN_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OAuthSettings | None:
        """None when neither variable is set; raises ConfigError for one without the other or a bad URL."""
        issuer = environ.get(ENV_OAUTH_ISSUER, "").strip()
        audience = environ.get(ENV_OAUTH_AUDIENCE, "").strip()
        if not issuer and not audience:
            return None
        if not issuer or not audience:
            missing = ENV_OAUTH_ISSUER if not issuer else ENV_OAUTH_AUDIENCE
            raise ConfigError(
                f"{missing} must be set too: OAuth needs {ENV_OAUTH_ISSUER} (the authorization server's issuer URL) "
                f"and {ENV_OAUTH_AUDIENCE} (this server's URL, such as https://mcp.example.com/mcp)"
            )
        _check_url(issuer, ENV_OAUTH_ISSUER, "the issuer URL exactly as the provider's metadata states it")
        _check_url(audience, ENV_OAUTH_AUDIENCE, "the URL clients reach MCP at, such as https://mcp.example.com/mcp")
        return cls(issuer=issuer, audience=audience)


def _check_url(value: str, setting: str, what: str) -> None:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        parts = urlsplit("")
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise ConfigError(f"{setting} must be {what}: an absolute https URL without query or fragment; got {value!r}")
    if parts.scheme == "http" and not is_loopback(host):
        # Tokens and the keys that check them must not travel in clear text; plain http is for trying on loopback.
        raise ConfigError(f"{setting} must use https (http is accepted only for localhost); got {value!r}")


# Token checks in worker threads at once (blocking fetches of metadata and keys); the rest wait for a thread.
TOKEN_CHECK_THREADS = 8


class AccessTokenValidator:
    """Checks JWT access tokens from one issuer for one audience; the claims of a good token, or None.

    The issuer's metadata (RFC 8414, or OpenID discovery) is fetched on the first token and names its `jwks_uri`;
    PyJWT's `PyJWKClient` caches the keys and fetches them again when a token names an unknown key id.
    """

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        refresh_cooldown: float | None = None,
        jwks_lifespan: float = JWKS_LIFESPAN_SECONDS,
    ) -> None:
        self.settings = settings
        self._refresh_cooldown = settings.retry_after if refresh_cooldown is None else refresh_cooldown
        self._jwks_lifespan = jwks_lifespan
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        # When discovery last failed: it is not tried again for a cooldown, whatever the tokens that arrive.
        self._failed_at: float | None = None
        # Threads of their own: checks waiting for an issuer that hangs never take the threads other work uses.
        self._threads: anyio.CapacityLimiter | None = None

    async def claims(self, token: str) -> dict[str, Any] | None:
        # In a worker thread: fetching metadata and keys blocks (PyJWKClient uses urllib).
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(TOKEN_CHECK_THREADS)
        return await anyio.to_thread.run_sync(self.validate, token, limiter=self._threads)

    def validate(self, token: str) -> dict[str, Any] | None:
        """The verified claims of `token`, or None (the reason logged, never the token)."""
        try:
            jwks = self._key_client()
            if jwks is None:
                return None
            key = jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            # PyJWT's messages name what failed (expired, audience, issuer, signature, unknown key id), not the token.
            logger.info("access token refused: %s (%s)", exc, type(exc).__name__)
            return None
        return claims

    def _key_client(self) -> jwt.PyJWKClient | None:
        with self._lock:
            if self._jwks is None:
                if self._failed_at is not None and time.monotonic() - self._failed_at < self._refresh_cooldown:
                    raise jwt.PyJWKClientError(f"the metadata of {self.settings.issuer} could not be read just now")
                jwks_uri = self._discover_jwks_uri()
                if jwks_uri is None:
                    self._failed_at = time.monotonic()
                    return None
                self._jwks = _IssuerKeys(
                    jwks_uri,
                    retry_after=self.settings.retry_after,
                    lifespan=self._jwks_lifespan,
                    cooldown_duration=self._refresh_cooldown,
                    timeout=self.settings.fetch_timeout,
                )
            return self._jwks

    def _discover_jwks_uri(self) -> str | None:
        """The `jwks_uri` of the issuer's metadata, at the well-known addresses MCP clients look at too."""
        issuer = self.settings.issuer
        urls = build_oauth_authorization_server_metadata_discovery_urls(issuer, issuer)
        problems = []
        # One deadline for every address: an issuer that hangs costs the request that found it one fetch timeout.
        deadline = time.monotonic() + self.settings.fetch_timeout
        with httpx2.Client(follow_redirects=False) as http:
            for url in urls:
                left = deadline - time.monotonic()
                if left <= 0:
                    problems.append(f"{url}: not asked, {self.settings.fetch_timeout:g} s had passed")
                    continue
                try:
                    response = http.get(url, headers={"accept": "application/json"}, timeout=left)
                    metadata = response.json() if response.status_code == 200 else None
                except (httpx2.HTTPError, ValueError) as exc:
                    problems.append(f"{url}: {type(exc).__name__}")
                    continue
                if not isinstance(metadata, dict):
                    problems.append(f"{url}: HTTP {response.status_code}")
                    continue
                if metadata.get("issuer") != issuer:
                    # RFC 8414 §3.3: metadata naming another issuer must not be used (a mix-up, or a typo here).
                    logger.error(
                        "the metadata at %s names issuer %r, not %s %r: set %s to the issuer exactly as it says",
                        url,
                        metadata.get("issuer"),
                        ENV_OAUTH_ISSUER,
                        issuer,
                        ENV_OAUTH_ISSUER,
                    )
                    return None
                jwks_uri = metadata.get("jwks_uri")
                if isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://")):
                    return jwks_uri
                problems.append(f"{url}: no jwks_uri")
        logger.error("access tokens cannot be checked: no metadata with a jwks_uri for %s (%s)", issuer, problems)
        return None


class _IssuerKeys(jwt.PyJWKClient):
    """PyJWT's key client, which after a failed fetch does not fetch again for `retry_after` seconds.

    PyJWKClient fetches under a lock: while the endpoint hangs, each request waiting for the lock would then wait
    out a fetch timeout of its own. Here the one that fetched waits; those behind it are refused as soon as it fails.
    """

    def __init__(self, uri: str, *, retry_after: float, **options: Any) -> None:
        super().__init__(uri, **options)
        self._retry_after = retry_after
        self._failed_at: float | None = None

    def fetch_data(self) -> Any:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._retry_after:
            raise jwt.PyJWKClientConnectionError(
                f"the keys at {self.uri} could not be fetched just now; not asked again for {self._retry_after:g} s"
            )
        try:
            data = super().fetch_data()
        except jwt.PyJWTError:
            self._failed_at = time.monotonic()
            raise
        self._failed_at = None
        return data


class UserAccessToken(AccessToken):
    """An access token as the SDK keeps it for a request, with the user it signed in."""

    user: InstanceOf[User] = Field(exclude=True)


class UserTokenVerifier(TokenVerifier):
    """For the SDK's bearer-auth middleware: a users-file token (by its SHA-256), else an OAuth access token.

    Users are looked up in the directory as it is when the request arrives; a reload never changes the user of a
    request already signed in. The presented token is never kept.
    """

    def __init__(self, directory: UserDirectory, validator: AccessTokenValidator | None = None) -> None:
        self.directory = directory
        self.validator = validator

    def __repr__(self) -> str:
        return f"UserTokenVerifier({len(self.directory.current)} users, oauth={self.validator is not None})"

    async def verify_token(self, token: str) -> AccessToken | None:
        access = await self._verify(token)
        if isinstance(access, UserAccessToken):
            # Awaited in the request's own task, so the rest of the request (its access log line included) names
            # the user; the task, and with it the value, ends with the request.
            call_user.set(access.user.name)
        return access

    async def _verify(self, token: str) -> AccessToken | None:
        users = self.directory.current
        user = users.by_token(token)
        if user is not None:
            return UserAccessToken(token=REDACTED, client_id=f"user:{user.name}", scopes=[], user=user)
        if self.validator is None or token.count(".") != 2:
            return None
        claims = await self.validator.claims(token)
        if claims is None:
            return None
        user = users.by_claims(claims)
        subject = claims.get("sub")
        if user is None:
            logger.warning(
                "access token refused: its subject %r (or email) is no user's subject or email in %s",
                subject,
                users.path,
            )
            return None
        scope = claims.get("scope")
        expires = claims.get("exp")
        return UserAccessToken(
            token=REDACTED,
            client_id=str(claims.get("client_id") or claims.get("azp") or "oauth"),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=int(expires) if isinstance(expires, int | float) else None,
            resource=self.validator.settings.audience,
            subject=str(subject) if subject is not None else None,
            claims={"iss": claims.get("iss")},
            user=user,
        )
