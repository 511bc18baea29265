"""Objectives (`/v2/objectives`): the steps a persona steers a call through, each with a goal, the variables it
collects and what comes next. A `next_*` must name an objective of the same set."""

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

# The reference: "a string value without spaces".
ObjectiveName = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]


def _no_spaces(value: str) -> str:
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"{value!r} is not an objective name: write it without spaces, such as 'ask_budget'")
    return value


class Objective(SetItem):
    name_field: ClassVar[str] = "objective_name"

    objective_name: str = Field(description="No spaces, such as 'ask_budget'.")
    objective_prompt: _Text = Field(description="What the replica must achieve.")
    confirmation_mode: Literal["auto", "manual"] | None = Field(
        None, description="auto (default: the LLM judges it done) or manual (the user confirms)."
    )
    output_variables: list[NonEmptyString] | None = Field(None, description="Values to collect, such as ['budget'].")
    modality: Modality | None = Field(None, description=MODALITY_DESCRIPTION)
    next_required_objective: str | None = Field(None, description="The objective that always follows.")
    next_conditional_objectives: dict[str, _Text] | None = Field(
        None, description="Objective name -> the condition under which it follows."
    )
    callback_url: CallbackUrl | None = Field(None, description="Notified on completion.")

    @field_validator("objective_name", "next_required_objective")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else _no_spaces(value)

    @field_validator("next_conditional_objectives")
    @classmethod
    def _conditional_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name in value or {}:
            _no_spaces(name)
        return value


class CreateObjectivesRequest(ApiRequest):
    """The body of POST /v2/objectives."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    data: Annotated[list[Objective], NotEmpty] = Field(min_length=1, description="The objectives, first step first.")

    @model_validator(mode="after")
    def _next_names_an_objective_of_the_set(self) -> CreateObjectivesRequest:
        check_unique_names(self.data, "objective_name")
        names = [objective.objective_name for objective in self.data]
        for index, objective in enumerate(self.data):
            following = [objective.next_required_objective, *(objective.next_conditional_objectives or {})]
            for name in following:
                if name is not None and name not in names:
                    raise ValueError(
                        f"data.{index} ({objective.objective_name}) names {name!r} as a next objective, but the set "
                        f"has no objective of that name; the names are {', '.join(names)}"
                    )
        return self

    def to_body(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", exclude_none=True), **self.passthrough}


class ObjectivesRef(ApiRequest):
    not_sent: ClassVar[frozenset[str]] = frozenset({"objectives_id"})

    objectives_id: NonEmptyString = Field(max_length=128, description="Such as 'o12345'.")

    @field_validator("objectives_id")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        return path_id(value, "objectives", "o12345", "create_objectives' or list_objectives'")


class ListObjectivesRequest(ApiRequest):
    """GET /v2/objectives."""

    limit: PageLimit | None = None
    page: PageNumber | None = Field(None, description="From 1.")


class GetObjectivesRequest(ObjectivesRef):
    """GET /v2/objectives/{objectives_id}."""


class DeleteObjectivesRequest(ObjectivesRef):
    """DELETE /v2/objectives/{objectives_id}."""


class ObjectivesPatchOperation(SetPatchOperation):
    item: ClassVar[type[SetItem]] = Objective


class UpdateObjectivesRequest(ObjectivesRef):
    """PATCH /v2/objectives/{objectives_id}: its body is the list of operations."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"objectives_id", "operations"})

    operations: Annotated[list[ObjectivesPatchOperation], PatchList] = Field(
        min_length=1,
        description="JSON Patch (RFC 6902), paths as get_objectives shows, such as /data/0/objective_prompt.",
    )

    def to_body(self) -> list[dict[str, Any]]:
        return [operation.model_dump(mode="json", by_alias=True, exclude_none=True) for operation in self.operations]


# Answers


class ObjectiveRow(_Response):
    objective_name: str | None = None
    objective_prompt: str | None = None


class ObjectivesSet(_Response):
    """A set of objectives, as get_objectives shows it (and create_objectives, without its items)."""

    objectives_id: str
    objective_name: str | None = Field(None, description="The set's name.")
    data: list[ObjectiveRow] = Field(default_factory=list)
    created_at: str | None = None


class ObjectivesPage(_Response):
    data: list[ObjectivesSet] = Field(default_factory=list)
    total_count: int | None = None
