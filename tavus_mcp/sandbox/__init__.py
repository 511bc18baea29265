"""The sandbox: an in-memory emulator of the Tavus conversation API, so the server runs and is tested with no key
and no network. It shares nothing with the server's models (tavus_mcp.models): its rules are written from Tavus's
reference, so it catches what the server should have refused.

- `reference`: the tables written from Tavus's reference (fields, types, values, query parameters, answers).
- `checks`: the request checks built on those tables.
- `calls`: how a played call moves, and the events Tavus adds after it.
- `emulator`: `TavusEmulator`, its ASGI app and state.

`TavusEmulator` and `SANDBOX_API_KEY` are importable from here, as docs/tools.md shows; everything else from the
submodule that holds it.
"""

from tavus_mcp.sandbox.emulator import SANDBOX_API_KEY, TavusEmulator

__all__ = ["SANDBOX_API_KEY", "TavusEmulator"]
