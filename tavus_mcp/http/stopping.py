"""Signals while the app runs: a graceful stop that lets calls in flight finish (streamed ones included) and
answers those still waiting for Tavus before the deadline, and SIGHUP reading the users file again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any

from sse_starlette import EventSourceResponse
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette

from tavus_mcp.client import stop_calls_by
from tavus_mcp.users_file import UserDirectory

# The transport's one logger name, which its modules share: log lines name it as before the split.
logger = logging.getLogger("tavus_mcp.http")


def _stream_through_a_stop(keepalive: float) -> None:
    """Set sse-starlette, which writes the SDK's 2025-11-25 event streams, for calls that outlive a SIGTERM and for
    proxies: process-wide settings of the library, the same for every app this process builds.

    - Its streams are not ended when the server is told to stop: a call in flight finishes its answer within the
      graceful stop, as a call answered with JSON does (its own default ends every stream at once, cutting answers
      short). Streams still end when their call does, and uvicorn's graceful timeout bounds the rest.
    - A comment line (`: ping`) every `keepalive` seconds while a stream has nothing else to say.
    """
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    EventSourceResponse.DEFAULT_PING_INTERVAL = keepalive  # type: ignore[assignment]


def _stop_calls_on_signal(app: Starlette, grace: int) -> None:
    """While the app runs, SIGTERM or SIGINT first sets the deadline at which calls still waiting for Tavus are
    answered with an error (shortly before `grace` runs out), then goes on to the ASGI server's own handler.

    Under `uvicorn --workers` and gunicorn's uvicorn workers, the engine installs its handlers before the app's
    lifespan starts: they are chained here, so that their graceful stop, bounded by their own timeout, sees the
    same answers as this command's.
    """
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()

        def on_stop() -> None:
            # Enough of a margin for the answer to be written before the ASGI server cancels what is left.
            stop_calls_by(loop.time() + grace - min(1.0, grace / 4))

        with _chained(signal.SIGTERM, loop, on_stop), _chained(signal.SIGINT, loop, on_stop):
            async with serve(app) as state:
                yield state

    app.router.lifespan_context = lifespan


@contextmanager
def _chained(signum: int, loop: asyncio.AbstractEventLoop, handler: Callable[[], object]) -> Iterator[None]:
    """Run `handler` on the event loop when `signum` arrives, then whatever handled the signal before."""
    previous = signal.getsignal(signum) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):
        # Signals are the main thread's (an app served from a test's thread), or no server handles this one.
        yield
        return

    def chained(sig: int, frame: FrameType | None) -> None:
        # From the loop, not inside the signal handler, which may interrupt it anywhere.
        loop.call_soon_threadsafe(handler)
        previous(sig, frame)

    signal.signal(signum, chained)
    try:
        yield
    finally:
        if signal.getsignal(signum) is chained:
            signal.signal(signum, previous)


def _reload_on_hangup(app: Starlette, users: UserDirectory) -> None:
    """While the app runs, SIGHUP reads the users file again (in each worker process that receives it)."""
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        with _on_signal(signal.SIGHUP, users.reload):
            async with serve(app) as state:
                yield state

    app.router.lifespan_context = lifespan


@contextmanager
def _on_signal(signum: int, handler: Callable[[], object]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    try:
        # Run by the event loop between callbacks, not inside the signal handler: reading a file and logging are
        # safe there, and the swap of users is atomic for every request.
        loop.add_signal_handler(signum, handler)
    except (ValueError, RuntimeError, NotImplementedError):
        # Not the main thread (an app served from a test's thread), or no signals on this platform.
        logger.info("%s cannot be caught here: the users file is read only at start", signal.Signals(signum).name)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signum)
