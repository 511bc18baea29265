"""The README's promises, checked: its client config blocks start the server, and its figures are current."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import connect

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
CHECKOUT_COMMAND = "/absolute/path/to/mcp-server-tavus/.venv/bin/mcp-server-tavus"
INSTALLED_COMMAND = str(Path(sys.executable).parent / "mcp-server-tavus")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _config_blocks() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)\n```", _section("Connect your client"), re.DOTALL)
    return [json.loads(block) for block in blocks]


def _servers(config: dict[str, Any]) -> dict[str, Any]:
    servers: dict[str, Any] = config.get("mcpServers") or config["servers"]
    return servers


def test_every_config_block_is_valid_json_naming_the_server() -> None:
    configs = _config_blocks()
    assert len(configs) == 4  # Claude Desktop (index and checkout), Cursor, VS Code
    for config in configs:
        entry = _servers(config)["tavus"]
        assert entry["command"] in ("uvx", CHECKOUT_COMMAND)
        if entry["command"] == "uvx":
            assert entry["args"] == ["mcp-server-tavus"]  # the distribution's name and its command
        assert "TAVUS_API_KEY" in entry["env"]


@pytest.mark.stdio
@pytest.mark.anyio
@pytest.mark.parametrize("index", [1, 2, 3])
async def test_checkout_config_blocks_start_the_server(index: int) -> None:
    entry = _servers(_config_blocks()[index])["tavus"]
    assert entry["command"] == CHECKOUT_COMMAND
    env = {name: value for name, value in entry["env"].items() if name != "TAVUS_API_KEY"}
    server = StdioServerParameters(command=INSTALLED_COMMAND, args=[*entry.get("args", []), "--sandbox"], env=env)
    async with Client(server, read_timeout_seconds=30) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("create_conversation", {"replica_id": "rfe12d8b9597", "test_mode": True})
    assert "create_conversation" in tools
    assert not result.is_error


def test_claude_code_commands_name_the_package_and_command() -> None:
    commands = re.findall(r"claude mcp add tavus --env TAVUS_API_KEY=\S+ -- ([^`\n]+)", _section("Connect your client"))
    assert commands[0] == "uvx mcp-server-tavus"
    assert commands[1] == CHECKOUT_COMMAND


def test_the_quick_start_block_holds_exactly_two_commands() -> None:
    block = re.search(r"## Quick start\n\n```bash\n(.*?)\n```", README, re.DOTALL)
    assert block is not None
    demo, tests = block.group(1).splitlines()
    assert demo.endswith("mcp-server-tavus demo")
    assert "pytest" in tests


@pytest.mark.anyio
async def test_the_stated_tools_list_size_is_current(anyio_backend: str) -> None:
    from tavus_mcp.config import Settings

    async with connect(Settings(sandbox=True).validated()) as client:
        size = len((await client.list_tools()).model_dump_json(by_alias=True, exclude_none=True))
    stated = re.search(r"The whole `tools/list` answer .*? is \*\*([\d,]+) bytes\*\*", README, re.DOTALL)
    assert stated is not None
    assert size < 24_000
    assert abs(size - int(stated.group(1).replace(",", ""))) <= size * 0.05, size
