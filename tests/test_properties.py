"""Property-based tests through the protocol: whatever a model sends, the server answers cleanly and Tavus never
receives a body that breaks the API's schema.

An MCP client, in memory, calls the real server, which talks to the Tavus emulator (`sandbox`): over loopback HTTP
as the fixture serves it, and, for many more examples, in process (httpx2's ASGI transport to the same emulator,
which the fixture checks all the same). Properties:

- every call answers a CallToolResult, without raising or timing out: a result with structured content, or an error
  with text; nothing crashes in the server (no ERROR log), and it keeps serving afterwards;
- an invalid-arguments error ("... nothing was sent to Tavus") means the emulator received nothing for that call;
- nothing that breaks the API's schema reaches the emulator (`schema_violations` stays empty);
- create_conversation with arguments from the API's valid domain, spelt as models spell them (nulls, an empty
  properties object, a language in any case, objects and lists JSON-encoded), reaches Tavus as exactly the body the
  arguments mean, and fails, if at all, only with Tavus's semantic 400s.

One client connection (on one event loop, in a blocking portal) serves each test; hypothesis runs in the test's
thread and calls through it. The bugs these properties found (blank ids, language codes, paging, JSON-looking
text) are fixed; plain regression tests for each stand at the end.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult
from pydantic import SecretStr

from tavus_mcp.arguments import MAX_ARGUMENTS_BYTES
from tavus_mcp.config import Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator
from tavus_mcp.sandbox.reference import BODY_FIELDS, PERSONA_BODY_FIELDS, PROPERTY_FIELDS
from tavus_mcp.server import build_server
from tests.conftest import CREATE_PATH, Sandbox, text_of
from tests.test_emulator_properties import (
    PROPERTIES,
    STOCK_REPLICAS,
    any_json,
    api_bodies,
    deeply_nested,
    huge_texts,
    looks_like_json_container,
    mostly,
    short_texts,
    texts,
)

T = TypeVar("T")

R = STOCK_REPLICAS[0]
# Far above any real call; a hang fails the test instead of blocking it.
CALL_TIMEOUT = 30.0

# A request over loopback costs more than one in process, so most examples run in process; both run the same
# properties. The quick suite runs them over loopback (real HTTP, the examples' floor of 200 and all 60); the
# in-process wire's thousands are for the slow suite.
WIRES = ("loopback", pytest.param("in_process", marks=pytest.mark.slow))
FUZZ_EXAMPLES = {"loopback": 200, "in_process": 2000}
VALID_EXAMPLES = {"loopback": 60, "in_process": 600}

TOOL_FIELDS: dict[str, tuple[str, ...]] = {
    "create_conversation": tuple(BODY_FIELDS),
    "get_conversation": ("conversation_id", "verbose", "full"),
    "list_conversations": ("limit", "page", "status"),
    "end_conversation": ("conversation_id",),
    "delete_conversation": ("conversation_id", "hard"),
    "list_replicas": ("limit", "page", "replica_type", "replica_ids", "model_name", "verbose"),
    "list_personas": ("limit", "page", "persona_type"),
    "create_persona": tuple(PERSONA_BODY_FIELDS),
    "get_persona": ("persona_id",),
    "update_persona": ("persona_id", "operations"),
    "delete_persona": ("persona_id",),
}
ALL_FIELDS = sorted({*PROPERTY_FIELDS, *(name for fields in TOOL_FIELDS.values() for name in fields)})
LIST_PATHS = ("/v2/conversations", "/v2/replicas", "/v2/personas")

Call = Callable[[str, dict[str, Any] | None], CallToolResult]


@pytest.fixture(autouse=True)
def _warnings_and_errors_only(caplog: pytest.LogCaptureFixture) -> None:
    # Capturing every DEBUG and INFO record of thousands of calls halves the speed; these tests look only for
    # errors (a crash in a tool is logged at ERROR), not for what is logged.
    caplog.set_level(logging.WARNING)


@contextmanager
def protocol(settings_: Settings, transport: httpx2.AsyncBaseTransport | None = None) -> Iterator[Call]:
    """`call(tool, arguments)` through one MCP client connection to the server, for a whole test."""
    server = build_server(settings_, transport=transport)
    with start_blocking_portal() as portal:
        connection = portal.wrap_async_context_manager(Client(server))
        client = connection.__enter__()

        def call(tool: str, arguments: dict[str, Any] | None) -> CallToolResult:
            async def send() -> CallToolResult:
                return await client.call_tool(tool, arguments, read_timeout_seconds=CALL_TIMEOUT)

            return portal.call(send)

        try:
            yield call
        finally:
            # Closed as after success even when the test failed: the client's task group would otherwise wrap the
            # test's AssertionError (and hypothesis's report of the failing example) in an ExceptionGroup.
            connection.__exit__(None, None, None)


@contextmanager
def protocol_to_sandbox(sandbox: Sandbox, wire: str) -> Iterator[Call]:
    """The server with the fixture's settings, reaching the fixture's emulator over loopback or in process."""
    # An exception in the emulator comes back as a 500, as over HTTP, rather than raised into the server.
    in_process = httpx2.ASGITransport(app=sandbox.emulator.app, raise_app_exceptions=False)
    transport = in_process if wire == "in_process" else None
    with protocol(sandbox.settings(), transport) as call:
        yield call


# Strategies: create_conversation arguments from the valid domain, as models spell them

# Text fields that hold JSON-looking text are refused (see test_json_looking_text_is_sent_as_text).
SERVER_TEXTS = texts.filter(lambda value: not looks_like_json_container(value))
LIST_FIELDS = tuple(name for name, kind in BODY_FIELDS.items() if kind == "string[]")
OPTIONAL_FIELDS = tuple(name for name in BODY_FIELDS if name not in ("replica_id", "persona_id", "properties"))
_CASES: tuple[Callable[[str], str], ...] = (str, str.upper, str.lower, str.swapcase, str.title)
language_spellings = st.tuples(
    st.sampled_from(["", " ", "\t", "  "]), st.sampled_from(range(len(_CASES))), st.sampled_from(["", " ", "\n"])
)


@st.composite
def create_arguments(
    draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(arguments, the body they mean): nulls for some fields left out, an empty `properties`, the language in any
    case and padded, `properties` and lists sometimes JSON-encoded."""
    body = draw(bodies)
    arguments = {name: value for name, value in body.items() if name != "properties"}
    for name in draw(st.lists(st.sampled_from(OPTIONAL_FIELDS), max_size=3, unique=True)):
        arguments.setdefault(name, None)
    if ("replica_id" in body) != ("persona_id" in body) and draw(st.booleans()):
        arguments.setdefault("replica_id", None)
        arguments.setdefault("persona_id", None)
    properties = dict(body.get("properties", {}))
    if "language" in properties:
        before, case, after = draw(language_spellings)
        properties["language"] = before + _CASES[case](properties["language"]) + after
    for name in draw(st.lists(st.sampled_from(sorted(PROPERTY_FIELDS)), max_size=2, unique=True)):
        properties.setdefault(name, None)
    # With none to give, `properties` is left out, or given as {} or null.
    give_properties: bool = draw(st.booleans())
    if properties or give_properties:
        null_for_none: bool = draw(st.booleans())
        arguments["properties"] = None if not properties and null_for_none else properties
    for name in ("properties", *LIST_FIELDS):
        if isinstance(arguments.get(name), dict | list) and draw(mostly(st.just(False), st.just(True), 5)):
            arguments[name] = json.dumps(arguments[name], ensure_ascii=draw(st.booleans()))
    return arguments, body


# Strategies: anything a model (or a broken client) might send


def _misspell(name: str, how: int) -> str:
    return (
        name[:-1],
        name.upper(),
        re.sub(r"_(\w)", lambda m: m.group(1).upper(), name),
        name.replace("_", "-"),
        f" {name}",
        name + "s",
    )[how % 6]


keys = st.one_of(
    st.sampled_from(ALL_FIELDS),
    st.builds(_misspell, st.sampled_from(ALL_FIELDS), st.integers(0, 5)),
    mostly(short_texts, huge_texts, 20),
)
bad_values: st.SearchStrategy[Any] = st.one_of(
    any_json,
    any_json.map(json.dumps),  # JSON-encoded: '"c123"', '{"a": 1}', '[...]', 'null'
    st.sampled_from([None, {}, [], [{}], "", 0, -1, 2**64, 1.5, True, "true", "600", "1e3"]),
)
# Values at the edges of what a field takes: blanks, codes and near-names, numbers around every bound, look-alikes
# of the right type. One field set to one of these finds what random values rarely do: a value the server lets
# through although the API refuses it.
_BLANKS = ("", " ", "\t", "\u3000", "\u00a0 ", "\x00")
_NOT_STRINGS = (5, None, ["a"], {"a": 1})
_EDGES_BY_TYPE: dict[str, tuple[Any, ...]] = {
    "string": (*_BLANKS, *_NOT_STRINGS, '{"a": 1}', "[1]", "null", "\U0001f600", "\u202eabc"),
    "integer": (0, 1, 2, -1, 99, 100, 101, 3600, 1_000_000, 1_000_001, 2**31, 2**63, -(2**63), 1.0, 1.5, 1e308,
                True, "5", " 5", "1e3", None),
    "boolean": (True, False, "true", "false", "yes", "off", 1, 0, 2, 0.0, "", None),
    "string[]": ([], [""], [" "], ["a", ""], ["a", 1], [None], "a", '["a"]', "[]", {}, None),
    "object": ({}, [], [{}], "{}", '{"language": "es"}', "null", 0, None),
}  # fmt: skip
_EDGES_BY_FIELD: dict[str, tuple[Any, ...]] = {
    "language": ("es", "EN", "pt-BR", "en_US", "zh-Hans", "fil", "eng", "spa", "deu", "Serbo-Croatian", "eo-EO",
                 "Klingon", "Espa\u00f1ol", "\u65e5\u672c\u8a9e", " English ", "ENGLISH", "multilingual", "12",
                 *_BLANKS, *_NOT_STRINGS),
    "callback_url": ("/hook", "example.com/hook", "ftp://example.com", "https://", "http://[", "http://[::1]/x",
                     " https://example.com/x ", "HTTPS://EXAMPLE.COM", "https://example.com/\u00e9", *_BLANKS,
                     *_NOT_STRINGS),
    "document_retrieval_strategy": ("fast", "Speed", " speed", "balanced ", "QUALITY", *_BLANKS, *_NOT_STRINGS),
    "status": ("Active", "active ", "all", "ENDED", *_BLANKS, *_NOT_STRINGS),
    "replica_type": ("User", "system ", "stock", *_BLANKS, *_NOT_STRINGS),
    "replica_ids": ("r1,", ",r1", "r1,,r2", " , ", "r1, r2", "r1;r2", *_BLANKS, *_NOT_STRINGS),
    "persona_type": ("User", "system ", "stock", *_BLANKS, *_NOT_STRINGS),
    "conversation_id": ("c123456", "../replicas", "c1/end", "c 1", "c1?hard=true", "c" * 129, "%2e%2e",
                        *_BLANKS, *_NOT_STRINGS),
    "persona_id": ("p9a95912", "../replicas", "p1/x", "p 1", "p" * 129, *_BLANKS, *_NOT_STRINGS),
    "pipeline_mode": ("Full", "echo ", "half", *_BLANKS, *_NOT_STRINGS),
    "layers": ({}, {"lmm": {}}, {"llm": []}, {"llm": {"model": ""}}, {"perception": {"perception_model": "raven"}},
               {"conversational_flow": {"turn_commitment": "high"}}, {"tts": {"tts_engine": "Cartesia"}},
               {"llm": {"tools": [1]}}, {"stt": None}, "{}", [], None),
    # JSON Patches at the edges: pointers, ops, values and sources that Tavus would refuse or misread.
    "operations": ([], [{}], {}, None, "[]", [{"op": "replace", "path": "system_prompt", "value": "x"}],
                   [{"op": "replace", "path": "/", "value": "x"}], [{"op": "replace", "path": "", "value": "x"}],
                   [{"op": "add", "path": "/persona_id", "value": "p2"}], [{"op": "add", "path": "/a~2b", "value": 1}],
                   [{"op": "remove", "path": "/layers/llm", "value": 1}], [{"op": "replace", "path": "/persona_name"}],
                   [{"op": "move", "path": "/persona_name", "from": "/layers"}],
                   [{"op": "copy", "path": "/pipeline_mode", "from": "/system_prompt"}],
                   [{"op": "copy", "path": "/persona_name", "from": "/layers/llm/model"}],
                   [{"op": "replace", "path": "/pipeline_mode", "value": "half"}],
                   [{"op": "add", "path": "/layers/voice", "value": {}}],
                   [{"op": "add", "path": "/document_tags/-", "value": ""}],
                   [{"op": "add", "path": "/document_tags/9", "value": "x"}],
                   [{"op": "test", "path": "/persona_name", "value": "nobody"}],
                   [{"op": "merge", "path": "/persona_name", "value": "x"}],
                   [{"op": "replace", "path": 5, "value": 1}]),
}  # fmt: skip
FIELD_TYPES = {
    **BODY_FIELDS,
    **PROPERTY_FIELDS,
    **PERSONA_BODY_FIELDS,
    "persona_id": "string",
    "operations": "array",
    "conversation_id": "string",
    "verbose": "boolean",
    "full": "boolean",
    "hard": "boolean",
    "replica_ids": "string",
    "model_name": "string",
    "limit": "integer",
    "page": "integer",
    "status": "string",
    "replica_type": "string",
    "persona_type": "string",
}


def edge_values(fields: Sequence[str]) -> st.SearchStrategy[tuple[str, Any]]:
    """One of these fields, and a value at the edges of what it takes."""
    return st.sampled_from(sorted(fields)).flatmap(
        lambda name: st.tuples(
            st.just(name), st.sampled_from(_EDGES_BY_FIELD.get(name) or _EDGES_BY_TYPE[FIELD_TYPES[name]])
        )
    )


# A value of the right JSON type for each field, to misplace (a property at the top level and vice versa).
_PLAUSIBLE = {
    "string": short_texts,
    "boolean": st.booleans(),
    "integer": st.integers(0, 3600),
    "string[]": st.lists(short_texts.filter(bool), max_size=2),
    "object": st.just({"max_call_duration": 600}),
}
plausible_top_level = st.sampled_from(sorted(BODY_FIELDS)).flatmap(
    lambda name: st.tuples(st.just(name), _PLAUSIBLE[BODY_FIELDS[name]])
)
plausible_property = st.sampled_from(sorted(PROPERTY_FIELDS)).flatmap(
    lambda name: st.tuples(st.just(name), _PLAUSIBLE[PROPERTY_FIELDS[name]])
)


def weighted(options: Sequence[st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of the options, each as likely as its number of occurrences (st.one_of would drop the repeats)."""
    return st.sampled_from(options).flatmap(lambda option: option)


def _with(arguments: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**arguments, key: value}


def _with_property(arguments: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    properties = arguments.get("properties")
    return {**arguments, "properties": {**(properties if isinstance(properties, dict) else {}), key: value}}


def _json_encoded(arguments: dict[str, Any], index: int) -> dict[str, Any]:
    if not arguments:
        return arguments
    name = sorted(arguments)[index % len(arguments)]
    return {**arguments, name: json.dumps(arguments[name])}


def _without(arguments: dict[str, Any], index: int) -> dict[str, Any]:
    if not arguments:
        return arguments
    name = sorted(arguments)[index % len(arguments)]
    return {key: value for key, value in arguments.items() if key != name}


def tool_calls(conversation_ids: Sequence[str]) -> st.SearchStrategy[tuple[str, dict[str, Any] | None]]:
    """(tool, arguments) for every tool: valid, valid but for one field, misplaced, JSON-encoded, random, empty."""
    ids = st.one_of(
        st.sampled_from(conversation_ids),
        st.from_regex(r"\Ac[0-9a-f]{6,13}\Z"),
        st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=128),
    )
    paging = {"limit": st.integers(1, 100), "page": st.integers(1, 1000)}
    persona_ids = st.one_of(
        st.sampled_from(["p9a95912", "pdced222244b", "p5317866"]), st.from_regex(r"\Ap[0-9a-f]{6,12}\Z")
    )
    layers = st.fixed_dictionaries(
        {},
        optional={
            "llm": st.fixed_dictionaries({}, optional={"model": st.just("tavus-gpt-oss"), "api_key": short_texts}),
            "perception": st.fixed_dictionaries(
                {}, optional={"perception_model": st.sampled_from(["raven-1", "raven-0", "off"])}
            ),
            "stt": st.fixed_dictionaries({}, optional={"hotwords": short_texts}),
            "conversational_flow": st.fixed_dictionaries(
                {}, optional={"turn_taking_patience": st.sampled_from(["low", "medium", "high"])}
            ),
        },
    )
    patch_operations = st.one_of(
        st.builds(lambda v: {"op": "replace", "path": "/persona_name", "value": v}, short_texts.filter(str.strip)),
        st.builds(lambda v: {"op": "add", "path": "/document_tags/-", "value": v}, short_texts.filter(str.strip)),
        st.builds(lambda v: {"op": "replace", "path": "/layers", "value": v}, layers),
        st.builds(lambda v: {"op": "test", "path": "/system_prompt", "value": v}, short_texts.filter(str.strip)),
        st.sampled_from(
            [
                {"op": "remove", "path": "/layers/llm"},
                {"op": "add", "path": "/layers/perception/perception_model", "value": "off"},
                {"op": "copy", "from": "/system_prompt", "path": "/persona_name"},
                {"op": "move", "from": "/document_tags", "path": "/document_ids"},
            ]
        ),
    )
    valid: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "create_conversation": create_arguments(api_bodies()).map(lambda case: case[0]),
        "get_conversation": st.fixed_dictionaries(
            {"conversation_id": ids}, optional={"verbose": st.booleans(), "full": st.booleans()}
        ),
        "list_conversations": st.fixed_dictionaries(
            {}, optional={**paging, "status": st.sampled_from(["active", "ended"])}
        ),
        "end_conversation": st.fixed_dictionaries({"conversation_id": ids}),
        "delete_conversation": st.fixed_dictionaries({"conversation_id": ids}, optional={"hard": st.booleans()}),
        "list_replicas": st.fixed_dictionaries(
            {},
            optional={
                **paging,
                "replica_type": st.sampled_from(["user", "system"]),
                "replica_ids": st.sampled_from(["rfe12d8b9597", "rfe12d8b9597, r79e1c033f", "nobody"]),
                "model_name": st.sampled_from(["phoenix-3", "phoenix-4", "phoenix-9"]),
                "verbose": st.booleans(),
            },
        ),
        "list_personas": st.fixed_dictionaries(
            {}, optional={**paging, "persona_type": st.sampled_from(["user", "system"])}
        ),
        "create_persona": st.fixed_dictionaries(
            {"system_prompt": short_texts.filter(str.strip)},
            optional={
                "persona_name": short_texts.filter(str.strip),
                "pipeline_mode": st.sampled_from(["full", "echo"]),
                "default_replica_id": st.sampled_from([*STOCK_REPLICAS, "rnobody"]),
                "document_tags": st.lists(short_texts.filter(str.strip), max_size=2),
                "layers": layers,
            },
        ),
        "get_persona": st.fixed_dictionaries({"persona_id": persona_ids}),
        "update_persona": st.fixed_dictionaries(
            {"persona_id": persona_ids, "operations": st.lists(patch_operations, min_size=1, max_size=3)}
        ),
        "delete_persona": st.fixed_dictionaries({"persona_id": persona_ids}),
    }

    def malformed(tool: str) -> st.SearchStrategy[dict[str, Any] | None]:
        good = valid[tool]
        own_keys = st.sampled_from(TOOL_FIELDS[tool]) | keys
        at_an_edge = st.builds(lambda a, kv: _with(a, *kv), good, edge_values(TOOL_FIELDS[tool]))
        options: list[st.SearchStrategy[dict[str, Any] | None]] = [
            good,
            st.builds(_with, good, own_keys, bad_values),
            # Twice (three times for create_conversation, with its many fields): the likeliest to find bugs.
            at_an_edge,
            at_an_edge,
            st.builds(_json_encoded, good, st.integers(0, 20)),
            st.builds(_without, good, st.integers(0, 20)),
            st.dictionaries(keys, bad_values, max_size=5),
            st.sampled_from([None, {}]),
        ]
        if tool == "create_conversation":
            # language has the most rules of the properties: it is picked a third of the time.
            property_fields = [*PROPERTY_FIELDS, *["language"] * 4]
            property_at_an_edge = st.builds(lambda a, kv: _with_property(a, *kv), good, edge_values(property_fields))
            options += [
                st.builds(_with_property, good, st.sampled_from(sorted(PROPERTY_FIELDS)) | keys, bad_values),
                property_at_an_edge,
                property_at_an_edge,
                at_an_edge,
                st.builds(lambda a, kv: _with(a, *kv), good, plausible_property),  # a property at the top level
                st.builds(lambda a, kv: _with_property(a, *kv), good, plausible_top_level),  # and vice versa
                st.builds(
                    lambda a, v: _with(a, "properties", v),
                    good,
                    st.one_of(st.lists(st.just({"language": "English"}), max_size=2), deeply_nested, any_json),
                ),
            ]
        return weighted(options)

    calls = {tool: st.tuples(st.just(tool), malformed(tool)) for tool in TOOL_FIELDS}
    # create_conversation has most fields and most rules: it gets a third of the calls.
    return weighted([calls["create_conversation"], calls["create_conversation"], *calls.values()])


# Checks


def check_answer(
    tool: str, result: CallToolResult, emulator: TavusEmulator, caplog: pytest.LogCaptureFixture
) -> list[str]:
    """Assert the properties every answer has; the kinds of outcome, to tally."""
    assert isinstance(result, CallToolResult)
    text = text_of(result)
    note(f"is_error={result.is_error} text={text[:500]!r}")
    assert text.strip(), "a result without text"
    if result.is_error:
        assert result.structured_content is None
        # The emulator has no faults set: a 5xx would mean it crashed on what the server sent.
        assert not re.search(r"HTTP 5\d\d", text), text
        if text.startswith(f"Invalid arguments for {tool}; nothing was sent to Tavus"):
            assert emulator.received == [], "an invalid-arguments error, but the emulator received a request"
            outcome = "refused: invalid arguments"
        else:
            outcome = "refused after a request" if emulator.received else "refused without a request"
    else:
        assert isinstance(result.structured_content, dict) and result.structured_content
        outcome = "success"
    crashes = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert crashes == [], crashes
    assert emulator.schema_violations == []
    return [outcome]


# The properties


@pytest.mark.parametrize("wire", WIRES)
def test_any_arguments_to_any_tool_get_a_clean_answer(
    sandbox: Sandbox, wire: str, caplog: pytest.LogCaptureFixture, examples: Callable[[int], int]
) -> None:
    emulator = sandbox.emulator
    with protocol_to_sandbox(sandbox, wire) as call:
        # Conversations to get, end and delete: one active, one ended (test mode).
        conversation_ids = []
        for test_mode in (False, True):
            created = call("create_conversation", {"replica_id": R, "test_mode": test_mode}).structured_content
            assert created is not None
            conversation_ids.append(created["conversation_id"])

        tally: Counter[str] = Counter()
        count = examples(FUZZ_EXAMPLES[wire])

        @settings(PROPERTIES, max_examples=count)
        @given(case=tool_calls(conversation_ids))
        def check(case: tuple[str, dict[str, Any] | None]) -> None:
            tool, arguments = case
            # Each example is judged on its own: what an earlier, failing one left must not fail this one.
            emulator.received.clear()
            emulator.schema_violations.clear()
            caplog.clear()
            tally.update([tool, *check_answer(tool, call(tool, arguments), emulator, caplog)])

        check()

        print(f"{wire}: {sorted(tally.items())}")
        # Not vacuous: every tool was called, and calls succeeded, were refused here and were refused by Tavus.
        assert all(tally[tool] >= max(1, count // 100) for tool in TOOL_FIELDS), tally
        assert tally["success"] >= count // 20 and tally["refused: invalid arguments"] >= count // 4, tally
        assert tally["refused after a request"] >= count // 50, tally

        # Still serving, and still creating.
        assert not call("list_replicas", {}).is_error
        assert not call("create_conversation", {"replica_id": R, "test_mode": True}).is_error


@pytest.mark.parametrize("wire", WIRES)
def test_valid_create_arguments_reach_tavus_as_the_body_they_mean(
    sandbox: Sandbox, wire: str, caplog: pytest.LogCaptureFixture, examples: Callable[[int], int]
) -> None:
    emulator = sandbox.emulator
    emulator.max_concurrent_conversations = 10**9
    with protocol_to_sandbox(sandbox, wire) as call:
        tally: Counter[str] = Counter()
        count = examples(VALID_EXAMPLES[wire])

        @settings(PROPERTIES, max_examples=count)
        @given(case=create_arguments(api_bodies(text=SERVER_TEXTS)))
        def check(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
            arguments, body = case
            # Valid, and small enough for any transport: larger arguments are refused by size (test_bounds.py).
            size = len(json.dumps(arguments, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            assume(size <= MAX_ARGUMENTS_BYTES // 2)
            # Each example is judged on its own: what an earlier, failing one left must not fail this one.
            emulator.received.clear()
            emulator.schema_violations.clear()
            caplog.clear()

            result = call("create_conversation", arguments)

            tally.update(check_answer("create_conversation", result, emulator, caplog))
            assert [request.body for request in emulator.requests_to("POST", CREATE_PATH)] == [body]
            if result.is_error:
                text = text_of(result)
                assert "(HTTP 400)" in text or "maximum number of concurrent conversations" in text, text
                return
            created = result.structured_content
            assert created is not None
            assert created["conversation_id"] in emulator.conversations
            assert created["join_url"].startswith(created["conversation_url"])
            assert created["status"] == ("ended" if body.get("test_mode") is True else "active")
            private = body.get("require_auth") is True or body.get("properties", {}).get("require_auth") is True
            assert (created["join_url"] != created["conversation_url"]) == private
            assert created.get("callback_url") == body.get("callback_url")
            if "conversation_name" in body:
                assert created["conversation_name"] == body["conversation_name"]
            if len(emulator.conversations) > 200:
                emulator.conversations.clear()

        check()

        print(f"{wire}: {sorted(tally.items())}")
        assert tally["success"] >= count * 9 // 10, tally
        assert not call("create_conversation", {"replica_id": R}).is_error


# Regressions: what the properties once found. A private in-process emulator keeps each provoked request apart
# from the shared fixture.


@contextmanager
def private_protocol() -> Iterator[tuple[Call, TavusEmulator]]:
    emulator = TavusEmulator()
    settings_ = Settings(api_key=SecretStr(SANDBOX_API_KEY), base_url="http://sandbox.test", timeout=5.0)
    transport = httpx2.ASGITransport(app=emulator.app, raise_app_exceptions=False)
    with protocol(settings_.validated(), transport) as call:
        yield call, emulator


@pytest.mark.parametrize(
    "arguments",
    [{"replica_id": " "}, {"persona_id": "\t"}, {"replica_id": R, "conversation_name": " "}],
    ids=["replica_id", "persona_id", "conversation_name"],
)
def test_blank_ids_and_names_are_refused_before_tavus(arguments: dict[str, Any]) -> None:
    with private_protocol() as (call, emulator):
        result = call("create_conversation", arguments)
    assert result.is_error
    assert text_of(result).startswith("Invalid arguments for create_conversation; nothing was sent to Tavus")
    assert emulator.received == []


@pytest.mark.parametrize("language", ["eng", "spa", "Serbo-Croatian", "eo-EO"])
def test_code_like_language_names_never_reach_tavus(language: str) -> None:
    with private_protocol() as (call, emulator):
        call("create_conversation", {"replica_id": R, "properties": {"language": language}})
    assert emulator.schema_violations == []


@pytest.mark.parametrize("tool", ["list_conversations", "list_replicas", "list_personas"])
def test_large_pages_never_break_the_schema(tool: str) -> None:
    with private_protocol() as (call, emulator):
        call(tool, {"page": 1_000_001})
    assert emulator.schema_violations == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conversational_context", '{"role": "buyer", "mood": "skeptical"}'),
        ("custom_greeting", '["Hi!"]'),
        ("conversation_name", "[1]"),
    ],
)
def test_json_looking_text_is_sent_as_text(field: str, value: str) -> None:
    with private_protocol() as (call, emulator):
        result = call("create_conversation", {"replica_id": R, field: value})
    assert not result.is_error, text_of(result)
    assert [request.body for request in emulator.requests_to("POST", CREATE_PATH)] == [{"replica_id": R, field: value}]
