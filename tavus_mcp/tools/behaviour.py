"""The objectives and guardrails tools: sets of named prompts a persona carries (by `objectives_id` and
`guardrails_id`), made, read, listed, patched and deleted the same way. Nothing here is billed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from tavus_mcp.models.common import ApiRequest
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
from tavus_mcp.tools.confirm import Confirmation, ConfirmForm
from tavus_mcp.tools.state import AppState, PageInfo, ToolOutput, _next_page_hint, _page_heading, _page_info, naming


@dataclass(frozen=True)
class SetKind:
    """How one kind of set is named and shown."""

    kind: str  # "objectives", "guardrails": the resource, its tools and its id field
    item: str  # "objective", "guardrail"
    set_name: str  # the field holding the set's own name
    # An item's line: its name, its prompt, and what else it sets.
    describe: Callable[[dict[str, Any]], str]

    @property
    def id_field(self) -> str:
        return f"{self.kind}_id"


def _objective(row: dict[str, Any]) -> str:
    extras = []
    if row.get("next_required_objective"):
        extras.append(f"then {row['next_required_objective']}")
    for name, condition in (row.get("next_conditional_objectives") or {}).items():
        extras.append(f"then {name} if {condition}")
    if row.get("output_variables"):
        extras.append(f"collects {', '.join(map(str, row['output_variables']))}")
    for key, default in (("confirmation_mode", "auto"), ("modality", "verbal")):
        if row.get(key) not in (None, default):
            extras.append(f"{key} {row[key]}")
    more = f" ({'; '.join(extras)})" if extras else ""
    return f"{row.get('objective_name') or '?'}: {row.get('objective_prompt') or ''}{more}"


def _guardrail(row: dict[str, Any]) -> str:
    visual = " (visual)" if row.get("modality") == "visual" else ""
    return f"{row.get('guardrail_name') or '?'}: {row.get('guardrail_prompt') or ''}{visual}"


OBJECTIVES = SetKind("objectives", "objective", "objective_name", _objective)
GUARDRAILS = SetKind("guardrails", "guardrail", "guardrails_name", _guardrail)


class SetUpdated(BaseModel):
    changed: bool = Field(description="false: Tavus made no change (HTTP 304).")


class ObjectivesUpdated(SetUpdated):
    objectives_id: str


class GuardrailsUpdated(SetUpdated):
    guardrails_id: str


class ObjectivesDeleted(BaseModel):
    objectives_id: str


class GuardrailsDeleted(BaseModel):
    guardrails_id: str


class ObjectivesList(PageInfo):
    objectives: list[ObjectivesSet]


class GuardrailsList(PageInfo):
    guardrails: list[GuardrailsSet]


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _title(kind: SetKind, answer: BaseModel) -> str:
    name = getattr(answer, kind.set_name, None)
    return f"{kind.kind} {getattr(answer, kind.id_field)}" + (f" ({name!r})" if name else "")


def _created(kind: SetKind, answer: BaseModel, request: Any) -> ToolOutput:
    items = [kind.describe(item.model_dump(mode="json", exclude_none=True)) for item in request.data]
    identifier = getattr(answer, kind.id_field)
    text = "\n".join(
        [
            f"Created {_title(kind, answer)} with {len(items)} {kind.item}{'s' if len(items) != 1 else ''}:",
            *(f"- {line}" for line in items),
            f"A persona follows them once it names them: create_persona (or update_persona) with {kind.id_field} "
            f"{identifier!r}. {kind.kind.capitalize()} cost nothing.",
        ]
    )
    return ToolOutput(text, _dump(answer))


def _shown(kind: SetKind, answer: Any) -> ToolOutput:
    rows = [row.model_dump(mode="json", exclude_none=True) for row in answer.data]
    title = _title(kind, answer)
    lines = [f"{title[0].upper()}{title[1:]}: {len(rows)} {kind.item}{'s' if len(rows) != 1 else ''}."]
    lines.extend(f"- {kind.describe(row)}" for row in rows)
    lines.append(f"update_{kind.kind} changes them by JSON Patch, with paths such as /data/0/{kind.item}_prompt.")
    return ToolOutput("\n".join(lines), _dump(answer))


def _listed(kind: SetKind, request: Any, page: Any, listed: type[BaseModel]) -> ToolOutput:
    info = _page_info(request.page, request.limit, page.total_count, len(page.data))
    lines = [_page_heading(kind.kind, info, len(page.data))]
    for row in page.data:
        # A row of the reference's list carries its set's first item: its name is the best label there is.
        name = getattr(row, kind.set_name, None) or (row.model_extra or {}).get(f"{kind.item}_name")
        created = f" created {row.created_at}" if row.created_at else ""
        lines.append(f"- {getattr(row, kind.id_field)}" + (f" {name!r}" if name else "") + created)
    lines.extend(_next_page_hint(f"list_{kind.kind}", request, info))
    return ToolOutput("\n".join(lines), _dump(listed.model_validate({**info.model_dump(), kind.kind: page.data})))


async def _updated(kind: SetKind, identifier: str, request: Any, changed: bool, shape: type[BaseModel]) -> ToolOutput:
    done = "; ".join(f"{operation.op} {operation.path}" for operation in request.operations)
    text = (
        f"Updated {kind.kind} {identifier}: {done}. get_{kind.kind} shows them as they are now."
        if changed
        else f"Tavus made no change to {kind.kind} {identifier} (HTTP 304): they already were as the patch asks."
    )
    return ToolOutput(text, _dump(shape.model_validate({kind.id_field: identifier, "changed": changed})))


def _confirm_delete(kind: SetKind) -> Callable[[AppState, Any], Confirmation | None]:
    def confirm(state: AppState, request: ApiRequest) -> Confirmation | None:
        identifier = getattr(request, kind.id_field)
        return Confirmation(
            message=(f"Delete {kind.kind} {identifier} irreversibly? Personas that name them no longer follow them."),
            form=ConfirmForm,
            action=f"delete {kind.kind} {identifier}",
            instead=f"The {kind.kind} are unchanged. Do not try again unless the user asks.",
            accepted=lambda _: request,
        )

    return confirm


def _deleted(kind: SetKind, identifier: str, shape: type[BaseModel]) -> ToolOutput:
    text = (
        f"Deleted {kind.kind} {identifier}: they cannot be recovered, and personas that named them no longer follow "
        "them."
    )
    return ToolOutput(text, _dump(shape.model_validate({kind.id_field: identifier})))


# objectives


async def create_objectives(state: AppState, request: CreateObjectivesRequest) -> ToolOutput:
    return _created(OBJECTIVES, await state.tavus.create_objectives(request), request)


async def get_objectives(state: AppState, request: GetObjectivesRequest) -> ToolOutput:
    with naming(state, "objectives", request.objectives_id):
        return _shown(OBJECTIVES, await state.tavus.get_objectives(request))


async def list_objectives(state: AppState, request: ListObjectivesRequest) -> ToolOutput:
    return _listed(OBJECTIVES, request, await state.tavus.list_objectives(request), ObjectivesList)


async def update_objectives(state: AppState, request: UpdateObjectivesRequest) -> ToolOutput:
    with naming(state, "objectives", request.objectives_id):
        changed = await state.tavus.update_objectives(request)
    return await _updated(OBJECTIVES, request.objectives_id, request, changed, ObjectivesUpdated)


async def delete_objectives(state: AppState, request: DeleteObjectivesRequest) -> ToolOutput:
    with naming(state, "objectives", request.objectives_id):
        await state.tavus.delete_objectives(request)
    return _deleted(OBJECTIVES, request.objectives_id, ObjectivesDeleted)


confirm_delete_objectives = _confirm_delete(OBJECTIVES)


# guardrails


async def create_guardrails(state: AppState, request: CreateGuardrailsRequest) -> ToolOutput:
    return _created(GUARDRAILS, await state.tavus.create_guardrails(request), request)


async def get_guardrails(state: AppState, request: GetGuardrailsRequest) -> ToolOutput:
    with naming(state, "guardrails", request.guardrails_id):
        return _shown(GUARDRAILS, await state.tavus.get_guardrails(request))


async def list_guardrails(state: AppState, request: ListGuardrailsRequest) -> ToolOutput:
    return _listed(GUARDRAILS, request, await state.tavus.list_guardrails(request), GuardrailsList)


async def update_guardrails(state: AppState, request: UpdateGuardrailsRequest) -> ToolOutput:
    with naming(state, "guardrails", request.guardrails_id):
        changed = await state.tavus.update_guardrails(request)
    return await _updated(GUARDRAILS, request.guardrails_id, request, changed, GuardrailsUpdated)


async def delete_guardrails(state: AppState, request: DeleteGuardrailsRequest) -> ToolOutput:
    with naming(state, "guardrails", request.guardrails_id):
        await state.tavus.delete_guardrails(request)
    return _deleted(GUARDRAILS, request.guardrails_id, GuardrailsDeleted)


confirm_delete_guardrails = _confirm_delete(GUARDRAILS)
