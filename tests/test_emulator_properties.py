"""The emulator's own validation, property-tested directly over HTTP (in process, through httpx2's ASGI transport).

The emulator is the oracle of every protocol test: `schema_violations == []` only means something if the emulator
accepts every body the API accepts and flags every body that breaks one of the API's rules. So:

(a) every body from the API's valid domain gets 200 or a semantic 400 (unknown replica, concurrency limit...), never
    a recorded schema violation, and a 200 happens exactly when Tavus has no semantic reason to refuse;
(b) every body that breaks exactly one schema rule gets 400 `{"error": ...}`, exactly one recorded violation, and
    creates nothing;
(c) a request without the right key gets 401 `{"message": "Invalid access token"}`, whatever else it carries;
(d) the list endpoints reject a bad limit, page, status or type with 400, and page correctly through valid ones.

The strategies for the API's valid domain live here and are shared with `test_properties.py`. One event loop (a
blocking portal) and one HTTP client serve each test; hypothesis runs in the test's thread and calls through it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tavus_mcp.http.edge import listen as http_listen
from tavus_mcp.models.languages import LANGUAGE_CODES, MULTILINGUAL, SUPPORTED_LANGUAGES
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator
from tavus_mcp.sandbox.reference import BODY_FIELDS, MAX_PAGE, PROPERTY_FIELDS, RECORDING_PROVIDERS
from tests.upstream import listening_socket

T = TypeVar("T")

# Deterministic runs: CI sees the same examples every time, and a failure is reproducible from its output.
PROPERTIES = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

CREATE = "/v2/conversations"

# The emulator's stock: completed replicas, personas with a default replica, and the ones Tavus refuses.
STOCK_REPLICAS = ("rfe12d8b9597", "r79e1c033f", "r4c41453d2")
STOCK_PERSONAS = ("p9a95912", "p5317866")
TRAINING_REPLICA = "r9d30b0e55a"
PERSONA_WITHOUT_REPLICA = "pdced222244b"
LANGUAGES = (*SUPPORTED_LANGUAGES, MULTILINGUAL)
STRATEGIES = ("speed", "quality", "balanced")

# The body's fields and their JSON types are the emulator's tables (BODY_FIELDS, PROPERTY_FIELDS), which
# tests/test_openapi.py holds against Tavus's OpenAPI document.
# The server's bound on whole numbers (Tavus documents none): 2^31 - 1.
MAX_WHOLE = 2**31 - 1
DURATIONS = ("max_call_duration", "participant_left_timeout", "participant_absent_timeout")
S3_FIELDS = ("recording_s3_bucket_name", "recording_s3_bucket_region", "aws_assume_role_arn")


@pytest.fixture(autouse=True)
def _warnings_and_errors_only(caplog: pytest.LogCaptureFixture) -> None:
    # Capturing a DEBUG and an INFO record for each of thousands of requests costs a third of the run; these tests
    # do not look at logs.
    caplog.set_level(logging.WARNING)


# Strategies: text


def mostly(common: st.SearchStrategy[T], rare: st.SearchStrategy[T], one_in: int) -> st.SearchStrategy[T]:
    """`common`, and `rare` once in `one_in` draws; shrinks towards `common`."""
    return st.integers(0, one_in - 1).flatmap(lambda i: rare if i == one_in - 1 else common)


# Text that breaks naive code: empty, blank, NUL, right-to-left (with an override), emoji sequences, combining
# marks, invisible characters, JSON look-alikes and path tricks.
SPECIAL_TEXTS = (
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "abc \u202egnp.exe\u202c",
    "\U0001f600",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f1eb\U0001f1f7",
    "e\u0301\u0301\u0301",
    "\ufeffBOM",
    "zero\u200bwidth",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "{",
    "[Draft] sales call",
    "../replicas",
    "%2e%2e%2f",
    "\\u0000",
    '"quoted"',
    "\r\n\r\nHTTP/1.1 200 OK",
)
HUGE_UNITS = ("x", "\u00e9", "\u05e9", "\U0001f600", "\x00", "\U0001f469\u200d\U0001f467", "ab ")
HUGE_LENGTH = 100_000


def huge(unit: str) -> str:
    """A 100k-character string made of `unit`."""
    return (unit * (HUGE_LENGTH // len(unit) + 1))[:HUGE_LENGTH]


huge_texts = st.sampled_from(HUGE_UNITS).map(huge)
# Any surrogate-free text (hypothesis leaves surrogates out of st.text()), the special cases, now and then 100k chars.
short_texts = st.one_of(st.text(), st.sampled_from(SPECIAL_TEXTS))
texts = mostly(short_texts, huge_texts, 25)


def looks_like_json_container(value: str) -> bool:
    """Text that decodes as a JSON object or list (e.g. a context given as '{"role": "buyer"}')."""
    if not value.lstrip().startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(value), dict | list)
    except ValueError:
        return False


# Strategies: JSON values


def nest(depth: int, leaf: Any, shape: str) -> Any:
    """`leaf` inside `depth` levels of objects, lists or both alternately."""
    value = leaf
    for level in range(depth):
        as_list = shape == "list" or (shape == "mixed" and level % 2 == 1)
        value = [value] if as_list else {"k": value}
    return value


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)
# 50 to 200 levels: deeper than any real argument, within what the MCP SDK itself can serialize (about 250).
deeply_nested = st.builds(nest, st.integers(50, 200), json_leaves, st.sampled_from(["dict", "list", "mixed"]))
any_json = st.one_of(json_values, deeply_nested)


def json_kind(value: Any) -> str:
    """The JSON type of a value, with an array of strings told apart from other arrays."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "string[]" if all(isinstance(item, str) for item in value) else "array"


def _wrong_type_for(expected: str) -> st.SearchStrategy[Any]:
    return any_json.filter(
        lambda value: (
            json_kind(value) != expected
            and not (expected == "integer" and isinstance(value, float) and value.is_integer())
        )
    )


# For each JSON type of a field, a value of any other type (and no integral float for an integer: 5.0 is debatable).
WRONG_TYPE = {kind: _wrong_type_for(kind) for kind in ("string", "boolean", "integer", "string[]", "object")}


# Strategies: the API's valid domain for POST /v2/conversations

SPECIAL_URLS = (
    "https://example.com/tavus/webhook",
    "HTTP://EXAMPLE.COM/HOOK",
    "http://127.0.0.1:8080/hook?x=1&y=%20",
    "http://[::1]:8080/hook",
    "https://\u4f8b\u5b50.\u6d4b\u8bd5/webhook",
    "https://user:pass@example.com:443/a/b#frag",
)
# Absolute http(s) URLs. (hypothesis.provisional.urls() would do, at ten times the cost per example.)
_url_hosts = st.one_of(
    st.builds(
        lambda labels, tld: ".".join([*labels, tld]),
        st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12), min_size=1, max_size=3),
        st.sampled_from(["com", "io", "test", "example", "co.uk", "xn--p1ai"]),
    ),
    st.sampled_from(["localhost", "127.0.0.1", "[::1]", "EXAMPLE.COM", "\u4f8b\u5b50.\u6d4b\u8bd5"]),
)
_url_paths = st.text(st.characters(exclude_categories=["Z", "C"], exclude_characters="[]"), max_size=40)
callback_urls = st.one_of(
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["http", "https", "HTTP", "Https"]),
        _url_hosts,
        st.sampled_from(["", ":80", ":8080", ":443", ":65535"]),
        _url_paths,
    ),
    st.sampled_from(SPECIAL_URLS),
)


def recording_storages(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A `properties.recording_storage`: a provider with the identifiers it needs, and sometimes the optional ones."""
    nonempty = text.filter(str.strip)

    def of(provider: str) -> st.SearchStrategy[dict[str, Any]]:
        needed, optional = RECORDING_PROVIDERS[provider]
        return st.fixed_dictionaries(
            {"provider": st.just(provider), **{name: nonempty for name in needed}},
            optional={name: nonempty for name in optional},
        )

    return st.sampled_from(sorted(RECORDING_PROVIDERS)).flatmap(of)


def api_properties(
    text: st.SearchStrategy[str], languages: st.SearchStrategy[str]
) -> st.SearchStrategy[dict[str, Any]]:
    """A non-empty `properties` object: fields of the right types, the S3 trio all or none (and never with
    recording_storage, which the server refuses as ambiguous)."""
    nonempty = text.filter(str.strip)
    plain = st.fixed_dictionaries(
        {},
        optional={
            "max_call_duration": st.integers(0, MAX_WHOLE),
            "participant_left_timeout": st.integers(0, MAX_WHOLE),
            "participant_absent_timeout": st.integers(0, MAX_WHOLE),
            "enable_recording": st.booleans(),
            "enable_closed_captions": st.booleans(),
            "apply_greenscreen": st.booleans(),
            "require_auth": st.booleans(),
            "language": languages,
        },
    )
    s3 = st.fixed_dictionaries({name: nonempty for name in S3_FIELDS})
    storage = st.one_of(st.none(), s3, recording_storages(text).map(lambda config: {"recording_storage": config}))
    return st.builds(lambda p, where: {**p, **(where or {})}, plain, storage).filter(bool)


stock_replicas = st.sampled_from(STOCK_REPLICAS)
stock_personas = st.sampled_from(STOCK_PERSONAS)
supported_languages = st.sampled_from(LANGUAGES)


def api_bodies(
    *,
    text: st.SearchStrategy[str] = texts,
    replicas: st.SearchStrategy[str] = stock_replicas,
    personas: st.SearchStrategy[str] = stock_personas,
    languages: st.SearchStrategy[str] = supported_languages,
) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies of POST /v2/conversations that keep every rule of the API (and the server's stricter ones).

    Optional fields of the right types, non-negative durations, languages by full name or 'multilingual', the S3
    trio all or none, max_participants >= 2, absolute http(s) callback URLs, and a replica or a persona (or both).
    Names are never blank and list items never blank (the server refuses both, deliberately).
    """
    nonempty = text.filter(str.strip)
    who = st.one_of(
        st.fixed_dictionaries({"replica_id": replicas}),
        st.fixed_dictionaries({"persona_id": personas}),
        st.fixed_dictionaries({"replica_id": replicas, "persona_id": personas}),
    )
    rest = st.fixed_dictionaries(
        {},
        optional={
            "audio_only": st.booleans(),
            "callback_url": callback_urls,
            "conversation_name": text.filter(str.strip),
            "conversational_context": text,
            "custom_greeting": text,
            "enable_dynamic_greeting": st.booleans(),
            "memory_stores": st.lists(nonempty, max_size=3),
            "document_ids": st.lists(nonempty, max_size=3),
            "document_retrieval_strategy": st.sampled_from(STRATEGIES),
            "document_tags": st.lists(nonempty, max_size=3),
            "test_mode": st.booleans(),
            "require_auth": st.booleans(),
            "max_participants": st.integers(2, MAX_WHOLE),
            "properties": api_properties(text, languages),
        },
    )
    return st.builds(lambda w, r: {**w, **r}, who, rest)


# Strategies: bodies that break exactly one rule


@dataclass(frozen=True)
class Broken:
    body: dict[str, Any]
    rule: str
    mentions: str  # what the error message must name


def _properties_of(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body.get("properties") or {})


RULES = (
    "wrong type",
    "wrong type in properties",
    "unknown field",
    "unknown field in properties",
    "negative duration",
    "bad document_retrieval_strategy",
    "language code",
    "max_participants below 2",
    "not an absolute http(s) callback_url",
    "incomplete S3 trio",
    "recording_storage without a provider",
    "recording_storage of an unknown provider",
    "recording_storage missing an identifier",
    "recording_storage with another provider's identifier",
    "unknown field in recording_storage",
    "neither replica nor persona",
    "blank name",
)
# Strategies are built once: building them inside a composite on every draw costs more than the request.
VALID_BODIES = api_bodies()
UNKNOWN_TOP_LEVEL_NAMES = st.sampled_from(sorted(PROPERTY_FIELDS)) | st.text(max_size=20)
UNKNOWN_PROPERTY_NAMES = st.sampled_from(sorted(BODY_FIELDS)) | st.text(max_size=20)
BAD_STRATEGIES = texts.filter(lambda s: s not in STRATEGIES)
LANGUAGE_CODE_LIKE = st.one_of(
    st.sampled_from(sorted(LANGUAGE_CODES)),
    st.sampled_from(sorted(LANGUAGE_CODES)).map(str.upper),
    st.text(string.ascii_letters, min_size=2, max_size=2),
    st.from_regex(r"\A[a-z]{2}[-_][A-Za-z]{2,4}\Z"),
)
NOT_ABSOLUTE_HTTP_URLS = st.one_of(
    # A path: no brackets (see test_a_malformed_callback_url_is_a_violation), and no tab or line break, which
    # urlsplit drops, turning "/\t/host" into the network path "//host".
    st.text().map(lambda s: "/" + "".join(c for c in s if c not in "[]\t\r\n").lstrip("/")),
    st.sampled_from(
        ["", "example.com/hook", "www.example.com", "ftp://example.com/hook", "mailto:ops@example.com", "http:/hook",
         "https://", "//example.com/hook", "javascript:alert(1)", "webhook"]
    ),
)  # fmt: skip
RECORDING_STORAGES = recording_storages(texts)
RECORDING_STORAGE_NAMES = {"provider"} | {
    name for needed, optional in RECORDING_PROVIDERS.values() for name in (*needed, *optional)
}
S3_SUBSETS = st.lists(st.sampled_from(S3_FIELDS), min_size=1, max_size=2, unique=True)
NONEMPTY_TEXTS = texts.filter(bool)
BLANKS = st.sampled_from(["", " ", "\t", "\n  ", "\u3000", "\u00a0"])


@st.composite
def broken_bodies(draw: st.DrawFn) -> Broken:
    body = dict(draw(VALID_BODIES))
    rule = draw(st.sampled_from(RULES))
    properties = _properties_of(body)
    mentions: str
    if rule == "wrong type":
        name = draw(st.sampled_from(sorted(BODY_FIELDS)))
        body[name] = draw(WRONG_TYPE[BODY_FIELDS[name]])
        mentions = name
    elif rule == "wrong type in properties":
        name = draw(st.sampled_from(sorted(PROPERTY_FIELDS)))
        properties[name] = draw(WRONG_TYPE[PROPERTY_FIELDS[name]])
        body["properties"] = properties
        mentions = f"properties.{name}"
    elif rule == "unknown field":
        # Property fields given at the top level are unknown there, as is anything else.
        name = draw(UNKNOWN_TOP_LEVEL_NAMES)
        if name in BODY_FIELDS:
            name += "_"
        body[name] = draw(any_json)
        mentions = name
    elif rule == "unknown field in properties":
        name = draw(UNKNOWN_PROPERTY_NAMES)
        if name in PROPERTY_FIELDS:
            name += "_"
        properties[name] = draw(any_json)
        body["properties"] = properties
        mentions = f"properties.{name}"
    elif rule == "negative duration":
        name = draw(st.sampled_from(DURATIONS))
        properties[name] = draw(st.integers(max_value=-1))
        body["properties"] = properties
        mentions = f"properties.{name}"
    elif rule == "bad document_retrieval_strategy":
        body["document_retrieval_strategy"] = draw(BAD_STRATEGIES)
        mentions = "document_retrieval_strategy"
    elif rule == "language code":
        properties["language"] = draw(LANGUAGE_CODE_LIKE)
        body["properties"] = properties
        mentions = "language"
    elif rule == "max_participants below 2":
        body["max_participants"] = draw(st.integers(max_value=1))
        mentions = "max_participants"
    elif rule == "not an absolute http(s) callback_url":
        body["callback_url"] = draw(NOT_ABSOLUTE_HTTP_URLS)
        mentions = "callback_url"
    elif rule == "incomplete S3 trio":
        properties.pop("recording_storage", None)
        for name in S3_FIELDS:
            properties.pop(name, None)
        for name in draw(S3_SUBSETS):
            properties[name] = draw(NONEMPTY_TEXTS)
        body["properties"] = properties
        mentions = "aws_assume_role_arn"
    elif rule.startswith("recording_storage") or rule == "unknown field in recording_storage":
        for name in S3_FIELDS:
            properties.pop(name, None)
        storage = dict(draw(RECORDING_STORAGES))
        needed, optional = RECORDING_PROVIDERS[storage["provider"]]
        if rule == "recording_storage without a provider":
            del storage["provider"]
            mentions = "provider"
        elif rule == "recording_storage of an unknown provider":
            storage["provider"] = draw(texts.filter(lambda value: value not in RECORDING_PROVIDERS))
            mentions = "provider"
        elif rule == "recording_storage missing an identifier":
            mentions = draw(st.sampled_from(needed))
            del storage[mentions]
        elif rule == "recording_storage with another provider's identifier":
            others = {name for fields in RECORDING_PROVIDERS.values() for name in (*fields[0], *fields[1])}
            mentions = draw(st.sampled_from(sorted(others - {*needed, *optional})))
            storage[mentions] = draw(NONEMPTY_TEXTS)
        else:
            mentions = draw(st.text(max_size=20).filter(lambda name: name not in RECORDING_STORAGE_NAMES))
            storage[mentions] = draw(any_json)
        properties["recording_storage"] = storage
        body["properties"] = properties
    elif rule == "neither replica nor persona":
        body.pop("replica_id", None)
        body.pop("persona_id", None)
        mentions = "replica_id"
    else:  # blank name
        name = draw(st.sampled_from(["replica_id", "persona_id", "conversation_name"]))
        body[name] = draw(BLANKS)
        mentions = name
    return Broken(body, rule, mentions)


# HTTP to an emulator, in process

Request = Callable[..., httpx2.Response]


@contextmanager
def http_to(emulator: TavusEmulator) -> Iterator[Request]:
    """A synchronous `request(method, path, **httpx_kwargs)` to the emulator; the key is sent unless told otherwise.

    The transport answers an exception in the emulator with a 500, as a real server would, instead of raising it.
    """
    transport = httpx2.ASGITransport(app=emulator.app, raise_app_exceptions=False)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test")
        ) as client,
    ):

        def request(method: str, path: str, *, key: str | None = SANDBOX_API_KEY, **kwargs: Any) -> httpx2.Response:
            headers = dict(kwargs.pop("headers", None) or {})
            if key is not None:
                headers["x-api-key"] = key

            async def send() -> httpx2.Response:
                return await client.request(method, path, headers=headers, **kwargs)

            return portal.call(send)

        yield request


def _error_body(response: httpx2.Response) -> dict[str, Any]:
    data = response.json()
    assert isinstance(data, dict), data
    return data


# (a) the valid domain


def _expected_refusal(body: dict[str, Any], emulator: TavusEmulator) -> str | None:
    """Why Tavus would refuse this schema-valid body (a semantic 400), or None if it must create the conversation."""
    replica_id = body.get("replica_id")
    persona_id = body.get("persona_id")
    if persona_id is not None:
        persona = next((p for p in emulator.personas if p["persona_id"] == persona_id), None)
        if persona is None:
            return "unknown persona"
        replica_id = replica_id or persona.get("default_replica_id")
    if replica_id is None:
        return "no replica"
    replica = next((r for r in emulator.replicas if r["replica_id"] == replica_id), None)
    if replica is None or replica["status"] != "completed":
        return "unknown or untrained replica"
    language = body.get("properties", {}).get("language")
    if language is not None and language.casefold() not in {name.casefold() for name in LANGUAGES}:
        return "unsupported language"
    if (
        body.get("test_mode") is not True
        and len(emulator.active_conversations) >= emulator.max_concurrent_conversations
    ):
        return "concurrency limit"
    return None


def test_valid_bodies_are_created_or_refused_semantically(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator()
    # Beyond the stock: a replica still training, a persona without a default replica, ids Tavus does not know,
    # and full language names that are not supported: all schema-valid, all refused with a semantic 400.
    replicas = st.sampled_from((*STOCK_REPLICAS, TRAINING_REPLICA)) | st.from_regex(r"\Ar[0-9a-f]{6,12}\Z")
    personas = st.sampled_from((*STOCK_PERSONAS, PERSONA_WITHOUT_REPLICA)) | st.from_regex(r"\Ap[0-9a-f]{6,12}\Z")
    languages = st.sampled_from(LANGUAGES) | st.sampled_from(["Klingon", "Esperanto", "Latin", "Espa\u00f1ol"])
    bodies = api_bodies(replicas=replicas, personas=personas, languages=languages)

    with http_to(emulator) as request:

        @settings(PROPERTIES, max_examples=examples(800))
        @given(body=bodies, limit=st.integers(0, 5))
        def check(body: dict[str, Any], limit: int) -> None:
            emulator.max_concurrent_conversations = limit
            emulator.schema_violations.clear()
            emulator.received.clear()
            before = len(emulator.conversations)
            refusal = _expected_refusal(body, emulator)
            note(f"expected refusal: {refusal}")

            response = request("POST", CREATE, json=body)

            assert emulator.schema_violations == []
            if refusal is not None:
                assert response.status_code == 400, response.text
                assert set(_error_body(response)) <= {"error", "message"}
                assert len(emulator.conversations) == before
                return
            assert response.status_code == 200, response.text
            created = response.json()
            stored = emulator.conversations[created["conversation_id"]]
            assert stored["request"] == body
            assert created["status"] == ("ended" if body.get("test_mode") is True else "active")
            private = body.get("require_auth") is True or body.get("properties", {}).get("require_auth") is True
            assert ("meeting_token" in created) == private
            assert created.get("callback_url") == body.get("callback_url")
            persona = next((p for p in emulator.personas if p["persona_id"] == body.get("persona_id")), {})
            assert stored["replica_id"] == body.get("replica_id", persona.get("default_replica_id"))
            assert stored["persona_id"] == body.get("persona_id")
            # Keep the store small: what matters is the next body, not the pile of conversations.
            if len(emulator.conversations) > 50:
                emulator.conversations.clear()

        check()


# (b) one broken rule


def test_a_body_breaking_one_rule_gets_400_and_one_violation(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator(max_concurrent_conversations=10**9)
    with http_to(emulator) as request:

        @settings(PROPERTIES, max_examples=examples(1500))
        @given(broken=broken_bodies())
        def check(broken: Broken) -> None:
            note(f"rule broken: {broken.rule}")
            emulator.schema_violations.clear()
            emulator.received.clear()
            before = len(emulator.conversations)

            response = request("POST", CREATE, json=broken.body)

            assert response.status_code == 400, response.text
            error = _error_body(response)
            assert list(error) == ["error"] and isinstance(error["error"], str)
            assert broken.mentions in error["error"]
            assert len(emulator.schema_violations) == 1, emulator.schema_violations
            assert len(emulator.conversations) == before

        check()


def test_bodies_that_are_not_json_objects_are_violations(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator()
    with http_to(emulator) as request:

        @settings(PROPERTIES, max_examples=examples(300))
        @given(
            content=st.one_of(
                any_json.filter(lambda value: not isinstance(value, dict)).map(
                    lambda value: json.dumps(value).encode()
                ),
                st.binary(min_size=1).filter(lambda raw: not _is_json(raw)),
                st.sampled_from([b"{", b"{'replica_id': 'r1'}", b"\xff\xfe", b"NaN-ish", b"[1,", b"\x00"]),
            )
        )
        def check(content: bytes) -> None:
            emulator.schema_violations.clear()
            emulator.received.clear()
            response = request("POST", CREATE, content=content, headers={"content-type": "application/json"})
            assert response.status_code == 400, response.text
            assert list(_error_body(response)) == ["error"]
            assert len(emulator.schema_violations) == 1
            assert emulator.conversations == {}

        check()


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


# (c) the key


ROUTES = (
    ("POST", "/v2/conversations"),
    ("GET", "/v2/conversations"),
    ("GET", "/v2/conversations/c123456"),
    ("DELETE", "/v2/conversations/c123456"),
    ("POST", "/v2/conversations/c123456/end"),
    ("GET", "/v2/replicas"),
    ("GET", "/v2/personas"),
)
printable_ascii = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)
wrong_keys = st.one_of(
    st.none(),
    printable_ascii,
    st.sampled_from(
        [
            SANDBOX_API_KEY.upper(),
            SANDBOX_API_KEY[:-1],
            SANDBOX_API_KEY + "x",
            f"Bearer {SANDBOX_API_KEY}",
            "0123456789abcdef0123456789abcdef",
        ]
    ),
).filter(lambda key: key is None or key.strip() != SANDBOX_API_KEY)


def test_requests_without_the_key_get_401(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator()
    with http_to(emulator) as request:
        # One conversation exists, so that a request that got through would have something to end or delete.
        created = request("POST", CREATE, json={"replica_id": STOCK_REPLICAS[0]}).json()
        conversation_id = created["conversation_id"]
        snapshot = json.dumps(emulator.conversations, sort_keys=True)

        @settings(PROPERTIES, max_examples=examples(400))
        @given(
            route=st.sampled_from(ROUTES),
            key=wrong_keys,
            body=st.none() | api_bodies() | any_json,
            elsewhere=st.sampled_from(["nowhere", "authorization", "query"]),
        )
        def check(route: tuple[str, str], key: str | None, body: Any, elsewhere: str) -> None:
            method, path = route
            path = path.replace("c123456", conversation_id)
            emulator.schema_violations.clear()
            emulator.received.clear()
            # The right key in the wrong place does not count either.
            headers = {"authorization": f"Bearer {SANDBOX_API_KEY}"} if elsewhere == "authorization" else {}
            params = {"x-api-key": SANDBOX_API_KEY} if elsewhere == "query" else {}
            content = None if body is None or method != "POST" else json.dumps(body).encode()

            response = request(method, path, key=key, headers=headers, params=params, content=content)

            assert response.status_code == 401, response.text
            assert response.json() == {"message": "Invalid access token"}
            assert emulator.schema_violations == []
            assert [r.authorized for r in emulator.received] == [False]
            assert json.dumps(emulator.conversations, sort_keys=True) == snapshot

        check()


# (d) list endpoints

LIST_ENDPOINTS: dict[str, dict[str, tuple[str, ...]]] = {
    # path -> its enumerated query parameters and their values
    "/v2/conversations": {"status": ("active", "ended")},
    "/v2/replicas": {"replica_type": ("user", "system"), "verbose": ("true", "false")},
    "/v2/personas": {"persona_type": ("user", "system")},
}
PAGING = {"limit": (1, MAX_PAGE), "page": (1, MAX_PAGE)}
# Free-text filters: any value is valid, and selects what matches it.
FILTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "/v2/conversations": {},
    "/v2/replicas": {
        "model_name": ("phoenix-3", "phoenix-4", "phoenix-9"),
        "replica_ids": ("rfe12d8b9597", "rfe12d8b9597,r4c41453d2", " r79e1c033f , r9d30b0e55a", "nobody"),
    },
    "/v2/personas": {},
}
UNDOCUMENTED = "undocumented"


def _bad_numbers(name: str) -> st.SearchStrategy[str]:
    low, high = PAGING[name]
    return st.one_of(
        st.integers(max_value=low - 1).map(str),
        st.integers(min_value=high + 1).map(str),
        st.sampled_from(["", " ", " 5", "5 ", "+5", "1.0", "1e2", "0x10", "five", "5;", "\x00", "1,2"]),
        # Any text but digits: non-ASCII digits are their own bug (see test_paging_takes_ascii_digits_only).
        st.text(max_size=12).filter(lambda s: not s.isdigit()),
    )


def _not_one_of(values: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda value: value not in values


# path -> parameter -> (strategy of valid values, strategy of bad values); short texts, as a URL over 64k characters
# is refused by httpx2 before it is sent.
QUERY_VALUES: dict[str, dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]]] = {
    path: {
        **{name: (st.integers(low, high).map(str), _bad_numbers(name)) for name, (low, high) in PAGING.items()},
        **{
            name: (st.sampled_from(values), short_texts.filter(_not_one_of(values)))
            for name, values in enumerated.items()
        },
    }
    for path, enumerated in LIST_ENDPOINTS.items()
}


@st.composite
def bad_list_queries(draw: st.DrawFn) -> tuple[str, dict[str, str], str]:
    """A list endpoint, a query with exactly one bad parameter (the others valid or absent), and that parameter."""
    path = draw(st.sampled_from(sorted(QUERY_VALUES)))
    parameters = QUERY_VALUES[path]
    bad = draw(st.sampled_from([*sorted(parameters), UNDOCUMENTED]))
    query: dict[str, str] = {}
    for name, (valid, invalid) in parameters.items():
        if name == bad:
            query[name] = draw(invalid)
        elif draw(st.booleans()):
            query[name] = draw(valid)
    if bad == UNDOCUMENTED:
        # A parameter the operation does not take (another endpoint's, or none at all's).
        documented = {*parameters, *FILTERS[path]}
        names = st.sampled_from(["verbose", "status", "persona_type", "replica_type", "hard", "model_name", "x"])
        bad = draw(
            (names | st.text(string.ascii_letters + "_", min_size=1, max_size=12)).filter(
                lambda name: name not in documented
            )
        )
        query[bad] = draw(short_texts)
    return path, query, bad


def test_list_endpoints_reject_a_bad_parameter_with_400(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator()
    with http_to(emulator) as request:

        @settings(PROPERTIES, max_examples=examples(800))
        @given(case=bad_list_queries())
        def check(case: tuple[str, dict[str, str], str]) -> None:
            path, query, bad = case
            emulator.schema_violations.clear()
            emulator.received.clear()

            response = request("GET", path, params=query)

            assert response.status_code == 400, response.text
            error = _error_body(response)
            assert list(error) == ["error"] and bad in error["error"]
            assert len(emulator.schema_violations) == 1

        check()


def test_list_endpoints_page_through_valid_parameters(examples: Callable[[int], int]) -> None:
    emulator = TavusEmulator(max_concurrent_conversations=10**9)
    with http_to(emulator) as request:
        for index in range(23):
            body = {"replica_id": STOCK_REPLICAS[index % 3], "test_mode": index % 4 == 0}
            assert request("POST", CREATE, json=body).status_code == 200
        # Everything there is to list (replicas show their type when verbose).
        everything = {
            path: request(
                "GET", path, params={"limit": "100", **({"verbose": "true"} if path == "/v2/replicas" else {})}
            ).json()["data"]
            for path in sorted(LIST_ENDPOINTS)
        }
        # The API filters personas by a type it does not show.
        persona_types = {persona["persona_id"]: persona["persona_type"] for persona in emulator.personas}

        @settings(PROPERTIES, max_examples=examples(400))
        @given(
            path=st.sampled_from(sorted(LIST_ENDPOINTS)),
            limit=st.integers(1, 100),
            page=st.integers(1, MAX_PAGE) | st.integers(1, 30),
            data=st.data(),
        )
        def check(path: str, limit: int, page: int, data: st.DataObject) -> None:
            filters = {
                name: data.draw(st.sampled_from(values) | st.none(), label=name)
                for name, values in {**LIST_ENDPOINTS[path], **FILTERS[path]}.items()
            }
            query = {"limit": str(limit), "page": str(page)} | {k: v for k, v in filters.items() if v is not None}
            emulator.schema_violations.clear()
            emulator.received.clear()

            response = request("GET", path, params=query)

            assert response.status_code == 200, response.text
            answer = response.json()
            assert emulator.schema_violations == []
            rows = [row for row in everything[path] if _matches(row, filters, persona_types)]
            assert answer["total_count"] == len(rows)
            ids = [_row_id(row) for row in answer["data"]]
            assert ids == [_row_id(row) for row in rows[(page - 1) * limit : page * limit]]

        check()


def _matches(row: dict[str, Any], filters: dict[str, str | None], persona_types: dict[str, str]) -> bool:
    status = filters.get("status")
    kind = filters.get("replica_type") or filters.get("persona_type")
    model = filters.get("model_name")
    ids = filters.get("replica_ids")
    if status is not None and row.get("status") != status:
        return False
    if model is not None and row.get("model_name") != model:
        return False
    if ids is not None and row["replica_id"] not in {part.strip() for part in ids.split(",")}:
        return False
    return kind is None or row.get("replica_type", persona_types.get(row.get("persona_id", ""))) == kind


def _row_id(row: dict[str, Any]) -> str:
    return str(row.get("conversation_id") or row.get("replica_id") or row.get("persona_id"))


# Regressions: bugs the properties once found in the emulator (tavus_mcp/sandbox/).


@pytest.mark.parametrize(
    ("name", "value"), [("limit", "\u00b2"), ("limit", "\u0663"), ("page", "1" * 5000)], ids=["²", "٣", "5000-digits"]
)
def test_paging_takes_ascii_digits_only(name: str, value: str) -> None:
    emulator = TavusEmulator()
    with http_to(emulator) as request:
        response = request("GET", "/v2/replicas", params={name: value})
    assert response.status_code == 400, response.status_code
    assert len(emulator.schema_violations) == 1


@pytest.mark.parametrize("url", ["http://[", "https://[::1/hook", "http://[example.com]/hook"])
def test_a_malformed_callback_url_is_a_violation(url: str) -> None:
    emulator = TavusEmulator()
    with http_to(emulator) as request:
        response = request("POST", CREATE, json={"replica_id": STOCK_REPLICAS[0], "callback_url": url})
    assert response.status_code == 400, response.status_code
    assert len(emulator.schema_violations) == 1


@pytest.mark.parametrize(
    "listen", [listening_socket, http_listen], ids=["the loopback emulator", "the server over HTTP"]
)
def test_answers_without_waiting_for_nagle(listen: Callable[[str, int], socket.socket]) -> None:
    """Connections accepted on the emulator's socket, and on the one `--transport http` binds, get TCP_NODELAY
    (from asyncio, as uvicorn serves them).

    Without it every answer on a kept-alive connection waited ~40 ms (Nagle's algorithm against delayed ACKs). The
    option is checked rather than the time a request takes, which would fail on a busy machine."""

    async def accepted_socket_option() -> int:
        accepted: asyncio.Queue[int] = asyncio.Queue()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.put_nowait(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listener = listen("127.0.0.1", 0)
        listener.listen()
        async with await asyncio.start_server(accept, sock=listener):
            _, writer = await asyncio.open_connection(*listener.getsockname())
            option = await accepted.get()
            writer.close()
        return option

    assert asyncio.run(asyncio.wait_for(accepted_socket_option(), 30)) == 1
