"""Persona updates: PATCH /v2/personas/{persona_id} takes a JSON Patch (RFC 6902); each operation is checked
against what the create body allows at its path, so a patch cannot send what a create would refuse.
"""

from __future__ import annotations

import difflib
import functools
from typing import Annotated, Any, ClassVar, Literal, get_args

from jsonpointer import JsonPointer, JsonPointerException
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from tavus_mcp.models.common import ApiRequest
from tavus_mcp.models.personas import CreatePersonaRequest, PersonaLayers, PersonaRef, _Layer, _Text
from tavus_mcp.redaction import is_credential_name

PATCH_OPERATIONS = ("add", "remove", "replace", "copy", "move", "test")
# Operations in one patch: a persona has about 45 fields, and an edit touches a few of them. Checking one costs up
# to a millisecond of the event loop every user shares, so a patch of thousands would stall everyone's calls.
MAX_PATCH_OPERATIONS = 100


def check_members(op: str, path: str, value: Any, from_: str | None, *, from_example: str = "") -> None:
    """RFC 6902's rule of which members an operation takes: a value for add, replace and test; from for copy and
    move; neither otherwise. Raises ValueError saying what to change."""
    takes_value, takes_from = op in ("add", "replace", "test"), op in ("copy", "move")
    if takes_value and value is None:
        raise ValueError(f"op {op!r} needs a value (the new content at {path!r})")
    if not takes_value and value is not None:
        raise ValueError(f"op {op!r} takes no value; leave it out")
    if takes_from and from_ is None:
        raise ValueError(f"op {op!r} needs from: the pointer to {op} from{from_example}")
    if not takes_from and from_ is not None:
        raise ValueError(f"op {op!r} takes no from; leave it out")


# One operation of a JSON Patch (RFC 6902). (A comment, not a docstring: the schema would repeat it.)
class PatchOperation(ApiRequest):
    model_config = ConfigDict(populate_by_name=True)

    op: Literal["add", "remove", "replace", "copy", "move", "test"]
    path: str = Field(description="Such as '/system_prompt', '/layers/llm/model'.")
    value: Any = None
    from_: str | None = Field(None, alias="from", description="For copy and move.")

    @model_validator(mode="after")
    def _operation(self) -> PatchOperation:
        check_members(self.op, self.path, self.value, self.from_, from_example=", such as '/system_prompt'")
        takes_value = self.op in ("add", "replace", "test")
        segments = persona_pointer(self.path, "path")
        if takes_value:
            _check_patch_value(segments, self.value, self.path)
        if self.from_ is not None:
            origin = persona_pointer(self.from_, "from")
            credential = next((name for name in origin if is_credential_name(name)), None)
            if credential is not None:
                # Answers never show a credential's field (tavus_mcp.redaction): its copy elsewhere would be shown.
                raise ValueError(
                    f"{self.op} from {self.from_!r}: {credential!r} is a credential, which a patch cannot copy or "
                    "move (the copy would be shown where the credential never is); give the other field its own "
                    "value with add or replace"
                )
            source, target = _typed_at(origin), _typed_at(segments)
            if source is not None and target is not None and _shape(source) != _shape(target):
                raise ValueError(
                    f"{self.op} from {self.from_!r} to {self.path!r}: the two take different values; {self.op} only "
                    "between fields of the same kind, or replace with the value itself"
                )
        return self


# What a patch may change: the fields of the create body (the id and timestamps are Tavus's).
PATCHABLE_FIELDS = tuple(CreatePersonaRequest.model_fields)


def persona_pointer(pointer: str, name: str) -> list[str]:
    """The segments of a JSON Pointer (RFC 6901) into a persona; ValueError naming what to write instead."""
    try:
        segments = JsonPointer(pointer).parts
    except JsonPointerException:
        segments = []  # not starting with '/', or '~' not followed by 0 or 1
    if not segments:  # the empty pointer names the whole persona, which no patch replaces
        raise ValueError(
            f"{name} {pointer!r} is not a JSON Pointer: it starts with '/' and names fields by their path, such as "
            "'/system_prompt' or '/layers/llm/model' (write '~1' for a '/' in a name, '~0' for '~')"
        )
    if segments[0] not in PATCHABLE_FIELDS:
        close = difflib.get_close_matches(segments[0], PATCHABLE_FIELDS, n=1, cutoff=0.6)
        hint = f" (did you mean '/{close[0]}'?)" if close else ""
        raise ValueError(
            f"{name} {pointer!r} is not in a persona{hint}. A patch can change "
            + ", ".join(f"/{field}" for field in PATCHABLE_FIELDS)
        )
    if segments[0] == "layers" and len(segments) > 1 and segments[1] not in PersonaLayers.model_fields:
        raise ValueError(
            f"{name} {pointer!r}: {segments[1]!r} is not a layer; the layers are "
            + ", ".join(f"/layers/{layer}" for layer in PersonaLayers.model_fields)
        )
    return segments


def _typed_at(segments: list[str]) -> Any:
    """The type the create body gives the value at a path (a field, an item of a list, a layer or a layer's
    field); None below that, where Tavus judges."""
    if len(segments) == 1:
        return CreatePersonaRequest.model_fields[segments[0]].annotation
    if segments[0] in ("document_ids", "document_tags") and len(segments) == 2:
        return _Text
    if segments[0] == "layers" and len(segments) == 2:
        return PersonaLayers.model_fields[segments[1]].annotation
    if segments[0] == "layers" and len(segments) == 3:
        known = _nested_layer(segments[1]).model_fields.get(segments[2])
        return known.annotation if known is not None else None
    return None


# Both cached, per type: building a TypeAdapter and its schema costs about a millisecond, checking a value with it
# microseconds, and a patch names the same few types again and again.
@functools.cache
def _shape(annotation: Any) -> dict[str, Any]:
    """What a value of this type looks like (its JSON schema), null aside: two paths of one shape take one value."""
    kinds = [arg for arg in get_args(annotation) if arg is not type(None)] if type(None) in get_args(annotation) else []
    schema: dict[str, Any] = _adapter(kinds[0] if len(kinds) == 1 else annotation).json_schema()
    return schema


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _check_patch_value(segments: list[str], value: Any, path: str) -> None:
    """A value at a path the create body types is of that type, as it would be checked at creation."""
    annotation = _typed_at(segments)
    if annotation is None:
        return
    try:
        _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(f"/{part}" for part in first["loc"])
        message = str(first["msg"]).replace("Input should be", "must be").removeprefix("Value error, ")
        if first["type"] in ("string_too_short", "string_pattern_mismatch"):
            message = "must not be empty or blank"
        raise ValueError(f"value for {path}{where}: {message}") from None


def _nested_layer(name: str) -> type[_Layer]:
    annotation = PersonaLayers.model_fields[name].annotation
    return next(arg for arg in getattr(annotation, "__args__", ()) if isinstance(arg, type) and issubclass(arg, _Layer))


def _operation_count(value: Any) -> Any:
    """At least one operation and at most MAX_PATCH_OPERATIONS, counted before any of them is checked."""
    if value == []:
        raise ValueError(
            "give at least one operation, such as {'op': 'replace', 'path': '/system_prompt', 'value': '...'}"
        )
    if isinstance(value, list) and len(value) > MAX_PATCH_OPERATIONS:
        raise ValueError(
            f"{len(value):,} operations; a patch has at most {MAX_PATCH_OPERATIONS}. Split the change into several "
            f"update_persona calls of at most {MAX_PATCH_OPERATIONS} operations each, sent one after the other"
        )
    return value


class UpdatePersonaRequest(PersonaRef):
    """PATCH /v2/personas/{persona_id}: its body is the list of operations."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"persona_id", "operations"})

    operations: Annotated[list[PatchOperation], BeforeValidator(_operation_count)] = Field(
        min_length=1,
        max_length=MAX_PATCH_OPERATIONS,
        description="A JSON Patch (RFC 6902), in order. replace and remove need the field to exist.",
    )

    def to_body(self) -> list[dict[str, Any]]:
        return [operation.model_dump(mode="json", by_alias=True, exclude_none=True) for operation in self.operations]
