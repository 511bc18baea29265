"""Faults from Tavus, injected into the emulator, through the protocol: retries, no duplicates, time limits,
cancellation, every shape of answer, the operator's guardrails, and the key in no output at all."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import SecretStr

from tavus_mcp.client import TavusClient
from tavus_mcp.errors import TavusConnectionError
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"
CREATE = "/v2/conversations"
MAY_EXIST = "The conversation may have been created anyway."
HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _json_fault(status: int, body: Any, **kwargs: Any) -> Fault:
    return Fault(status=status, body=json.dumps(body), content_type="application/json", **kwargs)


# Retries of what is safe to repeat


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_reads_are_retried_on_gateway_errors(mcp: Client, sandbox: Sandbox, status: int) -> None:
    sandbox.faults.append(Fault(status=status, body=HTML_PAGE, path="/v2/replicas", times=2))
    result = await mcp.call_tool("list_replicas", {})

    assert not result.is_error, text_of(result)
    assert len(sandbox.requests_to("GET", "/v2/replicas")) == 3


async def test_retries_give_up_after_max_retries(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=503, body="", path="/v2/replicas", times=10))
    result = await mcp.call_tool("list_replicas", {})

    assert result.is_error
    assert text_of(result) == "Tavus failed with HTTP 503 (Service Unavailable). Try again shortly."
    assert len(sandbox.requests_to("GET", "/v2/replicas")) == 3  # the first try and two retries


async def test_retry_after_is_honoured(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=429, body="", headers={"Retry-After": "0.6"}, path="/v2/personas"))
    started = anyio.current_time()
    result = await mcp.call_tool("list_personas", {})

    assert not result.is_error
    assert anyio.current_time() - started >= 0.6
    assert len(sandbox.requests_to("GET", "/v2/personas")) == 2


async def test_a_retry_after_longer_than_the_budget_is_not_waited_for(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=429, body="", headers={"Retry-After": "8"}))
    async with connect(sandbox.settings(timeout=2)) as mcp:
        result = await mcp.call_tool("list_personas", {})

    assert text_of(result) == "Tavus is limiting the rate of requests (HTTP 429). Wait 8 seconds and try again."
    assert len(sandbox.injector.seen) == 1


async def test_end_and_delete_are_retried(mcp: Client, sandbox: Sandbox) -> None:
    created = await mcp.call_tool("create_conversation", {"replica_id": R})
    assert created.structured_content is not None
    conversation_id = created.structured_content["conversation_id"]
    sandbox.faults.append(Fault(status=502, body=HTML_PAGE, path=f"{CREATE}/{conversation_id}"))
    ended = await mcp.call_tool("end_conversation", {"conversation_id": conversation_id})
    sandbox.faults.append(Fault(status=504, body="", method="DELETE"))
    deleted = await mcp.call_tool("delete_conversation", {"conversation_id": conversation_id})

    assert not ended.is_error and not deleted.is_error
    assert len(sandbox.requests_to("POST", f"{CREATE}/{conversation_id}/end")) == 2
    assert len([r for r in sandbox.injector.seen if r.method == "DELETE"]) == 2


async def test_client_errors_are_not_retried(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("get_conversation", {"conversation_id": "c404"})
    assert result.is_error
    assert len(sandbox.injector.seen) == 1


# Creating is not idempotent: repeated only when Tavus certainly did not act


async def test_create_is_retried_after_a_429(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(_json_fault(429, {"message": "Too many requests"}, path=CREATE))
    result = await mcp.call_tool("create_conversation", {"replica_id": R})

    assert not result.is_error, text_of(result)
    assert len(sandbox.creates()) == 2
    assert len(sandbox.emulator.conversations) == 1


async def test_create_is_retried_when_the_connection_was_refused() -> None:
    # Refused before anything was sent: the one failure of a create that is certainly safe to repeat.
    attempts: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx2.ConnectError("Connection refused", request=request)
        return httpx2.Response(200, json={"conversation_id": "c1", "conversation_url": "https://x/c1"})

    async with TavusClient(
        api_key=SecretStr("fake-key"), base_url="https://tavus.test", timeout=5, transport=httpx2.MockTransport(handler)
    ) as tavus:
        conversation = await tavus.create_conversation({"replica_id": R})
    assert conversation.conversation_id == "c1"
    assert len(attempts) == 2


async def test_create_is_not_retried_after_a_read_error() -> None:
    attempts: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(1)
        raise httpx2.ReadError("connection reset", request=request)

    async with TavusClient(
        api_key=SecretStr("fake-key"), base_url="https://tavus.test", timeout=5, transport=httpx2.MockTransport(handler)
    ) as tavus:
        with pytest.raises(TavusConnectionError) as raised:
            await tavus.create_conversation({"replica_id": R})
    assert raised.value.may_have_reached_tavus
    assert len(attempts) == 1


# Under every fault: never more conversations than the tool reported (or warned about)

FAULTS_BEFORE_ACTING = [
    pytest.param(Fault(status=503, body=HTML_PAGE), id="503-before"),
    pytest.param(Fault(status=500, body=""), id="500-empty-before"),
    pytest.param(_json_fault(429, {"message": "slow down"}), id="429"),
    pytest.param(Fault(status=200, body="<html>maintenance</html>"), id="html-200-before"),
    pytest.param(Fault(status=200, body='{"conversation_id": "c', cut_short=True), id="dropped-before"),
]
FAULTS_AFTER_ACTING = [
    pytest.param(Fault(status=502, body=HTML_PAGE, after_handling=True), id="502-after"),
    pytest.param(Fault(status=504, body="", after_handling=True), id="504-after"),
    pytest.param(Fault(status=200, delay=3, after_handling=True), id="timeout-after"),
    pytest.param(Fault(status=200, body="{", after_handling=True), id="truncated-json-after"),
    pytest.param(Fault(status=200, body="", after_handling=True), id="empty-200-after"),
    pytest.param(Fault(status=200, body="x" * 64, cut_short=True, after_handling=True), id="dropped-after"),
]


async def _create_under_fault(sandbox: Sandbox, fault: Fault, calls: int) -> tuple[int, int]:
    """Creates `calls` conversations, the fault hitting every other call; (successes, warnings of may-exist)."""
    successes = warnings = 0
    async with connect(sandbox.settings(timeout=1.5)) as mcp:
        for index in range(calls):
            if index % 2 == 0:
                sandbox.faults.append(dataclasses.replace(fault, method="POST", path=CREATE, times=1))
            result = await mcp.call_tool("create_conversation", {"replica_id": R, "test_mode": True})
            if not result.is_error:
                successes += 1
            elif MAY_EXIST in text_of(result):
                warnings += 1
    return successes, warnings


@pytest.mark.parametrize("fault", FAULTS_BEFORE_ACTING)
async def test_no_duplicates_when_tavus_failed_before_acting(sandbox: Sandbox, fault: Fault) -> None:
    successes, _ = await _create_under_fault(sandbox, fault, calls=4)
    assert len(sandbox.emulator.conversations) == successes


@pytest.mark.parametrize("fault", FAULTS_AFTER_ACTING)
async def test_no_duplicates_when_tavus_acted_then_failed(sandbox: Sandbox, fault: Fault) -> None:
    successes, warnings = await _create_under_fault(sandbox, fault, calls=4)
    # Each failed call was one POST (never retried), and its error said the conversation may exist.
    assert (successes, warnings) == (2, 2)
    assert len(sandbox.creates()) == 4
    assert len(sandbox.emulator.conversations) == successes + warnings


# Time limits and cancellation


async def test_a_hanging_tavus_never_holds_a_call_past_its_timeout(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=200, delay=30, path="/v2/replicas"))
    async with connect(sandbox.settings(timeout=1)) as mcp:
        with anyio.fail_after(5):
            result = await mcp.call_tool("list_replicas", {})
    assert text_of(result) == "Tavus did not answer within 1 seconds. Try again shortly."
    # The server hung up on the request it gave up on.
    await _wait_until_abandoned(sandbox, ["GET /v2/replicas"])


async def test_a_trickling_answer_is_cut_off_at_the_timeout(sandbox: Sandbox) -> None:
    # Headers at once, then a byte every 0.1 s: a read timeout per chunk would never fire.
    sandbox.faults.append(Fault(status=200, body="{}", trickle=True, delay=30, path="/v2/personas"))
    async with connect(sandbox.settings(timeout=1)) as mcp:
        with anyio.fail_after(5):
            result = await mcp.call_tool("list_personas", {})
    assert text_of(result) == "Tavus did not answer within 1 seconds. Try again shortly."
    await _wait_until_abandoned(sandbox, ["GET /v2/personas"])


# Over stdio a process: a cancellation over stdio is quick in test_wait.py (its wait stops asking Tavus).
@pytest.mark.parametrize("transport", ["memory", pytest.param("stdio", marks=[pytest.mark.stdio, pytest.mark.slow])])
async def test_cancelling_a_call_aborts_its_http_request(sandbox: Sandbox, transport: str) -> None:
    sandbox.faults.append(Fault(status=200, delay=20, path="/v2/replicas"))
    server: Any
    if transport == "memory":
        async with connect(sandbox.settings(timeout=30)) as client:
            await _cancel_then_check(client, sandbox)
    else:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "tavus_mcp"],
            env={"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url, "TAVUS_LOG_LEVEL": "ERROR"},
        )
        async with Client(server) as client:
            await _cancel_then_check(client, sandbox)


async def _wait_until_abandoned(sandbox: Sandbox, expected: list[str]) -> None:
    """Wait (a few seconds at most) until the emulator has seen exactly these requests abandoned by the server."""
    with anyio.move_on_after(5):
        # The emulator runs in another thread and appends to a list: polling is the simple way to watch it.
        while sandbox.abandoned != expected:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    assert sandbox.abandoned == expected


async def _cancel_then_check(client: Client, sandbox: Sandbox) -> None:
    with anyio.move_on_after(0.5):
        await client.call_tool("list_replicas", {})
    await _wait_until_abandoned(sandbox, ["GET /v2/replicas"])
    # And the server goes on serving.
    assert not (await client.call_tool("list_replicas", {})).is_error


# Every shape of answer


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(status=200, body=""),
            "Tavus answered, but the answer could not be read: Tavus answered GET /v2/personas with a body of an "
            "unexpected shape (body: Input should be a valid dictionary",
        ),
        (
            Fault(status=200, body='{"data": [{"persona_id": "p1"', content_type="application/json"),
            "Tavus answered, but the answer could not be read: Tavus answered GET /v2/personas with HTTP 200 but not "
            'with JSON: \'{"data": [{"persona_id": "p1"\'.',
        ),
        (
            _json_fault(200, {"data": "nope"}),
            "Tavus answered, but the answer could not be read: Tavus answered GET /v2/personas with a body of an "
            "unexpected shape (data: Input should be a valid list).",
        ),
        (
            _json_fault(200, ["not", "an", "object"]),
            "Tavus answered, but the answer could not be read: Tavus answered GET /v2/personas with a body of an "
            "unexpected shape (body: Input should be a valid dictionary",
        ),
        (
            Fault(status=200, body="x" * (9 * 1024 * 1024), content_type="application/json"),
            "Tavus answered, but the answer could not be read: Tavus's answer to GET /v2/personas is larger than "
            "8388608 bytes.",
        ),
        (
            Fault(status=200, body='{"data": []', cut_short=True),
            "GET /v2/personas: The connection to Tavus broke before it answered",
        ),
    ],
    ids=["empty", "truncated-json", "wrong-shape", "array", "huge", "dropped"],
)
async def test_every_bad_answer_is_a_clear_error(mcp: Client, sandbox: Sandbox, fault: Fault, expected: str) -> None:
    # Every attempt, retries included.
    sandbox.faults.append(dataclasses.replace(fault, path="/v2/personas", times=3))
    result = await mcp.call_tool("list_personas", {})

    assert result.is_error
    text = text_of(result)
    if expected.startswith("GET /v2/personas: "):
        assert text.startswith(expected.removeprefix("GET /v2/personas: ")), text
    else:
        assert text.startswith(expected), text
    assert not (await mcp.call_tool("list_replicas", {})).is_error


async def test_good_answers_tolerate_new_and_missing_fields(mcp: Client, sandbox: Sandbox) -> None:
    answer = {
        "data": [{"replica_id": "r1", "replica_name": "New", "brand_new_field": {"x": 1}}, {"replica_id": "r2"}],
        "total_count": 2,
        "next_cursor": "abc",
    }
    sandbox.faults.append(_json_fault(200, answer, path="/v2/replicas"))
    result = await mcp.call_tool("list_replicas", {})

    assert not result.is_error, text_of(result)
    assert text_of(result) == "2 replicas in all; page 1 of 1 shows 2:\n- r1 New (?)\n- r2 (no name) (?)"
    assert result.structured_content is not None
    assert result.structured_content["replicas"][0]["brand_new_field"] == {"x": 1}


# Guardrails


async def test_forced_test_mode(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(force_test_mode=True)) as mcp:
        result = await mcp.call_tool("create_conversation", {"replica_id": R, "test_mode": False})

    assert not result.is_error
    assert sandbox.creates() == [{"replica_id": R, "test_mode": True}]
    text = text_of(result)
    assert "Test mode: the conversation was created with status 'ended'." in text
    assert "This server runs every conversation in test mode (TAVUS_TEST_MODE)" in text


async def test_call_length_cap_is_given_to_calls_without_one(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(max_call_duration=600)) as mcp:
        under = await mcp.call_tool("create_conversation", {"replica_id": R, "properties": {"max_call_duration": 300}})
        none = await mcp.call_tool("create_conversation", {"replica_id": R, "properties": {"language": "German"}})

    assert not under.is_error and not none.is_error
    assert sandbox.creates() == [
        {"replica_id": R, "properties": {"max_call_duration": 300}},
        {"replica_id": R, "properties": {"language": "German", "max_call_duration": 600}},
    ]


async def test_call_length_above_the_cap_is_refused(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(max_call_duration=600)) as mcp:
        result = await mcp.call_tool(
            "create_conversation", {"replica_id": R, "properties": {"max_call_duration": 3600}}
        )

    assert result.is_error
    assert text_of(result).splitlines()[1] == (
        "- properties.max_call_duration: 3600 seconds is above this server's cap of 600 seconds "
        "(TAVUS_MAX_CALL_DURATION). Ask for 600 or less, or leave it out to get 600."
    )
    assert sandbox.emulator.received == []


# The key, everywhere, at DEBUG; and what the log lines say

LEAK_KEY = "tvs-stdio-leakcheck-9e8d7c6b5a4f3e2d"
LOG_LINE = re.compile(r"^time=\S+ level=(\w+) logger=(\S+) msg=(.*)$")

SCENARIOS: list[tuple[Fault | None, str, dict[str, Any]]] = [
    (None, "create_conversation", {"replica_id": R, "conversational_context": "PRIVATE-CONTEXT-7731"}),
    (
        None,
        "create_conversation",
        {"replica_id": R, "custom_greeting": "PRIVATE-GREETING-4410", "max_call_duration": 9},
    ),
    (None, "create_conversation", {"replica_id": "r-unknown"}),
    (None, "list_personas", {}),
    (None, "get_conversation", {"conversation_id": "c-unknown"}),
    (Fault(status=502, body=HTML_PAGE, times=3), "list_replicas", {}),
    (Fault(status=503, body="", after_handling=True), "create_conversation", {"replica_id": R}),
    (_json_fault(401, {"message": "Invalid access token"}), "list_conversations", {}),
    (_json_fault(402, {"message": "out of credits"}), "create_conversation", {"replica_id": R}),
    (_json_fault(429, {"message": "slow"}, times=3), "list_replicas", {"limit": 1}),
    (Fault(status=200, body="not json"), "list_personas", {}),
    (Fault(status=200, delay=3), "create_conversation", {"replica_id": R}),
    (Fault(status=200, body="[", cut_short=True, times=3), "list_conversations", {}),
    (None, "list_conversations", {"limit": 0}),
]


@pytest.mark.stdio
async def test_at_debug_no_output_or_log_line_holds_the_key_and_each_call_logs_one_structured_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every scenario through one stdio server at DEBUG: the key nowhere, whatever the HTTP library logs, and one
    structured line per tool call, without the personal values of the arguments."""
    sandbox.emulator.api_keys = (LEAK_KEY,)
    log_path = tmp_path / "stderr.log"
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tavus_mcp", "--log-level", "DEBUG", "--timeout", "1.5"],
        env={"TAVUS_API_KEY": LEAK_KEY, "TAVUS_API_BASE_URL": sandbox.base_url},
    )
    outputs: list[str] = []
    with log_path.open("w") as errlog:
        async with Client(stdio_client(server, errlog=errlog), read_timeout_seconds=30) as client:
            outputs.append((await client.list_tools()).model_dump_json())
            for fault, tool, arguments in SCENARIOS:
                if fault is not None:
                    sandbox.faults.append(dataclasses.replace(fault))
                outputs.append((await client.call_tool(tool, arguments)).model_dump_json())
    log = log_path.read_text()

    assert len(sandbox.injector.seen) >= 10
    assert "level=debug logger=httpcore2" in log  # the HTTP library's debug lines were captured too
    for haystack in (log, *outputs):
        assert LEAK_KEY not in haystack
        assert LEAK_KEY[8:24] not in haystack

    lines = log.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), [line for line in lines if not LOG_LINE.match(line)]
    calls = [dict(re.findall(r"(\w+)=(\S+)", line)) for line in lines if " msg=tool_call " in line]
    assert [call["tool"] for call in calls] == [tool for _, tool, _ in SCENARIOS]
    assert [call["outcome"] for call in calls] == [
        "ok",
        "invalid_arguments",
        "BadRequestError",
        "ok",
        "BadRequestError",
        "ServerError",
        "ServerError",
        "AuthenticationError",
        "OutOfCreditsError",
        "RateLimitError",
        "InvalidResponseError",
        "TavusTimeoutError",
        "TavusConnectionError",
        "invalid_arguments",
    ]
    assert [call.get("tavus_status") for call in calls][:6] == ["200", None, "400", "200", "400", "502"]
    assert [call["attempts"] for call in calls][5:7] == ["3", "1"]  # gateway errors: reads retried, creates not
    assert all(float(call["duration_ms"]) >= 0 for call in calls)
    whole = "\n".join(lines)
    assert "PRIVATE-CONTEXT-7731" not in whole and "PRIVATE-GREETING-4410" not in whole
