"""What each tool does and what it says: handlers over the Tavus client, their texts and structured results.

Pure of MCP: a handler takes the shared state and its validated arguments and returns a `ToolOutput`, or raises
`ToolFailure` (or lets a `TavusError` through, which `tavus_mcp.advice` turns into text). The server wraps
these as MCP tools.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import BaseModel, Field

from tavus_mcp.advice import STARTS_CALL, describe_tavus_error
from tavus_mcp.arguments import invalid_arguments_text
from tavus_mcp.client import TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.errors import ConcurrencyLimitError, TavusError
from tavus_mcp.models import (
    Conversation,
    ConversationDetails,
    ConversationEvent,
    CreateConversationRequest,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
    ListPersonasRequest,
    ListReplicasRequest,
    Persona,
    Recording,
    Replica,
    TranscriptTurn,
)
from tavus_mcp.users import User

DEFAULT_PAGE_LIMIT = 10  # Tavus's default page size
# get_conversation's text, unless `full` is asked for: a transcript turn longer than MAX_TURN_CHARS (a tool's
# answer longer than MAX_TOOL_TURN_CHARS) is shortened, and a transcript longer than MAX_TRANSCRIPT_CHARS shows its
# beginning and its end. The structured result always carries everything.
MAX_TURN_CHARS = 2000
MAX_TOOL_TURN_CHARS = 300
MAX_TRANSCRIPT_CHARS = 16_000
MAX_ANALYSIS_CHARS = 2000


@dataclass(frozen=True)
class AppState:
    """What every tool call shares: the settings and the one Tavus client; per call, the user making it (on a
    team server with a users file), whose key the call's view of the client sends."""

    settings: Settings
    tavus: TavusClient
    user: User | None = None


@dataclass(frozen=True)
class ToolOutput:
    text: str
    structured: dict[str, Any]


class ToolFailure(Exception):
    """A failure whose message is already written for the model."""


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

    transcript: list[TranscriptTurn] | None = Field(
        None, description="Every turn, with timing, once Tavus has processed the call."
    )
    shutdown_reason: str | None = Field(None, description="Why the call shut down.")
    recording: Recording | None = None
    perception_analysis: str | None = Field(None, description="Tavus's visual analysis of the participant.")


class PageInfo(BaseModel):
    page: int = Field(description="This page's number, from 1.")
    limit: int = Field(description="Items per page.")
    total_count: int | None = Field(None, description="How many items there are in all, when Tavus says.")
    next_page: int | None = Field(None, description="The page to ask for next; absent on the last page.")


class ConversationList(PageInfo):
    conversations: list[Conversation] = Field(description="The conversations on this page, newest first.")


class ReplicaList(PageInfo):
    replicas: list[Replica] = Field(description="The replicas on this page.")


class PersonaList(PageInfo):
    personas: list[Persona] = Field(description="The personas on this page (credentials in layers redacted).")


class ConversationEnded(BaseModel):
    conversation_id: str = Field(description="The conversation that was ended.")
    status: str = Field(description="'ended'.")


class ConversationDeleted(BaseModel):
    conversation_id: str = Field(description="The conversation that was deleted.")
    hard: bool = Field(description="Whether it was deleted irreversibly.")


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


# create_conversation


async def create_conversation(state: AppState, request: CreateConversationRequest) -> ToolOutput:
    settings = state.settings
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
        notes.append("Sandbox: this conversation exists only in the local Tavus emulator; nobody will join.")
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
    full = request.full is True
    if full:
        request = request.model_copy(update={"verbose": True})
    details = await state.tavus.get_conversation(request)
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
