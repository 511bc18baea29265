"""Real server processes for the tests over Streamable HTTP: `python -m tavus_mcp --transport http` (or an engine
running its app) on loopback, an MCP client over Streamable HTTP, and a Tavus emulator that records the key and
headers of every request it receives."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
from mcp import Client
from mcp.client.session import ElicitationFnT
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.types import ASGIApp, Receive, Scope, Send

from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator
from tests.conftest import text_of
from tests.upstream import FaultInjector, serve_on_loopback

START_TIMEOUT = 60.0  # a bound against hanging, not a speed: a 2-core machine under load starts a server in 20 s+
STOP_TIMEOUT = 15.0
READ_TIMEOUT = 30.0

Mode = Literal["legacy", "auto"]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


# Tavus, observed


@dataclass
class Gate:
    """Holds requests to `path` while closed, so that a test can act while a call is in flight."""

    path: str | None = None
    opened: threading.Event = field(default_factory=threading.Event)


class Recorder:
    """ASGI middleware in front of the emulator: every request's headers, the most requests it was handling at once,
    a delay added to every answer (so that concurrent requests overlap), and a gate. All on the emulator's loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reset()

    def reset(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.gate = Gate()
        self.held = 0
        self.in_flight = self.max_in_flight = 0
        self.delay = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.headers.append({key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate.path is not None and scope["path"] == self.gate.path:
                self.held += 1
                # Opened from the test's thread, not this loop's: an anyio.Event cannot be set from there.
                while not self.gate.opened.is_set():  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            if self.delay:
                await anyio.sleep(self.delay)
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


@dataclass
class Tavus:
    """The emulator (accepting several keys), the fault injector in front of it (which records the key of each
    request it receives), and the recorder of headers in between."""

    emulator: TavusEmulator
    injector: FaultInjector
    recorder: Recorder
    base_url: str

    def reset(self, keys: tuple[str, ...] = (SANDBOX_API_KEY,)) -> None:
        self.emulator.reset()
        self.emulator.api_keys = keys
        self.injector.reset()
        self.recorder.reset()

    def creates(self) -> list[tuple[str | None, Any]]:
        """(key, body) of every POST /v2/conversations that reached Tavus's address."""
        return [(seen.api_key, seen.body) for seen in self.injector.requests_to("POST", "/v2/conversations")]


@contextmanager
def served_tavus() -> Iterator[Tavus]:
    emulator = TavusEmulator()
    recorder = Recorder(emulator.app)
    injector = FaultInjector(recorder)
    with serve_on_loopback(injector) as base_url:
        yield Tavus(emulator, injector, recorder, base_url)


# Server processes


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.log()}")
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    log_path: Path,
    env: dict[str, str],
    *args: str,
    port: int | None = None,
    command: list[str] | None = None,
    new_session: bool = False,
) -> Iterator[ServerProcess]:
    """`python -m tavus_mcp --transport http ARGS` (or `command`, which listens on `port`) on a loopback port,
    healthy; stopped on the way out.

    With `new_session`, in a process group of its own, as a terminal would start it (signals can go to the group);
    on the way out the whole group is killed if it is still there (an engine's workers with it).
    """
    port = port or free_port()
    name = command[0] if command else "the server"
    command = command or [
        *(sys.executable, "-m", "tavus_mcp", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)),
        *args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    server = ServerProcess(process, port, log_path)
    try:
        wait_until_up(process, f"{server.base}/healthz", name, server.log)
        yield server
    finally:
        stop(process)
        if new_session:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # any worker left behind by a parent that did not stop its own


def wait_until_up(
    process: subprocess.Popen[bytes], url: str, name: str, log: Callable[[], str], timeout: float = START_TIMEOUT
) -> None:
    """Until `GET url` answers 200; fails, with `log()`, if `process` (called `name`) exits first or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{log()}")
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not become healthy within {timeout} s:\n{log()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if `process` has not exited within STOP_TIMEOUT."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def start_refused(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tavus_mcp --transport http ARGS` run to its end, as a server that should refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "tavus_mcp", "--transport", "http", "--port", str(free_port()), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


# Clients


@asynccontextmanager
async def connect(
    url: str,
    *,
    token: str | None = None,
    mode: Mode = "auto",
    auth: httpx2.Auth | None = None,
    headers: dict[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
    elicitation_callback: ElicitationFnT | None = None,
) -> AsyncIterator[Client]:
    """An MCP client over Streamable HTTP that sends `token` (or signs in through `auth`); its connection pool has
    room for 300 requests."""
    sent = dict(headers or {})
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    http = httpx2.AsyncClient(
        headers=sent,
        auth=auth,
        timeout=httpx2.Timeout(READ_TIMEOUT),
        limits=httpx2.Limits(max_connections=300, max_keepalive_connections=300),
        transport=transport,
        verify=verify,
    )
    transport_to = streamable_http_client(url, http_client=http)
    async with http, Client(transport_to, mode=mode, elicitation_callback=elicitation_callback) as client:
        yield client


def raw_exchange(host: str, port: int, request: bytes, *, read_timeout: float = 20.0) -> bytes:
    """Send raw bytes, then read until the server closes the connection (or `read_timeout` passes)."""
    with socket.create_connection((host, port), timeout=read_timeout) as sock:
        with suppress(OSError):  # the server may close before it has read everything: that is an answer too
            sock.sendall(request)
        received = b""
        with suppress(OSError):
            while chunk := sock.recv(65536):
                received += chunk
        return received


def status_of(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


async def ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


def modern_call(
    tool: str,
    arguments: dict[str, Any],
    *,
    capabilities: dict[str, Any] | None = None,
    request_id: int = 1,
    **extra_params: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A 2026-07-28 tools/call as raw JSON-RPC, from a client declaring `capabilities`: its body, and the headers
    the protocol asks for beside it (add a token's to them)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
    }
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta, **extra_params},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": tool,
    }
    return body, headers


def jsonrpc_answer(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC answer to a POSTed request, sent as a JSON body or as the event-stream message with an id."""
    assert response.status_code == 200, response.text
    if not response.headers["content-type"].startswith("text/event-stream"):
        answer: dict[str, Any] = response.json()
        return answer
    data = [line.removeprefix("data:").strip() for line in response.text.splitlines() if line.startswith("data:")]
    messages = [json.loads(line) for line in data if line]
    [answered] = [message for message in messages if "id" in message]
    return dict(answered)


def post(url: str, body: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx2.Response:
    """One raw POST (an initialize unless `body` or `content` says otherwise), as a client that is not an MCP SDK
    would send it."""
    sent = {"content-type": "application/json", "accept": "application/json, text/event-stream", **(headers or {})}
    content = kwargs.pop("content", None)
    if content is None:
        content = json.dumps(body if body is not None else INITIALIZE).encode()
    return httpx2.post(url, content=content, headers=sent, timeout=10.0, **kwargs)
