"""The `mcp-server-tavus` command line, run as `python -m tavus_mcp` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from tavus_mcp import __version__
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import Sandbox

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
    assert "The call is billed" not in out
    assert (
        f"Conversation id: {conversation_id} (name 'Sales practice: price objections', status active, "
        "persona p9a95912)." in out
    )

    structured_block = re.search(r"\nStructured result:\n(\{\n.*?\n\})\n", out, re.DOTALL)
    assert structured_block is not None, out
    structured = json.loads(structured_block.group(1))
    assert set(structured) == {
        "conversation_id",
        "conversation_url",
        "conversation_name",
        "status",
        "created_at",
        "join_url",
        "notes",
        "test_mode",
        "billed",
        "sandbox",
    }
    assert (structured["test_mode"], structured["billed"], structured["sandbox"]) == (False, False, True)
    assert structured["notes"] == [
        "Sandbox: this conversation exists only in the local Tavus emulator; nobody will join."
    ]
    assert structured["conversation_id"] == conversation_id
    assert structured["conversation_url"] == structured["join_url"] == url
    assert structured["conversation_name"] == "Sales practice: price objections"
    assert structured["status"] == "active"
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
    done = run_cli(*args, env={"TAVUS_API_KEY": "fake-tavus-key-for-tests", **env})

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
    done = run_cli(env={"TAVUS_API_KEY": "fake-tavus-key-for-tests", "TAVUS_LOG_LEVEL": "WARNING"})

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


# `check`: one call to Tavus, a plain verdict


def test_check_without_a_key_says_to_set_it() -> None:
    done = run_cli("check")
    assert done.returncode == 1
    assert done.stdout == (
        "TAVUS_API_KEY is not set. Set it to your Tavus API key (from the Tavus developer portal) in the environment "
        'the server runs in, e.g. the "env" block of its entry in claude_desktop_config.json. Or try the server '
        "without a key: mcp-server-tavus --sandbox.\n"
    )


def test_check_against_the_embedded_sandbox() -> None:
    done = run_cli("--sandbox", "check")
    assert (done.returncode, done.stdout) == (
        0,
        "ok: the Tavus sandbox (embedded emulator) accepted the key; the account can use 4 replicas.\n",
    )


def test_check_with_a_working_key(sandbox: Sandbox) -> None:
    done = run_cli("check", env={"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url})
    assert (done.returncode, done.stdout) == (
        0,
        f"ok: Tavus at {sandbox.base_url} accepted the key; the account can use 4 replicas.\n",
    )
    assert [(r.path, r.query) for r in sandbox.emulator.received] == [("/v2/replicas", {"limit": "1"})]
    assert done.stderr == ""


def test_check_with_a_refused_key(sandbox: Sandbox) -> None:
    done = run_cli("check", env={"TAVUS_API_KEY": "not-the-key", "TAVUS_API_BASE_URL": sandbox.base_url})
    assert done.returncode == 1
    assert done.stdout == (
        f"Tavus at {sandbox.base_url} refused the key in TAVUS_API_KEY (HTTP 401: Invalid access token). Check "
        "that it is the whole key, copied from the Tavus developer portal, and that it has not been revoked.\n"
    )
    assert "not-the-key" not in done.stdout + done.stderr


def test_check_when_tavus_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = run_cli("check", env={"TAVUS_API_KEY": "some-key", "TAVUS_API_BASE_URL": base_url, "TAVUS_TIMEOUT": "3"})
    assert done.returncode == 1
    assert done.stdout == (
        f"Could not connect to Tavus at {base_url}. Check the network, any proxy or firewall, and TAVUS_API_BASE_URL.\n"
    )


def test_check_with_a_malformed_base_url() -> None:
    done = run_cli("check", env={"TAVUS_API_KEY": "some-key", "TAVUS_API_BASE_URL": "tavusapi.com"})
    assert done.returncode == 2
    assert done.stderr == (
        "mcp-server-tavus: TAVUS_API_BASE_URL (--api-base-url) must be an absolute http(s) URL such as "
        "'https://tavusapi.com', got 'tavusapi.com'\n"
    )
