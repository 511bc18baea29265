"""wait_for_conversation: follow a call until its transcript is ready (or the wait's bound), reporting each change
as progress, and say where it stands.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tavus_mcp.client import sleep_unless_stopping, stopping
from tavus_mcp.errors import TavusConnectionError
from tavus_mcp.models.conversations import (
    DEFAULT_WAIT_SECONDS,
    ConversationDetails,
    GetConversationRequest,
    Recording,
    TranscriptTurn,
    WaitForConversationRequest,
)
from tavus_mcp.tools.review import (
    LEFT_OUT_DESCRIPTION,
    TRANSCRIPT_DESCRIPTION,
    _clock,
    _details,
    conversation_report,
)
from tavus_mcp.tools.state import AppState, ToolFailure, ToolOutput, _dump


class CallOutcome(BaseModel):
    """What wait_for_conversation returns: where the call stands, and what get_conversation tells of how it went."""

    conversation_id: str
    status: str | None = None
    call_state: str = Field(
        description="'waiting', 'in_progress', 'ended' (no transcript yet), 'transcript_ready' or 'no_call' (test "
        "mode)."
    )
    finished: bool = Field(description="Nothing more to wait for.")
    waited_seconds: float
    duration_seconds: float | None = Field(None, description="From the replica joining to the shutdown.")
    shutdown_reason: str | None = None
    transcript: list[TranscriptTurn] | None = Field(None, description=TRANSCRIPT_DESCRIPTION)
    transcript_left_out: int | None = Field(None, description=LEFT_OUT_DESCRIPTION)
    recording: Recording | None = None
    perception_analysis: str | None = None


# What a wait cut short by the server's graceful stop answers: the call goes on, and so can the wait, elsewhere.
STOPPING_TEXT = (
    "the server is stopping; call wait_for_conversation again (the call itself goes on: this only ended the wait)"
)


_STATE_NOTES = {
    "waiting": "Waiting for the call to start: the replica has not joined yet.",
    "in_progress": "In progress: the replica has joined the call.",
    "ended": "The call has ended; waiting for Tavus to process the transcript.",
    "transcript_ready": "The call has ended and its transcript is ready.",
    "no_call": "The conversation ended without a call (test mode): no transcript will come.",
}


def call_state(details: ConversationDetails) -> str:
    """Where a call stands, from its status and events (see CallOutcome.call_state)."""
    kinds = {event.event_type for event in details.events or []}
    if "application.transcription_ready" in kinds:
        return "transcript_ready"
    if details.status == "ended" or "system.shutdown" in kinds:
        return "ended" if kinds & {"system.replica_joined", "system.shutdown"} else "no_call"
    return "in_progress" if "system.replica_joined" in kinds else "waiting"


async def wait_for_conversation(state: AppState, request: WaitForConversationRequest) -> ToolOutput:
    """Follow a call until its transcript is ready or the wait's bound, reporting each change as progress, and
    at least every `keepalive` seconds while nothing changes: clients see the wait is alive, and over HTTP the
    answer's event stream carries something before any proxy's read timeout ends it."""
    bound = request.max_wait_seconds or DEFAULT_WAIT_SECONDS
    interval = state.settings.poll_seconds
    heartbeat = state.settings.keepalive
    verbose = GetConversationRequest(conversation_id=request.conversation_id, verbose=True)
    started = time.monotonic()
    previous: str | None = None
    reported = -math.inf
    progress = 0.0
    quiet_ends = 0
    while True:
        try:
            details = await state.tavus.get_conversation(verbose)
        except TavusConnectionError:
            if stopping():
                raise ToolFailure(STOPPING_TEXT) from None
            raise
        now = call_state(details)
        waited = time.monotonic() - started
        if now != previous or waited - reported >= heartbeat:
            # MCP wants each notification's progress above the last one's.
            progress = max(round(waited, 3), progress + 0.001)
            await state.progress(progress, float(bound), _STATE_NOTES[now])
            reported = waited
        # An ended call whose events show none of a call is test mode; asked twice, in case events lag the status.
        quiet_ends = quiet_ends + 1 if now == "no_call" else 0
        finished = now == "transcript_ready" or quiet_ends >= 2
        if finished or waited >= bound:
            break
        previous = now
        # Asked again by the next heartbeat at the latest, which then carries the state as it is.
        if not await sleep_unless_stopping(min(interval, bound - waited, max(reported + heartbeat - waited, 0.0))):
            raise ToolFailure(STOPPING_TEXT)
    return _call_outcome(details, now, finished=finished, waited=waited, bound=bound, sandbox=state.settings.sandbox)


def _call_outcome(
    details: ConversationDetails, now: str, *, finished: bool, waited: float, bound: int, sandbox: bool
) -> ToolOutput:
    report = conversation_report(details, GetConversationRequest(conversation_id=details.conversation_id, verbose=True))
    duration = _call_seconds(details)
    # What get_conversation reports of how the call went, without the events it was read from.
    told = {key: report.structured.get(key) for key in CallOutcome.model_fields}
    outcome = CallOutcome.model_validate(
        {
            **told,
            "call_state": now,
            "finished": finished,
            "waited_seconds": round(waited, 1),
            "duration_seconds": round(duration, 1) if duration is not None else None,
        }
    )
    lines = [f"{_STATE_NOTES[now]} (Waited {waited:.0f} s.)"]
    if duration is not None:
        lines.append(f"The call lasted {_clock(duration)}.")
    if finished:
        lines.append(report.text)
    else:
        lines.append(f"Conversation {details.conversation_id}: {_details(details)}.")
        lines.append(_how_to_continue(now, bound, sandbox=sandbox))
    return ToolOutput("\n".join(lines), _dump(outcome))


def _how_to_continue(now: str, bound: int, *, sandbox: bool) -> str:
    if now == "ended":
        return (
            f"Tavus has not sent the transcript within this wait's {bound} s. Call wait_for_conversation again in a "
            "few minutes, or get_conversation with verbose: true."
        )
    if now == "no_call":
        return "Nothing more will happen to this conversation."
    return (
        f"This wait's limit ({bound} s) was reached while the call is still active: it "
        f"{'stays active' if sandbox else 'is billed'} until it ends. Ask the user how it is going; call "
        "wait_for_conversation again once they say the call is done, or end_conversation to stop it."
    )


def _call_seconds(details: ConversationDetails) -> float | None:
    """How long the call ran: from the replica joining to the shutdown, when both events carry a time."""
    times = {event.event_type: _instant(event.timestamp) for event in details.events or []}
    joined, ended = times.get("system.replica_joined"), times.get("system.shutdown")
    return max(0.0, ended - joined) if joined is not None and ended is not None else None


def _instant(value: Any) -> float | None:
    """A timestamp as Unix seconds: Tavus writes ISO 8601 in answers, Unix seconds in webhooks."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
