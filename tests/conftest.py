"""Shared fixtures: the Tavus emulator served on loopback, and MCP clients connected to the real server."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult
from pydantic import SecretStr

from tavus_mcp.config import Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator
from tavus_mcp.server import build_server
from tests.upstream import Fault, FaultInjector, Seen, serve_on_loopback

CREATE_PATH = "/v2/conversations"
# Every tool the server lists with the default toolsets, in order.
TOOL_NAMES = [
    "create_conversation",
    "get_conversation",
    "wait_for_conversation",
    "list_conversations",
    "end_conversation",
    "delete_conversation",
    "list_replicas",
    "list_personas",
    "create_persona",
    "get_persona",
    "update_persona",
    "delete_persona",
    "create_document",
    "get_document",
    "list_documents",
    "update_document",
    "delete_document",
    "wait_for_document",
]


# Tests that need tools beyond the project's .venv (installed by scripts/install-client-tools.sh, or Chromium) are
# also `slow`: the README's quick command, `pytest -m "not slow"`, leaves them to CI.
NEEDS_EXTRA_TOOLS = ("clients", "conformance", "browser", "oauth")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in NEEDS_EXTRA_TOOLS):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`pytest -n auto`: half as many workers again as xdist's count of cores. Much of the suite waits on what it
    starts (servers coming up, sandbox calls playing through): on 2 cores, 2 workers left the CPU idle a quarter of
    the time and 4 spent it on contention; 3 ran the quick suite fastest (107 s, against 130 s and 122 s).
    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides as it does in xdist."""
    from xdist.plugin import pytest_xdist_auto_num_workers as xdist_count  # type: ignore[import-untyped]

    counted: int = xdist_count(config)
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return counted
    return counted + max(1, counted // 2)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=[pytest.param(10, id="quick"), pytest.param(1, id="full", marks=pytest.mark.slow)])
def examples(request: pytest.FixtureRequest) -> Callable[[int], int]:
    """How many examples a property runs: all of them under `slow`; in the quick run a tenth, but at least 200
    (or all, if fewer), enough for each property's checks that it exercised every case.

    The quick run keeps every property exercised by the README's test command; CI (`.ci/run`) runs both.
    """
    divisor: int = request.param
    return lambda full: max(min(full, 200), full // divisor)


@dataclass
class Sandbox:
    """The emulator, the fault injector in front of it, and the URL they are served at on loopback."""

    emulator: TavusEmulator
    injector: FaultInjector
    base_url: str

    @property
    def faults(self) -> list[Fault]:
        """Answers to give instead of the emulator's (appended to by tests)."""
        return self.injector.faults

    @property
    def abandoned(self) -> list[str]:
        return self.injector.abandoned

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"api_key": SecretStr(SANDBOX_API_KEY), "base_url": self.base_url, "timeout": 5.0}
        values.update(overrides)
        return Settings(**values).validated()

    def requests_to(self, method: str, path: str) -> list[Seen]:
        """Every request to this method and path that reached Tavus's address, faulted or not."""
        return self.injector.requests_to(method, path)

    def creates(self) -> list[Any]:
        """Bodies of every POST /v2/conversations that reached Tavus's address."""
        return [request.body for request in self.requests_to("POST", CREATE_PATH)]


@pytest.fixture(scope="session")
def _served_emulator() -> Iterator[Sandbox]:
    emulator = TavusEmulator()
    injector = FaultInjector(emulator.app)
    with serve_on_loopback(injector) as base_url:
        yield Sandbox(emulator, injector, base_url)


@pytest.fixture
def sandbox(_served_emulator: Sandbox) -> Iterator[Sandbox]:
    _served_emulator.emulator.reset()
    _served_emulator.injector.reset()
    yield _served_emulator
    # Whatever a test did, the server must never have sent Tavus a body that breaks the API's schema.
    assert _served_emulator.emulator.schema_violations == []


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as client:
        yield client


@pytest.fixture
async def mcp(sandbox: Sandbox) -> AsyncIterator[Client]:
    """An in-memory MCP client connected to the server, which talks to the emulator over loopback HTTP."""
    async with connect(sandbox.settings()) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


@pytest.fixture(autouse=True)
def _capture_all_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Every test captures logs at DEBUG so that key-leak checks see everything the libraries log.
    caplog.set_level(logging.DEBUG)


# The stdio run repeats each test through a subprocess, a second apiece: the quick suite leaves it to CI, and covers
# stdio in tests/test_stdio.py.
@pytest.fixture(params=["memory", pytest.param("stdio", marks=[pytest.mark.stdio, pytest.mark.slow])])
async def client(request: pytest.FixtureRequest, sandbox: Sandbox) -> AsyncIterator[Client]:
    """An MCP client connected to the server in memory, and (a second run of the test, `slow`) over stdio."""
    if request.param == "memory":
        async with connect(sandbox.settings()) as connected:
            yield connected
        return
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tavus_mcp"],
        env={"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url, "TAVUS_LOG_LEVEL": "WARNING"},
    )
    async with Client(server, read_timeout_seconds=30) as connected:
        yield connected
