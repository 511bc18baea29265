"""The tools this server offers, as data: name, what each says to the model, its arguments' and answer's models, the
handler that does the work, and what it does in the account (which decides what a failure says, and what the user
confirms first). No MCP here: `tavus_mcp.server` turns each `ToolSpec` into an MCP tool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import ToolAnnotations
from pydantic import BaseModel

from tavus_mcp import tools
from tavus_mcp.advice import CREATES_PERSONA, READS, STARTS_CALL, Effect
from tavus_mcp.models.conversations import (
    CreateConversationRequest,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
    WaitForConversationRequest,
)
from tavus_mcp.models.patches import UpdatePersonaRequest
from tavus_mcp.models.personas import (
    CreatePersonaRequest,
    DeletePersonaRequest,
    GetPersonaRequest,
    ListPersonasRequest,
    Persona,
)
from tavus_mcp.models.replicas import ListReplicasRequest
from tavus_mcp.tools import AppState, Confirmation, ToolOutput

# MCP Apps: hosts that support the extension show the call itself, in the chat, instead of a link.
CONVERSATION_VIEW = "ui://tavus/conversation.html"

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


Handler = Callable[[AppState, Any], Awaitable[ToolOutput]]
# What a tool asks the user before it runs, given the call's state and its validated arguments: None to just run.
ConfirmPolicy = Callable[[AppState, Any], Confirmation | None]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    handler: Handler
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    annotations: ToolAnnotations
    # What the tool does in the account: decides what a failure tells the model.
    effect: Effect = READS
    # The `ui://` resource a host that supports MCP Apps renders for this tool's results.
    ui_resource: str | None = None
    # What the user confirms first, where the client can ask (a billed call, an irreversible delete).
    confirm: ConfirmPolicy | None = None


TOOLS = (
    ToolSpec(
        name="create_conversation",
        title="Start a Tavus video conversation",
        description=(
            "Start a real-time Tavus video conversation with an AI replica and get the link to join it.\n\n"
            "Needs a replica_id (a Face), or a persona_id (a PAL) whose persona has a default replica (unless the "
            "server has defaults). Describe the scenario in conversational_context and set custom_greeting for a "
            "focused call; put call settings (max_call_duration, language, timeouts, recording) under properties. "
            "A real call is "
            "billed and holds one of the account's concurrent-conversation slots until it ends; test_mode: true "
            "creates it without charge and without the replica joining. Returns the join URL to give the user, "
            "and the conversation id."
        ),
        handler=tools.create_conversation,
        input_model=CreateConversationRequest,
        output_model=tools.CreatedConversation,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        effect=STARTS_CALL,
        ui_resource=CONVERSATION_VIEW,
        confirm=tools.confirm_create,
    ),
    ToolSpec(
        name="get_conversation",
        title="Get a Tavus conversation",
        description=(
            "Get one conversation: its status, link, replica and persona. With verbose: true, also what happened: "
            "the transcript as timed turns (once the call has ended and Tavus has processed it), why it shut down, "
            "the recording and perception analysis if any; use that to review a call. Long transcripts are "
            "shortened in the text, saying how to get the rest (full: true)."
        ),
        handler=tools.get_conversation,
        input_model=GetConversationRequest,
        output_model=tools.ConversationReport,
        annotations=READ,
    ),
    ToolSpec(
        name="wait_for_conversation",
        title="Wait for a Tavus call to finish",
        description=(
            "Follow one conversation until its call has ended and the transcript is ready, or until "
            "max_wait_seconds, with progress updates as its state changes. Use it once, when the user says the "
            "call is done or asks you to wait; not in a loop. Returns the status, duration, shutdown reason, timed "
            "transcript, recording and perception analysis; at the limit, where the call stands."
        ),
        handler=tools.wait_for_conversation,
        input_model=WaitForConversationRequest,
        output_model=tools.CallOutcome,
        annotations=READ,
    ),
    ToolSpec(
        name="list_conversations",
        title="List Tavus conversations",
        description=(
            "List the account's conversations, newest first, one line each (id, status, name). Use status: "
            "'active' to see the calls still running: each is billed and holds a concurrency slot until it ends."
        ),
        handler=tools.list_conversations,
        input_model=ListConversationsRequest,
        output_model=tools.ConversationList,
        annotations=READ,
    ),
    ToolSpec(
        name="end_conversation",
        title="End a Tavus conversation",
        description=(
            "End an active conversation: the replica leaves, billing stops and the concurrency slot is freed. "
            "Anyone still in the call is disconnected, so end a call only when the user is done with it or asks."
        ),
        handler=tools.end_conversation,
        input_model=EndConversationRequest,
        output_model=tools.ConversationEnded,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
    ToolSpec(
        name="delete_conversation",
        title="Delete a Tavus conversation",
        description=(
            "Delete a conversation's record from the account. hard: true deletes it irreversibly. Only when the "
            "user asks for it; to stop a running call, use end_conversation instead."
        ),
        handler=tools.delete_conversation,
        input_model=DeleteConversationRequest,
        output_model=tools.ConversationDeleted,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        confirm=tools.confirm_delete,
    ),
    ToolSpec(
        name="list_replicas",
        title="List Tavus replicas",
        description=(
            "List the replicas (Faces, in Tavus's newer docs: the AI faces and voices) the account can use, one "
            "line each: id, name, type, model and whether it is ready ('completed'). Filter by replica_type, "
            "replica_ids or model_name. Pass an id as replica_id to create_conversation."
        ),
        handler=tools.list_replicas,
        input_model=ListReplicasRequest,
        output_model=tools.ReplicaList,
        annotations=READ,
    ),
    ToolSpec(
        name="list_personas",
        title="List Tavus personas",
        description=(
            "List the personas (PALs, in Tavus's newer docs: behaviour, knowledge and voice pipeline of a replica) "
            "the account can use, one line each: id, name and default replica. Pass an id as persona_id to "
            "create_conversation; a persona without a default replica needs a replica_id as well."
        ),
        handler=tools.list_personas,
        input_model=ListPersonasRequest,
        output_model=tools.PersonaList,
        annotations=READ,
    ),
    ToolSpec(
        name="create_persona",
        title="Create a Tavus persona",
        description=(
            "Create a persona (a PAL): how a replica behaves in every call that uses it. For practice: a "
            "system_prompt written from the scenario and a default_replica_id (list_replicas, status 'completed'). "
            "Returns the persona_id for create_conversation."
        ),
        handler=tools.create_persona,
        input_model=CreatePersonaRequest,
        output_model=tools.CreatedPersona,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        effect=CREATES_PERSONA,
    ),
    ToolSpec(
        name="get_persona",
        title="Get a Tavus persona",
        description="One persona in full: prompt, default replica, documents, layers (credentials redacted).",
        handler=tools.get_persona,
        input_model=GetPersonaRequest,
        output_model=Persona,
        annotations=READ,
    ),
    ToolSpec(
        name="update_persona",
        title="Update a Tavus persona",
        description="Change a persona by JSON Patch, for every later call that uses it. Paths follow get_persona.",
        handler=tools.update_persona,
        input_model=UpdatePersonaRequest,
        output_model=tools.PersonaUpdated,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
    ),
    ToolSpec(
        name="delete_persona",
        title="Delete a Tavus persona",
        description="Delete a persona irreversibly: no new conversation can use it. Only when the user asks.",
        handler=tools.delete_persona,
        input_model=DeletePersonaRequest,
        output_model=tools.PersonaDeleted,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        confirm=tools.confirm_delete_persona,
    ),
)
