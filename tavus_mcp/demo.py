"""`mcp-server-tavus demo`: the whole path a user's assistant takes, against the sandbox.

It launches this server as a subprocess over stdio with `--sandbox` (so the server starts its embedded Tavus
emulator), connects a real MCP client as Claude Desktop would, lists the tools, creates a conversation, waits for
the call (the sandbox plays a short scripted one) with the progress the server reports, and gets the review prompt.
This module is an MCP client of the server, so it imports the SDK's client side.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
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


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings the demo's server gets: this process's TAVUS_* variables (none of a key or of a team server's:
    the sandbox needs neither), its log lines quieter unless asked for."""
    settings = {
        name: value
        for name, value in environ.items()
        if name.startswith("TAVUS_") and not name.startswith("TAVUS_MCP_") and name != "TAVUS_API_KEY"
    }
    return {"TAVUS_LOG_LEVEL": "WARNING", **settings}


async def _demo(flags: Sequence[str]) -> int:
    command = [sys.executable, "-m", "tavus_mcp", "--sandbox", *flags]
    server = StdioServerParameters(command=command[0], args=command[1:], env=server_environment(os.environ))
    print(f"Starting the server over stdio, against its embedded Tavus sandbox: {' '.join(command)}\n")
    async with Client(server) as client:
        tools = await client.list_tools()
        print(f"Tools: {', '.join(tool.name for tool in tools.tools)}\n")
        print("Calling create_conversation with:")
        print(json.dumps(DEMO_ARGUMENTS, indent=2))
        result = await client.call_tool("create_conversation", DEMO_ARGUMENTS)
        print("\nTool result (what the model reads):")
        print(_text(result.content))
        print("\nStructured result:")
        print(json.dumps(result.structured_content, indent=2))
        if result.is_error or not result.structured_content:
            return 1
        conversation_id = result.structured_content["conversation_id"]

        print(
            "\nThe user joins the call; here the sandbox plays a short scripted one. Once the user says the call is "
            f"done, the assistant calls wait_for_conversation with conversation_id {conversation_id!r}:"
        )

        async def show_progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  progress after {progress:.1f} s: {message}", flush=True)

        waited = await client.call_tool(
            "wait_for_conversation", {"conversation_id": conversation_id}, progress_callback=show_progress
        )
        print("\nTool result (what the model reads):")
        print(_text(waited.content))
        if waited.is_error:
            return 1

        review = await client.get_prompt("review_call", {"conversation_id": conversation_id})
        print("\nThen the review_call prompt (prompts/get) asks the assistant for feedback:")
        print(_text([message.content for message in review.messages]))
    print(
        "\nThat was the sandbox: nothing reached Tavus and nothing was charged. With TAVUS_API_KEY set (and without "
        "--sandbox), the same calls start and follow a live video conversation."
    )
    return 0


def _text(blocks: Sequence[Any]) -> str:
    return "\n".join(block.text for block in blocks if block.type == "text")


def run_demo(flags: Sequence[str] = ()) -> int:
    """Run the demo with the server started with these settings flags; 0 when it ran through, 1 (saying why, in
    one line) when it did not."""
    try:
        return anyio.run(_demo, flags)
    except Exception as exc:  # whatever broke, a person reads one line, not a traceback
        print(f"mcp-server-tavus: the demo failed: {_reason(exc)}", file=sys.stderr)
        return 1


def _reason(exc: BaseException) -> str:
    """The innermost error of an exception group (the SDK's task groups wrap what went wrong)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__
