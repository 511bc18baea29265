"""The replica and persona tools: list replicas; list, create, get, update (JSON Patch) and delete personas. A
persona can carry provider credentials: they never come back in an answer or an error.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from tavus_mcp.errors import TavusError
from tavus_mcp.models.patches import UpdatePersonaRequest
from tavus_mcp.models.personas import (
    CreatePersonaRequest,
    DeletePersonaRequest,
    GetPersonaRequest,
    ListPersonasRequest,
    Persona,
)
from tavus_mcp.models.replicas import ListReplicasRequest, Replica
from tavus_mcp.redaction import CredentialScrubber, secrets_in
from tavus_mcp.tools.review import MAX_TURN_CHARS, _cut
from tavus_mcp.tools.state import AppState, PageInfo, ToolOutput, _dump, _next_page_hint, _page_heading, _page_info


class ReplicaList(PageInfo):
    replicas: list[Replica]


class PersonaList(PageInfo):
    personas: list[Persona]


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
    # Scrubbed as written and in the encodings an answer quotes text in (tavus_mcp.redaction).
    scrub = CredentialScrubber(secrets_in(body))
    with scrub.scrubbing_errors(TavusError):
        persona = await state.tavus.create_persona(body)
    name = persona.persona_name or request.persona_name
    replica = request.default_replica_id
    lines = [
        f"Created persona {persona.persona_id}" + (f" ({name!r})" if name else "") + ".",
        f"Start a call with it: create_conversation with persona_id {persona.persona_id!r}"
        + (f" (its default replica is {replica})." if replica else ", and a replica_id: it has no default replica."),
    ]
    return ToolOutput("\n".join(lines), _dump(persona)).scrubbed(scrub)


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
    # Kept as Tavus gives them (not in the output schema: every listed field costs every conversation context).
    extra = persona.model_extra or {}
    behaviour = "; ".join(
        f"{kind}: {extra[f'{kind}_id']} (get_{kind})"
        for kind in ("objectives", "guardrails")
        if extra.get(f"{kind}_id")
    )
    if behaviour:
        lines.append(f"{behaviour[0].upper()}{behaviour[1:]}.")
    if persona.layers:
        layers = json.dumps(persona.layers, ensure_ascii=False, default=str)
        lines.append(f"Layers (credentials redacted): {_cut(layers, MAX_TURN_CHARS)}")
    lines.append("update_persona changes it by JSON Patch, with paths as shown here, such as /system_prompt.")
    return ToolOutput("\n".join(lines), _dump(persona))


async def update_persona(state: AppState, request: UpdatePersonaRequest) -> ToolOutput:
    scrub = CredentialScrubber(secrets_in(request.to_body()))
    with scrub.scrubbing_errors(TavusError):
        changed = await state.tavus.update_persona(request)
    done = "; ".join(f"{operation.op} {operation.path}" for operation in request.operations)
    text = (
        f"Updated persona {request.persona_id}: {done}. get_persona shows it as it is now."
        if changed
        else f"Tavus made no change to persona {request.persona_id} (HTTP 304): it already was as the patch asks."
    )
    return ToolOutput(text, _dump(PersonaUpdated(persona_id=request.persona_id, changed=changed))).scrubbed(scrub)


async def delete_persona(state: AppState, request: DeletePersonaRequest) -> ToolOutput:
    await state.tavus.delete_persona(request)
    text = f"Deleted persona {request.persona_id}: it cannot be recovered, and no new conversation can use it."
    return ToolOutput(text, _dump(PersonaDeleted(persona_id=request.persona_id)))
