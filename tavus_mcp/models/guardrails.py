"""Guardrails (`/v2/guardrails`): limits a persona keeps in every call, each a prompt Tavus enforces."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from tavus_mcp.models.behaviour import (
    MODALITY_DESCRIPTION,
    CallbackUrl,
    Modality,
    NotEmpty,
    PatchList,
    SetItem,
    SetPatchOperation,
    check_unique_names,
)
from tavus_mcp.models.common import ApiRequest, NonEmptyString, PageLimit, PageNumber, _Response, path_id
from tavus_mcp.models.personas import _Text


def _guardrail_name(value: str) -> str:
    if not value or not all(char.isascii() and (char.isalnum() or char == "_") for char in value):
        raise ValueError(
            f"{value!r} is not a guardrail name: only letters, digits and underscores, such as 'no_competitors'"
        )
    return value


class Guardrail(SetItem):
    name_field: ClassVar[str] = "guardrail_name"

    guardrail_name: str = Field(description="Letters, digits, _ only, such as 'stay_in_role'.")
    guardrail_prompt: _Text = Field(description="The limit, such as 'Never give legal advice.'")
    modality: Modality | None = Field(None, description=MODALITY_DESCRIPTION)
    callback_url: CallbackUrl | None = Field(None, description="Notified when it is triggered.")

    @field_validator("guardrail_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _guardrail_name(value)


class CreateGuardrailsRequest(ApiRequest):
    """The body of POST /v2/guardrails."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    name: _Text | None = Field(None, description="The set's name.")
    data: Annotated[list[Guardrail], NotEmpty] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CreateGuardrailsRequest:
        check_unique_names(self.data, "guardrail_name")
        return self

    def to_body(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", exclude_none=True), **self.passthrough}


class GuardrailsRef(ApiRequest):
    not_sent: ClassVar[frozenset[str]] = frozenset({"guardrails_id"})

    guardrails_id: NonEmptyString = Field(max_length=128, description="Such as 'g12345'.")

    @field_validator("guardrails_id")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        return path_id(value, "guardrails", "g12345", "create_guardrails' or list_guardrails'")


class ListGuardrailsRequest(ApiRequest):
    """GET /v2/guardrails."""

    limit: PageLimit | None = None
    page: PageNumber | None = Field(None, description="From 1.")


class GetGuardrailsRequest(GuardrailsRef):
    """GET /v2/guardrails/{guardrails_id}."""


class DeleteGuardrailsRequest(GuardrailsRef):
    """DELETE /v2/guardrails/{guardrails_id}."""


class GuardrailsPatchOperation(SetPatchOperation):
    item: ClassVar[type[SetItem]] = Guardrail
    top_fields: ClassVar[tuple[str, ...]] = ("name",)


class UpdateGuardrailsRequest(GuardrailsRef):
    """PATCH /v2/guardrails/{guardrails_id}: its body is the list of operations."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"guardrails_id", "operations"})

    operations: Annotated[list[GuardrailsPatchOperation], PatchList] = Field(
        min_length=1,
        description="JSON Patch (RFC 6902), paths as get_guardrails shows, such as /data/0/guardrail_prompt.",
    )

    def to_body(self) -> list[dict[str, Any]]:
        return [operation.model_dump(mode="json", by_alias=True, exclude_none=True) for operation in self.operations]


# Answers


class GuardrailRow(_Response):
    guardrail_name: str | None = None
    guardrail_prompt: str | None = None


class GuardrailsSet(_Response):
    """A set of guardrails, as get_guardrails shows it (and create_guardrails, without its items)."""

    guardrails_id: str
    guardrails_name: str | None = None
    data: list[GuardrailRow] = Field(default_factory=list)
    created_at: str | None = None


class GuardrailsPage(_Response):
    data: list[GuardrailsSet] = Field(default_factory=list)
    total_count: int | None = None
