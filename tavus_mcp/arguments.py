"""Tool arguments: one pydantic model is both the JSON schema a model sees and the validator of what it sends.

The schema is flattened for the widest client support: no `$ref`/`$defs` and no `anyOf [..., null]` (several
clients and LLM function-calling APIs handle neither); an optional field is simply not required. Validation
failures become one message that names each field, says what is allowed and how to fix it.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tavus_mcp.models.common import ApiRequest

ModelT = TypeVar("ModelT", bound=BaseModel)

# The setting with which the server's operator lets fields the server does not know yet through to Tavus.
PASSTHROUGH_SETTING = "TAVUS_PASSTHROUGH_FIELDS"

# Keywords that say nothing to a model, or that some clients reject.
_DROPPED_KEYWORDS = frozenset({"title", "default"})
_MAX_SHOWN_VALUE = 60
# Bounds on what a refusal says, however many mistakes the arguments hold: the first problems, each on a line of
# bounded length, then how many more there are. (60,000 unknown keys once made a 16 MB error text.)
MAX_PROBLEMS = 20
MAX_PROBLEM_CHARS = 1000
# The most JSON a tool call's arguments may take, whatever the transport: HTTP's default body cap (1 MiB,
# TAVUS_MCP_MAX_BODY_BYTES) applied to stdio and in-process calls too.
MAX_ARGUMENTS_BYTES = 1024 * 1024


class InvalidArguments(ValueError):
    """The arguments cannot be sent to Tavus; the message says what to change. Nothing was sent."""


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """pydantic's JSON schema of a model, made once per model class: making it is most of what building a server
    costs (about 100 ms for 18 tools), and it never changes. Read only: `tool_schema` builds new dicts from it."""
    return model.model_json_schema()


def tool_schema(model: type[BaseModel], passthrough: Sequence[str] = ()) -> dict[str, Any]:
    """The model's JSON schema, inlined and without nullable unions, for a tool's inputSchema or outputSchema.

    `passthrough` (TAVUS_PASSTHROUGH_FIELDS) opens the schema to the fields it names, so that clients which check
    arguments against the schema send them too.
    """
    schema = dict(_json_schema(model))
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def simplify(node: Any) -> Any:
        if isinstance(node, list):
            return [simplify(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = simplify(definitions[ref.rsplit("/", 1)[-1]])
            siblings = {key: simplify(value) for key, value in node.items() if key not in ("$ref", *_DROPPED_KEYWORDS)}
            return {**target, **siblings}
        options = node.get("anyOf")
        if isinstance(options, list):
            non_null = [option for option in options if option != {"type": "null"}]
            if len(non_null) == 1:
                rest = {key: value for key, value in node.items() if key != "anyOf"}
                merged = {**simplify(non_null[0]), **{k: simplify(v) for k, v in rest.items()}}
                return {key: value for key, value in merged.items() if key not in _DROPPED_KEYWORDS}
        simplified: dict[str, Any] = {}
        for key, value in node.items():
            # additionalProperties true is JSON Schema's default: saying it costs context and says nothing.
            if key in _DROPPED_KEYWORDS or (key == "additionalProperties" and value is True):
                continue
            # Under "properties", keys are field names (a field may be called "title"), not keywords.
            if key == "properties" and isinstance(value, dict):
                simplified[key] = {name: simplify(sub) for name, sub in value.items()}
            else:
                simplified[key] = simplify(value)
        return simplified

    result: dict[str, Any] = simplify(schema)
    # The tool's own description says what it does; the model's docstring would only repeat it.
    result.pop("description", None)
    for pattern in passthrough:
        _open_schema(result, pattern.split("."))
    return result


def _open_schema(schema: dict[str, Any], parts: list[str]) -> None:
    """Let the schema take the passthrough field `parts` names (a name, or "*" for anything below)."""
    node = schema
    for part in parts[:-1]:
        node = node.get("properties", {}).get(part, {})
        if node.get("type") != "object":
            return  # this tool has no such object: the name is for another tool
    if parts[-1] != "*":
        fields = node.setdefault("properties", {})
        fields.setdefault(parts[-1], {"description": f"Sent to Tavus as given ({PASSTHROUGH_SETTING})."})
        return

    def open_all(level: dict[str, Any]) -> None:
        level["additionalProperties"] = True
        for sub in level.get("properties", {}).values():
            if sub.get("type") == "object":
                open_all(sub)

    open_all(node)


def passes_through(path: Sequence[str], patterns: Sequence[str]) -> bool:
    """Whether the field at `path` (names from the arguments' top level) is one the operator lets through."""
    for pattern in patterns:
        parts = pattern.split(".")
        if parts[-1] == "*":
            if len(path) >= len(parts) and list(path[: len(parts) - 1]) == parts[:-1]:
                return True
        elif list(path) == parts:
            return True
    return False


def parse_arguments(
    model: type[ModelT], arguments: Mapping[str, Any], *, tool: str, passthrough: Sequence[str] = ()
) -> ModelT:
    """Validate a tool call's arguments; InvalidArguments with one line per problem if they do not fit.

    Fields the model does not know but `passthrough` names are split off first and carried on the result
    (`ApiRequest.passthrough`), unless they belong elsewhere in the request: a misplaced field is still a mistake.
    """
    too_large = _oversized(arguments)
    if too_large:
        raise InvalidArguments(invalid_arguments_text(tool, [too_large]))
    unsendable = _unencodable_text(arguments)
    if unsendable:
        raise InvalidArguments(
            invalid_arguments_text(
                tool,
                [
                    f"{unsendable}: contains a character that cannot be sent (an unpaired UTF-16 surrogate); "
                    "remove it or send the text again"
                ],
            )
        )
    decoded = _decode_json_objects(model, dict(arguments))
    extra: dict[str, Any] = {}
    if passthrough and issubclass(model, ApiRequest):
        decoded, extra, problems = _split_passthrough(model, model, decoded, passthrough, ())
        if problems:
            raise InvalidArguments(invalid_arguments_text(tool, problems))
    try:
        validated = model.model_validate(decoded)
    except ValidationError as exc:
        # Only the problems shown are described (each costs a search for close names): the rest are counted.
        errors = exc.errors(include_url=False)
        problems = [_describe(model, error) for error in errors[: MAX_PROBLEMS * 2]]
        raise InvalidArguments(invalid_arguments_text(tool, problems, total=len(errors))) from None
    if extra and isinstance(validated, ApiRequest):
        validated = validated.with_passthrough(extra)
    return validated


def _split_passthrough(
    root: type[ApiRequest],
    model: type[BaseModel],
    arguments: dict[str, Any],
    patterns: Sequence[str],
    path: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(the arguments the model knows, those let through, problems with the latter), level by level."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in arguments.items():
        here = (*path, name)
        field = model.model_fields.get(name)
        nested = _nested_model(field.annotation) if field is not None else None
        if field is None and passes_through(here, patterns) and _fields_elsewhere(root, name, path) is None:
            if root.sent_as == "query" and (isinstance(value, dict | list) or value is None):
                problems.append(
                    f"{'.'.join(here)}: let through by {PASSTHROUGH_SETTING} as a query parameter, so it must be a "
                    f"string, number or boolean, got {_shown(value)}"
                )
            extra[name] = value
        elif nested is not None and isinstance(value, dict):
            inner, inner_extra, inner_problems = _split_passthrough(root, nested, value, patterns, here)
            known[name] = inner
            problems += inner_problems
            if inner_extra:
                extra[name] = inner_extra
        else:
            known[name] = value
    return known, extra, problems


def _json_size(value: Any, limit: int) -> int:
    """The size of `value` as compact JSON in UTF-8, counted only up to just past `limit`."""
    stack = [value]
    size = 0
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2 if item.isascii() else len(item.encode("utf-8", "surrogatepass")) + 2
        elif isinstance(item, Mapping):
            size += 2 + len(item)  # braces, colons and commas, roughly
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += len(json.dumps(item, default=str))
    return size


def _oversized(arguments: Mapping[str, Any]) -> str | None:
    """The problem to report when the arguments are larger than any transport lets through: the field to shorten,
    or, when no field is large, that there are too many."""
    if _json_size(arguments, MAX_ARGUMENTS_BYTES) <= MAX_ARGUMENTS_BYTES:
        return None
    limit = f"more than {MAX_ARGUMENTS_BYTES:,} bytes of JSON, this server's limit for one call"
    sizes = {str(name): _json_size(value, MAX_ARGUMENTS_BYTES) for name, value in arguments.items()}
    largest = max(sizes, key=sizes.__getitem__, default="")
    if sizes.get(largest, 0) < MAX_ARGUMENTS_BYTES // 2:
        return f"arguments: {limit}, in {len(arguments):,} fields; send only the fields the tool takes"
    name = largest if len(largest) <= _MAX_SHOWN_VALUE else largest[: _MAX_SHOWN_VALUE - 3] + "..."
    size = sizes[largest]
    amount = f"over {MAX_ARGUMENTS_BYTES + 1:,}" if size > MAX_ARGUMENTS_BYTES else f"{size:,}"
    return f"arguments: {limit}; {name} alone is {amount} bytes. Shorten it (a summary is enough) and call again"


def _unencodable_text(value: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) that UTF-8 cannot encode, which no HTTP body can carry."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "arguments"
        return None
    items: list[tuple[Any, Any]] = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) else []
    )
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        found = _unencodable_text(key, here) if isinstance(key, str) else None
        found = found or _unencodable_text(item, here)
        if found:
            return found.encode("utf-8", "backslashreplace").decode("ascii")
    return None


def invalid_arguments_text(tool: str, problems: list[str], *, total: int | None = None) -> str:
    """The refusal: one line per problem (at most MAX_PROBLEMS, each at most MAX_PROBLEM_CHARS), and how many
    more there are. `total` counts problems that were not even described."""
    unique = list(dict.fromkeys(problems))
    shown = [_bounded_line(problem) for problem in unique[:MAX_PROBLEMS]]
    hidden = max(len(unique), total or 0) - len(shown)
    if hidden > 0:
        shown.append(f"... and {hidden:,} more problem{'s' if hidden != 1 else ''} like these")
    lines = "\n".join(f"- {problem}" for problem in shown)
    return f"Invalid arguments for {tool}; nothing was sent to Tavus. Fix these and call it again:\n{lines}"


def _bounded_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_PROBLEM_CHARS else text[: MAX_PROBLEM_CHARS - 3] + "..."


def _decode_json_objects(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Some clients send a nested object as a JSON string; decode those for fields that take an object or list."""
    for name, value in arguments.items():
        field = model.model_fields.get(name)
        if field is None or not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
            continue
        if not _takes_container(field.annotation):
            continue  # a text field may well hold text that looks like JSON
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            continue
        if isinstance(decoded, dict | list):
            arguments[name] = decoded
    return arguments


def _takes_container(annotation: Any) -> bool:
    """Whether a field's type is (or may be) an object or a list."""
    if _nested_model(annotation) is not None:
        return True
    origin = getattr(annotation, "__origin__", None)
    if origin in (list, dict):
        return True
    return any(_takes_container(arg) for arg in getattr(annotation, "__args__", ()))


def _model_at(model: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The nested model that holds the field at `path` (the root model for a top-level field)."""
    current: type[BaseModel] = model
    for part in path:
        if not isinstance(part, str):
            continue
        field = current.model_fields.get(part)
        annotation = field.annotation if field else None
        nested = _nested_model(annotation)
        if nested is None:
            return None
        current = nested
    return current


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _fields_elsewhere(model: type[BaseModel], name: str, here: tuple[str | int, ...]) -> str | None:
    """Where in the model a field of this name does belong, when it was given at the wrong level."""

    def search(current: type[BaseModel], path: tuple[str, ...]) -> str | None:
        if name in current.model_fields and path != here:
            return ".".join(path) if path else "the top level"
        for field_name, field in current.model_fields.items():
            nested = _nested_model(field.annotation)
            if nested is not None:
                found = search(nested, (*path, field_name))
                if found:
                    return found
        return None

    return search(model, ())


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_SHOWN_VALUE else text[: _MAX_SHOWN_VALUE - 3] + "..."


def _describe(model: type[BaseModel], error: Any) -> str:
    """One line for one validation error: the field, what was wrong, what is allowed."""
    loc: tuple[str | int, ...] = tuple(error["loc"])
    kind: str = error["type"]
    where = ".".join(str(part) for part in loc) or "arguments"
    if len(where) > _MAX_SHOWN_VALUE:
        where = where[: _MAX_SHOWN_VALUE - 3] + "..."  # an unknown key can be as long as the model likes
    value = error.get("input")

    if kind == "extra_forbidden":
        parent_path = loc[:-1]
        name = str(loc[-1])
        container = _model_at(model, parent_path)
        allowed = sorted(container.model_fields) if container else []
        home = _fields_elsewhere(model, name, tuple(str(p) for p in parent_path))
        if home and home != "the top level":
            shown = value if len(json.dumps(value, default=str)) <= _MAX_SHOWN_VALUE else "..."
            example = json.dumps(_nest(home.split("."), {name: shown}), ensure_ascii=False, default=str)
            return f"{where}: not a field at this level; it belongs under {home}: {example}"
        if home == "the top level":
            return f"{where}: not a field of {'.'.join(map(str, parent_path))}; it belongs at the top level"
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"{where}: unknown field.{hint} Allowed here: {', '.join(allowed)}. If Tavus has added it since this "
            f"server was released, its operator can let it through with {PASSTHROUGH_SETTING}"
        )

    if kind in ("value_error", "assertion_error"):
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"{where}: {message}"

    if kind == "missing":
        return f"{where}: is required"
    expected = _EXPECTED.get(kind)
    if expected:
        return f"{where}: {expected}, got {_shown(value)}"
    if kind == "literal_error":
        return f"{where}: {error['msg'].replace('Input should be', 'must be')}; got {_shown(value)}"
    if kind == "greater_than_equal":
        return f"{where}: must be at least {error['ctx']['ge']}, got {_shown(value)}"
    if kind == "less_than_equal":
        return f"{where}: must be at most {error['ctx']['le']}, got {_shown(value)}"
    if kind == "string_too_long":
        return f"{where}: must be at most {error['ctx']['max_length']} characters long"
    if kind in ("string_too_short", "string_pattern_mismatch"):
        container = _model_at(model, loc[:-1])
        field = container.model_fields.get(str(loc[-1])) if container else None
        if field is not None and field.is_required():
            return f"{where}: must not be empty or blank"
        return f"{where}: must not be empty or blank; leave the field out instead"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        container = _model_at(model, loc)
        fields = ", ".join(sorted(container.model_fields)) if container else ""
        return f"{where}: must be an object (fields: {fields}), got {_shown(value)}"
    return f"{where}: {error['msg']}, got {_shown(value)}"


_EXPECTED = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "list_type": 'must be a list of strings, such as ["sales"]',
}


def _nest(path: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = leaf
    for part in reversed(path):
        nested = {part: nested}
    return nested
