"""Bounded, honest answers, through the protocol: every text a model gets has a size bound and stays readable, every
message gets an answer, what the model is told about money and time follows what really happened.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import anyio
import pytest

from tavus_mcp.arguments import MAX_ARGUMENTS_BYTES, MAX_PROBLEM_CHARS, MAX_PROBLEMS
from tavus_mcp.models.patches import MAX_PATCH_OPERATIONS
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.tools.state import MAX_RESULT_CHARS
from tests.conftest import CREATE_PATH, Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"
HEADER = "Invalid arguments for create_conversation; nothing was sent to Tavus. Fix these and call it again:"


# Error texts with a bound


async def test_sixty_thousand_unknown_keys_make_a_short_readable_error(sandbox: Sandbox) -> None:
    arguments: dict[str, Any] = {f"x{number}": 0 for number in range(60_000)}
    arguments["replica_id"] = R
    async with connect(sandbox.settings()) as mcp:
        started = time.perf_counter()
        result = await mcp.call_tool("create_conversation", arguments)
        elapsed = time.perf_counter() - started

    text = text_of(result)
    lines = text.splitlines()
    assert result.is_error
    assert lines[0] == HEADER
    assert len(lines) == 1 + MAX_PROBLEMS + 1
    assert lines[1].startswith("- x0: unknown field. Allowed here: audio_only, callback_url,")
    assert lines[-1] == f"- ... and {60_000 - MAX_PROBLEMS:,} more problems like these"
    assert all(len(line) <= MAX_PROBLEM_CHARS + 2 for line in lines[1:])
    assert len(text) <= len(HEADER) + (MAX_PROBLEMS + 1) * (MAX_PROBLEM_CHARS + 3)
    assert sandbox.creates() == []
    print(
        f"60,000 unknown keys ({len(json.dumps(arguments)):,} bytes): {len(text):,}-character error in {elapsed:.2f} s"
    )


async def test_a_long_unknown_key_and_value_are_shortened(mcp: Any, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("create_conversation", {"replica_id": R, "x" * 5000: "y" * 5000, "language": 7})
    text = text_of(result)
    assert all(len(line) <= MAX_PROBLEM_CHARS + 2 for line in text.splitlines())
    assert f"- {'x' * 57}...: unknown field." in text
    assert sandbox.creates() == []


async def test_arguments_larger_than_a_request_body_may_be_are_refused_by_name(mcp: Any, sandbox: Sandbox) -> None:
    context = "practise the pitch " * (MAX_ARGUMENTS_BYTES // 19 + 10)
    result = await mcp.call_tool("create_conversation", {"replica_id": R, "conversational_context": context})
    assert result.is_error
    assert text_of(result) == (
        f"{HEADER}\n- arguments: more than {MAX_ARGUMENTS_BYTES:,} bytes of JSON, this server's limit for one call; "
        f"conversational_context alone is over {MAX_ARGUMENTS_BYTES + 1:,} bytes. Shorten it (a summary is enough) "
        "and call again"
    )
    assert sandbox.creates() == []


# A call's work is bounded, whatever its shape: it never holds the event loop every user shares

PATCH_HEADER = "Invalid arguments for update_persona; nothing was sent to Tavus. Fix these and call it again:"


async def _persona(mcp: Any) -> str:
    arguments = {"system_prompt": "You are a buyer.", "layers": {"llm": {"model": "m", "api_key": "sk-first-key-000"}}}
    created = await mcp.call_tool("create_persona", arguments)
    assert not created.is_error, text_of(created)
    persona_id: str = created.structured_content["persona_id"]
    return persona_id


async def test_a_patch_of_thousands_of_operations_is_refused_before_any_is_checked(mcp: Any, sandbox: Sandbox) -> None:
    # Just under the 1 MiB cap: checked one by one, these held the event loop for about 20 s.
    moves = [{"op": "move", "from": "/layers/llm/model", "path": "/layers/llm/base_url"}] * 13_000
    arguments = {"persona_id": "p9a95912", "operations": moves}
    assert MAX_ARGUMENTS_BYTES - 50_000 < len(json.dumps(arguments)) < MAX_ARGUMENTS_BYTES

    result = await mcp.call_tool("update_persona", arguments)

    assert result.is_error
    assert text_of(result).splitlines() == [
        PATCH_HEADER,
        f"- operations: 13,000 operations; a patch has at most {MAX_PATCH_OPERATIONS}. Split the change into several "
        f"update_persona calls of at most {MAX_PATCH_OPERATIONS} operations each, sent one after the other",
    ]
    assert sandbox.emulator.received == []


async def test_a_patch_of_the_most_operations_is_sent_and_one_more_is_refused(mcp: Any, sandbox: Sandbox) -> None:
    persona_id = await _persona(mcp)
    renames = [{"op": "add", "path": "/persona_name", "value": f"Buyer {n}"} for n in range(MAX_PATCH_OPERATIONS)]

    sent = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": renames})
    one_more = [*renames, {"op": "remove", "path": "/persona_name"}]
    refused = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": one_more})

    assert not sent.is_error, text_of(sent)
    assert [seen.body for seen in sandbox.requests_to("PATCH", f"/v2/personas/{persona_id}")] == [renames]
    assert text_of(refused).splitlines()[1].startswith(f"- operations: {MAX_PATCH_OPERATIONS + 1} operations; ")
    # The bound is in the schema a client reads, too.
    [tool] = [tool for tool in (await mcp.list_tools()).tools if tool.name == "update_persona"]
    assert tool.input_schema["properties"]["operations"]["maxItems"] == MAX_PATCH_OPERATIONS


async def test_a_patch_carrying_many_long_keys_is_sent_and_none_comes_back(mcp: Any, sandbox: Sandbox) -> None:
    # Each key the request carries is scrubbed from its answer: searched for as written and in whole-value
    # encodings, not compiled into a pattern per character (about 0.4 ms a character: two minutes for these 300 KB
    # of keys, and a RecursionError for any key past a few hundred characters).
    persona_id = await _persona(mcp)
    one_long_key = [{"op": "replace", "path": "/layers/llm/api_key", "value": "sk-long-" + "k" * 2_000}]
    keys = [f"sk-{n:03d}-" + "k" * 2_990 for n in range(MAX_PATCH_OPERATIONS)]
    operations = [{"op": "replace", "path": "/layers/llm/api_key", "value": key} for key in keys]

    long_key = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": one_long_key})
    assert not long_key.is_error, text_of(long_key)
    result = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": operations})

    assert not result.is_error, text_of(result)[:500]
    assert text_of(result).startswith(f"Updated persona {persona_id}: replace /layers/llm/api_key; ")
    stored = next(p for p in sandbox.emulator.personas if p["persona_id"] == persona_id)
    assert stored["layers"]["llm"]["api_key"] == keys[-1]
    got = await mcp.call_tool("get_persona", {"persona_id": persona_id})
    assert got.structured_content["layers"]["llm"]["api_key"] == "[redacted]"


# stdio: bounds, and an answer to every message


class RawStdio:
    """`python -m tavus_mcp` driven line by line, as a client that writes whatever it likes would."""

    def __init__(self, sandbox: Sandbox, log: IO[str], *args: str) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TAVUS_API_KEY": SANDBOX_API_KEY,
            "TAVUS_API_BASE_URL": sandbox.base_url,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tavus_mcp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def send(self, line: str | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line.encode() if isinstance(line, str) else line) + b"\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.lines.get(timeout=30))
        return message

    def initialize(self) -> None:
        self.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "raw", "version": "1"},
                    },
                }
            )
        )
        assert self.receive()["id"] == 0
        self.send('{"jsonrpc": "2.0", "method": "notifications/initialized"}')

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)


def call(request_id: int, tool: str, arguments: dict[str, Any]) -> str:
    params = {"name": tool, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})


@pytest.mark.stdio
def test_over_stdio_every_malformed_message_gets_an_answer_and_a_huge_one_the_http_bound(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    log_path = tmp_path / "stderr.log"
    with log_path.open("w") as log:
        server = RawStdio(sandbox, log)
        server.initialize()
        # A lone surrogate: JSON's grammar allows the escape, the SDK's parser refuses it.
        server.send(call(1, "create_conversation", {"replica_id": R, "custom_greeting": "Hi \ud83d!"}))
        server.send("this is not JSON")
        server.send('{"jsonrpc": "2.0", "id": 3, "method": 7}')
        server.send('{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"x": "\\udc00"}}')
        server.send(b'{"jsonrpc": "2.0", "id": 5, "method": "ping"}')
        # Over stdio, which has no body limit of its own, the bound HTTP puts on a call's arguments.
        context = "x" * (5 * 1024 * 1024)
        server.send(call(6, "create_conversation", {"replica_id": R, "conversational_context": context}))
        answers = [server.receive() for _ in range(5)]
        assert server.close() == 0

    # Answered in the order they are ready, not sent: compared by id.
    *malformed, huge = sorted(answers, key=lambda answer: answer["id"] if answer["id"] is not None else 2)
    assert malformed == [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {
                "code": -32700,
                "message": "Parse error: the message holds an unpaired UTF-16 surrogate escape (one of \\ud800 to "
                "\\udfff without its pair), which is not valid Unicode; send the text again without it",
            },
        },
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "Parse error: not valid JSON (expected ident at line 1 column 2)"},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "error": {
                "code": -32600,
                "message": "Invalid Request: not a JSON-RPC 2.0 message (method: Input should be a valid string)",
            },
        },
        {"jsonrpc": "2.0", "id": 5, "result": {}},
    ]
    assert huge["id"] == 6
    assert huge["result"]["isError"] is True
    assert huge["result"]["content"][0]["text"].startswith(
        f"{HEADER}\n- arguments: more than {MAX_ARGUMENTS_BYTES:,} bytes of JSON, this server's limit for one call; "
        "conversational_context alone is over"
    )
    assert sandbox.creates() == []
    log_text = log_path.read_text()
    # The notification got no answer (JSON-RPC answers none) but a reason in the log, as every other one did.
    assert log_text.count('level=warning logger=tavus_mcp.stdio msg="answered a message on stdin') == 4
    assert "Hi" not in log_text  # the reason, never the content


@pytest.mark.stdio
@pytest.mark.parametrize("when", [pytest.param("at start", marks=pytest.mark.slow), "while serving"])
def test_a_closed_stdout_ends_the_server_with_one_line(sandbox: Sandbox, tmp_path: Path, when: str) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url}
    if when == "at start":
        process = subprocess.Popen(
            [sys.executable, "-m", "tavus_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=lambda: os.close(1),
        )
        expected = "stdout is closed: an MCP client reads the server's answers from it, so there is nothing to serve"
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "tavus_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None
        process.stdout.close()  # the client stops reading before the first answer
        expected = "stdout was closed: the MCP client stopped reading the server's answers; stopping"
    assert process.stdin is not None
    try:
        process.stdin.write(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n')
        process.stdin.flush()
        _, stderr = process.communicate(timeout=30)
    except BrokenPipeError:
        _, stderr = process.communicate(timeout=30)

    lines = stderr.decode().splitlines()
    assert process.returncode == 1
    assert [line for line in lines if "level=error" in line] == [next(line for line in lines if "level=error" in line)]
    assert f'level=error logger=tavus_mcp.stdio msg="{expected}"' in lines[-1]
    assert "Traceback" not in stderr.decode()
    assert len(lines) <= 2  # the one line, after the start-up note on where calls go


# Retry-After, webhooks, money and call length


async def test_retry_after_on_a_503_is_honoured(mcp: Any, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=503, headers={"Retry-After": "0.7"}, path="/v2/replicas"))
    started = anyio.current_time()
    result = await mcp.call_tool("list_replicas", {})

    assert not result.is_error
    assert anyio.current_time() - started >= 0.7
    assert len(sandbox.requests_to("GET", "/v2/replicas")) == 2


async def test_a_503_asking_for_too_long_a_wait_is_not_retried(mcp: Any, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=503, headers={"Retry-After": "120"}, path="/v2/replicas"))
    result = await mcp.call_tool("list_replicas", {})

    assert text_of(result) == "Tavus failed with HTTP 503 (Service Unavailable). Try again shortly."
    assert len(sandbox.requests_to("GET", "/v2/replicas")) == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://@", "'http://@' has no host name; give the full address, such as "),
        ("http://a:99999/", "'http://a:99999/' is not a valid URL (Port out of range 0-65535); give the full address"),
        ("http://a:0/", "'http://a:0/' has port 0, which nothing listens on; give a port from 1 to 65535 or none"),
        (
            "https://example.com/hook\nX-Injected: 1",
            "'https://example.com/hook\\nX-Injected: 1' contains a space, line break or control character; give",
        ),
        ("https://exa mple.com/", "'https://exa mple.com/' contains a space, line break or control character"),
        ("http://[::1/", "'http://[::1/' is not a valid URL (Invalid IPv6 URL); give the full address"),
        ("https://example.com/" + "a" * 3000, "callback_url: is 3020 characters long; a webhook URL can be at most"),
    ],
)
async def test_a_callback_url_that_cannot_work_never_reaches_a_billed_create(
    mcp: Any, sandbox: Sandbox, url: str, problem: str
) -> None:
    result = await mcp.call_tool("create_conversation", {"replica_id": R, "callback_url": url})
    assert result.is_error
    assert text_of(result).startswith(HEADER)
    assert problem in text_of(result), text_of(result)
    assert sandbox.creates() == []


async def test_forced_test_mode_answered_active_is_told_as_billed(sandbox: Sandbox) -> None:
    live = {"conversation_id": "c-live", "conversation_url": "https://tavus.daily.co/c-live", "status": "active"}
    sandbox.faults.append(
        Fault(status=200, body=json.dumps(live), content_type="application/json", method="POST", path=CREATE_PATH)
    )
    async with connect(sandbox.settings(force_test_mode=True)) as mcp:
        result = await mcp.call_tool("create_conversation", {"replica_id": R})

    assert sandbox.creates() == [{"replica_id": R, "test_mode": True}]
    assert result.structured_content is not None
    assert result.structured_content["billed"] is True
    assert result.structured_content["test_mode"] is True
    assert text_of(result).splitlines() == [
        "Join the video call: https://tavus.daily.co/c-live",
        "Test mode was asked for, but Tavus answered with status 'active': treat this as a live, billed call.",
        "This server runs every conversation in test mode (TAVUS_TEST_MODE): real calls need its operator to turn "
        "that off.",
        "Conversation id: c-live (status active, replica rfe12d8b9597).",
        "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, or "
        "end_conversation with conversation_id c-live).",
    ]
    assert "nothing was charged" not in text_of(result)


async def test_a_call_length_of_zero_does_not_pass_the_cap(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(max_call_duration=600)) as mcp:
        capped = await mcp.call_tool("create_conversation", {"replica_id": R, "properties": {"max_call_duration": 0}})
    assert text_of(capped) == (
        f"{HEADER}\n- properties.max_call_duration: 0 is not allowed under this server's cap of 600 seconds "
        "(TAVUS_MAX_CALL_DURATION): Tavus does not say what 0 means, and it may mean no limit. Ask for 1 to 600 "
        "seconds, or leave it out to get 600."
    )
    assert sandbox.creates() == []

    async with connect(sandbox.settings()) as mcp:  # without a cap, 0 is Tavus's to judge
        uncapped = await mcp.call_tool("create_conversation", {"replica_id": R, "properties": {"max_call_duration": 0}})
    assert not uncapped.is_error
    assert sandbox.creates() == [{"replica_id": R, "properties": {"max_call_duration": 0}}]


async def test_a_huge_page_is_cut_in_the_text_and_whole_in_the_structured_result(mcp: Any, sandbox: Sandbox) -> None:
    """Tavus sets the page size (no maximum is documented): 5,000 conversations with long names make a text far
    over the bound, which is cut at a line and says how to get the rest."""
    rows = [
        {"conversation_id": f"c{n:06d}", "conversation_name": f"Practice {n} " + "x" * 120, "status": "ended"}
        for n in range(5000)
    ]
    page = json.dumps({"data": rows, "total_count": 5000})
    sandbox.faults.append(Fault(status=200, body=page, content_type="application/json", path="/v2/conversations"))

    result = await mcp.call_tool("list_conversations", {"limit": 5000})

    assert not result.is_error
    text = text_of(result)
    assert len(text) < MAX_RESULT_CHARS + 300
    kept, note = text.rsplit("\n", 1)
    assert kept.splitlines()[-1].startswith("- c")  # cut between two whole lines
    assert note.startswith("[... ") and note.endswith(
        "more characters cut: this text stops at 100,000 characters. The structured result has everything; or ask "
        "for less, such as a smaller limit.]"
    )
    assert result.structured_content is not None
    assert len(result.structured_content["conversations"]) == 5000
