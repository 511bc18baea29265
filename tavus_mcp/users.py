"""The users of a team server (`TAVUS_MCP_USERS_FILE`): who may sign in, how, and whose Tavus key their calls use.

A TOML file of `[[users]]` entries, read when the server starts (a bad file stops it, naming the entry and the
problem) and again on SIGHUP (a bad file then keeps the users already loaded). Nothing secret is in the file: a
bearer token appears only as its SHA-256, and a Tavus key only as the name of the environment variable holding it.
See docs/team.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from tavus_mcp.config import ConfigError, is_sendable_key

logger = logging.getLogger("tavus_mcp.users")

ENV_USERS_FILE = "TAVUS_MCP_USERS_FILE"
SERVER_KEY_VARIABLE = "TAVUS_API_KEY"
MAX_CALL_DURATION = 86_400

# A name is printed in every log line of its user's calls: one logfmt word, no quoting needed.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELDS = ("name", "token_sha256", "subject", "email", "tavus_api_key_env", "test_mode", "max_call_duration")
HASH_HINT = 'printf %s "$TOKEN" | sha256sum'


@dataclass(frozen=True)
class User:
    """One person (or robot) allowed to call the server, and the limits their calls run under."""

    name: str
    # The key their calls send to Tavus; None means the server's own TAVUS_API_KEY. Never in repr or logs.
    api_key: SecretStr | None = field(default=None, repr=False)
    # Where the key comes from, for messages: the variable named by tavus_api_key_env, or TAVUS_API_KEY.
    key_variable: str = SERVER_KEY_VARIABLE
    test_mode: bool = False
    max_call_duration: int | None = None
    token_digest: bytes | None = field(default=None, repr=False)
    subject: str | None = None
    email: str | None = None


class Users:
    """The users of one reading of the file, looked up by bearer token or by an access token's claims."""

    def __init__(self, users: tuple[User, ...], path: str) -> None:
        self.users = users
        self.path = path
        self._digests = tuple((user.token_digest, user) for user in users if user.token_digest is not None)
        self._subjects = {user.subject: user for user in users if user.subject is not None}
        self._emails = {email_key(user.email): user for user in users if user.email is not None}

    def __len__(self) -> int:
        return len(self.users)

    def by_token(self, token: str) -> User | None:
        """The user whose token_sha256 is this token's digest.

        Compared with `hmac.compare_digest` against every user's digest: how long it takes says nothing about
        which user matched or how close a guess was.
        """
        presented = token_digest(token)
        found = None
        for digest, user in self._digests:
            if hmac.compare_digest(presented, digest):
                found = user
        return found

    def by_claims(self, claims: Mapping[str, Any]) -> User | None:
        """The user a verified access token stands for: by its `sub`, else by its `email` when the token says it is
        verified (`email_verified: true`, the JSON boolean)."""
        subject = claims.get("sub")
        if isinstance(subject, str) and subject in self._subjects:
            return self._subjects[subject]
        email = claims.get("email")
        # An address the provider has not vouched for proves nothing about who holds the token: a missing claim, or
        # the string "true", is not a yes.
        if isinstance(email, str) and claims.get("email_verified") is True:
            return self._emails.get(email_key(email))
        return None


# Emails are compared with ASCII letters' case ignored and nothing else folded: casefold() or lower() would let
# the Kelvin sign sign in as "k", "ß" as "ss", and other lookalikes as the user they resemble.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_key(address: str) -> str:
    """An email as users are looked up by: the same address, ASCII letters in lower case (nothing else folded)."""
    return address.translate(_ASCII_LOWER)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()


def load_users(path: str, environ: Mapping[str, str], *, server_key_set: bool) -> Users:
    """The users in the file at `path`, their keys read from `environ`.

    Raises ConfigError naming the file, the entry and what is wrong, for a file that cannot be read, is not TOML,
    or has an entry the server cannot use: no name or a repeated one, no way to sign in, a sign-in another user
    already has, a key variable that is not set (or, for a user without one, no TAVUS_API_KEY when
    `server_key_set` is false), or a guardrail out of range. Values are never repeated in the message.
    """
    where = f"{ENV_USERS_FILE} {path}"
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    extra = sorted(set(document) - {"users"})
    if extra:
        raise ConfigError(f"{where}: unknown top-level setting {extra[0]!r}; the file holds only [[users]] entries")
    entries = document.get("users")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(
            f"{where} has no users: add one [[users]] table per user, with a name and token_sha256, subject or "
            "email (see docs/team.md)"
        )
    users: list[User] = []
    seen: dict[tuple[str, Any], str] = {}
    for number, entry in enumerate(entries, 1):
        user = _user(entry, f"{where}: users[{number}]", environ, server_key_set=server_key_set)
        for kind, value in (
            ("name", user.name.casefold()),
            ("token_sha256", user.token_digest),
            ("subject", user.subject),
            ("email", email_key(user.email) if user.email else None),
        ):
            if value is None:
                continue
            if (kind, value) in seen:
                raise ConfigError(
                    f"{where}: users[{number}] ({user.name}) has the same {kind} as {seen[(kind, value)]}; each "
                    f"{kind} may belong to one user only"
                )
            seen[(kind, value)] = user.name
        users.append(user)
    return Users(tuple(users), path)


def _user(entry: dict[str, Any], where: str, environ: Mapping[str, str], *, server_key_set: bool) -> User:
    unknown = [key for key in entry if key not in _FIELDS]
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: name must be 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit); it "
            "names the user in every log line of their calls"
        )
    where = f"{where} ({name})"
    if unknown:
        # The value is not repeated: a misplaced key or token may be exactly what was put there.
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}; a user has {', '.join(_FIELDS)}")

    digest = entry.get("token_sha256")
    if digest is not None and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
        raise ConfigError(
            f"{where}: token_sha256 must be the SHA-256 of the user's bearer token as 64 hex digits (never the "
            f"token itself); compute it with {HASH_HINT}"
        )
    subject = _text(entry, "subject", where)
    email = _text(entry, "email", where)
    if email is not None and "@" not in email:
        raise ConfigError(f"{where}: email must be an address such as alice@example.com, as the provider's tokens say")
    if digest is None and subject is None and email is None:
        raise ConfigError(
            f"{where} has no way to sign in: give token_sha256 (a bearer token's SHA-256), or subject or email "
            "(matched against an OAuth access token's sub or email claim)"
        )

    variable = entry.get("tavus_api_key_env")
    if variable is None:
        if not server_key_set:
            raise ConfigError(
                f"{where} has no tavus_api_key_env, so their calls would use {SERVER_KEY_VARIABLE}, which is not "
                f"set; set {SERVER_KEY_VARIABLE}, or tavus_api_key_env to the name of a variable holding their key"
            )
        api_key = None
        key_variable = SERVER_KEY_VARIABLE
    else:
        if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
            raise ConfigError(
                f"{where}: tavus_api_key_env must be the name of an environment variable, such as "
                "ALICE_TAVUS_API_KEY (the variable holds the key; the file never does)"
            )
        value = environ.get(variable, "").strip()
        if not value:
            raise ConfigError(
                f"{where}: {variable} (tavus_api_key_env) is not set in the server's environment; set it to "
                f"{name}'s Tavus API key, or remove tavus_api_key_env to use {SERVER_KEY_VARIABLE}"
            )
        if not is_sendable_key(value):
            raise ConfigError(
                f"{where}: {variable} (tavus_api_key_env) contains a character that cannot be sent to Tavus (a "
                "space, a line break, or a non-ASCII character such as a curly quote): copy the key again"
            )
        api_key = SecretStr(value)
        key_variable = variable

    test_mode = entry.get("test_mode", False)
    if not isinstance(test_mode, bool):
        raise ConfigError(f"{where}: test_mode must be true or false (TOML booleans, without quotes)")
    cap = entry.get("max_call_duration")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CALL_DURATION):
        raise ConfigError(
            f"{where}: max_call_duration must be a whole number of seconds from 1 to {MAX_CALL_DURATION}, without "
            "quotes"
        )
    return User(
        name=name,
        api_key=api_key,
        key_variable=key_variable,
        test_mode=test_mode,
        max_call_duration=cap,
        token_digest=bytes.fromhex(digest) if digest is not None else None,
        subject=subject,
        email=email,
    )


def _text(entry: dict[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value.strip()


class UserDirectory:
    """The users file as last read successfully. `reload()` reads it again; calls in flight keep the `User` they
    started with, so swapping the users never disturbs them."""

    def __init__(self, path: str, environ: Mapping[str, str], *, server_key_set: bool) -> None:
        self._environ = environ
        self._server_key_set = server_key_set
        self.current = load_users(path, environ, server_key_set=server_key_set)

    @property
    def path(self) -> str:
        return self.current.path

    def reload(self) -> bool:
        """Read the file again; on a bad file, log why and keep the users already loaded. Whether it changed."""
        try:
            users = load_users(self.path, self._environ, server_key_set=self._server_key_set)
        except ConfigError as exc:
            logger.error("users file not reloaded, keeping the %d users already loaded: %s", len(self.current), exc)
            return False
        self.current = users
        logger.info("users file reloaded: %d users from %s", len(users), self.path)
        return True
