"""MCP over stdio, as MCP clients start the server: the SDK's stdio transport, with two gaps closed.

- A line the SDK cannot read (invalid JSON, a lone UTF-16 surrogate escape such as `\\ud800`, which the SDK's JSON
  parser refuses, or JSON that is not a JSON-RPC message) reaches the server only as an exception, which the SDK
  logs at DEBUG and drops: the client waits forever for an answer. Here each gets a JSON-RPC error (with the
  request's id when it can be read back from the line) and a warning in the log.
- A closed stdout (the client stopped reading) ends the server with one log line and exit status 1, not a
  traceback.

Ctrl+C ends it at once (`tavus_mcp.__main__` restores SIGINT's default action): stdin is read by a worker thread,
which no exception can interrupt, so a KeyboardInterrupt would wait for the next line that never comes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
from types import TracebackType
from typing import Any, Protocol, Self

import anyio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

logger = logging.getLogger("tavus_mcp.stdio")

EXIT_STDOUT_CLOSED = 1


class Incoming(Protocol):
    """The read side of the SDK's stdio transport: each line as a message, or the exception it raised."""

    async def receive(self) -> SessionMessage | Exception: ...

    async def aclose(self) -> None: ...


class Outgoing(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...


def serve_stdio(server: Server[Any]) -> int:
    """Serve MCP over this process's stdin and stdout until stdin ends; the exit status."""
    if not _stdout_is_open():
        logger.error("stdout is closed: an MCP client reads the server's answers from it, so there is nothing to serve")
        return EXIT_STDOUT_CLOSED
    try:
        anyio.run(_serve, server)
    except (OSError, BaseExceptionGroup) as exc:
        if not _broken_pipe(exc):
            raise
        logger.error("stdout was closed: the MCP client stopped reading the server's answers; stopping")
        # Nothing more can be written there; without this, the interpreter's last flush reports the pipe again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        return EXIT_STDOUT_CLOSED
    return 0


async def _serve(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(
            AnswerUnreadable(read_stream, write_stream), write_stream, server.create_initialization_options()
        )


def _stdout_is_open() -> bool:
    if sys.stdout is None:
        return False
    try:
        os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):
        return False
    return True


def _broken_pipe(exc: BaseException) -> bool:
    """Whether `exc` (or every exception in a group) says stdout's reader has gone."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_broken_pipe(inner) for inner in exc.exceptions)
    return isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.EBADF))


class AnswerUnreadable:
    """The transport's read stream, without the exceptions it yields for lines it could not read: each is answered
    on the write stream with a JSON-RPC error, and logged, instead of being dropped."""

    def __init__(self, inner: Incoming, write_stream: Outgoing) -> None:
        self._inner = inner
        self._write_stream = write_stream
        # The sender's context of the last item, which a read stream exposes for the SDK's serving loop to run the
        # message's handler in (its stream protocol's documented `last_context`).
        self.last_context: Any = None

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.receive()
            self.last_context = getattr(self._inner, "last_context", None)
            if not isinstance(item, Exception):
                return item
            await self._answer(item)

    async def _answer(self, exc: Exception) -> None:
        request_id, code, reason = _diagnose(exc)
        logger.warning("answered a message on stdin that could not be read with a JSON-RPC error: %s", reason)
        if code is None:
            return  # a notification: JSON-RPC answers none, even an invalid one
        error = JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=reason))
        # When the connection is closing, nobody is waiting for this answer any more.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self._write_stream.send(SessionMessage(error))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


_MAX_REASON = 300


def _diagnose(exc: Exception) -> tuple[str | int | None, int | None, str]:
    """The id to answer (None when it cannot be read), the JSON-RPC error code (None for a notification, which
    gets no answer) and the reason, for a line the transport could not read."""
    if not isinstance(exc, ValidationError):
        return None, PARSE_ERROR, f"Parse error: {type(exc).__name__}"[:_MAX_REASON]
    errors = exc.errors(include_url=False)
    invalid_json = next((error for error in errors if error["type"] == "json_invalid"), None)
    if invalid_json is not None:
        line = invalid_json.get("input")
        where = str(invalid_json.get("ctx", {}).get("error", "invalid JSON"))
        try:
            # Python's parser is more lenient than the SDK's: it reads lone surrogates, so the id can be answered.
            message: Any = json.loads(line) if isinstance(line, str | bytes) else None
        except (ValueError, RecursionError):
            return None, PARSE_ERROR, f"Parse error: not valid JSON ({where})"[:_MAX_REASON]
        if _has_lone_surrogate(message):
            reason = (
                "Parse error: the message holds an unpaired UTF-16 surrogate escape (one of \\ud800 to \\udfff "
                "without its pair), which is not valid Unicode; send the text again without it"
            )
        else:
            reason = f"Parse error: {where}"
        return _request_id(message), _code_for(message, PARSE_ERROR), reason[:_MAX_REASON]
    # Valid JSON but not a JSON-RPC message: the SDK's errors quote the whole message where a field is missing.
    message = next(
        (error["input"] for error in errors if error["type"] == "missing" and isinstance(error.get("input"), dict)),
        None,
    )
    first = errors[0] if errors else {"loc": (), "msg": "unreadable"}
    field = ".".join(str(part) for part in first["loc"][1:]) or "message"
    reason = f"Invalid Request: not a JSON-RPC 2.0 message ({field}: {first['msg']})"
    return _request_id(message), _code_for(message, INVALID_REQUEST), reason[:_MAX_REASON]


def _request_id(message: Any) -> str | int | None:
    if isinstance(message, dict):
        request_id = message.get("id")
        if isinstance(request_id, str | int) and not isinstance(request_id, bool):
            return request_id
    return None


def _code_for(message: Any, code: int) -> int | None:
    """`code`, unless the message is a readable notification (a method and no id), which gets no answer."""
    if isinstance(message, dict) and "method" in message and "id" not in message:
        return None
    return code


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False
