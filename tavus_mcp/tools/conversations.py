"""The conversation tools: create (with the operator's guardrails and what the user must be told), get, list, end
and delete.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import anyio
from pydantic import BaseModel, Field

from tavus_mcp.advice import STARTS_CALL, describe_tavus_error
from tavus_mcp.arguments import invalid_arguments_text
from tavus_mcp.client import TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.errors import ConcurrencyLimitError, TavusError
from tavus_mcp.models.conversations import (
    Conversation,
    CreateConversationRequest,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
)
from tavus_mcp.tools.review import _details, conversation_report
from tavus_mcp.tools.state import (
    AppState,
    PageInfo,
    ToolFailure,
    ToolOutput,
    _dump,
    _next_page_hint,
    _page_heading,
    _page_info,
)
from tavus_mcp.users import User


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


class ConversationList(PageInfo):
    conversations: list[Conversation] = Field(description="Newest first.")


class ConversationEnded(BaseModel):
    conversation_id: str
    status: str


class ConversationDeleted(BaseModel):
    conversation_id: str
    hard: bool


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


async def get_conversation(state: AppState, request: GetConversationRequest) -> ToolOutput:
    if request.full is True:
        request = request.model_copy(update={"verbose": True})
    return conversation_report(await state.tavus.get_conversation(request), request)


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
