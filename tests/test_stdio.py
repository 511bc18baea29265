"""The real server as a subprocess over stdio, as Claude Desktop runs it, pointed at the loopback emulator.

Each test starts `python -m tavus_mcp` with a hand-picked environment (the SDK passes on only HOME, PATH and the
like, so nothing TAVUS_* leaks in from the test runner) and captures the server's stderr in a file.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, Tool

from tavus_mcp import __version__
from tavus_mcp.config import Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.server import build_server
from tests.conftest import TOOL_NAMES, Sandbox, text_of

pytestmark = pytest.mark.anyio

# Bounds every test: starting Python, the handshake, a few calls and the SDK's shutdown take about a second.
TEST_TIMEOUT = 60.0
READ_TIMEOUT = 30.0

REPLICA = "rfe12d8b9597"
WRONG_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # shaped like a real Tavus key, distinctive in any output

KEY_HELP = (
    "Create a key in the Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar; "
    "https://docs.tavus.io/api-reference/authentication shows how)."
)
NO_KEY_TEXT = (
    "No Tavus API key is configured, so nothing was sent to Tavus. Set TAVUS_API_KEY in the environment of this "
    'MCP server (for Claude Desktop: the "env" block of the server in claude_desktop_config.json) and restart it. '
    f"{KEY_HELP} To try the server without a key, start it with --sandbox."
)
NO_KEY_WARNING = (
    'level=warning logger=tavus_mcp msg="TAVUS_API_KEY is not set: the tools are listed, but every call answers with '
    f'an error saying how to set it. {KEY_HELP} Use --sandbox to try the server without a key."'
)
REJECTED_KEY_TEXT = (
    "Tavus rejected the API key (HTTP 401: Invalid access token). The key in TAVUS_API_KEY is wrong, revoked or "
    "restricted: set a valid key in the server's environment and restart the server. Nothing was created. "
    f"{KEY_HELP}"
)
SANDBOX_LINE = (
    "Sandbox: this conversation exists only in the local Tavus emulator; nobody real joins and nothing is charged."
)
SANDBOX_STARTUP = (
    'level=info logger=tavus_mcp msg="serving against the embedded Tavus sandbox: nothing reaches Tavus, '
    'nothing is charged"'
)


@dataclass
class ServerLog:
    """The file the server subprocess writes its stderr to."""

    path: Path
    file: TextIO

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


@pytest.fixture
def server_log(tmp_path: Path) -> Iterator[ServerLog]:
    path = tmp_path / "server-stderr.log"
    with path.open("w", encoding="utf-8") as file:
        yield ServerLog(path, file)


@asynccontextmanager
async def stdio_server(log: ServerLog, env: dict[str, str], *args: str, mode: str = "auto") -> AsyncIterator[Client]:
    """An MCP client connected over stdio to `python -m tavus_mcp ARGS`, its stderr going to `log`.

    `Client(StdioServerParameters(...))` always sends the server's stderr to the test runner's own stderr, so
    the transport is built here with `stdio_client(..., errlog=...)` and handed to `Client`, which takes any
    transport.
    """
    params = StdioServerParameters(command=sys.executable, args=["-m", "tavus_mcp", *args], env=env)
    with anyio.fail_after(TEST_TIMEOUT):
        async with Client(
            stdio_client(params, errlog=log.file), mode=mode, read_timeout_seconds=READ_TIMEOUT
        ) as client:
            yield client


def loopback_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url, **extra}


def only_tool(tools: list[Tool]) -> Tool:
    """The create_conversation tool, after checking the server lists exactly its seven tools."""
    assert [tool.name for tool in tools] == TOOL_NAMES
    return tools[0]


def assert_created(result: CallToolResult, sandbox: Sandbox, log: ServerLog) -> dict[str, Any]:
    """The result is a successful create of the one conversation the emulator holds; returns that conversation."""
    assert not result.is_error, f"{text_of(result)}\n--- server stderr ---\n{log.text()}"
    [stored] = sandbox.emulator.conversations.values()
    url = stored["conversation_url"]
    assert url == f"{sandbox.base_url}/sandbox/rooms/{stored['conversation_id']}"
    assert text_of(result).startswith(f"Join the video call: {url}\n")
    expected = {
        key: stored[key]
        # What Tavus answers to create: no longer the replica and persona.
        for key in ("conversation_id", "conversation_url", "conversation_name", "status")
        if stored[key] is not None
    }
    note = (
        "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, or "
        f"end_conversation with conversation_id {stored['conversation_id']})."
        if stored["status"] == "active"
        else "Test mode: the conversation was created with status 'ended'. No replica will join and nobody should "
        "use the link; nothing was charged."
    )
    assert result.structured_content == {
        **expected,
        "created_at": stored["created_at"],
        "join_url": url,
        "notes": [note],
        "test_mode": stored["status"] == "ended",
        "billed": stored["status"] == "active",
        "sandbox": False,
    }
    return stored


def assert_listed(tools: list[Tool]) -> None:
    """What a client learns from tools/list: the tools, their annotations and flattened schemas."""
    tool = only_tool(tools)

    assert tool.title == "Start a Tavus video conversation"
    assert tool.description is not None
    assert tool.description.startswith(
        "Start a real-time Tavus video conversation with an AI replica and get the link to join it."
    )
    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is False
    assert tool.annotations.destructive_hint is False
    assert tool.annotations.idempotent_hint is False
    assert tool.annotations.open_world_hint is True

    schema = tool.input_schema
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert {"replica_id", "persona_id", "conversational_context", "custom_greeting", "test_mode", "properties"} <= set(
        schema["properties"]
    )
    assert "max_call_duration" in schema["properties"]["properties"]["properties"]
    assert "max_call_duration" not in schema["properties"]
    # Flattened for every client: no references, no nullable unions.
    assert "$ref" not in json.dumps(schema)
    assert "$defs" not in schema
    assert '"null"' not in json.dumps(schema)

    output = tool.output_schema
    assert output is not None
    assert output["type"] == "object"
    assert {"conversation_id", "conversation_url", "status", "join_url"} <= set(output["properties"])
    assert {"conversation_id", "join_url"} <= set(output["required"])
    # Where a schema tells the model how to find an id, it names a tool the server lists.
    mentioned = set(re.findall(r"find one with (\w+)", json.dumps([listed.input_schema for listed in tools])))
    assert mentioned <= set(TOOL_NAMES)


@pytest.mark.stdio
async def test_tools_list_and_create_over_stdio(sandbox: Sandbox, server_log: ServerLog) -> None:
    arguments = {
        "persona_id": "p9a95912",
        "conversation_name": "Stdio check",
        "conversational_context": "The user checks the server over stdio.",
        "custom_greeting": "Hello over stdio!",
        "properties": {"max_call_duration": 600, "participant_left_timeout": 30, "language": "english"},
    }
    async with stdio_server(server_log, loopback_env(sandbox)) as client:
        info = client.server_info
        tools = (await client.list_tools()).tools
        sent_by_listing = list(sandbox.emulator.received)
        result = await client.call_tool("create_conversation", arguments)
        negotiated = client.protocol_version

    assert info is not None
    assert (info.name, info.version) == ("mcp-server-tavus", __version__)
    assert_listed(tools)
    assert sent_by_listing == []
    assert negotiated == "2026-07-28"  # the 2025-11-25 era: test_protocol_versions
    # The language name is sent in Tavus's spelling; nothing else is added or dropped.
    assert sandbox.creates() == [
        {**arguments, "properties": {"max_call_duration": 600, "participant_left_timeout": 30, "language": "English"}}
    ]
    stored = assert_created(result, sandbox, server_log)
    assert stored["persona_id"] == "p9a95912"
    assert stored["replica_id"] == REPLICA  # the persona's default replica
    assert text_of(result) == (
        f"Join the video call: {stored['conversation_url']}\n"
        f"Conversation id: {stored['conversation_id']} (name 'Stdio check', status active, persona p9a95912).\n"
        "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, or "
        f"end_conversation with conversation_id {stored['conversation_id']})."
    )
    assert result.structured_content is not None
    assert result.structured_content["conversation_name"] == "Stdio check"
    [received] = sandbox.emulator.requests_to("POST", "/v2/conversations")
    assert received.authorized


@pytest.mark.stdio
@pytest.mark.parametrize(
    "pointed_at_loopback",
    # Overriding a configured key and address, a process apiece: quick in-memory below.
    [False, pytest.param(True, marks=pytest.mark.slow)],
    ids=["bare", "overriding-loopback-settings"],
)
async def test_sandbox_flag_needs_no_key(sandbox: Sandbox, server_log: ServerLog, pointed_at_loopback: bool) -> None:
    # With --sandbox the server talks to its embedded emulator, even when the environment points elsewhere.
    env = loopback_env(sandbox) if pointed_at_loopback else {}
    async with stdio_server(server_log, env, "--sandbox") as client:
        only_tool((await client.list_tools()).tools)
        result = await client.call_tool("create_conversation", {"replica_id": REPLICA})

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    url = result.structured_content["join_url"]
    assert re.fullmatch(r"https://tavus-sandbox\.invalid/sandbox/rooms/c[0-9a-f]+", url)
    assert url == result.structured_content["conversation_url"]
    lines = text_of(result).splitlines()
    assert lines[0] == f"Join the video call: {url}"
    assert SANDBOX_LINE in lines
    assert "billed" not in text_of(result)
    assert SANDBOX_STARTUP in server_log.text()
    assert sandbox.emulator.received == []


async def test_the_sandbox_setting_overrides_a_configured_key_and_address(sandbox: Sandbox) -> None:
    # The settings the command reads with --sandbox, from an environment that points at a Tavus of its own.
    settings = Settings.from_env(loopback_env(sandbox), sandbox=True).validated()
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("create_conversation", {"replica_id": REPLICA})

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["sandbox"] is True
    assert result.structured_content["join_url"].startswith("https://tavus-sandbox.invalid/sandbox/rooms/c")
    assert SANDBOX_LINE in text_of(result).splitlines()
    assert sandbox.emulator.received == []


@pytest.mark.stdio
async def test_no_key_still_serves_and_explains(sandbox: Sandbox, server_log: ServerLog) -> None:
    async with stdio_server(server_log, {"TAVUS_API_BASE_URL": sandbox.base_url}) as client:
        only_tool((await client.list_tools()).tools)
        result = await client.call_tool("create_conversation", {"replica_id": REPLICA})

    assert result.is_error
    assert text_of(result) == NO_KEY_TEXT
    assert result.structured_content is None
    assert sandbox.emulator.received == []
    log = server_log.text()
    assert NO_KEY_WARNING in log
    assert "msg=tool_call tool=create_conversation outcome=MissingApiKeyError attempts=0 duration_ms=" in log


@pytest.mark.stdio
async def test_wrong_key_is_reported_as_rejected(sandbox: Sandbox, server_log: ServerLog) -> None:
    env = {"TAVUS_API_KEY": WRONG_KEY, "TAVUS_API_BASE_URL": sandbox.base_url, "TAVUS_LOG_LEVEL": "DEBUG"}
    async with stdio_server(server_log, env) as client:
        result = await client.call_tool("create_conversation", {"replica_id": REPLICA})

    assert result.is_error
    assert text_of(result) == REJECTED_KEY_TEXT
    [received] = sandbox.emulator.requests_to("POST", "/v2/conversations")
    assert not received.authorized
    assert received.body == {"replica_id": REPLICA}
    assert sandbox.emulator.conversations == {}
    log = server_log.text()
    assert (
        "msg=tool_call tool=create_conversation outcome=AuthenticationError tavus_status=401 attempts=1 duration_ms="
        in log
    )
    assert WRONG_KEY not in log


@pytest.mark.stdio
async def test_invalid_arguments_then_keeps_serving_and_the_key_never_reaches_stderr_or_results(
    sandbox: Sandbox, server_log: ServerLog
) -> None:
    async with stdio_server(server_log, loopback_env(sandbox, TAVUS_LOG_LEVEL="DEBUG")) as client:
        listed = await client.list_tools()
        rejected = await client.call_tool("create_conversation", {"replica_id": "r1", "max_call_duration": 600})
        nothing_sent = list(sandbox.emulator.received)
        accepted = await client.call_tool(
            "create_conversation", {"replica_id": REPLICA, "properties": {"max_call_duration": 600}}
        )

    assert rejected.is_error
    text = text_of(rejected)
    assert text.startswith(
        "Invalid arguments for create_conversation; nothing was sent to Tavus. Fix these and call it again:\n- "
    )
    assert "max_call_duration: not a field at this level; it belongs under properties" in text
    assert '{"properties": {"max_call_duration": 600}}' in text
    assert nothing_sent == []

    assert sandbox.creates() == [{"replica_id": REPLICA, "properties": {"max_call_duration": 600}}]
    assert_created(accepted, sandbox, server_log)
    log = server_log.text()
    assert log.index("msg=tool_call tool=create_conversation outcome=invalid_arguments attempts=0") < log.index(
        "msg=tool_call tool=create_conversation outcome=ok tavus_status=200 attempts=1"
    )
    # DEBUG really applied, so every library that logs request details had its chance to leak the key.
    assert " level=debug logger=httpcore2." in log
    assert SANDBOX_API_KEY not in log
    for result in (accepted, rejected):
        assert SANDBOX_API_KEY not in text_of(result)
        assert SANDBOX_API_KEY not in json.dumps(result.structured_content)
    assert SANDBOX_API_KEY not in listed.model_dump_json()


@pytest.mark.stdio
@pytest.mark.parametrize(
    ("mode", "version"),
    # A process apiece: over stdio the 2026-07-28 era is quick in test_tools_list_and_create_over_stdio, and the
    # 2025-11-25 era in test_confirm.py (a create asked about and answered).
    [
        pytest.param("auto", "2026-07-28", marks=pytest.mark.slow),
        pytest.param("legacy", "2025-11-25", marks=pytest.mark.slow),
    ],
)
async def test_protocol_versions(sandbox: Sandbox, server_log: ServerLog, mode: str, version: str) -> None:
    async with stdio_server(server_log, loopback_env(sandbox), mode=mode) as client:
        negotiated = client.protocol_version
        info = client.server_info
        result = await client.call_tool("create_conversation", {"replica_id": REPLICA})

    assert negotiated == version
    assert info is not None
    assert (info.name, info.version) == ("mcp-server-tavus", __version__)
    assert sandbox.creates() == [{"replica_id": REPLICA}]
    assert_created(result, sandbox, server_log)
