"""Past one process: real uvicorn and gunicorn workers serving `tavus_mcp.http:create_app`, and Debian's nginx in
front of two replicas, all on loopback against the emulator, as `docs/deployment.md` tells how to run them.

The nginx configuration is the one in `docs/deployment.md`, with only its addresses, port and certificate paths
replaced: the document is what is tested.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult

from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.tools.wait import STOPPING_TEXT
from tests.conftest import CREATE_PATH, TOOL_NAMES, Sandbox, text_of
from tests.servers import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    Mode,
    ServerProcess,
    connect,
    free_port,
    ok,
    post,
    running_server,
    stop,
)
from tests.test_http import PROTOCOL, REPLICA, TEST_TIMEOUT, TOKEN, leaves
from tests.test_wait import Progress
from tests.upstream import Fault

# Real engines (uvicorn and gunicorn workers, nginx) started and stopped: `slow`, run by .ci/run.
pytestmark = [pytest.mark.http, pytest.mark.slow]

BIN = Path(sys.executable).parent  # the virtual environment's scripts: uvicorn, gunicorn, mcp-server-tavus
DEPLOYMENT = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
NGINX = Path("/usr/sbin/nginx")
OPENSSL = shutil.which("openssl")
PUBLIC_HOST = "mcp.example.com"  # the name clients use, as in docs/deployment.md
OTHER_KEY = "sandbox-key-of-replica-b"  # lets the emulator tell which replica a request came from
PROXY_PASSWORD = "proxy-pass-5e1f"  # a made-up proxy password, never to be printed


def env_for(sandbox: Sandbox, home: Path, *, tokens: tuple[str, ...] = (TOKEN,), **extra: str) -> dict[str, str]:
    """A hand-picked environment: nothing TAVUS_* (or a proxy) leaks in from the test runner; HOME is the test's
    own, for what an engine writes there (gunicorn's control socket)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": sandbox.base_url,
        "TAVUS_LOG_LEVEL": "INFO",
        **extra,
    }
    if tokens:
        env["TAVUS_MCP_AUTH_TOKENS"] = ",".join(tokens)
    return env


# Engines: uvicorn's and gunicorn's own workers


def engine_command(engine: str, port: int, workers: int = 2) -> list[str]:
    """The commands of docs/deployment.md, on loopback."""
    if engine == "uvicorn":
        return [
            str(BIN / "uvicorn"),
            "--factory",
            "tavus_mcp.http:create_app",
            *(["--workers", str(workers)] if workers > 1 else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    return [
        str(BIN / "gunicorn"),
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "tavus_mcp.http:create_app()",
    ]


def run_to_end(command: list[str], env: dict[str, str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("engine", "workers", "exit_status", "newcomer_sees"),
    [
        ("uvicorn", 2, 0, httpx2.ReadError),
        ("gunicorn", 2, 0, httpx2.ConnectError),
        # One process re-raises the signal once it has stopped gracefully: it ends "killed by SIGTERM".
        ("uvicorn", 1, -signal.SIGTERM, httpx2.ConnectError),
    ],
    ids=["uvicorn-workers", "gunicorn-workers", "uvicorn-one-process"],
)
async def test_an_engine_serves_both_eras_and_sigterm_lets_every_call_in_flight_finish(
    sandbox: Sandbox,
    tmp_path: Path,
    engine: str,
    workers: int,
    exit_status: int,
    newcomer_sees: type[httpx2.TransportError],
) -> None:
    port = free_port()
    env = env_for(sandbox, tmp_path)
    outcomes: dict[str, CallToolResult] = {}
    command = engine_command(engine, port, workers)
    with (
        anyio.fail_after(TEST_TIMEOUT),
        running_server(tmp_path / "log", env, port=port, command=command, new_session=True) as server,
    ):
        created: list[str] = []
        for mode in ("legacy", "auto"):
            async with connect(server.url, token=TOKEN, mode=mode) as client:
                assert client.protocol_version == PROTOCOL[mode]
                assert [tool.name for tool in (await client.list_tools()).tools] == TOOL_NAMES
                for _ in range(3):
                    made = await ok(client, "create_conversation", {"replica_id": REPLICA, "test_mode": True})
                    created.append(made["conversation_id"])
        end_paths = [f"{CREATE_PATH}/{conversation_id}/end" for conversation_id in created]
        # Tavus ends each conversation, then takes 3 s to answer: every call is in flight when SIGTERM comes.
        sandbox.faults.extend(Fault(status=200, delay=3, after_handling=True, path=path) for path in end_paths)

        async def end(conversation_id: str, mode: Mode) -> None:
            # A client (and a connection) of its own each: the calls spread over the workers.
            async with connect(server.url, token=TOKEN, mode=mode) as client:
                # The SDK's client lists the tools to check a result against its schema: before, as clients do.
                await client.list_tools()
                outcomes[conversation_id] = await client.call_tool(
                    "end_conversation", {"conversation_id": conversation_id}
                )

        newcomer: list[Exception] = []

        async def arrive_during_the_drain() -> None:
            # Once every worker has begun its graceful stop (uvicorn's parent passes the signal on within 0.5 s).
            while server.log().count("Shutting down") < workers:  # noqa: ASYNC110 - another process writes it
                await anyio.sleep(0.05)
            try:
                async with httpx2.AsyncClient(timeout=10.0) as fresh:
                    await fresh.get(f"{server.base}/healthz")
            except httpx2.TransportError as error:
                newcomer.append(error)

        async with anyio.create_task_group() as group:
            for number, conversation_id in enumerate(created):
                group.start_soon(end, conversation_id, "legacy" if number % 2 else "auto")
            while not all(sandbox.requests_to("POST", path) for path in end_paths):  # noqa: ASYNC110 - other thread
                await anyio.sleep(0.01)
            server.process.send_signal(signal.SIGTERM)
            group.start_soon(arrive_during_the_drain)

        returncode = await anyio.to_thread.run_sync(lambda: server.process.wait(timeout=STOP_TIMEOUT))

    log = server.log()
    # Every call in flight was answered, and answered well, before the engine exited.
    assert sorted(outcomes) == sorted(created), log
    for conversation_id, result in outcomes.items():
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        assert result.structured_content["conversation_id"] == conversation_id
        assert sandbox.emulator.conversations[conversation_id]["status"] == "ended"
    assert returncode == exit_status, log
    assert "level=error" not in log
    assert sandbox.abandoned == []
    # A request that arrives during the drain is not served. gunicorn, and uvicorn as one process, stop listening at
    # once: refused. uvicorn's parent process keeps the listening socket open until it exits: the connection is
    # accepted by the kernel, waits, and is reset at the end.
    [error] = newcomer
    assert isinstance(error, newcomer_sees), repr(error)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("engine", "workers", "exit_status"),
    [("uvicorn", 2, 0), ("gunicorn", 2, 0), ("uvicorn", 1, -signal.SIGTERM)],
    ids=["uvicorn-workers", "gunicorn-workers", "uvicorn-one-process"],
)
async def test_an_engine_ends_a_streamed_wait_cut_by_its_graceful_stop_with_an_answer(
    sandbox: Sandbox, tmp_path: Path, engine: str, workers: int, exit_status: int
) -> None:
    env = env_for(sandbox, tmp_path, TAVUS_MCP_SHUTDOWN_TIMEOUT="3", TAVUS_MCP_KEEPALIVE="1", TAVUS_POLL_INTERVAL="0.3")
    port = free_port()
    results: dict[str, CallToolResult] = {}
    modes: tuple[Mode, ...] = ("legacy", "auto")
    heard = {mode: Progress() for mode in modes}
    with (
        anyio.fail_after(TEST_TIMEOUT),
        running_server(
            tmp_path / "log", env, port=port, command=engine_command(engine, port, workers), new_session=True
        ) as server,
    ):
        async with connect(server.url, token=TOKEN) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA})  # stays active: waits wait

        async def wait(mode: Mode) -> None:
            async with connect(server.url, token=TOKEN, mode=mode) as client:
                arguments = {"conversation_id": created["conversation_id"], "max_wait_seconds": 60}
                results[mode] = await client.call_tool(
                    "wait_for_conversation", arguments, progress_callback=heard[mode]
                )

        async with anyio.create_task_group() as group:
            for mode in modes:
                group.start_soon(wait, mode)
            while not all(progress.seen for progress in heard.values()):  # noqa: ASYNC110 - the clients' tasks
                await anyio.sleep(0.02)
            server.process.send_signal(signal.SIGTERM)
        returncode = await anyio.to_thread.run_sync(lambda: server.process.wait(timeout=STOP_TIMEOUT))

    log = server.log()
    # Each stream ended with the call's answer, not cut off: the wait says why it ended and what to do.
    assert sorted(results) == ["auto", "legacy"], log
    for result in results.values():
        assert result.is_error
        assert text_of(result) == STOPPING_TEXT
    assert returncode == exit_status, log
    assert "level=error" not in log


def test_without_tokens_an_engine_answers_only_this_machine(sandbox: Sandbox, tmp_path: Path) -> None:
    # The factory cannot see what the engine was told to bind, so it checks each client's address. A reverse proxy
    # on this machine names a remote client in X-Forwarded-For, which uvicorn trusts from 127.0.0.1 by default.
    port = free_port()
    command = engine_command("uvicorn", port, workers=1)
    env = env_for(sandbox, tmp_path, tokens=())
    with running_server(tmp_path / "log", env, port=port, command=command, new_session=True) as server:
        local = post(server.url)
        remote = post(server.url, headers={"x-forwarded-for": "203.0.113.7"})

    assert local.status_code == 200
    assert (remote.status_code, remote.text) == (
        403,
        "This server has no TAVUS_MCP_AUTH_TOKENS and answers only this machine.",
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"TAVUS_MCP_HOST": "0.0.0.0"},  # noqa: S104 - refused before anything is bound
            "mcp-server-tavus: refusing to listen on 0.0.0.0 without authentication",
        ),
        ({"TAVUS_TIMEOUT": "abc"}, "mcp-server-tavus: TAVUS_TIMEOUT must be a number of seconds above 0"),
    ],
    ids=["host-without-token", "timeout"],
)
def test_a_bad_setting_stops_uvicorn_with_the_setting_named(
    sandbox: Sandbox, tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    env = env_for(sandbox, tmp_path, tokens=(), **variables)

    completed = run_to_end(engine_command("uvicorn", free_port(), workers=1), env)

    assert completed.returncode == 3, completed.stderr
    assert message in completed.stderr
    assert "Application startup complete" not in completed.stderr


@pytest.mark.parametrize("engine", ["uvicorn", "gunicorn"])
def test_a_bad_setting_stops_every_worker_instead_of_restarting_them(
    sandbox: Sandbox, tmp_path: Path, engine: str
) -> None:
    # A worker that exited with any other status would be replaced, fail the same way, and so on forever.
    env = env_for(sandbox, tmp_path, TAVUS_TIMEOUT="abc")

    completed = run_to_end(engine_command(engine, free_port()), env)

    output = completed.stdout + completed.stderr
    # Each worker said why (the second may be stopped before it could); no replacement was started.
    assert 1 <= output.count("mcp-server-tavus: TAVUS_TIMEOUT must be a number of seconds above 0") <= 2, output
    if engine == "uvicorn":
        assert "failed to start, stopping the parent process" in output
        # uvicorn's parent process exits 0 even then (only a single process exits 3).
        assert completed.returncode == 0, output
    else:
        assert "Reason: Worker failed to boot." in output or "HaltServer" in output
        assert completed.returncode != 0, output


@pytest.mark.parametrize(
    "command",
    [["--transport", "http"], ["check"], "uvicorn"],
    ids=["http", "check", "uvicorn-create-app"],
)
def test_a_proxy_httpx2_cannot_use_stops_the_server_without_printing_its_password(
    sandbox: Sandbox, tmp_path: Path, command: list[str] | str
) -> None:
    env = env_for(sandbox, tmp_path, HTTPS_PROXY=f"ftp://tavus:{PROXY_PASSWORD}@proxy.example.test:1")
    argv = (
        engine_command("uvicorn", free_port(), workers=1)
        if command == "uvicorn"
        else [str(BIN / "mcp-server-tavus"), *command, *(["--port", str(free_port())] if "http" in command else [])]
    )

    completed = run_to_end(argv, env)

    assert completed.returncode == (3 if command == "uvicorn" else 2), completed.stderr
    assert (
        "mcp-server-tavus: HTTPS_PROXY names a proxy that is not usable (scheme 'ftp'); use http://HOST:PORT or "
        "https://HOST:PORT, or unset HTTPS_PROXY"
    ) in completed.stderr
    assert PROXY_PASSWORD not in completed.stdout + completed.stderr
    assert sandbox.emulator.received == []


# Several machines: nginx in front of replicas


needs_nginx = pytest.mark.skipif(
    not (NGINX.exists() and OPENSSL) and os.environ.get("TAVUS_REQUIRE_NGINX") != "1",
    reason="needs Debian's nginx and openssl (apt-get install nginx openssl); TAVUS_REQUIRE_NGINX=1 fails instead",
)


def documented_nginx_config() -> str:
    """The ```nginx block of docs/deployment.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOYMENT.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "docs/deployment.md must hold exactly one nginx block"
    return str(blocks[0])


def filled_in(config: str, replacements: dict[str, str]) -> str:
    for placeholder, value in replacements.items():
        assert config.count(placeholder) == 1, f"docs/deployment.md's nginx block has no single {placeholder!r}"
        config = config.replace(placeholder, value)
    return config


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    port: int
    prefix: Path
    trust: ssl.SSLContext

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/mcp"

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(encoding="utf-8", errors="replace")


@contextmanager
def nginx_in_front_of(replicas: list[int], prefix: Path, *, read_timeout: str = "60s") -> Iterator[Nginx]:
    """Debian's nginx, as a user would run it, with the documented configuration: TLS on a free loopback port,
    a certificate of its own for 127.0.0.1 and mcp.example.com, the replicas at the given loopback ports.

    Everything it writes stays under `prefix`: its pid file, logs and temporary files.
    """
    prefix.mkdir()
    certificate, key = prefix / "cert.pem", prefix / "key.pem"
    assert OPENSSL is not None, "openssl is needed to make nginx's certificate (apt-get install openssl)"
    subprocess.run(
        [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={PUBLIC_HOST}",
            "-addext",
            f"subjectAltName=DNS:{PUBLIC_HOST},IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    port = free_port()
    site = filled_in(
        documented_nginx_config(),
        {
            "10.0.0.11:8000": f"127.0.0.1:{replicas[0]}",
            "10.0.0.12:8000": f"127.0.0.1:{replicas[1]}",
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            "/etc/ssl/certs/mcp.example.com.pem": str(certificate),
            "/etc/ssl/private/mcp.example.com.key": str(key),
            "proxy_read_timeout 60s;": f"proxy_read_timeout {read_timeout};",
        },
    )
    # Debian's build keeps its temporary files under /var/lib/nginx: here, under the prefix. As root, nginx's
    # workers would otherwise run as nobody, who cannot enter pytest's temporary directory.
    (prefix / "nginx.conf").write_text(
        f"{'user root;' if os.geteuid() == 0 else ''}\n"
        "worker_processes 1;\n"
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {prefix}/access.log;\n"
        + "".join(
            f"    {kind}_temp_path {prefix}/{kind}_temp;\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + site
        + "}\n"
    )
    process = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", "nginx.conf", "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    trust = ssl.create_default_context(cafile=str(certificate))
    try:
        nginx = Nginx(process, port, prefix, trust)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"nginx exited with {process.returncode}:\n{nginx.error_log()}")
            try:
                httpx2.get(f"https://127.0.0.1:{port}/healthz", verify=trust, timeout=1.0)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nginx did not listen within {START_TIMEOUT} s") from None
                time.sleep(0.05)
        yield nginx
    finally:
        stop(process)  # SIGTERM is nginx's fast shutdown


@contextmanager
def two_replicas_behind_nginx(
    sandbox: Sandbox, tmp_path: Path, *, read_timeout: str = "60s", **extra: str
) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    """Two `python -m tavus_mcp --transport http` replicas sharing one emulator, nginx in front (its read timeout
    replaced by `read_timeout`). They use different keys, both accepted, so that the emulator can tell which
    replica each request came from."""
    sandbox.emulator.api_keys = (SANDBOX_API_KEY, OTHER_KEY)
    ports = [free_port(), free_port()]
    with (
        running_server(
            tmp_path / "a.log",
            {**env_for(sandbox, tmp_path, TAVUS_MCP_ALLOWED_HOSTS=PUBLIC_HOST), **extra},
            port=ports[0],
            new_session=True,
        ) as first,
        running_server(
            tmp_path / "b.log",
            {**env_for(sandbox, tmp_path, TAVUS_MCP_ALLOWED_HOSTS=PUBLIC_HOST), **extra, "TAVUS_API_KEY": OTHER_KEY},
            port=ports[1],
            new_session=True,
        ) as second,
        nginx_in_front_of(ports, tmp_path / "nginx", read_timeout=read_timeout) as nginx,
    ):
        yield nginx, [first, second]


def replica_of(sandbox: Sandbox, key: str | None) -> int:
    """Which replica (0 or 1) sent Tavus a request, by the key it carried."""
    assert key in (SANDBOX_API_KEY, OTHER_KEY)
    return 0 if key == SANDBOX_API_KEY else 1


@needs_nginx
@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_nginx_serves_calls_from_the_replicas_and_skips_a_dead_one(
    sandbox: Sandbox, tmp_path: Path, mode: Mode
) -> None:
    public = {"host": PUBLIC_HOST}  # what a client of https://mcp.example.com/mcp sends
    with anyio.fail_after(TEST_TIMEOUT), two_replicas_behind_nginx(sandbox, tmp_path) as (nginx, replicas):
        async with connect(nginx.url, token=TOKEN, mode=mode, headers=public, verify=nginx.trust) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA, "conversation_name": "Pitch"})
            conversation_id = created["conversation_id"]
            [create] = sandbox.requests_to("POST", CREATE_PATH)
            served = replica_of(sandbox, create.api_key)
            # The other replica knows it too (the state is Tavus's).
            async with connect(replicas[1 - served].url, token=TOKEN, mode=mode) as direct:
                read_directly = await ok(direct, "get_conversation", {"conversation_id": conversation_id})
            read_through_nginx = await ok(client, "get_conversation", {"conversation_id": conversation_id})

        # The replica that served the create dies without a word; nginx's next connection to it is refused, and
        # the call goes to the other, the create too (nothing had been sent). (A 2025-11-25 client's session died
        # with it: a client opens a new one, as after any 404 for its session.)
        replicas[served].process.kill()
        replicas[served].process.wait(timeout=STOP_TIMEOUT)
        names = [f"After the crash {number}" for number in range(6)]
        async with connect(nginx.url, token=TOKEN, mode=mode, headers=public, verify=nginx.trust) as client:
            for name in names:
                arguments = {"replica_id": REPLICA, "conversation_name": name, "test_mode": True}
                made = await ok(client, "create_conversation", arguments)
                got = await ok(client, "get_conversation", {"conversation_id": made["conversation_id"]})
                assert got["conversation_name"] == name

    assert read_directly["conversation_id"] == read_through_nginx["conversation_id"] == conversation_id
    assert read_directly["status"] == read_through_nginx["status"] == "active"
    # Each create reached Tavus once, all after the crash from the replica left.
    creates = sandbox.requests_to("POST", CREATE_PATH)
    assert [request.body["conversation_name"] for request in creates] == ["Pitch", *names]
    assert {replica_of(sandbox, request.api_key) for request in creates[1:]} == {1 - served}
    assert "connect() failed (111: Connection refused) while connecting to upstream" in nginx.error_log()


@needs_nginx
@pytest.mark.anyio
async def test_nginx_never_sends_a_create_again_once_a_replica_received_it(sandbox: Sandbox, tmp_path: Path) -> None:
    public = {"host": PUBLIC_HOST}
    with anyio.fail_after(TEST_TIMEOUT), two_replicas_behind_nginx(sandbox, tmp_path) as (nginx, replicas):
        # Tavus creates the conversation and then takes its time to answer: the replica dies meanwhile.
        sandbox.faults.append(Fault(status=200, delay=20, after_handling=True, method="POST", path=CREATE_PATH))
        failures: list[BaseException] = []

        async def create() -> None:
            try:
                async with connect(nginx.url, token=TOKEN, headers=public, verify=nginx.trust) as client:
                    await client.call_tool("create_conversation", {"replica_id": REPLICA})
            except BaseException as error:  # the SDK raises the 502 inside exception groups
                failures.append(error)

        async with anyio.create_task_group() as group:
            group.start_soon(create)
            while not sandbox.requests_to("POST", CREATE_PATH):  # noqa: ASYNC110 - recorded on the emulator's thread
                await anyio.sleep(0.01)
            [sent] = sandbox.requests_to("POST", CREATE_PATH)
            receiving = replicas[replica_of(sandbox, sent.api_key)]
            receiving.process.kill()
            receiving.process.wait(timeout=STOP_TIMEOUT)

        # The replica left still serves.
        async with connect(nginx.url, token=TOKEN, headers=public, verify=nginx.trust) as client:
            listed = await ok(client, "list_conversations", {})

    # The create was not sent again to the other replica (Tavus made one conversation, which the model can find
    # with list_conversations), and the client was told the call failed (nginx's 502).
    assert len(sandbox.requests_to("POST", CREATE_PATH)) == 1, "nginx sent the create to a second replica"
    [failure] = failures
    assert any(
        isinstance(leaf, MCPError) and leaf.error.message == "Server returned an error response"
        for leaf in leaves(failure)
    ), repr(failure)
    assert [conversation["conversation_id"] for conversation in listed["conversations"]] == list(
        sandbox.emulator.conversations
    )
    assert "upstream prematurely closed connection while reading response header from upstream" in (nginx.error_log())


@needs_nginx
@pytest.mark.anyio
async def test_through_nginx_a_2025_client_is_asked_before_a_billed_call(sandbox: Sandbox, tmp_path: Path) -> None:
    # Its session holds the channel for the question: every request of it reaches the replica that opened it.
    public = {"host": PUBLIC_HOST}
    asked: list[str] = []

    async def user(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    with anyio.fail_after(TEST_TIMEOUT), two_replicas_behind_nginx(sandbox, tmp_path) as (nginx, _):
        for _ in range(3):  # a new session each time, which nginx keeps where it was opened
            async with connect(
                nginx.url, token=TOKEN, mode="legacy", headers=public, verify=nginx.trust, elicitation_callback=user
            ) as client:
                assert client.protocol_version == "2025-11-25"
                result = await client.call_tool("create_conversation", {"replica_id": REPLICA})
                assert result.is_error
                assert "the user declined, so nothing was sent to Tavus" in text_of(result)

    assert [question.split("?")[0] for question in asked] == [
        f"Start a billed Tavus video call with replica {REPLICA}"
    ] * 3
    assert sandbox.requests_to("POST", CREATE_PATH) == []
    assert "Session not found" not in nginx.error_log()


@needs_nginx
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "asks_progress"),
    [("legacy", False), ("auto", True), ("auto", False)],
    ids=["2025-11-25", "2026-07-28-progress", "2026-07-28-silent"],
)
async def test_a_long_wait_streams_through_a_proxy_with_a_short_read_timeout(
    sandbox: Sandbox, tmp_path: Path, mode: Mode, asks_progress: bool
) -> None:
    # Scaled down: nginx allows 3 s of silence (the 12 s proxy), the replicas send a sign of life every 2 s
    # (TAVUS_MCP_KEEPALIVE, 10 s by default), and the wait lasts 8 s, well past the read timeout.
    public = {"host": PUBLIC_HOST}
    progress = Progress()
    with (
        anyio.fail_after(TEST_TIMEOUT),
        two_replicas_behind_nginx(
            sandbox, tmp_path, read_timeout="3s", TAVUS_MCP_KEEPALIVE="2", TAVUS_POLL_INTERVAL="0.5"
        ) as (nginx, _),
    ):
        async with connect(nginx.url, token=TOKEN, mode=mode, headers=public, verify=nginx.trust) as client:
            created = await ok(client, "create_conversation", {"replica_id": REPLICA})
            arguments = {"conversation_id": created["conversation_id"], "max_wait_seconds": 8}
            # Kept alive by SSE comments every keepalive, in either era (for 2026-07-28, from the keepalive on,
            # where the SDK's own would begin at 15 s), and by the wait's progress heartbeat when asked for.
            result = await client.call_tool(
                "wait_for_conversation", arguments, progress_callback=progress if asks_progress else None
            )

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["call_state"] == "waiting"
    assert result.structured_content["waited_seconds"] >= 8
    assert "upstream timed out" not in nginx.error_log()
    assert (len(progress.seen) >= 2) is asks_progress
