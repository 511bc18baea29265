"""How a conversation reads once it has happened: get_conversation's report (the transcript within its bounds,
events, recording, perception analysis) and the transcript as a person reads it.
"""

from __future__ import annotations

import json

from pydantic import Field

from tavus_mcp.models.conversations import (
    Conversation,
    ConversationDetails,
    ConversationEvent,
    GetConversationRequest,
    Recording,
    TranscriptTurn,
)
from tavus_mcp.tools.state import MAX_RESULT_CHARS, ToolOutput, _dump

# get_conversation's text, unless `full` is asked for: a transcript turn longer than MAX_TURN_CHARS (a tool's
# answer longer than MAX_TOOL_TURN_CHARS) is shortened, and a transcript longer than MAX_TRANSCRIPT_CHARS shows its
# beginning and its end. The structured result carries the transcript once, bounded as any text is: every turn
# up to MAX_RESULT_CHARS of them, else the beginning and the end (a turn past MAX_STRUCTURED_TURN_CHARS cut).
MAX_TURN_CHARS = 2000
MAX_STRUCTURED_TURN_CHARS = MAX_RESULT_CHARS // 4


MAX_TOOL_TURN_CHARS = 300


MAX_TRANSCRIPT_CHARS = 16_000


MAX_ANALYSIS_CHARS = 2000


TRANSCRIPT_DESCRIPTION = "All turns; past 100,000 characters, its start and end."
LEFT_OUT_DESCRIPTION = "Turns left out; tavus://conversations/{conversation_id}/transcript has all."


class ConversationReport(ConversationDetails):
    """What get_conversation returns: the conversation, and with verbose its events and what they tell."""

    transcript: list[TranscriptTurn] | None = Field(None, description=TRANSCRIPT_DESCRIPTION)
    transcript_left_out: int | None = Field(None, description=LEFT_OUT_DESCRIPTION)
    shutdown_reason: str | None = None
    recording: Recording | None = None
    perception_analysis: str | None = None


def _details(conversation: Conversation) -> str:
    details = [f"status {conversation.status or 'unknown'}"]
    if conversation.conversation_name:
        details.insert(0, f"name {conversation.conversation_name!r}")
    if conversation.replica_id:
        details.append(f"replica {conversation.replica_id}")
    if conversation.persona_id:
        details.append(f"persona {conversation.persona_id}")
    return ", ".join(details)


def conversation_report(details: ConversationDetails, request: GetConversationRequest) -> ToolOutput:
    """What get_conversation says about a conversation Tavus described (`request.full` implies verbose)."""
    full = request.full is True
    transcript = details.transcript_turns()
    reason = details.find_shutdown_reason()
    recording = details.find_recording()
    analysis = details.find_perception_analysis()
    # The structured result has what the text leaves out, within a bound, and the transcript once: not also in
    # the event that brought it.
    shown, left_out = bounded_transcript(transcript) if transcript is not None else (None, 0)
    dumped = details.model_dump()
    for event in dumped.get("events") or []:
        if event.get("event_type") == "application.transcription_ready" and event.get("properties"):
            event["properties"] = {key: value for key, value in event["properties"].items() if key != "transcript"}
    report = ConversationReport.model_validate(
        {
            **dumped,
            "transcript": shown,
            "transcript_left_out": left_out or None,
            "shutdown_reason": reason,
            "recording": recording,
            "perception_analysis": analysis,
        }
    )
    lines = [f"Conversation {details.conversation_id}: {_details(details)}."]
    if details.conversation_url:
        lines.append(f"Link: {details.conversation_url}")
    if details.created_at:
        lines.append(
            f"Created {details.created_at}" + (f", updated {details.updated_at}." if details.updated_at else ".")
        )
    if not request.verbose:
        lines.append("For the transcript and events, call get_conversation again with verbose: true.")
        return ToolOutput("\n".join(lines), _dump(report))
    if reason:
        lines.append(f"Shut down: {reason}.")
    if recording:
        length = f" ({recording.duration:g} s)" if recording.duration is not None else ""
        lines.append(f"Recording: {recording.location()}{length}.")
    if analysis:
        lines.append("Perception analysis: " + (analysis if full else _cut(analysis, MAX_ANALYSIS_CHARS)))
    if transcript is None:
        lines.append(
            "No transcript yet: Tavus sends it after the call ends and has been processed. "
            + ("End the call first, or wait for it to end." if details.status == "active" else "Try again later.")
        )
    elif full:
        lines.append(f"Transcript ({len(transcript)} turns):")
        lines.extend(_turn_line(turn, limit=None) for turn in transcript)
    else:
        lines.extend(_compact_transcript(transcript, details.conversation_id))
    if full:
        lines.append(f"Events ({len(details.events or [])}):")
        lines.extend(_event_line(event) for event in details.events or [])
    return ToolOutput("\n".join(lines), _dump(report))


def _compact_transcript(transcript: list[TranscriptTurn], conversation_id: str) -> list[str]:
    """The spoken turns within MAX_TRANSCRIPT_CHARS: the beginning and the end, saying what was left out."""
    spoken = [turn for turn in transcript if turn.role != "system"]
    turns = [_turn_line(turn, limit=MAX_TOOL_TURN_CHARS if turn.role == "tool" else MAX_TURN_CHARS) for turn in spoken]
    heading = f"Transcript ({len(spoken)} turns; the system prompt is left out):"
    shortened = any(line.endswith(_CUT_MARK) for line in turns)
    if sum(len(line) + 1 for line in turns) <= MAX_TRANSCRIPT_CHARS:
        notes = [f"Turns ending in {_CUT_MARK} are shortened; full: true shows them whole."] if shortened else []
        return [heading, *turns, *notes]
    # Half the room for how the call began, half for how it ended: a review needs both.
    head = _within(turns, MAX_TRANSCRIPT_CHARS // 2)
    tail = len(turns) - _within(turns[::-1], MAX_TRANSCRIPT_CHARS // 2)
    left_out = spoken[head:tail]
    span = ""
    if left_out[0].seconds_from_start is not None and left_out[-1].seconds_from_start is not None:
        span = f", {_clock(left_out[0].seconds_from_start)} to {_clock(left_out[-1].seconds_from_start)}"
    omitted = sum(len(turn.content) for turn in left_out)
    gap = (
        f"[... {len(left_out)} turns ({omitted:,} characters{span}) left out here to keep this short. For every turn "
        f"uncut, call get_conversation with full: true, or read tavus://conversations/{conversation_id}/transcript.]"
    )
    return [heading, *turns[:head], gap, *turns[tail:]]


def bounded_transcript(transcript: list[TranscriptTurn]) -> tuple[list[TranscriptTurn], int]:
    """The turns within MAX_RESULT_CHARS characters: all of them, or (each cut to MAX_STRUCTURED_TURN_CHARS) the
    beginning and the end; and how many turns are left out between."""
    if sum(len(turn.content) for turn in transcript) <= MAX_RESULT_CHARS:
        return transcript, 0
    turns = [
        turn.model_copy(update={"content": f"{turn.content[:MAX_STRUCTURED_TURN_CHARS]} {_CUT_MARK}"})
        if len(turn.content) > MAX_STRUCTURED_TURN_CHARS
        else turn
        for turn in transcript
    ]
    contents = [turn.content for turn in turns]
    if sum(len(content) for content in contents) <= MAX_RESULT_CHARS:
        return turns, 0
    head = _within(contents, MAX_RESULT_CHARS // 2)
    tail = len(turns) - _within(contents[::-1], MAX_RESULT_CHARS // 2)
    return [*turns[:head], *turns[tail:]], tail - head


def _within(lines: list[str], budget: int) -> int:
    """How many of the lines, from the first, fit in `budget` characters."""
    used = 0
    for count, line in enumerate(lines):
        used += len(line) + 1
        if used > budget:
            return count
    return len(lines)


_CUT_MARK = "[...]"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]} {_CUT_MARK}"


def transcript_text(details: ConversationDetails) -> str | None:
    """A finished call's transcript as a person reads it: every spoken turn, uncut, with its time; None before Tavus
    has processed the call."""
    transcript = details.transcript_turns()
    if transcript is None:
        return None
    spoken = [turn for turn in transcript if turn.role != "system"]
    name = f" ({details.conversation_name})" if details.conversation_name else ""
    reason = details.find_shutdown_reason()
    lines = [
        f"Transcript of Tavus conversation {details.conversation_id}{name}: {len(spoken)} turns, times from the start "
        "of the call" + (f"; it shut down: {reason}." if reason else "."),
        "",
        *(_turn_line(turn, limit=None) for turn in spoken),
    ]
    return "\n".join(lines) + "\n"


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _turn_line(turn: TranscriptTurn, *, limit: int | None) -> str:
    speaker = {"user": "Participant", "assistant": "Replica"}.get(turn.role, turn.role.capitalize())
    content = " ".join(turn.content.split()) if limit is None else _cut(turn.content, limit)
    when = f"[{_clock(turn.seconds_from_start)}] " if turn.seconds_from_start is not None else ""
    return f"{when}{speaker}: {content}"


def _event_line(event: ConversationEvent) -> str:
    line = f"- {event.timestamp or '?'} {event.event_type}"
    properties = event.properties or {}
    if event.event_type == "application.transcription_ready":
        properties = {key: value for key, value in properties.items() if key != "transcript"}
    if properties:
        line += ": " + json.dumps(properties, ensure_ascii=False, default=str)
    return line
