"""The client's connections to Tavus, over real TCP on loopback: reused while kept alive, never more than the
limit, through the proxy the environment names (unless NO_PROXY exempts the host), gzip answers decoded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from pydantic import SecretStr
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tavus_mcp.client import PROXY_VARIABLES, TavusClient
from tavus_mcp.errors import TavusConnectionError
from tavus_mcp.models.replicas import ListReplicasRequest
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator
from tests.upstream import serve_on_loopback

CREATE = {"replica_id": "rfe12d8b9597", "test_mode": True}


@dataclass
class Observed:
    """What reached the emulator: each request's client address (one per TCP connection) and the encoding of
    each answer; and the most requests it was handling at once."""

    clients: list[str] = field(default_factory=list)
    encodings: list[str | None] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    # Added to every answer, so that concurrent requests overlap at the emulator.
    delay: float = 0.0


class Observe:
    """ASGI middleware in front of the emulator, recording into an `Observed` (all on the emulator's loop)."""

    def __init__(self, app: ASGIApp, observed: Observed) -> None:
        self.app = app
        self.observed = observed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = self.observed
        host, port = scope["client"]
        observed.clients.append(f"{host}:{port}")
        observed.in_flight += 1
        observed.max_in_flight = max(observed.max_in_flight, observed.in_flight)

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {key.decode().lower(): value.decode() for key, value in message["headers"]}
                observed.encodings.append(headers.get("content-encoding"))
            await send(message)

        try:
            await anyio.sleep(observed.delay)
            await self.app(scope, receive, record)
        finally:
            observed.in_flight -= 1


@dataclass
class Tavus:
    emulator: TavusEmulator
    observed: Observed
    base_url: str


@pytest.fixture(autouse=True)
def _no_proxy_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    # The client reads proxies from the environment: the tests here set them, or none.
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tavus() -> Iterator[Tavus]:
    """The emulator on loopback, its answers gzipped for a client that accepts it (as Tavus's gateway may)."""
    emulator = TavusEmulator()
    observed = Observed()
    with serve_on_loopback(Observe(GZipMiddleware(emulator.app, minimum_size=0), observed)) as base_url:
        yield Tavus(emulator, observed, base_url)
    assert emulator.schema_violations == []


def tavus_client(base_url: str, **options: Any) -> TavusClient:
    return TavusClient(api_key=SecretStr(SANDBOX_API_KEY), base_url=base_url, timeout=30.0, **options)


@pytest.fixture
async def client(tavus: Tavus) -> AsyncIterator[TavusClient]:
    async with tavus_client(tavus.base_url) as made:
        yield made


@pytest.mark.anyio
async def test_sequential_calls_share_one_kept_alive_connection(tavus: Tavus, client: TavusClient) -> None:
    for _ in range(10):
        await client.create_conversation(CREATE)
        await client.list_replicas(ListReplicasRequest())

    assert len(tavus.observed.clients) == 20
    assert len(set(tavus.observed.clients)) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("limit", "calls"), [(5, 20), (None, 150)], ids=["configured-5", "default-100"])
async def test_concurrent_calls_never_use_more_connections_than_the_limit(
    tavus: Tavus, limit: int | None, calls: int
) -> None:
    tavus.observed.delay = 0.2  # every answer takes a while, so that the calls overlap
    made: list[str] = []

    async def create(client: TavusClient) -> None:
        made.append((await client.create_conversation(CREATE)).conversation_id)

    options = {"max_connections": limit} if limit is not None else {}
    async with tavus_client(tavus.base_url, **options) as client, anyio.create_task_group() as group:
        for _ in range(calls):
            group.start_soon(create, client)

    bound = limit if limit is not None else 100
    assert len(set(made)) == calls
    assert tavus.observed.max_in_flight <= bound
    assert len(set(tavus.observed.clients)) <= bound


@pytest.mark.anyio
async def test_gzip_answers_are_decoded(tavus: Tavus, client: TavusClient) -> None:
    page = await client.list_replicas(ListReplicasRequest())
    conversation = await client.create_conversation(CREATE)

    assert tavus.observed.encodings == ["gzip", "gzip"]
    assert [replica.replica_id for replica in page.data] == [
        replica["replica_id"] for replica in tavus.emulator.replicas
    ]
    assert conversation.conversation_id in tavus.emulator.conversations


class FakeProxy:
    """A forward proxy on loopback that records each request's line and headers and answers it itself: a plain
    HTTP request with an empty page of replicas, a CONNECT (a tunnel for HTTPS) with a refusal."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in head[1:] if ": " in line)}
        self.requests.append((head[0], headers))
        if head[0].startswith("CONNECT "):
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        else:
            body = json.dumps({"data": [], "total_count": 0}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[FakeProxy, int]]:
    fake = FakeProxy()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    async with server:
        yield fake, server.sockets[0].getsockname()[1]


@pytest.mark.anyio
async def test_http_proxy_from_the_environment_is_used_unless_no_proxy_exempts_the_host(
    tavus: Tavus, proxy: tuple[FakeProxy, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, port = proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://team:proxy-secret@127.0.0.1:{port}")

    async with tavus_client(tavus.base_url) as client:
        proxied = await client.list_replicas(ListReplicasRequest(limit=5))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with tavus_client(tavus.base_url) as client:
        direct = await client.list_replicas(ListReplicasRequest(limit=5))

    # The proxy was asked for the absolute URL, with the proxy's own credentials, and answered (an empty page).
    [(request_line, headers)] = fake.requests
    assert request_line == f"GET {tavus.base_url}/v2/replicas?limit=5 HTTP/1.1"
    assert headers["proxy-authorization"] == "Basic dGVhbTpwcm94eS1zZWNyZXQ="  # team:proxy-secret
    assert headers["x-api-key"] == SANDBOX_API_KEY
    assert proxied.data == []
    # Exempted, the request went straight to Tavus.
    assert [request.path for request in tavus.emulator.received] == ["/v2/replicas"]
    assert len(direct.data) == len(tavus.emulator.replicas)


@pytest.mark.anyio
async def test_https_proxy_from_the_environment_tunnels_and_never_sees_the_key(
    proxy: tuple[FakeProxy, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, port = proxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")

    async with tavus_client("https://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(TavusConnectionError) as refused:
            await client.list_replicas(ListReplicasRequest())

    # For HTTPS the proxy is only asked for a tunnel: the request, and its key, would travel inside TLS.
    [(request_line, headers)] = fake.requests
    assert request_line == "CONNECT 127.0.0.1:9 HTTP/1.1"
    assert SANDBOX_API_KEY not in json.dumps(headers)
    assert not refused.value.may_have_reached_tavus
    assert str(refused.value) == "could not connect to Tavus at https://127.0.0.1:9"
