"""Performance benchmark of mcp-server-tavus against the Tavus emulator on loopback.

    .venv/bin/python bench/run.py            # full run (about 1.5 minutes), writes bench/results.md
    .venv/bin/python bench/run.py --quick    # a short smoke run, prints the table only

Every figure is printed next to its floor, measured in the same run on the same machine:

- start-up: spawn over stdio until `tools/list` is answered, against bench/minimal_server.py (the same SDK,
  one tool), spawned alternately with it;
- per-call: sequential `create_conversation` calls over stdio (median, p99), against the minimal server doing
  the same POST, and against that POST sent directly with httpx2;
- concurrency: 200 concurrent calls over Streamable HTTP while the emulator takes 100 ms to answer, against the
  minimal server and against 200 direct POSTs through a pool of the server's size; the upstream connections
  they opened; and, for information, the same calls shared by two server processes;
- connection reuse: the connections to Tavus opened by 1,000 sequential calls;
- memory: the server's RSS after 10,000 calls against its RSS after 100 calls;
- import: what importing the server adds to importing the SDK modules it uses (`python -X importtime`).

The emulator runs in its own processes (`mcp-server-tavus sandbox-api`), so it never competes with the
benchmark's client for a GIL. Exit status: 0 when every budget is met, 1 when one is missed, 2 on an error.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
from http_load import Answer, LeanHttp
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

import tavus_mcp
from tavus_mcp.client import DEFAULT_LIMITS
from tavus_mcp.sandbox import SANDBOX_API_KEY

BENCH_DIR = Path(__file__).resolve().parent
MINIMAL_SERVER = BENCH_DIR / "minimal_server.py"
RESULTS = BENCH_DIR / "results.md"
COMMAND = ".venv/bin/python bench/run.py"

# Budgets, from the issue.
STARTUP_BUDGET = 1.15  # times the minimal server's start-up
PER_CALL_BUDGET = 1.2  # times the minimal server's median
CONCURRENT_WALL_BUDGET = 0.5  # seconds for 200 concurrent calls with a 100 ms Tavus
CONCURRENT_CALLS = 200
HTTP_WORKERS = 2  # one per core of the machine the figures in the README come from
UPSTREAM_LATENCY = 0.1
HANDFUL = 5  # connections that 1,000 sequential calls may open
MEMORY_BUDGET_MB = 5.0
IMPORT_BUDGET_MS = 30.0

POOL_SIZE = DEFAULT_LIMITS.max_connections or 0
HTTP_TOKEN = "bench-token-9c1e5a7d3b2f4e6a"  # noqa: S105 - a throwaway token for the loopback server

# A realistic create: a persona, a scenario, a greeting, call settings; test mode so nothing holds a slot.
ARGUMENTS: dict[str, Any] = {
    "persona_id": "p9a95912",
    "conversation_name": "Sales practice: price objections",
    "conversational_context": (
        "The user is a sales representative practising how to answer price objections for a B2B analytics "
        "product. Play a skeptical head of operations at a mid-sized logistics company who likes the product "
        "but thinks it costs too much compared with a spreadsheet and a part-time analyst. Push back twice "
        "before you accept a good argument about return on investment, and stay in character throughout."
    ),
    "custom_greeting": "Hi! I've seen your offer, but honestly, it looks expensive. Convince me.",
    "test_mode": True,
    "properties": {
        "max_call_duration": 600,
        "participant_left_timeout": 30,
        "participant_absent_timeout": 300,
        "language": "English",
        "enable_closed_captions": True,
    },
}


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run, or a quick smoke run."""

    quick: bool
    import_rounds: int
    startup_spawns: int
    warmup_calls: int
    timed_calls: int
    block: int
    reuse_calls: int
    memory_calls: int
    http_rounds: int

    def __post_init__(self) -> None:
        # One server session makes the warm-up, timed, reuse and memory calls in that order.
        if not self.warmup_calls + self.timed_calls <= self.reuse_calls <= self.memory_calls:
            raise ValueError(f"inconsistent plan: {self}")

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                quick=True,
                import_rounds=2,
                startup_spawns=2,
                warmup_calls=20,
                timed_calls=60,
                block=10,
                reuse_calls=100,
                memory_calls=400,
                http_rounds=1,
            )
        return cls(
            quick=False,
            import_rounds=9,
            startup_spawns=15,
            warmup_calls=100,
            timed_calls=500,
            block=10,
            reuse_calls=1000,
            memory_calls=10_000,
            http_rounds=9,
        )


@dataclass
class Row:
    metric: str
    measured: str
    floor: str
    budget: str
    passed: bool | None  # None: informative, or not run

    @property
    def result(self) -> str:
        return {True: "pass", False: "**FAIL**", None: "-"}[self.passed]


@dataclass
class Report:
    plan: Plan
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, metric: str, measured: str, floor: str, budget: str, passed: bool | None) -> None:
        self.rows.append(Row(metric, measured, floor, budget, passed))
        print(f"  {metric}: {measured} | {floor} | {budget} | {self.rows[-1].result}", flush=True)

    def table(self) -> str:
        lines = ["| Metric | Measured | Floor (same run) | Ratio / budget | Result |", "| --- " * 5 + "|"]
        lines += [f"| {r.metric} | {r.measured} | {r.floor} | {r.budget} | {r.result} |" for r in self.rows]
        return "\n".join(lines)

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.passed is False]


# Small helpers


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(base_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server under test: this one, less any TAVUS_* setting, plus the emulator's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    env.update({"TAVUS_API_BASE_URL": base_url, "TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_LOG_LEVEL": "INFO", **extra})
    return env


def tavus_command() -> list[str]:
    """The server as MCP clients launch it: the installed console script."""
    script = Path(sys.executable).with_name("mcp-server-tavus")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tavus_mcp"]


def minimal_command() -> list[str]:
    return [sys.executable, str(MINIMAL_SERVER)]


def children_matching(marker: str) -> set[int]:
    """Pids of this process's children whose command line contains `marker`."""
    found = set()
    for pid in children_of(os.getpid()):
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.add(pid)
    return found


def children_of(pid: int) -> set[int]:
    """Pids of the live child processes of `pid` (the workers of `mcp-server-tavus --workers N`)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    found.add(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# The emulator, in its own process


@dataclass
class Emulator:
    base_url: str
    pid: int

    def stats(self) -> dict[str, int]:
        response = httpx2.get(f"{self.base_url}/sandbox/stats", timeout=10.0)
        response.raise_for_status()
        stats: dict[str, int] = response.json()
        return stats


def wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(httpx2.TransportError):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:g} s")
        time.sleep(0.05)


@contextmanager
def background(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the duration of a block; terminated (then killed if need be) on the way out."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def emulator(workdir: Path, name: str, latency: float = 0.0) -> Iterator[Emulator]:
    port = free_port()
    command = [sys.executable, "-m", "tavus_mcp", "sandbox-api", "--port", str(port), "--latency", str(latency)]
    with background(command, workdir / f"{name}.log") as process:
        found = Emulator(f"http://127.0.0.1:{port}", process.pid)
        wait_until(lambda: isinstance(found.stats(), dict), f"the emulator ({name})", process)
        yield found
        if found.stats()["schema_violations"]:
            raise RuntimeError(f"the emulator ({name}) recorded schema violations")


# MCP clients


@asynccontextmanager
async def stdio_session(command: list[str], env: dict[str, str], errlog: TextIO) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as client:
        yield client


async def create(client: Client) -> CallToolResult:
    result = await client.call_tool("create_conversation", ARGUMENTS)
    if result.is_error:
        raise RuntimeError(f"create_conversation failed: {result.content}")
    return result


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


# Import time


def imported_modules(statement: str) -> dict[str, int]:
    """Self import time in microseconds of each module a fresh `python -c statement` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        env={name: value for name, value in os.environ.items() if name != "PYTHONPROFILEIMPORTTIME"},
    )
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(own)
    return times


def sdk_imports(project_statement: str) -> list[str]:
    """The third-party import statements of the project's modules that `project_statement` loads, verbatim."""
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{project_statement}; import sys, json; print(json.dumps(sorted("
            "m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'tavus_mcp' and m.__file__)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    statements: dict[str, None] = {}
    for path in json.loads(listing.stdout):
        for node in ast.parse(Path(path).read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                roots = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots = [node.module]
            else:
                continue
            top = roots[0].split(".")[0]
            if top in ("tavus_mcp", "__future__") or top in sys.stdlib_module_names:
                continue
            statements[ast.unparse(node)] = None
    return list(statements)


def measure_imports(plan: Plan, report: Report) -> None:
    ours = "import tavus_mcp.cli, tavus_mcp.server"
    statements = sdk_imports(ours)
    baseline = "; ".join(statements)
    sdk_modules = sorted({statement.split()[1] for statement in statements})
    # The SDK first, then the project: whatever pydantic's lazy imports cost on first use is the SDK's.
    project = f"{baseline}; {ours}"
    added: list[float] = []
    own: list[float] = []
    sdk: list[float] = []
    extra_modules: dict[str, list[int]] = {}
    for _ in range(plan.import_rounds):
        base_times = imported_modules(baseline)
        project_times = imported_modules(project)
        extra = {name: us for name, us in project_times.items() if name not in base_times}
        for name, us in extra.items():
            extra_modules.setdefault(name, []).append(us)
        added.append(sum(extra.values()) / 1000)
        own.append(sum(us for name, us in extra.items() if name.split(".")[0] == "tavus_mcp") / 1000)
        sdk.append(sum(base_times.values()) / 1000)
    added_ms, own_ms, sdk_ms = statistics.median(added), statistics.median(own), statistics.median(sdk)
    heaviest = sorted(extra_modules.items(), key=lambda item: -statistics.median(item[1]))[:6]
    report.add(
        "import: added to the SDK's import time",
        f"+{added_ms:.1f} ms (tavus_mcp.* {own_ms:.1f} ms)",
        f"SDK alone {sdk_ms:.0f} ms",
        f"+{added_ms:.1f} ms (≤ +{IMPORT_BUDGET_MS:g} ms)",
        added_ms <= IMPORT_BUDGET_MS,
    )
    report.notes.append(
        f"Import: median over {plan.import_rounds} pairs of fresh processes, `python -X importtime -c SDK` and "
        f"`python -X importtime -c 'SDK; {ours}'`, where SDK is the {len(statements)} third-party import lines of "
        f"the tavus_mcp modules that this loads, run verbatim (from {', '.join(sdk_modules)}). 'Added' sums the "
        "self times of every module the second imports that the first does not (the project's modules and what "
        "only they use). Heaviest: "
        + ", ".join(f"{name} {statistics.median(us) / 1000:.1f} ms" for name, us in heaviest)
        + "."
    )


# Start-up


async def spawn_until_listed(command: list[str], env: dict[str, str], errlog: TextIO) -> float:
    started = time.perf_counter()
    async with stdio_session(command, env, errlog) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - started
    if not tools.tools:
        raise RuntimeError(f"{command} listed no tools")
    return elapsed


async def measure_startup(plan: Plan, report: Report, tavus: Emulator, logs: Path) -> None:
    env = server_env(tavus.base_url)
    subjects = {"tavus": tavus_command(), "minimal": minimal_command()}
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    with (logs / "startup-servers.log").open("w") as errlog:
        for command in subjects.values():  # warm the page cache; not counted
            await spawn_until_listed(command, env, errlog)
        for spawn in range(plan.startup_spawns):
            order = list(subjects) if spawn % 2 == 0 else list(reversed(subjects))
            for name in order:
                samples[name].append(await spawn_until_listed(subjects[name], env, errlog))
    ours, floor = statistics.median(samples["tavus"]), statistics.median(samples["minimal"])
    ratio = ours / floor
    report.add(
        "start-up: spawn over stdio until `tools/list` answered (median)",
        ms(ours),
        f"minimal server {ms(floor)}",
        f"{ratio:.2f}x (≤ {STARTUP_BUDGET:g}x)",
        ratio <= STARTUP_BUDGET,
    )
    report.notes.append(
        f"Start-up: {plan.startup_spawns} spawns of each server, alternating, after one uncounted spawn of each; "
        f"from spawning `{' '.join(Path(part).name for part in tavus_command())}` (the console script MCP clients "
        "run) to the SDK client's `tools/list` result, handshake included. Spread (min-max): "
        f"server {ms(min(samples['tavus']))}-{ms(max(samples['tavus']))}, minimal "
        f"{ms(min(samples['minimal']))}-{ms(max(samples['minimal']))}."
    )


# Per call, connection reuse and memory, over stdio


async def measure_stdio_calls(plan: Plan, report: Report, upstream: Emulator, floor: Emulator, logs: Path) -> None:
    """`upstream` serves this server only (so its counts are this server's); `floor` the minimal server and the
    direct POSTs."""
    with (logs / "stdio-tavus.log").open("w") as tavus_log, (logs / "stdio-minimal.log").open("w") as minimal_log:
        before = children_matching("mcp-server-tavus") | children_matching("tavus_mcp")
        async with (
            stdio_session(tavus_command(), server_env(upstream.base_url), tavus_log) as ours,
            stdio_session(minimal_command(), server_env(floor.base_url), minimal_log) as minimal,
            httpx2.AsyncClient(base_url=floor.base_url, headers={"x-api-key": SANDBOX_API_KEY}, timeout=30.0) as direct,
        ):
            server_pids = (children_matching("mcp-server-tavus") | children_matching("tavus_mcp")) - before
            if len(server_pids) != 1:
                raise RuntimeError(f"cannot tell the server's process among {sorted(server_pids)}")
            server_pid = server_pids.pop()

            async def post() -> None:
                response = await direct.post("/v2/conversations", json=ARGUMENTS)
                response.raise_for_status()
                response.json()

            subjects: dict[str, Callable[[], Awaitable[object]]] = {
                "tavus": lambda: create(ours),
                "minimal": lambda: create(minimal),
                "direct": post,
            }
            for call in subjects.values():
                await timed(call, plan.warmup_calls)
            calls_made = plan.warmup_calls
            rss_100 = rss_mb(server_pid)

            samples: dict[str, list[float]] = {name: [] for name in subjects}
            for block in range(plan.timed_calls // plan.block):
                names = list(subjects)
                names = names[block % 3 :] + names[: block % 3]
                for name in names:
                    samples[name] += await timed(subjects[name], plan.block)
            calls_made += len(samples["tavus"])

            # Connection reuse: everything this server sent, from its start to its 1,000th call.
            await timed(subjects["tavus"], plan.reuse_calls - calls_made)
            calls_made = plan.reuse_calls
            reuse = upstream.stats()

            remaining = plan.memory_calls - calls_made
            memory_started = time.perf_counter()
            await timed(subjects["tavus"], remaining)
            memory_seconds = time.perf_counter() - memory_started
            rss_end = rss_mb(server_pid)

    median = {name: statistics.median(values) for name, values in samples.items()}
    tail = {name: p99(values) for name, values in samples.items()}
    ratio = median["tavus"] / median["minimal"]
    report.add(
        "per-call: sequential `create_conversation` over stdio, median",
        ms(median["tavus"]),
        f"minimal server {ms(median['minimal'])}; direct httpx2 POST {ms(median['direct'])}",
        f"{ratio:.2f}x minimal (≤ {PER_CALL_BUDGET:g}x)",
        ratio <= PER_CALL_BUDGET,
    )
    report.add(
        "per-call: p99",
        ms(tail["tavus"]),
        f"minimal server {ms(tail['minimal'])}; direct httpx2 POST {ms(tail['direct'])}",
        f"{tail['tavus'] / tail['minimal']:.2f}x minimal (no budget)",
        None,
    )
    report.notes.append(
        f"Per call: {len(samples['tavus'])} timed calls to each, in interleaved blocks of {plan.block}, after "
        f"{plan.warmup_calls} warm-up calls each. The minimal server (bench/minimal_server.py) is an MCPServer "
        "on the same SDK whose one tool forwards the same arguments as the same POST with one shared httpx2 "
        "client and returns Tavus's JSON: the ratio is what this server adds (validation, result text, "
        "structured result, logging, error handling). Both log one line per call at INFO, to a file. The direct "
        "POST is the emulator's own round trip, with no MCP at all."
    )
    report.add(
        f"connection reuse: connections to Tavus opened by the server's first {plan.reuse_calls:,} calls",
        f"{reuse['connections']} ({reuse['requests']:,} requests)",
        "1 (one kept-alive connection)",
        f"≤ {HANDFUL}",
        reuse["connections"] <= HANDFUL and reuse["requests"] == plan.reuse_calls,
    )
    growth = rss_end - rss_100
    per_call_kb = growth * 1024 / max(1, plan.memory_calls - plan.warmup_calls)
    report.add(
        f"memory: server RSS after {plan.memory_calls:,} calls",
        f"{rss_end:.1f} MB",
        f"after {plan.warmup_calls} calls {rss_100:.1f} MB",
        f"{growth:+.1f} MB (≤ +{MEMORY_BUDGET_MB:g} MB)",
        growth <= MEMORY_BUDGET_MB,
    )
    report.notes.append(
        f"Memory: VmRSS of the server process (/proc/PID/status) after {plan.warmup_calls} and after "
        f"{plan.memory_calls:,} calls in one session: {per_call_kb:.2f} kB per call on average; the last "
        f"{remaining:,} calls took {memory_seconds:.1f} s ({remaining / memory_seconds:.0f} calls/s)."
    )


# Concurrency over Streamable HTTP


async def burst(count: int, call: Callable[[int], Coroutine[Any, Any, object]]) -> float:
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for number in range(count):
            group.start_soon(call, number)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CapturedCall:
    """The HTTP request an SDK client sends for one `tools/call`, to replay with fresh JSON-RPC ids."""

    url: str
    headers: dict[str, str]
    message: dict[str, Any]


async def capture_sdk_call(url: str, headers: dict[str, str]) -> CapturedCall:
    """Make one real call with the SDK's client over Streamable HTTP, and keep the request it sent."""
    sent: list[httpx2.Request] = []

    async def keep(request: httpx2.Request) -> None:
        sent.append(request)

    http = httpx2.AsyncClient(headers=headers, timeout=60.0, event_hooks={"request": [keep]})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        await client.list_tools()
        await create(client)
    request = next(r for r in reversed(sent) if r.method == "POST" and b'"tools/call"' in r.content)
    skipped = {"host", "content-length", "content-type", "connection", "accept-encoding", "user-agent"}
    kept = {name: value for name, value in request.headers.items() if name.lower() not in skipped}
    return CapturedCall(str(request.url), kept, json.loads(request.content))


def tool_result(answer: Answer) -> dict[str, Any]:
    """The JSON-RPC result in an answer sent as JSON or as server-sent events."""
    text = answer.body.decode("utf-8", errors="replace")
    if answer.status != 200:
        raise RuntimeError(f"the server answered HTTP {answer.status}: {text[:200]}")
    if answer.content_type.startswith("text/event-stream"):
        text = "\n".join(line[5:].strip() for line in text.splitlines() if line.startswith("data:"))
    message: dict[str, Any] = json.loads(text)
    result: dict[str, Any] | None = message.get("result")
    if result is None or result.get("isError"):
        raise RuntimeError(f"create_conversation failed over HTTP: {text[:300]}")
    return result


@dataclass
class Subject:
    """Something that makes `create_conversation` calls concurrently, and what its bursts measured."""

    name: str
    call: Callable[[int], Coroutine[Any, Any, object]]
    upstream: Emulator
    pid: int | None = None  # the server process (with its workers, if any)
    walls: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def pids(self) -> set[int]:
        return set() if self.pid is None else {self.pid} | children_of(self.pid)


async def mcp_load(url: str, headers: dict[str, str], stack: contextlib.AsyncExitStack) -> Callable[[int], Any]:
    """A call function replaying the SDK's `tools/call` request, one kept-alive connection per concurrent call."""
    captured = await capture_sdk_call(url, headers)
    client = LeanHttp(captured.url, captured.headers)
    stack.push_async_callback(client.aclose)

    async def call(number: int) -> None:
        body = json.dumps({**captured.message, "id": number + 1}).encode()
        tool_result(await client.post(body))

    return call


def start_http_server(command: list[str], env: dict[str, str], log: Path, stack: contextlib.ExitStack) -> int:
    """Start a server, wait until it answers on its port; its pid."""
    process = stack.enter_context(background(command, log, env))
    port = command[command.index("--port") + 1] if "--port" in command else command[-1]
    wait_until(
        lambda: httpx2.post(f"http://127.0.0.1:{port}/mcp", content=b"{}", timeout=1.0).status_code < 500,
        log.stem,
        process,
    )
    return process.pid


async def measure_http(plan: Plan, report: Report, workdir: Path) -> None:
    metric = f"concurrency: {CONCURRENT_CALLS} concurrent calls over HTTP, Tavus answering in 100 ms"
    connections_metric = f"concurrency: upstream connections used by {CONCURRENT_CALLS} concurrent calls"
    try:
        import tavus_mcp.http  # noqa: F401 - only to know that the transport is there
    except ImportError as exc:
        report.add(metric, "not run", "-", f"(the HTTP transport is not usable: {exc})", None)
        report.add(connections_metric, "not run", "-", "-", None)
        return
    # One emulator per subject, so that each one's counts (connections, requests at once) are its own.
    with contextlib.ExitStack() as processes:
        upstreams = [
            processes.enter_context(emulator(workdir, f"emulator-latency-{name}", latency=UPSTREAM_LATENCY))
            for name in ("workers", "tavus", "minimal", "direct")
        ]
        workers_port, ours_port, minimal_port = free_port(), free_port(), free_port()
        ours = [*tavus_command(), "--transport", "http", "--host", "127.0.0.1"]
        try:
            workers_pid = start_http_server(
                [*ours, "--workers", str(HTTP_WORKERS), "--port", str(workers_port)],
                server_env(upstreams[0].base_url, TAVUS_MCP_AUTH_TOKENS=HTTP_TOKEN),
                workdir / "http-workers.log",
                processes,
            )
            ours_pid = start_http_server(
                [*ours, "--port", str(ours_port)],
                server_env(upstreams[1].base_url, TAVUS_MCP_AUTH_TOKENS=HTTP_TOKEN),
                workdir / "http-server.log",
                processes,
            )
        except RuntimeError as exc:
            report.add(metric, "not run", "-", f"(the HTTP server did not start: {exc})", None)
            report.add(connections_metric, "not run", "-", "-", None)
            return
        minimal_pid = start_http_server(
            [*minimal_command(), "--http-port", str(minimal_port)],
            server_env(upstreams[2].base_url),
            workdir / "http-minimal.log",
            processes,
        )
        async with contextlib.AsyncExitStack() as stack:
            token = {"authorization": f"Bearer {HTTP_TOKEN}"}
            direct = LeanHttp(
                f"{upstreams[3].base_url}/v2/conversations",
                {"x-api-key": SANDBOX_API_KEY},
                max_connections=POOL_SIZE,
            )
            stack.push_async_callback(direct.aclose)
            body = json.dumps(ARGUMENTS).encode()

            async def post(_: int) -> None:
                answer = await direct.post(body)
                if answer.status != 200:
                    raise RuntimeError(f"the emulator answered HTTP {answer.status}: {answer.body[:200]!r}")

            subjects = [
                Subject(
                    "workers",
                    await mcp_load(f"http://127.0.0.1:{workers_port}/mcp", token, stack),
                    upstreams[0],
                    workers_pid,
                ),
                Subject(
                    "tavus", await mcp_load(f"http://127.0.0.1:{ours_port}/mcp", token, stack), upstreams[1], ours_pid
                ),
                Subject(
                    "minimal",
                    await mcp_load(f"http://127.0.0.1:{minimal_port}/mcp", {}, stack),
                    upstreams[2],
                    minimal_pid,
                ),
                Subject("direct", post, upstreams[3]),
            ]
            # After a warm-up burst each, which opens the connections, the subjects take turns round by round
            # (a slow spell of the machine hits them all), in an order that changes every round. No connection is
            # left idle for long: uvicorn closes one after 5 s of keep-alive.
            for subject in subjects:
                await burst(CONCURRENT_CALLS, subject.call)
            for round_number in range(plan.http_rounds):
                order = subjects[round_number % len(subjects) :] + subjects[: round_number % len(subjects)]
                for subject in order:
                    before = subject.upstream.stats()
                    pids = subject.pids()
                    cpu_before = sum(cpu_seconds(pid) for pid in pids)
                    subject.walls.append(await burst(CONCURRENT_CALLS, subject.call))
                    if pids:
                        subject.cpu.append(sum(cpu_seconds(pid) for pid in pids) - cpu_before)
                    if subject.upstream.stats()["requests"] - before["requests"] != CONCURRENT_CALLS:
                        raise RuntimeError(f"the emulator did not receive one create per call ({subject.name})")
        upstream = {subject.name: subject.upstream.stats() for subject in subjects}

    wall = {subject.name: statistics.median(subject.walls) for subject in subjects}
    cpu = {subject.name: statistics.median(subject.cpu) / CONCURRENT_CALLS for subject in subjects if subject.cpu}
    rounds = plan.http_rounds + 1
    report.add(
        f"{metric}, `--workers {HTTP_WORKERS}` (median wall time)",
        ms(wall["workers"]),
        f"direct POSTs, pool of {POOL_SIZE}: {ms(wall['direct'])}; one process: {ms(wall['tavus'])}; minimal "
        f"server (one process): {ms(wall['minimal'])}",
        f"≤ {ms(CONCURRENT_WALL_BUDGET)}",
        wall["workers"] <= CONCURRENT_WALL_BUDGET,
    )
    report.add(
        f"{metric}, one process (the default; median wall time)",
        ms(wall["tavus"]),
        f"minimal server (one process): {ms(wall['minimal'])}",
        f"{wall['tavus'] / wall['minimal']:.2f}x minimal (no budget)",
        None,
    )
    report.add(
        f"{connections_metric}, `--workers {HTTP_WORKERS}`",
        f"{upstream['workers']['max_in_flight']} at once; {upstream['workers']['connections']} opened in "
        f"{rounds} rounds",
        f"pool limit {POOL_SIZE} ({POOL_SIZE // HTTP_WORKERS} per worker); one process: "
        f"{upstream['tavus']['max_in_flight']} at once, {upstream['tavus']['connections']} opened; minimal server: "
        f"{upstream['minimal']['max_in_flight']} at once, {upstream['minimal']['connections']} opened",
        f"≤ {POOL_SIZE} at once",
        upstream["workers"]["max_in_flight"] <= POOL_SIZE and upstream["tavus"]["max_in_flight"] <= POOL_SIZE,
    )
    report.notes.append(
        f"Concurrency: `mcp-server-tavus --transport http` (bearer token), with `--workers {HTTP_WORKERS}` and "
        "as one process, and the minimal server (`--http-port`, one process, stateless like it, no auth), each in "
        f"front of its own emulator that waits {UPSTREAM_LATENCY * 1000:.0f} ms before every answer. For each, "
        "one `create_conversation` is made with the SDK's `Client`; the request it sent is then replayed "
        f"{CONCURRENT_CALLS} times at once, with fresh ids, each on its own kept-alive connection, by a lean "
        "HTTP/1.1 client (bench/http_load.py: h11 over asyncio streams, about 0.3 ms of CPU per call; an httpx2 "
        "client costs 1.3 ms per call, and would take a third of the two cores from the server it measures). "
        f"{plan.http_rounds} timed rounds after a warm-up round, the subjects taking turns. Rounds with "
        f"`--workers {HTTP_WORKERS}`: {', '.join(ms(w) for w in subjects[0].walls)}; one process: "
        f"{', '.join(ms(w) for w in subjects[1].walls)}. Server CPU time per call: `--workers {HTTP_WORKERS}` "
        f"{cpu['workers'] * 1000:.2f} ms (all its processes), one process {cpu['tavus'] * 1000:.2f} ms, minimal "
        f"{cpu['minimal'] * 1000:.2f} ms. A pool of {POOL_SIZE} connections needs at least "
        f"{math.ceil(CONCURRENT_CALLS / POOL_SIZE)} round trips of {UPSTREAM_LATENCY * 1000:.0f} ms for "
        f"{CONCURRENT_CALLS} calls: the direct floor sends the same POSTs on at most {POOL_SIZE} connections, with "
        "no MCP at all. Upstream connections: the most requests each emulator handled at once, and the distinct "
        "connections it saw over all rounds (idle connections are kept, so later rounds open none)."
    )
    if wall["tavus"] > CONCURRENT_WALL_BUDGET:
        report.notes.append(
            f"One process took {ms(wall['tavus'])} (the minimal server on the same SDK {ms(wall['minimal'])}): "
            "what bounds one process is its CPU time per request, almost all of it the SDK's Streamable HTTP "
            f"handling, uvicorn and httpx2, in one thread: {CONCURRENT_CALLS} calls need "
            f"{CONCURRENT_CALLS * cpu['tavus']:.2f} s of one core. `--workers` spreads them over the cores."
        )


# Machine, output


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("mcp", "httpx2", "pydantic", "starlette", "uvicorn", "httptools")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; Python "
        f"{platform.python_version()}; mcp-server-tavus {tavus_mcp.__version__}; {versions}; load average at "
        f"start {load}"
    )


def markdown(report: Report, machine_line: str, started: datetime, seconds: float) -> str:
    kind = "quick smoke run (`--quick`): small counts, figures indicative only" if report.plan.quick else "full run"
    notes = "\n".join(f"- {note}" for note in report.notes)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"Machine: {machine_line}.\n\n"
        f"Run: `{COMMAND}{' --quick' if report.plan.quick else ''}`, {kind}, {started:%Y-%m-%d %H:%M} UTC, "
        f"{seconds:.0f} s; load average at the end {load}.\n\n{report.table()}\n\n{notes}\n"
    )


async def run_async(plan: Plan, report: Report, workdir: Path) -> None:
    with emulator(workdir, "emulator") as upstream, emulator(workdir, "emulator-floor") as floor:
        print("start-up over stdio...", flush=True)
        await measure_startup(plan, report, floor, workdir)
        print("per-call, connection reuse and memory over stdio...", flush=True)
        await measure_stdio_calls(plan, report, upstream, floor, workdir)
    print("concurrency over Streamable HTTP...", flush=True)
    await measure_http(plan, report, workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run: small counts, indicative figures")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"write the table there (default: {RESULTS.relative_to(BENCH_DIR.parent)} for a full run, "
        "nothing for --quick)",
    )
    args = parser.parse_args(argv)
    plan = Plan.make(args.quick)
    output: Path | None = args.output if args.output is not None else (None if args.quick else RESULTS)
    report = Report(plan)
    machine_line = machine()
    started, clock = datetime.now(UTC), time.perf_counter()
    print(f"Machine: {machine_line}", flush=True)
    # Installed packages import from bytecode; make sure the project's own modules do too.
    compileall.compile_dir(str(Path(tavus_mcp.__file__).parent), quiet=2)
    try:
        print("import time...", flush=True)
        measure_imports(plan, report)
        with tempfile.TemporaryDirectory(prefix="tavus-bench-") as workdir:
            try:
                anyio.run(run_async, plan, report, Path(workdir))
            except BaseException:
                for log in sorted(Path(workdir).glob("*.log")):
                    print(f"--- {log.name} (last lines)", file=sys.stderr)
                    print("\n".join(log.read_text(errors="replace").splitlines()[-20:]), file=sys.stderr)
                raise
    except Exception:
        traceback.print_exc()
        return 2
    text = markdown(report, machine_line, started, time.perf_counter() - clock)
    print("\n" + text)
    if output is not None:
        output.write_text(f"# Benchmark results\n\n{text}", encoding="utf-8")
        print(f"Written to {output}")
    if report.failed:
        print("Missed budgets: " + "; ".join(row.metric for row in report.failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
