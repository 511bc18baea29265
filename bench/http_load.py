"""A lean HTTP/1.1 load generator for the concurrency benchmark: h11 over asyncio streams, kept-alive connections.

The benchmark's load runs on the same two cores as the server under test. An httpx2 client spends about 1.3 ms
of CPU per request (its pool alone walks every connection per request), an SDK client more: either would take a
third of the machine away from the server and measure itself. This one spends about 0.3 ms, and is still a
real HTTP client: every request is sent whole on a TCP connection and every answer read whole and checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

# Idle connections are dropped before uvicorn's keep-alive timeout (5 s) could close one under a request.
KEEPALIVE_EXPIRY = 3.0


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()


class LeanHttp:
    """POSTs to one URL over kept-alive connections, at most `max_connections` at once (None: one per request)."""

    def __init__(self, url: str, headers: Mapping[str, str], *, max_connections: int | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"LeanHttp takes http://host:port/path URLs; got {url!r}")
        self.host, self.port = parts.hostname, parts.port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = [("host", f"{self.host}:{self.port}"), *headers.items()]
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self.opened = 0

    async def post(self, body: bytes, content_type: str = "application/json") -> Answer:
        if self._slots is None:
            return await self._post(body, content_type)
        async with self._slots:
            return await self._post(body, content_type)

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.writer.close()
        self._idle.clear()
        self._open.clear()

    async def _post(self, body: bytes, content_type: str) -> Answer:
        connection = self._reusable() or await self._connect()
        protocol = connection.protocol
        headers = [*self.headers, ("content-type", content_type), ("content-length", str(len(body)))]
        connection.writer.write(
            protocol.send(h11.Request(method="POST", target=self.target, headers=headers))
            + protocol.send(h11.Data(data=body))
            + protocol.send(h11.EndOfMessage())
        )
        status, content, chunks = 0, "", []
        while True:
            event = protocol.next_event()
            if event is h11.NEED_DATA:
                protocol.receive_data(await connection.reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                content = dict(event.headers).get(b"content-type", b"").decode("latin-1")
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                self._discard(connection)
                raise ConnectionError("the server closed the connection before answering")
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            self._discard(connection)
        return Answer(status, content, b"".join(chunks))

    def _reusable(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if time.monotonic() - connection.idle_since < KEEPALIVE_EXPIRY:
                return connection
            self._discard(connection)
        return None

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        connection = _Connection(reader, writer)
        self._open.add(connection)
        self.opened += 1
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.writer.close()
        self._open.discard(connection)
