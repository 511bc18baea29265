"""Third-party MCP clients driving the real server, against the Tavus emulator served on loopback.

The clients are the ones people use, installed by scripts/install-client-tools.sh into .tools/:

- the MCP Inspector's CLI (`@modelcontextprotocol/inspector`, on Node 22 from the npm registry);
- pydantic-ai: `MCPToolset` over stdio, called directly and used by an `Agent` run by `TestModel` and by a
  `FunctionModel`;
- openai-agents: `MCPServerStdio`, called directly and used by an `Agent` run by its `ScriptedModel`.

No LLM is involved: the test models decide the tool calls. The Python clients run in their own venv
(.tools/clients-venv) as small scripts, each started with that venv's Python; the server under test is always
`python -m tavus_mcp` from this interpreter (the project's .venv, with its mcp 2.3). The clients install beside
mcp 2.3 too (their venv resolves to it), but keeping them out of .venv leaves it exactly what the quick start
installs, and lets the main suite and mypy run without them.

Every test asserts what a user sees: the tool names the client lists, the exact body the emulator received, and
the join URL in what the client (or the model behind it) got back. Without the tools the tests skip, saying how to
install them; with TAVUS_REQUIRE_CLIENT_TOOLS=1 (for CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jsonschema
import pytest

from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import TOOL_NAMES, Sandbox
from tests.servers import connect, ok

pytestmark = pytest.mark.clients

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools"
NODE = TOOLS / "node" / "node_modules" / ".bin" / "node"
INSPECTOR = TOOLS / "inspector" / "node_modules" / "@modelcontextprotocol" / "inspector"
INSPECTOR_BIN = INSPECTOR / "clients" / "launcher" / "build" / "index.js"
CLIENTS_VENV = TOOLS / "clients-venv"
CLIENTS_PYTHON = CLIENTS_VENV / "bin" / "python"
INSTALL = "scripts/install-client-tools.sh"

# The server under test: this interpreter, so the project's own environment.
SERVER_COMMAND = sys.executable
SERVER_ARGS = ["-m", "tavus_mcp"]

# Bounds each client run: starting the client and the server, the handshake and a call take 1 to 4 seconds.
CLIENT_TIMEOUT = 120.0

REPLICA = "rfe12d8b9597"
PERSONA = "p9a95912"
NO_REPLICA_TEXT = (
    "Invalid arguments for create_conversation; nothing was sent to Tavus. Fix these and call it again:\n"
    "- replica_id, persona_id: give at least one."
)


def _missing(what: str) -> None:
    message = f"{what} is not installed in .tools/: run {INSTALL}"
    if os.environ.get("TAVUS_REQUIRE_CLIENT_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _installed(package: str) -> bool:
    return CLIENTS_PYTHON.exists() and any(CLIENTS_VENV.glob(f"lib/python3*/site-packages/{package}/__init__.py"))


def server_env(sandbox: Sandbox) -> dict[str, str]:
    """The server's environment as a user configures it in the client: the key and the API's base URL."""
    return {"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url}


@dataclass
class Created:
    """The one conversation the emulator holds after a successful create."""

    conversation_id: str
    url: str


def only_conversation(sandbox: Sandbox) -> Created:
    [stored] = sandbox.emulator.conversations.values()
    url = stored["conversation_url"]
    assert url == f"{sandbox.base_url}/sandbox/rooms/{stored['conversation_id']}"
    return Created(stored["conversation_id"], url)


def assert_result_text(text: str, created: Created) -> None:
    """The text a model reads from a successful create: the join link first, then the conversation id."""
    lines = text.splitlines()
    assert lines[0] == f"Join the video call: {created.url}"
    assert any(line.startswith(f"Conversation id: {created.conversation_id} (") for line in lines), text


# The MCP Inspector


@dataclass
class Inspector:
    """`mcp-inspector --cli` run with Node 22, its home in a temporary folder (so it writes nothing in ~)."""

    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(self.home)}
        return subprocess.run(
            [str(NODE), str(INSPECTOR_BIN), "--cli", "--format", "json", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            env=env,
            cwd=self.home,
            check=False,
        )

    def stdio(self, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
        """`mcp-inspector --cli -e KEY=VALUE ... python -m tavus_mcp --method ...`: the server over stdio."""
        env_flags = [flag for key, value in server_env(sandbox).items() for flag in ("-e", f"{key}={value}")]
        return self.run(*env_flags, SERVER_COMMAND, *SERVER_ARGS, *args)


@pytest.fixture
def inspector(tmp_path: Path) -> Inspector:
    if not (NODE.exists() and INSPECTOR_BIN.exists()):
        _missing("The MCP Inspector (with Node 22)")
    home = tmp_path / "inspector-home"
    home.mkdir()
    return Inspector(home)


def inspector_result(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `result` of the one JSON object `--format json` prints on stdout."""
    output: dict[str, Any] = json.loads(completed.stdout)
    return output["result"]  # type: ignore[no-any-return]


def test_inspector_lists_tools(inspector: Inspector, sandbox: Sandbox) -> None:
    # --strict: the Inspector reports tool-schema portability problems and exits 6 on an error-severity one.
    completed = inspector.stdio(sandbox, "--method", "tools/list", "--strict")

    assert completed.returncode == 0, completed.stderr
    tools = inspector_result(completed)["tools"]
    assert [tool["name"] for tool in tools] == TOOL_NAMES
    create = tools[0]
    assert create["title"] == "Start a Tavus video conversation"
    assert create["inputSchema"]["additionalProperties"] is False
    assert "max_call_duration" in create["inputSchema"]["properties"]["properties"]["properties"]
    assert create["annotations"]["idempotentHint"] is False
    assert {"conversation_id", "join_url"} <= set(create["outputSchema"]["required"])
    assert sandbox.emulator.received == []


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_creates_conversation(inspector: Inspector, sandbox: Sandbox, era: str) -> None:
    # --tool-arg key=value as a user types it: the Inspector turns true, 3 and {...} into JSON values.
    completed = inspector.stdio(
        sandbox,
        "--protocol-era",
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "create_conversation",
        "--tool-arg",
        f"persona_id={PERSONA}",
        "conversation_name=Inspector practice",
        "custom_greeting=Hi! Convince me.",
        "require_auth=true",
        "max_participants=3",
        'properties={"max_call_duration": 600, "language": "english"}',
    )

    assert completed.returncode == 0, completed.stderr
    assert sandbox.creates() == [
        {
            "persona_id": PERSONA,
            "conversation_name": "Inspector practice",
            "custom_greeting": "Hi! Convince me.",
            "require_auth": True,
            "max_participants": 3,
            "properties": {"max_call_duration": 600, "language": "English"},
        }
    ]
    created = only_conversation(sandbox)
    token = sandbox.emulator.conversations[created.conversation_id]["meeting_token"]
    result = inspector_result(completed)
    assert result["isError"] is False
    [block] = result["content"]
    lines = block["text"].splitlines()
    # A private room: the link to open carries the meeting token, and the text says to keep it private.
    assert lines[0] == f"Join the video call: {created.url}?t={token}"
    assert lines[1].startswith("This link is private")
    assert any(line.startswith(f"Conversation id: {created.conversation_id} (") for line in lines)
    structured = result["structuredContent"]
    assert structured["join_url"] == f"{created.url}?t={token}"
    assert structured["conversation_url"] == created.url
    # Only what Tavus answered: today's create response no longer lists the replica or persona.
    assert structured["conversation_id"] == created.conversation_id
    assert "replica_id" not in structured
    # Only a 2026-07-28 (modern) result carries the server's identity in _meta: the era really was negotiated.
    if era == "modern":
        assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-server-tavus"
    else:
        assert "_meta" not in result


def test_inspector_tool_error_exits_non_zero(inspector: Inspector, sandbox: Sandbox) -> None:
    completed = inspector.stdio(
        sandbox,
        "--method",
        "tools/call",
        "--tool-name",
        "create_conversation",
        "--tool-arg",
        f"replica_id={REPLICA}",
        'properties={"language": "es"}',
    )

    # The Inspector's exit code for a tool result with isError: a script or CI job sees the failure.
    assert completed.returncode == 5, completed.stderr
    result = inspector_result(completed)
    assert result["isError"] is True
    [block] = result["content"]
    assert block["text"].startswith("Invalid arguments for create_conversation; nothing was sent to Tavus.")
    assert "'es' is a language code; Tavus needs the full language name: use 'Spanish'" in block["text"]
    assert sandbox.emulator.received == []


# The Python agent frameworks, each run as a script in .tools/clients-venv


PYDANTIC_AI_CLIENT = r"""
import asyncio
import json
import sys
from typing import Any

from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent, capture_run_messages
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

job = json.loads(sys.argv[1])


def toolset():
    server = job["server"]
    if "url" in server:
        return MCPToolset(server["url"], headers=server.get("headers"))
    return MCPToolset(StdioTransport(command=server["command"], args=server["args"], env=server["env"]))


def parts(messages: list[ModelMessage]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                seen.append({"kind": "call", "tool": part.tool_name, "args": part.args_as_dict()})
            elif isinstance(part, ToolReturnPart):
                returned = {"kind": "return", "tool": part.tool_name, "content": part.content, "outcome": part.outcome}
                seen.append(returned)
            elif isinstance(part, TextPart):
                seen.append({"kind": "text", "content": part.content})
    return seen


async def direct():
    tools = toolset()
    async with tools:
        listed = await tools.list_tools()
        result = await tools.direct_call_tool("create_conversation", job["arguments"])
        protocol_version = tools.client.protocol_version
    return {"tools": [tool.name for tool in listed], "result": result, "protocol_version": protocol_version}


async def run_agent(model):
    agent = Agent(model, toolsets=[toolset()])
    with capture_run_messages() as messages:
        try:
            output, error = (await agent.run("Start a practice call about price objections.")).output, None
        except UnexpectedModelBehavior as exc:
            output, error = None, str(exc)
    return {"output": output, "error": error, "messages": parts(messages)}


async def test_model():
    model = TestModel(call_tools=["create_conversation"])
    outcome = await run_agent(model)
    assert model.last_model_request_parameters is not None
    offered = model.last_model_request_parameters.function_tools
    [create] = [tool for tool in offered if tool.name == "create_conversation"]
    return {**outcome, "schema": create.parameters_json_schema}


def chosen_call(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    # What an LLM would do: call the tool with arguments it chose, then give the user the link it got back.
    returned = [part for message in messages for part in message.parts if isinstance(part, ToolReturnPart)]
    if not returned:
        return ModelResponse(parts=[ToolCallPart("create_conversation", job["arguments"])])
    content: Any = returned[-1].content  # the structured result, when the tool has one
    assert isinstance(content, dict), content
    return ModelResponse(parts=[TextPart(f"Your practice call is ready: {content['join_url']}")])


async def main():
    scenario = job["scenario"]
    if scenario == "direct":
        return await direct()
    if scenario == "test_model":
        return await test_model()
    return await run_agent(FunctionModel(chosen_call))


with open(job["output"], "w", encoding="utf-8") as file:
    json.dump(asyncio.run(main()), file)
"""

OPENAI_AGENTS_CLIENT = r"""
import asyncio
import json
import sys

from agents import Agent, Runner, set_tracing_disabled
from agents.mcp import MCPServerStdio, MCPServerStreamableHttp
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

set_tracing_disabled(True)  # no traces sent anywhere: there is no OpenAI key
job = json.loads(sys.argv[1])


def server():
    params = job["server"]
    if "url" in params:
        return MCPServerStreamableHttp(params=params, name="tavus", client_session_timeout_seconds=30)
    return MCPServerStdio(params=params, name="tavus", client_session_timeout_seconds=30)


async def direct():
    async with server() as tavus:
        listed = await tavus.list_tools()
        result = await tavus.call_tool("create_conversation", job["arguments"])
    return {
        "tools": [tool.name for tool in listed],
        "text": "\n".join(block.text for block in result.content if block.type == "text"),
        "structured": result.structured_content,
        "is_error": bool(result.is_error),
    }


async def agent_run():
    model_saw = []

    def answer(call: ModelCall):
        # What an LLM would do with the tool's output: give the user the link it read there.
        outputs = [item for item in call.input if isinstance(item, dict) and item.get("type") == "function_call_output"]
        model_saw.extend(outputs)
        text = outputs[-1]["output"][0]["text"]
        link = text.splitlines()[0].removeprefix("Join the video call: ")
        return [assistant_message(f"Your practice call is ready: {link}")]

    model = ScriptedModel(
        [
            [function_call("create_conversation", job["arguments"], call_id="call_create")],
            ModelStep.respond(answer),
        ]
    )
    async with server() as tavus:
        agent = Agent(name="Practice coach", instructions="Set up practice calls.", model=model, mcp_servers=[tavus])
        result = await Runner.run(agent, "Start a practice call about price objections.")
    assert model.first_call is not None
    return {
        "final_output": result.final_output,
        "tools_offered": [tool.name for tool in model.first_call.tools],
        "model_saw": model_saw,
    }


async def main():
    return await (direct() if job["scenario"] == "direct" else agent_run())


with open(job["output"], "w", encoding="utf-8") as file:
    json.dump(asyncio.run(main()), file)
"""


@dataclass
class PythonClient:
    """One of the client scripts above, run with the clients venv's Python."""

    script: str
    workdir: Path

    def run(self, scenario: str, server: dict[str, Any], arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        output = self.workdir / f"{scenario}-result.json"
        job = {"scenario": scenario, "server": server, "arguments": arguments or {}, "output": str(output)}
        completed = subprocess.run(
            [str(CLIENTS_PYTHON), "-c", self.script, json.dumps(job)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            # Nothing from the test runner's environment: no keys, no proxies; a home of its own.
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir)},
            cwd=self.workdir,
            check=False,
        )
        assert completed.returncode == 0, f"the client failed:\n{completed.stdout}\n{completed.stderr}"
        result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return result


def stdio_server(sandbox: Sandbox, *args: str) -> dict[str, Any]:
    """How both frameworks are told to start the server: command, args, env (the shape of an mcpServers entry)."""
    return {"command": SERVER_COMMAND, "args": [*SERVER_ARGS, *args], "env": server_env(sandbox)}


@pytest.fixture
def pydantic_ai(tmp_path: Path) -> PythonClient:
    if not _installed("pydantic_ai"):
        _missing("pydantic-ai")
    return PythonClient(PYDANTIC_AI_CLIENT, tmp_path)


@pytest.fixture
def openai_agents(tmp_path: Path) -> PythonClient:
    if not _installed("agents"):
        _missing("openai-agents")
    return PythonClient(OPENAI_AGENTS_CLIENT, tmp_path)


PRACTICE_CALL = {
    "persona_id": PERSONA,
    "conversation_name": "Price objections",
    "conversational_context": "The user practises answering price objections. Play a skeptical buyer.",
    "custom_greeting": "Hi! Honestly, it looks expensive. Convince me.",
    "properties": {"max_call_duration": 600, "participant_left_timeout": 30, "language": "English"},
}


def test_pydantic_ai_toolset_lists_and_calls(pydantic_ai: PythonClient, sandbox: Sandbox) -> None:
    outcome = pydantic_ai.run("direct", stdio_server(sandbox), PRACTICE_CALL)

    assert outcome["tools"] == TOOL_NAMES
    assert outcome["protocol_version"] == "2026-07-28"
    assert sandbox.creates() == [PRACTICE_CALL]
    created = only_conversation(sandbox)
    # pydantic-ai hands over the structured result (not the text) when there is one.
    result = outcome["result"]
    assert result["join_url"] == created.url
    assert result["conversation_id"] == created.conversation_id
    assert (result["conversation_name"], result["status"]) == ("Price objections", "active")


def test_pydantic_ai_test_model_with_a_default_replica(pydantic_ai: PythonClient, sandbox: Sandbox) -> None:
    # TestModel sends only the required fields, which for create_conversation is none at all: `{}` is valid for
    # the schema, and with the server's default replica configured it is a complete call.
    outcome = pydantic_ai.run("test_model", stdio_server(sandbox, "--default-replica-id", REPLICA))

    [call, returned, answer] = outcome["messages"]
    assert call == {"kind": "call", "tool": "create_conversation", "args": {}}
    jsonschema.Draft202012Validator(outcome["schema"]).validate(call["args"])
    assert sandbox.creates() == [{"replica_id": REPLICA}]
    created = only_conversation(sandbox)
    assert returned["outcome"] == "success"
    assert returned["content"]["join_url"] == created.url
    assert outcome["error"] is None
    assert json.loads(outcome["output"])["create_conversation"]["join_url"] == created.url
    assert answer == {"kind": "text", "content": outcome["output"]}


def test_pydantic_ai_test_model_without_a_default_gets_a_clear_error(
    pydantic_ai: PythonClient, sandbox: Sandbox
) -> None:
    outcome = pydantic_ai.run("test_model", stdio_server(sandbox))

    # The model is told what to fix (as a retry prompt); TestModel repeats `{}` until pydantic-ai gives up.
    calls = [part for part in outcome["messages"] if part["kind"] == "call"]
    assert calls and all(part["args"] == {} for part in calls)
    returned = [part for part in outcome["messages"] if part["kind"] == "return"]
    assert returned
    for part in returned:
        assert part["outcome"] == "retried"
        assert part["content"].startswith(NO_REPLICA_TEXT)
        assert "TAVUS_DEFAULT_REPLICA_ID" in part["content"]
    assert outcome["error"].startswith("Tool 'create_conversation' exceeded max retries count of 1.")
    assert sandbox.emulator.received == []


def test_pydantic_ai_agent_creates_and_answers_with_the_link(pydantic_ai: PythonClient, sandbox: Sandbox) -> None:
    outcome = pydantic_ai.run("function_model", stdio_server(sandbox), PRACTICE_CALL)

    assert sandbox.creates() == [PRACTICE_CALL]
    created = only_conversation(sandbox)
    [call, returned, answer] = outcome["messages"]
    assert call == {"kind": "call", "tool": "create_conversation", "args": PRACTICE_CALL}
    assert returned["outcome"] == "success"
    assert returned["content"]["join_url"] == created.url
    assert outcome["output"] == f"Your practice call is ready: {created.url}"
    assert answer == {"kind": "text", "content": outcome["output"]}


def test_openai_agents_server_lists_and_calls(openai_agents: PythonClient, sandbox: Sandbox) -> None:
    outcome = openai_agents.run("direct", stdio_server(sandbox), PRACTICE_CALL)

    assert outcome["tools"] == TOOL_NAMES
    assert sandbox.creates() == [PRACTICE_CALL]
    created = only_conversation(sandbox)
    assert outcome["is_error"] is False
    assert_result_text(outcome["text"], created)
    assert outcome["structured"]["join_url"] == created.url


def test_openai_agents_agent_creates_and_answers_with_the_link(openai_agents: PythonClient, sandbox: Sandbox) -> None:
    outcome = openai_agents.run("agent", stdio_server(sandbox), PRACTICE_CALL)

    assert outcome["tools_offered"] == TOOL_NAMES
    assert sandbox.creates() == [PRACTICE_CALL]
    created = only_conversation(sandbox)
    # openai-agents hands the model the tool's text, link first.
    [output] = outcome["model_saw"]
    assert output["call_id"] == "call_create"
    [block] = output["output"]
    assert block["type"] == "input_text"
    assert_result_text(block["text"], created)
    assert outcome["final_output"] == f"Your practice call is ready: {created.url}"


# The same clients over Streamable HTTP (`mcp-server-tavus --transport http`)

HTTP_TOKEN = "client-tests-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_url(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    """`python -m tavus_mcp --transport http` on a loopback port, requiring a bearer token; yields its /mcp URL."""
    if not (ROOT / "tavus_mcp" / "http" / "__init__.py").exists():
        pytest.skip("this server has no --transport http")
    port = _free_port()
    log = tmp_path / "http-server.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        **server_env(sandbox),
        "TAVUS_MCP_AUTH_TOKENS": HTTP_TOKEN,
        "TAVUS_MCP_KEEPALIVE": "1",  # a silent call's stream begins (and pings) within the tests' waits
    }
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [SERVER_COMMAND, *SERVER_ARGS, "--transport", "http", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, f"the HTTP server exited:\n{log.read_text(encoding='utf-8')}"
                try:
                    if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, f"the HTTP server did not start:\n{log.read_text(encoding='utf-8')}"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_inspector_over_http(inspector: Inspector, sandbox: Sandbox, http_url: str) -> None:
    auth = ["--transport", "http", "--server-url", http_url, "--header", f"Authorization: Bearer {HTTP_TOKEN}"]
    listed = inspector.run(*auth, "--method", "tools/list")
    created = inspector.run(
        *auth,
        "--method",
        "tools/call",
        "--tool-name",
        "create_conversation",
        "--tool-arg",
        f"replica_id={REPLICA}",
        "test_mode=true",
    )

    assert listed.returncode == 0, listed.stderr
    assert [tool["name"] for tool in inspector_result(listed)["tools"]] == TOOL_NAMES
    assert created.returncode == 0, created.stderr
    assert sandbox.creates() == [{"replica_id": REPLICA, "test_mode": True}]
    conversation = only_conversation(sandbox)
    result = inspector_result(created)
    assert result["isError"] is False
    assert_result_text(result["content"][0]["text"], conversation)
    assert result["structuredContent"]["status"] == "ended"  # test mode: nobody joins, nothing is charged


def test_pydantic_ai_over_http(pydantic_ai: PythonClient, sandbox: Sandbox, http_url: str) -> None:
    server = {"url": http_url, "headers": {"Authorization": f"Bearer {HTTP_TOKEN}"}}
    outcome = pydantic_ai.run("direct", server, PRACTICE_CALL)

    assert outcome["tools"] == TOOL_NAMES
    assert sandbox.creates() == [PRACTICE_CALL]
    assert outcome["result"]["join_url"] == only_conversation(sandbox).url


def test_openai_agents_over_http(openai_agents: PythonClient, sandbox: Sandbox, http_url: str) -> None:
    server = {"url": http_url, "headers": {"Authorization": f"Bearer {HTTP_TOKEN}"}}
    outcome = openai_agents.run("agent", server, PRACTICE_CALL)

    assert outcome["tools_offered"] == TOOL_NAMES
    assert sandbox.creates() == [PRACTICE_CALL]
    created = only_conversation(sandbox)
    [output] = outcome["model_saw"]
    assert_result_text(output["output"][0]["text"], created)
    assert outcome["final_output"] == f"Your practice call is ready: {created.url}"


# The official TypeScript SDK's client (2.x, installed with the Inspector), over HTTP
TYPESCRIPT_CLIENT = TOOLS / "inspector" / "node_modules" / "@modelcontextprotocol" / "client" / "dist" / "index.mjs"
TYPESCRIPT_WAIT = """
const [clientModule, url, token, conversationId, mode, asksProgress] = process.argv.slice(2);
const { Client, StreamableHTTPClientTransport } = await import(clientModule);
const client = new Client({ name: "typescript-sdk", version: "1.0.0" }, { versionNegotiation: { mode } });
const headers = { Authorization: `Bearer ${token}` };
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
await client.connect(transport);
const progress = [];
const onprogress = (notification) => progress.push(notification.message);
const result = await client.callTool(
  { name: "wait_for_conversation", arguments: { conversation_id: conversationId, max_wait_seconds: 3 } },
  asksProgress ? { onprogress } : {},
);
console.log(JSON.stringify({ protocol: transport.protocolVersion, progress, result: result.structuredContent }));
await client.close();
"""


async def _active_conversation(url: str) -> str:
    """A conversation that stays active (the emulator's calls do until ended): a wait on it waits."""
    async with connect(url, token=HTTP_TOKEN) as client:
        created = await ok(client, "create_conversation", {"replica_id": REPLICA})
    return str(created["conversation_id"])


@pytest.mark.parametrize("asks_progress", [True, False], ids=["progress", "silent"])
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_typescript_sdk_waits_over_http(
    sandbox: Sandbox, http_url: str, tmp_path: Path, mode: str, asks_progress: bool
) -> None:
    if not (NODE.exists() and TYPESCRIPT_CLIENT.exists()):
        _missing("The TypeScript SDK's client (with the Inspector and Node 22)")
    created = anyio.run(_active_conversation, http_url)
    script = tmp_path / "wait.mjs"
    script.write_text(TYPESCRIPT_WAIT, encoding="utf-8")
    completed = subprocess.run(
        [
            str(NODE),
            str(script),
            TYPESCRIPT_CLIENT.as_uri(),
            http_url,
            HTTP_TOKEN,
            created,
            mode,
            "yes" * asks_progress,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["protocol"] == {"legacy": "2025-11-25", "auto": "2026-07-28"}[mode]
    # Asked for, the wait's progress reached the client before its result, on the call's event stream. Not asked
    # for, the wait says nothing until its result, and the stream begun at the keepalive (1 s here) carries it.
    if asks_progress:
        assert outcome["progress"][0] == "Waiting for the call to start: the replica has not joined yet."
    else:
        assert outcome["progress"] == []
    assert outcome["result"]["call_state"] == "waiting"
    assert outcome["result"]["waited_seconds"] >= 3
