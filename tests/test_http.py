"""The server over Streamable HTTP, as a team runs it: real `python -m tavus_mcp --transport http` processes on
loopback, in front of the Tavus emulator, reached by the SDK's own client in both protocol eras.

The emulator here is this module's own (served by `tests/servers.py`): it is wrapped in a recorder of every
request's headers, so that each test ends by checking that nothing a client sent (its token, its Authorization
header) ever reached Tavus. Several processes on one port, and several machines, are `tests/test_engines.py`'s.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult
from pydantic import SecretStr
from starlette.types import Message

from tavus_mcp import __version__
from tavus_mcp.config import DEFAULT_MAX_CONNECTIONS, ConfigError
from tavus_mcp.http import HttpSettings, StaticTokenVerifier
from tavus_mcp.http.guards import KeepModernStreamsAlive
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.commands import serve_http_refused
from tests.conftest import TOOL_NAMES, text_of
from tests.servers import (
    INITIALIZE,
    STOP_TIMEOUT,
    Mode,
    ServerProcess,
    Tavus,
    connect,
    modern_call,
    ok,
    post,
    running_server,
    served_tavus,
    start_refused,
)
from tests.test_wait import Progress
from tests.upstream import Fault

pytestmark = pytest.mark.http

TOKEN = "team-token-4f6c2a9e1b7d3c5a"
NEW_TOKEN = "team-token-rotated-8e2d6b1f9a3c"
WRONG_TOKEN = "team-token-wrong-0a1b2c3d4e5f"
ALL_TOKENS = (TOKEN, NEW_TOKEN, WRONG_TOKEN)
ALLOWED_HOST = "mcp.example.test"
ALLOWED_ORIGIN = "https://app.example.test"
REPLICA = "rfe12d8b9597"
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}

# Bounds every async test; starting a server process takes about a second.
TEST_TIMEOUT = 60.0
PROTOCOL = {"legacy": "2025-11-25", "auto": "2026-07-28"}


# The emulator, observed


@pytest.fixture(scope="module")
def _observed_tavus() -> Iterator[Tavus]:
    with served_tavus() as tavus:
        yield tavus


@pytest.fixture
def tavus(_observed_tavus: Tavus) -> Iterator[Tavus]:
    _observed_tavus.reset()
    yield _observed_tavus
    assert _observed_tavus.emulator.schema_violations == []
    # Whatever a client sent, Tavus saw only the server's own key: no Authorization header, no client token.
    for headers in _observed_tavus.recorder.headers:
        assert "authorization" not in headers
        assert headers.get("x-api-key") == SANDBOX_API_KEY
        assert not any(token in value for value in headers.values() for token in ALL_TOKENS)


# Server processes


def server_env(tavus: Tavus, tokens: tuple[str, ...] = (TOKEN,), **extra: str) -> dict[str, str]:
    """A hand-picked environment: nothing TAVUS_* leaks in from the test runner."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": tavus.base_url,
        "TAVUS_LOG_LEVEL": "INFO",
        **extra,
    }
    if tokens:
        env["TAVUS_MCP_AUTH_TOKENS"] = ",".join(tokens)
    return env


@pytest.fixture(scope="module")
def team_server(_observed_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the tests that need no special configuration: a token, an allowed host and origin."""
    env = server_env(_observed_tavus, TAVUS_MCP_ALLOWED_HOSTS=ALLOWED_HOST, TAVUS_MCP_ALLOWED_ORIGINS=ALLOWED_ORIGIN)
    with running_server(tmp_path_factory.mktemp("team") / "server.log", env) as server:
        yield server


# Protocol versions, health


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_both_protocol_eras_list_tools_and_create(tavus: Tavus, team_server: ServerProcess, mode: Mode) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKEN, mode=mode) as client:
            assert client.protocol_version == PROTOCOL[mode]
            tools = (await client.list_tools()).tools
            created = await ok(client, "create_conversation", {"replica_id": REPLICA, "test_mode": True})

    assert [tool.name for tool in tools] == TOOL_NAMES
    assert [body for _, body in tavus.creates()] == [{"replica_id": REPLICA, "test_mode": True}]
    assert created["conversation_id"] in tavus.emulator.conversations


def test_healthz_needs_no_token_and_tells_no_secret(tavus: Tavus, team_server: ServerProcess) -> None:
    # A load balancer probes by address, with no token and whatever Host it likes.
    response = httpx2.get(f"{team_server.base}/healthz", headers={"host": "10.1.2.3:8000"}, timeout=10.0)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "tavus_api_key_configured": True,
        "sandbox": False,
    }
    assert all(secret not in response.text for secret in (*ALL_TOKENS, SANDBOX_API_KEY))
    assert tavus.emulator.received == []


# Authentication


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        f"Bearer {WRONG_TOKEN}",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN.upper()}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer",
    ],
    ids=["missing", "wrong", "prefix", "longer", "other-case", "basic-scheme", "no-scheme", "empty"],
)
@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_requests_without_a_valid_token_get_401_and_learn_nothing(
    tavus: Tavus, team_server: ServerProcess, authorization: str | None, era: str
) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    if era == "modern":
        headers["mcp-protocol-version"] = "2026-07-28"
    body = INITIALIZE if era == "legacy" else {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}

    response = post(team_server.url, body, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="Authentication required"'
    )
    # The same answer whatever was wrong: nothing about the server, its tools or the tokens it knows.
    assert response.json() == UNAUTHORIZED
    assert "server" not in response.headers
    assert "mcp-session-id" not in response.headers
    assert tavus.emulator.received == []


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("token", [None, WRONG_TOKEN], ids=["no-token", "wrong-token"])
async def test_sdk_client_without_a_valid_token_cannot_connect(
    tavus: Tavus, team_server: ServerProcess, mode: Mode, token: str | None
) -> None:
    with anyio.fail_after(TEST_TIMEOUT), pytest.raises(BaseException) as refused:
        async with connect(team_server.url, token=token, mode=mode) as client:
            await client.list_tools()
    # The SDK's client reports a 401 that carries no JSON-RPC error as a generic one.
    assert any(
        isinstance(leaf, MCPError) and leaf.error.message == "Server returned an error response"
        for leaf in leaves(refused.value)
    ), repr(refused.value)
    assert tavus.emulator.received == []


@pytest.mark.anyio
@pytest.mark.slow  # two servers in turn; several tokens at once are checked in-process (test_verifier_accepts_...)
async def test_rotated_token_old_and_new_both_work_until_the_old_is_removed(tavus: Tavus, tmp_path: Path) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        # Step 1 of a rotation: the new token is added next to the old one, and every instance restarted.
        with running_server(tmp_path / "both.log", server_env(tavus, (TOKEN, NEW_TOKEN))) as server:
            for token in (TOKEN, NEW_TOKEN):
                async with connect(server.url, token=token) as client:
                    await ok(client, "list_replicas", {})
            assert post(server.url, headers={"authorization": f"Bearer {WRONG_TOKEN}"}).status_code == 401
        # Step 2, once every client has the new token: the old one is removed.
        with running_server(tmp_path / "new.log", server_env(tavus, (NEW_TOKEN,))) as server:
            async with connect(server.url, token=NEW_TOKEN, mode="legacy") as client:
                await ok(client, "list_replicas", {})
            refused = post(server.url, headers={"authorization": f"Bearer {TOKEN}"})
            assert refused.status_code == 401
            assert refused.json() == UNAUTHORIZED
    assert len(tavus.emulator.requests_to("GET", "/v2/replicas")) == 3


@pytest.mark.anyio
async def test_tokens_and_key_never_reach_the_log(tavus: Tavus, tmp_path: Path) -> None:
    env = server_env(tavus, (TOKEN, NEW_TOKEN), TAVUS_LOG_LEVEL="DEBUG")
    with anyio.fail_after(TEST_TIMEOUT), running_server(tmp_path / "debug.log", env) as server:
        async with connect(server.url, token=TOKEN) as client:
            await ok(client, "create_conversation", {"replica_id": REPLICA, "test_mode": True})
        async with connect(server.url, token=NEW_TOKEN, mode="legacy") as client:
            await ok(client, "list_personas", {})
        for authorization in (f"Bearer {WRONG_TOKEN}", f"Bearer {TOKEN}{WRONG_TOKEN}", WRONG_TOKEN):
            assert post(server.url, headers={"authorization": authorization}).status_code == 401
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=STOP_TIMEOUT) == 0

    log = server.log()
    # DEBUG really applied: the SDK and the HTTP libraries had every chance to print a header.
    assert "level=debug" in log
    assert "tool_call" in log
    for secret in (*ALL_TOKENS, SANDBOX_API_KEY):
        assert secret not in log


# DNS rebinding


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"host": "attacker.example"}, 421, "Invalid Host header"),
        ({"host": "attacker.example:8000"}, 421, "Invalid Host header"),
        ({"host": f"{ALLOWED_HOST}.attacker.example"}, 421, "Invalid Host header"),
        ({"origin": "http://attacker.example"}, 403, "Invalid Origin header"),
        ({"origin": f"{ALLOWED_ORIGIN}.attacker.example"}, 403, "Invalid Origin header"),
        ({"origin": "null"}, 403, "Invalid Origin header"),
        ({"host": ALLOWED_HOST, "origin": "https://attacker.example"}, 403, "Invalid Origin header"),
    ],
    ids=["host", "host-port", "host-suffix", "origin", "origin-suffix", "origin-null", "good-host-bad-origin"],
)
@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_rebinding_is_refused(
    tavus: Tavus, team_server: ServerProcess, headers: dict[str, str], status: int, message: str, era: str
) -> None:
    sent = {**headers, "authorization": f"Bearer {TOKEN}"}
    if era == "modern":
        sent["mcp-protocol-version"] = "2026-07-28"

    response = post(team_server.url, headers=sent)

    assert (response.status_code, response.text) == (status, message)
    assert tavus.emulator.received == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {"host": ALLOWED_HOST},
        {"host": f"{ALLOWED_HOST}:443"},
        {"host": ALLOWED_HOST, "origin": ALLOWED_ORIGIN},
        {"origin": "http://localhost:5173"},
    ],
    ids=["allowed-host", "allowed-host-port", "allowed-origin", "loopback-origin"],
)
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_allowed_hosts_and_origins_are_served(
    tavus: Tavus, team_server: ServerProcess, headers: dict[str, str], mode: Mode
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKEN, headers=headers, mode=mode) as client:
            await ok(client, "list_personas", {})


# Limits and load


def test_oversized_body_gets_413(tavus: Tavus, team_server: ServerProcess) -> None:
    huge = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"x": "' + b"a" * (2 * 1024 * 1024) + b'"}}'
    authorized = {"authorization": f"Bearer {TOKEN}"}

    declared = post(team_server.url, content=huge, headers=authorized)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    # Without a Content-Length the body is counted as it arrives.
    streamed = post(team_server.url, content=chunks(), headers=authorized)
    # Without a token it is refused before a byte of the body is read.
    anonymous = post(team_server.url, content=huge)

    assert (declared.status_code, declared.text) == (413, "Request body too large")
    assert (streamed.status_code, streamed.text) == (413, "Request body too large")
    assert anonymous.status_code == 401
    assert tavus.emulator.received == []


@pytest.mark.anyio
async def test_200_concurrent_calls_hold_at_most_100_connections_to_tavus(
    tavus: Tavus, team_server: ServerProcess
) -> None:
    tavus.recorder.delay = 1.0  # every Tavus answer takes a while, so the calls really overlap
    results: list[dict[str, Any]] = []

    async def create(client: Client, number: int) -> None:
        arguments = {"replica_id": REPLICA, "test_mode": True, "conversation_name": f"Load {number}"}
        results.append(await ok(client, "create_conversation", arguments))

    with anyio.fail_after(TEST_TIMEOUT):
        async with (
            connect(team_server.url, token=TOKEN, mode="auto") as modern,
            connect(team_server.url, token=TOKEN, mode="legacy") as legacy,
            anyio.create_task_group() as group,
        ):
            for number in range(200):
                group.start_soon(create, modern if number % 2 else legacy, number)

    assert len(results) == 200
    assert len({result["conversation_id"] for result in results}) == 200
    assert sorted(body["conversation_name"] for _, body in tavus.creates()) == sorted(f"Load {n}" for n in range(200))
    # At most 100 connections to Tavus, shared by every request: a client per request, or per session, would have
    # sent Tavus all 200 at once.
    assert tavus.recorder.max_in_flight <= DEFAULT_MAX_CONNECTIONS == 100


# Scaling out


class Balancer(httpx2.AsyncBaseTransport):
    """A load balancer in the client: creates go to one instance, every other request to the other."""

    def __init__(self, create_port: int, other_port: int) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._create_port = create_port
        self._other_port = other_port
        self.routed: list[tuple[int, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        message = json.loads(body) if body else {}
        is_create = (
            isinstance(message, dict)
            and message.get("method") == "tools/call"
            and message.get("params", {}).get("name") == "create_conversation"
        )
        port = self._create_port if is_create else self._other_port
        self.routed.append((port, message.get("method", request.method) if isinstance(message, dict) else "batch"))
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", pytest.param("auto", marks=pytest.mark.slow)])
async def test_without_sessions_two_instances_serve_one_client(tavus: Tavus, tmp_path: Path, mode: Mode) -> None:
    # TAVUS_MCP_SESSIONS=0: nothing held per client, so replicas need no affinity (and 2025-11-25 clients are not
    # asked before spending). 2026-07-28 clients are sessionless either way.
    env = server_env(tavus, TAVUS_MCP_SESSIONS="0")
    with (
        anyio.fail_after(TEST_TIMEOUT),
        running_server(tmp_path / "a.log", env) as first,
        running_server(tmp_path / "b.log", env) as second,
    ):
        balancer = Balancer(create_port=first.port, other_port=second.port)
        async with connect(first.url, token=TOKEN, mode=mode, transport=balancer) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA})
            conversation_id = created["conversation_id"]
            got = await ok(client, "get_conversation", {"conversation_id": conversation_id})
            ended = await ok(client, "end_conversation", {"conversation_id": conversation_id})
            after = await ok(client, "get_conversation", {"conversation_id": conversation_id})

    assert got["status"] == "active"
    assert ended["conversation_id"] == conversation_id
    assert after["status"] == "ended"
    assert tavus.emulator.conversations[conversation_id]["status"] == "ended"
    # The handshake (initialize, or discover) went to the second instance; the first saw only the create.
    assert [method for port, method in balancer.routed if port == first.port] == ["tools/call"]
    assert [method for port, method in balancer.routed if port == second.port].count("tools/call") == 3
    for server in (first, second):
        assert "level=error" not in server.log()


# Streaming: progress, keepalive, cancellation, questions


@pytest.fixture(scope="module")
def streaming_server(_observed_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose waits poll Tavus often and whose streams show a sign of life every second."""
    env = server_env(_observed_tavus, TAVUS_MCP_KEEPALIVE="1", TAVUS_POLL_INTERVAL="0.2")
    with running_server(tmp_path_factory.mktemp("streaming") / "server.log", env) as server:
        yield server


async def _active_conversation(url: str) -> str:
    """A conversation that stays active (the emulator's calls do until ended): a wait on it waits."""
    async with connect(url, token=TOKEN, mode="auto") as client:
        created = await ok(client, "create_conversation", {"replica_id": REPLICA})
    return str(created["conversation_id"])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_progress_reaches_http_clients_before_the_result(
    tavus: Tavus, streaming_server: ServerProcess, mode: Mode
) -> None:
    conversation_id = await _active_conversation(streaming_server.url)
    progress = Progress()
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(streaming_server.url, token=TOKEN, mode=mode) as client:
            result = await client.call_tool(
                "wait_for_conversation",
                {"conversation_id": conversation_id, "max_wait_seconds": 3},
                progress_callback=progress,
            )

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None and result.structured_content["call_state"] == "waiting"
    # The state, then a heartbeat each keepalive (1 s) while nothing changes, each further on than the last.
    seen = progress.seen
    assert len(seen) >= 2, seen
    assert set(progress.messages) == {"Waiting for the call to start: the replica has not joined yet."}
    assert {total for _, total, _ in seen} == {3.0}
    assert [done for done, _, _ in seen] == sorted({done for done, _, _ in seen})


def test_a_silent_2025_stream_carries_a_ping_every_keepalive(tavus: Tavus, streaming_server: ServerProcess) -> None:
    # No progress token: the wait sends nothing before its result, and the stream still shows a sign of life.
    conversation_id = anyio.run(_active_conversation, streaming_server.url)
    auth = {"authorization": f"Bearer {TOKEN}"}
    opened = post(streaming_server.url, headers=auth)
    session = {**auth, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    assert post(streaming_server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {
            "name": "wait_for_conversation",
            "arguments": {"conversation_id": conversation_id, "max_wait_seconds": 3},
        },
    }
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream", **session}
    with httpx2.stream("POST", streaming_server.url, json=call, headers=headers, timeout=TEST_TIMEOUT) as answer:
        lines = [line for line in answer.iter_lines() if line]

    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-accel-buffering"] == "no"  # nginx passes each event on at once
    pings = [line for line in lines if line.startswith(": ping")]
    [result] = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: {")]
    assert len(pings) >= 2, lines
    assert lines.index(pings[0]) < len(lines) - 1  # before the result, not after it
    assert result["id"] == 2 and result["result"]["structuredContent"]["call_state"] == "waiting"


def test_a_silent_2026_call_becomes_a_stream_that_pings_every_keepalive(
    tavus: Tavus, streaming_server: ServerProcess
) -> None:
    # No progress token: the wait sends nothing before its result. Left to itself the SDK would hold the answer for
    # 15 s and then ping every 15 s, past a 12 s proxy's patience; the stream begins at the keepalive (1 s) instead.
    conversation_id = anyio.run(_active_conversation, streaming_server.url)
    arguments = {"conversation_id": conversation_id, "max_wait_seconds": 3}
    call, headers = modern_call("wait_for_conversation", arguments, request_id=7)
    headers["authorization"] = f"Bearer {TOKEN}"
    with httpx2.stream("POST", streaming_server.url, json=call, headers=headers, timeout=TEST_TIMEOUT) as answer:
        lines = [line for line in answer.iter_lines() if line]

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-accel-buffering"] == "no"
    pings = [line for line in lines if line == ": ping"]
    assert len(pings) >= 2, lines
    assert lines[-2:-1] == ["event: message"], lines  # the result, after every ping
    result = json.loads(lines[-1].removeprefix("data: "))
    assert result["id"] == 7 and result["result"]["structuredContent"]["call_state"] == "waiting"


@pytest.mark.anyio
async def test_a_2026_client_that_asks_no_progress_gets_its_result_from_the_stream(
    tavus: Tavus, streaming_server: ServerProcess
) -> None:
    # The SDK's own client reads the stream begun by the keepalive, pings and all, as any other answer.
    conversation_id = await _active_conversation(streaming_server.url)
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(streaming_server.url, token=TOKEN, mode="auto") as client:
            result = await client.call_tool(
                "wait_for_conversation", {"conversation_id": conversation_id, "max_wait_seconds": 3}
            )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["call_state"] == "waiting"
    assert result.structured_content["waited_seconds"] >= 3


async def _through_keepalive(app: Any, headers: dict[str, str]) -> list[Message]:
    """What `KeepModernStreamsAlive` (a keepalive of 0.1 s) sends for one POST of /mcp that `app` answers."""
    sent: list[Message] = []

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }
    with anyio.fail_after(TEST_TIMEOUT):
        await KeepModernStreamsAlive(app, interval=0.1)(scope, receive, send)
    return sent


MODERN = {"mcp-protocol-version": "2026-07-28", "accept": "application/json, text/event-stream"}
EVENT = b'event: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\r\n\r\n'


@pytest.mark.anyio
async def test_the_sdks_own_late_stream_continues_the_one_the_keepalive_began() -> None:
    # Past its 15 s the SDK commits to a stream itself: its start is not sent twice, its events go on as they are.
    async def late_stream(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(0.35)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b": ping\r\n\r\n", "more_body": True})
        await send({"type": "http.response.body", "body": EVENT, "more_body": False})

    sent = await _through_keepalive(late_stream, MODERN)

    starts = [message for message in sent if message["type"] == "http.response.start"]
    bodies = [message["body"] for message in sent if message["type"] == "http.response.body"]
    assert len(starts) == 1 and (b"content-type", b"text/event-stream") in starts[0]["headers"]
    assert bodies[-1] == EVENT and sent[-1].get("more_body", False) is False
    assert set(bodies[:-1]) == {b": ping\r\n\r\n"} and len(bodies) >= 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [MODERN, {**MODERN, "mcp-protocol-version": "2025-11-25"}, {**MODERN, "accept": "application/json"}],
    ids=["2026-07-28-quick", "2025-11-25", "json-only"],
)
async def test_an_answer_within_the_keepalive_or_outside_its_scope_goes_as_the_sdk_wrote_it(
    headers: dict[str, str],
) -> None:
    answer = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}'
    quick = headers is MODERN

    async def json_answer(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(0 if quick else 0.35)
        await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})

    sent = await _through_keepalive(json_answer, headers)

    assert sent == [
        {"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]},
        {"type": "http.response.body", "body": answer},
    ]


def test_the_mcp_endpoint_offers_no_standalone_stream(tavus: Tavus, team_server: ServerProcess) -> None:
    # The server sends nothing unprompted: a GET stream would only hold a connection (and a graceful stop) open.
    answer = httpx2.get(
        team_server.url, headers={"authorization": f"Bearer {TOKEN}", "accept": "text/event-stream"}, timeout=10.0
    )
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST, DELETE")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("how", ["cancelled", "dropped"])
async def test_a_call_cancelled_or_dropped_sends_nothing_more_to_tavus(
    tavus: Tavus, streaming_server: ServerProcess, mode: Mode, how: str
) -> None:
    conversation_id = await _active_conversation(streaming_server.url)
    path = f"/v2/conversations/{conversation_id}"

    def polls() -> int:
        return len(tavus.injector.requests_to("GET", path))

    async def wait(client: Client) -> None:
        await client.call_tool("wait_for_conversation", {"conversation_id": conversation_id, "max_wait_seconds": 60})

    with anyio.fail_after(TEST_TIMEOUT):
        with anyio.CancelScope() as everything:
            async with connect(streaming_server.url, token=TOKEN, mode=mode) as client:
                async with anyio.create_task_group() as group:
                    group.start_soon(wait, client)
                    while polls() < 3:  # noqa: ASYNC110 - the emulator records on its own thread
                        await anyio.sleep(0.02)
                    at_cancel = polls()
                    if how == "cancelled":
                        # The SDK's client sends notifications/cancelled (2025-11-25) or closes the stream (2026).
                        group.cancel_scope.cancel()
                    else:
                        # The client goes away mid-call: its connections close, with no word to the server.
                        everything.cancel()
                # Still connected: the session (2025-11-25) lives on, and the call in it was stopped all the same.
                await anyio.to_thread.run_sync(
                    streaming_server.wait_for_log, "tool=wait_for_conversation outcome=cancelled"
                )
        if how == "dropped":
            await anyio.to_thread.run_sync(
                streaming_server.wait_for_log, "tool=wait_for_conversation outcome=cancelled"
            )
        at_stop = polls()
        await anyio.sleep(1.0)  # five polls' time

    # At most the request already in flight when the call was stopped; nothing after.
    assert at_stop <= at_cancel + 1
    assert polls() == at_stop


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments", "path"),
    [
        ("create_conversation", {"replica_id": REPLICA}, "/v2/conversations"),
        ("delete_conversation", {"conversation_id": "c0ffee0000001", "hard": True}, "/v2/conversations/c0ffee0000001"),
        ("delete_persona", {"persona_id": "p0ffee0000001"}, "/v2/personas/p0ffee0000001"),
    ],
    ids=["billed-create", "hard-delete", "delete-persona"],
)
async def test_a_2025_client_is_asked_before_spending_and_its_no_is_kept(
    tavus: Tavus, team_server: ServerProcess, tool: str, arguments: dict[str, Any], path: str
) -> None:
    asked: list[str] = []

    async def user(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKEN, mode="legacy", elicitation_callback=user) as client:
            assert client.protocol_version == "2025-11-25"
            result = await client.call_tool(tool, arguments)

    assert result.is_error
    assert text_of(result).startswith("Not done: asked to confirm (")
    assert "the user declined, so nothing was sent to Tavus" in text_of(result)
    [question] = asked
    assert question.startswith(("Start a billed Tavus video call", "Delete conversation", "Delete persona"))
    # Nothing that spends or destroys reached Tavus.
    assert [seen for seen in tavus.injector.seen if seen.method in ("POST", "DELETE")] == []
    assert path not in [seen.path for seen in tavus.injector.seen if seen.method != "GET"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_wait_cut_by_the_graceful_stop_says_so(tavus: Tavus, tmp_path: Path, mode: Mode) -> None:
    # A grace of 4 s leaves the answer 1 s to be written before uvicorn cancels what is left, on a busy machine too.
    env = server_env(tavus, TAVUS_MCP_SHUTDOWN_TIMEOUT="4", TAVUS_MCP_KEEPALIVE="1", TAVUS_POLL_INTERVAL="0.2")
    progress = Progress()
    with anyio.fail_after(TEST_TIMEOUT), running_server(tmp_path / "stop.log", env) as server:
        conversation_id = await _active_conversation(server.url)
        async with connect(server.url, token=TOKEN, mode=mode) as client, anyio.create_task_group() as group:
            outcome: list[CallToolResult] = []

            async def wait() -> None:
                arguments = {"conversation_id": conversation_id, "max_wait_seconds": 60}
                outcome.append(await client.call_tool("wait_for_conversation", arguments, progress_callback=progress))

            group.start_soon(wait)
            while not progress.seen:  # noqa: ASYNC110 - set by the client's own task
                await anyio.sleep(0.02)
            server.process.send_signal(signal.SIGTERM)
        returncode = await anyio.to_thread.run_sync(lambda: server.process.wait(timeout=STOP_TIMEOUT))

    [result] = outcome
    assert result.is_error
    assert text_of(result) == (
        "the server is stopping; call wait_for_conversation again (the call itself goes on: this only ended the wait)"
    )
    assert returncode == 0
    log = server.log()
    assert "timeout graceful shutdown exceeded" not in log
    assert "level=error" not in log


# Lifecycle: refusal to start, graceful stop


# The command's refusals, in-process (tests.commands): each address the rule refuses is also checked through
# HttpSettings alone by test_bad_settings_are_refused_with_the_setting_named; the process's own is below.
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--host", "0.0.0.0"], {}),  # noqa: S104 - refused before anything is bound
        (["--host", "::"], {}),
        ([], {"TAVUS_MCP_HOST": "0.0.0.0"}),  # noqa: S104
        (["--host", "192.0.2.10"], {}),
        (["--host", "mcp.example.test"], {}),
    ],
    ids=["all-ipv4", "all-ipv6", "env", "lan-address", "host-name"],
)
def test_listening_beyond_loopback_without_a_token_refuses_to_start(
    tavus: Tavus, args: list[str], env: dict[str, str]
) -> None:
    refused = serve_http_refused(server_env(tavus, tokens=(), **env), *args)

    assert (refused.returncode, refused.stdout) == (2, "")
    [message] = refused.stderr.splitlines()
    assert message.startswith("mcp-server-tavus: refusing to listen on ")
    assert "without authentication: anyone who can reach the port could start billed Tavus conversations" in message
    assert "Set TAVUS_MCP_AUTH_TOKENS to one or more secret tokens" in message
    assert "or listen on 127.0.0.1 only (--host 127.0.0.1)" in message


@pytest.mark.parametrize(
    "args", [["--allowed-hosts", "mcp.example.test"], ["--allowed-origins", "https://app.example.test"]]
)
def test_serving_other_names_on_loopback_without_a_token_refuses_to_start(tavus: Tavus, args: list[str]) -> None:
    # A reverse proxy on the same machine reaches the server on loopback: loopback says nothing about the client.
    refused = serve_http_refused(server_env(tavus, tokens=()), *args)

    assert (refused.returncode, refused.stdout) == (2, "")
    [message] = refused.stderr.splitlines()
    assert message.startswith(
        "mcp-server-tavus: refusing to serve TAVUS_MCP_ALLOWED_HOSTS/TAVUS_MCP_ALLOWED_ORIGINS without authentication"
    )
    assert "Set TAVUS_MCP_AUTH_TOKENS" in message


def test_a_weak_token_refuses_to_start_without_repeating_it(tavus: Tavus) -> None:
    refused = serve_http_refused(server_env(tavus, tokens=(TOKEN, "hunter2")))

    assert refused.returncode == 2
    assert "token 2 in TAVUS_MCP_AUTH_TOKENS is shorter than 16 characters" in refused.stderr
    assert "hunter2" not in refused.stderr
    assert TOKEN not in refused.stderr


@pytest.mark.slow  # a process: the refusals above, in-process, are what it prints
def test_a_refused_start_ends_the_process_with_status_2_and_that_one_line(tavus: Tavus) -> None:
    env = server_env(tavus, tokens=())
    completed = start_refused(env, "--host", "0.0.0.0")  # noqa: S104

    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == serve_http_refused(env, "--host", "0.0.0.0").stderr  # noqa: S104
    assert "Uvicorn running" not in completed.stderr


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c"])
async def test_a_stop_lets_the_call_in_flight_finish_and_exits_0(
    tavus: Tavus, tmp_path: Path, stop: str, mode: Mode
) -> None:
    """SIGTERM reaches the process started (an orchestrator's stop); Ctrl+C in a terminal sends SIGINT to the whole
    process group."""
    with (
        anyio.fail_after(TEST_TIMEOUT),
        running_server(tmp_path / "stop.log", server_env(tavus), new_session=True) as server,
    ):
        async with connect(server.url, token=TOKEN, mode=mode) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA})
            conversation_id = created["conversation_id"]
            end_path = f"/v2/conversations/{conversation_id}/end"
            # Tavus ends the conversation, then takes 2 s to answer: the call is in flight when the signal comes.
            tavus.injector.faults.append(Fault(status=200, delay=2, after_handling=True, path=end_path))
            outcome: list[CallToolResult] = []

            async def end() -> None:
                outcome.append(await client.call_tool("end_conversation", {"conversation_id": conversation_id}))

            async with anyio.create_task_group() as group:
                group.start_soon(end)
                while not tavus.injector.requests_to("POST", end_path):  # noqa: ASYNC110 - another thread's list
                    await anyio.sleep(0.01)
                if stop == "sigterm":
                    server.process.send_signal(signal.SIGTERM)
                else:
                    os.killpg(server.process.pid, signal.SIGINT)
                await anyio.sleep(0.5)
                # Stopped accepting: a new connection is refused while the call is still in flight.
                assert not outcome
                async with httpx2.AsyncClient(timeout=2.0) as fresh:
                    with pytest.raises(httpx2.ConnectError):
                        await fresh.get(f"{server.base}/healthz")

        returncode = await anyio.to_thread.run_sync(lambda: server.process.wait(timeout=STOP_TIMEOUT))

    [result] = outcome
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["conversation_id"] == conversation_id
    assert tavus.emulator.conversations[conversation_id]["status"] == "ended"
    assert returncode == 0, server.log()
    log = server.log()
    assert "Shutting down" in log
    assert "timeout graceful shutdown exceeded" not in log
    assert "level=error" not in log


# Settings, without a network


def test_settings_from_environment_and_flags() -> None:
    environ = {
        "TAVUS_MCP_HOST": "0.0.0.0",  # noqa: S104 - parsed, never bound
        "TAVUS_MCP_PORT": "9000",
        "TAVUS_MCP_AUTH_TOKENS": f" {TOKEN} ,, {NEW_TOKEN} ",
        "TAVUS_MCP_ALLOWED_HOSTS": "MCP.example.test, mcp.example.test:8443",
        "TAVUS_MCP_ALLOWED_ORIGINS": "https://app.example.test",
        "TAVUS_MCP_MAX_BODY_BYTES": "65536",
        "TAVUS_MCP_SHUTDOWN_TIMEOUT": "10",
    }
    settings = HttpSettings.from_env(environ)

    assert (settings.host, settings.port, settings.max_body_bytes, settings.shutdown_timeout) == (
        "0.0.0.0",  # noqa: S104
        9000,
        65536,
        10,
    )
    assert [token.get_secret_value() for token in settings.auth_tokens] == [TOKEN, NEW_TOKEN]
    assert TOKEN not in repr(settings)
    security = settings.transport_security()
    assert security.enable_dns_rebinding_protection
    assert {"mcp.example.test", "mcp.example.test:*", "mcp.example.test:8443", "localhost:*"} <= set(
        security.allowed_hosts
    )
    assert "0.0.0.0:*" not in security.allowed_hosts
    assert "https://app.example.test" in security.allowed_origins

    flagged = HttpSettings.from_env(environ, host="127.0.0.1", port=8001, allowed_hosts="", allowed_origins="")
    assert (flagged.host, flagged.port, flagged.allowed_hosts, flagged.allowed_origins) == ("127.0.0.1", 8001, (), ())
    assert HttpSettings.from_env({}) == HttpSettings()
    # Sessions: on by default (one process), off by default under an engine's factory (workers share a port).
    assert HttpSettings.from_env({}).sessions is True
    assert HttpSettings.from_env({}, sessions_by_default=False).sessions is False
    assert HttpSettings.from_env({"TAVUS_MCP_SESSIONS": "0"}).sessions is False
    assert HttpSettings.from_env({"TAVUS_MCP_SESSIONS": "1"}, sessions_by_default=False).sessions is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TAVUS_MCP_PORT": "http"}, "TAVUS_MCP_PORT (--port) must be a whole number"),
        ({"TAVUS_MCP_PORT": "70000"}, "TAVUS_MCP_PORT (--port) must be a port number from 0 to 65535"),
        ({"TAVUS_MCP_AUTH_TOKENS": "has a space in it, ok"}, "token 1 in TAVUS_MCP_AUTH_TOKENS has a character"),
        (
            {"TAVUS_MCP_AUTH_TOKENS": f"{TOKEN},hunter2"},
            "token 2 in TAVUS_MCP_AUTH_TOKENS is shorter than 16 characters",
        ),
        ({"TAVUS_MCP_ALLOWED_HOSTS": "https://mcp.example.test"}, "(not URLs); got 'https://mcp.example.test'"),
        ({"TAVUS_MCP_ALLOWED_ORIGINS": "app.example.test"}, "TAVUS_MCP_ALLOWED_ORIGINS (--allowed-origins) takes"),
        ({"TAVUS_MCP_MAX_BODY_BYTES": "10"}, "TAVUS_MCP_MAX_BODY_BYTES must be a number of bytes of at least 1024"),
        ({"TAVUS_MCP_SHUTDOWN_TIMEOUT": "0"}, "TAVUS_MCP_SHUTDOWN_TIMEOUT must be a whole number of seconds"),
        ({"TAVUS_MCP_SESSIONS": "sometimes"}, "TAVUS_MCP_SESSIONS must be 1 (on) or 0 (off); got 'sometimes'"),
        ({"TAVUS_MCP_HOST": "10.0.0.5"}, "refusing to listen on 10.0.0.5 without authentication"),
        ({"TAVUS_MCP_HOST": "0.0.0.0"}, "refusing to listen on 0.0.0.0 without authentication"),  # noqa: S104
        ({"TAVUS_MCP_HOST": "::"}, "refusing to listen on :: without authentication"),
        ({"TAVUS_MCP_HOST": "mcp.example.test"}, "refusing to listen on mcp.example.test without authentication"),
        (
            {"TAVUS_MCP_ALLOWED_HOSTS": "mcp.example.test"},
            "refusing to serve TAVUS_MCP_ALLOWED_HOSTS/TAVUS_MCP_ALLOWED_ORIGINS without authentication",
        ),
        (
            {"TAVUS_MCP_ALLOWED_ORIGINS": "https://app.example.test"},
            "refusing to serve TAVUS_MCP_ALLOWED_HOSTS/TAVUS_MCP_ALLOWED_ORIGINS without authentication",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        HttpSettings.from_env(environ)
    assert message in str(refused.value)
    for token in environ.get("TAVUS_MCP_AUTH_TOKENS", "").split(","):
        assert not token or token not in str(refused.value)  # a token is never repeated


@pytest.mark.anyio
async def test_verifier_accepts_each_configured_token_and_nothing_else() -> None:
    verifier = StaticTokenVerifier([SecretStr(TOKEN), SecretStr(NEW_TOKEN)])

    first = await verifier.verify_token(TOKEN)
    second = await verifier.verify_token(NEW_TOKEN)

    assert first is not None
    assert second is not None
    assert (first.client_id, second.client_id) == ("token-1", "token-2")
    # The presented token is not kept on what the SDK stores for the request.
    assert TOKEN not in first.model_dump_json()
    for wrong in (WRONG_TOKEN, "", TOKEN[:-1], TOKEN + " ", f"Bearer {TOKEN}"):
        assert await verifier.verify_token(wrong) is None
    assert TOKEN not in repr(verifier)
