"""The benchmark's floor: a bare MCPServer on the same SDK with one tool, `create_conversation`, that forwards its
(typed, so SDK-validated) arguments as `POST /v2/conversations` through one httpx2 client made in the lifespan, as
mcp-server-tavus does, and returns Tavus's JSON. The ratios measure what mcp-server-tavus adds on top.

With TAVUS_API_BASE_URL and TAVUS_API_KEY set: `python bench/minimal_server.py` serves stdio,
`python bench/minimal_server.py --http-port N` Streamable HTTP at http://127.0.0.1:N/mcp, answering with event
streams and holding sessions for 2025-11-25 clients, as mcp-server-tavus serves it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver import Context


@asynccontextmanager
async def lifespan(_: MCPServer[httpx2.AsyncClient]) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(
        base_url=os.environ["TAVUS_API_BASE_URL"],
        headers={"x-api-key": os.environ["TAVUS_API_KEY"]},
        timeout=30.0,
    ) as http:
        yield http


server: MCPServer[httpx2.AsyncClient] = MCPServer("minimal", lifespan=lifespan)


@server.tool()
async def create_conversation(
    ctx: Context[httpx2.AsyncClient],
    persona_id: str | None = None,
    replica_id: str | None = None,
    conversation_name: str | None = None,
    conversational_context: str | None = None,
    custom_greeting: str | None = None,
    test_mode: bool | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a Tavus conversation: forwards the arguments as the body of POST /v2/conversations."""
    given = {
        "persona_id": persona_id,
        "replica_id": replica_id,
        "conversation_name": conversation_name,
        "conversational_context": conversational_context,
        "custom_greeting": custom_greeting,
        "test_mode": test_mode,
        "properties": properties,
    }
    http = ctx.request_context.lifespan_context
    response = await http.post("/v2/conversations", json={k: v for k, v in given.items() if v is not None})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http-port":
        # As mcp-server-tavus serves it: event streams (the SDK's default), sessions for 2025-11-25 clients
        # (2026-07-28 requests are sessionless either way); no token, as it runs on loopback without one.
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]), stateless_http=False)
    else:
        server.run("stdio")
