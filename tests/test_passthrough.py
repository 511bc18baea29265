"""TAVUS_PASSTHROUGH_FIELDS: the operator lets through fields Tavus added after this release, through the protocol.

Off by default; the tool schemas open to exactly the fields named; what is let through reaches Tavus as given, in
the body or the query; a misplaced known field is still refused; and the guardrails (forced test mode, the call
length cap) hold whatever is let through. The emulator stands for a newer Tavus by accepting the same fields
(`added_fields`).
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from tavus_mcp.config import ConfigError, Settings
from tests.conftest import Sandbox, connect, text_of

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"
HEADER = "Invalid arguments for {tool}; nothing was sent to Tavus. Fix these and call it again:"


async def _schema(mcp: Client, tool: str) -> dict[str, Any]:
    tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    return tools[tool].input_schema


def test_the_setting_is_read_and_checked() -> None:
    def read(value: str) -> tuple[str, ...]:
        return Settings.from_env({"TAVUS_PASSTHROUGH_FIELDS": value}).passthrough_fields

    assert Settings.from_env({}).passthrough_fields == ()
    assert read(" properties.new_flag, new_top_field,,properties.new_flag ") == ("properties.new_flag", "new_top_field")
    assert read("*") == ("*",)
    assert read("properties.*,properties.recording_storage.region_2") == (
        "properties.*",
        "properties.recording_storage.region_2",
    )
    for bad in ("properties..x", "new-flag", "a b", "*.x", "properties.*.x"):
        with pytest.raises(ConfigError) as raised:
            read(bad)
        assert str(raised.value) == (
            f"TAVUS_PASSTHROUGH_FIELDS: {bad!r} is not a field name; give names separated by commas, such as "
            "'properties.new_flag,new_top_field', a name ending in '.*' for anything under it, or '*'"
        )


async def test_off_by_default_the_schema_is_closed_and_the_field_refused(mcp: Client, sandbox: Sandbox) -> None:
    schema = await _schema(mcp, "create_conversation")
    assert "new_top_field" not in schema["properties"] and schema["additionalProperties"] is False
    result = await mcp.call_tool("create_conversation", {"replica_id": R, "new_top_field": 1})
    assert (
        text_of(result)
        .splitlines()[1]
        .endswith(
            "If Tavus has added it since this server was released, its operator can let it through with "
            "TAVUS_PASSTHROUGH_FIELDS"
        )
    )
    assert sandbox.emulator.received == []


async def test_named_fields_reach_tavus_as_given(sandbox: Sandbox) -> None:
    sandbox.emulator.added_fields = {"new_top_field", "properties.new_flag"}
    settings = sandbox.settings(passthrough_fields=("new_top_field", "properties.new_flag"))
    arguments = {
        "replica_id": R,
        "new_top_field": {"mode": ["a", 1, None]},
        "properties": {"new_flag": True, "language": "spanish"},
    }
    async with connect(settings) as mcp:
        schema = await _schema(mcp, "create_conversation")
        result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{**arguments, "properties": {"new_flag": True, "language": "Spanish"}}]
    # The schema takes exactly the fields named, so that clients that check arguments send them; it stays closed.
    described = {"description": "Sent to Tavus as given (TAVUS_PASSTHROUGH_FIELDS)."}
    assert schema["properties"]["new_top_field"] == described
    assert schema["properties"]["properties"]["properties"]["new_flag"] == described
    assert (
        schema["additionalProperties"] is False and schema["properties"]["properties"]["additionalProperties"] is False
    )


async def test_only_the_named_fields_pass_and_never_a_misplaced_one(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(passthrough_fields=("*",))) as mcp:
        misplaced = await mcp.call_tool("create_conversation", {"replica_id": R, "max_call_duration": 600})
        under_properties = await mcp.call_tool(
            "create_conversation", {"replica_id": R, "properties": {"test_mode": True}}
        )
    assert text_of(misplaced).splitlines()[1] == (
        '- max_call_duration: not a field at this level; it belongs under properties: {"properties": '
        '{"max_call_duration": 600}}'
    )
    assert text_of(under_properties).splitlines()[1] == (
        "- properties.test_mode: not a field of properties; it belongs at the top level"
    )
    async with connect(sandbox.settings(passthrough_fields=("properties.new_flag",))) as mcp:
        elsewhere = await mcp.call_tool("create_conversation", {"replica_id": R, "new_flag": True})
    assert text_of(elsewhere).splitlines()[1].startswith("- new_flag: unknown field.")
    assert sandbox.emulator.received == []


async def test_a_star_opens_every_level(sandbox: Sandbox) -> None:
    sandbox.emulator.added_fields = {"a", "properties.b", "properties.recording_storage.c"}
    storage = {"provider": "s3", "bucket_name": "b", "bucket_region": "us-east-1", "assume_role_arn": "arn:x", "c": 3}
    arguments = {"replica_id": R, "a": 1, "properties": {"b": 2, "recording_storage": storage}}
    async with connect(sandbox.settings(passthrough_fields=("*",))) as mcp:
        schema = await _schema(mcp, "create_conversation")
        result = await mcp.call_tool("create_conversation", arguments)
    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [arguments]
    properties = schema["properties"]["properties"]
    assert [schema["additionalProperties"], properties["additionalProperties"]] == [True, True]
    assert properties["properties"]["recording_storage"]["additionalProperties"] is True


async def test_the_guardrails_hold_whatever_is_let_through(sandbox: Sandbox) -> None:
    sandbox.emulator.added_fields = {"new_top_field", "properties.new_flag"}
    settings = sandbox.settings(passthrough_fields=("*",), force_test_mode=True, max_call_duration=300)
    async with connect(settings) as mcp:
        result = await mcp.call_tool(
            "create_conversation",
            {"replica_id": R, "test_mode": False, "new_top_field": "x", "properties": {"new_flag": True}},
        )
        too_long = await mcp.call_tool(
            "create_conversation", {"replica_id": R, "properties": {"max_call_duration": 900, "new_flag": True}}
        )

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [
        {
            "replica_id": R,
            "test_mode": True,
            "new_top_field": "x",
            "properties": {"new_flag": True, "max_call_duration": 300},
        }
    ]
    assert too_long.is_error and "above this server's cap of 300 seconds" in text_of(too_long)


async def test_query_parameters_pass_as_scalars_only(sandbox: Sandbox) -> None:
    sandbox.emulator.added_fields = {"face_style"}
    async with connect(sandbox.settings(passthrough_fields=("face_style",))) as mcp:
        schema = await _schema(mcp, "list_replicas")
        listed = await mcp.call_tool("list_replicas", {"face_style": "casual", "limit": 2})
        refused = await mcp.call_tool("list_replicas", {"face_style": ["casual"]})

    assert "face_style" in schema["properties"]
    assert not listed.is_error, text_of(listed)
    assert [seen.query for seen in sandbox.requests_to("GET", "/v2/replicas")] == [
        {"limit": "2", "face_style": "casual"}
    ]
    assert text_of(refused).splitlines() == [
        HEADER.format(tool="list_replicas"),
        "- face_style: let through by TAVUS_PASSTHROUGH_FIELDS as a query parameter, so it must be a string, number "
        'or boolean, got ["casual"]',
    ]


async def test_a_conversation_id_is_never_a_query_parameter(sandbox: Sandbox) -> None:
    sandbox.emulator.added_fields = {"reason"}
    settings = Settings(
        api_key=SecretStr("sandbox-key-not-a-real-tavus-key"), base_url=sandbox.base_url, passthrough_fields=("*",)
    ).validated()
    async with connect(settings) as mcp:
        created = await mcp.call_tool("create_conversation", {"replica_id": R})
        assert created.structured_content is not None
        conversation_id = created.structured_content["conversation_id"]
        ended = await mcp.call_tool("end_conversation", {"conversation_id": conversation_id, "reason": "done"})
    assert not ended.is_error, text_of(ended)
    assert [seen.query for seen in sandbox.requests_to("POST", f"/v2/conversations/{conversation_id}/end")] == [
        {"reason": "done"}
    ]
