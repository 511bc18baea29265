"""create_conversation through the protocol: the exact body Tavus receives and what the model reads back."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.conftest import Sandbox, connect, text_of

pytestmark = pytest.mark.anyio

FULL_ARGUMENTS: dict[str, Any] = {
    "replica_id": "rfe12d8b9597",
    "persona_id": "p9a95912",
    "audio_only": False,
    "callback_url": "https://example.com/tavus/webhook",
    "conversation_name": "Improve Sales Technique",
    "conversational_context": "I want to improve my sales techniques. Help me practice handling objections.",
    "custom_greeting": "Hey there!",
    "enable_dynamic_greeting": False,
    "memory_stores": ["anna"],
    "document_ids": ["doc_1234567890"],
    "document_retrieval_strategy": "quality",
    "document_tags": ["sales", "marketing"],
    "test_mode": False,
    "require_auth": False,
    "max_participants": 3,
    "properties": {
        "max_call_duration": 1800,
        "participant_left_timeout": 60,
        "participant_absent_timeout": 120,
        "enable_recording": True,
        "enable_closed_captions": True,
        "apply_greenscreen": True,
        "require_auth": False,
        "language": "multilingual",
        "recording_storage": {
            "provider": "s3",
            "bucket_name": "conversation-recordings",
            "bucket_region": "us-east-1",
            "assume_role_arn": "arn:aws:iam::123456789012:role/TavusRecordingWriter",
            "external_id": "tavus-acct-abc123",
        },
    },
}


async def test_minimal_call(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", {"replica_id": "rfe12d8b9597"})

    assert not result.is_error
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597"}]
    stored = next(iter(sandbox.emulator.conversations.values()))
    url = stored["conversation_url"]
    assert "/sandbox/rooms/" in url
    assert result.structured_content == {
        "conversation_id": stored["conversation_id"],
        "conversation_url": url,
        "conversation_name": stored["conversation_name"],
        "status": "active",
        "created_at": stored["created_at"],
        "join_url": url,
        "notes": [
            "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, "
            f"or end_conversation with conversation_id {stored['conversation_id']})."
        ],
        "test_mode": False,
        "billed": True,
        "sandbox": False,
    }
    text = text_of(result)
    assert text.splitlines()[0] == f"Join the video call: {url}"
    assert f"Conversation id: {stored['conversation_id']}" in text
    assert "billed" in text
    assert "Test mode" not in text and "private" not in text


async def test_full_call_sends_every_field_in_the_api_types(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", FULL_ARGUMENTS)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [FULL_ARGUMENTS]
    request = sandbox.emulator.requests_to("POST", "/v2/conversations")[0]
    assert request.authorized
    assert request.user_agent is not None and request.user_agent.startswith("mcp-server-tavus/")
    assert result.structured_content is not None
    assert result.structured_content["callback_url"] == "https://example.com/tavus/webhook"
    # Tavus's answer no longer names the replica and persona; the text says which were asked for.
    assert "replica_id" not in result.structured_content and "persona_id" not in result.structured_content
    assert "replica rfe12d8b9597, persona p9a95912)." in text_of(result)


async def test_audio_only_call(mcp: Client, sandbox: Sandbox) -> None:
    arguments = {"replica_id": "rfe12d8b9597", "persona_id": "pdced222244b", "audio_only": True}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [arguments]


async def test_persona_only_call_uses_the_personas_replica(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", {"persona_id": "p9a95912"})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"persona_id": "p9a95912"}]
    assert result.structured_content is not None
    stored = sandbox.emulator.conversations[result.structured_content["conversation_id"]]
    assert stored["replica_id"] == "rfe12d8b9597"
    assert (
        f"Conversation id: {stored['conversation_id']} (name {stored['conversation_name']!r}, status active, "
        "persona p9a95912)." in text_of(result)
    )


async def test_defaults_only_call(sandbox: Sandbox) -> None:
    settings = sandbox.settings(default_replica_id="r79e1c033f", default_persona_id="p5317866")
    async with connect(settings) as mcp:
        result = await mcp.call_tool("create_conversation", {"conversation_name": "Defaults"})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [
        {"replica_id": "r79e1c033f", "persona_id": "p5317866", "conversation_name": "Defaults"}
    ]


async def test_defaults_do_not_override_what_the_call_gives(sandbox: Sandbox) -> None:
    settings = sandbox.settings(default_replica_id="r79e1c033f", default_persona_id="p5317866")
    async with connect(settings) as mcp:
        result = await mcp.call_tool("create_conversation", {"persona_id": "p9a95912"})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"persona_id": "p9a95912"}]


async def test_only_a_default_persona(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(default_persona_id="p9a95912")) as mcp:
        result = await mcp.call_tool("create_conversation", {})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"persona_id": "p9a95912"}]


async def test_private_room_link_carries_the_meeting_token(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", {"replica_id": "rfe12d8b9597", "require_auth": True})

    assert not result.is_error
    assert result.structured_content is not None
    token = result.structured_content["meeting_token"]
    url = result.structured_content["conversation_url"]
    assert token and result.structured_content["join_url"] == f"{url}?t={token}"
    lines = text_of(result).splitlines()
    assert lines[0] == f"Join the video call: {url}?t={token}"
    assert lines[1].startswith("This link is private")


async def test_test_mode_says_nobody_will_join(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", {"replica_id": "rfe12d8b9597", "test_mode": True})

    assert not result.is_error
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597", "test_mode": True}]
    assert result.structured_content is not None
    assert result.structured_content["status"] == "ended"
    assert (result.structured_content["test_mode"], result.structured_content["billed"]) == (True, False)
    text = text_of(result)
    assert "Test mode" in text and "No replica will join" in text and "nothing was charged" in text
    assert "billed" not in text


async def test_language_is_sent_with_its_canonical_name(mcp: Client, sandbox: Sandbox) -> None:
    arguments = {"replica_id": "rfe12d8b9597", "properties": {"language": "  spanish "}}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597", "properties": {"language": "Spanish"}}]


async def test_nulls_mean_not_given_and_are_never_sent(mcp: Client, sandbox: Sandbox) -> None:
    arguments = {"replica_id": "rfe12d8b9597", "persona_id": None, "properties": {"language": None}}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597"}]


async def test_properties_sent_as_a_json_string_are_decoded(mcp: Client, sandbox: Sandbox) -> None:
    # Some clients serialise nested objects as strings; the body must still carry a real object.
    arguments = {"replica_id": "rfe12d8b9597", "properties": '{"max_call_duration": 600}'}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597", "properties": {"max_call_duration": 600}}]


async def test_numbers_given_as_strings_are_sent_as_integers(mcp: Client, sandbox: Sandbox) -> None:
    arguments = {"replica_id": "rfe12d8b9597", "max_participants": "4", "properties": {"max_call_duration": "900"}}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [
        {"replica_id": "rfe12d8b9597", "max_participants": 4, "properties": {"max_call_duration": 900}}
    ]


async def test_the_deprecated_s3_fields_are_sent_and_named_with_their_replacement(
    mcp: Client, sandbox: Sandbox
) -> None:
    properties = {
        "enable_recording": True,
        "recording_s3_bucket_name": "conversation-recordings",
        "recording_s3_bucket_region": "us-east-1",
        "aws_assume_role_arn": "arn:aws:iam::123456789012:role/tavus-recordings",
    }
    result = await mcp.call_tool("create_conversation", {"replica_id": "rfe12d8b9597", "properties": properties})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"replica_id": "rfe12d8b9597", "properties": properties}]
    note = (
        "Sent as asked, but Tavus has deprecated properties.recording_s3_bucket_name, "
        "properties.recording_s3_bucket_region, properties.aws_assume_role_arn: next time use "
        "properties.recording_storage (provider 's3', bucket_name, bucket_region, assume_role_arn)."
    )
    assert note in text_of(result).splitlines()
    assert result.structured_content is not None and note in result.structured_content["notes"]


async def test_require_auth_under_properties_makes_the_room_private(mcp: Client, sandbox: Sandbox) -> None:
    arguments = {"replica_id": "rfe12d8b9597", "properties": {"require_auth": True}}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [arguments]
    assert result.structured_content is not None
    assert result.structured_content["join_url"].endswith(f"?t={result.structured_content['meeting_token']}")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_participants", 5000),
        ("properties.participant_left_timeout", 172_800),
        ("properties.participant_absent_timeout", 604_800),
        ("properties.max_call_duration", 7200),
    ],
)
async def test_values_beyond_the_old_caps_reach_tavus(mcp: Client, sandbox: Sandbox, name: str, value: int) -> None:
    # Tavus documents no maximum for these: a limit of the server's own would block a paying user.
    field = name.removeprefix("properties.")
    arguments: dict[str, Any] = {"replica_id": "rfe12d8b9597"}
    if field == name:
        arguments[field] = value
    else:
        arguments["properties"] = {field: value}
    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [arguments]
