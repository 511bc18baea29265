"""The emulator as a Tavus of many accounts: one emulated account (a `TavusEmulator`) per sandbox API key.

Tavus keeps each account's conversations and personas apart; so does this, keyed by the `x-api-key` a request
sends. The sandbox key (`SANDBOX_API_KEY`) is one account; `account_key(name)` makes the key of another, which the
server gives each user of a sandboxed team server. Any other key reaches the first account, which refuses it (401),
as Tavus refuses a key it does not know.
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.types import Receive, Scope, Send

from tavus_mcp.sandbox.emulator import SANDBOX_API_KEY, TavusEmulator

# A key of the sandbox's own accounts: the sandbox key, a dot, and a name (what Tavus keys never look like).
_ACCOUNT_PREFIX = f"{SANDBOX_API_KEY}."


def account_key(name: str) -> str:
    """The sandbox key of the account called `name` (a user of a sandboxed team server)."""
    return f"{_ACCOUNT_PREFIX}{name}"


class SandboxAccounts:
    """An ASGI app routing each request to the emulated account of its key; accounts open on their first request."""

    def __init__(self, **options: Any) -> None:
        # Each account is an emulator of its own, made with these options (`TavusEmulator`'s keyword arguments).
        self._options = options
        self._lock = threading.Lock()
        self.accounts: dict[str, TavusEmulator] = {}
        self.main = self.account(SANDBOX_API_KEY)

    def account(self, key: str) -> TavusEmulator:
        with self._lock:
            emulator = self.accounts.get(key)
            if emulator is None:
                emulator = self.accounts[key] = TavusEmulator(api_keys=(key,), **self._options)
            return emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        own = key.startswith(_ACCOUNT_PREFIX) and key.isprintable() and len(key) <= 200
        emulator = self.account(key) if own else self.main
        await emulator.app(scope, receive, send)
