"""What the emulator offers the benchmark: the client address of each request, `GET /sandbox/stats` (requests,
distinct connections), and a latency added before every API answer (`sandbox-api --latency`).

Served on loopback, as the benchmark runs it, so that connections are real TCP connections.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from tavus_mcp.cli import _parser
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator, serve_on_loopback
from tests.test_cli import run_cli

KEY = {"x-api-key": SANDBOX_API_KEY}
CREATE = {"replica_id": "rfe12d8b9597", "test_mode": True}
EMPTY = {"requests": 0, "connections": 0, "max_in_flight": 0, "conversations": 0, "schema_violations": 0}


@pytest.fixture
def served() -> Iterator[tuple[TavusEmulator, str]]:
    emulator = TavusEmulator()
    with serve_on_loopback(emulator) as base_url:
        yield emulator, base_url


def stats(base_url: str) -> dict[str, Any]:
    response = httpx2.get(f"{base_url}/sandbox/stats", timeout=10.0)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_stats_count_requests_and_the_connections_they_came_on(served: tuple[TavusEmulator, str]) -> None:
    emulator, base_url = served
    assert stats(base_url) == EMPTY

    with httpx2.Client(base_url=base_url, headers=KEY, timeout=10.0) as first:
        for _ in range(3):
            assert first.post("/v2/conversations", json=CREATE).status_code == 200
        assert first.get("/v2/replicas").status_code == 200
    with httpx2.Client(base_url=base_url, headers=KEY, timeout=10.0) as second:
        assert second.post("/v2/conversations", json={"replica_id": "rfe12d8b9597", "bogus": 1}).status_code == 400

    # One kept-alive connection per client; the stats requests themselves are neither recorded nor counted.
    assert stats(base_url) == {
        "requests": 5,
        "connections": 2,
        "max_in_flight": 1,
        "conversations": 3,
        "schema_violations": 1,
    }
    clients = [request.client for request in emulator.received]
    assert all(client is not None and client.startswith("127.0.0.1:") for client in clients)
    assert len(set(clients[:4])) == 1
    assert clients[4] != clients[0]

    emulator.reset()
    assert stats(base_url) == EMPTY


def test_stats_need_no_key(served: tuple[TavusEmulator, str]) -> None:
    emulator, base_url = served
    response = httpx2.get(f"{base_url}/sandbox/stats", headers={"x-api-key": "wrong"}, timeout=10.0)

    assert response.status_code == 200
    assert response.json()["requests"] == 0
    assert emulator.received == []


def test_no_latency_by_default() -> None:
    assert TavusEmulator().latency == 0.0


def test_latency_comes_before_every_answer_and_requests_overlap() -> None:
    emulator = TavusEmulator(latency=1.0)
    answered: list[int] = []
    received_before_any_answer: list[int] = []

    async def create(client: httpx2.AsyncClient, headers: dict[str, str]) -> None:
        response = await client.post("/v2/conversations", json=CREATE, headers=headers)
        answered.append(response.status_code)

    async def main(base_url: str) -> None:
        limits = httpx2.Limits(max_connections=3)
        async with httpx2.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                group.start_soon(create, client, KEY)
                group.start_soon(create, client, KEY)
                group.start_soon(create, client, {"x-api-key": "wrong"})  # errors wait too
                while len(emulator.received) < 3 and not answered:  # noqa: ASYNC110 - set on another thread
                    await anyio.sleep(0.01)
                received_before_any_answer.append(len(emulator.received) if not answered else -1)
            # Every answer waited for the latency (a lower bound: the feature, not a speed measurement).
            assert time.monotonic() - started >= 1.0

    with serve_on_loopback(emulator) as base_url:
        anyio.run(main, base_url)

    # The three requests were all being handled at once: the latency is a wait, not a lock.
    assert received_before_any_answer == [3]
    assert sorted(answered) == [200, 200, 401]
    assert emulator.stats()["max_in_flight"] == 3
    assert emulator.in_flight == 0


def test_sandbox_api_takes_a_latency() -> None:
    args = _parser().parse_args(["sandbox-api", "--port", "9999", "--latency", "0.1"])
    assert (args.command, args.port, args.latency) == ("sandbox-api", 9999, 0.1)
    assert _parser().parse_args(["sandbox-api"]).latency == 0.0


@pytest.mark.parametrize("latency", ["-1", "nan", "inf"])
def test_sandbox_api_refuses_a_latency_it_cannot_wait(latency: str) -> None:
    done = run_cli("sandbox-api", "--port", "0", "--latency", latency)

    assert done.returncode == 2
    assert "--latency must be a number of seconds from 0 to 3600" in done.stderr
