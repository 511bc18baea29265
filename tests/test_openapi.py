"""Tavus's OpenAPI document drives these tests, so that the server follows today's API rather than the seed's.

For every field of the create body and every query parameter of the endpoints the server uses, as the document (the
repository's copy, tests/reference/tavus-openapi.yml) gives them: the tool's input schema takes it, typed as
documented and no stricter; an MCP call with it reaches Tavus (the emulator) as exactly that field; and nothing the
tools send is undocumented. The emulator's own field tables are held against the document, and its answers are
validated against the document's response schemas, closed (no field the reference does not list) and covered (every
field it lists turns up). Tests are generated from the document: a field Tavus adds to it fails here until the
server handles it.

The copy travels with the code, so every test runs from a plain clone. Where the shared original is present
(../shared/tavus-api beside the checkout, or TAVUS_SHARED_DIR), a test fails if the copy is not the same file:
refresh it as docs/development.md says.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import jsonschema
import pytest
import yaml
from mcp import Client
from pydantic import BaseModel

from tavus_mcp.models.common import MAX_WHOLE_NUMBER
from tavus_mcp.sandbox import TavusEmulator
from tavus_mcp.sandbox import reference as emulator_tables
from tests.conftest import Sandbox, text_of
from tests.test_emulator_properties import http_to
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parent.parent
OPENAPI = ROOT / "tests" / "reference" / "tavus-openapi.yml"
SHARED = Path(os.environ.get("TAVUS_SHARED_DIR") or ROOT.parent / "shared")
SHARED_OPENAPI = SHARED / "tavus-api" / "tavus-openapi.yml"
# libyaml, where PyYAML has it (its wheels do): the pure-Python loader takes seconds over this document, in every
# worker. A safe loader either way.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DOC: dict[str, Any] = yaml.load(OPENAPI.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506

# The endpoints the server uses, by the tool that calls each.
OPERATIONS = {
    "create_conversation": ("post", "/v2/conversations"),
    "get_conversation": ("get", "/v2/conversations/{conversation_id}"),
    "list_conversations": ("get", "/v2/conversations"),
    "end_conversation": ("post", "/v2/conversations/{conversation_id}/end"),
    "delete_conversation": ("delete", "/v2/conversations/{conversation_id}"),
    "list_replicas": ("get", "/v2/replicas"),
    "list_personas": ("get", "/v2/personas"),
    "create_persona": ("post", "/v2/personas"),
    "get_persona": ("get", "/v2/personas/{persona_id}"),
    "update_persona": ("patch", "/v2/personas/{persona_id}"),
    "delete_persona": ("delete", "/v2/personas/{persona_id}"),
}
# Documented on Tavus's other pages rather than in the reference (NOTES.md, quoted in tests/reference/README.md).
DOCUMENTED_ELSEWHERE = {"enable_dynamic_greeting": {"type": "boolean"}}
# Arguments that are the server's own and never reach Tavus.
SERVER_ONLY = {"get_conversation": {"full"}}
# Ids the emulator has, for the reference's example ids it does not.
STOCK_REPLICA = "rfe12d8b9597"
STOCK_PERSONA = "p9a95912"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = DOC["components"]["schemas"][name]
    return schema


def _operation(tool: str) -> dict[str, Any]:
    method, path = OPERATIONS[tool]
    operation: dict[str, Any] = DOC["paths"][path][method]
    return operation


def _create_body_schema() -> dict[str, Any]:
    return _resolve(_operation("create_conversation")["requestBody"]["content"]["application/json"]["schema"])


def _body_fields(schema: dict[str, Any] | None = None, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every field of the create body, nested ones by dotted name ('properties.recording_storage.provider')."""
    fields: dict[str, dict[str, Any]] = {}
    for name, sub in (schema or _create_body_schema()).get("properties", {}).items():
        resolved = _resolve(sub)
        fields[prefix + name] = resolved
        if resolved.get("type") == "object" and "properties" in resolved:
            fields.update(_body_fields(resolved, f"{prefix}{name}."))
    return fields


def _parameters(tool: str) -> dict[str, dict[str, Any]]:
    """The operation's query and path parameters (those of its path too), by name."""
    _, path = OPERATIONS[tool]
    item = DOC["paths"][path]
    return {
        parameter["name"]: parameter
        for parameter in [*item.get("parameters", []), *_operation(tool).get("parameters", [])]
    }


def _query_parameters(tool: str) -> dict[str, dict[str, Any]]:
    return {name: p for name, p in _parameters(tool).items() if p["in"] == "query"}


BODY_FIELDS = sorted(_body_fields())
QUERY_PARAMETERS = [(tool, name) for tool in OPERATIONS for name in sorted(_query_parameters(tool))]
PATH_PARAMETERS = [
    (tool, name) for tool in OPERATIONS for name, p in sorted(_parameters(tool).items()) if p["in"] == "path"
]


@pytest.fixture(scope="module")
def tool_schemas() -> Iterator[dict[str, dict[str, Any]]]:
    """Each tool's inputSchema as the server lists it (default settings)."""
    from tavus_mcp.arguments import tool_schema
    from tavus_mcp.catalog import TOOLS

    yield {spec.name: tool_schema(spec.input_model) for spec in TOOLS}


def _at(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in dotted.split("."):
        node = (node or {}).get("properties", {}).get(part)
    return node


def _json_type(schema: dict[str, Any]) -> str:
    kind = str(schema.get("type", "object"))
    if kind == "array":
        return f"{_resolve(schema.get('items', {})).get('type', 'any')}[]"
    return kind


def _documented_values(schema: dict[str, Any]) -> list[str]:
    """The values a string takes, from its enum or from 'Possible values: `a`, `b`' in its description."""
    if "enum" in schema:
        return [str(value) for value in schema["enum"]]
    found = re.search(r"Possible values: ([^.]*)", schema.get("description", ""))
    return re.findall(r"[a-z_]+", found.group(1)) if found else []


# The tool schemas: every documented field, as documented and no stricter


@pytest.mark.parametrize("field", BODY_FIELDS)
def test_the_tool_takes_every_documented_body_field(tool_schemas: dict[str, dict[str, Any]], field: str) -> None:
    documented = _body_fields()[field]
    listed = _at(tool_schemas["create_conversation"], field)
    assert listed is not None, f"create_conversation does not take {field}, which Tavus documents"
    assert _json_type(listed) == _json_type(documented), field
    values = _documented_values(documented)
    if "enum" in listed:
        assert set(listed["enum"]) == set(values), (field, listed["enum"], values)
    if "minimum" in documented:
        assert listed.get("minimum") == documented["minimum"], field
    # A limit of the server's own only where a larger number cannot be meant (see MAX_WHOLE_NUMBER).
    assert listed.get("maximum", MAX_WHOLE_NUMBER) >= MAX_WHOLE_NUMBER, field
    parent, _, name = field.rpartition(".")
    if name in (_body_fields()[parent] if parent else _create_body_schema()).get("required", []):
        listed_parent = (
            _at(tool_schemas["create_conversation"], parent) if parent else tool_schemas["create_conversation"]
        )
        assert listed_parent is not None and name in listed_parent.get("required", []), field
    if documented.get("deprecated"):
        replacement = re.search(r"Use `(\w+)`", documented.get("description", ""))
        assert replacement is not None
        assert listed.get("deprecated") is True, field
        assert listed["description"].startswith("Deprecated"), listed["description"]
        assert replacement.group(1) in listed["description"], listed["description"]


@pytest.mark.parametrize(("tool", "name"), QUERY_PARAMETERS + PATH_PARAMETERS)
def test_the_tool_takes_every_documented_parameter(
    tool_schemas: dict[str, dict[str, Any]], tool: str, name: str
) -> None:
    documented = _parameters(tool)[name]
    listed = tool_schemas[tool]["properties"].get(name)
    assert listed is not None, f"{tool} does not take {name}, which Tavus documents for {OPERATIONS[tool][1]}"
    assert listed["type"] == documented["schema"]["type"], (tool, name)
    if "enum" in listed:
        values = _documented_values(documented["schema"]) or _documented_values(documented)
        assert set(listed["enum"]) == set(values), (tool, name)
    assert listed.get("maximum", MAX_WHOLE_NUMBER) >= MAX_WHOLE_NUMBER, (tool, name)
    assert (name in tool_schemas[tool].get("required", [])) == bool(documented.get("required")), (tool, name)


@pytest.mark.parametrize("tool", sorted(OPERATIONS))
def test_nothing_undocumented_is_sent(tool_schemas: dict[str, dict[str, Any]], tool: str) -> None:
    schema = tool_schemas[tool]
    if tool == "create_conversation":

        def dotted(node: dict[str, Any], prefix: str = "") -> set[str]:
            names = set()
            for name, sub in node.get("properties", {}).items():
                names.add(prefix + name)
                if sub.get("type") == "object":
                    names |= dotted(sub, f"{prefix}{name}.")
            return names

        taken = dotted(schema)
        documented = {*_body_fields(), *DOCUMENTED_ELSEWHERE}
    elif tool == "create_persona":
        # `layers` is one open object in the schema; the model that checks it names each field it knows.
        from tavus_mcp.models.personas import PersonaLayers

        taken = set(schema["properties"]) | {
            f"layers.{layer}.{name}"
            for layer, field in PersonaLayers.model_fields.items()
            for name in _nested_model(field.annotation).model_fields
        }
        documented = set(_persona_fields())
    elif tool == "update_persona":
        # The body is the list of operations: the members of one, and the path parameter.
        operation = schema["properties"]["operations"]["items"]
        taken = {"persona_id", *(f"operations.{name}" for name in operation["properties"])}
        documented = {*_parameters(tool), *(f"operations.{name}" for name in _patch_operation_schema()["properties"])}
        documented.add("operations.from")  # RFC 6902: copy and move, which the reference lists, take it
    else:
        taken = set(schema["properties"]) - SERVER_ONLY.get(tool, set())
        documented = set(_parameters(tool))
    assert taken - documented == set()


# Through the protocol: every documented field and parameter reaches Tavus as given


def _examples() -> list[dict[str, Any]]:
    content = _operation("create_conversation")["requestBody"]["content"]["application/json"]
    return [copy.deepcopy(example["value"]) for example in content.get("examples", {}).values()]


def _with_stock_ids(body: dict[str, Any]) -> dict[str, Any]:
    """A reference example, naming the emulator's replica and persona instead of the reference's."""
    if "replica_id" in body:
        body["replica_id"] = STOCK_REPLICA
    if "persona_id" in body:
        body["persona_id"] = STOCK_PERSONA
    return body


def _value_for(field: str, schema: dict[str, Any]) -> Any:
    """A valid value: the document's example when it has the documented type, or one made from the type."""
    example = schema.get("example")
    kind = _json_type(schema)
    fits = {
        "boolean": isinstance(example, bool),
        "integer": isinstance(example, int) and not isinstance(example, bool),
        "string": isinstance(example, str) and example.strip() != "",
        "string[]": isinstance(example, list) and all(isinstance(item, str) and item for item in example),
        "object": isinstance(example, dict) and bool(example),
        "object[]": isinstance(example, list) and bool(example) and all(isinstance(item, dict) for item in example),
        "any[]": isinstance(example, list) and bool(example),
    }.get(kind, False)
    if fits:
        return example
    values = _documented_values(schema)
    tool = {"name": "example_tool", "description": "An example."}
    return {
        "boolean": True,
        "integer": max(schema.get("minimum", 0), 60),
        "string": values[0] if values else f"example-{field.rpartition('.')[2]}",
        "string[]": ["example"],
        "object": {"example": "value"},
        "object[]": [tool],
        "any[]": [tool],
    }[kind]


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        merged[name] = (
            _merge(merged[name], value) if isinstance(value, dict) and isinstance(merged.get(name), dict) else value
        )
    return merged


def _has(body: dict[str, Any], dotted: str) -> bool:
    node: Any = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _body_with(field: str) -> dict[str, Any]:
    """A valid create body holding `field`: the first reference example that has it, or one made for it."""
    example = next((body for body in _examples() if _has(body, field)), None)
    if example is not None:
        return _with_stock_ids(example)
    fields = _body_fields()
    body: dict[str, Any] = {"replica_id": STOCK_REPLICA}
    # Fields that only go together: the deprecated flat S3 fields.
    together = (
        [name for name, schema in fields.items() if schema.get("deprecated")]
        if fields[field].get("deprecated")
        else [field]
    )
    for name in together:
        body = _merge(body, _nest(name, _value_for(name, fields[name])))
    return body


async def test_every_reference_example_body_reaches_tavus(mcp: Client, sandbox: Sandbox) -> None:
    for body in map(_with_stock_ids, _examples()):
        result = await mcp.call_tool("create_conversation", {**body, "test_mode": True})
        assert not result.is_error, (body, text_of(result))
    assert sandbox.creates() == [{**body, "test_mode": True} for body in map(_with_stock_ids, _examples())]


@pytest.mark.parametrize("field", [*BODY_FIELDS, *DOCUMENTED_ELSEWHERE])
async def test_every_documented_body_field_reaches_tavus(mcp: Client, sandbox: Sandbox, field: str) -> None:
    if field in DOCUMENTED_ELSEWHERE:
        body = _merge({"replica_id": STOCK_REPLICA}, _nest(field, _value_for(field, DOCUMENTED_ELSEWHERE[field])))
    else:
        body = _body_with(field)
    arguments = body if field == "test_mode" else {**body, "test_mode": True}

    result = await mcp.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [arguments]


def _parameter_value(tool: str, name: str, schema: dict[str, Any]) -> Any:
    known = {"replica_ids": "rfe12d8b9597,r79e1c033f", "model_name": "phoenix-4", "limit": 2, "page": 1}
    if name in known:
        return known[name]
    values = _documented_values(schema) or _documented_values(_parameters(tool)[name])
    return {"boolean": True, "integer": 1, "string": values[0] if values else "example"}[schema["type"]]


@pytest.mark.parametrize(("tool", "name"), QUERY_PARAMETERS)
async def test_every_documented_query_parameter_reaches_tavus(
    mcp: Client, sandbox: Sandbox, tool: str, name: str
) -> None:
    value = _parameter_value(tool, name, _parameters(tool)[name]["schema"])
    arguments: dict[str, Any] = {name: value}
    path = OPERATIONS[tool][1]
    if "{conversation_id}" in path:
        created = await mcp.call_tool("create_conversation", {"replica_id": STOCK_REPLICA, "test_mode": True})
        assert created.structured_content is not None
        arguments["conversation_id"] = created.structured_content["conversation_id"]
        path = path.replace("{conversation_id}", arguments["conversation_id"])

    result = await mcp.call_tool(tool, arguments)

    assert not result.is_error, text_of(result)
    sent = "true" if value is True else str(value)
    assert [seen.query for seen in sandbox.requests_to(OPERATIONS[tool][0].upper(), path)] == [{name: sent}]


# The emulator: its tables are the document's, and its answers carry the current fields


def test_the_emulators_request_tables_are_the_reference() -> None:
    fields = _body_fields()

    def types(prefix: str) -> dict[str, str]:
        return {
            name.removeprefix(prefix): _json_type(schema)
            for name, schema in fields.items()
            if name.startswith(prefix) and "." not in name.removeprefix(prefix)
        }

    top = {name: kind for name, kind in types("").items()}
    assert {**top, **{n: s["type"] for n, s in DOCUMENTED_ELSEWHERE.items()}} == emulator_tables.BODY_FIELDS
    assert types("properties.") == emulator_tables.PROPERTY_FIELDS
    assert types("properties.recording_storage.") == emulator_tables.RECORDING_STORAGE_FIELDS
    deprecated = [name.removeprefix("properties.") for name, schema in fields.items() if schema.get("deprecated")]
    assert list(emulator_tables.DEPRECATED_PROPERTY_FIELDS) == deprecated
    assert list(emulator_tables.RETRIEVAL_STRATEGIES) == _documented_values(fields["document_retrieval_strategy"])
    providers = fields["properties.recording_storage.provider"]["enum"]
    assert list(emulator_tables.RECORDING_PROVIDERS) == providers
    # Each identifier says which providers use it ("Used when `provider` is `s3` or `gcs`").
    for name in emulator_tables.RECORDING_STORAGE_FIELDS.keys() - {"provider"}:
        description = fields[f"properties.recording_storage.{name}"]["description"]
        used_by = {p for p in providers if f"`{p}`" in description.partition("Used when")[2]}
        taking = {
            p for p, (needed, optional) in emulator_tables.RECORDING_PROVIDERS.items() if name in needed + optional
        }
        assert taking == used_by, name
    for tool in OPERATIONS:
        method, path = OPERATIONS[tool]
        documented = _query_parameters(tool)
        table = emulator_tables.QUERY_PARAMETERS[(method.upper(), path)]
        assert set(table) == set(documented), tool
        for name, kind in table.items():
            schema = documented[name]["schema"]
            if isinstance(kind, tuple):
                assert list(kind) == (_documented_values(schema) or _documented_values(documented[name])), name
            else:
                assert kind == schema["type"], name


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as a JSON schema that refuses fields it does not list (unless it says otherwise)."""
    schema = dict(_resolve(schema))
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "properties" in schema:
        schema["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
        schema.setdefault("additionalProperties", False)
    if "items" in schema:
        schema["items"] = _closed(schema["items"])
    return schema


def _response_schema(tool: str, status: str = "200") -> dict[str, Any]:
    return _closed(_operation(tool)["responses"][status]["content"]["application/json"]["schema"])


def _fields_in(value: Any, schema: dict[str, Any], prefix: str = "") -> set[str]:
    """The dotted names of the documented fields that occur in an answer."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _fields_in(item, schema.get("items", {}), prefix)
    elif isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found.add(prefix + name)
                found |= _fields_in(value[name], sub, f"{prefix}{name}.")
    return found


def _documented_fields(schema: dict[str, Any], prefix: str = "") -> set[str]:
    names: set[str] = set()
    schema = schema.get("items", schema)
    for name, sub in schema.get("properties", {}).items():
        names.add(prefix + name)
        names |= _documented_fields(sub, f"{prefix}{name}.")
    return names


# What the emulator's stock does not have, and so never answers with (fields under these names, too).
NEVER_IN_THE_SANDBOX = {
    "list_replicas": ("data.thumbnail_video_url",),
    "list_personas": tuple(
        f"data.layers.{name}"
        for name in ("llm.base_url", "llm.tools", "tts.voice_settings", "tts.tts_emotion_control", "tts.tts_model_name",
                     "tts.pronunciation_dictionary_id", "perception.visual_", "perception.audio_", "stt")
    ),
}  # fmt: skip
NEVER_IN_THE_SANDBOX["get_persona"] = (
    *NEVER_IN_THE_SANDBOX["list_personas"],
    "data.layers.llm.headers",
    "data.layers.llm.extra_body",
)


def _answers(tool: str) -> list[Any]:
    """The emulator's answers to the tool's endpoint, over what a call can ask of it."""
    emulator = TavusEmulator()
    with http_to(emulator) as request:
        full = {
            "replica_id": STOCK_REPLICA,
            "persona_id": STOCK_PERSONA,
            "callback_url": "https://example.com/hook",
            "require_auth": True,
        }
        created = request("POST", "/v2/conversations", json=full).json()
        plain = request("POST", "/v2/conversations", json={"replica_id": STOCK_REPLICA}).json()
        one = f"/v2/conversations/{created['conversation_id']}"
        if tool == "create_conversation":
            return [created, plain]
        if tool == "get_conversation":
            request("POST", f"{one}/end")
            return [request("GET", one).json(), request("GET", one, params={"verbose": "true"}).json()]
        if tool == "list_conversations":
            return [request("GET", "/v2/conversations").json()]
        if tool == "list_replicas":
            return [request("GET", "/v2/replicas", params=params).json() for params in ({}, {"verbose": "true"})]
        if tool == "create_persona":
            return [request("POST", "/v2/personas", json={"persona_name": "Buyer", "system_prompt": "Be one."}).json()]
        if tool == "get_persona":
            return [request("GET", f"/v2/personas/{p['persona_id']}").json() for p in emulator.personas]
        assert tool == "list_personas"
        return [request("GET", "/v2/personas").json()]


@pytest.mark.parametrize(
    "tool",
    [
        "create_conversation",
        "get_conversation",
        "list_conversations",
        "list_replicas",
        "list_personas",
        "create_persona",
        "get_persona",
    ],
)
def test_the_emulators_answers_carry_the_current_fields(tool: str) -> None:
    schema = _response_schema(tool)
    answers = _answers(tool)
    for answer in answers:
        jsonschema.validate(answer, schema)  # nothing the reference does not list, each of its type
    seen = set().union(*(_fields_in(answer, schema) for answer in answers))
    excused = NEVER_IN_THE_SANDBOX.get(tool, ())
    missing = {name for name in _documented_fields(schema) - seen if not name.startswith(excused)}
    assert missing == set(), f"the reference lists these, and the emulator never answers with them: {missing}"


# get_conversation reads the reference's own example of a verbose answer as a review needs it


async def test_the_references_verbose_example_reads_as_a_review(mcp: Client, sandbox: Sandbox) -> None:
    example = _operation("get_conversation")["responses"]["200"]["content"]["application/json"]["examples"]
    answer = example["verbose"]["value"]
    path = f"/v2/conversations/{answer['conversation_id']}"
    sandbox.faults.append(Fault(status=200, body=json.dumps(answer), content_type="application/json", path=path))

    result = await mcp.call_tool("get_conversation", {"conversation_id": answer["conversation_id"], "verbose": True})

    assert not result.is_error, text_of(result)
    transcript = next(e for e in answer["events"] if e["event_type"] == "application.transcription_ready")
    turns = transcript["properties"]["transcript"]
    assert text_of(result).splitlines()[-4:] == [
        "Shut down: participant_left_timeout.",
        "Transcript (2 turns; the system prompt is left out):",
        f"[0:00] Replica: {turns[0]['content']}",
        f"[0:27] Participant: {turns[1]['content']}",
    ]
    assert result.structured_content is not None
    assert result.structured_content["shutdown_reason"] == "participant_left_timeout"
    assert result.structured_content["transcript"] == turns


# Personas: create_persona takes the reference's body, update_persona its JSON Patch, and both reach Tavus as given


def _persona_schema() -> dict[str, Any]:
    return _resolve(_operation("create_persona")["requestBody"]["content"]["application/json"]["schema"])


def _persona_fields() -> dict[str, dict[str, Any]]:
    """Every field of the create-persona body, nested ones by dotted name ('layers.llm.api_key')."""
    return _body_fields(_persona_schema())


def _patch_operation_schema() -> dict[str, Any]:
    return _resolve(_operation("update_persona")["requestBody"]["content"]["application/json"]["schema"]["items"])


# The reference's "Full Customizations" example puts document_ids and document_tags inside `layers`, where no layer
# has those names: the server refuses it as published (see below); elsewhere the fields are moved where documented.
MISPLACED_IN_THE_EXAMPLE = ("document_ids", "document_tags")


def _persona_examples(*, as_published: bool = False) -> list[dict[str, Any]]:
    content = _operation("create_persona")["requestBody"]["content"]["application/json"]
    examples = []
    for example in content["examples"].values():
        body = copy.deepcopy(example["value"])
        if "default_replica_id" in body:
            body["default_replica_id"] = STOCK_REPLICA
        for name in () if as_published else MISPLACED_IN_THE_EXAMPLE:
            if name in body.get("layers", {}):
                body[name] = body["layers"].pop(name)
        examples.append(body)
    return examples


def _layer_model(layer: str) -> type[BaseModel]:
    from tavus_mcp.models.personas import PersonaLayers

    return _nested_model(PersonaLayers.model_fields[layer].annotation)


def _nested_model(annotation: Any) -> type[BaseModel]:
    return next(arg for arg in get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel))


def _literals(annotation: Any) -> set[Any]:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return set().union(*(_literals(arg) for arg in get_args(annotation)))


PERSONA_FIELDS = sorted(_persona_fields())


@pytest.mark.parametrize("field", PERSONA_FIELDS)
def test_create_persona_takes_every_documented_field(tool_schemas: dict[str, dict[str, Any]], field: str) -> None:
    documented = _persona_fields()[field]
    schema = tool_schemas["create_persona"]
    head, _, rest = field.partition(".")
    values = _documented_values(documented)
    if not rest:
        listed = schema["properties"].get(head)
        assert listed is not None, f"create_persona does not take {field}, which Tavus documents"
        assert _json_type(listed) == _json_type(documented), field
        assert set(listed.get("enum", values)) == set(values), field
        assert head not in schema.get("required", []), field  # the reference requires nothing
        return
    # Inside `layers`, which the schema shows as one open object: the model that checks it takes the field, with
    # the documented values (and a value of the documented type, sent through the protocol below).
    assert schema["properties"]["layers"]["type"] == "object"
    assert schema["properties"]["layers"].get("additionalProperties", True) is True
    layer, _, name = rest.partition(".")
    model = _layer_model(layer)
    if name:
        assert name in model.model_fields, f"layers.{layer} does not check {name}, which Tavus documents"
        assert _literals(model.model_fields[name].annotation) == set(values), field


def test_create_persona_requires_a_prompt_only_outside_echo_mode(tool_schemas: dict[str, dict[str, Any]]) -> None:
    # "Each request must have a `system_prompt` value unless you're using echo mode": the server says so itself.
    assert "unless you're using echo mode" in _persona_fields()["system_prompt"]["description"]
    assert (
        "Needed unless pipeline_mode is 'echo'"
        in tool_schemas["create_persona"]["properties"]["system_prompt"]["description"]
    )


@pytest.mark.parametrize("field", PERSONA_FIELDS)
async def test_every_documented_persona_field_reaches_tavus(mcp: Client, sandbox: Sandbox, field: str) -> None:
    body = next((example for example in _persona_examples() if _has(example, field)), None) or _merge(
        {"system_prompt": "You are a skeptical buyer."}, _nest(field, _value_for(field, _persona_fields()[field]))
    )

    result = await mcp.call_tool("create_persona", body)

    assert not result.is_error, text_of(result)
    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/personas")] == [body]


async def test_every_reference_persona_example_reaches_tavus(mcp: Client, sandbox: Sandbox) -> None:
    for body in _persona_examples():
        result = await mcp.call_tool("create_persona", body)
        assert not result.is_error, (body, text_of(result))
    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/personas")] == _persona_examples()


async def test_the_references_full_persona_example_is_refused_where_it_misplaces_fields(
    mcp: Client, sandbox: Sandbox
) -> None:
    [published] = [body for body in _persona_examples(as_published=True) if "document_ids" in body.get("layers", {})]

    result = await mcp.call_tool("create_persona", published)

    assert result.is_error
    assert text_of(result).splitlines()[1:] == [
        f"- layers.{name}: not a field of layers; it belongs at the top level" for name in MISPLACED_IN_THE_EXAMPLE
    ]
    assert sandbox.requests_to("POST", "/v2/personas") == []


def test_update_persona_takes_the_references_json_patch(tool_schemas: dict[str, dict[str, Any]]) -> None:
    documented = _patch_operation_schema()
    listed = tool_schemas["update_persona"]["properties"]["operations"]
    assert listed["type"] == "array" and listed["minItems"] == 1
    assert listed["items"]["properties"]["op"]["enum"] == documented["properties"]["op"]["enum"]
    assert set(documented["properties"]) <= set(listed["items"]["properties"])
    # The reference lists value as required, and says in the same breath that remove takes none: no stricter.
    assert "not required for the `remove` operation" in documented["properties"]["value"]["description"]
    assert listed["items"]["required"] == ["op", "path"]


async def test_the_references_patch_examples_reach_tavus(mcp: Client, sandbox: Sandbox) -> None:
    created = await mcp.call_tool(
        "create_persona", {"system_prompt": "You are a life coach.", "layers": {"stt": {"hotwords": "Roey"}}}
    )
    assert created.structured_content is not None, text_of(created)
    persona_id = created.structured_content["persona_id"]
    content = _operation("update_persona")["requestBody"]["content"]["application/json"]
    patches = [copy.deepcopy(example["value"]) for example in content["examples"].values()]

    for patch in patches:
        result = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": patch})
        assert not result.is_error, (patch, text_of(result))

    assert [seen.body for seen in sandbox.requests_to("PATCH", f"/v2/personas/{persona_id}")] == patches
    persona = next(p for p in sandbox.emulator.personas if p["persona_id"] == persona_id)
    assert persona["system_prompt"] == patches[0][0]["value"] and persona["layers"] == {"stt": {}}


def test_the_emulators_persona_tables_are_the_reference() -> None:
    fields = _persona_fields()

    def table_type(schema: dict[str, Any]) -> str:
        kind = _json_type(schema)
        return "array" if kind in ("object[]", "any[]") else kind

    assert {name: _json_type(schema) for name, schema in fields.items() if "." not in name} == (
        emulator_tables.PERSONA_BODY_FIELDS
    )
    layers: dict[str, dict[str, str]] = {}
    for name, schema in fields.items():
        if name.count(".") == 2:
            _, layer, field = name.split(".")
            layers.setdefault(layer, {})[field] = table_type(schema)
    assert layers == emulator_tables.PERSONA_LAYER_FIELDS
    enumerated = {
        name.removeprefix("layers."): tuple(schema["enum"])
        for name, schema in fields.items()
        if name.count(".") == 2 and "enum" in schema
    }
    assert enumerated == emulator_tables.PERSONA_LAYER_VALUES
    assert list(emulator_tables.PIPELINE_MODES) == fields["pipeline_mode"]["enum"]
    operation = _patch_operation_schema()
    assert list(emulator_tables.PATCH_OPERATIONS) == operation["properties"]["op"]["enum"]
    assert list(emulator_tables.PATCH_MEMBERS) == [*operation["properties"], "from"]


# The copy in the repository is the shared original, byte for byte


@pytest.mark.skipif(not SHARED_OPENAPI.exists(), reason=f"no shared original at {SHARED_OPENAPI} to compare with")
def test_the_repositorys_copy_of_the_reference_is_the_shared_original() -> None:
    assert OPENAPI.read_bytes() == SHARED_OPENAPI.read_bytes(), (
        f"{OPENAPI.relative_to(ROOT)} differs from {SHARED_OPENAPI}: copy it again and update the date in "
        "tests/reference/README.md (docs/development.md, 'Tavus's API reference')"
    )
