"""`mcp-server-tavus demo`: the whole path a user's assistant takes, against the sandbox.

It launches this server as a subprocess over stdio with `--sandbox` (so the server starts its embedded Tavus
emulator), connects a real MCP client as Claude Desktop would, lists the tools and creates a conversation. This
module is an MCP client of the server, so it imports the SDK's client side.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

DEMO_ARGUMENTS: dict[str, Any] = {
    "persona_id": "p9a95912",
    "conversation_name": "Sales practice: price objections",
    "conversational_context": "The user is practising how to answer price objections. Play a skeptical buyer.",
    "custom_greeting": "Hi! I've seen your offer, but honestly, it looks expensive. Convince me.",
    "properties": {"max_call_duration": 600, "participant_left_timeout": 30, "language": "English"},
}


async def _demo() -> int:
    command = [sys.executable, "-m", "tavus_mcp", "--sandbox"]
    server = StdioServerParameters(command=command[0], args=command[1:], env={"TAVUS_LOG_LEVEL": "WARNING"})
    print(f"Starting the server over stdio, against its embedded Tavus sandbox: {' '.join(command)}\n")
    async with Client(server) as client:
        tools = await client.list_tools()
        print(f"Tools: {', '.join(tool.name for tool in tools.tools)}\n")
        print("Calling create_conversation with:")
        print(json.dumps(DEMO_ARGUMENTS, indent=2))
        result = await client.call_tool("create_conversation", DEMO_ARGUMENTS)
    text = "\n".join(block.text for block in result.content if block.type == "text")
    print("\nTool result (what the model reads):")
    print(text)
    print("\nStructured result:")
    print(json.dumps(result.structured_content, indent=2))
    print(
        "\nThat was the sandbox: nothing reached Tavus and nothing was charged. With TAVUS_API_KEY set (and without "
        "--sandbox), the same call starts a live video conversation."
    )
    return 1 if result.is_error else 0


def run_demo() -> int:
    return anyio.run(_demo)
