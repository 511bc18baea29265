"""The HTTP edge, as strangers and unlucky operators meet it: real `python -m tavus_mcp --transport http` processes
on loopback, real sockets that misbehave, and nginx in front as docs/security.md sets it up.

Counts stay modest (a few hundred sockets); exhaustion is made reachable by lowering the server's open-file limit.
Nothing here asserts a speed: latencies are printed (pytest -s) for the record.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tavus_mcp.config import EXIT_CANNOT_LISTEN
from tavus_mcp.http.settings import FILE_DESCRIPTOR_RESERVE, LISTEN_BACKLOG
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import CREATE_PATH, Sandbox, text_of
from tests.servers import raw_exchange, status_of
from tests.upstream import Fault

# Floods, deadlines and nginx on real sockets: `slow`, run by .ci/run.
pytestmark = [pytest.mark.http, pytest.mark.slow]

R = "rfe12d8b9597"
START_TIMEOUT = 20.0
TEST_TIMEOUT = 90.0
SERVING = re.compile(r'msg="serving MCP over Streamable HTTP at http://(?P<host>[^/]+):(?P<port>\d+)/mcp')
DOCS = Path(__file__).resolve().parent.parent / "docs" / "security.md"


# Server processes


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]


def server_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": sandbox.base_url,
        "TAVUS_LOG_LEVEL": "INFO",
        **extra,
    }


def _open_files(limit: int) -> Callable[[], None]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    return lower


@contextmanager
def http_server(
    log_path: Path, env: dict[str, str], *args: str, host: str = "127.0.0.1", open_files: int | None = None
) -> Iterator[Running]:
    """The server on `--port 0`, at the port its log line names, healthy; stopped on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tavus_mcp", "--transport", "http", "--host", host, "--port", "0", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_open_files(open_files) if open_files else None,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (found := SERVING.search(log_path.read_text())):
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.05)
            server = Running(process, found["host"], int(found["port"]), log_path)
            while True:
                with suppress(httpx2.TransportError):
                    if httpx2.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.05)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


@asynccontextmanager
async def mcp_client(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


# Starting: the port it got, a port in use


def test_port_zero_logs_the_port_it_got(sandbox: Sandbox, tmp_path: Path) -> None:
    with http_server(tmp_path / "server.log", server_env(sandbox), "--sandbox") as server:
        assert server.port != 0
        assert httpx2.get(f"{server.base}/healthz", timeout=5).json()["status"] == "ok"


def test_a_port_in_use_is_one_line_and_exit_status_3(sandbox: Sandbox) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tavus_mcp", "--transport", "http", "--port", str(port)],
            env=server_env(sandbox),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert done.returncode == EXIT_CANNOT_LISTEN == 3
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.endswith(
        f'level=error logger=tavus_mcp.http msg="cannot listen on 127.0.0.1:{port}: port {port} is already in use by '
        'another program. Stop that program, or choose another port with --port or TAVUS_MCP_PORT"'
    )


# Host headers


def test_any_loopback_address_serves_requests_addressed_to_it(sandbox: Sandbox, tmp_path: Path) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    with http_server(tmp_path / "server.log", server_env(sandbox), host="127.0.0.2") as server:

        def post(host_header: str) -> int:
            headers = {"host": host_header, "accept": "application/json, text/event-stream"}
            return httpx2.post(f"{server.base}/mcp", json=initialize, headers=headers, timeout=10).status_code

        statuses = {
            host: post(host)
            for host in (
                f"127.0.0.2:{server.port}",
                "127.0.0.2",
                f"LOCALHOST:{server.port}",
                f"LocalHost:{server.port}",
                f"evil.example:{server.port}",
            )
        }

    assert server.host == "127.0.0.2"
    assert statuses == {
        f"127.0.0.2:{server.port}": 200,
        "127.0.0.2": 200,
        f"LOCALHOST:{server.port}": 200,
        f"LocalHost:{server.port}": 200,
        f"evil.example:{server.port}": 421,
    }


# Requests that never end, headers that never stop, connections that never leave


def test_a_huge_header_is_refused_and_memory_stays_bounded(sandbox: Sandbox, tmp_path: Path) -> None:
    with http_server(tmp_path / "server.log", server_env(sandbox)) as server:
        before = server.rss_kib()
        header = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
        answers = [raw_exchange(server.host, server.port, header) for _ in range(20)]
        after = server.rss_kib()
        healthy = httpx2.get(f"{server.base}/healthz", timeout=10).status_code

    assert {status_of(answer) for answer in answers} == {"HTTP/1.1 431 Request Header Fields Too Large"}
    assert healthy == 200
    print(f"RSS before 20 requests with a 1 MiB header: {before} KiB, after: {after} KiB")
    assert after - before < 20 * 1024, (before, after)  # 20 MiB of headers were sent: far less was kept


def test_a_request_that_never_completes_is_answered_408_and_closed(sandbox: Sandbox, tmp_path: Path) -> None:
    env = server_env(sandbox, TAVUS_MCP_REQUEST_TIMEOUT="1")
    with http_server(tmp_path / "server.log", env) as server:
        half_headers = raw_exchange(server.host, server.port, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # A body cut short, in both protocol eras: the SDK and uvicorn would log each as an error with a traceback.
        half_bodies = [
            raw_exchange(
                server.host,
                server.port,
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Accept: application/json, text/event-stream\r\n" + era + b'Content-Length: 100\r\n\r\n{"jsonrpc"',
            )
            for era in (b"", b"MCP-Protocol-Version: 2026-07-28\r\n")
        ]
        silent = raw_exchange(server.host, server.port, b"")
        # A trickle: one byte every 0.3 s never completes the headers, and never postpones the deadline.
        with socket.create_connection((server.host, server.port), timeout=20) as sock:
            started = time.monotonic()
            trickled = b""
            with suppress(OSError):
                for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.3)
                    if time.monotonic() - started > 15:
                        break
            with suppress(OSError):
                trickled = sock.recv(65536)
        healthy = httpx2.get(f"{server.base}/healthz", timeout=10).status_code
        log = server.log()

    assert status_of(half_headers) == "HTTP/1.1 408 Request Timeout"
    assert [status_of(answer) for answer in half_bodies] == ["HTTP/1.1 408 Request Timeout"] * 2
    assert silent == b""  # nothing asked, nothing answered: just closed
    assert status_of(trickled) == "HTTP/1.1 408 Request Timeout"
    assert healthy == 200
    assert "Traceback" not in log and "level=error" not in log, log


def test_a_flood_of_half_sent_requests_does_not_stop_a_legitimate_call(sandbox: Sandbox, tmp_path: Path) -> None:
    # 512 open files: 100 kept for Tavus, 128 for a burst of accepts, 64 in reserve, so the server serves at most 220
    # clients at once; 300 strangers that never finish their headers would exhaust its descriptors without the cap.
    open_files = 512
    cap = open_files - 100 - LISTEN_BACKLOG - FILE_DESCRIPTOR_RESERVE
    with http_server(tmp_path / "server.log", server_env(sandbox), open_files=open_files) as server:
        flood: list[socket.socket] = []
        try:
            for _ in range(300):
                sock = socket.create_connection((server.host, server.port), timeout=10)
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
                flood.append(sock)
            time.sleep(0.5)  # the server accepts them all (closing the oldest past the cap)

            async def legitimate_calls() -> list[tuple[str, float]]:
                answers = []
                with anyio.fail_after(TEST_TIMEOUT):
                    for _ in range(3):  # each a new client: connect, initialize, call
                        started = time.perf_counter()
                        async with mcp_client(f"{server.base}/mcp") as client:
                            result = await client.call_tool("list_replicas", {"limit": 1})
                        answers.append((text_of(result), time.perf_counter() - started))
                return answers

            answers = anyio.run(legitimate_calls)
            closed_by_the_server = sum(1 for sock in flood if _closed(sock))
        finally:
            for sock in flood:
                sock.close()
        log = server.log()

    latencies = ", ".join(f"{latency * 1000:.0f}" for _, latency in answers)
    print(f"legitimate calls (connect, initialize, list_replicas) during a flood of 300: {latencies} ms")
    print(f"flood sockets the server closed to stay under its cap of {cap}: {closed_by_the_server}; log {len(log)} B")
    for text, _ in answers:
        assert text.startswith("4 replicas in all; page 1 of 4 shows 1:"), text
    assert closed_by_the_server >= 300 - cap
    assert "out of system resource" not in log and "Traceback" not in log
    assert "shorter than TAVUS_TIMEOUT" not in log  # the defaults (30 s and 30 s) need no warning
    assert len(log) < 20_000, log[-5000:]


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


# Stopping while a create waits for Tavus


def test_a_shutdown_shorter_than_the_tavus_timeout_warns_and_answers_cut_off_creates(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = server_env(sandbox, TAVUS_TIMEOUT="20", TAVUS_MCP_SHUTDOWN_TIMEOUT="2")
    # Tavus creates the conversation, then takes 15 s to say so: longer than the server may wait while stopping.
    sandbox.faults.append(Fault(status=200, delay=15, after_handling=True, method="POST", path=CREATE_PATH))
    with http_server(tmp_path / "server.log", env) as server:

        async def create_then_stop() -> tuple[str, float]:
            with anyio.fail_after(TEST_TIMEOUT):
                async with mcp_client(f"{server.base}/mcp") as client, anyio.create_task_group() as group:

                    async def stop_once_tavus_has_it() -> None:
                        while not sandbox.creates():  # noqa: ASYNC110 - the emulator runs in another thread
                            await anyio.sleep(0.02)
                        server.process.send_signal(signal.SIGTERM)

                    group.start_soon(stop_once_tavus_has_it)
                    started = time.perf_counter()
                    result = await client.call_tool("create_conversation", {"replica_id": R})
                    took = time.perf_counter() - started
            return text_of(result), took

        text, took = anyio.run(create_then_stop)
        status = server.process.wait(timeout=30)
        log = server.log()

    print(f"a create cut off by a 2 s shutdown answered after {took:.2f} s")
    assert text == (
        "The connection to Tavus broke before it answered (this server is stopping, and Tavus had not answered "
        "POST /v2/conversations before it had to). The conversation may have been created anyway. Before trying "
        "again, check whether it exists with list_conversations (status: 'active'), so as not to start and pay for "
        "a second one."
    )
    assert status == 0
    assert len(sandbox.creates()) == 1
    assert (
        'level=warning logger=tavus_mcp.http msg="TAVUS_MCP_SHUTDOWN_TIMEOUT (2 s) is shorter than TAVUS_TIMEOUT '
        "(20 s): a call still waiting for Tavus when the server stops is cut off before Tavus's time is up, and told "
        "that its conversation may have been created anyway. Set TAVUS_MCP_SHUTDOWN_TIMEOUT above TAVUS_TIMEOUT "
        '(such as 25) to let calls finish"'
    ) in log
    assert "Cancel 1 running task(s)" not in log  # answered before uvicorn had to cancel anything


# nginx in front, as docs/security.md sets it up


def nginx_blocks() -> tuple[str, str]:
    """The http-level and server-level nginx settings from docs/security.md, as the operator copies them."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", text, re.DOTALL)
    http_block = next(block for block in blocks if block.startswith("# tavus-mcp: http"))
    server_block = next(block for block in blocks if block.startswith("# tavus-mcp: server"))
    return http_block, server_block


@contextmanager
def nginx_in_front(server: Running, tmp_path: Path) -> Iterator[int]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        if os.environ.get("TAVUS_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is not installed and TAVUS_REQUIRE_NGINX=1")
        pytest.skip("nginx is not installed (apt-get install nginx); TAVUS_REQUIRE_NGINX=1 makes this a failure")
    http_block, server_block = nginx_blocks()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    http_block = http_block.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    config = f"""
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http_block}
    server {{
        listen 127.0.0.1:{port};
        server_name mcp.example.test;
{server_block}
    }}
}}
"""
    (prefix / "nginx.conf").write_text(config)
    check = subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with suppress(httpx2.TransportError):
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, (prefix / "error.log").read_text()
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_behind_nginx_strangers_cannot_knock_the_server_over(sandbox: Sandbox, tmp_path: Path) -> None:
    token = "edge-test-token-5b8e1d4a7c2f9e36"
    env = server_env(sandbox, TAVUS_MCP_AUTH_TOKENS=token, TAVUS_MCP_ALLOWED_HOSTS="mcp.example.test")
    with http_server(tmp_path / "server.log", env) as server, nginx_in_front(server, tmp_path) as port:
        front = f"http://127.0.0.1:{port}"
        headers = {"authorization": f"Bearer {token}", "host": "mcp.example.test"}
        flood: list[socket.socket] = []
        try:
            for _ in range(300):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: mcp.example.test\r\n")
                flood.append(sock)

            async def legitimate_call() -> tuple[str, float]:
                with anyio.fail_after(TEST_TIMEOUT):
                    started = time.perf_counter()
                    async with mcp_client(f"{front}/mcp", headers=headers) as client:
                        result = await client.call_tool("list_replicas", {"limit": 1})
                    return text_of(result), time.perf_counter() - started

            text, latency = anyio.run(legitimate_call)
            # client_header_timeout: nginx closes every stranger that never finished its headers.
            started = time.monotonic()
            for sock in flood:
                sock.settimeout(max(0.1, 30 - (time.monotonic() - started)))
                with suppress(OSError):
                    while sock.recv(4096):
                        pass
            closed_after = time.monotonic() - started
        finally:
            for sock in flood:
                sock.close()
        oversized_body = httpx2.post(
            f"{front}/mcp", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=headers, timeout=30
        )
        huge_header = raw_exchange(
            "127.0.0.1",
            port,
            b"GET /healthz HTTP/1.1\r\nHost: mcp.example.test\r\nX-Padding: " + b"a" * 65536 + b"\r\n\r\n",
        )
        elsewhere = httpx2.get(f"{front}/metrics", headers=headers, timeout=10)
        log = server.log()

    print(f"behind nginx, a legitimate call during a flood of 300 half-sent requests: {latency * 1000:.0f} ms")
    print(f"nginx closed all 300 within {closed_after:.1f} s")
    assert text.startswith("4 replicas in all; page 1 of 4 shows 1:"), text
    assert closed_after < 30
    assert oversized_body.status_code == 413
    assert status_of(huge_header) == "HTTP/1.1 400 Bad Request"
    assert elsewhere.status_code == 404
    assert "Traceback" not in log
