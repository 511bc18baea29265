"""The ASGI middlewares around the SDK's Streamable HTTP app: Host and Origin compared without case, a call
cancelled when its client drops the connection, 2026-07-28 streams kept alive, no standalone event stream, and
loopback only without tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tavus_mcp.config import is_loopback
from tavus_mcp.http.settings import ENV_AUTH_TOKENS, MCP_PATH

# The transport's one logger name, which its modules share: log lines name it as before the split.
logger = logging.getLogger("tavus_mcp.http")


class CaseInsensitiveHost:
    """Lowers the Host and Origin headers before the SDK's DNS-rebinding check, which compares them as written:
    host names and schemes are case-insensitive (RFC 9110 section 4.2.3), so `Host: LOCALHOST:8000` is localhost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [
                (name, value.lower()) if name in (b"host", b"origin") else (name, value)
                for name, value in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class CancelOnDisconnect:
    """In a 2025-11-25 session, a call whose client closes the connection before its answer is cancelled, as if the
    client had sent `notifications/cancelled`: its answer can no longer be delivered (the server keeps no events to
    resume a stream from), and otherwise it would go on, polling Tavus, for as long as the session lives.

    The SDK cancels the call itself when a 2026-07-28 request's connection closes, and a sessionless 2025-11-25
    request ends with its connection; in a session, a closed stream is left for the client to resume. The
    cancellation goes to the session as the client's own notification would, through the app (the same
    credentials, checked again), so the SDK's transport does the rest.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        if scope["type"] != "http" or scope["method"] != "POST" or b"mcp-session-id" not in headers:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        dropped = False
        answered = False

        async def watch_receive() -> Message:
            nonlocal dropped
            message = await receive()
            if message["type"] == "http.request" and len(body) <= self.max_body_bytes:
                body.extend(message.get("body", b""))
            elif message["type"] == "http.disconnect":
                dropped = True
            return message

        async def watch_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        await self.app(scope, watch_receive, watch_send)
        request_id = _request_id(bytes(body)) if dropped and not answered else None
        if request_id is not None:
            with anyio.CancelScope(shield=True):
                await self._cancel(scope, request_id)

    async def _cancel(self, scope: Scope, request_id: str | int) -> None:
        logger.debug("the client closed the connection of request %r before its answer: cancelling it", request_id)
        notification = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "the client closed the connection"},
        }
        content = json.dumps(notification).encode()
        kept = [(name, value) for name, value in scope["headers"] if name not in _REPLACED_HEADERS]
        headers = [
            *kept,
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(content)).encode()),
        ]
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await anyio.sleep_forever()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def ignore(message: Message) -> None:
            pass

        await self.app({**scope, "headers": headers}, receive, ignore)


_REPLACED_HEADERS = (b"content-type", b"accept", b"content-length", b"transfer-encoding")


def _request_id(body: bytes) -> str | int | None:
    """The id of the JSON-RPC request in `body`, or None for anything else (a notification, a response)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or "method" not in message:
        return None
    request_id = message.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


class KeepModernStreamsAlive:
    """A 2026-07-28 call that has said nothing for `interval` seconds is answered as an event stream, with a comment
    line (`: ping`) every `interval` seconds of silence until its result, so that no proxy's read timeout ends it.

    The SDK answers such a call with plain JSON if it ends within 15 s, and otherwise commits to a stream and pings
    every 15 s: a fixed, private interval, longer than some proxies wait (the 2025-11-25 streams' interval is
    sse-starlette's public setting). This starts the stream earlier and fills the SDK's silences; what the SDK
    sends is passed on unchanged, except that a JSON answer arriving after the stream began goes as its last event,
    which is what the SDK itself does past 15 s. Requests the SDK routes to 2025-11-25 (a handshake version, or no
    version header) and clients that accept no event stream are left alone. To go once the SDK's interval is public.
    """

    def __init__(self, app: ASGIApp, interval: float) -> None:
        self.app = app
        self.interval = interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _modern_call_accepting_streams(scope):
            await self.app(scope, receive, send)
            return
        stream = _KeptAliveStream(send, self.interval)
        # A timer, and a task only for a call still running when it fires: most calls end well within the interval,
        # and a task group and anyio lock per request cost 180 us where this costs about 11.
        loop = asyncio.get_running_loop()
        pinging: list[asyncio.Task[None]] = []
        timer = loop.call_later(self.interval, lambda: pinging.append(loop.create_task(stream.ping_while_silent())))
        try:
            await self.app(scope, receive, stream.send)
        finally:
            timer.cancel()
            for task in pinging:
                task.cancel()


def _modern_call_accepting_streams(scope: Scope) -> bool:
    """A POST of the MCP endpoint that the SDK serves as a 2026-07-28 request, from a client that takes streams."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != MCP_PATH:
        return False
    headers = dict(scope["headers"])
    version = headers.get(b"mcp-protocol-version")
    if version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS:
        return False
    return b"text/event-stream" in headers.get(b"accept", b"").lower()


_EVENT_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
_PING = b": ping\r\n\r\n"


class _KeptAliveStream:
    """One request's answer as it goes out: the SDK's messages, and the pings between them."""

    def __init__(self, send: Send, interval: float) -> None:
        self._send = send
        self._interval = interval
        self._clock = asyncio.get_running_loop().time
        self._lock = asyncio.Lock()  # one message at a time on the wire, whoever sends it
        self._last_sent = self._clock()
        self._streaming = False  # the response is an event stream, started by us or by the SDK
        self._started_by_us = False
        self._json_after_start: bytearray | None = None  # the SDK's JSON answer, once the stream had begun
        self._done = False

    async def send(self, message: Message) -> None:
        async with self._lock:
            if message["type"] == "http.response.start":
                is_stream = dict(message.get("headers", ())).get(b"content-type", b"").startswith(b"text/event-stream")
                if self._started_by_us:
                    self._json_after_start = None if is_stream else bytearray()
                    return
                self._streaming = is_stream
                self._done = not is_stream  # a JSON answer goes out as the SDK wrote it
                await self._send(message)
                return
            if message["type"] == "http.response.body" and self._json_after_start is not None:
                self._json_after_start.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                lines = bytes(self._json_after_start).splitlines() or [b""]
                data = b"".join(b"data: " + line + b"\r\n" for line in lines)
                message = {"type": "http.response.body", "body": b"event: message\r\n" + data + b"\r\n"}
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._done = True
            await self._send(message)
            self._last_sent = self._clock()

    async def ping_while_silent(self) -> None:
        try:
            await self._ping_while_silent()
        except OSError:
            # The client is gone (uvicorn's ClientDisconnected): the call's own task sees it too, and ends.
            logger.debug("a keepalive ping found the connection closed")

    async def _ping_while_silent(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + self._interval - self._clock()))
            async with self._lock:
                if self._done:
                    return
                if self._clock() - self._last_sent < self._interval:
                    continue  # the SDK sent something meanwhile
                if not self._streaming:
                    await self._send({"type": "http.response.start", "status": 200, "headers": _EVENT_STREAM_HEADERS})
                    self._streaming = self._started_by_us = True
                await self._send({"type": "http.response.body", "body": _PING, "more_body": True})
                self._last_sent = self._clock()


class _NoStandaloneStream:
    """Answers a GET of the MCP endpoint 405, as the protocol allows: the server sends nothing unprompted, so a
    standalone event stream would only hold a connection (and, under a graceful stop, the stop) open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == MCP_PATH:
            await Response(status_code=405, headers={"allow": "POST, DELETE"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _LoopbackOnly:
    """Without tokens, answer only peers on this machine, whatever address the ASGI server was bound to.

    `mcp-server-tavus --transport http` refuses a non-loopback bind without tokens, but under `uvicorn --factory` or
    gunicorn the app cannot see the bind address: this keeps the same promise there. A Host header proves nothing
    (anyone can send `Host: localhost`); the peer's address does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _peer_is_loopback(scope.get("client")):
            response = PlainTextResponse(
                f"This server has no {ENV_AUTH_TOKENS} and answers only this machine.", status_code=403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _peer_is_loopback(client: Any) -> bool:
    # No client address: a Unix socket, or an in-process test client, nothing from the network.
    return not client or is_loopback(str(client[0]))
