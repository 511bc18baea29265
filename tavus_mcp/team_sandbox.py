"""A team server in the sandbox (`--sandbox` or `TAVUS_SANDBOX=1` with a users file): nobody needs a real key, and
each user has an emulated Tavus account of their own, so nobody lists, reads or ends another's conversations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import SecretStr

from tavus_mcp.config import Settings
from tavus_mcp.users import User

# What a user's key variable reads as when it is not set, in the sandbox: a key is required by the users file's
# rules, and none is ever sent (each user's calls send the key of their own emulated account instead).
PLACEHOLDER_KEY = "sandbox-placeholder-not-a-tavus-key"


def caller_key(user: User | None, settings: Settings) -> SecretStr | None:
    """The key one user's calls send to Tavus: their own, or None for the server's; in the sandbox, the key of
    their own emulated account."""
    if user is None:
        return None
    if settings.sandbox:
        from tavus_mcp.sandbox.accounts import account_key

        return SecretStr(account_key(user.name))
    return user.api_key


class KeylessEnvironment(Mapping[str, str]):
    """The environment a sandboxed team server reads its users file with: a key variable that is not set reads as
    a placeholder, so the file needs no real key."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getitem__(self, name: str) -> str:
        return self._environ.get(name, "").strip() or PLACEHOLDER_KEY

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def users_environment(settings: Settings, environ: Mapping[str, str]) -> Mapping[str, str]:
    """The environment the users file's key variables are read from: in the sandbox, one that needs none set."""
    return KeylessEnvironment(environ) if settings.sandbox else environ
