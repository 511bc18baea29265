"""The users of a team server: who may sign in, how, and whose Tavus key their calls use.

`User` is one of them, as a call sees it; `Users` finds the one a bearer token or an access token's claims stand
for. Reading them from the users file (`TAVUS_MCP_USERS_FILE`) is `tavus_mcp.users_file`'s, which a server
without one (every stdio server) never imports. See docs/team.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from tavus_mcp.redaction import register_secrets

ENV_USERS_FILE = "TAVUS_MCP_USERS_FILE"
SERVER_KEY_VARIABLE = "TAVUS_API_KEY"
MAX_CALL_DURATION = 86_400
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
        # Known from now on, not from a user's first call: no answer to another user, no log line, may hold them.
        register_secrets(*(user.api_key.get_secret_value() for user in users if user.api_key is not None))
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
