"""The `mcp-server-tavus` command line, run as `python -m tavus_mcp` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tavus_mcp import __version__

TIMEOUT = 60


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m tavus_mcp ARGS` with stdin closed, no TAVUS_* variable from the runner, plus `env`."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    return subprocess.run(
        [sys.executable, "-m", "tavus_mcp", *args],
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.stdio
def test_demo() -> None:
    done = run_cli("demo")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert f"Starting the server over stdio, against its embedded Tavus sandbox: {sys.executable} -m tavus_mcp " in out
    assert "\nTools: create_conversation, get_conversation, list_conversations, end_conversation, " in out

    join = re.search(
        r"^Join the video call: (https://tavus-sandbox\.invalid/sandbox/rooms/(c[0-9a-f]+))$", out, re.MULTILINE
    )
    assert join is not None, out
    url, conversation_id = join.groups()
    assert "Sandbox: this conversation exists only in the local Tavus emulator; nobody will join." in out
    assert "billed" not in out
    assert (
        f"Conversation id: {conversation_id} (name 'Sales practice: price objections', status active, "
        "replica rfe12d8b9597, persona p9a95912)." in out
    )

    structured_block = re.search(r"\nStructured result:\n(\{\n.*?\n\})\n", out, re.DOTALL)
    assert structured_block is not None, out
    structured = json.loads(structured_block.group(1))
    assert set(structured) == {
        "conversation_id",
        "conversation_url",
        "conversation_name",
        "status",
        "replica_id",
        "persona_id",
        "created_at",
        "join_url",
        "notes",
    }
    assert structured["notes"] == [
        "Sandbox: this conversation exists only in the local Tavus emulator; nobody will join."
    ]
    assert structured["conversation_id"] == conversation_id
    assert structured["conversation_url"] == structured["join_url"] == url
    assert structured["conversation_name"] == "Sales practice: price objections"
    assert structured["status"] == "active"
    assert structured["replica_id"] == "rfe12d8b9597"
    assert structured["persona_id"] == "p9a95912"
    assert out.rstrip().endswith(
        "That was the sandbox: nothing reached Tavus and nothing was charged. With TAVUS_API_KEY set (and without "
        "--sandbox), the same call starts a live video conversation."
    )


def test_version() -> None:
    done = run_cli("--version")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"mcp-server-tavus {__version__}\n"


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"TAVUS_TIMEOUT": "abc"},
            [],
            "TAVUS_TIMEOUT must be a number of seconds above 0, such as 30; got 'abc'",
        ),
        (
            {"TAVUS_TIMEOUT": "0"},
            [],
            "TAVUS_TIMEOUT must be a number of seconds above 0, such as 30; got '0'",
        ),
        (
            {"TAVUS_API_BASE_URL": "ftp://x"},
            [],
            "TAVUS_API_BASE_URL (--api-base-url) must be an absolute http(s) URL such as 'https://tavusapi.com', got 'ftp://x'",
        ),
        (
            {},
            ["--timeout", "-1"],
            "--timeout must be a number of seconds above 0, such as 30; got '-1'",
        ),
        (
            {"TAVUS_LOG_LEVEL": "LOUD"},
            [],
            "TAVUS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'",
        ),
    ],
    ids=["timeout-not-a-number", "timeout-zero", "base-url-not-http", "timeout-flag-negative", "log-level"],
)
def test_bad_settings_refuse_to_start(env: dict[str, str], args: list[str], message: str) -> None:
    # A valid key, so that the only thing wrong is the setting under test.
    done = run_cli(*args, env={"TAVUS_API_KEY": "0123456789abcdef0123456789abcdef", **env})

    assert done.returncode == 2
    assert done.stderr == f"mcp-server-tavus: {message}\n"
    assert done.stdout == ""


def test_help_lists_commands_and_flags() -> None:
    done = run_cli("--help")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("usage: mcp-server-tavus ")
    for command in ("serve", "demo", "sandbox-api"):
        assert re.search(rf"^ {{4}}{command}\s+\S", out, re.MULTILINE), f"{command} missing from:\n{out}"
    assert re.search(r"^  --sandbox\s+serve against the embedded Tavus emulator", out, re.MULTILINE)
    assert "TAVUS_API_KEY" in out


@pytest.mark.stdio
def test_server_exits_cleanly_when_stdin_closes() -> None:
    # An MCP client ends a stdio server by closing its stdin; the server must exit on its own, writing nothing.
    done = run_cli(env={"TAVUS_API_KEY": "0123456789abcdef0123456789abcdef", "TAVUS_LOG_LEVEL": "WARNING"})

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""
