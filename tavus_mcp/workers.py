"""Several server processes on one listening socket (`--workers N`), supervised by the process that started them.

One process of this server handles about 500 tool calls a second over HTTP, nearly all of it the SDK's and the
HTTP libraries' work per request, in one thread: a team server with more cores than one runs a worker per core.
The parent binds the socket and forks the workers (the kernel shares connections out among them); it restarts a
worker that dies, and on SIGTERM or SIGINT stops them all gracefully and exits 0. A second signal kills them.

Workers need `os.fork` (Linux, macOS); they share nothing but the listening sockets, as stateless replicas would.
Knows nothing of MCP or HTTP: `serve` is whatever a worker runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

logger = logging.getLogger("tavus_mcp.workers")

MAX_WORKERS = 64
# How often the parent looks at its children when none has exited.
POLL_SECONDS = 0.2
# A worker that exits within this long of its start, this many times in a row, would only be restarted to exit again.
QUICK_EXIT_SECONDS = 10.0
MAX_QUICK_EXITS = 5
# After the graceful stop's own timeout, how much longer the parent waits before killing what is left.
KILL_GRACE_SECONDS = 5.0
# Before restarting a worker, this long times the number of quick exits in a row.
RESTART_DELAY_SECONDS = 0.5

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def can_fork() -> bool:
    return hasattr(os, "fork")


@dataclass
class _Worker:
    index: int
    started: float


class _WorkerTag(logging.Filter):
    """Adds `worker=N` to every log line of worker N, so that each line says which process wrote it."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.index
        return True


def supervise(
    count: int,
    serve: Callable[[int], None],
    *,
    shutdown_timeout: float,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Run `serve(index)` in `count` forked processes until SIGTERM or SIGINT; the parent's exit status.

    0 when every worker stopped cleanly after the signal; 1 when one did not, when a second signal killed them,
    when a fork failed, or when workers kept exiting as soon as they started (the parent then stops the others
    rather than restarting them forever). `on_stop` runs once, as the stop begins (before the workers are told).

    A worker starts with SIGTERM and SIGINT blocked: `serve` unblocks them once it has its own handlers, so that
    a stop requested while it was starting reaches it then, rather than killing it or being lost.
    """
    parent = os.getpid()
    children: dict[int, _Worker] = {}
    stop_requested = False
    killed = False
    stop_deadline = 0.0
    failed = False
    quick_exits = 0

    def spawn(index: int) -> None:
        nonlocal failed
        sys.stdout.flush()
        sys.stderr.flush()
        # Blocked across the fork and the bookkeeping: a stop requested meanwhile is handled once the new worker
        # is in `children`, so it is told too.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _run_worker(index, serve)  # never returns
            children[pid] = _Worker(index, time.monotonic())
        except OSError as exc:
            logger.error("could not start worker %d: %s; stopping every worker", index, exc)
            failed = True
            stop("a worker could not be started")
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def signal_all(signum: int) -> None:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):  # exited; reaped below
                os.kill(pid, signum)

    def stop(reason: str) -> None:
        nonlocal stop_requested, stop_deadline
        if stop_requested:
            return
        stop_requested = True
        stop_deadline = time.monotonic() + shutdown_timeout + KILL_GRACE_SECONDS
        logger.info("stopping %d workers (%s)", len(children), reason)
        if on_stop is not None:
            on_stop()
        signal_all(signal.SIGTERM)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal killed
        if os.getpid() != parent:
            return  # a worker before it installs its own handlers (they are blocked there, so this is belt and braces)
        if stop_requested:
            logger.warning("second stop signal: killing %d workers", len(children))
            killed = True
            signal_all(signal.SIGKILL)
            return
        stop(f"signal {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        for index in range(count):
            if stop_requested:
                break
            spawn(index)
        if not stop_requested:
            logger.info("started %d workers: pids %s", count, " ".join(str(pid) for pid in children))
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(POLL_SECONDS)
                if stop_requested and not killed and time.monotonic() > stop_deadline:
                    logger.error("%d workers still running after the shutdown timeout: killing them", len(children))
                    killed = True
                    signal_all(signal.SIGKILL)
                continue
            worker = children.pop(pid, None)
            if worker is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if stop_requested:
                if code != 0 and not killed:
                    failed = True
                    logger.error("worker %d (pid %d) %s while stopping", worker.index, pid, _describe(code))
                continue
            lived = time.monotonic() - worker.started
            quick_exits = quick_exits + 1 if lived < QUICK_EXIT_SECONDS else 0
            if quick_exits >= MAX_QUICK_EXITS:
                logger.error(
                    "worker %d (pid %d) %s %.1f s after it started, the %dth quick exit in a row: stopping every "
                    "worker (see the lines above for why they exit)",
                    worker.index,
                    pid,
                    _describe(code),
                    lived,
                    quick_exits,
                )
                failed = True
                stop("workers keep exiting")
                continue
            logger.error("worker %d (pid %d) %s; starting another", worker.index, pid, _describe(code))
            # A worker that exits at once would otherwise be restarted as fast as the machine can fork.
            time.sleep(RESTART_DELAY_SECONDS * quick_exits)
            if not stop_requested:
                spawn(worker.index)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("all workers stopped")
    return 1 if failed or killed else 0


def _run_worker(index: int, serve: Callable[[int], None]) -> None:
    """The body of a forked worker: `serve(index)`, then exit without returning into the parent's stack.

    SIGTERM and SIGINT arrive blocked (see `supervise`). Until `serve` installs its handlers, and again after it
    returns, they do nothing: a stop that comes as the worker is about to exit anyway must not turn a clean exit
    into death by signal (which the parent would report as a failed stop).
    """
    code = 0
    try:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, _ignore)
        for handler in logging.getLogger().handlers:
            handler.addFilter(_WorkerTag(index))
        serve(index)
    except SystemExit as exc:  # uvicorn exits so when it cannot start
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        logger.exception("worker %d failed", index)
        code = 1
    finally:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, _ignore)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A handler that does nothing. Unlike SIG_IGN it keeps a signal pending while blocked, for the next handler."""


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"
