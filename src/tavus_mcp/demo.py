"""`mcp-server-tavus demo`: the whole path a user's assistant takes, against the sandbox.

It starts the Tavus emulator on loopback, launches this server as a subprocess over stdio (as Claude Desktop
does), connects a real MCP client, lists the tools and creates a conversation. This module is an MCP client of
the server, so it imports the SDK's client side.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator, serve_on_loopback

DEMO_ARGUMENTS: dict[str, Any] = {
    "persona_id": "p9a95912",
    "conversation_name": "Sales practice: price objections",
    "conversational_context": "The user is practising how to answer price objections. Play a skeptical buyer.",
    "custom_greeting": "Hi! I've seen your offer, but honestly, it looks expensive. Convince me.",
    "properties": {"max_call_duration": 600, "participant_left_timeout": 30, "language": "English"},
}


async def _demo(base_url: str) -> int:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tavus_mcp"],
        env={"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": base_url, "TAVUS_LOG_LEVEL": "WARNING"},
    )
    print(f"Tavus sandbox emulator listening on {base_url}")
    print(f"Starting the server over stdio: {sys.executable} -m tavus_mcp\n")
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
        "\nThat was the sandbox: nothing reached Tavus and nothing was charged. With TAVUS_API_KEY set, the same "
        "call starts a live video conversation."
    )
    return 1 if result.is_error else 0


def run_demo() -> int:
    with serve_on_loopback(TavusEmulator()) as base_url:
        return anyio.run(_demo, base_url)
