"""Tavus as the tests need it: the package's emulator, behind fault injection, served over real HTTP on loopback.

The emulator (`tavus_mcp.sandbox`) emulates Tavus and nothing else; what only a test wants (answers that break,
hang, trickle or lie, and a record of requests the server abandoned) is added here, in front of it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import uvicorn
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Fault:
    """An answer given to matching requests instead of the emulator's own.

    With `after_handling`, the emulator handles the request first (a conversation is really created) and then the
    fault is answered, which is what a timeout or a gateway error after Tavus acted looks like to a client.
    """

    status: int = 503
    body: str | bytes = ""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_handling: bool = False
    # Declare a longer body than is sent, then end: the client sees the connection drop mid-answer.
    cut_short: bool = False
    # Send the headers at once, then one byte every 0.1 s for `delay` seconds before the body.
    trickle: bool = False
    method: str | None = None
    path: str | None = None
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


@dataclass(frozen=True)
class Seen:
    """A request as it reached Tavus's address, faulted or not (the emulator records only those it handles)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    api_key: str | None
    # The path as sent, percent-encoding and all (`path` is decoded): what a quoted id looked like on the wire.
    raw_path: str = ""


class FaultInjector:
    """ASGI middleware in front of the emulator: answers with the first matching fault, once per `times`, and
    records every request that arrives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        # Requests whose client went away while a delayed answer was pending ("METHOD /path").
        self.abandoned: list[str] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.faults.clear()
            self.abandoned.clear()

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == method and seen.path == path]

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        with self._lock:
            request = Request(scope)
            self.seen.append(
                Seen(
                    scope["method"],
                    scope["path"],
                    dict(request.query_params),
                    body,
                    request.headers.get("x-api-key"),
                    scope["raw_path"].decode("latin-1"),
                )
            )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        fault = self._take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, replay, send)
            return
        if fault.after_handling:

            async def discard(message: Message) -> None:
                pass

            await self.app(scope, replay, discard)
        response = await self._answer(fault, Request(scope, replay))
        await response(scope, receive, send)

    async def _answer(self, fault: Fault, request: Request) -> Response:
        if fault.trickle:
            return StreamingResponse(
                self._trickle(fault, request), status_code=fault.status, media_type=fault.content_type
            )
        deadline = time.monotonic() + fault.delay
        while time.monotonic() < deadline:
            await anyio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            if await request.is_disconnected():
                with self._lock:
                    self.abandoned.append(f"{request.method} {request.url.path}")
                return Response(status_code=499)  # nobody is listening any more
        response_type = _CutShortResponse if fault.cut_short else Response
        return response_type(fault.body, status_code=fault.status, headers=fault.headers, media_type=fault.content_type)

    async def _trickle(self, fault: Fault, request: Request) -> AsyncIterator[bytes]:
        deadline = time.monotonic() + fault.delay
        try:
            while time.monotonic() < deadline:
                yield b" "
                await anyio.sleep(0.1)
            yield fault.body.encode() if isinstance(fault.body, str) else fault.body
        except (OSError, anyio.get_cancelled_exc_class()):
            with self._lock:
                self.abandoned.append(f"{request.method} {request.url.path}")
            raise


class _CutShortResponse(Response):
    """A response that promises more bytes than it sends, so the connection ends mid-answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        headers.append((b"content-length", str(len(self.body) + 1024).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, for uvicorn to listen on."""
    # IPPROTO_TCP, so that asyncio sets TCP_NODELAY on accepted connections: without it, every answer on a kept-alive
    # connection waits ~40 ms for Nagle's algorithm.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def serve_on_loopback(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, lifespan: Literal["on", "off"] = "off"
) -> Iterator[str]:
    """Serve an ASGI app over real HTTP in a background thread (running its lifespan if asked); yields its base URL."""
    sock = listening_socket(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="tavus-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Tavus emulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
