"""Unit tests of `tavus_mcp.client.TavusClient` against `httpx2.MockTransport` handlers: no network, no emulator."""

from __future__ import annotations

import gzip
import json
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

import tavus_mcp
from tavus_mcp import client as client_module
from tavus_mcp.client import TavusClient
from tavus_mcp.config import DEFAULT_MAX_RETRIES
from tavus_mcp.errors import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyLimitError,
    InvalidResponseError,
    MissingApiKeyError,
    NotFoundError,
    OutOfCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TavusAPIError,
    TavusConnectionError,
    TavusError,
    TavusTimeoutError,
    UnexpectedStatusError,
)
from tavus_mcp.models.conversations import Conversation

pytestmark = pytest.mark.anyio

API_KEY = "fake-key-5f3c9a1e7b2d4c6a8e0f"
BASE_URL = "https://tavus.test"
CREATE_URL = "https://tavus.test/v2/conversations"
WHERE = "POST /v2/conversations"

CREATE_BODY: dict[str, Any] = {
    "replica_id": "rfe12d8b9597",
    "persona_id": "pdced222244b",
    "conversation_name": "Sales practice: price objections",
    "conversational_context": "Play a skeptical buyer. Prix trop élevé?",
    "test_mode": True,
    "document_ids": ["doc_1234567890"],
    "properties": {"max_call_duration": 600, "language": "Spanish", "enable_closed_captions": False},
}

# The 200 example of create-conversation.md, plus fields Tavus adds where they apply.
CREATED: dict[str, Any] = {
    "conversation_id": "c123456",
    "conversation_name": "A Meeting with Hassaan",
    "status": "active",
    "conversation_url": "https://tavus.daily.co/c123456",
    "replica_id": "r79e1c033f",
    "persona_id": "p5317866",
    "created_at": "2025-01-01T12:00:00Z",
}

# An nginx/Cloudflare-style gateway page: multi-line, tabs, runs of spaces, longer than the 200-character excerpt.
GATEWAY_HTML = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>cloudflare</center>\n"
    + "<p>\tThe origin   server did not answer in time.</p>\n" * 8
    + "</body>\n</html>\n"
)
GATEWAY_EXCERPT = (
    "<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> "
    "<hr><center>cloudflare</center> <p> The origin server did not answer in time.</p> <p> The origin ser"
)

Handler = Callable[[httpx2.Request], httpx2.Response]


# Helpers


@dataclass
class Recorder:
    """A MockTransport handler that records every request and answers with `respond(request)`."""

    respond: Handler
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.respond(request)


def answer(status: int, **kwargs: Any) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, **kwargs)

    return handler


def make_client(
    handler: Handler,
    *,
    api_key: str | None = API_KEY,
    base_url: str = BASE_URL,
    timeout: float = 5.0,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> TavusClient:
    return TavusClient(
        api_key=SecretStr(api_key) if api_key is not None else None,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        transport=httpx2.MockTransport(handler),
    )


async def create(handler: Handler, body: dict[str, Any] | None = None, **kwargs: Any) -> Conversation:
    async with make_client(handler, **kwargs) as client:
        return await client.create_conversation(CREATE_BODY if body is None else body)


async def create_error(handler: Handler, expected: type[TavusError] | None = None, **kwargs: Any) -> TavusError:
    """The TavusError create_conversation raises; when `expected` is given, checked to be exactly of that class."""
    with pytest.raises(TavusError) as info:
        await create(handler, **kwargs)
    if expected is not None:
        assert type(info.value) is expected
    return info.value


class ChunkedStream(httpx2.AsyncByteStream):
    """A response body sent in chunks, counting how many the client pulled; optionally breaking after them."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk
        if self.error is not None:
            raise self.error


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Every text an exception shows: str, repr, and the formatted traceback with its cause/context chain."""
    yield str(exc)
    yield repr(exc)
    yield "".join(traceback.format_exception(exc))
    # Whatever the chain shows when formatted must not hold the key either (an explicit `from` cause is shown).
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def assert_key_absent(exc: BaseException, key: str = API_KEY) -> None:
    for text in exception_texts(exc):
        assert key not in text


# The request


async def test_create_sends_post_with_exact_json_body_and_headers() -> None:
    recorder = Recorder(answer(200, json=CREATED))
    await create(recorder)

    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == CREATE_URL
    assert request.url.path == "/v2/conversations"
    assert request.url.query == b""
    assert json.loads(request.content) == CREATE_BODY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["user-agent"] == f"mcp-server-tavus/{tavus_mcp.__version__}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert "cookie" not in request.headers


async def test_a_compressed_answer_is_decompressed() -> None:
    content = gzip.compress(json.dumps(CREATED).encode())
    conversation = await create(answer(200, headers={"content-encoding": "gzip"}, content=content))

    assert conversation.conversation_id == CREATED["conversation_id"]


async def test_create_sends_minimal_body_unchanged_and_does_not_mutate_it() -> None:
    body = {"replica_id": "rfe12d8b9597"}
    recorder = Recorder(answer(200, json=CREATED))
    await create(recorder, body=body)
    assert json.loads(recorder.requests[0].content) == {"replica_id": "rfe12d8b9597"}
    assert body == {"replica_id": "rfe12d8b9597"}


@pytest.mark.parametrize(
    ("base_url", "expected_url"),
    [
        ("https://tavus.test/", CREATE_URL),
        ("https://tavus.test//", CREATE_URL),
        ("https://gateway.test/tavus", "https://gateway.test/tavus/v2/conversations"),
        ("https://gateway.test/tavus/", "https://gateway.test/tavus/v2/conversations"),
    ],
)
async def test_base_url_is_joined_with_the_path(base_url: str, expected_url: str) -> None:
    recorder = Recorder(answer(200, json=CREATED))
    await create(recorder, base_url=base_url)
    assert str(recorder.requests[0].url) == expected_url


async def test_configured_timeout_applies_to_every_phase() -> None:
    # The timeout is the whole budget of the call: each phase of an attempt gets what is left of it.
    recorder = Recorder(answer(200, json=CREATED))
    await create(recorder, timeout=7.5)
    phases = recorder.requests[0].extensions["timeout"]
    assert set(phases) == {"connect", "read", "write", "pool"}
    assert all(7.0 < seconds <= 7.5 for seconds in phases.values()), phases


async def test_redirects_are_not_followed() -> None:
    recorder = Recorder(answer(307, headers={"location": "https://elsewhere.test/v2/conversations"}))
    with pytest.raises(TavusError):
        await create(recorder)
    assert [str(request.url) for request in recorder.requests] == [CREATE_URL]


async def test_repr_shows_base_url_and_whether_a_key_is_set_never_the_key() -> None:
    handler = answer(200, json=CREATED)
    async with make_client(handler) as client:
        assert repr(client) == "TavusClient(base_url='https://tavus.test', api_key=set)"
        assert API_KEY not in repr(client)
        assert API_KEY not in str(client)
    async with make_client(handler, api_key=None) as client:
        assert repr(client) == "TavusClient(base_url='https://tavus.test', api_key=missing)"


# Successful answers


async def test_200_parses_into_conversation_keeping_extra_fields() -> None:
    body = {
        **CREATED,
        "callback_url": "https://example.com/webhook",
        "meeting_token": "tok123",
        "updated_at": "2025-01-01T12:01:00Z",
        "recording_enabled": True,  # a field this client does not know
        "future_object": {"nested": [1, 2]},
    }
    conversation = await create(answer(200, json=body))

    assert isinstance(conversation, Conversation)
    assert conversation.conversation_id == "c123456"
    assert conversation.conversation_name == "A Meeting with Hassaan"
    assert conversation.status == "active"
    assert conversation.conversation_url == "https://tavus.daily.co/c123456"
    assert conversation.replica_id == "r79e1c033f"
    assert conversation.persona_id == "p5317866"
    assert conversation.created_at == "2025-01-01T12:00:00Z"
    assert conversation.updated_at == "2025-01-01T12:01:00Z"
    assert conversation.callback_url == "https://example.com/webhook"
    assert conversation.meeting_token == "tok123"
    assert conversation.model_extra == {"recording_enabled": True, "future_object": {"nested": [1, 2]}}
    assert conversation.model_dump() == body


async def test_200_with_only_conversation_id_leaves_optional_fields_none() -> None:
    conversation = await create(answer(200, json={"conversation_id": "c1"}))
    assert conversation.model_dump() == {
        "conversation_id": "c1",
        "conversation_url": None,
        "conversation_name": None,
        "status": None,
        "replica_id": None,
        "persona_id": None,
        "callback_url": None,
        "meeting_token": None,
        "created_at": None,
        "updated_at": None,
    }
    assert conversation.link_with_token() is None


async def test_200_with_explicit_nulls_for_optional_fields_is_accepted() -> None:
    conversation = await create(answer(200, json={"conversation_id": "c1", "conversation_url": None, "status": None}))
    assert conversation.conversation_id == "c1"
    assert conversation.conversation_url is None


async def test_201_is_a_success_too() -> None:
    conversation = await create(answer(201, json=CREATED))
    assert conversation.conversation_id == "c123456"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param({k: v for k, v in CREATED.items() if k != "conversation_id"}, "conversation_id: Field required"),
        pytest.param({**CREATED, "conversation_id": 123456}, "conversation_id: Input should be a valid string"),
        pytest.param([CREATED], "body: Input should be a valid dictionary or instance of Conversation"),
        pytest.param("c123456", "body: Input should be a valid dictionary or instance of Conversation"),
        pytest.param(None, "body: Input should be a valid dictionary or instance of Conversation"),
    ],
    ids=["missing-id", "id-not-a-string", "list", "string", "null"],
)
async def test_200_of_unexpected_shape_is_invalid_response(body: Any, problem: str) -> None:
    exc = await create_error(answer(200, json=body), InvalidResponseError)
    assert str(exc) == f"Tavus answered {WHERE} with a body of an unexpected shape ({problem})"
    assert isinstance(exc, InvalidResponseError)
    assert exc.status_code == 200
    assert exc.may_have_reached_tavus is True


@pytest.mark.parametrize(
    ("content", "excerpt"),
    [
        (b"<html>\n  <body>Welcome</body>\n</html>\n", "<html> <body>Welcome</body> </html>"),
        (b'{"conversation_id": "c123456", "conversa', '{"conversation_id": "c123456", "conversa'),
        (b"OK", "OK"),
        (b"x" * 500, "x" * 120),
    ],
    ids=["html", "truncated-json", "plain-text", "long-text-excerpt-120"],
)
async def test_200_not_json_is_invalid_response_with_an_excerpt(content: bytes, excerpt: str) -> None:
    exc = await create_error(answer(200, content=content), InvalidResponseError)
    assert str(exc) == f"Tavus answered {WHERE} with HTTP 200 but not with JSON: {excerpt!r}"
    assert isinstance(exc, InvalidResponseError)
    assert exc.status_code == 200


@pytest.mark.parametrize("content", [b"", b"  \r\n\t "], ids=["empty", "whitespace"])
async def test_200_empty_body_is_invalid_response_for_create(content: bytes) -> None:
    exc = await create_error(answer(200, content=content), InvalidResponseError)
    assert str(exc) == (
        f"Tavus answered {WHERE} with a body of an unexpected shape "
        "(body: Input should be a valid dictionary or instance of Conversation)"
    )


@pytest.mark.parametrize(("status", "content"), [(200, b""), (200, b" \n"), (204, b"")])
async def test_request_returns_none_for_an_empty_success_body(status: int, content: bytes) -> None:
    async with make_client(answer(status, content=content)) as client:
        assert await client._request("POST", "/v2/conversations/c1/end") is None


async def test_request_returns_parsed_json() -> None:
    async with make_client(answer(200, json={"data": [], "total_count": 0})) as client:
        assert await client._request("GET", "/v2/conversations", params={"limit": 10}) == {
            "data": [],
            "total_count": 0,
        }


# Error answers


@dataclass(frozen=True)
class ErrorCase:
    status: int
    expected: type[TavusAPIError]
    message: str
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    retry_after: float | None = None
    may_have_reached_tavus: bool = False


def json_case(status: int, expected: type[TavusAPIError], body: Any, message: str, **kwargs: Any) -> ErrorCase:
    return ErrorCase(status, expected, message, content=json.dumps(body).encode(), body=body, **kwargs)


ERROR_CASES = {
    "400-error": json_case(400, BadRequestError, {"error": "Invalid replica_id"}, "Invalid replica_id"),
    "400-error-spaces": json_case(
        400, BadRequestError, {"error": "  Invalid conversation_id \n"}, "Invalid conversation_id"
    ),
    "400-error-wins-over-message": json_case(
        400, BadRequestError, {"error": "from error", "message": "from message"}, "from error"
    ),
    "400-detail": json_case(400, BadRequestError, {"detail": "persona_id is required"}, "persona_id is required"),
    "400-structured-error": json_case(
        400, BadRequestError, {"error": {"replica_id": ["not found"]}}, '{"replica_id": ["not found"]}'
    ),
    "400-concurrency-message": json_case(
        400,
        ConcurrencyLimitError,
        {"message": "User has reached maximum concurrent conversations"},
        "User has reached maximum concurrent conversations",
    ),
    "400-concurrency-error-other-wording": json_case(
        400, ConcurrencyLimitError, {"error": "Concurrency limit reached"}, "Concurrency limit reached"
    ),
    "401": json_case(401, AuthenticationError, {"message": "Invalid access token"}, "Invalid access token"),
    "402": json_case(
        402,
        OutOfCreditsError,
        {"message": "The user is out of conversational credits"},
        "The user is out of conversational credits",
    ),
    "403": json_case(403, PermissionDeniedError, {"message": "IP address not allowed"}, "IP address not allowed"),
    "404": json_case(404, NotFoundError, {"error": "Not found"}, "Not found"),
    "429-retry-after": json_case(
        429,
        RateLimitError,
        {"message": "Too many requests"},
        "Too many requests",
        headers={"Retry-After": "7"},
        retry_after=7.0,
    ),
    "429-retry-after-fraction": json_case(
        429, RateLimitError, {"message": "Slow down"}, "Slow down", headers={"Retry-After": "2.5"}, retry_after=2.5
    ),
    "429-no-retry-after": ErrorCase(429, RateLimitError, "Too Many Requests"),
    # An HTTP date is read as the time left until then: one already past means now.
    "429-retry-after-date": ErrorCase(
        429,
        RateLimitError,
        "Too Many Requests",
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
        retry_after=0.0,
    ),
    "429-retry-after-garbage": ErrorCase(429, RateLimitError, "Too Many Requests", headers={"Retry-After": "soon"}),
    "429-retry-after-negative": ErrorCase(429, RateLimitError, "Too Many Requests", headers={"Retry-After": "-5"}),
    "429-concurrency": json_case(
        429,
        ConcurrencyLimitError,
        {"message": "User has reached maximum concurrent conversations"},
        "User has reached maximum concurrent conversations",
    ),
    "500-html": ErrorCase(
        500, ServerError, GATEWAY_EXCERPT, content=GATEWAY_HTML.encode(), may_have_reached_tavus=True
    ),
    "502-html": ErrorCase(
        502, ServerError, GATEWAY_EXCERPT, content=GATEWAY_HTML.encode(), may_have_reached_tavus=True
    ),
    "503-html-retry-after": ErrorCase(
        503,
        ServerError,
        GATEWAY_EXCERPT,
        content=GATEWAY_HTML.encode(),
        headers={"Retry-After": "120"},
        retry_after=120.0,
        may_have_reached_tavus=True,
    ),
    "504-html": ErrorCase(
        504, ServerError, GATEWAY_EXCERPT, content=GATEWAY_HTML.encode(), may_have_reached_tavus=True
    ),
    "500-json": json_case(500, ServerError, {"error": "Internal error"}, "Internal error", may_have_reached_tavus=True),
    "418-json": json_case(418, UnexpectedStatusError, {"message": "teapot"}, "teapot", may_have_reached_tavus=True),
    "418-empty": ErrorCase(418, UnexpectedStatusError, "I'm a teapot", may_have_reached_tavus=True),
    "409-text": ErrorCase(
        409, UnexpectedStatusError, "already exists", content=b"already  exists\n", may_have_reached_tavus=True
    ),
    "400-empty": ErrorCase(400, BadRequestError, "Bad Request"),
    "401-empty": ErrorCase(401, AuthenticationError, "Unauthorized"),
    "402-empty": ErrorCase(402, OutOfCreditsError, "Payment Required"),
    "500-empty": ErrorCase(500, ServerError, "Internal Server Error", may_have_reached_tavus=True),
    "599-empty-unknown-reason": ErrorCase(599, ServerError, "HTTP 599", may_have_reached_tavus=True),
    "400-blank-error-falls-back-to-message": json_case(
        400, BadRequestError, {"error": "", "message": "replica_id is invalid"}, "replica_id is invalid"
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
async def test_error_status_maps_to_exception(case: ErrorCase) -> None:
    handler = answer(case.status, content=case.content, headers=case.headers)
    # What each answer maps to, without the retries some earn (their waits are test_reliability's).
    exc = await create_error(handler, case.expected, max_retries=0)

    assert isinstance(exc, TavusAPIError)
    assert exc.message == case.message
    assert str(exc) == case.message
    assert exc.status_code == case.status
    assert exc.body == case.body
    assert exc.retry_after == case.retry_after
    assert exc.may_have_reached_tavus is case.may_have_reached_tavus


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_error_message_is_a_short_collapsed_excerpt(status: int) -> None:
    exc = await create_error(answer(status, html=GATEWAY_HTML), ServerError)
    assert len(GATEWAY_HTML) > 500
    assert str(exc) == GATEWAY_EXCERPT
    assert len(str(exc)) == 200
    assert "\n" not in str(exc)
    assert "\t" not in str(exc)
    assert "  " not in str(exc)


async def test_concurrency_limit_is_a_bad_request_that_did_not_reach_tavus() -> None:
    body = {"message": "User has reached maximum concurrent conversations"}
    exc = await create_error(answer(400, json=body), ConcurrencyLimitError)
    assert isinstance(exc, BadRequestError)
    assert exc.may_have_reached_tavus is False


async def test_error_body_is_read_only_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_ERROR_BODY_BYTES", 40)
    content = json.dumps({"error": "Invalid replica_id", "padding": "x" * 10_000}).encode()
    stream = ChunkedStream([content[i : i + 10] for i in range(0, len(content), 10)])
    exc = await create_error(answer(400, stream=stream), BadRequestError)
    # The truncated body is no longer JSON: the message is the excerpt of the first 40 bytes.
    assert str(exc) == '{"error": "Invalid replica_id", "padding'
    assert isinstance(exc, TavusAPIError)
    assert exc.body is None
    assert stream.pulled == 5  # 50 bytes pulled, then the client stopped reading


# Transport failures


def raising(error_type: type[httpx2.TransportError], message: str = "boom") -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error_type(message, request=request)

    return handler


TRANSPORT_CASES = [
    (httpx2.ConnectError, TavusConnectionError, False, "could not connect to Tavus at https://tavus.test"),
    (
        httpx2.ConnectTimeout,
        TavusTimeoutError,
        False,
        "could not connect to Tavus at https://tavus.test within the timeout (ConnectTimeout)",
    ),
    (
        httpx2.PoolTimeout,
        TavusTimeoutError,
        False,
        "could not connect to Tavus at https://tavus.test within the timeout (PoolTimeout)",
    ),
    (httpx2.ReadTimeout, TavusTimeoutError, True, f"Tavus did not answer {WHERE} within the timeout (ReadTimeout)"),
    (httpx2.WriteTimeout, TavusTimeoutError, True, f"Tavus did not answer {WHERE} within the timeout (WriteTimeout)"),
    (httpx2.ReadError, TavusConnectionError, True, f"the connection to Tavus broke during {WHERE} (ReadError)"),
    (httpx2.WriteError, TavusConnectionError, True, f"the connection to Tavus broke during {WHERE} (WriteError)"),
    (
        httpx2.RemoteProtocolError,
        TavusConnectionError,
        True,
        f"the connection to Tavus broke during {WHERE} (RemoteProtocolError)",
    ),
]


@pytest.mark.parametrize(
    ("error_type", "expected", "may_have_reached", "message"),
    TRANSPORT_CASES,
    ids=[case[0].__name__ for case in TRANSPORT_CASES],
)
async def test_transport_error_maps_to_tavus_error(
    error_type: type[httpx2.TransportError], expected: type[TavusError], may_have_reached: bool, message: str
) -> None:
    exc = await create_error(raising(error_type), expected, max_retries=0)
    assert str(exc) == message
    assert exc.may_have_reached_tavus is may_have_reached
    # The HTTP library's exception is not chained for display.
    assert exc.__cause__ is None
    # Not even kept as context: the HTTP library's message may quote a header.
    assert exc.__context__ is None


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (httpx2.ReadError("reset"), TavusConnectionError, f"the connection to Tavus broke during {WHERE} (ReadError)"),
        (
            httpx2.RemoteProtocolError("incomplete chunked read"),
            TavusConnectionError,
            f"the connection to Tavus broke during {WHERE} (RemoteProtocolError)",
        ),
        (
            httpx2.ReadTimeout("timed out"),
            TavusTimeoutError,
            f"Tavus did not answer {WHERE} within the timeout (ReadTimeout)",
        ),
    ],
    ids=["ReadError", "RemoteProtocolError", "ReadTimeout"],
)
async def test_connection_breaking_while_reading_the_body_may_have_reached_tavus(
    error: httpx2.TransportError, expected: type[TavusError], message: str
) -> None:
    stream = ChunkedStream([b'{"conversation_id": '], error=error)
    exc = await create_error(answer(200, stream=stream), expected)
    assert str(exc) == message
    assert exc.may_have_reached_tavus is True


@pytest.mark.parametrize(
    ("status", "body", "may_have_reached"),
    [
        (400, {"error": "Invalid replica_id"}, False),
        (400, {"message": "User has reached maximum concurrent conversations"}, False),
        (401, {"message": "Invalid access token"}, False),
        (402, {"message": "The user is out of conversational credits"}, False),
        (403, {"message": "Forbidden"}, False),
        (404, {"error": "Not found"}, False),
        (429, {"message": "Too many requests"}, False),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (418, None, True),
    ],
)
async def test_may_have_reached_tavus_by_status(status: int, body: Any, may_have_reached: bool) -> None:
    exc = await create_error(answer(status, json=body) if body is not None else answer(status, html=GATEWAY_HTML))
    assert exc.may_have_reached_tavus is may_have_reached


@pytest.mark.parametrize("status", [200, 502])
async def test_undecodable_content_encoding_is_a_tavus_error(status: int) -> None:
    handler = answer(status, headers={"content-encoding": "gzip"}, content=b"this is not gzip")
    with pytest.raises(TavusError):
        await create(handler)


# Size limit


async def test_success_body_larger_than_the_cap_is_invalid_response(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 1000)
    content = json.dumps({**CREATED, "transcript": "x" * 5000}).encode()
    exc = await create_error(answer(200, content=content), InvalidResponseError)
    assert str(exc) == f"Tavus's answer to {WHERE} is larger than 1000 bytes"
    assert isinstance(exc, InvalidResponseError)
    assert exc.status_code == 200


async def test_reading_stops_soon_after_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 4096)
    stream = ChunkedStream([b"x" * 1024] * 1000)
    exc = await create_error(answer(200, stream=stream), InvalidResponseError)
    assert str(exc) == f"Tavus's answer to {WHERE} is larger than 4096 bytes"
    assert stream.pulled == 5  # 4 chunks reach the cap, the 5th goes over it: the other 995 are never read


async def test_body_of_exactly_the_cap_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    content = json.dumps(CREATED).encode()
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", len(content))
    conversation = await create(answer(200, stream=ChunkedStream([content[:10], content[10:]])))
    assert conversation.conversation_id == "c123456"

    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", len(content) - 1)
    exc = await create_error(answer(200, content=content), InvalidResponseError)
    assert str(exc) == f"Tavus's answer to {WHERE} is larger than {len(content) - 1} bytes"


def test_default_caps() -> None:
    assert client_module.MAX_RESPONSE_BYTES == 8 * 1024 * 1024
    assert client_module.MAX_ERROR_BODY_BYTES == 64 * 1024


# No key


async def test_no_key_raises_missing_api_key_without_sending_anything() -> None:
    recorder = Recorder(answer(200, json=CREATED))
    exc = await create_error(recorder, MissingApiKeyError, api_key=None)
    assert str(exc) == "no Tavus API key is configured"
    assert exc.may_have_reached_tavus is False
    assert recorder.requests == []


# The key never shows


def echoing_key(error_type: type[httpx2.TransportError]) -> Handler:
    """A transport failure whose message holds the key, as h11 does for a header value it rejects."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error_type(f"Illegal header value {request.headers['x-api-key']!r}", request=request)

    return handler


def broken_body_echoing_key(request: httpx2.Request) -> httpx2.Response:
    error = httpx2.ReadError(f"connection reset while sending {request.headers['x-api-key']}")
    return httpx2.Response(200, stream=ChunkedStream([b"{"], error=error))


LEAK_CASES: dict[str, Handler] = {
    "400": answer(400, json={"error": "Invalid replica_id"}),
    "400-concurrency": answer(400, json={"message": "User has reached maximum concurrent conversations"}),
    "401": answer(401, json={"message": "Invalid access token"}),
    "402": answer(402, json={"message": "The user is out of conversational credits"}),
    "403": answer(403, content=b""),
    "404": answer(404, json={"error": "Not found"}),
    "429": answer(429, headers={"Retry-After": "7"}, content=b""),
    "502-html": answer(502, html=GATEWAY_HTML),
    "418": answer(418, content=b""),
    "200-html": answer(200, html="<html><body>Login</body></html>"),
    "200-empty": answer(200, content=b""),
    "200-missing-id": answer(200, json={"status": "active"}),
    "200-too-large": answer(200, content=b'{"conversation_id": "' + b"x" * 2000 + b'"}'),
    "ConnectError": echoing_key(httpx2.ConnectError),
    "ConnectTimeout": echoing_key(httpx2.ConnectTimeout),
    "PoolTimeout": echoing_key(httpx2.PoolTimeout),
    "ReadTimeout": echoing_key(httpx2.ReadTimeout),
    "ReadError": echoing_key(httpx2.ReadError),
    "RemoteProtocolError": echoing_key(httpx2.RemoteProtocolError),
    "LocalProtocolError": echoing_key(httpx2.LocalProtocolError),
    "broken-body": broken_body_echoing_key,
}


@pytest.mark.parametrize("handler", list(LEAK_CASES.values()), ids=list(LEAK_CASES))
async def test_key_never_appears_in_errors_or_logs(
    handler: Handler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 1024)
    exc = await create_error(handler)
    assert_key_absent(exc)
    assert API_KEY not in caplog.text


async def test_key_never_appears_in_missing_key_error() -> None:
    exc = await create_error(answer(200, json=CREATED), MissingApiKeyError, api_key=None)
    assert_key_absent(exc)


def test_exception_texts_would_find_a_leaked_key() -> None:
    # The leak checks above can fail: a key in a displayed cause is found.
    try:
        try:
            raise ValueError(f"header {API_KEY}")
        except ValueError as inner:
            raise TavusConnectionError("outer", may_have_reached_tavus=True) from inner
    except TavusConnectionError as exc:
        with pytest.raises(AssertionError):
            assert_key_absent(exc)


async def test_key_that_cannot_be_a_header_value_is_neither_a_crash_nor_a_leak() -> None:
    key = "fake-key-5f3c9a1e\u2019"  # a pasted typographic apostrophe
    raised: BaseException | None = None
    try:
        await create(answer(200, json=CREATED), api_key=key)
    except BaseException as exc:  # the assertion below says which kinds are acceptable
        raised = exc
    assert raised is None or isinstance(raised, TavusError), repr(type(raised))
    if raised is not None:
        assert_key_absent(raised, key)


# Retry-After edge cases


async def test_non_finite_retry_after_is_ignored() -> None:
    exc = await create_error(answer(429, headers={"Retry-After": "inf"}, content=b""), RateLimitError, max_retries=0)
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None


async def test_nan_retry_after_is_ignored() -> None:
    exc = await create_error(answer(429, headers={"Retry-After": "nan"}, content=b""), RateLimitError, max_retries=0)
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None


# Conversation.link_with_token


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        ("https://tavus.daily.co/c123456", "tok.en-1", "https://tavus.daily.co/c123456?t=tok.en-1"),
        ("https://tavus.daily.co/c123456?lang=es", "tok", "https://tavus.daily.co/c123456?lang=es&t=tok"),
        ("https://tavus.daily.co/c123456", None, "https://tavus.daily.co/c123456"),
        ("https://tavus.daily.co/c123456", "", "https://tavus.daily.co/c123456"),
        (None, "tok", None),
        (None, None, None),
    ],
    ids=["token", "token-after-query", "no-token", "empty-token", "no-url", "nothing"],
)
def test_link_with_token(url: str | None, token: str | None, expected: str | None) -> None:
    conversation = Conversation(conversation_id="c123456", conversation_url=url, meeting_token=token)
    assert conversation.link_with_token() == expected
    assert conversation.conversation_url == url  # the plain link is left as it was


async def test_link_with_token_from_a_private_room_answer() -> None:
    conversation = await create(answer(200, json={**CREATED, "meeting_token": "eyJhbGciOi.abc"}))
    assert conversation.link_with_token() == "https://tavus.daily.co/c123456?t=eyJhbGciOi.abc"
    assert conversation.conversation_url == "https://tavus.daily.co/c123456"
