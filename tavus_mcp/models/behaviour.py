"""What objectives and guardrails share: a set of named items (`data`) with prompts, changed by JSON Patch.

A set is attached to a persona by its id (`objectives_id`, `guardrails_id`). The reference's patch examples write
paths both into the set (`/data/0/objective_prompt`) and into one item (`/objective_prompt`): both are taken, and a
value at a known field is checked as it would be at creation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from tavus_mcp.models.common import ApiRequest, _Response, check_http_url
from tavus_mcp.models.patches import check_members

Modality = Literal["verbal", "visual"]
MODALITY_DESCRIPTION = "verbal (default: what is said) or visual (what the replica sees)."

CallbackUrl = Annotated[str, AfterValidator(check_http_url)]


class SetItem(ApiRequest):
    """One objective or guardrail: what its name may be is the subclass's (`name_field`, `check_name`)."""

    name_field: ClassVar[str]


def _not_empty_list(value: Any) -> Any:
    if value == []:
        raise ValueError("give at least one item")
    return value


NotEmpty = BeforeValidator(_not_empty_list)


class SetPatchOperation(ApiRequest):
    """One JSON Patch operation (RFC 6902) on a set; `item` and `top_fields` say what the set holds."""

    model_config = ConfigDict(populate_by_name=True)

    item: ClassVar[type[SetItem]]
    top_fields: ClassVar[tuple[str, ...]] = ()

    op: Literal["add", "remove", "replace", "copy", "move", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(None, alias="from", description="For copy and move.")

    @model_validator(mode="after")
    def _operation(self) -> SetPatchOperation:
        check_members(self.op, self.path, self.value, self.from_)
        takes_value = self.op in ("add", "replace", "test")
        segments = self._segments(self.path, "path")
        annotation = self._typed_at(segments)
        # What a remove or move takes away must not be a field every item needs (its name, its prompt).
        emptied = self.path if self.op == "remove" else self.from_ if self.op == "move" else None
        required = [name for name, field in self.item.model_fields.items() if field.is_required()]
        taken = self._segments(emptied, "from") if emptied is not None else []
        if taken and taken[-1] in required and len(taken) in (1, 3):
            raise ValueError(
                f"op {self.op!r} on {emptied!r}: every {self.item.__name__.lower()} needs its {taken[-1]}; "
                "replace it instead"
            )
        if self.from_ is not None:
            self._segments(self.from_, "from")
        if takes_value and annotation is not None:
            try:
                TypeAdapter(annotation).validate_python(self.value)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = "".join(f"/{part}" for part in first["loc"])
                message = str(first["msg"]).replace("Input should be", "must be").removeprefix("Value error, ")
                raise ValueError(f"value for {self.path}{where}: {message}") from None
        return self

    @classmethod
    def _segments(cls, pointer: str, name: str) -> list[str]:
        fields = tuple(cls.item.model_fields)
        example = f"'/data/0/{fields[1]}'"
        if not pointer.startswith("/") or re.search(r"~(?![01])", pointer):
            raise ValueError(f"{name} {pointer!r} is not a JSON Pointer: it starts with '/', such as {example}")
        segments = [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]
        head = segments[0]
        if head == "data":
            if len(segments) > 1 and not (segments[1] == "-" or segments[1].isdigit()):
                raise ValueError(f"{name} {pointer!r}: after /data comes an item's index from 0, such as {example}")
            field = segments[2] if len(segments) > 2 else None
        else:
            field = head
        if field is not None and field not in fields and not (head == field and field in cls.top_fields):
            known = ", ".join(f"/data/N/{name}" for name in fields)
            top = "".join(f", /{name}" for name in cls.top_fields)
            raise ValueError(f"{name} {pointer!r} names no field of the set: a patch can change /data{top}, {known}")
        return segments

    @classmethod
    def _typed_at(cls, segments: list[str]) -> Any:
        """The type of the value at a path, where the create body gives one; None below that, for Tavus to judge."""
        if segments == ["data"]:
            return list[cls.item]  # type: ignore[name-defined]
        if segments[0] == "data" and len(segments) == 2:
            return cls.item
        field = segments[2] if segments[0] == "data" and len(segments) == 3 else segments[0]
        if len(segments) != (3 if segments[0] == "data" else 1):
            return None
        known = cls.item.model_fields.get(field)
        return known.annotation if known is not None else None


# Operations in one patch: a set has a few items of a few fields. Each operation is checked on the event loop every
# user shares, so thousands would stall everyone's calls; they are refused before any is checked.
MAX_PATCH_OPERATIONS = 100


def _not_empty_patch(value: Any) -> Any:
    if value == []:
        raise ValueError(
            "give at least one operation, such as {'op': 'replace', 'path': '/data/0/...', 'value': '...'}"
        )
    if isinstance(value, list) and len(value) > MAX_PATCH_OPERATIONS:
        raise ValueError(
            f"{len(value)} operations; a patch takes at most {MAX_PATCH_OPERATIONS}: split it into several calls"
        )
    return value


PatchList = BeforeValidator(_not_empty_patch)


def check_unique_names(items: Sequence[BaseModel], field: str) -> None:
    names = [getattr(item, field) for item in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{field} {', '.join(map(repr, repeated))} is given more than once; each must be unique")


class SetAnswer(_Response):
    """What create answers (and each row of a list): the set's id, name and status."""

    created_at: str | None = None
    updated_at: str | None = None
