"""The benchmark runs: `bench/run.py --quick` completes and prints its table. No figure is checked here (speed is
measured by the benchmark itself, on a quiet machine, never by a test). Skipped unless RUN_BENCH=1: it takes
about half a minute of CI time for nothing a test could judge.
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
    "import: added to the SDK's import time",
    "start-up: spawn over stdio",
    "per-call: sequential `create_conversation` over stdio, median",
    "per-call: p99",
    "connection reuse: connections to Tavus opened by the server's first",
    "memory: server RSS after",
    "concurrency: 200 concurrent calls over HTTP, Tavus answering in 100 ms, `--workers 2`",
    "concurrency: 200 concurrent calls over HTTP, Tavus answering in 100 ms, one process",
    "concurrency: upstream connections used by 200 concurrent calls, `--workers 2`",
)


def test_quick_run_prints_the_table(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # 0: every budget met; 1: one missed (possible on a busy machine, and not this test's business); 2: an error.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "| Metric | Measured | Floor (same run) | Ratio / budget | Result |" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    for metric in METRICS:
        assert any(row.startswith(f"| {metric}") for row in rows), f"no row for {metric!r}:\n{done.stdout}"
    assert "Machine: " in done.stdout
    assert output.read_text(encoding="utf-8").startswith("# Benchmark results")
