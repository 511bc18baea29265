"""The listening socket and uvicorn: one line saying why a port cannot be listened on, the client connection
limit, uvicorn's h11 protocol with a request deadline, a connection cap and a bound on request heads
(`EdgeProtocol`), running a server until a signal stops it, and uvicorn's and the SDK's log records kept to
one copy and to what matters at INFO.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import signal
import socket
import threading
from types import FrameType

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tavus_mcp.http.settings import (
    ENV_HOST,
    ENV_PORT,
    FILE_DESCRIPTOR_RESERVE,
    LISTEN_BACKLOG,
    MAX_CLIENT_CONNECTIONS,
    MAX_HEAD_BYTES,
    MIN_CLIENT_CONNECTIONS,
)

# The transport's one logger name, which its modules share: log lines name it as before the split.
logger = logging.getLogger("tavus_mcp.http")


class _DropColorMessage(logging.Filter):
    """uvicorn attaches an ANSI-coloured copy of some messages as `color_message`; structured logs want one copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def _quiet_libraries() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(_DropColorMessage())
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Their INFO lines open and close every session (and every stateless request's): noise at INFO.
        for name in ("mcp.server.streamable_http", "mcp.server.streamable_http_manager"):
            logging.getLogger(name).setLevel(logging.WARNING)


def run_until_stopped(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run a uvicorn server on a listening socket until SIGTERM or SIGINT (Ctrl+C) stops it gracefully."""

    def stop(signum: int, frame: FrameType | None) -> None:
        # Also what a signal uvicorn caught is re-raised to once it has stopped: the process then exits 0 rather
        # than dying of SIGTERM. Before uvicorn installs its own handlers, this stops it from starting at all.
        server.should_exit = True

    handled = (signal.SIGTERM, signal.SIGINT)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in handled} if in_main_thread else {}
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host` and `port` (as uvicorn binds one); OSError if it cannot be.

    Listening at once, not only bound: two processes may both bind a port with SO_REUSEADDR while neither listens,
    and the second would learn that the port is taken only later, from uvicorn, after saying it serves."""
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on every accepted connection (it checks the protocol):
    # without it, Nagle's algorithm holds each answer on a kept-alive connection for about 40 ms.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def cannot_listen(
    exc: OSError, host: str, port: int, *, port_setting: str = f"--port or {ENV_PORT}", host_setting: str = ""
) -> str:
    """One line saying why `host:port` cannot be listened on and what to change (`port_setting`, `host_setting`)."""
    host_setting = host_setting or f"--host or {ENV_HOST}"
    where = f"{_url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = (
            f"port {port} is already in use by another program. Stop that program, or choose another port with "
            f"{port_setting}"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine. Choose one of its addresses with {host_setting}"
    elif exc.errno == errno.EACCES:
        why = f"this user may not listen on port {port} (ports below 1024 need privileges). Choose a port above 1023"
    elif isinstance(exc, socket.gaierror):
        why = f"the host name {host} does not resolve. Give an address such as 127.0.0.1 with {host_setting}"
    else:
        why = f"{exc.strerror or exc}"
    return f"cannot listen on {where}: {why}"


def client_connection_limit(tavus_connections: int) -> int:
    """How many client connections one process serves at once: MAX_CLIENT_CONNECTIONS, or fewer when the
    open-file limit leaves less room beside the connections to Tavus, a burst of accepts and a reserve. Past it,
    the connections that have waited longest for a complete request are closed to make room, so accepting never
    fails for want of a file descriptor (which only logs an error and leaves legitimate clients waiting)."""
    try:
        import resource
    except ImportError:  # Windows
        return MAX_CLIENT_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CLIENT_CONNECTIONS
    room = soft - tavus_connections - FILE_DESCRIPTOR_RESERVE - LISTEN_BACKLOG
    if room < MIN_CLIENT_CONNECTIONS:
        logger.warning(
            "the open-file limit (ulimit -n) of %d leaves room for only %d client connections beside %d to Tavus; "
            "raise it (LimitNOFILE= in a systemd unit) to serve more clients at once",
            soft,
            max(room, 0),
            tavus_connections,
        )
    return max(MIN_CLIENT_CONNECTIONS, min(MAX_CLIENT_CONNECTIONS, room))


class _Edge:
    """One server's connection bookkeeping: the bounds, and the connections waiting for a complete request, in
    the order they started waiting."""

    def __init__(self, max_connections: int, request_timeout: float) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.waiting: dict[EdgeProtocol, None] = {}


class EdgeProtocol(H11Protocol):
    """uvicorn's h11 protocol, with the bounds it lacks (its keep-alive timeout starts only after a response):

    - a deadline: a connection that has not sent a complete request (headers and body) `request_timeout` seconds
      after the server started waiting for one is answered 408 and closed, however slowly it trickles bytes;
    - a cap: past `max_connections`, the connection that has waited longest for a complete request is closed
      (the newcomer itself, with 503, when every other connection is busy with a request);
    - a head of at most MAX_HEAD_BYTES, however its bytes arrive (in pieces, in one write, behind another request
      on the same connection): past it, 431 and closed.

    Subclassed per server by `edge_protocol`, which sets `edge`.
    """

    edge: _Edge

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._track()
        if len(self.connections) > self.edge.max_connections:
            oldest = next(iter(self.edge.waiting), self)
            logger.warning(
                "at the limit of %d client connections: closing the one that has waited longest for a complete request",
                self.edge.max_connections,
            )
            oldest._close(503 if oldest is self else None)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def handle_events(self) -> None:
        # Called whenever h11 may parse a new request head: after bytes arrive, and after a response when the
        # client sent its next request early. The head is measured in h11's buffer before h11 parses it.
        if self.conn.their_state is h11.IDLE and _head_size(self.conn.trailing_data[0]) > MAX_HEAD_BYTES:
            logger.debug("closing a connection whose request head passes %d bytes", MAX_HEAD_BYTES)
            self._close(431)
            return
        super().handle_events()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _track(self) -> None:
        """Start the deadline when the connection starts waiting for a request; stop it once one is complete."""
        waiting = not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        if waiting and self._deadline is None:
            self.edge.waiting[self] = None
            self._deadline = self.loop.call_later(self.edge.request_timeout, self._timed_out)
        elif not waiting:
            self._stop_waiting()

    def _stop_waiting(self) -> None:
        self.edge.waiting.pop(self, None)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        started = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        logger.debug("closing a connection that sent no complete request within %s s", self.edge.request_timeout)
        # An idle kept-alive connection is just closed; one that started a request is told why.
        self._close(408 if started else None)

    def _close(self, status: int | None) -> None:
        self._stop_waiting()
        if self.transport.is_closing():
            return
        if status is not None:
            reason, body = {
                408: (b"Request Timeout", b"The request was not completed in time.\n"),
                431: (b"Request Header Fields Too Large", b"The request's headers pass %d bytes.\n" % MAX_HEAD_BYTES),
                503: (b"Service Unavailable", b"Too many connections.\n"),
            }[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
            )
        self.transport.close()


_END_OF_HEAD = re.compile(rb"\n\r?\n")  # the blank line after the headers, as h11 finds it


def _head_size(buffered: bytes) -> int:
    """How many bytes of `buffered`, which starts with a request, its head takes (all of them while incomplete)."""
    end = _END_OF_HEAD.search(buffered, 0, MAX_HEAD_BYTES + 2)
    return end.end() if end else len(buffered)


def edge_protocol(*, max_connections: int, request_timeout: float) -> type[EdgeProtocol]:
    """An `EdgeProtocol` class with its own bookkeeping, for one uvicorn server (`uvicorn.Config(http=...)`)."""
    edge = _Edge(max_connections, request_timeout)
    return type("EdgeProtocol", (EdgeProtocol,), {"edge": edge})


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
