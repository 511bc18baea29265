"""Benchmark of mcp-server-tavus against bench/minimal_server.py, a bare MCPServer on the same SDK whose one tool
does the same POST through one httpx2 client, both measured in the same run, each in front of its own Tavus
emulator on loopback (tests/upstream.py's `serve_on_loopback`, behind `Ports`), each logging to a file.

    .venv/bin/python bench/run.py           # full run, about two minutes; writes bench/results.md
    .venv/bin/python bench/run.py --quick   # a smoke run with tiny counts; prints the table only

- start-up: from spawning each server over stdio (`mcp-server-tavus`, the console script MCP clients run) to its
  `tools/list` answer, handshake included; median of 15 spawns each, alternating, after one uncounted each;
- per call over stdio: median time of 500 sequential `create_conversation` calls each, after 100 warm-up calls,
  the two servers taking turns in blocks of 10;
- over Streamable HTTP (no token, loopback): after 100 warm-up calls each, 10,000 sequential calls each from the
  SDK's client (2026-07-28: sessionless requests, each answered with one JSON body as it sends nothing before its
  result), taking turns in blocks of 100: the server process's CPU time per call (utime + stime in
  /proc/PID/stat), its RSS growth (VmRSS after the warm-up and after the last call), and the connections it opened
  to Tavus (distinct client ports the emulator saw) over the first 1,000 calls and all;
- the streaming path: 2,000 more sequential calls each from a 2025-11-25 client in a session, every answer an
  event stream (`text/event-stream`), taking turns in blocks of 100: the server process's CPU time per call;
- the size of the `tools/list` result as compact JSON (issue #15).

Ratios against the minimal server hold on a noisy machine where absolute times do not, so there is no wall-clock
budget. Exit status 1 when a budget is missed (or on an error).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp, Receive, Scope, Send

from tavus_mcp.sandbox import SANDBOX_API_KEY, TavusEmulator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests` is not installed; run as a script, only bench/ is on the path
from tests.upstream import serve_on_loopback  # noqa: E402

STARTUP, PER_CALL, CPU, MEMORY_MB, TOOLS_LIST_BYTES = 1.15, 1.2, 1.2, 5.0, 28_000  # budgets, from issue #12
ARGUMENTS: dict[str, Any] = {  # a realistic create, in test mode so that no conversation holds a slot
    "persona_id": "p9a95912",
    "conversation_name": "Sales practice: price objections",
    "conversational_context": "The user is a sales representative practising how to answer price objections for "
    "a B2B analytics product. Play a skeptical head of operations who thinks it costs too much; push back twice.",
    "custom_greeting": "Hi! I've seen your offer, but honestly, it looks expensive. Convince me.",
    "test_mode": True,
    "properties": {"max_call_duration": 600, "language": "English", "enable_closed_captions": True},
}


@dataclass(frozen=True)
class Plan:
    spawns: int
    warmup: int
    timed: int  # over stdio, in blocks of 10
    http_calls: int  # in blocks of reuse / 10: no connection idles long enough for the emulator to close it
    reuse: int
    streamed_calls: int  # 2025-11-25, in a session: in blocks of reuse / 10


FULL = Plan(spawns=15, warmup=100, timed=500, http_calls=10_000, reuse=1_000, streamed_calls=2_000)
QUICK = Plan(spawns=2, warmup=5, timed=20, http_calls=200, reuse=100, streamed_calls=100)


class Ports:
    """ASGI wrapper recording the client port of every request: one port per connection opened to Tavus."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: set[int] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            self.seen.add(scope["client"][1])
        await self.app(scope, receive, send)


@dataclass
class Subject:
    name: str
    stdio: list[str]
    http: list[str]  # "{port}" stands for the port to serve on
    log: TextIO
    emulator: TavusEmulator = field(default_factory=TavusEmulator)
    ports: Ports = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    startup: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = Ports(self.emulator.app)


@asynccontextmanager
async def over_stdio(subject: Subject) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=subject.stdio[0], args=subject.stdio[1:], env=subject.env)
    async with Client(stdio_client(params, errlog=subject.log), read_timeout_seconds=60) as client:
        yield client


async def create(client: Client) -> float:
    started = time.perf_counter()
    result = await client.call_tool("create_conversation", ARGUMENTS)
    if result.is_error:
        raise RuntimeError(f"create_conversation failed: {result.content}")
    return time.perf_counter() - started


async def creates(client: Client, count: int) -> list[float]:
    return [await create(client) for _ in range(count)]


@contextmanager
def over_http(subject: Subject) -> Iterator[tuple[str, int]]:
    """The subject serving Streamable HTTP on a free loopback port: its /mcp URL and its pid."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [part.replace("{port}", str(port)) for part in subject.http]
    process = subprocess.Popen(
        command, env=subject.env, stdin=subprocess.DEVNULL, stdout=subject.log, stderr=subject.log
    )
    url, deadline = f"http://127.0.0.1:{port}/mcp", time.monotonic() + 30
    try:
        while process.poll() is None and time.monotonic() < deadline:
            try:  # uvicorn listens once the app's lifespan has started
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{subject.name} did not serve HTTP at {url}")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after the command's name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text().split()
    return int(status[status.index("VmRSS:") + 1]) / 1024


async def measure(plan: Plan, subjects: list[Subject]) -> None:
    for turn in range(plan.spawns + 1):  # the first, uncounted, warms the page cache
        for subject in subjects[:: 1 if turn % 2 else -1]:
            started = time.perf_counter()
            async with over_stdio(subject) as client:
                listed = await client.list_tools()
                elapsed = time.perf_counter() - started
            if turn:
                subject.startup.append(elapsed)
            subject.figures["tools_list"] = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(over_stdio(subject)) for subject in subjects]
        for client in clients:
            await creates(client, plan.warmup)
        for block in range(plan.timed // 10):
            for subject, client in list(zip(subjects, clients, strict=True))[:: 1 if block % 2 else -1]:
                subject.calls += await creates(client, 10)
    with ExitStack() as processes:
        servers = [processes.enter_context(over_http(subject)) for subject in subjects]
        async with AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(Client(streamable_http_client(url))) for url, _ in servers]
            turns = list(zip(subjects, clients, servers, strict=True))
            for subject, client, (_, pid) in turns:
                await creates(client, plan.warmup)
                subject.ports.seen.clear()
                subject.figures |= {"cpu": 0.0, "rss_before": rss_mb(pid)}
            for block in range(plan.http_calls // (plan.reuse // 10)):
                for subject, client, (_, pid) in turns[:: 1 if block % 2 else -1]:
                    cpu = cpu_seconds(pid)
                    await creates(client, plan.reuse // 10)
                    subject.figures["cpu"] += (cpu_seconds(pid) - cpu) / plan.http_calls
                    if block == 9:  # the first `reuse` calls done
                        subject.figures["reuse"] = len(subject.ports.seen)
            for subject, (_, pid) in zip(subjects, servers, strict=True):
                subject.figures |= {"rss_after": rss_mb(pid), "connections": len(subject.ports.seen)}
            # The streaming path: a 2025-11-25 client in a session, whose every answer is an event stream.
            streaming = [
                await stack.enter_async_context(Client(streamable_http_client(url), mode="legacy"))
                for url, _ in servers
            ]
            turns = list(zip(subjects, streaming, servers, strict=True))
            for subject, client, _ in turns:
                await creates(client, plan.warmup)
                subject.figures["cpu_streamed"] = 0.0
            for block in range(plan.streamed_calls // (plan.reuse // 10)):
                for subject, client, (_, pid) in turns[:: 1 if block % 2 else -1]:
                    cpu = cpu_seconds(pid)
                    await creates(client, plan.reuse // 10)
                    subject.figures["cpu_streamed"] += (cpu_seconds(pid) - cpu) / plan.streamed_calls
    if subjects[0].emulator.schema_violations:  # what the server should have refused
        raise RuntimeError(f"requests Tavus would refuse: {subjects[0].emulator.schema_violations[:3]}")


def table(plan: Plan, ours: Subject, floor: Subject) -> tuple[str, bool]:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"

    def ratio(mine: float, theirs: float, budget: float) -> tuple[str, str, bool]:
        return f"{mine / theirs:.2f}x", f"≤ {budget:g}x", mine / theirs <= budget

    def memory(subject: Subject) -> str:
        before, after = subject.figures["rss_before"], subject.figures["rss_after"]
        return f"{after - before:+.1f} MB ({before:.1f} → {after:.1f} MB)"

    def connections(subject: Subject) -> str:
        return f"{subject.figures['reuse']:.0f} ({subject.figures['connections']:.0f} over all {plan.http_calls:,})"

    a, b = ({"startup": statistics.median(s.startup), "call": statistics.median(s.calls)} for s in (ours, floor))
    growth = ours.figures["rss_after"] - ours.figures["rss_before"]
    rows = [
        ("start-up over stdio: spawn to `tools/list` answered, median", ms(a["startup"]), ms(b["startup"]),
         *ratio(a["startup"], b["startup"], STARTUP)),
        ("per call over stdio: `create_conversation`, median", ms(a["call"]), ms(b["call"]),
         *ratio(a["call"], b["call"], PER_CALL)),
        ("CPU per call over HTTP: server process, sequential calls", ms(ours.figures["cpu"]), ms(floor.figures["cpu"]),
         *ratio(ours.figures["cpu"], floor.figures["cpu"], CPU)),
        ("CPU per call over HTTP, streamed: 2025-11-25 session, event streams", ms(ours.figures["cpu_streamed"]),
         ms(floor.figures["cpu_streamed"]), *ratio(ours.figures["cpu_streamed"], floor.figures["cpu_streamed"], CPU)),
        (f"memory over {plan.http_calls:,} calls over HTTP: RSS growth", memory(ours), memory(floor), "-",
         f"≤ +{MEMORY_MB:g} MB", growth <= MEMORY_MB),
        (f"connections to Tavus over {plan.reuse:,} sequential calls", connections(ours), connections(floor), "-",
         "1", ours.figures["reuse"] == 1),
        ("`tools/list` result as compact JSON", f"{ours.figures['tools_list']:,.0f} bytes",
         f"{floor.figures['tools_list']:,.0f} bytes (one tool)", "-", f"< {TOOLS_LIST_BYTES:,} bytes",
         ours.figures["tools_list"] < TOOLS_LIST_BYTES),
    ]  # fmt: skip
    lines = ["| Metric | mcp-server-tavus | minimal server | Ratio | Budget | Result |", "| --- " * 6 + "|"]
    lines += [f"| {' | '.join(row[:5])} | {'pass' if row[5] else '**FAIL**'} |" for row in rows]
    return "\n".join(lines), all(row[5] for row in rows)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("mcp-server-tavus", "mcp", "httpx2"))
    system = f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores; {system}; {versions}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark mcp-server-tavus against a minimal server.")
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny counts; writes no results")
    plan = QUICK if parser.parse_args().quick else FULL
    started, clock, where = datetime.now(UTC), time.perf_counter(), machine()
    loads = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    script = Path(sys.executable).with_name("mcp-server-tavus")  # the console script MCP clients run
    minimal = [sys.executable, str(ROOT / "bench" / "minimal_server.py")]
    with tempfile.TemporaryDirectory() as logs, ExitStack() as stack:
        log = {name: stack.enter_context(open(Path(logs) / f"{name}.log", "w")) for name in ("tavus", "minimal")}
        ours = Subject(
            "mcp-server-tavus", [str(script)], [str(script), "--transport", "http", "--port", "{port}"], log["tavus"]
        )
        floor = Subject("minimal server", minimal, [*minimal, "--http-port", "{port}"], log["minimal"])
        for subject in (ours, floor):
            url = stack.enter_context(serve_on_loopback(subject.ports))
            subject.env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
            subject.env |= {"TAVUS_API_BASE_URL": url, "TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_LOG_LEVEL": "INFO"}
        try:
            anyio.run(measure, plan, [ours, floor])
        except BaseException:
            for name, file in log.items():
                file.flush()
                tail = Path(file.name).read_text(errors="replace").splitlines()[-20:]
                print(f"--- {name} server's log, last lines:", *tail, sep="\n", file=sys.stderr)
            raise
    text, passed = table(plan, ours, floor)
    kind = "`--quick` (tiny counts: indicative only)" if plan is QUICK else "full run"
    run = f"`.venv/bin/python bench/run.py`, {kind}, {started:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - clock:.0f} s"
    load = f"load average {loads} at the start, {', '.join(f'{value:.2f}' for value in os.getloadavg())} at the end"
    report = f"Machine: {where}.\n\nRun: {run}; {load}. The method is in bench/run.py's docstring.\n\n{text}\n"
    print(report)
    if plan is FULL:
        (ROOT / "bench" / "results.md").write_text(f"# Benchmark results\n\n{report}", encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
