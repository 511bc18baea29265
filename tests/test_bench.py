"""The benchmark runs: `bench/run.py --quick` completes and prints its table. No figure is checked here (speed is
measured by the benchmark itself, on a quiet machine, never by a test). Skipped unless RUN_BENCH=1: it spawns a
dozen servers for nothing a test could judge.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(os.environ.get("RUN_BENCH") != "1", reason="set RUN_BENCH=1 to run the benchmark smoke run"),
]

METRICS = (
    "start-up over stdio: spawn to `tools/list` answered, median",
    "per call over stdio: `create_conversation`, median",
    "CPU per call over HTTP: server process, sequential calls",
    "CPU per call over HTTP, streamed: 2025-11-25 session, event streams",
    "memory over 200 calls over HTTP: RSS growth",
    "connections to Tavus over 100 sequential calls",
    "`tools/list` result as compact JSON",
)


def test_quick_run_prints_the_table_and_leaves_the_results_alone() -> None:
    results = ROOT / "bench" / "results.md"
    committed = results.read_bytes()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # 0: every budget met; 1: one missed (possible on a busy machine, not this test's business) or an error.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr  # an error, then
    assert "| Metric | mcp-server-tavus | minimal server | Ratio | Budget | Result |" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]] == list(METRICS), done.stdout
    assert all(row.endswith(("| pass |", "| **FAIL** |")) for row in rows[1:]), done.stdout
    assert "Machine: " in done.stdout
    assert results.read_bytes() == committed
