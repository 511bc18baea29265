"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the server over Streamable HTTP.

scripts/install-client-tools.sh installs the suite's pinned version into .tools/conformance, with Node 22 (it needs
fs.globSync, which Node 20 lacks). One `python -m tavus_mcp --transport http --sandbox` process serves loopback;
each test runs one of the suite's server scenarios against its `/mcp`, at one protocol version, the way its README
says to: `conformance server --url URL --scenario NAME --spec-version VERSION`, then reads the checks.json it writes.

The scenarios are the generic ones, which any server must pass whatever tools it has. The suite's other server
scenarios need its own fixtures (tools such as `test_simple_text` and `json_schema_2020_12_tool`, prompts, resources,
a tool with `x-mcp-header` annotations), capabilities this server does not declare (logging, completions,
resources/subscribe), sessions (this server is stateless) or the tasks extension, so they are not run.

Some checks of the scenarios run here call one of the suite's diagnostic fixture tools too; this server answers
those with the SDK's "Unknown tool: NAME" error result, and NOT_PASSED lists what the suite then reports. Three of
the four input-required-result scenarios are all such calls (input-required-result-unsupported-methods is fully
generic): what they check here is that the server answers a call carrying `inputResponses` with a well-formed
result or a JSON-RPC error, never with an `input_required` result it could not follow up.

Without the tools the tests skip, saying how to install them; with TAVUS_REQUIRE_CLIENT_TOOLS=1 (for CI) they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ServerProcess, running_server
from tests.test_third_party_clients import INSTALL, NODE, TOOLS

pytestmark = pytest.mark.conformance

CONFORMANCE = TOOLS / "conformance" / "node_modules" / "@modelcontextprotocol" / "conformance"
CONFORMANCE_BIN = CONFORMANCE / "dist" / "index.js"

STATEFUL = "2025-11-25"  # the initialize handshake
STATELESS = "2026-07-28"  # per-request _meta; the suite's draft-only scenarios run only here

# (scenario, protocol version): the scenarios that apply to both eras run in both.
BOTH_ERAS = ("tools-list", "resources-list", "prompts-list", "dns-rebinding-protection")
SCENARIOS = [
    ("server-initialize", STATEFUL),
    ("ping", STATEFUL),
    ("server-stateless", STATELESS),
    *((name, version) for name in BOTH_ERAS for version in (STATEFUL, STATELESS)),
    ("sep-2164-resource-not-found", STATELESS),
    ("caching", STATELESS),
    ("http-header-validation", STATELESS),
    ("input-required-result-missing-input-response", STATELESS),
    ("input-required-result-unsupported-methods", STATELESS),
    ("input-required-result-ignore-extra-params", STATELESS),
    ("input-required-result-validate-input", STATELESS),
]

# The checks this server does not pass, and their status: each calls a diagnostic fixture tool of the suite's.
NOT_PASSED = {
    "server-stateless": {
        # test_missing_capability needs the client's sampling capability: the suite expects -32021 and HTTP 400.
        "sep-2575-server-rejects-undeclared-capability": "FAILURE",
        "sep-2575-missing-capability-http-400": "FAILURE",
        # test_trigger_tool_change and test_trigger_prompt_change change a list, so that a list_changed follows.
        # (This server's lists never change; the SDK declares listChanged at 2026-07-28 as it serves
        # subscriptions/listen.)
        "sep-2575-server-sends-tools-list-changed-on-subscription": "WARNING",
        "sep-2575-server-sends-prompts-list-changed-on-subscription": "WARNING",
    },
    # test_input_required_result_elicitation asks for input: its fixture would re-request a missing answer, and
    # reject `inputResponses: null` (which the SDK reads as absent).
    "input-required-result-missing-input-response": {"sep-2322-missing-response-rerequests": "WARNING"},
    "input-required-result-validate-input": {"sep-2322-error-on-protocol-error": "WARNING"},
}
# Scenarios made of raw HTTP requests, which the suite does not validate against the spec's JSON schema.
NO_WIRE_SCHEMA_CHECK = {"dns-rebinding-protection", "server-stateless"}

# A scenario takes under a second (server-stateless about 10 s: it waits on listen streams); the suite's own
# per-scenario timeout is 30 s.
SUITE_TIMEOUT = 120.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`python -m tavus_mcp --transport http --sandbox` on a free loopback port: no key, no TAVUS_* variable."""
    if not (NODE.exists() and CONFORMANCE_BIN.exists()):
        message = f"The MCP conformance suite (with Node 22) is not installed in .tools/: run {INSTALL}"
        if os.environ.get("TAVUS_REQUIRE_CLIENT_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    log_path = tmp_path_factory.mktemp("conformance") / "server.log"
    env = {"PATH": os.environ.get("PATH", ""), "TAVUS_LOG_LEVEL": "INFO"}
    with running_server(log_path, env, "--sandbox") as server:
        yield server


def run_scenario(server: ServerProcess, scenario: str, version: str, home: Path) -> tuple[list[dict[str, Any]], str]:
    """Run one scenario; its checks as the suite wrote them, and what it printed (for a failure's message)."""
    out = home / "results"
    options = ["--spec-version", version, "--output-dir", str(out)]
    if scenario in NOT_PASSED:
        # The suite's own per-check baseline: it then exits 0 if exactly these fail or warn, 1 if one passes.
        baseline = home / "expected-failures.yml"
        baseline.write_text("server:\n" + "".join(f"  - {scenario}:{check}\n" for check in NOT_PASSED[scenario]))
        options += ["--expected-failures", str(baseline)]
    completed = subprocess.run(
        [str(NODE), str(CONFORMANCE_BIN), "server", "--url", server.url, "--scenario", scenario, *options],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        env={"PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home)},
        cwd=home,
        check=False,
    )
    printed = _ANSI.sub("", completed.stdout + completed.stderr)
    report = f"conformance exited with {completed.returncode}:\n{printed}\n--- server log ---\n{server.log()}"
    results = list(out.glob(f"server-{scenario}-*/checks.json"))
    assert len(results) == 1, f"expected one checks.json for {scenario}, found {results}\n{report}"
    checks: list[dict[str, Any]] = json.loads(results[0].read_text())
    assert completed.returncode == 0, report
    return checks, report


@pytest.mark.parametrize(("scenario", "version"), SCENARIOS, ids=[f"{name}@{version}" for name, version in SCENARIOS])
def test_scenario_passes(server: ServerProcess, tmp_path: Path, scenario: str, version: str) -> None:
    checks, report = run_scenario(server, scenario, version, tmp_path)

    statuses = {(check["id"], check["status"]) for check in checks}
    assert checks, f"{scenario} ran no check\n{report}"
    # Every check passed but for those listed; none failed, warned or was skipped (a skip checks nothing).
    not_passed = {(id_, status) for id_, status in statuses if status not in ("SUCCESS", "INFO")}
    expected = set(NOT_PASSED.get(scenario, {}).items())
    assert not_passed <= expected, f"{scenario} at {version}: {sorted(not_passed - expected)}\n{report}"
    # Every message the server sent is valid against the spec's JSON schema for this version.
    assert ("wire-schema-valid", "SUCCESS") in statuses or scenario in NO_WIRE_SCHEMA_CHECK, report
