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
from mcp.server.stdio import stdio_server

from tavus_mcp.arguments import tool_schema
from tavus_mcp.catalog import TOOLS, selected_tools
from tavus_mcp.models import CreateConversationRequest
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
    offered = [spec.name for spec in TOOLS if spec.name in selected_tools(sandbox.settings())]
    assert offered == list(listed), seam("MCPServer(tools=[...]) no longer lists Tool objects")
    create = listed["create_conversation"]
    assert create.input_schema == tool_schema(CreateConversationRequest), seam("Tool.parameters is not inputSchema")
    assert create.output_schema == tool_schema(CreatedConversation), seam(
        "FuncMetadata.output_schema is not outputSchema"
    )


# tavus_mcp/stdio.py serves stdio itself (MCPServer.run_stdio_async, with a read stream that answers what the
# transport could not parse): it needs the low-level server and the transport's exception items.


def test_the_low_level_server_serves_given_streams(sandbox: Sandbox) -> None:
    from tavus_mcp.server import build_server

    lowlevel = getattr(build_server(sandbox.settings()), "_lowlevel_server", None)
    assert lowlevel is not None, seam("MCPServer._lowlevel_server is gone (tavus_mcp/stdio.py serves it)")
    parameters = list(inspect.signature(lowlevel.run).parameters)
    assert parameters[:3] == ["read_stream", "write_stream", "initialization_options"], seam(
        f"mcp.server.lowlevel.Server.run{inspect.signature(lowlevel.run)} (tavus_mcp/stdio.py calls it)"
    )
    assert callable(getattr(lowlevel, "create_initialization_options", None)), seam(
        "Server.create_initialization_options is gone (tavus_mcp/stdio.py calls it)"
    )


def test_the_stdio_transport_still_passes_on_what_it_cannot_parse() -> None:
    source = inspect.getsource(stdio_server)
    assert "read_stream_writer.send(exc)" in source, seam(
        "mcp.server.stdio.stdio_server no longer sends parse failures down the read stream as exceptions "
        "(tavus_mcp/stdio.py answers them)"
    )


# tavus_mcp/http.py extends uvicorn's h11 protocol (EdgeProtocol: a deadline for a complete request, a cap on
# connections): it overrides these methods and reads these attributes.


def test_uvicorn_h11_protocol_keeps_what_edge_protocol_extends() -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    for method in ("connection_made", "data_received", "on_response_complete", "connection_lost", "handle_events"):
        assert callable(getattr(H11Protocol, method, None)), f"uvicorn H11Protocol.{method} is gone (EdgeProtocol)"
    source = inspect.getsource(H11Protocol.__init__)
    for attribute in ("self.conn", "self.connections", "self.loop", "self.transport"):
        assert attribute in source, f"uvicorn H11Protocol no longer sets {attribute} (EdgeProtocol reads it)"
