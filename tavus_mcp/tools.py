"""What each tool does and what it says: handlers over the Tavus client, their texts and structured results.

Pure of MCP: a handler takes the shared state and its validated arguments and returns a `ToolOutput`, or raises
`ToolFailure` (or lets a `TavusError` through, which `tavus_mcp.advice` turns into text). The server wraps
these as MCP tools.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
from pydantic import BaseModel, Field, WithJsonSchema

from tavus_mcp.advice import STARTS_CALL, describe_tavus_error
from tavus_mcp.arguments import invalid_arguments_text
from tavus_mcp.client import TavusClient, sleep_unless_stopping, stopping
from tavus_mcp.config import Settings
from tavus_mcp.errors import ConcurrencyLimitError, TavusAPIError, TavusConnectionError, TavusError
from tavus_mcp.models import (
    DEFAULT_WAIT_SECONDS,
    Conversation,
    ConversationDetails,
    ConversationEvent,
    CreateConversationRequest,
    CreatePersonaRequest,
    DeleteConversationRequest,
    DeletePersonaRequest,
    EndConversationRequest,
    GetConversationRequest,
    GetPersonaRequest,
    ListConversationsRequest,
    ListPersonasRequest,
    ListReplicasRequest,
    Persona,
    Recording,
    Replica,
    TranscriptTurn,
    UpdatePersonaRequest,
    WaitForConversationRequest,
)
from tavus_mcp.redaction import REDACTED, Scrubber, redact_secrets, url_secrets
from tavus_mcp.users import User

DEFAULT_PAGE_LIMIT = 10  # Tavus's default page size
# get_conversation's text, unless `full` is asked for: a transcript turn longer than MAX_TURN_CHARS (a tool's
# answer longer than MAX_TOOL_TURN_CHARS) is shortened, and a transcript longer than MAX_TRANSCRIPT_CHARS shows its
# beginning and its end. The structured result always carries everything.
MAX_TURN_CHARS = 2000
# Any tool's text, whatever it asked for (see ToolOutput.bounded_text).
MAX_RESULT_CHARS = 100_000
MAX_TOOL_TURN_CHARS = 300
MAX_TRANSCRIPT_CHARS = 16_000
MAX_ANALYSIS_CHARS = 2000


# How a tool tells the client how far it has got: (progress, total, message), as MCP's progress notifications.
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def _no_progress(progress: float, total: float | None = None, message: str | None = None) -> None:
    return None


@dataclass(frozen=True)
class AppState:
    """What every tool call shares: the settings and the one Tavus client; per call, the user making it (on a
    team server with a users file), whose key the call's view of the client sends, and where it reports progress."""

    settings: Settings
    tavus: TavusClient
    user: User | None = None
    progress: Progress = _no_progress


@dataclass(frozen=True)
class ToolOutput:
    text: str
    structured: dict[str, Any]

    def bounded_text(self) -> str:
        """The text, cut at MAX_RESULT_CHARS: a page of thousands of items, or a `full` transcript of hours, would
        otherwise fill a model's context. The structured result keeps everything."""
        if len(self.text) <= MAX_RESULT_CHARS:
            return self.text
        cut = self.text.rfind("\n", 0, MAX_RESULT_CHARS)
        kept = self.text[: cut if cut > 0 else MAX_RESULT_CHARS]
        return (
            f"{kept}\n[... {len(self.text) - len(kept):,} more characters cut: this text stops at "
            f"{MAX_RESULT_CHARS:,} characters. The structured result has everything; or ask for less, such as a "
            "smaller limit.]"
        )


class ToolFailure(Exception):
    """A failure whose message is already written for the model."""


# Confirmation: what the user is asked before a tool spends money or destroys data


@dataclass(frozen=True)
class Confirmation:
    """A question for the user (an MCP form elicitation) before the tool runs, and what follows from the answer."""

    #: What the user reads: what is about to happen and what it costs.
    message: str
    #: The form's fields (a model with primitive fields only, as elicitation allows).
    form: type[BaseModel]
    #: What the tool was about to do, for the text the model reads when the user says no.
    action: str
    #: What the model may do instead, for the same text.
    instead: str
    #: The arguments to run with once the user has accepted the form.
    accepted: Callable[[BaseModel], BaseModel]

    def refused(self, answer: str) -> str:
        """The text for the model when the user did not confirm: declined, cancelled, or an unreadable answer."""
        how = {
            "decline": "declined",
            "cancel": "closed the question without answering",
        }.get(answer, "gave an answer this server could not read")
        return (
            f"Not done: asked to confirm ({self.action}), the user {how}, so nothing was sent to Tavus. {self.instead}"
        )


#: Tavus's max_call_duration when a call sets none (NOTES.md).
TAVUS_DEFAULT_CALL_SECONDS = 3600

_START_CHOICES = [
    {"const": "billed", "title": "Start the billed call"},
    {"const": "test_mode", "title": "Use test mode instead: no charge, no replica joins"},
]


class StartCallForm(BaseModel):
    """The form before a billed call: start it, or create it in test mode instead."""

    start: Annotated[
        Literal["billed", "test_mode"],
        WithJsonSchema({"type": "string", "title": "How to start", "oneOf": _START_CHOICES, "default": "billed"}),
    ] = "billed"


class ConfirmForm(BaseModel):
    """A form with nothing to fill in: accepting it is the confirmation."""


def confirm_create(state: AppState, request: CreateConversationRequest) -> Confirmation | None:
    """Before a billed call: what will be billed, and test mode as the alternative. None for calls that cost nothing."""
    request = _with_defaults(request, state.settings)
    # As it would be sent: forced test mode and the cap on call length apply (a call over the cap is refused now).
    body = _apply_guardrails(request.to_body(), state.settings, state.user)
    if body.get("test_mode") is True or state.settings.sandbox:
        return None
    who = " and ".join(
        f"{kind} {value}" for kind, value in (("replica", request.replica_id), ("persona", request.persona_id)) if value
    )
    asked = (body.get("properties") or {}).get("max_call_duration")
    limit = (
        f"It lasts at most {asked} seconds (max_call_duration)."
        if asked is not None
        else f"No max_call_duration was set: Tavus ends it after {TAVUS_DEFAULT_CALL_SECONDS} seconds at most."
    )
    message = (
        f"Start a billed Tavus video call with {who}? {limit} Billing runs from now until the call ends (at that "
        "limit, when everyone has left, or when it is ended). Or create it in test mode: no charge, and no replica "
        "joins."
    )

    def accepted(form: BaseModel) -> BaseModel:
        chosen = form.start if isinstance(form, StartCallForm) else "billed"
        return request.model_copy(update={"test_mode": True}) if chosen == "test_mode" else request

    return Confirmation(
        message=message,
        form=StartCallForm,
        action=f"start a billed call with {who}",
        instead=(
            "No conversation exists. Do not try again unless the user asks; create_conversation with test_mode: "
            "true tries the setup without charge."
        ),
        accepted=accepted,
    )


def confirm_delete_persona(state: AppState, request: DeletePersonaRequest) -> Confirmation | None:
    """Before deleting a persona: Tavus keeps no copy, so it is always asked about."""
    return Confirmation(
        message=(
            f"Delete persona {request.persona_id} irreversibly? Its prompt and settings are gone for good, and new "
            "conversations can no longer use it."
        ),
        form=ConfirmForm,
        action=f"delete persona {request.persona_id}",
        instead="The persona is unchanged. Do not try again unless the user asks.",
        accepted=lambda _: request,
    )


def confirm_delete(state: AppState, request: DeleteConversationRequest) -> Confirmation | None:
    """Before a hard delete, which cannot be undone; a soft delete is not asked about."""
    if request.hard is not True:
        return None
    return Confirmation(
        message=(
            f"Delete conversation {request.conversation_id} irreversibly? Its record, transcript and everything "
            "Tavus holds about it are gone for good (a hard delete)."
        ),
        form=ConfirmForm,
        action=f"delete conversation {request.conversation_id} irreversibly",
        instead="The conversation is unchanged. Do not try again unless the user asks.",
        accepted=lambda _: request,
    )


# Output shapes (each tool's outputSchema)


class CreatedConversation(Conversation):
    """What create_conversation returns: Tavus's answer, plus the link to open."""

    join_url: str = Field(
        description="The link a participant opens: conversation_url, with ?t=<meeting_token> when the room is private."
    )
    notes: list[str] = Field(
        description="What to tell the user besides the link: a private link, test mode, the sandbox, billing."
    )
    test_mode: bool = Field(description="Created in test mode: no replica joins, nothing is charged.")
    billed: bool = Field(description="The call is billed, and holds a concurrency slot, until it ends.")
    sandbox: bool = Field(description="Created in this server's embedded emulator: nobody will join.")


class ConversationReport(ConversationDetails):
    """What get_conversation returns: the conversation, and with verbose its events and what they tell."""

    transcript: list[TranscriptTurn] | None = Field(None, description="Every turn, once Tavus has processed the call.")
    shutdown_reason: str | None = None
    recording: Recording | None = None
    perception_analysis: str | None = None


class CallOutcome(BaseModel):
    """What wait_for_conversation returns: where the call stands, and what get_conversation tells of how it went."""

    conversation_id: str
    status: str | None = None
    call_state: str = Field(
        description="'waiting' (the replica has not joined), 'in_progress', 'ended' (no transcript yet), "
        "'transcript_ready' or 'no_call' (test mode)."
    )
    finished: bool = Field(description="Nothing more to wait for.")
    waited_seconds: float
    duration_seconds: float | None = Field(None, description="From the replica joining to the shutdown.")
    shutdown_reason: str | None = None
    transcript: list[TranscriptTurn] | None = None
    recording: Recording | None = None
    perception_analysis: str | None = None


class PageInfo(BaseModel):
    page: int
    limit: int
    total_count: int | None = None
    next_page: int | None = Field(None, description="Absent on the last page.")


class ConversationList(PageInfo):
    conversations: list[Conversation] = Field(description="Newest first.")


class ReplicaList(PageInfo):
    replicas: list[Replica]


class PersonaList(PageInfo):
    personas: list[Persona]


class ConversationEnded(BaseModel):
    conversation_id: str
    status: str


class ConversationDeleted(BaseModel):
    conversation_id: str
    hard: bool


class CreatedPersona(BaseModel):
    """What create_persona returns: Tavus's answer (redacted, like any persona)."""

    persona_id: str
    persona_name: str | None = None
    created_at: str | None = None


class PersonaUpdated(BaseModel):
    persona_id: str
    changed: bool = Field(description="false: Tavus made no change (HTTP 304).")


class PersonaDeleted(BaseModel):
    persona_id: str


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


# create_conversation


def _with_defaults(request: CreateConversationRequest, settings: Settings) -> CreateConversationRequest:
    """The server's default replica or persona for a request naming neither; refused if there is none."""
    if request.replica_id is None and request.persona_id is None:
        request = request.model_copy(
            update={"replica_id": settings.default_replica_id, "persona_id": settings.default_persona_id}
        )
    if request.replica_id is None and request.persona_id is None:
        raise ToolFailure(
            invalid_arguments_text(
                "create_conversation",
                [
                    "replica_id, persona_id: give at least one. replica_id picks the replica (face and voice) who "
                    "joins (see list_replicas); persona_id picks a persona, which brings its default replica (see "
                    "list_personas). No default is configured (the server's operator can set "
                    "TAVUS_DEFAULT_REPLICA_ID or TAVUS_DEFAULT_PERSONA_ID)."
                ],
            )
        )
    return request


async def create_conversation(state: AppState, request: CreateConversationRequest) -> ToolOutput:
    settings = state.settings
    request = _with_defaults(request, settings)
    # The operator's guardrails come last, on the very body sent: nothing let through can undo them.
    body = _apply_guardrails(request.to_body(), settings, state.user)
    started = time.monotonic()
    try:
        conversation = await state.tavus.create_conversation(body)
    except ConcurrencyLimitError as exc:
        # Only within what is left of the call's time budget, and not counted in the call's own log line.
        remaining = settings.timeout - (time.monotonic() - started)
        raise ToolFailure(
            describe_tavus_error(exc, effect=STARTS_CALL, settings=settings)
            + await _active_conversations_hint(state.tavus, remaining)
        ) from None
    join_url = conversation.link_with_token() or ""
    test_mode = body.get("test_mode") is True
    billed = _billed(conversation, settings)
    notes = _created_notes(conversation, test_mode=test_mode, billed=billed, settings=settings, user=state.user)
    notes += _deprecation_notes(request)
    billing = _billing_note(conversation) if billed else None

    # The notes travel in the structured result too: some frameworks hand a model only structuredContent.
    structured = {
        **_dump(conversation),
        "join_url": join_url,
        "notes": [*notes, billing] if billing else notes,
        "test_mode": test_mode,
        "billed": billed,
        "sandbox": settings.sandbox,
    }
    lines = [f"Join the video call: {join_url}" if join_url else "Tavus returned no join URL for this conversation."]
    lines.extend(notes)
    # Tavus's answer to create no longer names the replica and persona: the request does.
    who = conversation.model_copy(
        update={
            "replica_id": conversation.replica_id or request.replica_id,
            "persona_id": conversation.persona_id or request.persona_id,
        }
    )
    lines.append(f"Conversation id: {conversation.conversation_id} ({_details(who)}).")
    if billing:
        lines.append(billing)
    return ToolOutput("\n".join(lines), structured)


def _apply_guardrails(body: dict[str, Any], settings: Settings, user: User | None = None) -> dict[str, Any]:
    """The operator's limits on the body to send, the server's and the calling user's (the stricter wins): forced
    test mode, a cap on max_call_duration (given to calls without one)."""
    body = dict(body)
    if settings.force_test_mode or (user is not None and user.test_mode):
        body["test_mode"] = True
    cap, source = settings.max_call_duration, "TAVUS_MAX_CALL_DURATION"
    if user is not None and user.max_call_duration is not None and (cap is None or user.max_call_duration < cap):
        cap, source = user.max_call_duration, f"max_call_duration of user {user.name}"
    if cap is not None:
        properties = dict(body.get("properties") or {})
        asked = properties.get("max_call_duration")
        if asked == 0 and not isinstance(asked, bool):
            # Tavus does not document 0; it may mean "no limit", which is exactly what the cap is there to prevent.
            raise ToolFailure(
                invalid_arguments_text(
                    "create_conversation",
                    [
                        f"properties.max_call_duration: 0 is not allowed under this server's cap of {cap} seconds "
                        f"({source}): Tavus does not say what 0 means, and it may mean no limit. "
                        f"Ask for 1 to {cap} seconds, or leave it out to get {cap}."
                    ],
                )
            )
        if isinstance(asked, int) and asked > cap:
            raise ToolFailure(
                invalid_arguments_text(
                    "create_conversation",
                    [
                        f"properties.max_call_duration: {asked} seconds is above this server's cap of {cap} seconds "
                        f"({source}). Ask for {cap} or less, or leave it out to get {cap}."
                    ],
                )
            )
        if asked is None:
            body["properties"] = {**properties, "max_call_duration": cap}
    return body


def _deprecation_notes(request: CreateConversationRequest) -> list[str]:
    deprecated = request.properties.deprecated_fields() if request.properties else []
    if not deprecated:
        return []
    return [
        f"Sent as asked, but Tavus has deprecated {', '.join(f'properties.{name}' for name in deprecated)}: next "
        "time use properties.recording_storage (provider 's3', bucket_name, bucket_region, assume_role_arn)."
    ]


async def _active_conversations_hint(tavus: TavusClient, seconds: float) -> str:
    """The ids of the active conversations, so the model can offer to end them; empty if they cannot be listed."""
    # Untraced: this lookup is not counted in the call's own log line.
    with anyio.move_on_after(seconds), contextlib.suppress(TavusError):
        page = await tavus.traced(None).list_conversations(ListConversationsRequest(status="active", limit=100))
        if page.data:
            ids = ", ".join(conversation.conversation_id for conversation in page.data)
            return f" Active conversations: {ids}. Ask the user which to end, then call end_conversation."
    return ""


def _created_notes(
    conversation: Conversation, *, test_mode: bool, billed: bool, settings: Settings, user: User | None = None
) -> list[str]:
    """What the user must know about a new conversation besides its link and its cost: privacy, test mode."""
    notes = []
    if conversation.meeting_token:
        notes.append(
            "This link is private: it carries a meeting token (?t=...). Share it only with the person who should join."
        )
    if test_mode and billed:
        # What the model is told about money follows what Tavus answered, not what was asked for.
        notes.append(
            "Test mode was asked for, but Tavus answered with status 'active': treat this as a live, billed call."
        )
    elif test_mode:
        notes.append(
            "Test mode: the conversation was created with status 'ended'. No replica will join and nobody should "
            "use the link; nothing was charged."
        )
    if test_mode and settings.force_test_mode:
        notes.append(
            "This server runs every conversation in test mode (TAVUS_TEST_MODE): real calls need its operator "
            "to turn that off."
        )
    elif test_mode and user is not None and user.test_mode:
        notes.append(
            f"This server runs every conversation of user {user.name} in test mode (test_mode in its users file): "
            "real calls need its operator to turn that off."
        )
    if settings.sandbox:
        notes.append(
            "Sandbox: this conversation exists only in the local Tavus emulator; nobody real joins and nothing is "
            "charged."
        )
    return notes


def _billing_note(conversation: Conversation) -> str:
    return (
        "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, "
        f"or end_conversation with conversation_id {conversation.conversation_id})."
    )


def _billed(conversation: Conversation, settings: Settings) -> bool:
    return conversation.status == "active" and not settings.sandbox


def _details(conversation: Conversation) -> str:
    details = [f"status {conversation.status or 'unknown'}"]
    if conversation.conversation_name:
        details.insert(0, f"name {conversation.conversation_name!r}")
    if conversation.replica_id:
        details.append(f"replica {conversation.replica_id}")
    if conversation.persona_id:
        details.append(f"persona {conversation.persona_id}")
    return ", ".join(details)


# get, list, end, delete


async def get_conversation(state: AppState, request: GetConversationRequest) -> ToolOutput:
    if request.full is True:
        request = request.model_copy(update={"verbose": True})
    return conversation_report(await state.tavus.get_conversation(request), request)


def conversation_report(details: ConversationDetails, request: GetConversationRequest) -> ToolOutput:
    """What get_conversation says about a conversation Tavus described (`request.full` implies verbose)."""
    full = request.full is True
    transcript = details.transcript_turns()
    reason = details.find_shutdown_reason()
    recording = details.find_recording()
    analysis = details.find_perception_analysis()
    # Everything goes into the structured result, whatever the text leaves out.
    report = ConversationReport.model_validate(
        {
            **details.model_dump(),
            "transcript": transcript,
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
        lines.extend(_compact_transcript(transcript))
    if full:
        lines.append(f"Events ({len(details.events or [])}):")
        lines.extend(_event_line(event) for event in details.events or [])
    return ToolOutput("\n".join(lines), _dump(report))


def _compact_transcript(transcript: list[TranscriptTurn]) -> list[str]:
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
        "uncut, call get_conversation with full: true; the structured result's transcript holds them all.]"
    )
    return [heading, *turns[:head], gap, *turns[tail:]]


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


# wait_for_conversation

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
    return _call_outcome(details, now, finished=finished, waited=waited, bound=bound)


def _call_outcome(details: ConversationDetails, now: str, *, finished: bool, waited: float, bound: int) -> ToolOutput:
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
        lines.append(_how_to_continue(now, bound))
    return ToolOutput("\n".join(lines), _dump(outcome))


def _how_to_continue(now: str, bound: int) -> str:
    if now == "ended":
        return (
            f"Tavus has not sent the transcript within this wait's {bound} s. Call wait_for_conversation again in a "
            "few minutes, or get_conversation with verbose: true."
        )
    if now == "no_call":
        return "Nothing more will happen to this conversation."
    return (
        f"This wait's limit ({bound} s) was reached while the call is still active: it is billed until it ends. Ask "
        "the user how it is going; call wait_for_conversation again once they say the call is done, or "
        "end_conversation to stop it."
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


async def list_conversations(state: AppState, request: ListConversationsRequest) -> ToolOutput:
    page = await state.tavus.list_conversations(request)
    info = _page_info(request.page, request.limit, page.total_count, len(page.data))
    structured = ConversationList(**info.model_dump(), conversations=page.data)
    what = {"active": "active conversations", "ended": "ended conversations"}.get(request.status or "", "conversations")
    lines = [_page_heading(what, info, len(page.data))]
    lines.extend(
        f"- {c.conversation_id} {c.status or '?'} {c.conversation_name or ''!r} created {c.created_at or '?'}"
        for c in page.data
    )
    lines.extend(_next_page_hint("list_conversations", request, info))
    return ToolOutput("\n".join(lines), _dump(structured))


async def end_conversation(state: AppState, request: EndConversationRequest) -> ToolOutput:
    await state.tavus.end_conversation(request)
    text = (
        f"Ended conversation {request.conversation_id}: the replica leaves the call, billing stops and its "
        "concurrency slot is free. Its transcript becomes available from get_conversation (verbose: true) once "
        "Tavus has processed the call."
    )
    return ToolOutput(text, _dump(ConversationEnded(conversation_id=request.conversation_id, status="ended")))


async def delete_conversation(state: AppState, request: DeleteConversationRequest) -> ToolOutput:
    hard = request.hard is True
    await state.tavus.delete_conversation(request)
    text = f"Deleted conversation {request.conversation_id}" + (
        " irreversibly (hard delete): its data cannot be recovered." if hard else "."
    )
    return ToolOutput(text, _dump(ConversationDeleted(conversation_id=request.conversation_id, hard=hard)))


# replicas and personas


async def list_replicas(state: AppState, request: ListReplicasRequest) -> ToolOutput:
    page = await state.tavus.list_replicas(request)
    info = _page_info(request.page, request.limit, page.total_count, len(page.data))
    lines = [_page_heading("replicas", info, len(page.data))]
    for replica in page.data:
        kind = "".join(f"{detail}, " for detail in (replica.replica_type, replica.model_name) if detail)
        ready = replica.status or "?"
        if replica.status and replica.status != "completed":
            ready += f" (training {replica.training_progress or '?'}; not usable yet)"
        lines.append(f"- {replica.replica_id} {replica.replica_name or '(no name)'} ({kind}{ready})")
    lines.extend(_next_page_hint("list_replicas", request, info))
    return ToolOutput("\n".join(lines), _dump(ReplicaList(**info.model_dump(), replicas=page.data)))


async def list_personas(state: AppState, request: ListPersonasRequest) -> ToolOutput:
    page = await state.tavus.list_personas(request)
    info = _page_info(request.page, request.limit, page.total_count, len(page.data))
    lines = [_page_heading("personas", info, len(page.data))]
    for persona in page.data:
        replica = (
            f"default replica {persona.default_replica_id}"
            if persona.default_replica_id
            else "no default replica: give a replica_id too"
        )
        lines.append(f"- {persona.persona_id} {persona.persona_name or '(no name)'} ({replica})")
    lines.extend(_next_page_hint("list_personas", request, info))
    return ToolOutput("\n".join(lines), _dump(PersonaList(**info.model_dump(), personas=page.data)))


async def create_persona(state: AppState, request: CreatePersonaRequest) -> ToolOutput:
    body = request.to_body()
    # Scrubbed in any encoding an answer can carry them in (tavus_mcp.redaction), as the API key is.
    scrub = Scrubber(_secrets_in(body))
    with _not_repeating(scrub):
        persona = await state.tavus.create_persona(body)
    name = persona.persona_name or request.persona_name
    replica = request.default_replica_id
    lines = [
        f"Created persona {persona.persona_id}" + (f" ({name!r})" if name else "") + ".",
        f"Start a call with it: create_conversation with persona_id {persona.persona_id!r}"
        + (f" (its default replica is {replica})." if replica else ", and a replica_id: it has no default replica."),
    ]
    return _hidden(ToolOutput("\n".join(lines), _dump(persona)), scrub)


async def get_persona(state: AppState, request: GetPersonaRequest) -> ToolOutput:
    persona = await state.tavus.get_persona(request)
    replica = (
        f"default replica {persona.default_replica_id}"
        if persona.default_replica_id
        else "no default replica: a call needs a replica_id too"
    )
    lines = [f"Persona {persona.persona_id} {persona.persona_name or '(no name)'!r}: {replica}."]
    if persona.created_at:
        updated = f", updated {persona.updated_at}." if persona.updated_at else "."
        lines.append(f"Created {persona.created_at}{updated}")
    if persona.system_prompt:
        lines.append(f"System prompt: {_cut(persona.system_prompt, MAX_TURN_CHARS)}")
    documents = [
        f"{kind} {', '.join(names)}"
        for kind, names in (("ids", persona.document_ids), ("tags", persona.document_tags))
        if names
    ]
    if documents:
        lines.append(f"Documents: {'; '.join(documents)}.")
    if persona.layers:
        layers = json.dumps(persona.layers, ensure_ascii=False, default=str)
        lines.append(f"Layers (credentials redacted): {_cut(layers, MAX_TURN_CHARS)}")
    lines.append("update_persona changes it by JSON Patch, with paths as shown here, such as /system_prompt.")
    return ToolOutput("\n".join(lines), _dump(persona))


async def update_persona(state: AppState, request: UpdatePersonaRequest) -> ToolOutput:
    scrub = Scrubber(_secrets_in(request.to_body()))
    with _not_repeating(scrub):
        changed = await state.tavus.update_persona(request)
    done = "; ".join(f"{operation.op} {operation.path}" for operation in request.operations)
    text = (
        f"Updated persona {request.persona_id}: {done}. get_persona shows it as it is now."
        if changed
        else f"Tavus made no change to persona {request.persona_id} (HTTP 304): it already was as the patch asks."
    )
    return _hidden(ToolOutput(text, _dump(PersonaUpdated(persona_id=request.persona_id, changed=changed))), scrub)


async def delete_persona(state: AppState, request: DeletePersonaRequest) -> ToolOutput:
    await state.tavus.delete_persona(request)
    text = f"Deleted persona {request.persona_id}: it cannot be recovered, and no new conversation can use it."
    return ToolOutput(text, _dump(PersonaDeleted(persona_id=request.persona_id)))


def _secrets_in(body: Any) -> list[str]:
    """The credentials a request carries (a provider key in layers, or as a patch's value at such a path): what
    redaction would remove, so that no answer or error repeats them."""
    if isinstance(body, list):  # a JSON Patch: the value's name is the last segment of its path
        body = [{str(op.get("path", "")).rsplit("/", 1)[-1]: op.get("value")} for op in body if isinstance(op, dict)]

    def removed(original: Any, redacted: Any) -> list[str]:
        if redacted == REDACTED and original != REDACTED:
            return [text for text in _strings(original) if text]
        if isinstance(original, str) and isinstance(redacted, str) and original != redacted:
            return [*_cut_out(original, redacted), *url_secrets(original)]  # a URL's password, also on its own
        if isinstance(original, dict) and isinstance(redacted, dict):
            return [found for key in original for found in removed(original[key], redacted.get(key))]
        if isinstance(original, list) and isinstance(redacted, list):
            return [found for pair in zip(original, redacted, strict=False) for found in removed(*pair)]
        return []

    return removed(body, redact_secrets(body))


def _cut_out(original: str, redacted: str) -> list[str]:
    """The parts of `original` that `redacted` replaced by '[redacted]' (a URL's password, a token in a prompt);
    all of it when they cannot be lined up."""
    kept = redacted.split(REDACTED)
    if not original.startswith(kept[0]):
        return [original]
    parts, at = [], len(kept[0])
    for index, piece in enumerate(kept[1:], start=1):
        end = len(original) - len(piece) if index == len(kept) - 1 else original.find(piece, at)
        if end < at or not original.startswith(piece, end):
            return [original]
        parts.append(original[at:end])
        at = end + len(piece)
    return [part for part in parts if part]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def _hidden(output: ToolOutput, scrub: Scrubber) -> ToolOutput:
    return ToolOutput(scrub(output.text), scrub.value(output.structured)) if scrub else output


@contextlib.contextmanager
def _not_repeating(scrub: Scrubber) -> Iterator[None]:
    """Tavus's error message (a 400 quoting the body, say) never repeats a credential the request carried."""
    try:
        yield
    except TavusAPIError as error:
        error.message = scrub(error.message)
        error.args = (error.message,)
        raise
    except TavusError as error:
        error.args = tuple(scrub(str(arg)) for arg in error.args)
        raise


# Completions: ids from the account, for prompt arguments and resource templates

# One page of each list is read: more than a person picks from, in one request.
COMPLETION_PAGE = 100


async def recent_ids(state: AppState, kind: Literal["conversation", "persona", "replica"], prefix: str) -> list[str]:
    """The ids of the account's conversations, personas or replicas (those ready to use) that start with `prefix`,
    most recent first; none when Tavus cannot be asked within the call's time budget."""
    rows: list[tuple[str, str]] = []
    with anyio.move_on_after(state.settings.timeout), contextlib.suppress(TavusError):
        if kind == "conversation":
            conversations = await state.tavus.list_conversations(ListConversationsRequest(limit=COMPLETION_PAGE))
            rows = [(item.conversation_id, item.created_at or "") for item in conversations.data]
        elif kind == "persona":
            personas = await state.tavus.list_personas(ListPersonasRequest(limit=COMPLETION_PAGE))
            rows = [(item.persona_id, item.created_at or "") for item in personas.data]
        else:
            replicas = await state.tavus.list_replicas(ListReplicasRequest(limit=COMPLETION_PAGE))
            rows = [(r.replica_id, r.created_at or "") for r in replicas.data if r.status in (None, "completed")]
    # ISO 8601 times sort as text; a stable sort keeps Tavus's order where they tie or are missing.
    rows.sort(key=lambda row: row[1], reverse=True)
    wanted = prefix.strip().casefold()
    return [identifier for identifier, _ in rows if identifier.casefold().startswith(wanted)]


# paging


def _page_info(page: int | None, limit: int | None, total: int | None, shown: int) -> PageInfo:
    page = page or 1
    limit = limit or DEFAULT_PAGE_LIMIT
    # Without a total, a full page means there may be more.
    has_next = page * limit < total if total is not None else shown == limit
    return PageInfo(page=page, limit=limit, total_count=total, next_page=page + 1 if has_next else None)


def _page_heading(what: str, info: PageInfo, shown: int) -> str:
    if shown == 0:
        if info.page == 1:
            return f"No {what}."
        total = f"there are {info.total_count} {what} in all" if info.total_count is not None else "no more"
        return f"Page {info.page} is past the end: {total}."
    if info.total_count is not None:
        pages = max(1, -(-info.total_count // info.limit))
        noun = what.removesuffix("s") if info.total_count == 1 else what
        return f"{info.total_count} {noun} in all; page {info.page} of {pages} shows {shown}:"
    return f"Page {info.page} shows {shown} {what}:"


def _next_page_hint(tool: str, request: BaseModel, info: PageInfo) -> list[str]:
    if info.next_page is None:
        return []
    given = {key: value for key, value in request.model_dump(exclude_none=True).items() if key != "page"}
    arguments = json.dumps({**given, "page": info.next_page})
    return [f"More on the next page: call {tool} with {arguments}."]
