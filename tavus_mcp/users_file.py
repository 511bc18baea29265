"""The users file (`TAVUS_MCP_USERS_FILE`), read when a team server starts and again on SIGHUP.

A TOML file of `[[users]]` entries (`UsersFile`, `UserEntry`): a bad file stops the server, naming the entry and
the problem in one line; on SIGHUP it keeps the users already loaded. Nothing secret is in the file: a bearer token
appears only as its SHA-256, and a Tavus key only as the name of the environment variable holding it.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tavus_mcp.config import ConfigError, is_sendable_key
from tavus_mcp.users import (
    ENV_USERS_FILE,
    HASH_HINT,
    MAX_CALL_DURATION,
    SERVER_KEY_VARIABLE,
    User,
    Users,
    email_key,
)

logger = logging.getLogger("tavus_mcp.users")  # the name its log lines have always had

# A name is printed in every log line of its user's calls: one logfmt word, no quoting needed.
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$"
# What `printf %s "" | sha256sum` prints: the token_sha256 of a recipe whose token command printed nothing (such as
# `python -c ...` where only python3 exists). Nobody can ever sign in with it.
EMPTY_TOKEN_SHA256 = hashlib.sha256(b"").hexdigest()  # e3b0c442...7852b855
# Recipes for a token that work with no Python at all, or with python3 only.
TOKEN_RECIPES = "openssl rand -base64 32 (or python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"  # noqa: S105

# What is wrong with a field that does not have the type or shape it needs, as the message says it.
_PROBLEMS = {
    "name": (
        "name must be 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit); it names the user in "
        "every log line of their calls"
    ),
    "token_sha256": (
        "token_sha256 must be the SHA-256 of the user's bearer token as 64 hex digits (never the token itself); "
        f"compute it with {HASH_HINT}"
    ),
    "subject": "subject must be a non-empty string",
    "email": "email must be a non-empty string",
    "tavus_api_key_env": (
        "tavus_api_key_env must be the name of an environment variable, such as ALICE_TAVUS_API_KEY (the variable "
        "holds the key; the file never does)"
    ),
    "test_mode": "test_mode must be true or false (TOML booleans, without quotes)",
    "max_call_duration": (
        f"max_call_duration must be a whole number of seconds from 1 to {MAX_CALL_DURATION}, without quotes"
    ),
}
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class UserEntry(BaseModel):
    """One `[[users]]` entry as the file gives it (TOML types, no conversion: '900' is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[str, StringConstraints(pattern=_NAME)]
    token_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    subject: _Text | None = None
    email: _Text | None = None
    tavus_api_key_env: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    test_mode: bool = False
    max_call_duration: Annotated[int, Field(ge=1, le=MAX_CALL_DURATION)] | None = None

    @field_validator("token_sha256")
    @classmethod
    def _not_of_an_empty_token(cls, digest: str | None) -> str | None:
        if digest is not None and digest.casefold() == EMPTY_TOKEN_SHA256:
            raise PydanticCustomError(
                "users_file",
                "token_sha256 is the SHA-256 of an empty token, so this user can never sign in: the command that "
                f"made the token printed nothing. Make a real token with {TOKEN_RECIPES}, give it to the user, and "
                f"put its SHA-256 here ({HASH_HINT})",
            )
        return digest

    @field_validator("email")
    @classmethod
    def _an_address(cls, email: str | None) -> str | None:
        if email is not None and "@" not in email:
            raise PydanticCustomError(
                "users_file", "email must be an address such as alice@example.com, as the provider's tokens say"
            )
        return email

    @model_validator(mode="after")
    def _a_way_to_sign_in(self) -> UserEntry:
        if self.token_sha256 is None and self.subject is None and self.email is None:
            raise PydanticCustomError(
                "users_file",
                "has no way to sign in: give token_sha256 (a bearer token's SHA-256), or subject or email (matched "
                "against an OAuth access token's sub or email claim)",
            )
        return self


class UsersFile(BaseModel):
    """The users file: `[[users]]` entries and nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True)

    users: list[UserEntry] = Field(min_length=1)


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
    try:
        entries = UsersFile.model_validate(document).users
    except ValidationError as exc:
        raise ConfigError(_problem(exc, document, where)) from None
    users: list[User] = []
    seen: dict[tuple[str, Any], str] = {}
    for number, entry in enumerate(entries, 1):
        user = _user(entry, f"{where}: users[{number}] ({entry.name})", environ, server_key_set=server_key_set)
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


def _problem(exc: ValidationError, document: dict[str, Any], where: str) -> str:
    """The file's first problem (pydantic reports entries in order, and an entry's fields in the order of
    `UserEntry`, name first) in one line naming its entry, by number and, once valid, by name. The value is never
    repeated: a misplaced key or token may be exactly what was put there."""
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    if len(loc) == 1 and error["type"] == "extra_forbidden":
        return f"{where}: unknown top-level setting {loc[0]!r}; the file holds only [[users]] entries"
    if len(loc) == 1 or error["type"] == "model_type":  # no users list, an empty one, or an entry not a table
        return (
            f"{where} has no users: add one [[users]] table per user, with a name and token_sha256, subject or "
            "email (see docs/team.md)"
        )
    number, field = int(loc[1]) + 1, str(loc[2]) if len(loc) > 2 else None
    if field == "name":
        return f"{where}: users[{number}]: {_PROBLEMS['name']}"
    entry = f"{where}: users[{number}] ({document['users'][number - 1]['name']})"
    if field is None:  # the whole entry's problem
        return f"{entry} {error['msg']}"
    if error["type"] == "extra_forbidden":
        return f"{entry}: unknown setting {field!r}; a user has {', '.join(UserEntry.model_fields)}"
    return f"{entry}: {error['msg'] if error['type'] == 'users_file' else _PROBLEMS[field]}"


def _user(entry: UserEntry, where: str, environ: Mapping[str, str], *, server_key_set: bool) -> User:
    """The user an entry describes, with the key its calls send, read from the server's environment."""
    variable = entry.tavus_api_key_env
    if variable is None:
        if not server_key_set:
            raise ConfigError(
                f"{where} has no tavus_api_key_env, so their calls would use {SERVER_KEY_VARIABLE}, which is not "
                f"set; set {SERVER_KEY_VARIABLE}, or tavus_api_key_env to the name of a variable holding their key"
            )
        api_key = None
        key_variable = SERVER_KEY_VARIABLE
    else:
        value = environ.get(variable, "").strip()
        if not value:
            raise ConfigError(
                f"{where}: {variable} (tavus_api_key_env) is not set in the server's environment; set it to "
                f"{entry.name}'s Tavus API key, or remove tavus_api_key_env to use {SERVER_KEY_VARIABLE}"
            )
        if not is_sendable_key(value):
            raise ConfigError(
                f"{where}: {variable} (tavus_api_key_env) contains a character that cannot be sent to Tavus (a "
                "space, a line break, or a non-ASCII character such as a curly quote): copy the key again"
            )
        api_key = SecretStr(value)
        key_variable = variable
    return User(
        name=entry.name,
        api_key=api_key,
        key_variable=key_variable,
        test_mode=entry.test_mode,
        max_call_duration=entry.max_call_duration,
        token_digest=bytes.fromhex(entry.token_sha256) if entry.token_sha256 is not None else None,
        subject=entry.subject,
        email=entry.email,
    )


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
