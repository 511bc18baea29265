"""The client's connections to Tavus, over real TCP on loopback: how many, how they are reused and shared out,
and the proxy that the environment names.

The connections are held in several small pools (httpx2's pool costs CPU in proportion to its size for every
request), so these tests check what a user of one pool would expect still holds: sequential calls share one
kept-alive connection, concurrent calls never exceed the limit in all, and a burst after a burst opens nothing new.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx2
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from tavus_mcp.client import DEFAULT_LIMITS, POOL_SHARD_SIZE, TavusClient
from tavus_mcp.errors import TavusConnectionError, TavusTimeoutError
from tavus_mcp.models import ListReplicasRequest
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator, serve_on_loopback

CREATE = {"replica_id": "rfe12d8b9597", "test_mode": True}


class Observed:
    """Requests in flight at the emulator, observed from inside it.

    Each answer waits until `gather` requests are in flight at once (or 10 s have passed, so that a client that
    never sends that many still gets answers), then `delay` seconds more.
    """

    def __init__(self, emulator: TavusEmulator) -> None:
        self.emulator = emulator
        self.in_flight = 0
        self.max_in_flight = 0
        self.gather = 0
        self.delay = 0.0

    def clients(self) -> list[str]:
        """The client address (host:port, one per TCP connection) of each request the emulator received."""
        return [request.client or "" for request in self.emulator.received]


class Observe:
    """ASGI middleware in front of the emulator, counting requests in flight (all on the emulator's loop)."""

    def __init__(self, app: ASGIApp, observed: Observed) -> None:
        self.app = app
        self.observed = observed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = self.observed
        observed.in_flight += 1
        observed.max_in_flight = max(observed.max_in_flight, observed.in_flight)
        try:
            with anyio.move_on_after(10.0):
                while observed.max_in_flight < observed.gather:  # noqa: ASYNC110 - counted by other requests
                    await anyio.sleep(0.01)
            await anyio.sleep(observed.delay)
            await self.app(scope, receive, send)
        finally:
            observed.in_flight -= 1


@pytest.fixture
def tavus() -> Iterator[tuple[Observed, str]]:
    emulator = TavusEmulator()
    observed = Observed(emulator)
    emulator.app.add_middleware(Observe, observed=observed)
    with serve_on_loopback(emulator) as base_url:
        yield observed, base_url
    assert emulator.schema_violations == []


@pytest.fixture
async def client(tavus: tuple[Observed, str]) -> AsyncIterator[TavusClient]:
    async with TavusClient(api_key=SecretStr(SANDBOX_API_KEY), base_url=tavus[1], timeout=30.0) as made:
        yield made


async def creates(client: TavusClient, count: int) -> list[str]:
    made: list[str] = []

    async def create() -> None:
        made.append((await client.create_conversation(CREATE)).conversation_id)

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(create)
    return made


def test_the_default_limit_is_shared_out_over_several_pools() -> None:
    # The premise of the tests below: more connections than one small pool holds.
    assert (DEFAULT_LIMITS.max_connections or 0) > 2 * POOL_SHARD_SIZE


@pytest.mark.anyio
async def test_sequential_calls_share_one_kept_alive_connection(
    tavus: tuple[Observed, str], client: TavusClient
) -> None:
    observed, _ = tavus
    for _ in range(30):
        await client.create_conversation(CREATE)

    assert len(observed.clients()) == 30
    assert len(set(observed.clients())) == 1


@pytest.mark.anyio
async def test_concurrent_calls_use_every_connection_the_limit_allows_and_no_more(
    tavus: tuple[Observed, str], client: TavusClient
) -> None:
    observed, _ = tavus
    limit = DEFAULT_LIMITS.max_connections or 0
    observed.gather = limit  # no answer until the limit is reached: the calls are all waiting at once

    made = await creates(client, limit + limit // 2)

    assert len(set(made)) == limit + limit // 2
    # All the connections were busy at once (the calls spread over every pool), never more than the limit.
    assert observed.max_in_flight == limit
    assert len(set(observed.clients())) == limit


@pytest.mark.anyio
async def test_a_second_burst_reuses_the_connections_of_the_first(
    tavus: tuple[Observed, str], client: TavusClient
) -> None:
    observed, _ = tavus
    limit = DEFAULT_LIMITS.max_connections or 0
    observed.gather = limit

    await creates(client, limit)
    first = set(observed.clients())
    observed.emulator.received.clear()
    await creates(client, limit)
    second = set(observed.clients())

    # Every idle connection was kept alive: the second burst paid no new TCP (or, against Tavus, TLS) handshake.
    assert len(first) == limit
    assert second == first


@pytest.mark.anyio
@pytest.mark.parametrize("limit", [1, 7, 25])
async def test_an_odd_limit_is_kept_exactly(tavus: tuple[Observed, str], limit: int) -> None:
    observed, base_url = tavus
    observed.gather = limit
    limits = httpx2.Limits(max_connections=limit, max_keepalive_connections=limit)
    async with TavusClient(
        api_key=SecretStr(SANDBOX_API_KEY), base_url=base_url, timeout=30.0, limits=limits
    ) as client:
        made = await creates(client, 2 * limit + 1)

    assert len(set(made)) == 2 * limit + 1
    assert observed.max_in_flight == limit
    assert len(set(observed.clients())) == limit


@pytest.mark.anyio
async def test_a_call_that_waits_too_long_for_a_connection_is_never_sent(tavus: tuple[Observed, str]) -> None:
    observed, base_url = tavus
    observed.emulator.latency = 2.0  # the first 25 calls hold every connection for 2 s
    limits = httpx2.Limits(max_connections=25, max_keepalive_connections=25)
    created: list[str] = []
    failures: list[TavusTimeoutError] = []

    async def create(client: TavusClient) -> None:
        try:
            created.append((await client.create_conversation(CREATE)).conversation_id)
        except TavusTimeoutError as error:
            failures.append(error)

    async with (
        TavusClient(api_key=SecretStr(SANDBOX_API_KEY), base_url=base_url, timeout=10.0, limits=limits) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(25):
            group.start_soon(create, client)
        while len(observed.emulator.received) < 25:  # noqa: ASYNC110 - recorded on the emulator's thread
            await anyio.sleep(0.01)
        client.timeout = 0.5  # the 26th call may wait half a second, less than the others hold their connections
        group.start_soon(create, client)

    assert len(created) == 25
    [error] = failures
    assert error.pool_exhausted
    assert not error.may_have_reached_tavus
    assert "(PoolTimeout)" in str(error)
    assert len(observed.emulator.received) == 25


class FakeProxy:
    """A forward proxy on loopback that answers every request itself and records its request line and headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
        self.requests.append((head[0], headers))
        body = json.dumps({"data": [], "total_count": 0}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()


@pytest.mark.anyio
async def test_the_proxy_named_by_the_environment_is_used_unless_no_proxy_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = FakeProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("https_proxy", "all_proxy", "no_proxy", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    # A name that resolves nowhere: only through the proxy can the request be answered.
    base_url = "http://tavus.example.invalid"
    async with server:
        async with TavusClient(api_key=SecretStr(SANDBOX_API_KEY), base_url=base_url, timeout=10.0) as client:
            page = await client.list_replicas(ListReplicasRequest())
        monkeypatch.setenv("NO_PROXY", "tavus.example.invalid")
        monkeypatch.setenv("no_proxy", "tavus.example.invalid")
        async with TavusClient(api_key=SecretStr(SANDBOX_API_KEY), base_url=base_url, timeout=10.0) as client:
            with pytest.raises(TavusConnectionError):
                await client.list_replicas(ListReplicasRequest())

    assert page.data == []
    [(request_line, headers)] = proxy.requests
    assert request_line.startswith("GET http://tavus.example.invalid/v2/replicas")
    assert headers["x-api-key"] == SANDBOX_API_KEY
