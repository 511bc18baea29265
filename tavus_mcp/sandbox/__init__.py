"""The sandbox: an in-memory emulator of the Tavus conversation API, so the server runs and is tested with no key
and no network. It shares nothing with the server's models (tavus_mcp.models): its rules are written from Tavus's
reference, so it catches what the server should have refused.

- `reference`: the tables written from Tavus's reference (fields, types, values, query parameters, answers).
- `checks`: the request checks built on those tables.
- `calls`: how a played call moves, and the events Tavus adds after it.
- `emulator`: `TavusEmulator`, its ASGI app and state, and `serve_forever`.

The names below are re-exported for code written before the split; new code imports from the submodule.
"""

from tavus_mcp.sandbox.emulator import IN_PROCESS_BASE_URL, SANDBOX_API_KEY, TavusEmulator, serve_forever
from tavus_mcp.sandbox.reference import (
    BODY_FIELDS,
    DEPRECATED_PROPERTY_FIELDS,
    MAX_PAGE,
    PATCH_MEMBERS,
    PATCH_OPERATIONS,
    PERSONA_BODY_FIELDS,
    PERSONA_LAYER_FIELDS,
    PERSONA_LAYER_VALUES,
    PIPELINE_MODES,
    PROPERTY_FIELDS,
    QUERY_PARAMETERS,
    RECORDING_PROVIDERS,
    RECORDING_STORAGE_FIELDS,
    RETRIEVAL_STRATEGIES,
)

__all__ = [
    "BODY_FIELDS",
    "DEPRECATED_PROPERTY_FIELDS",
    "IN_PROCESS_BASE_URL",
    "MAX_PAGE",
    "PATCH_MEMBERS",
    "PATCH_OPERATIONS",
    "PERSONA_BODY_FIELDS",
    "PERSONA_LAYER_FIELDS",
    "PERSONA_LAYER_VALUES",
    "PIPELINE_MODES",
    "PROPERTY_FIELDS",
    "QUERY_PARAMETERS",
    "RECORDING_PROVIDERS",
    "RECORDING_STORAGE_FIELDS",
    "RETRIEVAL_STRATEGIES",
    "SANDBOX_API_KEY",
    "TavusEmulator",
    "serve_forever",
]
