"""Every rejection names the field, says what is allowed and how to fix it, and nothing reaches Tavus."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.conftest import Sandbox, connect, text_of

pytestmark = pytest.mark.anyio

HEADER = "Invalid arguments for create_conversation; nothing was sent to Tavus. Fix these and call it again:"
R = "rfe12d8b9597"

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "top-level max_call_duration belongs under properties",
        {"replica_id": R, "max_call_duration": 600},
        [
            "- max_call_duration: not a field at this level; it belongs under properties: "
            '{"properties": {"max_call_duration": 600}}'
        ],
    ),
    (
        "a top-level field given under properties",
        {"replica_id": R, "properties": {"test_mode": True}},
        ["- properties.test_mode: not a field of properties; it belongs at the top level"],
    ),
    (
        "a misspelt field gets the close match and the allowed fields",
        {"replica_id": R, "conversaton_name": "x"},
        [
            "- conversaton_name: unknown field. Did you mean 'conversation_name'? Allowed here: audio_only, "
            "callback_url, conversation_name, conversational_context, custom_greeting, document_ids, "
            "document_retrieval_strategy, document_tags, enable_dynamic_greeting, max_participants, memory_stores, "
            "persona_id, properties, replica_id, require_auth, test_mode. If Tavus has added it since this server "
            "was released, its operator can let it through with TAVUS_PASSTHROUGH_FIELDS"
        ],
    ),
    (
        "an unknown field under properties",
        {"replica_id": R, "properties": {"foo": 1}},
        [
            "- properties.foo: unknown field. Allowed here: apply_greenscreen, aws_assume_role_arn, "
            "enable_closed_captions, enable_recording, language, max_call_duration, participant_absent_timeout, "
            "participant_left_timeout, recording_s3_bucket_name, recording_s3_bucket_region, recording_storage, "
            "require_auth. If Tavus has added it since this server was released, its operator can let it through "
            "with TAVUS_PASSTHROUGH_FIELDS"
        ],
    ),
    (
        "a two-letter language code gets the full name",
        {"replica_id": R, "properties": {"language": "es"}},
        [
            "- properties.language: 'es' is a language code; Tavus needs the full language name: use 'Spanish' "
            "(or 'multilingual' to detect the speaker's language automatically)"
        ],
    ),
    (
        "a locale code gets the full name",
        {"replica_id": R, "properties": {"language": "pt-BR"}},
        ["- properties.language: 'pt-BR' is a language code; Tavus needs the full language name: use 'Portuguese'"],
    ),
    (
        "something that is no language name",
        {"replica_id": R, "properties": {"language": "12"}},
        ["- properties.language: '12' is not a language name; give the full name, such as 'English' or 'Spanish'"],
    ),
    (
        "document_retrieval_strategy outside its values",
        {"replica_id": R, "document_retrieval_strategy": "fast"},
        ["- document_retrieval_strategy: must be 'speed', 'quality' or 'balanced'; got 'fast'"],
    ),
    (
        "a negative duration",
        {"replica_id": R, "properties": {"max_call_duration": -5}},
        ["- properties.max_call_duration: must be at least 0, got -5"],
    ),
    (
        "a fractional timeout",
        {"replica_id": R, "properties": {"participant_left_timeout": 1.5}},
        ["- properties.participant_left_timeout: must be a whole number, got 1.5"],
    ),
    (
        "a timeout that is no number",
        {"replica_id": R, "properties": {"participant_absent_timeout": "ten"}},
        ["- properties.participant_absent_timeout: must be a whole number, got 'ten'"],
    ),
    (
        "max_participants below 2",
        {"replica_id": R, "max_participants": 1},
        ["- max_participants: must be at least 2, got 1"],
    ),
    (
        "a relative callback_url",
        {"replica_id": R, "callback_url": "example.com/hook"},
        [
            "- callback_url: 'example.com/hook' is not an absolute http(s) URL; give the full address that "
            "receives the webhooks, such as 'https://example.com/tavus/webhook'"
        ],
    ),
    (
        "a callback_url of another scheme",
        {"replica_id": R, "callback_url": "ftp://example.com/hook"},
        ["- callback_url: 'ftp://example.com/hook' is not an absolute http(s) URL"],
    ),
    (
        "one S3 field without the other two",
        {"replica_id": R, "properties": {"recording_s3_bucket_name": "b"}},
        [
            "- properties: the S3 recording fields go together: recording_s3_bucket_name given without "
            "recording_s3_bucket_region, aws_assume_role_arn. Better, use recording_storage with provider 's3' "
            "(bucket_name, bucket_region, assume_role_arn)"
        ],
    ),
    (
        "two S3 fields without the third",
        {"replica_id": R, "properties": {"recording_s3_bucket_region": "us-east-1", "aws_assume_role_arn": "arn:x"}},
        [
            "- properties: the S3 recording fields go together: recording_s3_bucket_region, aws_assume_role_arn "
            "given without recording_s3_bucket_name."
        ],
    ),
    (
        "recording_storage without a field its provider needs",
        {"replica_id": R, "properties": {"recording_storage": {"provider": "gcs", "bucket_name": "b"}}},
        [
            "- properties.recording_storage: provider 'gcs' needs project_id, workload_identity_provider, "
            "service_account_email. Provider 'gcs' takes bucket_name, project_id, workload_identity_provider, "
            "service_account_email"
        ],
    ),
    (
        "recording_storage with a field of another provider",
        {
            "replica_id": R,
            "properties": {
                "recording_storage": {
                    "provider": "s3",
                    "bucket_name": "b",
                    "bucket_region": "us-east-1",
                    "assume_role_arn": "arn:x",
                    "container": "c",
                }
            },
        },
        [
            "- properties.recording_storage: container is not for 's3'. Provider 's3' takes bucket_name, "
            "bucket_region, assume_role_arn, external_id (the last optional)"
        ],
    ),
    (
        "recording_storage with a blank identifier",
        {
            "replica_id": R,
            "properties": {
                "recording_storage": {
                    "provider": "azure_blob",
                    "storage_account": "a",
                    "container": " ",
                    "tenant_id": "t",
                    "client_id": "c",
                }
            },
        },
        ["- properties.recording_storage: container must not be empty or blank. Provider 'azure_blob' takes "],
    ),
    (
        "recording_storage without a provider",
        {"replica_id": R, "properties": {"recording_storage": {"bucket_name": "b"}}},
        ["- properties.recording_storage.provider: is required"],
    ),
    (
        "recording_storage of an unknown provider",
        {"replica_id": R, "properties": {"recording_storage": {"provider": "dropbox"}}},
        ["- properties.recording_storage.provider: must be 's3', 'gcs' or 'azure_blob'; got 'dropbox'"],
    ),
    (
        "recording_storage and the deprecated S3 fields at once",
        {
            "replica_id": R,
            "properties": {
                "recording_s3_bucket_name": "b",
                "recording_s3_bucket_region": "us-east-1",
                "aws_assume_role_arn": "arn:x",
                "recording_storage": {
                    "provider": "s3",
                    "bucket_name": "b",
                    "bucket_region": "us-east-1",
                    "assume_role_arn": "arn:x",
                },
            },
        },
        [
            "- properties: recording_storage and the deprecated flat S3 fields both name where recordings go; give "
            "recording_storage only"
        ],
    ),
    (
        "recording_storage given as a provider's name",
        {"replica_id": R, "properties": {"recording_storage": "s3"}},
        ["- properties.recording_storage: must be an object (fields: assume_role_arn, bucket_name, "],
    ),
    (
        "no replica, no persona and no default names both fields",
        {"conversation_name": "x"},
        [
            "- replica_id, persona_id: give at least one. replica_id picks the replica (face and voice) who joins "
            "(see list_replicas); persona_id picks a persona, which brings its default replica (see list_personas). "
            "No default is configured (the server's operator can set TAVUS_DEFAULT_REPLICA_ID or "
            "TAVUS_DEFAULT_PERSONA_ID)."
        ],
    ),
    (
        "a boolean where a number belongs",
        {"replica_id": R, "properties": {"max_call_duration": True}},
        ["- properties.max_call_duration: must be a whole number, not true"],
    ),
    ("a blank id", {"replica_id": "   "}, ["- replica_id: must not be empty or blank; leave the field out instead"]),
    (
        "a three-letter language code",
        {"replica_id": R, "properties": {"language": "eng"}},
        ["- properties.language: 'eng' is a language code; Tavus needs the full language name: use 'English'"],
    ),
    ("an empty id", {"replica_id": ""}, ["- replica_id: must not be empty or blank; leave the field out instead"]),
    (
        "several wrong types at once, one line each",
        {"replica_id": 5, "test_mode": "maybe", "memory_stores": "anna"},
        [
            "- replica_id: must be a string, got 5",
            "- memory_stores: must be a list of strings, such as [\"sales\"], got 'anna'",
            "- test_mode: must be true or false, got 'maybe'",
        ],
    ),
    (
        "properties that is not an object",
        {"replica_id": R, "properties": "long"},
        ["- properties: must be an object (fields: apply_greenscreen, aws_assume_role_arn, "],
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_rejected_before_anything_is_sent(
    mcp: Client, sandbox: Sandbox, arguments: dict[str, Any], expected: list[str]
) -> None:
    result = await mcp.call_tool("create_conversation", arguments)

    assert result.is_error
    assert result.structured_content is None
    lines = text_of(result).splitlines()
    assert lines[0] == HEADER
    for line in expected:
        assert any(actual.startswith(line) for actual in lines[1:]), (line, lines)
    assert len(lines) == 1 + len(expected)
    assert sandbox.emulator.received == []


async def test_the_server_keeps_serving_after_rejections(mcp: Client, sandbox: Sandbox) -> None:
    for _, arguments, _ in CASES:
        assert (await mcp.call_tool("create_conversation", arguments)).is_error
    result = await mcp.call_tool("create_conversation", {"replica_id": R})
    assert not result.is_error
    assert len(sandbox.creates()) == 1


async def test_neither_replica_nor_persona_error_names_the_defaults_when_empty(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(default_replica_id=None)) as mcp:
        result = await mcp.call_tool("create_conversation", {})
    assert result.is_error
    assert "replica_id, persona_id: give at least one" in text_of(result)
    assert sandbox.emulator.received == []


async def test_unknown_tool_is_an_error_not_a_crash(mcp: Client) -> None:
    result = await mcp.call_tool("create_conversations", {})
    assert result.is_error
    assert "create_conversations" in text_of(result)
