"""The create_conversation tool as a client sees it in tools/list: pinned, flat, and faithful to the API."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tavus_mcp.sandbox.reference import BODY_FIELDS, PROPERTY_FIELDS, RECORDING_STORAGE_FIELDS

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "create_conversation.json"

# The body of POST /v2/conversations and its `properties`, as the emulator's tables hold them (checked against
# Tavus's OpenAPI document by test_openapi.py); a list of strings is a JSON-schema "array".
API_FIELDS = {name: "array" if kind == "string[]" else kind for name, kind in BODY_FIELDS.items()}
API_PROPERTIES = dict(PROPERTY_FIELDS)


async def _listed_tool(mcp: Client) -> dict[str, Any]:
    tools = (await mcp.list_tools()).tools
    tool = next(tool for tool in tools if tool.name == "create_conversation")
    listed: dict[str, Any] = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return listed


async def test_tool_matches_snapshot(mcp: Client) -> None:
    listed = await _listed_tool(mcp)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(listed, indent=2, ensure_ascii=False) + "\n")
    assert listed == json.loads(SNAPSHOT.read_text())


async def test_input_schema_mirrors_the_api_body(mcp: Client) -> None:
    schema = (await _listed_tool(mcp))["inputSchema"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert (len(API_FIELDS), len(API_PROPERTIES)) == (16, 12)
    assert {name: spec["type"] for name, spec in schema["properties"].items()} == API_FIELDS
    nested = schema["properties"]["properties"]
    assert nested["additionalProperties"] is False
    assert {name: spec["type"] for name, spec in nested["properties"].items()} == API_PROPERTIES
    # Nothing is required: replica_id and persona_id can each be left out, and defaults may fill them.
    assert "required" not in schema
    assert schema["properties"]["document_retrieval_strategy"]["enum"] == ["speed", "quality", "balanced"]
    assert schema["properties"]["max_participants"]["minimum"] == 2
    for name in ("max_call_duration", "participant_left_timeout", "participant_absent_timeout"):
        assert nested["properties"][name]["minimum"] == 0
    storage = nested["properties"]["recording_storage"]
    assert storage["additionalProperties"] is False and storage["required"] == ["provider"]
    assert {name: spec["type"] for name, spec in storage["properties"].items()} == RECORDING_STORAGE_FIELDS
    assert storage["properties"]["provider"]["enum"] == ["s3", "gcs", "azure_blob"]


def _walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((path, key, value))
            found.extend(_walk(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_walk(value, f"{path}/{index}"))
    return found


@pytest.mark.parametrize("schema_key", ["inputSchema", "outputSchema"])
async def test_schemas_are_flat(mcp: Client, schema_key: str) -> None:
    """No $ref/$defs and no nullable unions: several clients and LLM APIs handle neither."""
    schema = (await _listed_tool(mcp))[schema_key]
    keys = {key for path, key, _ in _walk(schema) if not path.endswith("/properties")}
    assert not keys & {"$ref", "$defs", "anyOf", "oneOf", "allOf", "default"}
    null_types = [path for path, key, value in _walk(schema) if key == "type" and "null" in value]
    assert null_types == []


async def test_every_field_is_described_for_a_model(mcp: Client) -> None:
    listed = await _listed_tool(mcp)
    schema = listed["inputSchema"]
    fields = {**schema["properties"], **schema["properties"]["properties"]["properties"]}
    undescribed = [name for name, spec in fields.items() if len(spec.get("description", "")) < 30]
    assert undescribed == []
    descriptions = {name: spec["description"] for name, spec in fields.items()}
    assert "FULL" in descriptions["language"] and "multilingual" in descriptions["language"]
    assert (
        "without any charge" in descriptions["test_mode"] and "without the replica joining" in descriptions["test_mode"]
    )
    for s3 in ("recording_s3_bucket_name", "recording_s3_bucket_region", "aws_assume_role_arn"):
        assert descriptions[s3].startswith("Deprecated") and "use recording_storage" in descriptions[s3]
        assert "All three" in descriptions[s3] and fields[s3]["deprecated"] is True
    # Both names for each, where a model looks for them.
    assert "Face" in descriptions["replica_id"] and "PAL" in descriptions["persona_id"]
    assert "seconds" in descriptions["max_call_duration"]


async def test_annotations_title_and_output_schema(mcp: Client) -> None:
    listed = await _listed_tool(mcp)
    assert listed["title"] == "Start a Tavus video conversation"
    assert listed["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": True,
    }
    output = listed["outputSchema"]
    assert output["type"] == "object"
    assert output["required"] == ["conversation_id", "join_url", "notes", "test_mode", "billed", "sandbox"]
    assert {"conversation_url", "status", "meeting_token", "created_at"} <= set(output["properties"])
