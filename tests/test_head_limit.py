"""The bound on a request's head (request line and headers), as strangers' bytes meet it on a real socket: in one
write, in pieces, or behind another request on the same connection. `python -m tavus_mcp --transport http --sandbox`
on loopback; every answer is read off the socket.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import suppress

import pytest

from tavus_mcp.http.settings import MAX_HEAD_BYTES
from tests.servers import ServerProcess, raw_exchange, running_server, status_of

pytestmark = pytest.mark.http

TOO_LARGE = "HTTP/1.1 431 Request Header Fields Too Large"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PATH": os.environ.get("PATH", ""), "TAVUS_LOG_LEVEL": "INFO"}
    with running_server(tmp_path_factory.mktemp("head") / "server.log", env, "--sandbox") as running:
        yield running


def head(size: int, *, close: bool = True) -> bytes:
    """A GET /healthz whose head (request line, headers, blank line) is exactly `size` bytes."""
    start = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (b"Connection: close\r\n" if close else b"")
    padding = size - len(start) - len(b"X-Padding: \r\n\r\n")
    request = start + b"X-Padding: " + b"a" * padding + b"\r\n\r\n"
    assert len(request) == size
    return request


@pytest.mark.parametrize("kib", [20, 40, 70])
def test_a_head_past_the_limit_in_one_write_is_refused_with_431(server: ServerProcess, kib: int) -> None:
    answer = raw_exchange("127.0.0.1", server.port, head(kib * 1024))

    assert status_of(answer) == TOO_LARGE
    assert answer.endswith(b"\r\n\r\nThe request's headers pass 16384 bytes.\n")


def test_a_head_at_the_limit_is_served(server: ServerProcess) -> None:
    # The control: the same request one byte shorter than the refused ones is answered.
    answer = raw_exchange("127.0.0.1", server.port, head(MAX_HEAD_BYTES))

    assert status_of(answer) == "HTTP/1.1 200 OK"
    assert status_of(raw_exchange("127.0.0.1", server.port, head(MAX_HEAD_BYTES + 1))) == TOO_LARGE


def test_a_head_past_the_limit_in_pieces_is_refused_with_431(server: ServerProcess) -> None:
    request = head(20 * 1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with suppress(OSError):  # the server may close before every piece is sent
            for at in range(0, len(request), 1024):
                sock.sendall(request[at : at + 1024])
                time.sleep(0.001)
        answer = b""
        with suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk

    assert status_of(answer) == TOO_LARGE


def test_a_head_past_the_limit_behind_another_request_is_refused_with_431(server: ServerProcess) -> None:
    # Pipelined: h11 holds the second request's bytes until the first is answered, then parses them from its buffer.
    answer = raw_exchange("127.0.0.1", server.port, head(200, close=False) + head(40 * 1024))

    first, _, rest = answer.partition(b"\r\n\r\n")
    assert status_of(first) == "HTTP/1.1 200 OK"
    assert TOO_LARGE.encode() in rest


def test_the_server_stays_up_and_says_nothing_alarming(server: ServerProcess) -> None:
    raw_exchange("127.0.0.1", server.port, head(70 * 1024))

    assert status_of(raw_exchange("127.0.0.1", server.port, head(200))) == "HTTP/1.1 200 OK"
    assert "Traceback" not in server.log() and "level=error" not in server.log()
