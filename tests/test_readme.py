"""The README, run as written: every shell, JSON and Python block, against the Tavus emulator on loopback.

A reader who has installed the server (`uv tool install .`) has `mcp-server-tavus` on PATH; here that is the
checkout's `.venv/bin`, in a fresh home. The emulator accepts the README's placeholder key, and
TAVUS_API_BASE_URL points at it, so `mcp-server-tavus check` with "your-tavus-api-key" succeeds as a reader's
real key would. Blocks:

- shell (`bash`): run with `bash -e`, must exit 0. The MCP Inspector's commands run with Node 22 from `.tools/`
  (marker `clients`).
- JSON: a client's config (and the Claude Code command) starts the server exactly as it says (command, args, env;
  the placeholder path is the installed command) through an MCP client, which lists the tools and creates a
  conversation; configs that launch the same command with the same env share one start. Any other JSON is
  `create_conversation` arguments, which must create a conversation from exactly that body.
- Python: run as a script, which must exit 0 and print a join link. The agent frameworks' scripts run in
  `.tools/clients-venv` against a stand-in for OpenAI's API (`tests/snippets.py`).
- `<!-- not run: reason -->` before a block skips it (rare, and each says why); `<!-- slow: ... -->` marks the
  install blocks, run by the slow tests below; `<!-- run by .ci/run: ... -->` marks the quick start, which CI runs
  on a clean machine.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import venv
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import ListToolsResult

from tavus_mcp.cli import _parser
from tests.conftest import Sandbox, connect, text_of
from tests.snippets import JOIN_URL, ROOT, VENV_BIN, CodeBlock, code_blocks, fake_openai, reader_env
from tests.test_third_party_clients import CLIENTS_PYTHON, CLIENTS_VENV, INSPECTOR, NODE, _missing

README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
BLOCKS = code_blocks(README_PATH)
PLACEHOLDER_KEY = "your-tavus-api-key"
PLACEHOLDER_COMMAND = "/path/to/mcp-server-tavus"
INSTALLED_COMMAND = str(VENV_BIN / "mcp-server-tavus")
RUN_TIMEOUT = 180
AGENT_MODULES = ("agents", "pydantic_ai", "fastmcp")


def _runnable_blocks(lang: str) -> list[CodeBlock]:
    return [
        block
        for block in BLOCKS
        if block.lang == lang and block.not_run_reason is None and not block.slow and not block.run_by_ci
    ]


def _runnable(lang: str) -> list[Any]:
    params = []
    for block in _runnable_blocks(lang):
        needs_clients = "npx @modelcontextprotocol/inspector" in block.body or _needs_agents(block)
        params.append(pytest.param(block, id=block.id, marks=[pytest.mark.clients] if needs_clients else []))
    return params


def _needs_agents(block: CodeBlock) -> bool:
    return block.lang == "python" and bool(
        re.search(rf"^(?:from|import) ({'|'.join(AGENT_MODULES)})\b", block.body, re.MULTILINE)
    )


@pytest.fixture
def reader_sandbox(sandbox: Sandbox) -> Sandbox:
    """The emulator, accepting the README's placeholder key as it would a reader's real one."""
    sandbox.emulator.api_keys = (*sandbox.emulator.api_keys, PLACEHOLDER_KEY)
    return sandbox


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


# What the README is made of


def test_every_block_is_runnable_or_says_why_not() -> None:
    langs = {block.lang for block in BLOCKS}
    assert langs <= {"bash", "json", "python", "text"}, langs
    for block in BLOCKS:
        if block.note:
            assert block.not_run_reason or block.slow or block.run_by_ci, f"unknown note before {block.id}"
        if block.not_run_reason is not None:
            assert len(block.not_run_reason.split()) >= 4, f"{block.id}: say why it is not run"
    # Rare: the clone (needs github.com) and Claude Code (needs its CLI; its server command is started below).
    assert [block.section for block in BLOCKS if block.not_run_reason] == ["Quick start", "Claude Code"]


def test_the_quick_start_block_holds_exactly_two_commands() -> None:
    [quick] = [block for block in BLOCKS if block.run_by_ci]
    assert quick.section == "Quick start"
    demo, tests = quick.body.splitlines()
    assert demo.endswith(".venv/bin/mcp-server-tavus demo")
    assert tests.endswith('.venv/bin/python -m pytest -n auto -m "not slow"')


def test_commands_needing_the_package_index_are_not_shown_as_working_today() -> None:
    for block in BLOCKS:
        if block.lang in ("bash", "json"):
            assert "uvx" not in block.body and "install mcp-server-tavus" not in block.body, block.id
    assert "Once the package is published on PyPI (it is not yet), `uvx mcp-server-tavus`" in README


def test_inline_commands_parse() -> None:
    """Every `mcp-server-tavus ...` in running text is a command line the CLI accepts."""
    inline = re.findall(r"`(mcp-server-tavus(?: [^`]*)?)`", README)
    assert len(inline) >= 8
    for command in inline:
        arguments = shlex.split(command)[1:]
        if "COMMAND" in arguments:
            continue
        try:
            _parser().parse_args(arguments)
        except SystemExit as exit_:
            pytest.fail(f"`{command}` does not parse (exit {exit_.code})")


# Everything the server lists costs context in every conversation: its tools/list answer stays under this, with the
# default toolsets; with every toolset on (28 tools), under the second (half the official Tavus server's 81 KB).
TOOLS_LIST_BUDGET = 28_000
ALL_TOOLSETS_BUDGET = 42_000


def _tools_list_on_the_wire(era: str, toolsets: str) -> bytes:
    """The JSON-RPC answer to tools/list exactly as the server writes it to stdout, in one protocol era (with
    TAVUS_TOOLSETS set to `toolsets`)."""
    if era == "2025-11-25":
        initialize = {"protocolVersion": era, "capabilities": {}, "clientInfo": {"name": "measure", "version": "1"}}
        messages: list[dict[str, Any]] = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
        ]
    else:
        meta = {
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientInfo": {"name": "measure", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        messages = [{"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}}]
    process = subprocess.Popen(
        [sys.executable, "-m", "tavus_mcp", "--sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={
            "PATH": os.environ.get("PATH", ""),
            "TAVUS_LOG_LEVEL": "WARNING",
            "TAVUS_TOOLSETS": toolsets,
        },
    )
    assert process.stdin is not None and process.stdout is not None
    # Stdin stays open until the answer is in: a server whose stdin closes stops, answered or not.
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        process.stdin.write("".join(json.dumps(message) + "\n" for message in messages).encode())
        process.stdin.flush()
        answer = b""
        while not answer:
            line = process.stdout.readline()
            assert line, "the server closed its stdout without answering tools/list"
            answer = line.rstrip(b"\n") if json.loads(line).get("id") == 2 else b""
    finally:
        watchdog.cancel()
        process.stdin.close()
        process.wait(timeout=30)
    assert "tools" in json.loads(answer)["result"], answer[:200]
    return answer


STATED_SIZES = {
    "default": r"The `tools/list` result .*? is \*\*([\d,]+)\s+bytes\*\*",
    "all": r"with every\s+toolset on \(28 tools\),\s+\*\*([\d,]+)\s+bytes\*\*",
}
TOOLSETS = {"default": (18, TOOLS_LIST_BUDGET), "all": (28, ALL_TOOLSETS_BUDGET)}


def _stated_size(toolsets: str) -> str:
    figure = re.search(STATED_SIZES[toolsets], README, re.DOTALL)
    assert figure is not None
    return figure.group(1)


def _as_a_client_measures(result: ListToolsResult) -> str:
    """The README's measure: the `tools/list` result as compact JSON, as the SDK's client returns it (and
    bench/run.py reports), not the JSON-RPC envelope around it."""
    return f"{len(result.model_dump_json(by_alias=True, exclude_none=True).encode()):,}"


@pytest.mark.stdio
@pytest.mark.parametrize("toolsets", ["default", "all"])
def test_the_tools_list_answer_fits_its_budget_and_is_the_size_stated(toolsets: str) -> None:
    answer = _tools_list_on_the_wire("2026-07-28", toolsets)
    count, budget = TOOLSETS[toolsets]
    assert len(answer) < budget, len(answer)
    result = ListToolsResult.model_validate(json.loads(answer)["result"])
    assert len(result.tools) == count
    assert _as_a_client_measures(result) == _stated_size(toolsets)


@pytest.mark.stdio
@pytest.mark.slow  # a process apiece; the 2026-07-28 answers are quick above
@pytest.mark.parametrize("toolsets", ["default", "all"])
def test_the_2025_tools_list_answer_fits_its_budget(toolsets: str) -> None:
    answer = _tools_list_on_the_wire("2025-11-25", toolsets)
    count, budget = TOOLSETS[toolsets]
    assert len(answer) < budget, len(answer)
    assert len(json.loads(answer)["result"]["tools"]) == count


@pytest.mark.stdio
@pytest.mark.slow  # a process apiece; the same measure of the answer on the wire is quick above
@pytest.mark.anyio
@pytest.mark.parametrize("toolsets", ["default", "all"])
async def test_the_stated_tools_list_sizes_are_what_a_client_measures(toolsets: str) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tavus_mcp", "--sandbox", "--toolsets", toolsets],
        env={"TAVUS_LOG_LEVEL": "WARNING"},
    )
    async with Client(server, read_timeout_seconds=60) as client:
        listed = await client.list_tools()
    assert _as_a_client_measures(listed) == _stated_size(toolsets)


# Shell blocks


@pytest.mark.stdio
@pytest.mark.parametrize("block", _runnable("bash"))
def test_shell_block_runs(block: CodeBlock, reader_sandbox: Sandbox, tmp_path: Path) -> None:
    env = reader_env(tmp_path, TAVUS_API_BASE_URL=reader_sandbox.base_url)
    cwd = tmp_path
    if "npx @modelcontextprotocol/inspector" in block.body:
        if not (NODE.exists() and INSPECTOR.exists()):
            _missing("The MCP Inspector (with Node 22)")
        # npx runs the Inspector installed in .tools/ (offline: it must not fetch another), with Node 22 first.
        env.update(PATH=f"{NODE.parent}{os.pathsep}{env['PATH']}", npm_config_offline="true")
        cwd = INSPECTOR.parents[2]

    done = _run(["bash", "-e", "-c", block.body], env, cwd)

    assert done.returncode == 0, f"{block.body}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    if "mcp-server-tavus check" in block.body:
        assert done.stdout.startswith("ok: "), done.stdout
    if "command -v mcp-server-tavus" in block.body:
        assert done.stdout == f"{INSTALLED_COMMAND}\n"
    if "--method tools/call" in block.body:
        assert JOIN_URL.search(done.stdout), done.stdout


def test_check_against_the_readme_key_prints_what_the_readme_says(reader_sandbox: Sandbox, tmp_path: Path) -> None:
    [block] = [block for block in _runnable_blocks("bash") if "mcp-server-tavus check\n" in block.body]
    done = _run(
        ["bash", "-e", "-c", block.body], reader_env(tmp_path, TAVUS_API_BASE_URL=reader_sandbox.base_url), ROOT
    )
    stated = re.search(r"`(ok: Tavus at https://tavusapi\.com accepted the key; .*?)`", README)
    assert stated is not None
    expected = (
        stated.group(1).replace("https://tavusapi.com", reader_sandbox.base_url).replace("N replicas", "4 replicas")
    )
    assert done.stdout == expected + "\n"


# JSON blocks, and the Claude Code command: client configurations


def _config(block: CodeBlock) -> dict[str, Any] | None:
    data: dict[str, Any] = json.loads(block.body)
    servers: dict[str, Any] | None = data.get("mcpServers") or data.get("servers")
    return servers["tavus"] if servers else None


def _claude_code_launch() -> tuple[list[str], dict[str, str]]:
    """The server command and environment of the README's `claude mcp add` line."""
    [block] = [block for block in BLOCKS if block.section == "Claude Code"]
    words = shlex.split(block.body)
    assert words[:4] == ["claude", "mcp", "add", "tavus"]
    name, value = words[words.index("--env") + 1].split("=", 1)
    return words[words.index("--") + 1 :], {name: value}


def _json_launch(entry: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """A JSON config's server command and environment, the VS Code input filled in as VS Code would."""
    env = {name: value.replace("${input:tavus-api-key}", PLACEHOLDER_KEY) for name, value in entry["env"].items()}
    return [entry["command"], *entry.get("args", [])], env


def _configured_launches() -> dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[str]]:
    """Each distinct server launch the client configurations describe, with the blocks describing it: several
    clients' configurations start the same command with the same environment, which need start only once."""
    launches: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[str]] = {}
    described = [(block.id, _config(block)) for block in _runnable_blocks("json")]
    for name, (command, env) in [
        *((name, _json_launch(entry)) for name, entry in described if entry is not None),
        ("claude-code", _claude_code_launch()),
    ]:
        launches.setdefault((tuple(command), tuple(sorted(env.items()))), []).append(name)
    return launches


LAUNCHES = _configured_launches()


@pytest.mark.parametrize("block", _runnable("json"))
@pytest.mark.anyio
async def test_json_block_works(block: CodeBlock, reader_sandbox: Sandbox) -> None:
    entry = _config(block)
    if entry is None:
        # create_conversation's arguments, as a model sends them: exactly this body reaches Tavus.
        arguments = json.loads(block.body)
        async with connect(reader_sandbox.settings()) as client:
            result = await client.call_tool("create_conversation", arguments)
        assert not result.is_error, text_of(result)
        assert reader_sandbox.creates() == [arguments]
        return

    # A client's configuration: the installed command, with the key in its env; test_each_configured_launch_serves
    # starts it.
    assert entry["command"] == PLACEHOLDER_COMMAND
    assert set(entry) <= {"command", "args", "env", "type"}
    command, env = _json_launch(entry)
    assert env["TAVUS_API_KEY"] == PLACEHOLDER_KEY
    assert block.id in LAUNCHES[tuple(command), tuple(sorted(env.items()))]


def test_the_claude_code_command_starts_the_server_command() -> None:
    command, env = _claude_code_launch()
    assert command == [PLACEHOLDER_COMMAND]
    assert env == {"TAVUS_API_KEY": PLACEHOLDER_KEY}


@pytest.mark.stdio
@pytest.mark.anyio
@pytest.mark.parametrize(("launch", "described_by"), LAUNCHES.items(), ids=["+".join(v) for v in LAUNCHES.values()])
async def test_each_configured_launch_serves(
    launch: tuple[tuple[str, ...], tuple[tuple[str, str], ...]], described_by: list[str], reader_sandbox: Sandbox
) -> None:
    (command, *args), env = launch
    assert command == PLACEHOLDER_COMMAND
    # The client gives the server only the configured env (over its own few defaults); the base URL is the test's.
    server = StdioServerParameters(
        command=INSTALLED_COMMAND, args=args, env={**dict(env), "TAVUS_API_BASE_URL": reader_sandbox.base_url}
    )
    async with Client(server, read_timeout_seconds=60) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        arguments = {} if "--default-persona-id" in args else {"persona_id": "p9a95912"}
        result = await client.call_tool("create_conversation", arguments)
    assert "create_conversation" in tools
    assert not result.is_error, text_of(result)
    assert [body.get("persona_id") for body in reader_sandbox.creates()] == ["p9a95912"]


# Python blocks


@pytest.mark.stdio
@pytest.mark.parametrize("block", _runnable("python"))
def test_python_block_runs(block: CodeBlock, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(block.body, encoding="utf-8")
    env = reader_env(tmp_path)
    python = sys.executable
    if _needs_agents(block):
        if not CLIENTS_PYTHON.exists():
            _missing("pydantic-ai and openai-agents")
        python = str(CLIENTS_PYTHON)
        with fake_openai() as openai:
            done = _run([python, str(script)], {**env, **openai.env()}, tmp_path)
            assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            # The model was offered the tools, called create_conversation, got the link and shared it.
            assert len(openai.requests) == 2
            [output] = openai.tool_outputs
            assert "Join the video call: https://tavus-sandbox.invalid/sandbox/rooms/" in output or JOIN_URL.search(
                output
            )
            [answer] = openai.answers
        assert done.stdout == f"{answer}\n"
        return

    done = _run([python, str(script)], env, tmp_path)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert JOIN_URL.search(done.stdout), done.stdout


def test_the_agent_install_lines_name_what_the_snippets_need() -> None:
    """`pip install 'pydantic-ai-slim[mcp,openai]'`: those extras exist, and the client venv has what they bring."""
    lines = re.findall(r"`pip install ([^`]+)`", README)
    requirements = [word.strip("'") for line in lines for word in line.split() if word.strip("'") != "mcp"]
    assert requirements == ["pydantic-ai-slim[mcp,openai]", "openai-agents"]
    if not CLIENTS_PYTHON.exists():
        _missing("pydantic-ai and openai-agents")
    sys_path = [str(path) for path in CLIENTS_VENV.glob("lib/python3*/site-packages")]
    for requirement in requirements:
        name, _, extras = requirement.partition("[")
        [distribution] = importlib.metadata.distributions(name=name, path=sys_path)
        declared = set(distribution.metadata.get_all("Provides-Extra") or [])
        assert set(extras.rstrip("]").split(",")) - {""} <= declared, (name, declared)


# Installing from the checkout (slow: uv and pipx come from PyPI)


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["uv", "pipx"])
def test_install_block_puts_the_command_on_path(tool: str, tmp_path: Path) -> None:
    [block] = [block for block in BLOCKS if block.slow and block.body.startswith(f"{tool} ")]
    installer = tmp_path / "installer"
    venv.create(installer, with_pip=True)
    done = _run([str(installer / "bin" / "python"), "-m", "pip", "install", "-q", tool], dict(os.environ), tmp_path)
    assert done.returncode == 0, done.stderr
    home = tmp_path / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("TAVUS_", "VIRTUAL_ENV", "PIPX_"))}
    # The reader's PATH: the installer, and ~/.local/bin where both put the command; not the checkout's .venv.
    path = [p for p in env["PATH"].split(os.pathsep) if Path(p).resolve() != VENV_BIN.resolve()]
    env.update(HOME=str(home), PATH=os.pathsep.join([str(installer / "bin"), str(home / ".local" / "bin"), *path]))
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_CACHE="1")

    done = _run(["bash", "-e", "-c", block.body], env, ROOT)

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    from tavus_mcp import __version__

    assert done.stdout.endswith(f"mcp-server-tavus {__version__}\n"), done.stdout
    installed = home / ".local" / "bin" / "mcp-server-tavus"
    assert installed.exists()
    # The installed command serves: its check against the sandbox.
    checked = _run([str(installed), "check", "--sandbox"], env, tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("ok: the installation works"), checked.stdout


@pytest.mark.clients
def test_the_pydantic_ai_snippet_names_a_model_its_provider_has_not_deprecated() -> None:
    """pydantic-ai warns (twice) for a model its provider deprecated: the README names a current one."""
    models = re.findall(r'Agent\("([a-z-]+:[\w.-]+)"', README)
    assert models == ["openai:gpt-6.1-sol"]
    if not CLIENTS_PYTHON.exists():
        _missing("pydantic-ai and openai-agents")
    check = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "from pydantic_ai.models import infer_model\n"
        "model = infer_model(sys.argv[1])\n"
        "assert model.profile.get('deprecation') is None, model.profile.get('deprecation')\n"
    )
    done = _run([str(CLIENTS_PYTHON), "-c", check, models[0]], {**os.environ, "OPENAI_API_KEY": "sk-test"}, ROOT)
    assert done.returncode == 0, done.stderr
