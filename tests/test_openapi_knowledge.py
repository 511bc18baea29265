"""Tavus's OpenAPI document drives these tests for documents, objectives and guardrails, as tests/test_openapi.py
does for conversations and personas: every documented body field (nested ones too) and query parameter is taken by
the tool's input schema, typed as documented and no stricter, and reaches Tavus (the emulator, behind the recording
upstream) as exactly that field; nothing the tools send is undocumented; the emulator's tables are the reference's,
and its answers are valid against the reference's response schemas.

Without ../shared every test skips, saying why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest
from mcp import Client

from tavus_mcp.catalog import TOOLSETS
from tavus_mcp.sandbox import TavusEmulator
from tavus_mcp.sandbox import knowledge as tables
from tests.conftest import Sandbox, connect, text_of
from tests.test_emulator_properties import http_to
from tests.test_openapi import (
    DOC,
    _body_fields,
    _closed,
    _documented_values,
    _json_type,
    _merge,
    _nest,
    _resolve,
    _value_for,
)

pytestmark = pytest.mark.anyio

OPERATIONS = {
    "create_document": ("post", "/v2/documents"),
    "get_document": ("get", "/v2/documents/{document_id}"),
    "list_documents": ("get", "/v2/documents"),
    "update_document": ("patch", "/v2/documents/{document_id}"),
    "delete_document": ("delete", "/v2/documents/{document_id}"),
    "create_objectives": ("post", "/v2/objectives"),
    "get_objectives": ("get", "/v2/objectives/{objectives_id}"),
    "list_objectives": ("get", "/v2/objectives"),
    "update_objectives": ("patch", "/v2/objectives/{objectives_id}"),
    "delete_objectives": ("delete", "/v2/objectives/{objectives_id}"),
    "create_guardrails": ("post", "/v2/guardrails"),
    "get_guardrails": ("get", "/v2/guardrails/{guardrails_id}"),
    "list_guardrails": ("get", "/v2/guardrails"),
    "update_guardrails": ("patch", "/v2/guardrails/{guardrails_id}"),
    "delete_guardrails": ("delete", "/v2/guardrails/{guardrails_id}"),
}
# The tools whose JSON body is an object of fields (the updates of objectives and guardrails send a JSON Patch).
BODIES = ("create_document", "update_document", "create_objectives", "create_guardrails")
# A valid body to which one documented field is added: what each create needs besides it.
BASE: dict[str, dict[str, Any]] = {
    "create_document": {"document_url": "https://docs.example.com/"},
    "update_document": {},
    "create_objectives": {"data": [{"objective_name": "ask_budget", "objective_prompt": "Ask about the budget."}]},
    "create_guardrails": {"data": [{"guardrail_name": "stay_in_role", "guardrail_prompt": "Stay in role."}]},
}
STOCK_DOCUMENT = "d8-5c71baca86fc"
# Where the server asks for more than the reference requires, and why.
REQUIRED_BY_THE_SERVER = {("create_guardrails", "data"): "a set without guardrails keeps no limit"}
# Values for the documented fields that hold others (whose own fields are each tested on their own too).
CONTAINERS: dict[str, Any] = {"crawl": {"depth": 2, "max_pages": 10}}


def _operation(tool: str) -> dict[str, Any]:
    method, path = OPERATIONS[tool]
    operation: dict[str, Any] = DOC["paths"][path][method]
    return operation


def _request_schema(tool: str) -> dict[str, Any]:
    return _resolve(_operation(tool)["requestBody"]["content"]["application/json"]["schema"])


def _fields(tool: str) -> dict[str, dict[str, Any]]:
    """Every documented body field, by dotted name; an item of `data` as `data.objective_name`."""
    schema = _request_schema(tool)
    fields = _body_fields(schema)
    items = schema.get("properties", {}).get("data", {}).get("items")
    if items is not None:
        fields.update(_body_fields(_resolve(items), "data."))
    return fields


def _query(tool: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in _operation(tool).get("parameters", []) if p["in"] == "query"}


def _listed(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in dotted.split("."):
        if node is not None and node.get("type") == "array":
            node = node.get("items")
        node = (node or {}).get("properties", {}).get(part)
    return node


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    from tavus_mcp.arguments import tool_schema
    from tavus_mcp.catalog import TOOLS

    return {spec.name: tool_schema(spec.input_model) for spec in TOOLS}


@pytest.fixture
async def everything(sandbox: Sandbox) -> AsyncIterator[Client]:
    async with connect(sandbox.settings(toolsets=tuple(TOOLSETS))) as client:
        yield client


BODY_FIELDS = [(tool, field) for tool in BODIES if DOC for field in sorted(_fields(tool))]
QUERY_PARAMETERS = [(tool, name) for tool in OPERATIONS if DOC for name in sorted(_query(tool))]


@pytest.mark.parametrize(("tool", "field"), BODY_FIELDS)
def test_the_tool_takes_every_documented_body_field(schemas: dict[str, Any], tool: str, field: str) -> None:
    documented = _fields(tool)[field]
    listed = _listed(schemas[tool], field)
    assert listed is not None, f"{tool} does not take {field}, which Tavus documents"
    assert _json_type(listed) == _json_type(documented), (tool, field)
    if "enum" in documented:
        assert listed["enum"] == documented["enum"], (tool, field)
    for bound in ("minimum", "maximum"):
        if bound in documented:
            assert listed.get(bound) == documented[bound], (tool, field, bound)
    parent, _, name = field.rpartition(".")
    required = (_fields(tool)[parent] if parent else _request_schema(tool)).get("items", {}).get("required") or (
        _resolve(_fields(tool)[parent]) if parent else _request_schema(tool)
    ).get("required", [])
    if parent == "data":
        required = _resolve(_request_schema(tool)["properties"]["data"]["items"]).get("required", [])
    listed_parent = _listed(schemas[tool], parent) if parent else schemas[tool]
    assert listed_parent is not None
    listed_parent = listed_parent.get("items", listed_parent)
    if (tool, field) in REQUIRED_BY_THE_SERVER:
        required = [*required, name]
    assert (name in listed_parent.get("required", [])) == (name in required), (tool, field)


@pytest.mark.parametrize(("tool", "name"), QUERY_PARAMETERS)
def test_the_tool_takes_every_documented_query_parameter(schemas: dict[str, Any], tool: str, name: str) -> None:
    documented = _query(tool)[name]
    listed = schemas[tool]["properties"].get(name)
    assert listed is not None, f"{tool} does not take {name}"
    assert listed["type"] == documented["schema"]["type"], (tool, name)
    if "enum" in documented["schema"]:
        assert listed["enum"] == documented["schema"]["enum"]


@pytest.mark.parametrize("tool", sorted(OPERATIONS))
def test_nothing_undocumented_is_sent(schemas: dict[str, Any], tool: str) -> None:
    schema = schemas[tool]
    path_parameters = {part.strip("{}") for part in OPERATIONS[tool][1].split("/") if part.startswith("{")}
    if tool.startswith("update_") and tool != "update_document":
        operation = schema["properties"]["operations"]["items"]
        documented = set(_resolve(_request_schema(tool)["items"])["properties"]) | {"from"}  # RFC 6902's copy, move
        assert set(operation["properties"]) - documented == set()
        assert set(schema["properties"]) == {*path_parameters, "operations"}
        return
    taken = set(schema["properties"]) - path_parameters - {"max_wait_seconds"}
    documented = set(_query(tool)) | {name.partition(".")[0] for name in (_fields(tool) if tool in BODIES else {})}
    assert taken - documented == set(), tool


@pytest.mark.parametrize(("tool", "field"), BODY_FIELDS)
async def test_every_documented_body_field_reaches_tavus(
    everything: Client, sandbox: Sandbox, tool: str, field: str
) -> None:
    value = CONTAINERS.get(field) or _value_for(field, _fields(tool)[field])
    if field == "data":
        body = BASE[tool]
    elif field.startswith("data."):
        item = {**BASE[tool]["data"][0], field.removeprefix("data."): value}
        if field == "data.next_required_objective":
            item[field.removeprefix("data.")] = "ask_budget"
        if field == "data.next_conditional_objectives":
            item["next_conditional_objectives"] = {"ask_budget": "If the budget is unclear"}
        body = {**BASE[tool], "data": [item]}
    else:
        body = _merge(BASE[tool], _nest(field, value))
    arguments = dict(body)
    path = OPERATIONS[tool][1]
    if tool == "update_document":
        arguments["document_id"] = STOCK_DOCUMENT
        path = path.replace("{document_id}", STOCK_DOCUMENT)

    result = await everything.call_tool(tool, arguments)

    assert not result.is_error, text_of(result)
    assert [seen.body for seen in sandbox.requests_to(OPERATIONS[tool][0].upper(), path)] == [body]


@pytest.mark.parametrize(("tool", "name"), QUERY_PARAMETERS)
async def test_every_documented_query_parameter_reaches_tavus(
    everything: Client, sandbox: Sandbox, tool: str, name: str
) -> None:
    schema = _query(tool)[name]["schema"]
    values = _documented_values(schema)
    # A document's status is a string in the parameter's schema; its values are the answers' (`status` enum).
    values = values or (list(tables.DOCUMENT_STATUSES) if name == "status" else [])
    value = {"integer": 2 if name == "limit" else 1, "string": values[0] if values else "sales"}[schema["type"]]

    result = await everything.call_tool(tool, {name: value})

    assert not result.is_error, text_of(result)
    assert [seen.query for seen in sandbox.requests_to("GET", OPERATIONS[tool][1])] == [{name: str(value)}]


def test_the_emulators_tables_are_the_reference() -> None:
    def top(tool: str) -> dict[str, str]:
        return {name: _json_type(schema) for name, schema in _fields(tool).items() if "." not in name}

    assert top("create_document") == tables.DOCUMENT_BODY_FIELDS
    crawl = {n.removeprefix("crawl."): s for n, s in _fields("create_document").items() if n.startswith("crawl.")}
    assert {name: _json_type(schema) for name, schema in crawl.items()} == tables.DOCUMENT_CRAWL_FIELDS
    assert {name: (s["minimum"], s["maximum"]) for name, s in crawl.items()} == tables.DOCUMENT_CRAWL_BOUNDS
    assert top("update_document") == tables.DOCUMENT_UPDATE_FIELDS
    assert {n: ("array" if k.endswith("[]") else k) for n, k in top("create_objectives").items()} == (
        tables.OBJECTIVES_BODY_FIELDS
    )
    assert {n: ("array" if k.endswith("[]") else k) for n, k in top("create_guardrails").items()} == (
        tables.GUARDRAILS_BODY_FIELDS
    )

    def items(tool: str) -> dict[str, dict[str, Any]]:
        return {n.removeprefix("data."): s for n, s in _fields(tool).items() if n.startswith("data.")}

    assert {name: _json_type(schema) for name, schema in items("create_objectives").items()} == (
        tables.OBJECTIVE_FIELDS
    )
    assert {n: tuple(s["enum"]) for n, s in items("create_objectives").items() if "enum" in s} == (
        tables.OBJECTIVE_VALUES
    )
    assert {name: _json_type(schema) for name, schema in items("create_guardrails").items()} == tables.GUARDRAIL_FIELDS
    assert {n: tuple(s["enum"]) for n, s in items("create_guardrails").items() if "enum" in s} == (
        tables.GUARDRAIL_VALUES
    )
    statuses = _resolve(_operation("create_document")["responses"]["200"]["content"]["application/json"]["schema"])
    assert list(tables.DOCUMENT_STATUSES) == statuses["properties"]["status"]["enum"]
    assert list(tables.DOCUMENT_FIELDS) == list(statuses["properties"])
    for tool, (method, path) in OPERATIONS.items():
        table = tables.QUERY_PARAMETERS[(method.upper(), path)]
        assert set(table) == set(_query(tool)), tool
        for name, kind in table.items():
            schema = _query(tool)[name]["schema"]
            assert (list(kind) if isinstance(kind, tuple) else kind) == schema.get("enum", schema["type"]), name


def _answer_schema(tool: str) -> dict[str, Any]:
    return _closed(_operation(tool)["responses"]["200"]["content"]["application/json"]["schema"])


def test_the_emulators_answers_are_the_references() -> None:
    emulator = TavusEmulator(document_seconds=0)
    with http_to(emulator) as request:
        crawled = {
            "document_url": "https://docs.example.com/",
            "document_name": "Docs",
            "tags": ["docs"],
            "callback_url": "https://example.com/hook",
            "crawl": {"depth": 2, "max_pages": 10},
        }
        created = request("POST", "/v2/documents", json=crawled).json()
        one = f"/v2/documents/{created['document_id']}"
        answers = {
            "create_document": [created],
            "get_document": [request("GET", one).json()],
            "list_documents": [request("GET", "/v2/documents").json()],
            "update_document": [request("PATCH", one, json={"document_name": "Renamed"}).json()],
        }
        objective = {
            "objective_name": "ask",
            "objective_prompt": "Ask.",
            "confirmation_mode": "manual",
            "output_variables": ["x"],
            "modality": "verbal",
            "callback_url": "https://example.com/o",
        }
        objectives = request("POST", "/v2/objectives", json={"data": [objective]}).json()
        guardrail = {
            "guardrail_name": "calm",
            "guardrail_prompt": "Stay calm.",
            "modality": "verbal",
            "callback_url": "https://example.com/g",
        }
        guardrails = request("POST", "/v2/guardrails", json={"name": "Calm", "data": [guardrail]}).json()
        answers |= {
            "create_objectives": [objectives],
            "get_objectives": [request("GET", f"/v2/objectives/{objectives['objectives_id']}").json()],
            "list_objectives": [request("GET", "/v2/objectives").json()],
            "create_guardrails": [guardrails],
            "get_guardrails": [request("GET", f"/v2/guardrails/{guardrails['guardrails_id']}").json()],
            "list_guardrails": [request("GET", "/v2/guardrails").json()],
        }
    for tool, found in answers.items():
        for answer in found:
            jsonschema.validate(answer, _answer_schema(tool))
    assert created["crawl_config"] == {"depth": 2, "max_pages": 10} and created["status"] == "ready"
