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

from tavus_mcp.advice import (
    CREATES_DOCUMENT,
    CREATES_GUARDRAILS,
    CREATES_OBJECTIVES,
    CREATES_PERSONA,
    READS,
    STARTS_CALL,
    Effect,
)
from tavus_mcp.config import ConfigError, Settings
from tavus_mcp.models.conversations import (
    CreateConversationRequest,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
    WaitForConversationRequest,
)
from tavus_mcp.models.documents import (
    CreateDocumentRequest,
    DeleteDocumentRequest,
    Document,
    GetDocumentRequest,
    ListDocumentsRequest,
    UpdateDocumentRequest,
    WaitForDocumentRequest,
)
from tavus_mcp.models.guardrails import (
    CreateGuardrailsRequest,
    DeleteGuardrailsRequest,
    GetGuardrailsRequest,
    GuardrailsSet,
    ListGuardrailsRequest,
    UpdateGuardrailsRequest,
)
from tavus_mcp.models.objectives import (
    CreateObjectivesRequest,
    DeleteObjectivesRequest,
    GetObjectivesRequest,
    ListObjectivesRequest,
    ObjectivesSet,
    UpdateObjectivesRequest,
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
from tavus_mcp.tools import behaviour, documents
from tavus_mcp.tools.confirm import Confirmation, confirm_create, confirm_delete, confirm_delete_persona
from tavus_mcp.tools.conversations import (
    ConversationDeleted,
    ConversationEnded,
    ConversationList,
    CreatedConversation,
    create_conversation,
    delete_conversation,
    end_conversation,
    get_conversation,
    list_conversations,
)
from tavus_mcp.tools.personas import (
    CreatedPersona,
    PersonaDeleted,
    PersonaList,
    PersonaUpdated,
    ReplicaList,
    create_persona,
    delete_persona,
    get_persona,
    list_personas,
    list_replicas,
    update_persona,
)
from tavus_mcp.tools.review import ConversationReport
from tavus_mcp.tools.state import AppState, ToolOutput
from tavus_mcp.tools.wait import CallOutcome, wait_for_conversation

# MCP Apps: hosts that support the extension show the call itself, in the chat, instead of a link.
CONVERSATION_VIEW = "ui://tavus/conversation.html"

# Read-only: whether a tool is destructive or idempotent means something only for one that writes (MCP's spec), so
# those hints are left out (every hint costs every conversation context).
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
# Makes something new each time (a document, a set of objectives or guardrails): nothing is lost, nothing billed.
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# Sets fields to the values given: what they held is gone, and the same call again changes nothing more.
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
# A JSON Patch: what it replaces is gone, and some operations (add to a list) do more each time.
PATCHES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)
DELETES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


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
            "Needs a replica_id (a Face), or a persona_id (a PAL) with a default replica. Set the scenario in "
            "conversational_context and a custom_greeting; call settings go under "
            "properties. A real call is billed and holds a concurrency slot until it ends; test_mode: true costs "
            "nothing (no replica joins)."
        ),
        handler=create_conversation,
        input_model=CreateConversationRequest,
        output_model=CreatedConversation,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        effect=STARTS_CALL,
        ui_resource=CONVERSATION_VIEW,
        confirm=confirm_create,
    ),
    ToolSpec(
        name="get_conversation",
        title="Get a Tavus conversation",
        description=(
            "One conversation: status, link, replica, persona. verbose: true adds what happened, to review a "
            "call: timed transcript (once Tavus has processed it), shutdown reason, recording, perception "
            "analysis; full: true, all of it uncut."
        ),
        handler=get_conversation,
        input_model=GetConversationRequest,
        output_model=ConversationReport,
        annotations=READ,
    ),
    ToolSpec(
        name="wait_for_conversation",
        title="Wait for a Tavus call to finish",
        description=(
            "Follow one call until its transcript is ready (or max_wait_seconds), with progress updates. Call it "
            "once, when the user says the call is done or asks you to wait; not in a loop. Returns the review "
            "get_conversation gives."
        ),
        handler=wait_for_conversation,
        input_model=WaitForConversationRequest,
        output_model=CallOutcome,
        annotations=READ,
    ),
    ToolSpec(
        name="list_conversations",
        title="List Tavus conversations",
        description=(
            "The account's conversations, newest first, one line each. status: 'active' shows the calls still "
            "running, each billed until it ends."
        ),
        handler=list_conversations,
        input_model=ListConversationsRequest,
        output_model=ConversationList,
        annotations=READ,
    ),
    ToolSpec(
        name="end_conversation",
        title="End a Tavus conversation",
        description=(
            "End an active call: the replica leaves, billing stops. Anyone still in it is disconnected: only when"
            " the user is done or asks."
        ),
        handler=end_conversation,
        input_model=EndConversationRequest,
        output_model=ConversationEnded,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
    ToolSpec(
        name="delete_conversation",
        title="Delete a Tavus conversation",
        description=(
            "Delete a conversation's record (hard: true, irreversibly). Only when the user asks; end_conversation"
            " stops a running call."
        ),
        handler=delete_conversation,
        input_model=DeleteConversationRequest,
        output_model=ConversationDeleted,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        confirm=confirm_delete,
    ),
    ToolSpec(
        name="list_replicas",
        title="List Tavus replicas",
        description=(
            "The replicas (Faces: AI faces and voices) the account can use, one line each; only status "
            "'completed' can join. Pass an id as replica_id to create_conversation."
        ),
        handler=list_replicas,
        input_model=ListReplicasRequest,
        output_model=ReplicaList,
        annotations=READ,
    ),
    ToolSpec(
        name="list_personas",
        title="List Tavus personas",
        description=(
            "The personas (PALs) the account can use, one line each, with its default replica. Pass an id as "
            "persona_id to create_conversation (with a replica_id if it has no default replica)."
        ),
        handler=list_personas,
        input_model=ListPersonasRequest,
        output_model=PersonaList,
        annotations=READ,
    ),
    ToolSpec(
        name="create_persona",
        title="Create a Tavus persona",
        description=(
            "Create a persona (a PAL): how a replica behaves in every call that uses it. For practice: a "
            "system_prompt written from the scenario and a default_replica_id (list_replicas, status "
            "'completed'). Returns its persona_id."
        ),
        handler=create_persona,
        input_model=CreatePersonaRequest,
        output_model=CreatedPersona,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        effect=CREATES_PERSONA,
    ),
    ToolSpec(
        name="get_persona",
        title="Get a Tavus persona",
        description="One persona in full: prompt, default replica, documents, layers (credentials redacted).",
        handler=get_persona,
        input_model=GetPersonaRequest,
        output_model=Persona,
        annotations=READ,
    ),
    ToolSpec(
        name="update_persona",
        title="Update a Tavus persona",
        description="Change a persona by JSON Patch, for every later call that uses it. Paths follow get_persona.",
        handler=update_persona,
        input_model=UpdatePersonaRequest,
        output_model=PersonaUpdated,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
    ),
    ToolSpec(
        name="delete_persona",
        title="Delete a Tavus persona",
        description="Delete a persona irreversibly: no new conversation can use it. Only when the user asks.",
        handler=delete_persona,
        input_model=DeletePersonaRequest,
        output_model=PersonaDeleted,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        confirm=confirm_delete_persona,
    ),
    # knowledge: documents
    ToolSpec(
        name="create_document",
        title="Add a Tavus document",
        description=(
            "Add a file or web page to the knowledge base replicas consult in calls. Tavus reads it in the "
            "background: call wait_for_document once, then pass the id in document_ids. Free."
        ),
        handler=documents.create_document,
        input_model=CreateDocumentRequest,
        output_model=Document,
        annotations=CREATES,
        effect=CREATES_DOCUMENT,
    ),
    ToolSpec(
        name="get_document",
        title="Get a Tavus document",
        description="One document: ready to pass in document_ids, still being read (how far), or failed and why.",
        handler=documents.get_document,
        input_model=GetDocumentRequest,
        output_model=Document,
        annotations=READ,
    ),
    ToolSpec(
        name="list_documents",
        title="List Tavus documents",
        description="The knowledge base's documents, one line each with its status; pages count from 0, not 1.",
        handler=documents.list_documents,
        input_model=ListDocumentsRequest,
        output_model=documents.DocumentList,
        annotations=READ,
    ),
    ToolSpec(
        name="update_document",
        title="Rename or retag a Tavus document",
        description="Rename a document or replace its tags; what it says, and where it is used, stay the same.",
        handler=documents.update_document,
        input_model=UpdateDocumentRequest,
        output_model=Document,
        annotations=CHANGES,
    ),
    ToolSpec(
        name="delete_document",
        title="Delete a Tavus document",
        description="Delete a document irreversibly: no call or persona consults it any more. Only when the user asks.",
        handler=documents.delete_document,
        input_model=DeleteDocumentRequest,
        output_model=documents.DocumentDeleted,
        annotations=DELETES,
        confirm=documents.confirm_delete_document,
    ),
    ToolSpec(
        name="wait_for_document",
        title="Wait for a Tavus document to be ready",
        description=(
            "Follow a new document until Tavus has read it or failed (or max_wait_seconds), with progress updates. "
            "Call it once after create_document, not in a loop."
        ),
        handler=documents.wait_for_document,
        input_model=WaitForDocumentRequest,
        output_model=documents.DocumentWait,
        annotations=READ,
    ),
    # objectives
    ToolSpec(
        name="create_objectives",
        title="Create Tavus objectives",
        description=(
            "Create objectives: the steps a replica steers a call through, each a goal prompt, optional variables "
            "to collect and the objective that follows (next_* name objectives of the same data). A persona follows "
            "them once its objectives_id names the returned id. Free."
        ),
        handler=behaviour.create_objectives,
        input_model=CreateObjectivesRequest,
        output_model=ObjectivesSet,
        annotations=CREATES,
        effect=CREATES_OBJECTIVES,
    ),
    ToolSpec(
        name="get_objectives",
        title="Get Tavus objectives",
        description="A set of objectives: each one's name, prompt, the variables it collects and what follows it.",
        handler=behaviour.get_objectives,
        input_model=GetObjectivesRequest,
        output_model=ObjectivesSet,
        annotations=READ,
    ),
    ToolSpec(
        name="list_objectives",
        title="List Tavus objectives",
        description="The account's sets of objectives, one line each; pass an id as a persona's objectives_id.",
        handler=behaviour.list_objectives,
        input_model=ListObjectivesRequest,
        output_model=behaviour.ObjectivesList,
        annotations=READ,
    ),
    ToolSpec(
        name="update_objectives",
        title="Update Tavus objectives",
        description=(
            "Change a set of objectives by JSON Patch, for every persona that uses it. Paths follow get_objectives."
        ),
        handler=behaviour.update_objectives,
        input_model=UpdateObjectivesRequest,
        output_model=behaviour.ObjectivesUpdated,
        annotations=PATCHES,
    ),
    ToolSpec(
        name="delete_objectives",
        title="Delete Tavus objectives",
        description=(
            "Delete a set of objectives irreversibly: personas that name it stop following it. Only when asked."
        ),
        handler=behaviour.delete_objectives,
        input_model=DeleteObjectivesRequest,
        output_model=behaviour.ObjectivesDeleted,
        annotations=DELETES,
        confirm=behaviour.confirm_delete_objectives,
    ),
    # guardrails
    ToolSpec(
        name="create_guardrails",
        title="Create Tavus guardrails",
        description=(
            "Create guardrails: limits a replica keeps in every call (stay in role, never give advice on X), each a "
            "named prompt. A persona keeps them once its guardrails_id names the returned id. Free."
        ),
        handler=behaviour.create_guardrails,
        input_model=CreateGuardrailsRequest,
        output_model=GuardrailsSet,
        annotations=CREATES,
        effect=CREATES_GUARDRAILS,
    ),
    ToolSpec(
        name="get_guardrails",
        title="Get Tavus guardrails",
        description="A set of guardrails: each one's name, prompt and whether it watches what is said or seen.",
        handler=behaviour.get_guardrails,
        input_model=GetGuardrailsRequest,
        output_model=GuardrailsSet,
        annotations=READ,
    ),
    ToolSpec(
        name="list_guardrails",
        title="List Tavus guardrails",
        description="The account's sets of guardrails, one line each; pass an id as a persona's guardrails_id.",
        handler=behaviour.list_guardrails,
        input_model=ListGuardrailsRequest,
        output_model=behaviour.GuardrailsList,
        annotations=READ,
    ),
    ToolSpec(
        name="update_guardrails",
        title="Update Tavus guardrails",
        description=(
            "Change a set of guardrails by JSON Patch, for every persona that uses it. Paths follow get_guardrails."
        ),
        handler=behaviour.update_guardrails,
        input_model=UpdateGuardrailsRequest,
        output_model=behaviour.GuardrailsUpdated,
        annotations=PATCHES,
    ),
    ToolSpec(
        name="delete_guardrails",
        title="Delete Tavus guardrails",
        description="Delete a set of guardrails irreversibly: personas that name it stop keeping it. Only when asked.",
        handler=behaviour.delete_guardrails,
        input_model=DeleteGuardrailsRequest,
        output_model=behaviour.GuardrailsDeleted,
        annotations=DELETES,
        confirm=behaviour.confirm_delete_guardrails,
    ),
)


# Toolsets: groups of tools a server offers (TAVUS_TOOLSETS, --toolsets). A tool that is off is never listed, so it
# costs no context and no start-up.

TOOLSETS: dict[str, tuple[str, ...]] = {
    "conversations": (
        "create_conversation",
        "get_conversation",
        "wait_for_conversation",
        "list_conversations",
        "end_conversation",
        "delete_conversation",
        "list_replicas",
    ),
    "personas": ("list_personas", "create_persona", "get_persona", "update_persona", "delete_persona"),
    "knowledge": (
        "create_document",
        "get_document",
        "list_documents",
        "update_document",
        "delete_document",
        "wait_for_document",
    ),
    "objectives": (
        "create_objectives",
        "get_objectives",
        "list_objectives",
        "update_objectives",
        "delete_objectives",
    ),
    "guardrails": (
        "create_guardrails",
        "get_guardrails",
        "list_guardrails",
        "update_guardrails",
        "delete_guardrails",
    ),
}
DEFAULT_TOOLSETS = ("conversations", "personas", "knowledge")


def parse_toolsets(value: str, setting: str) -> tuple[str, ...]:
    """The toolsets a comma-separated list names, in the table's order: names, `all`, `default` (such as
    'default,objectives'). ConfigError, naming the setting, the unknown name and the valid ones, otherwise."""
    chosen: set[str] = set()
    for name in (part.strip().casefold() for part in value.split(",")):
        if name == "all":
            chosen.update(TOOLSETS)
        elif name == "default":
            chosen.update(DEFAULT_TOOLSETS)
        elif name in TOOLSETS:
            chosen.add(name)
        elif name:
            raise ConfigError(
                f"{setting}: unknown toolset {name!r}; the toolsets are {', '.join(TOOLSETS)}, or 'all', or "
                f"'default' ({','.join(DEFAULT_TOOLSETS)}) plus others, such as 'default,objectives'"
            )
    if not chosen:
        raise ConfigError(f"{setting} names no toolset; give some of {', '.join(TOOLSETS)}, or 'all', or 'default'")
    return tuple(name for name in TOOLSETS if name in chosen)


def toolsets_on(settings: Settings) -> tuple[str, ...]:
    return settings.toolsets if settings.toolsets is not None else DEFAULT_TOOLSETS


def selected_tools(settings: Settings) -> frozenset[str]:
    """The names of the tools these settings offer."""
    return frozenset(name for toolset in toolsets_on(settings) for name in TOOLSETS[toolset])
