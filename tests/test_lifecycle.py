"""The rest of a conversation's life through the protocol, in memory and over stdio: find, inspect, end, review."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tests.conftest import TOOL_NAMES, Sandbox, text_of

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return text_of(result), result.structured_content


async def _error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert result.structured_content is None
    return text_of(result)


async def _create(client: Client, **arguments: Any) -> str:
    _, structured = await _ok(client, "create_conversation", {"replica_id": R, **arguments})
    conversation_id: str = structured["conversation_id"]
    return conversation_id


# Listing the tools


async def test_every_tool_has_title_description_annotations_and_output_schema(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool.title and tool.description and len(tool.description) > 80
        assert tool.annotations is not None and tool.annotations.open_world_hint is True
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.input_schema["additionalProperties"] is False
        assert "$defs" not in json.dumps(tool.input_schema) and "anyOf" not in json.dumps(tool.output_schema)
    hints = {
        name: (tool.annotations.read_only_hint, tool.annotations.destructive_hint, tool.annotations.idempotent_hint)
        for name, tool in tools.items()
        if tool.annotations is not None
    }
    # A read-only tool says only that: whether it is destructive or idempotent means nothing for it (MCP's spec).
    assert hints == {
        "create_conversation": (False, False, False),
        "get_conversation": (True, None, None),
        "wait_for_conversation": (True, None, None),
        "list_conversations": (True, None, None),
        "end_conversation": (False, True, True),
        "delete_conversation": (False, True, True),
        "list_replicas": (True, None, None),
        "list_personas": (True, None, None),
        "create_persona": (False, False, False),
        "get_persona": (True, None, None),
        "update_persona": (False, True, False),
        "delete_persona": (False, True, True),
        "create_document": (False, False, False),
        "get_document": (True, None, None),
        "list_documents": (True, None, None),
        "update_document": (False, True, True),
        "delete_document": (False, True, True),
        "wait_for_document": (True, None, None),
    }


async def test_instructions_teach_the_flow(client: Client) -> None:
    instructions = client.instructions or ""
    order = ["list_personas", "create_conversation", "test_mode", "join link", "end_conversation", "verbose: true"]
    positions = [instructions.find(word) for word in order]
    assert -1 not in positions and positions == sorted(positions), positions


# Replicas and personas


async def test_list_replicas(client: Client, sandbox: Sandbox) -> None:
    text, structured = await _ok(client, "list_replicas", {})
    assert text == (
        "4 replicas in all; page 1 of 1 shows 4:\n"
        "- rfe12d8b9597 Anna (phoenix-3, completed)\n"
        "- r79e1c033f Charlie (phoenix-4, completed)\n"
        "- r4c41453d2 Hassaan (phoenix-4, completed)\n"
        "- r9d30b0e55a Rose (phoenix-4, started (training 40/100; not usable yet))"
    )
    assert structured["page"] == 1 and structured["limit"] == 10 and structured["total_count"] == 4
    assert "next_page" not in structured
    assert [replica["replica_id"] for replica in structured["replicas"]] == [
        "rfe12d8b9597",
        "r79e1c033f",
        "r4c41453d2",
        "r9d30b0e55a",
    ]
    assert structured["replicas"][0]["training_progress"] == "100/100"
    assert [request.query for request in sandbox.requests_to("GET", "/v2/replicas")] == [{}]


async def test_list_replicas_filters_and_pages(client: Client, sandbox: Sandbox) -> None:
    text, structured = await _ok(client, "list_replicas", {"replica_type": "system", "verbose": True, "limit": 1})
    assert text == (
        "2 replicas in all; page 1 of 2 shows 1:\n"
        "- rfe12d8b9597 Anna (system, phoenix-3, completed)\n"
        'More on the next page: call list_replicas with {"limit": 1, "replica_type": "system", "verbose": true, '
        '"page": 2}.'
    )
    assert structured["next_page"] == 2
    text, _ = await _ok(client, "list_replicas", {"replica_type": "system", "verbose": True, "limit": 1, "page": 2})
    assert text == "2 replicas in all; page 2 of 2 shows 1:\n- r79e1c033f Charlie (system, phoenix-4, completed)"
    assert [request.query for request in sandbox.requests_to("GET", "/v2/replicas")] == [
        {"limit": "1", "replica_type": "system", "verbose": "true"},
        {"limit": "1", "page": "2", "replica_type": "system", "verbose": "true"},
    ]


async def test_list_replicas_by_ids_and_model(client: Client, sandbox: Sandbox) -> None:
    text, structured = await _ok(
        client, "list_replicas", {"replica_ids": "rfe12d8b9597, r79e1c033f,r4c41453d2", "model_name": "phoenix-4"}
    )
    assert text == (
        "2 replicas in all; page 1 of 1 shows 2:\n"
        "- r79e1c033f Charlie (phoenix-4, completed)\n"
        "- r4c41453d2 Hassaan (phoenix-4, completed)"
    )
    assert [replica["model_name"] for replica in structured["replicas"]] == ["phoenix-4", "phoenix-4"]
    assert [request.query for request in sandbox.requests_to("GET", "/v2/replicas")] == [
        {"replica_ids": "rfe12d8b9597,r79e1c033f,r4c41453d2", "model_name": "phoenix-4"}
    ]


async def test_list_personas_redacts_third_party_keys(client: Client, sandbox: Sandbox) -> None:
    result = await client.call_tool("list_personas", {"persona_type": "user"})
    assert not result.is_error
    assert text_of(result) == (
        "1 persona in all; page 1 of 1 shows 1:\n- p9a95912 Sales Coach (default replica rfe12d8b9597)"
    )
    assert result.structured_content is not None
    (persona,) = result.structured_content["personas"]
    assert persona["layers"] == {
        "llm": {"model": "tavus-gpt-4o", "api_key": "[redacted]"},
        "tts": {"tts_engine": "cartesia", "api_key": "[redacted]", "external_voice_id": "v1"},
        "perception": {"perception_model": "raven-1"},
    }
    everything = result.model_dump_json()
    assert "sk-sandbox-llm-secret-0001" not in everything and "sandbox-tts-secret-0002" not in everything
    assert [request.query for request in sandbox.requests_to("GET", "/v2/personas")] == [{"persona_type": "user"}]


async def test_list_personas_says_which_need_a_replica(client: Client) -> None:
    text, _ = await _ok(client, "list_personas", {})
    assert "- pdced222244b Interviewer (no default replica: give a replica_id too)" in text.splitlines()


# Conversations


async def test_get_conversation(client: Client, sandbox: Sandbox) -> None:
    conversation_id = await _create(client, conversation_name="Pitch")
    stored = sandbox.emulator.conversations[conversation_id]
    text, structured = await _ok(client, "get_conversation", {"conversation_id": conversation_id})
    assert text == (
        f"Conversation {conversation_id}: name 'Pitch', status active, replica {R}.\n"
        f"Link: {stored['conversation_url']}\n"
        f"Created {stored['created_at']}, updated {stored['updated_at']}.\n"
        "For the transcript and events, call get_conversation again with verbose: true."
    )
    assert structured["conversation_id"] == conversation_id and structured["status"] == "active"
    assert "events" not in structured and "transcript" not in structured
    assert sandbox.requests_to("GET", f"/v2/conversations/{conversation_id}")[0].query == {}


async def test_transcript_of_an_ended_call_as_readable_turns(client: Client, sandbox: Sandbox) -> None:
    conversation_id = await _create(client)
    sandbox.emulator.set_transcript(
        conversation_id,
        [
            {"role": "system", "content": "You are a skeptical buyer."},
            {"role": "assistant", "content": "Hi! Your offer looks expensive."},
            {"role": "user", "content": "It pays for itself\nin three months."},
            {"role": "assistant", "content": "Show me the numbers."},
        ],
    )
    await _ok(client, "end_conversation", {"conversation_id": conversation_id})
    text, structured = await _ok(client, "get_conversation", {"conversation_id": conversation_id, "verbose": True})
    assert text.splitlines()[-6:] == [
        f"Created {sandbox.emulator.conversations[conversation_id]['created_at']}, updated "
        f"{sandbox.emulator.conversations[conversation_id]['updated_at']}.",
        "Shut down: end_conversation_endpoint_hit.",
        "Transcript (3 turns; the system prompt is left out):",
        "Replica: Hi! Your offer looks expensive.",
        "Participant: It pays for itself in three months.",
        "Replica: Show me the numbers.",
    ]
    assert structured["transcript"][0] == {"role": "system", "content": "You are a skeptical buyer."}
    assert [event["event_type"] for event in structured["events"]] == [
        "application.transcription_ready",
        "system.shutdown",
    ]
    assert sandbox.requests_to("GET", f"/v2/conversations/{conversation_id}")[0].query == {"verbose": "true"}


async def test_verbose_before_the_transcript_exists(client: Client) -> None:
    conversation_id = await _create(client)
    text, structured = await _ok(client, "get_conversation", {"conversation_id": conversation_id, "verbose": True})
    assert text.endswith(
        "No transcript yet: Tavus sends it after the call ends and has been processed. End the call first, or wait "
        "for it to end."
    )
    assert structured["events"] == [] and "transcript" not in structured


async def test_unknown_conversation_names_the_id(client: Client) -> None:
    for tool in ("get_conversation", "end_conversation", "delete_conversation"):
        text = await _error(client, tool, {"conversation_id": "c0000000"})
        assert text == (
            "conversation c0000000: Tavus does not know this id (HTTP 400: Invalid conversation_id). It may be "
            "mistyped or deleted: find the right id with list_conversations."
        )


async def test_an_id_can_never_reach_another_endpoint(client: Client, sandbox: Sandbox) -> None:
    for bad in ("../replicas", "c1/end", "c1?hard=true", "c 1"):
        text = await _error(client, "end_conversation", {"conversation_id": bad})
        assert f"- conversation_id: {bad!r} is not a conversation id" in text
    assert sandbox.emulator.received == []


async def test_list_conversations_by_status(client: Client, sandbox: Sandbox) -> None:
    active = await _create(client, conversation_name="Live")
    ended = await _create(client, conversation_name="Trial", test_mode=True)
    text, structured = await _ok(client, "list_conversations", {"status": "active"})
    created = sandbox.emulator.conversations[active]["created_at"]
    assert text == f"1 active conversation in all; page 1 of 1 shows 1:\n- {active} active 'Live' created {created}"
    assert [c["conversation_id"] for c in structured["conversations"]] == [active]
    _, everything = await _ok(client, "list_conversations", {})
    assert {c["conversation_id"] for c in everything["conversations"]} == {active, ended}
    assert [r.query for r in sandbox.requests_to("GET", "/v2/conversations")] == [{"status": "active"}, {}]


async def test_empty_list(client: Client) -> None:
    text, structured = await _ok(client, "list_conversations", {"status": "ended"})
    assert text == "No ended conversations."
    assert structured == {"page": 1, "limit": 10, "total_count": 0, "conversations": []}


async def test_end_conversation(client: Client, sandbox: Sandbox) -> None:
    conversation_id = await _create(client)
    text, structured = await _ok(client, "end_conversation", {"conversation_id": conversation_id})
    assert text.startswith(f"Ended conversation {conversation_id}: the replica leaves the call, billing stops")
    assert structured == {"conversation_id": conversation_id, "status": "ended"}
    assert sandbox.emulator.conversations[conversation_id]["status"] == "ended"
    assert len(sandbox.requests_to("POST", f"/v2/conversations/{conversation_id}/end")) == 1


async def test_soft_and_hard_delete(client: Client, sandbox: Sandbox) -> None:
    soft, hard = await _create(client, test_mode=True), await _create(client, test_mode=True)
    text, structured = await _ok(client, "delete_conversation", {"conversation_id": soft})
    assert (text, structured) == (f"Deleted conversation {soft}.", {"conversation_id": soft, "hard": False})
    text, structured = await _ok(client, "delete_conversation", {"conversation_id": hard, "hard": True})
    assert text == f"Deleted conversation {hard} irreversibly (hard delete): its data cannot be recovered."
    assert structured == {"conversation_id": hard, "hard": True}
    assert [r.query for r in sandbox.emulator.received if r.method == "DELETE"] == [{}, {"hard": "true"}]
    assert hard not in sandbox.emulator.conversations
    assert "Tavus does not know this id" in await _error(client, "get_conversation", {"conversation_id": soft})


async def test_concurrency_limit_names_the_active_conversations(client: Client, sandbox: Sandbox) -> None:
    sandbox.emulator.max_concurrent_conversations = 2
    first, second = await _create(client), await _create(client)
    text = await _error(client, "create_conversation", {"replica_id": R})
    assert text.startswith("Tavus refused: the account has reached its maximum number of concurrent conversations")
    assert text.endswith(
        f"Nothing was created. Active conversations: {second}, {first}. Ask the user which to end, then call "
        "end_conversation."
    )
    await _ok(client, "end_conversation", {"conversation_id": first})
    await _create(client)


@pytest.mark.parametrize(
    ("tool", "arguments", "line"),
    [
        ("list_conversations", {"limit": 0}, "- limit: must be at least 1, got 0"),
        ("list_conversations", {"limit": 2**31}, "- limit: must be at most 2147483647, got 2147483648"),
        ("list_conversations", {"status": "running"}, "- status: must be 'active' or 'ended'; got 'running'"),
        ("list_replicas", {"replica_type": "stock"}, "- replica_type: must be 'user' or 'system'; got 'stock'"),
        ("list_personas", {"page": 0}, "- page: must be at least 1, got 0"),
        ("get_conversation", {}, "- conversation_id: is required"),
        ("delete_conversation", {"conversation_id": "c1", "hard": "yes please"}, "- hard: must be true or false"),
        ("end_conversation", {"conversation_id": "c1", "force": True}, "- force: unknown field. Allowed here:"),
        ("list_replicas", {"replica_ids": "r1,,r2"}, "- replica_ids: 'r1,,r2' has an empty id; give ids separated"),
    ],
)
async def test_invalid_arguments_never_reach_tavus(
    client: Client, sandbox: Sandbox, tool: str, arguments: dict[str, Any], line: str
) -> None:
    text = await _error(client, tool, arguments)
    assert text.splitlines()[0] == (
        f"Invalid arguments for {tool}; nothing was sent to Tavus. Fix these and call it again:"
    )
    assert any(actual.startswith(line) for actual in text.splitlines()[1:]), text
    assert sandbox.emulator.received == []


# Prompts


async def test_prompts_are_listed(client: Client) -> None:
    prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
    assert list(prompts) == ["practice_call", "review_call"]
    practice = prompts["practice_call"].arguments or []
    assert [(a.name, a.required) for a in practice] == [
        ("scenario", True),
        ("language", False),
        ("replica_id", False),
        ("persona_id", False),
        ("material_url", False),
        ("document_id", False),
    ]
    review = prompts["review_call"].arguments or []
    assert [(a.name, a.required) for a in review] == [("conversation_id", True), ("goal", False)]


async def test_practice_call_prompt(client: Client) -> None:
    chosen = await client.get_prompt(
        "practice_call", {"scenario": "negotiating a raise", "language": "Spanish", "persona_id": "p9a95912"}
    )
    (message,) = chosen.messages
    assert message.role == "user"
    text = message.content.text if message.content.type == "text" else ""
    assert text.startswith("I want to practise this in a live video call with an AI replica: negotiating a raise\n")
    assert "Use persona_id 'p9a95912'." in text
    assert "properties: language 'Spanish', max_call_duration 900" in text
    assert "end_conversation" in text
    free = await client.get_prompt("practice_call", {"scenario": "a job interview"})
    free_text = free.messages[0].content.text if free.messages[0].content.type == "text" else ""
    assert "First call list_personas" in free_text and "language 'English'" in free_text


async def test_review_call_prompt(client: Client) -> None:
    review = await client.get_prompt("review_call", {"conversation_id": "c123456"})
    text = review.messages[0].content.text if review.messages[0].content.type == "text" else ""
    assert text.startswith("Review my Tavus practice call c123456.\n")
    assert "Call wait_for_conversation with conversation_id 'c123456':" in text
    assert "get_conversation with verbose: true" in text
