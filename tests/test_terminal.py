"""The stdio server started by a person in a terminal: Ctrl+C stops it at once, quietly, even during start-up.

A real pseudo-terminal drives it, so Ctrl+C reaches it as it does from a keyboard: the terminal's line discipline
turns the byte 0x03 into SIGINT for the foreground process group.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

CTRL_C = b"\x03"
# Generous: the server starts in well under a second; this only keeps a hung server from hanging the suite.
PATIENCE = 30.0


def _start_in_terminal() -> tuple[int, int]:
    """`python -m tavus_mcp --sandbox` with a pseudo-terminal as stdin, stdout, stderr and controlling terminal."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: becomes the server
        env = {"PATH": os.environ.get("PATH", ""), "TAVUS_LOG_LEVEL": "WARNING"}
        os.execve(sys.executable, [sys.executable, "-m", "tavus_mcp", "--sandbox"], env)  # noqa: S606 - our own
    return pid, terminal


def _read_until(terminal: int, pid: int, wanted: bytes | None) -> tuple[bytes, int | None]:
    """What the terminal showed until `wanted` appeared (None: until the process ended), and its wait status if it
    ended."""
    shown = b""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            readable, _, _ = select.select([terminal], [], [], 0)
            while readable:
                try:
                    chunk = os.read(terminal, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
                readable, _, _ = select.select([terminal], [], [], 0)
            return shown, status
        readable, _, _ = select.select([terminal], [], [], 0.05)
        if readable:
            try:
                shown += os.read(terminal, 65536)
            except OSError:  # the other side closed: the process is ending
                continue
            if wanted is not None and wanted in shown:
                return shown, None
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"still running after {PATIENCE} s; the terminal showed:\n{shown.decode(errors='replace')}")


def test_ctrl_c_stops_the_serving_server_at_once_without_a_traceback() -> None:
    pid, terminal = _start_in_terminal()
    try:
        shown, _ = _read_until(terminal, pid, b"Ctrl+C stops it.")
        os.write(terminal, CTRL_C)
        more, status = _read_until(terminal, pid, None)
    finally:
        os.close(terminal)
    assert status is not None
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT
    assert b"Traceback" not in shown + more, (shown + more).decode(errors="replace")


def _importing(pid: int) -> bool:
    """Whether the process is its terminal's foreground group (so Ctrl+C reaches it) and is importing what it needs:
    pydantic's compiled core is loaded (the command's settings need it), long before it serves."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            foreground = int(stat.read().rpartition(")")[2].split()[5]) == pid  # tpgid
        with open(f"/proc/{pid}/maps") as maps:
            importing = "pydantic_core" in maps.read()
    except (OSError, ValueError):
        return False
    return foreground and importing


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the process's state from /proc")
def test_ctrl_c_during_start_up_stops_it_without_a_traceback() -> None:
    pid, terminal = _start_in_terminal()
    try:
        deadline = time.monotonic() + PATIENCE
        while not _importing(pid):
            assert time.monotonic() < deadline, "the command never reached its start"
            time.sleep(0.001)
        os.write(terminal, CTRL_C)  # while it imports what it needs: long before it serves
        shown, status = _read_until(terminal, pid, None)
    finally:
        os.close(terminal)
    assert status is not None
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT, shown.decode(errors="replace")
    assert b"Traceback" not in shown, shown.decode(errors="replace")
