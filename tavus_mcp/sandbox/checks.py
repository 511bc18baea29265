"""The emulator's request checks, from the reference tables: a body's fields and types, the rules the schema
states in words, a persona and a JSON Patch, query parameters and paging. A request that breaks the API's schema
raises `ApiError` with a violation, which the emulator records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonpointer
from starlette.requests import Request

from tavus_mcp.sandbox.reference import (
    _CODES,
    _LANGUAGES,
    DEPRECATED_PROPERTY_FIELDS,
    MAX_INTEGER,
    PATCH_MEMBERS,
    PATCH_OPERATIONS,
    PERSONA_BODY_FIELDS,
    PERSONA_LAYER_FIELDS,
    PERSONA_LAYER_VALUES,
    PIPELINE_MODES,
    RECORDING_PROVIDERS,
    RECORDING_STORAGE_FIELDS,
    RETRIEVAL_STRATEGIES,
)


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], *, violation: str | None = None) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body
        self.violation = violation


def _bad_request(message: str, *, violation: bool = True) -> ApiError:
    return ApiError(400, {"error": message}, violation=message if violation else None)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "string[]" if all(isinstance(item, str) for item in value) else "array"
    if value is None:
        return "null"
    return "number"


def _check_fields(body: dict[str, Any], types: dict[str, str], prefix: str, added: set[str]) -> None:
    for name, value in body.items():
        expected = types.get(name)
        if expected is None:
            if f"{prefix}{name}" in added:
                continue
            raise _bad_request(f"Unknown field: {prefix}{name}")
        actual = _json_type(value)
        if actual != expected:
            raise _bad_request(f"Invalid type for {prefix}{name}: expected {expected}, got {actual}")


def _check_recording_storage(storage: dict[str, Any]) -> None:
    where = "properties.recording_storage"
    provider = storage.get("provider")
    if provider not in RECORDING_PROVIDERS:
        raise _bad_request(f"Invalid {where}.provider: must be one of {', '.join(RECORDING_PROVIDERS)}")
    needed, optional = RECORDING_PROVIDERS[provider]
    for name, value in storage.items():
        if name in RECORDING_STORAGE_FIELDS and name != "provider" and name not in (*needed, *optional):
            raise _bad_request(f"Invalid {where}.{name}: not a field of provider {provider}")
        if isinstance(value, str) and not value.strip():
            raise _bad_request(f"Invalid {where}.{name}: must not be empty")
    missing = [name for name in needed if name not in storage]
    if missing:
        raise _bad_request(f"Invalid {where}: provider {provider} needs {', '.join(missing)}")


def _check_create_rules(body: dict[str, Any], properties: dict[str, Any]) -> None:
    if "replica_id" not in body and "persona_id" not in body:
        raise _bad_request("Either replica_id or persona_id is required")
    for name in ("replica_id", "persona_id", "conversation_name"):
        if name in body and not body[name].strip():
            raise _bad_request(f"Invalid {name}: must not be empty")
    strategy = body.get("document_retrieval_strategy")
    if strategy is not None and strategy not in RETRIEVAL_STRATEGIES:
        raise _bad_request(f"Invalid document_retrieval_strategy: must be one of {', '.join(RETRIEVAL_STRATEGIES)}")
    if "max_participants" in body and not 2 <= body["max_participants"] <= MAX_INTEGER:
        raise _bad_request("Invalid max_participants: must be at least 2")
    if "callback_url" in body:
        try:
            parts = urlsplit(body["callback_url"])
            valid = parts.scheme in ("http", "https") and bool(parts.netloc)
        except ValueError:
            valid = False
        if not valid:
            raise _bad_request("Invalid callback_url: must be an absolute http(s) URL")
    for name in ("max_call_duration", "participant_left_timeout", "participant_absent_timeout"):
        if name in properties and not 0 <= properties[name] <= MAX_INTEGER:
            raise _bad_request(f"Invalid properties.{name}: must be a non-negative integer")
    language = properties.get("language")
    if language is not None and language.casefold() not in _LANGUAGES:
        # "es", "eng", "pt-BR", "zh_Hant": a code where the API wants a full name.
        code = language.strip()
        looks_like_code = (
            re.fullmatch(r"[A-Za-z]{2}|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})+", code) is not None
            or code.casefold() in _CODES
        )
        raise _bad_request(
            f"Invalid language {language!r}: use the full language name or 'multilingual'", violation=looks_like_code
        )
    given = [name for name in DEPRECATED_PROPERTY_FIELDS if name in properties]
    if given and len(given) != len(DEPRECATED_PROPERTY_FIELDS):
        raise _bad_request("recording_s3_bucket_name, recording_s3_bucket_region and aws_assume_role_arn go together")


def _check_persona(body: dict[str, Any], added: set[str], *, patched: bool = False) -> None:
    """A persona's fields, as created or as a patch leaves them: documented, of their types and values."""
    _check_fields(body, PERSONA_BODY_FIELDS, "", added)
    for name in ("persona_name", "system_prompt", "default_replica_id", "objectives_id", "guardrails_id"):
        if name in body and not body[name].strip():
            raise _bad_request(f"Invalid {name}: must not be empty")
    if "pipeline_mode" in body and body["pipeline_mode"] not in PIPELINE_MODES:
        raise _bad_request(f"Invalid pipeline_mode: must be one of {', '.join(PIPELINE_MODES)}")
    if "system_prompt" not in body and body.get("pipeline_mode") != "echo":
        # After a patch only Tavus knows what the persona held: the server cannot have caught it.
        raise _bad_request("system_prompt is required unless pipeline_mode is echo", violation=not patched)
    for layer, settings in body.get("layers", {}).items():
        fields = PERSONA_LAYER_FIELDS.get(layer)
        if fields is None:
            if f"layers.{layer}" in added:
                continue
            raise _bad_request(f"Unknown field: layers.{layer}")
        if not isinstance(settings, dict):
            raise _bad_request(f"Invalid type for layers.{layer}: expected object, got {_json_type(settings)}")
        for name, value in settings.items():
            expected, actual = fields.get(name), _json_type(value)
            # An empty list is every kind of list.
            if expected is not None and actual != expected and not (expected == "array" and isinstance(value, list)):
                raise _bad_request(f"Invalid type for layers.{layer}.{name}: expected {expected}, got {actual}")
            allowed = PERSONA_LAYER_VALUES.get(f"{layer}.{name}")
            if allowed is not None and value not in allowed:
                raise _bad_request(f"Invalid layers.{layer}.{name}: must be one of {', '.join(allowed)}")


def _check_patch(body: Any) -> None:
    """A JSON Patch document as the reference describes it; 422 otherwise, as Tavus answers."""

    def invalid(why: str) -> ApiError:
        return ApiError(422, {"message": "Invalid JSON patch format"}, violation=f"Invalid JSON patch: {why}")

    if not isinstance(body, list) or not body:
        raise invalid("the body must be a non-empty array of operations")
    for index, operation in enumerate(body):
        if not isinstance(operation, dict) or set(operation) - set(PATCH_MEMBERS):
            raise invalid(f"operation {index} must be an object of {', '.join(PATCH_MEMBERS)}")
        op, path = operation.get("op"), operation.get("path")
        if op not in PATCH_OPERATIONS:
            raise invalid(f"operation {index}: op must be one of {', '.join(PATCH_OPERATIONS)}")
        pointers = [path, operation["from"]] if "from" in operation else [path]
        if not all(isinstance(p, str) and p.startswith("/") for p in pointers):
            raise invalid(f"operation {index}: path and from must be JSON Pointers into the persona")
        if any(_first_segment(pointer) not in PERSONA_BODY_FIELDS for pointer in pointers):
            raise invalid(f"operation {index}: {path} is not a field a patch can change")
        for member, needed in (("value", op in ("add", "replace", "test")), ("from", op in ("copy", "move"))):
            if needed != (member in operation):
                raise invalid(f"operation {index}: {op} {'needs' if needed else 'takes no'} {member}")


def _first_segment(pointer: Any) -> str | None:
    try:
        parts = jsonpointer.JsonPointer(pointer).parts
    except jsonpointer.JsonPointerException:
        return None
    return str(parts[0]) if parts else None


def _check_query(query: Mapping[str, str], parameters: dict[str, str | tuple[str, ...]], added: set[str]) -> None:
    """Every query parameter is one the operation takes, of its type (limit and page are bounded by _paging)."""
    for name, value in query.items():
        kind = parameters.get(name)
        if kind is None:
            if name in added:
                continue
            raise _bad_request(f"Unknown query parameter: {name}")
        if isinstance(kind, tuple) and value not in kind:
            raise _bad_request(f"Invalid {name}: must be one of {', '.join(kind)}")
        if kind == "boolean" and value not in ("true", "false"):
            raise _bad_request(f"Invalid {name}: must be true or false")


def _query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name) == "true"


def _paging(request: Request) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        # isascii: str.isdigit() also accepts "²" and other digits int() refuses or reads differently.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not 1 <= int(raw) <= MAX_INTEGER:
            raise _bad_request(f"Invalid {name}: must be an integer from 1 to {MAX_INTEGER}")
        return int(raw)

    return number("limit", 10), number("page", 1)
