"""The `mcp-server-tavus` command line.

What the command decides before it serves (help, refusals, `check`, `check-users`) runs in this process
(`tests.commands.run_main`); what serves, and the exit status and Ctrl+C of a real process, run
`python -m tavus_mcp` in a subprocess.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tavus_mcp import __version__
from tavus_mcp.cli import _parser
from tavus_mcp.config import DOCS_URL, EXIT_BAD_SETTING, EXIT_CANNOT_LISTEN, doc_url
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.commands import run_main
from tests.conftest import Sandbox
from tests.snippets import ROOT, anchors

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
    # A sandbox call of 2 s rather than the default 6 (the demo passes the setting on to its server); .ci/run runs
    # the README's demo as written.
    done = run_cli("demo", env={"TAVUS_SANDBOX_CALL_SECONDS": "2"})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert f"Starting the server over stdio, against its embedded Tavus sandbox: {sys.executable} -m tavus_mcp " in out
    assert "\nTools: create_conversation, get_conversation, wait_for_conversation, list_conversations, " in out

    join = re.search(
        r"^Join the video call: (https://tavus-sandbox\.invalid/sandbox/rooms/(c[0-9a-f]+))$", out, re.MULTILINE
    )
    assert join is not None, out
    url, conversation_id = join.groups()
    assert (
        "Sandbox: this conversation exists only in the local Tavus emulator; nobody real joins and nothing is charged."
        in out
    )
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
        "Sandbox: this conversation exists only in the local Tavus emulator; nobody real joins and nothing is charged."
    ]
    assert structured["conversation_id"] == conversation_id
    assert structured["conversation_url"] == structured["join_url"] == url
    assert structured["conversation_name"] == "Sales practice: price objections"
    assert structured["status"] == "active"

    # Then the wait: the sandbox plays the call through, and the client prints each state the server reports.
    progress = re.findall(r"^  progress after [\d.]+ s: (.*)$", out, re.MULTILINE)
    assert progress[-1] == "The call has ended and its transcript is ready.", out
    assert progress[0] == "Waiting for the call to start: the replica has not joined yet.", out
    waited = out.split("wait_for_conversation with conversation_id", 1)[1]
    assert re.search(r"^The call has ended and its transcript is ready\. \(Waited \d+ s\.\)$", waited, re.MULTILINE)
    assert "Shut down: participant_left_timeout reached." in waited
    assert "Replica: Hi! I've seen your offer, but honestly, it looks expensive. Convince me." in waited

    # And the review prompt, as prompts/get returns it.
    review = out.split("Then the review_call prompt (prompts/get) asks the assistant for feedback:\n", 1)[1]
    assert review.startswith(f"Review my Tavus practice call {conversation_id}.\n")
    assert out.rstrip().endswith(
        "That was the sandbox: nothing reached Tavus and nothing was charged. With TAVUS_API_KEY set (and without "
        "--sandbox), the same calls start and follow a live video conversation."
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
    done = run_main(*args, env={"TAVUS_API_KEY": "fake-tavus-key-for-tests", **env})

    assert done.returncode == 2
    assert done.stderr == f"mcp-server-tavus: {message}\n"
    assert done.stdout == ""


def test_a_key_that_cannot_be_sent_refuses_to_start_without_repeating_it() -> None:
    pasted = "\u201csk-pasted-with-quotes\u201d"
    done = run_cli(env={"TAVUS_API_KEY": pasted})

    assert done.returncode == 2
    assert done.stderr == (
        "mcp-server-tavus: TAVUS_API_KEY contains a character that cannot be sent to Tavus (a space, a line break, "
        "or a non-ASCII character such as a curly quote): set it again, exactly as Tavus gave it. Create a key in "
        "the Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar; "
        "https://docs.tavus.io/api-reference/authentication shows how).\n"
    )
    assert "sk-pasted" not in done.stdout + done.stderr


def test_help_lists_commands_and_flags() -> None:
    done = run_main("--help")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("usage: mcp-server-tavus ")
    for command in ("serve", "demo", "check", "sandbox-api"):
        assert re.search(rf"^ {{4}}{command}\s+\S", out, re.MULTILINE), f"{command} missing from:\n{out}"
    assert re.search(r"^  --sandbox\s+serve against the embedded Tavus emulator", out, re.MULTILINE)
    assert "TAVUS_API_KEY" in out


# Every setting's variable, and the flags that override them.
SETTINGS_HELP = {
    "TAVUS_API_KEY": None,
    "TAVUS_API_BASE_URL": "--api-base-url",
    "TAVUS_DEFAULT_REPLICA_ID": "--default-replica-id",
    "TAVUS_DEFAULT_PERSONA_ID": "--default-persona-id",
    "TAVUS_TIMEOUT": "--timeout",
    "TAVUS_CONNECT_TIMEOUT": "--connect-timeout",
    "TAVUS_MAX_RETRIES": None,
    "TAVUS_TEST_MODE": "--test-mode",
    "TAVUS_MAX_CALL_DURATION": "--max-call-duration",
    "TAVUS_CONFIRM_BILLED": None,
    "TAVUS_PASSTHROUGH_FIELDS": None,
    "TAVUS_POLL_INTERVAL": None,
    "TAVUS_SANDBOX": "--sandbox",
    "TAVUS_SANDBOX_CALL_SECONDS": None,
    "TAVUS_LOG_LEVEL": "--log-level",
}
HTTP_HELP = {
    "TAVUS_MCP_AUTH_TOKENS": None,
    "TAVUS_MCP_USERS_FILE": None,
    "TAVUS_MCP_OAUTH_ISSUER": None,
    "TAVUS_MCP_OAUTH_AUDIENCE": None,
    "TAVUS_MCP_HOST": "--host",
    "TAVUS_MCP_PORT": "--port",
    "TAVUS_MCP_ALLOWED_HOSTS": "--allowed-hosts",
    "TAVUS_MCP_ALLOWED_ORIGINS": "--allowed-origins",
    "TAVUS_MCP_MAX_BODY_BYTES": None,
    "TAVUS_MCP_SHUTDOWN_TIMEOUT": None,
    "TAVUS_MCP_REQUEST_TIMEOUT": None,
    "TAVUS_MCP_KEEPALIVE": None,
    "TAVUS_MCP_SESSIONS": None,
}
COMMANDS = ("serve", "demo", "check", "check-users", "sandbox-api")


@pytest.mark.parametrize(
    ("command", "documented"),
    [
        ((), {**SETTINGS_HELP, **HTTP_HELP}),
        (("serve",), {**SETTINGS_HELP, **HTTP_HELP}),
        (("check",), SETTINGS_HELP),
        (("demo",), SETTINGS_HELP),
        (("check-users",), {"TAVUS_MCP_USERS_FILE": None, "TAVUS_API_KEY": None, "TAVUS_SANDBOX": "--sandbox"}),
        (("sandbox-api",), {}),
    ],
    ids=["top", "serve", "check", "demo", "check-users", "sandbox-api"],
)
def test_every_help_page_is_complete(command: tuple[str, ...], documented: dict[str, str | None]) -> None:
    done = run_main(*command, "--help")

    assert (done.returncode, done.stderr) == (0, "")
    usage, description, *_ = done.stdout.split("\n\n")
    assert usage.startswith(f"usage: {' '.join(('mcp-server-tavus', *command))} [-h]")
    assert len(description.split()) >= 20, f"no description:\n{done.stdout}"
    # Every option has a line of help, not only its name.
    options = re.findall(r"^  (-[^\n]*)\n?(?: {10,}(\S.*))?", done.stdout, re.MULTILINE)
    assert options
    for line, continuation in options:
        assert re.search(r"\S  +\S", line) or continuation, f"option without help: {line!r}"
    rows = help_rows(done.stdout)
    for variable, flag in documented.items():
        assert variable in rows, f"{variable} missing from the help of {command}"
        assert re.search(r"\((default |no default)", rows[variable]), f"{variable} has no default in {command}"
        if flag:
            assert rows[variable].startswith(f"{flag}:") or flag in rows[variable]
            assert re.search(rf"^  {flag}\b", done.stdout, re.MULTILINE), f"{flag} missing from {command}"
    if "TAVUS_API_KEY" in documented:
        assert "https://platform.tavus.io" in done.stdout
    if command == ("sandbox-api",):
        assert re.search(r"^  --port PORT\s+port to listen on \(default 8765\)", done.stdout, re.MULTILINE)
    # Every setting flag, before or after the command (--help lists the command's own).
    for flag in ("--sandbox", "--timeout", "--log-level", "--test-mode", "--api-base-url"):
        assert re.search(rf"^  {flag}\b", done.stdout, re.MULTILINE), f"{flag} missing from {command}"
    # Pages are named by an address that exists wherever the command is installed, never a checkout's path.
    assert not re.search(r"(?<![/\w])docs/\w+\.md", done.stdout), done.stdout
    assert done.stdout.rstrip().endswith(f"documentation: {doc_url('README.md')}")
    assert exit_statuses(done.stdout), f"no exit statuses in the help of {command}"


def help_rows(text: str) -> dict[str, str]:
    """The rows of a help page's epilog tables (`  NAME  text` and its continuation lines), name to text."""
    rows: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        row = re.match(r"^  (\S+) +(\S.*)$", line)
        if row and not line.startswith("  -"):
            name = row.group(1)
            rows[name] = row.group(2)
        elif name and re.match(r"^ {5,}\S", line):
            rows[name] += " " + line.strip()
        else:
            name = None
    return rows


def exit_statuses(help_text: str) -> dict[int, str]:
    """The `exit status:` table of a help page."""
    table = help_text.split("\nexit status:\n", 1)[1].split("\n\n", 1)[0]
    return {int(code): text for code, text in help_rows("\n" + table).items()}


@functools.cache
def help_of(*command: str) -> str:
    """`mcp-server-tavus COMMAND --help`, as printed (in this process: the page is the parser's alone)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        _parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    return printed.getvalue()


def documented_exit(command: str) -> dict[int, str]:
    return exit_statuses(help_of(*([command] if command else [])))


def test_every_setting_the_readme_names_is_in_the_help_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"^\| `(TAVUS_\w+)` \| (.*?) \| (.*?) \|", settings, re.MULTILINE)
    assert len(table) >= 15
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    http_table = re.findall(r"^\| `(TAVUS_MCP_\w+)` \| (.*?) \| (.*?) \|", deployment, re.MULTILINE)
    assert len(http_table) >= 8
    rows = help_rows(help_of())
    for variable, flag, default in [*table, *http_table]:
        assert variable in rows, f"{variable} (README) is missing from --help"
        if flag != "(none)":
            assert flag.strip("`") in rows[variable], (variable, rows[variable])
        expected = "(no default" if default == "(none)" else f"(default {default.split()[0].strip('`')}"
        assert expected in rows[variable], (variable, default, rows[variable])
    assert set(rows) >= set(SETTINGS_HELP) | set(HTTP_HELP)


def test_the_help_names_only_pages_that_exist() -> None:
    """Every address of the project's pages in any help page (and the settings' errors) names a file of this
    repository, and its #anchor a heading of that file."""
    texts = [help_of(*command) for command in [(), *((c,) for c in COMMANDS)]]
    addresses = {url for text in texts for url in re.findall(re.escape(DOCS_URL) + r"/[\w./#-]*[\w/-]", text)}
    assert addresses
    for address in addresses:
        path, _, anchor = address.removeprefix(DOCS_URL + "/").partition("#")
        page = ROOT / path
        assert page.is_file(), address
        if anchor:
            assert anchor in anchors(page), address


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_the_help_lists_the_exit_statuses(command: str) -> None:
    statuses = documented_exit(command)
    assert 0 in statuses and EXIT_BAD_SETTING in statuses
    assert (1 in statuses) == (command in ("check", "demo"))
    assert (EXIT_CANNOT_LISTEN in statuses) == (command in ("", "serve", "sandbox-api"))


# A server process apiece: the placements not quick here are quick for every command in
# test_a_bad_settings_flag_is_refused_before_or_after_every_command, which needs no server.
@pytest.mark.parametrize(
    "args",
    [
        ("--sandbox", "serve"),
        pytest.param(("serve", "--sandbox"), marks=pytest.mark.slow),
        # Without a key the server says how to set one: quick over stdio in test_stdio.py.
        pytest.param(("serve",), marks=pytest.mark.slow),
        pytest.param(("--sandbox",), marks=pytest.mark.slow),
    ],
    ids=["before-serve", "after-serve", "serve-without-key", "bare"],
)
def test_serve_takes_its_flags_before_or_after_the_command(args: tuple[str, ...]) -> None:
    # With stdin closed the server ends at once; the log says whether it served the sandbox.
    done = run_cli(*args)

    assert done.returncode == 0, done.stderr
    # stdout is the protocol's: nothing on it, as nothing else on stderr but the log's information.
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and "level=error" not in done.stderr, done.stderr
    sandboxed = "--sandbox" in args
    assert ("serving against the embedded Tavus sandbox" in done.stderr) == sandboxed, done.stderr
    assert ("TAVUS_API_KEY is not set" in done.stderr) == (not sandboxed), done.stderr
    if not sandboxed:
        assert "https://platform.tavus.io" in done.stderr


def test_a_flag_after_the_command_overrides_only_what_it_names() -> None:
    done = run_main("--timeout", "abc", "serve", "--sandbox")
    assert (done.returncode, done.stderr) == (
        2,
        "mcp-server-tavus: --timeout must be a number of seconds above 0, such as 30; got 'abc'\n",
    )


CONSOLE_SCRIPT = str(Path(sys.executable).parent / "mcp-server-tavus")


@pytest.mark.stdio
@pytest.mark.parametrize(
    ("launch", "args"),
    [
        ([sys.executable, "-m", "tavus_mcp"], ()),
        ([sys.executable, "-m", "tavus_mcp"], ("--sandbox",)),
        # The same command as bare, named: a process apiece.
        pytest.param([sys.executable, "-m", "tavus_mcp"], ("serve",), marks=pytest.mark.slow),
        ([CONSOLE_SCRIPT], ()),
    ],
    ids=["bare", "sandbox", "serve", "console-script"],
)
def test_started_in_a_terminal_it_says_what_it_waits_for(launch: list[str], args: tuple[str, ...]) -> None:
    """On a terminal (stdin a TTY) the stdio server explains itself on stderr, then serves as ever."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    terminal, terminal_side = pty.openpty()
    process = subprocess.Popen(
        [*launch, *args],
        env={**clean, "TAVUS_LOG_LEVEL": "WARNING"},
        stdin=terminal_side,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(terminal_side)
    try:
        assert process.stderr is not None
        notice = b""
        while b'"mcpServers"' not in notice or not notice.rstrip().endswith(b"}"):
            chunk = process.stderr.read1(4096)  # type: ignore[attr-defined]
            assert chunk, notice.decode()
            notice += chunk
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=TIMEOUT)
        os.close(terminal)
    text = notice.decode()
    sandbox = ", against the embedded Tavus sandbox" if args == ("--sandbox",) else ""
    assert text[: text.index("{")] == (
        f"mcp-server-tavus {__version__} is serving MCP over stdio{sandbox}. It waits for an MCP client such as\n"
        "Claude Desktop, which starts it and talks to it through stdin and stdout, so it shows nothing here.\n"
        "Ctrl+C stops it.\n\n"
        "  See what it does:      mcp-server-tavus demo\n"
        "  Check your Tavus key:  mcp-server-tavus check\n"
        "  Use it from Claude Desktop: add this to claude_desktop_config.json (Settings > Developer > Edit\n"
        '  Config), then restart Claude Desktop. To try it without a key, add "--sandbox" to "args" and leave\n'
        '  out "env".\n'
    ), text
    config = json.loads(text[text.index("{") : text.rindex("}") + 1])
    assert config == {
        "mcpServers": {
            "tavus": {
                "command": launch[0],
                "args": launch[1:],
                "env": {"TAVUS_API_KEY": "your-tavus-api-key"},
            }
        }
    }
    assert stdout == b""  # stdout is the protocol's, even for the notice


@pytest.mark.stdio
@pytest.mark.slow  # a process; ending when stdin closes, nothing on stdout: quick in test_serve_takes_its_flags_...
def test_server_exits_cleanly_when_stdin_closes() -> None:
    # An MCP client ends a stdio server by closing its stdin; the server must exit on its own, writing nothing.
    done = run_cli(env={"TAVUS_API_KEY": "fake-tavus-key-for-tests", "TAVUS_LOG_LEVEL": "WARNING"})

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


# `check`: one call to Tavus, a plain verdict


def test_check_without_a_key_says_to_set_it_and_where_to_get_one() -> None:
    done = run_main("check")
    assert done.returncode == 1
    assert done.stdout == (
        "TAVUS_API_KEY is not set. Set it to your Tavus API key in the environment the server runs in, e.g. the "
        '"env" block of its entry in claude_desktop_config.json. Create a key in the Tavus developer portal, '
        "https://platform.tavus.io (API Key, in the sidebar; https://docs.tavus.io/api-reference/authentication "
        "shows how). Or try the server without a key: mcp-server-tavus --sandbox.\n"
    )


@pytest.mark.parametrize("args", [("--sandbox", "check"), ("check", "--sandbox")], ids=["before", "after"])
def test_check_against_the_embedded_sandbox_claims_no_key(args: tuple[str, ...]) -> None:
    done = run_main(*args)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "ok: the installation works; the embedded Tavus sandbox answered and offers 4 replicas. No key was checked: "
        "run mcp-server-tavus check without --sandbox to check TAVUS_API_KEY against Tavus.\n",
        "",
    )


def test_check_with_a_working_key(sandbox: Sandbox) -> None:
    done = run_main("check", env={"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url})
    assert (done.returncode, done.stdout) == (
        0,
        f"ok: Tavus at {sandbox.base_url} accepted the key; the account can use 4 replicas.\n",
    )
    assert [(r.path, r.query) for r in sandbox.emulator.received] == [("/v2/replicas", {"limit": "1"})]
    assert done.stderr == ""


def test_check_with_a_refused_key(sandbox: Sandbox) -> None:
    done = run_main("check", env={"TAVUS_API_KEY": "not-the-key", "TAVUS_API_BASE_URL": sandbox.base_url})
    assert done.returncode == 1
    assert done.stdout == (
        "Tavus rejected the API key (HTTP 401: Invalid access token). The key in TAVUS_API_KEY is wrong, revoked or "
        "restricted: set a valid key in the server's environment and restart the server. Create a key in the "
        "Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar; "
        "https://docs.tavus.io/api-reference/authentication shows how).\n"
    )
    assert "not-the-key" not in done.stdout + done.stderr


def test_check_when_tavus_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = run_main("check", env={"TAVUS_API_KEY": "some-key", "TAVUS_API_BASE_URL": base_url, "TAVUS_TIMEOUT": "3"})
    assert done.returncode == 1
    assert done.stdout == (
        f"Could not connect to Tavus at {base_url}; the request never reached Tavus. Check the network, any proxy or "
        "firewall, and TAVUS_API_BASE_URL, then try again.\n"
    )


def test_check_with_a_malformed_base_url() -> None:
    done = run_main("check", env={"TAVUS_API_KEY": "some-key", "TAVUS_API_BASE_URL": "tavusapi.com"})
    assert done.returncode == 2
    assert done.stderr == (
        "mcp-server-tavus: TAVUS_API_BASE_URL (--api-base-url) must be an absolute http(s) URL such as "
        "'https://tavusapi.com', got 'tavusapi.com'\n"
    )


# Flags before or after every command


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_bad_settings_flag_is_refused_before_or_after_every_command(command: str, where: str) -> None:
    args = ("--timeout", "abc", command) if where == "before" else (command, "--timeout", "abc")
    done = run_main(*args, env={"TAVUS_MCP_USERS_FILE": "unused.toml"})
    assert (done.returncode, done.stdout, done.stderr) == (
        EXIT_BAD_SETTING,
        "",
        "mcp-server-tavus: --timeout must be a number of seconds above 0, such as 30; got 'abc'\n",
    )
    assert EXIT_BAD_SETTING in documented_exit(command)


USERS_WITHOUT_KEYS = """
[[users]]
name = "alice"
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
tavus_api_key_env = "ALICE_TAVUS_API_KEY"
"""


@pytest.mark.parametrize(
    "args",
    [("--sandbox", "check-users"), ("check-users", "--sandbox")],
    ids=["before", "after"],
)
def test_check_users_in_the_sandbox_needs_no_keys(args: tuple[str, ...], tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text(USERS_WITHOUT_KEYS, encoding="utf-8")
    done = run_main(*args, env={"TAVUS_MCP_USERS_FILE": str(users)})
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"{users}: 1 users\nalice: signs in by token; key from the sandbox (an account of their own); test_mode=false\n"
    )
    # Without the sandbox, the same file needs alice's key.
    refused = run_main("check-users", env={"TAVUS_MCP_USERS_FILE": str(users)})
    assert refused.returncode == EXIT_BAD_SETTING
    assert "ALICE_TAVUS_API_KEY (tavus_api_key_env) is not set" in refused.stderr


@pytest.mark.stdio
@pytest.mark.slow  # a demo apiece (two processes, a sandbox call); the demo itself is quick in test_demo
@pytest.mark.parametrize(
    "args", [("--test-mode", "demo", "--sandbox"), ("demo", "--test-mode")], ids=["before", "after"]
)
def test_the_demo_takes_the_settings_flags_and_passes_them_on(args: tuple[str, ...]) -> None:
    done = run_cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    # --test-mode reached the server the demo started: its conversation is a test, with no call to wait for.
    structured = json.loads(re.search(r"\nStructured result:\n(\{\n.*?\n\})\n", done.stdout, re.DOTALL).group(1))  # type: ignore[union-attr]
    assert structured["test_mode"] is True


# One line for every start-up failure, and the status the help lists


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("where", [pytest.param("before", marks=pytest.mark.slow), "after"])
def test_sandbox_api_on_a_port_in_use_says_so_in_one_line(where: str) -> None:
    sock, port = _busy_port()
    with sock:
        args = ("--port", str(port), "sandbox-api") if where == "before" else ("sandbox-api", "--port", str(port))
        done = run_cli(*args)
    assert (done.returncode, done.stdout, done.stderr) == (
        EXIT_CANNOT_LISTEN,
        "",
        f"mcp-server-tavus: cannot listen on 127.0.0.1:{port}: port {port} is already in use by another program. "
        "Stop that program, or choose another port with --port\n",
    )
    assert "cannot listen" in documented_exit("sandbox-api")[EXIT_CANNOT_LISTEN]


def test_serve_over_http_on_a_port_in_use_says_so_in_one_line() -> None:
    sock, port = _busy_port()
    with sock:
        done = run_cli("serve", "--transport", "http", "--port", str(port))
    assert (done.returncode, done.stdout) == (EXIT_CANNOT_LISTEN, "")
    [line] = done.stderr.splitlines()
    assert line.endswith(
        f'msg="cannot listen on 127.0.0.1:{port}: port {port} is already in use by another program. Stop that '
        'program, or choose another port with --port or TAVUS_MCP_PORT"'
    )
    assert "cannot listen" in documented_exit("serve")[EXIT_CANNOT_LISTEN]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("sandbox-api", "--port", "http"), {}, "--port must be a whole number from 0 to 65535; got 'http'"),
        (("demo",), {"TAVUS_TEST_MODE": "yes"}, "TAVUS_TEST_MODE must be 1 (on) or 0 (off); got 'yes'"),
        (("check",), {"TAVUS_SANDBOX": "true"}, "TAVUS_SANDBOX must be 1 (on) or 0 (off); got 'true'"),
        (
            ("serve",),
            {"TAVUS_POLL_INTERVAL": "never"},
            "TAVUS_POLL_INTERVAL must be a number of seconds above 0, such as 5; got 'never'",
        ),
        (
            ("serve", "--transport", "http"),
            {"TAVUS_MCP_USERS_FILE": "/nonexistent/users.toml"},
            "TAVUS_MCP_USERS_FILE /nonexistent/users.toml cannot be read (No such file or directory)",
        ),
        (
            ("check-users",),
            {"TAVUS_MCP_USERS_FILE": "/nonexistent/users.toml"},
            "TAVUS_MCP_USERS_FILE /nonexistent/users.toml cannot be read (No such file or directory)",
        ),
    ],
    ids=["sandbox-api-port", "demo-test-mode", "check-sandbox", "serve-poll", "serve-users-file", "check-users-file"],
)
def test_every_command_refuses_a_bad_setting_or_a_missing_file_in_one_line(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    done = run_main(*args, env={"TAVUS_API_KEY": "fake-tavus-key-for-tests", **env})
    assert (done.returncode, done.stdout, done.stderr) == (EXIT_BAD_SETTING, "", f"mcp-server-tavus: {message}\n")
    assert EXIT_BAD_SETTING in documented_exit(args[0])


def test_the_server_refuses_the_exit_status_uvicorn_takes_for_a_failed_start() -> None:
    from uvicorn.config import STARTUP_FAILURE

    assert EXIT_CANNOT_LISTEN == STARTUP_FAILURE
