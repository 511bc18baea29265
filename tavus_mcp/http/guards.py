"""The ASGI middlewares around the SDK's Streamable HTTP app: Host and Origin compared without case, a call
cancelled when its client drops the connection, no standalone event stream, and loopback only without tokens.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
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
