"""The places where this server leans on SDK classes that are not public API, checked so that an upgrade that
changes them fails here, loudly and by name, rather than somewhere in a tool call.

The seam: `tavus_mcp.server.ApiTool` subclasses the SDK's internal `Tool` (mcp.server.mcpserver.tools.base) and
builds its metadata from `FuncMetadata` and `ArgModelBase` (mcp.server.mcpserver.utilities.func_metadata), so that
one pydantic model is both a tool's flat input schema and its validator. pyproject.toml pins `mcp` to the minor
version these tests pass with.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata

from tavus_mcp.arguments import tool_schema
from tavus_mcp.models import CreateConversationRequest
from tavus_mcp.server import TOOLS
from tavus_mcp.tools import CreatedConversation
from tests.conftest import Sandbox, connect

TESTED_MINOR = "2.3"


def seam(what: str) -> str:
    return (
        f"SDK seam changed: {what}. tavus_mcp/server.py (ApiTool, ToolSpec.build) relies on it; adapt it, then widen "
        f"the mcp pin in pyproject.toml (tested with mcp {TESTED_MINOR}.x, installed {version('mcp')})"
    )


def test_the_installed_sdk_is_the_minor_version_tested() -> None:
    assert version("mcp").startswith(f"{TESTED_MINOR}."), seam("the mcp version is outside the tested minor")


def test_tool_run_keeps_its_signature() -> None:
    parameters = list(inspect.signature(Tool.run).parameters)
    assert parameters == ["self", "arguments", "context", "convert_result"], seam(
        f"mcp.server.mcpserver.tools.Tool.run{inspect.signature(Tool.run)}"
    )


def test_tool_keeps_the_fields_the_server_fills() -> None:
    needed = {"fn", "name", "title", "description", "parameters", "fn_metadata", "is_async", "annotations", "meta"}
    missing = needed - set(Tool.model_fields)
    assert not missing, seam(f"mcp.server.mcpserver.tools.Tool lost the fields {sorted(missing)}")


def test_func_metadata_carries_a_given_output_schema() -> None:
    schema = {"type": "object", "properties": {}}
    try:
        metadata = FuncMetadata(arg_model=ArgModelBase, output_schema=schema)
    except Exception as exc:  # pragma: no cover - only when the SDK changed
        pytest.fail(seam(f"FuncMetadata(arg_model=ArgModelBase, output_schema=...) raised {exc!r}"))
    assert metadata.output_schema == schema, seam("FuncMetadata.output_schema no longer returns the schema given")


@pytest.mark.anyio
async def test_tools_list_shows_the_models_as_schemas(sandbox: Sandbox) -> None:
    """Through the protocol: what the SDK publishes is exactly the schema the server built from its models."""
    async with connect(sandbox.settings()) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert [spec.name for spec in TOOLS] == list(listed), seam("MCPServer(tools=[...]) no longer lists Tool objects")
    create = listed["create_conversation"]
    assert create.input_schema == tool_schema(CreateConversationRequest), seam("Tool.parameters is not inputSchema")
    assert create.output_schema == tool_schema(CreatedConversation), seam(
        "FuncMetadata.output_schema is not outputSchema"
    )
