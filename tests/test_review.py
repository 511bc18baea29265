"""get_conversation gives a model what a review needs, through the protocol: the transcript with timing, why the call
shut down, the recording, the perception analysis; compact and size-bounded by default, everything with full: true,
and everything in the structured result either way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tavus_mcp.tools.review import MAX_TRANSCRIPT_CHARS
from tavus_mcp.tools.state import MAX_RESULT_CHARS
from tests.conftest import Sandbox, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"
STARTED = 1779475657.84


async def _created(mcp: Client, **arguments: Any) -> str:
    result = await mcp.call_tool("create_conversation", {"replica_id": R, **arguments})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    conversation_id: str = result.structured_content["conversation_id"]
    return conversation_id


async def _review(mcp: Client, conversation_id: str, **arguments: Any) -> tuple[list[str], dict[str, Any]]:
    result = await mcp.call_tool("get_conversation", {"conversation_id": conversation_id, "verbose": True, **arguments})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return text_of(result).splitlines(), result.structured_content


def _turn(role: str, content: str, at: float | None, duration: float = 2.0, **more: Any) -> dict[str, Any]:
    if at is None:
        return {"role": role, "content": content, **more}
    return {
        "role": role,
        "content": content,
        "timestamp": STARTED + at,
        "seconds_from_start": at,
        "duration": duration,
        **more,
    }


async def test_the_transcript_comes_with_timing_and_tool_turns(mcp: Client, sandbox: Sandbox) -> None:
    conversation_id = await _created(mcp)
    tool_answer = json.dumps({"price": 99, "notes": "x" * 400})
    turns = [
        _turn("system", "You are a skeptical buyer.", None),
        _turn("assistant", "Hi, welcome. What brought you here today?", 0.0, 2.15, inference_id="inf_abc123"),
        _turn("user", "Just  testing\nthe price.", 27.04, 1.84),
        _turn("tool", tool_answer, 61.5, 0.2),
        _turn("assistant", "It is 99 a month.", 3725.2, 1.5),
    ]
    sandbox.emulator.set_transcript(conversation_id, turns)

    lines, structured = await _review(mcp, conversation_id)

    assert lines[-6:] == [
        "Transcript (4 turns; the system prompt is left out):",
        "[0:00] Replica: Hi, welcome. What brought you here today?",
        "[0:27] Participant: Just testing the price.",
        f"[1:01] Tool: {tool_answer[:300]} [...]",
        "[1:02:05] Replica: It is 99 a month.",
        "Turns ending in [...] are shortened; full: true shows them whole.",
    ]
    # The structured result keeps every turn as Tavus sent it, timing, inference id and all.
    assert structured["transcript"] == turns


@pytest.mark.parametrize(
    ("event", "top_level", "reason"),
    [
        ({"reason": "participant_left_timeout"}, None, "participant_left_timeout"),
        ({"shutdown_reason": "max_call_duration reached"}, None, "max_call_duration reached"),
        ({}, "participant_absent_timeout reached", "participant_absent_timeout reached"),
    ],
    ids=["reason (the reference's example)", "shutdown_reason (the webhook page)", "on the conversation itself"],
)
async def test_the_shutdown_reason_is_read_from_either_key(
    mcp: Client, sandbox: Sandbox, event: dict[str, str], top_level: str | None, reason: str
) -> None:
    answer: dict[str, Any] = {
        "conversation_id": "c123456",
        "status": "ended",
        "events": [{"event_type": "system.shutdown", "timestamp": "2026-04-29T03:47:01Z", "properties": event}],
    }
    if top_level:
        answer["shutdown_reason"] = top_level
    path = "/v2/conversations/c123456"
    sandbox.faults.append(Fault(status=200, body=json.dumps(answer), content_type="application/json", path=path))

    lines, structured = await _review(mcp, "c123456")

    assert f"Shut down: {reason}." in lines
    assert structured["shutdown_reason"] == reason


async def test_a_recorded_call_with_perception_shows_both(mcp: Client, sandbox: Sandbox) -> None:
    storage = {
        "provider": "gcs",
        "bucket_name": "conversation-recordings",
        "project_id": "my-gcp-project",
        "workload_identity_provider": "projects/123456/locations/global/workloadIdentityPools/p/providers/w",
        "service_account_email": "writer@my-gcp-project.iam.gserviceaccount.com",
    }
    # The Sales Coach persona has Raven perception: Tavus analyses what it saw once the call ends.
    conversation_id = await _created(
        mcp, persona_id="p9a95912", properties={"enable_recording": True, "recording_storage": storage}
    )
    assert not (await mcp.call_tool("end_conversation", {"conversation_id": conversation_id})).is_error

    lines, structured = await _review(mcp, conversation_id)

    uri = f"gs://conversation-recordings/sandbox/{conversation_id}.mp4"
    assert lines[3:6] == [
        "Shut down: end_conversation_endpoint_hit.",
        f"Recording: {uri} (0 s).",
        "Perception analysis: (Sandbox: nobody joined, so there was nothing to see.)",
    ]
    assert structured["recording"] == {"storage_provider": "gcs", "storage_uri": uri, "duration": 0}
    assert structured["perception_analysis"] == "(Sandbox: nobody joined, so there was nothing to see.)"
    assert [event["event_type"] for event in structured["events"]] == [
        "system.shutdown",
        "application.transcription_ready",
        "application.recording_ready",
        "application.perception_analysis",
    ]


async def test_a_recording_named_by_bucket_and_key(mcp: Client, sandbox: Sandbox) -> None:
    conversation_id = await _created(mcp)
    sandbox.emulator.set_event(
        conversation_id,
        "application.recording_ready",
        {"bucket_name": "recordings", "s3_key": "c1/rec.mp4", "duration": 312.5},
    )
    lines, structured = await _review(mcp, conversation_id)
    assert "Recording: s3://recordings/c1/rec.mp4 (312.5 s)." in lines
    assert structured["recording"] == {"bucket_name": "recordings", "s3_key": "c1/rec.mp4", "duration": 312.5}


async def _a_long_call(
    mcp: Client, sandbox: Sandbox, *, turns: int, words: int, second: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """A conversation whose transcript has `turns` turns of about `words` words, ten seconds apart."""
    conversation_id = await _created(mcp)
    transcript = [
        _turn("user" if index % 2 else "assistant", f"Turn {index:03d}: " + "word " * words, index * 10.0)
        for index in range(turns)
    ]
    if second is not None:
        transcript[1] = _turn("user", second, 10.0)
    sandbox.emulator.set_transcript(conversation_id, transcript)
    return conversation_id, transcript


async def test_a_long_transcript_keeps_its_beginning_and_end_and_says_what_was_cut(
    mcp: Client, sandbox: Sandbox
) -> None:
    conversation_id, turns = await _a_long_call(mcp, sandbox, turns=400, words=30)

    lines, structured = await _review(mcp, conversation_id)
    text = "\n".join(lines)

    heading = lines.index("Transcript (400 turns; the system prompt is left out):")
    shown = lines[heading + 1 :]
    gap = next(line for line in shown if line.startswith("[..."))
    before, after = shown[: shown.index(gap)], shown[shown.index(gap) + 1 :]
    assert before[0].startswith("[0:00] Replica: Turn 000:") and after[-1].startswith(
        "[1:06:30] Participant: Turn 399:"
    )
    left_out = turns[len(before) : len(turns) - len(after)]
    characters = sum(len(turn["content"]) for turn in left_out)
    assert gap == (
        f"[... {len(left_out)} turns ({characters:,} characters, {_clock(left_out[0])} to {_clock(left_out[-1])}) "
        "left out here to keep this short. For every turn uncut, call get_conversation with full: true, or read "
        f"tavus://conversations/{conversation_id}/transcript.]"
    )
    assert len(before) > 40 and len(after) > 40
    assert len(text) < MAX_TRANSCRIPT_CHARS + 1000
    assert structured["transcript"] == turns

    lines, _ = await _review(mcp, conversation_id, full=True)
    assert lines[lines.index("Transcript (400 turns):") + 1 : lines.index("Events (1):")] == [
        f"[{_clock(turn)}] {'Participant' if turn['role'] == 'user' else 'Replica'}: {turn['content'].strip()}"
        for turn in turns
    ]


async def test_a_huge_transcript_is_carried_once_and_bounded_in_the_structured_result(
    mcp: Client, sandbox: Sandbox
) -> None:
    # 7.6 MB of turns (Tavus's answer is read up to 8 MiB): the structured result carried it twice (16 MB), in
    # `transcript` and in the event that brought it.
    # One turn of half the bound, cut to a quarter.
    conversation_id, turns = await _a_long_call(
        mcp, sandbox, turns=4000, words=380, second="x" * (MAX_RESULT_CHARS // 2)
    )
    cut = [turns[0], {**turns[1], "content": "x" * (MAX_RESULT_CHARS // 4) + " [...]"}, *turns[2:]]
    arguments = {"conversation_id": conversation_id}

    results = [
        await mcp.call_tool("get_conversation", {**arguments, "verbose": True}),
        await mcp.call_tool("get_conversation", {**arguments, "full": True}),
        await mcp.call_tool("wait_for_conversation", arguments),
    ]

    for result in results:
        assert not result.is_error, text_of(result)
        structured = result.structured_content
        assert structured is not None
        shown = structured["transcript"]
        assert sum(len(turn["content"]) for turn in shown) <= MAX_RESULT_CHARS
        assert len(json.dumps(structured)) < 2 * MAX_RESULT_CHARS
        # The beginning and the end, as Tavus sent them but for the long turn, and how many turns are between.
        assert shown[1] == cut[1]
        head = next(index for index, turn in enumerate(shown) if turn != cut[index])
        assert head > 10 and shown[head:] == cut[len(cut) - len(shown) + head :]
        assert structured["transcript_left_out"] == len(turns) - len(shown)
        for event in structured.get("events", []):
            assert "transcript" not in (event.get("properties") or {})
    ready = next(
        e for e in results[0].structured_content["events"] if e["event_type"] == "application.transcription_ready"
    )
    assert ready["properties"] == {}
    # The output schemas say what the bound is and where every turn is.
    schemas = {tool.name: tool.output_schema for tool in (await mcp.list_tools()).tools}
    for tool in ("get_conversation", "wait_for_conversation"):
        schema = schemas[tool]
        assert schema is not None
        left_out = schema["properties"]["transcript_left_out"]
        assert "tavus://conversations/{conversation_id}/transcript" in left_out["description"]


def _clock(turn: dict[str, Any]) -> str:
    seconds = int(turn["seconds_from_start"])
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


async def test_full_shows_everything_and_is_never_sent_to_tavus(mcp: Client, sandbox: Sandbox) -> None:
    conversation_id = await _created(mcp)
    analysis = "The participant smiled. " * 200
    sandbox.emulator.set_transcript(conversation_id, [_turn("system", "Be brief.", None), _turn("user", "Hi", 1.0)])
    sandbox.emulator.set_event(conversation_id, "application.perception_analysis", {"analysis": analysis})
    sandbox.emulator.set_event(conversation_id, "system.replica_joined", None)

    compact, _ = await _review(mcp, conversation_id)
    full, structured = await _review(mcp, conversation_id, full=True, verbose=None)

    assert compact[3] == f"Perception analysis: {' '.join(analysis.split())[:2000]} [...]"
    assert full[3] == f"Perception analysis: {analysis.strip()}"
    events = sandbox.emulator.conversations[conversation_id]["events"]
    assert full[4:] == [
        "Transcript (2 turns):",
        "System: Be brief.",
        "[0:01] Participant: Hi",
        "Events (3):",
        f"- {events[0]['timestamp']} application.transcription_ready",
        f"- {events[1]['timestamp']} application.perception_analysis: "
        + json.dumps({"analysis": analysis}, ensure_ascii=False),
        f"- {events[2]['timestamp']} system.replica_joined",
    ]
    assert structured["perception_analysis"] == analysis.strip()
    # full is the server's own: Tavus is asked for verbose, and nothing else.
    path = f"/v2/conversations/{conversation_id}"
    assert [seen.query for seen in sandbox.requests_to("GET", path)] == [{"verbose": "true"}] * 2


async def test_a_timing_of_another_type_is_kept_not_fatal(mcp: Client, sandbox: Sandbox) -> None:
    conversation_id = await _created(mcp)
    sandbox.emulator.set_transcript(
        conversation_id, [{"role": "user", "content": "Hi", "seconds_from_start": "12.5", "duration": True}]
    )
    lines, structured = await _review(mcp, conversation_id)
    assert lines[-1] == "Participant: Hi"
    assert structured["transcript"] == [
        {"role": "user", "content": "Hi", "raw_seconds_from_start": "12.5", "raw_duration": True}
    ]
