"""wait_for_conversation through the protocol: a whole call followed to its transcript, with the progress the client
receives; the wait's bound; test mode; cancellation. The emulator plays each call through in a second or two.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tavus_mcp.config import DEFAULT_KEEPALIVE, Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import Sandbox, connect, text_of

pytestmark = pytest.mark.anyio

REPLICA = "rfe12d8b9597"
ARGUMENTS: dict[str, Any] = {
    "replica_id": REPLICA,
    "conversation_name": "Pricing practice",
    "conversational_context": "You are a skeptical buyer who thinks the product is too expensive.",
    "custom_greeting": "Honestly, your offer looks expensive. Convince me.",
}
WAITING = "Waiting for the call to start: the replica has not joined yet."
IN_PROGRESS = "In progress: the replica has joined the call."
ENDED = "The call has ended; waiting for Tavus to process the transcript."
READY = "The call has ended and its transcript is ready."
STATES = [WAITING, IN_PROGRESS, ENDED, READY]
POLL = 0.05  # seconds between polls in these tests
CALL_SECONDS = 1.5  # how long the emulator's scripted call takes, from creation to transcript


@dataclass
class Progress:
    """The progress notifications a client received for one call."""

    seen: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))

    @property
    def messages(self) -> list[str | None]:
        return [message for _, _, message in self.seen]


async def _create(client: Client) -> str:
    created = await client.call_tool("create_conversation", ARGUMENTS)
    assert not created.is_error, text_of(created)
    assert created.structured_content is not None
    conversation_id: str = created.structured_content["conversation_id"]
    return conversation_id


def _in_order(messages: list[str | None]) -> bool:
    """Each state at most once, in the order a call goes through them (a slow poll may skip one)."""
    positions = [STATES.index(message) for message in messages if message in STATES]
    return len(positions) == len(messages) and positions == sorted(set(positions))


async def test_a_whole_call_waited_on_to_its_transcript(sandbox: Sandbox) -> None:
    sandbox.emulator.call_seconds = CALL_SECONDS
    progress = Progress()
    async with connect(sandbox.settings(poll_interval=POLL)) as client:
        conversation_id = await _create(client)
        path = f"/v2/conversations/{conversation_id}"
        started = anyio.current_time()
        result = await client.call_tool(
            "wait_for_conversation", {"conversation_id": conversation_id}, progress_callback=progress
        )
        waited = anyio.current_time() - started

    assert not result.is_error, text_of(result)
    structured = result.structured_content
    assert structured is not None
    assert structured["call_state"] == "transcript_ready" and structured["finished"] is True
    assert structured["status"] == "ended"
    assert 0 < structured["duration_seconds"] <= CALL_SECONDS
    assert 0 < structured["waited_seconds"] <= waited
    # The scripted exchange is built from the conversation's context, with Tavus's timing fields.
    stored = sandbox.emulator.conversations[conversation_id]
    [ready] = [e for e in stored["events"] if e["event_type"] == "application.transcription_ready"]
    turns = ready["properties"]["transcript"]
    assert [turn["role"] for turn in turns] == ["system", "assistant", "user", "assistant", "user", "assistant"]
    assert turns[1]["content"] == ARGUMENTS["custom_greeting"]
    assert ARGUMENTS["conversational_context"] in turns[3]["content"]
    assert all({"timestamp", "seconds_from_start", "duration"} <= set(turn) for turn in turns[1:])
    assert [turn["seconds_from_start"] for turn in turns[1:]] == sorted(
        turn["seconds_from_start"] for turn in turns[1:]
    )
    assert [turn["content"] for turn in structured["transcript"]] == [turn["content"] for turn in turns]
    events = [event["event_type"] for event in stored["events"]]
    assert events == ["system.replica_joined", "system.shutdown", "application.transcription_ready"]

    text = text_of(result)
    assert text.startswith(f"{READY} (Waited ")
    assert "The call lasted 0:00." in text
    assert f"Conversation {conversation_id}: name 'Pricing practice', status ended" in text
    assert "Shut down: participant_left_timeout reached." in text
    assert f"Replica: {ARGUMENTS['custom_greeting']}" in text

    # The client heard the call go through its states, each once and in order, ending with the transcript.
    assert progress.messages[-1] == READY
    assert _in_order(progress.messages), progress.messages
    values = [value for value, _, _ in progress.seen]
    assert values == sorted(set(values))  # each above the last, as MCP requires
    assert all(total == 180 for _, total, _ in progress.seen)

    # Every request was a verbose GET of this conversation, never more often than the poll interval allows.
    gets = sandbox.requests_to("GET", path)
    assert gets and all(request.query == {"verbose": "true"} for request in gets)
    assert len(gets) <= waited / POLL + 2


async def test_the_embedded_sandbox_plays_the_call_through() -> None:
    """What `mcp-server-tavus --sandbox` and the demo do: no key, no network, the whole loop in seconds."""
    settings = Settings(sandbox=True, sandbox_call_seconds=1.0, poll_interval=POLL).validated()
    progress = Progress()
    async with connect(settings) as client:
        conversation_id = await _create(client)
        result = await client.call_tool(
            "wait_for_conversation", {"conversation_id": conversation_id}, progress_callback=progress
        )
        ended = await client.call_tool("list_conversations", {"status": "ended"})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None and result.structured_content["finished"] is True
    assert progress.messages[-1] == READY and _in_order(progress.messages)
    assert conversation_id in text_of(ended)


async def test_at_the_bound_it_says_where_the_call_stands(sandbox: Sandbox) -> None:
    # The emulator's calls stay active here: nobody ends this one.
    progress = Progress()
    async with connect(sandbox.settings(poll_interval=0.2)) as client:
        conversation_id = await _create(client)
        result = await client.call_tool(
            "wait_for_conversation",
            {"conversation_id": conversation_id, "max_wait_seconds": 1},
            progress_callback=progress,
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["call_state"] == "waiting"
    assert result.structured_content["finished"] is False
    assert result.structured_content["status"] == "active"
    lines = text_of(result).splitlines()
    assert lines[0].startswith(f"{WAITING} (Waited ")
    assert lines[1] == f"Conversation {conversation_id}: name 'Pricing practice', status active, replica {REPLICA}."
    assert lines[2] == (
        "This wait's limit (1 s) was reached while the call is still active: it is billed until it ends. Ask the "
        "user how it is going; call wait_for_conversation again once they say the call is done, or "
        "end_conversation to stop it."
    )
    assert progress.messages == [WAITING]  # one notification: the state never changed (the heartbeat is 10 s)
    assert DEFAULT_KEEPALIVE == 10
    assert all(total == 1 for _, total, _ in progress.seen)


async def test_an_ended_call_whose_transcript_is_late(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(poll_interval=0.2)) as client:
        conversation_id = await _create(client)
        stored = sandbox.emulator.conversations[conversation_id]
        stored["status"] = "ended"
        stored["events"] = [
            {"event_type": "system.replica_joined", "timestamp": "2026-01-01T10:00:00.000Z", "properties": {}},
            {
                "event_type": "system.shutdown",
                "timestamp": "2026-01-01T10:03:12.500Z",
                "properties": {"shutdown_reason": "max_call_duration reached"},
            },
        ]
        result = await client.call_tool(
            "wait_for_conversation", {"conversation_id": conversation_id, "max_wait_seconds": 1}
        )
    assert result.structured_content is not None
    assert result.structured_content["call_state"] == "ended" and result.structured_content["finished"] is False
    assert result.structured_content["duration_seconds"] == 192.5
    lines = text_of(result).splitlines()
    assert lines[0].startswith(f"{ENDED} (Waited ")
    assert lines[1] == "The call lasted 3:12."
    assert lines[3] == (
        "Tavus has not sent the transcript within this wait's 1 s. Call wait_for_conversation again in a few "
        "minutes, or get_conversation with verbose: true."
    )


async def test_a_test_mode_conversation_has_nothing_to_wait_for(sandbox: Sandbox) -> None:
    sandbox.emulator.call_seconds = CALL_SECONDS
    async with connect(sandbox.settings(poll_interval=POLL)) as client:
        created = await client.call_tool("create_conversation", {**ARGUMENTS, "test_mode": True})
        assert created.structured_content is not None
        conversation_id = created.structured_content["conversation_id"]
        result = await client.call_tool("wait_for_conversation", {"conversation_id": conversation_id})
    assert result.structured_content is not None
    assert result.structured_content["call_state"] == "no_call" and result.structured_content["finished"] is True
    assert text_of(result).startswith("The conversation ended without a call (test mode): no transcript will come.")
    # Seen ended without a call twice (events may lag the status), then no more requests.
    assert len(sandbox.requests_to("GET", f"/v2/conversations/{conversation_id}")) == 2


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"conversation_id": "c1", "max_wait_seconds": 0}, "max_wait_seconds"),
        ({"conversation_id": "c1", "max_wait_seconds": 901}, "max_wait_seconds"),
        ({"conversation_id": "c1", "max_wait_seconds": True}, "max_wait_seconds"),
        ({"conversation_id": "c1/../x"}, "conversation_id"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    mcp: Client, sandbox: Sandbox, arguments: dict[str, Any], problem: str
) -> None:
    result = await mcp.call_tool("wait_for_conversation", arguments)
    assert result.is_error
    assert problem in text_of(result)
    assert sandbox.injector.seen == []


async def test_an_unknown_conversation_is_said_so(mcp: Client) -> None:
    result = await mcp.call_tool("wait_for_conversation", {"conversation_id": "c000000000"})
    assert result.is_error
    assert "Tavus does not know this id" in text_of(result)


@pytest.mark.stdio
async def test_a_cancelled_wait_stops_asking_tavus(sandbox: Sandbox) -> None:
    """Over stdio: the client gives up on the call (notifications/cancelled) and the server stops polling."""
    env = {
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": sandbox.base_url,
        "TAVUS_POLL_INTERVAL": "0.05",
        "TAVUS_LOG_LEVEL": "WARNING",
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "tavus_mcp"], env=env)
    async with Client(server, read_timeout_seconds=30) as client:
        conversation_id = await _create(client)
        path = f"/v2/conversations/{conversation_id}"
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "wait_for_conversation", {"conversation_id": conversation_id})
                # The emulator counts requests on its own thread: there is no event to wait on.
                while len(sandbox.requests_to("GET", path)) < 3:  # noqa: ASYNC110
                    await anyio.sleep(0.02)
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught, "the wait never polled"
        # Let a poll already under way land, then check that no more come.
        await anyio.sleep(0.5)
        polled = len(sandbox.requests_to("GET", path))
        await anyio.sleep(1.0)
        assert len(sandbox.requests_to("GET", path)) == polled
        # The server is still there for the next call.
        listed = await client.call_tool("list_conversations", {})
        assert not listed.is_error
