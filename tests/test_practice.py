"""The practice loop around the tools, through the protocol: the prompts that set up a call (creating a persona when
none fits) and review it against its goal, a call's transcript as a resource a person attaches to a chat, and
completions of the ids the prompts and the resource take, from the account, most recent first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, PromptReference, ResourceTemplateReference, TextResourceContents

from tavus_mcp.models.languages import SUPPORTED_LANGUAGES
from tavus_mcp.prompts import MAX_COMPLETIONS, TRANSCRIPT_TEMPLATE
from tests.conftest import Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

REPLICA = "rfe12d8b9597"
PRACTICE = PromptReference(type="ref/prompt", name="practice_call")
REVIEW = PromptReference(type="ref/prompt", name="review_call")
TRANSCRIPT = ResourceTemplateReference(type="ref/resource", uri=TRANSCRIPT_TEMPLATE)
STARTED = 1779475657.84


def _prompt_text(result: Any) -> str:
    (message,) = result.messages
    assert message.role == "user" and message.content.type == "text"
    text: str = message.content.text
    return text


async def _conversation(mcp: Client, **arguments: Any) -> str:
    result = await mcp.call_tool("create_conversation", {"replica_id": REPLICA, **arguments})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    conversation_id: str = result.structured_content["conversation_id"]
    return conversation_id


# The prompts


async def test_practice_call_creates_a_fitting_persona_when_the_account_has_none(client: Client) -> None:
    text = _prompt_text(await client.get_prompt("practice_call", {"scenario": "asking for a raise"}))

    assert text.splitlines()[2] == (
        "First call list_personas and pick the persona that best fits the scenario (with list_replicas if it has no "
        "default replica; prefer a replica whose status is 'completed'). If none of the account's own personas "
        "(persona_type 'user') fits, create one with create_persona: a persona_name for the role; a system_prompt "
        "written from the scenario (who the replica plays, their situation, manner and aims, to push back as a real "
        "counterpart would, to stay in character, and to speak in short turns); and a default_replica_id from "
        "list_replicas whose status is 'completed'. Then use its persona_id."
    )
    assert text.endswith(
        "When I say I am done, end the conversation with end_conversation, and offer to review the call against "
        "what I wanted to practise (the review_call prompt)."
    )
    chosen = _prompt_text(await client.get_prompt("practice_call", {"scenario": "x", "persona_id": "p9a95912"}))
    assert "create_persona" not in chosen and "Use persona_id 'p9a95912'." in chosen


async def test_review_call_reviews_against_the_goal_quoting_timed_moments(client: Client) -> None:
    text = _prompt_text(
        await client.get_prompt("review_call", {"conversation_id": "c123456", "goal": "stay calm under objections"})
    )

    assert text.splitlines()[:2] == [
        "Review my Tavus practice call c123456.",
        "What I was practising: stay calm under objections.",
    ]
    assert (
        "Call wait_for_conversation with conversation_id 'c123456': it returns the timed transcript, why the call "
        "ended and any perception analysis once Tavus has processed the call (at once if it already has)."
    ) in text
    assert (
        "- what I did well and what to improve, each point quoting the moment it refers to with its time from the "
        'transcript, such as "[1:42] Participant: ...", and for each improvement what I could have said instead;'
    ) in text
    assert (
        "- if there is a perception analysis, what it says about how I came across (attention, tone, body language), "
        "tied to moments of the transcript;"
    ) in text
    assert text.endswith("Quote only what the transcript says: never invent a moment.")

    without = _prompt_text(await client.get_prompt("review_call", {"conversation_id": "c123456"}))
    assert without.splitlines()[1] == (
        "I have not said what I was practising: take it from the conversation's name and the role the replica played, "
        "and say what you assumed."
    )


# The transcript as a resource


async def test_the_transcript_template_is_listed(client: Client) -> None:
    [template] = (await client.list_resource_templates()).resource_templates

    assert template.uri_template == "tavus://conversations/{conversation_id}/transcript"
    assert (template.name, template.title, template.mime_type) == ("transcript", "Call transcript", "text/plain")


async def test_a_finished_calls_transcript_reads_as_timed_turns(client: Client, sandbox: Sandbox) -> None:
    conversation_id = await _conversation(client, conversation_name="Raise practice")
    await client.call_tool("end_conversation", {"conversation_id": conversation_id})
    long_turn = "I have taken on the team's hiring, " * 100
    sandbox.emulator.set_transcript(
        conversation_id,
        [
            {"role": "system", "content": "You are a manager who dislikes raises."},
            {"role": "assistant", "content": "So, what did you want to talk about?", "seconds_from_start": 1.2},
            {"role": "user", "content": long_turn, "seconds_from_start": 64.0, "timestamp": STARTED + 64},
            {"role": "assistant", "content": "Let me think  about\nit.", "seconds_from_start": 3725.5},
        ],
    )
    uri = f"tavus://conversations/{conversation_id}/transcript"

    result = await client.read_resource(uri)

    [content] = result.contents
    assert isinstance(content, TextResourceContents)
    assert (str(content.uri), content.mime_type) == (uri, "text/plain")
    assert content.text == (
        f"Transcript of Tavus conversation {conversation_id} (Raise practice): 3 turns, times from the start of the "
        "call; it shut down: end_conversation_endpoint_hit.\n"
        "\n"
        "[0:01] Replica: So, what did you want to talk about?\n"
        f"[1:04] Participant: {long_turn.strip()}\n"
        "[1:02:05] Replica: Let me think about it.\n"
    )


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        (
            "unknown",
            INVALID_PARAMS,
            "conversation cnope: Tavus does not know this id (HTTP 400: Invalid conversation_id). It may be mistyped "
            "or deleted: find the right id with list_conversations.",
        ),
        (
            "not an id",
            INVALID_PARAMS,
            "'c 1' is not a conversation id: ids are letters, digits, '-' and '_', such as 'c123456'. Copy it from "
            "create_conversation's or list_conversations' result",
        ),
        ("test mode", -32603, "Conversation {id} ended without a call (test mode): it has no transcript."),
        (
            "active",
            -32603,
            "Conversation {id} has no transcript yet: Tavus sends it once the call has ended and been processed. The "
            "call is still in progress.",
        ),
        (
            "tavus down",
            -32603,
            "conversation {id}: Tavus failed with HTTP 503 (Service Unavailable). Try again shortly.",
        ),
    ],
)
async def test_a_transcript_that_cannot_be_read_is_a_clear_error(
    mcp: Client, sandbox: Sandbox, case: str, code: int, message: str
) -> None:
    conversation_id = {"unknown": "cnope", "not an id": "c%201"}.get(case) or await _conversation(
        mcp, test_mode=case == "test mode"
    )
    if case == "tavus down":
        sandbox.faults.append(Fault(status=503, method="GET", path="/v2/conversations/", times=10))

    with pytest.raises(MCPError) as raised:
        await mcp.read_resource(f"tavus://conversations/{conversation_id}/transcript")

    assert raised.value.error.code == code
    assert raised.value.error.message == message.format(id=conversation_id)
    if case == "not an id":
        assert sandbox.emulator.received == []


# Completions


async def test_the_server_offers_completions(client: Client) -> None:
    assert client.server_capabilities is not None and client.server_capabilities.completions is not None


async def _values(mcp: Client, ref: Any, name: str, typed: str = "") -> tuple[list[str], int | None, bool | None]:
    completion = (await mcp.complete(ref, {"name": name, "value": typed})).completion
    return completion.values, completion.total, completion.has_more


async def test_conversation_ids_complete_most_recent_first(client: Client, sandbox: Sandbox) -> None:
    ids = [await _conversation(client, test_mode=True) for _ in range(3)]
    # Created within the same millisecond or not, their times say which is the most recent.
    for number, conversation_id in enumerate(ids):
        sandbox.emulator.conversations[conversation_id]["created_at"] = f"2026-01-0{number + 1}T10:00:00.000Z"

    for ref in (REVIEW, TRANSCRIPT):
        assert await _values(client, ref, "conversation_id") == (ids[::-1], 3, False)
    assert await _values(client, REVIEW, "conversation_id", ids[1][:-1]) == ([ids[1]], 1, False)
    assert await _values(client, REVIEW, "conversation_id", "zz") == ([], 0, False)
    assert [seen.query for seen in sandbox.requests_to("GET", "/v2/conversations")][-1] == {"limit": "100"}


async def test_persona_and_replica_ids_complete_from_the_account(mcp: Client, sandbox: Sandbox) -> None:
    created = await mcp.call_tool("create_persona", {"system_prompt": "You are a tough negotiator."})
    assert created.structured_content is not None
    persona_id = created.structured_content["persona_id"]

    # The new persona first, then the stock ones (all created at the same time, in Tavus's order).
    assert await _values(mcp, PRACTICE, "persona_id") == (
        [persona_id, "p9a95912", "pdced222244b", "p5317866"],
        4,
        False,
    )
    # The emulator's ids are random: the new persona matches "P9" too one time in sixteen.
    matching = [identifier for identifier in (persona_id, "p9a95912") if identifier.startswith("p9")]
    assert await _values(mcp, PRACTICE, "persona_id", "P9") == (matching, len(matching), False)
    # Only replicas ready to use: r9d30b0e55a is still training.
    assert await _values(mcp, PRACTICE, "replica_id", "r") == (["rfe12d8b9597", "r79e1c033f", "r4c41453d2"], 3, False)
    assert await _values(mcp, PRACTICE, "language", "ger") == (["German"], 1, False)
    assert await _values(mcp, PRACTICE, "language", "") == (
        [*SUPPORTED_LANGUAGES, "multilingual"][:MAX_COMPLETIONS],
        len(SUPPORTED_LANGUAGES) + 1,
        True,
    )
    # Nothing for arguments that take no id, and nothing asked of Tavus for them.
    before = len(sandbox.emulator.received)
    assert await _values(mcp, PRACTICE, "scenario", "a") == ([], None, None)
    assert await _values(mcp, REVIEW, "goal") == ([], None, None)
    assert len(sandbox.emulator.received) == before


async def test_a_long_list_is_cut_to_the_most_recent(mcp: Client, sandbox: Sandbox) -> None:
    ids = [await _conversation(mcp, test_mode=True) for _ in range(MAX_COMPLETIONS + 5)]
    for number, conversation_id in enumerate(ids):
        sandbox.emulator.conversations[conversation_id]["created_at"] = f"2026-01-01T10:{number:02d}:00.000Z"

    values, total, more = await _values(mcp, REVIEW, "conversation_id")

    assert (values, total, more) == (ids[::-1][:MAX_COMPLETIONS], MAX_COMPLETIONS + 5, True)


@pytest.mark.parametrize("fault", ["error", "html", "too slow"])
async def test_completions_are_empty_when_tavus_cannot_answer_in_time(sandbox: Sandbox, fault: str) -> None:
    faults = {
        "error": Fault(status=500, times=10),
        "html": Fault(status=200, body="<html>maintenance</html>", times=10),
        "too slow": Fault(status=200, body=json.dumps({"data": []}), delay=5, times=10),
    }
    sandbox.faults.append(faults[fault])
    async with connect(sandbox.settings(timeout=0.5, max_retries=0)) as mcp:
        assert await _values(mcp, PRACTICE, "persona_id") == ([], 0, False)
        assert await _values(mcp, TRANSCRIPT, "conversation_id") == ([], 0, False)
