"""A team server tried in the sandbox, as docs/team.md shows it: no keys, one emulated account per user.

docs/team.md's "Try it in the sandbox" block runs as written (in an empty folder, on a machine with `python3` and
no `python`), then alice and bob call the server it started with their own tokens.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from tavus_mcp.sandbox.accounts import SandboxAccounts, account_key
from tests.conftest import text_of
from tests.servers import connect, free_port, ok, stop, wait_until_up
from tests.snippets import ROOT, code_blocks, without_python

TEAM = ROOT / "docs" / "team.md"
[TRY_IT] = [block for block in code_blocks(TEAM) if block.section == "Try it in the sandbox"]
BASH = shutil.which("bash") or "/bin/bash"
ARGUMENTS = {"persona_id": "p9a95912", "conversation_name": "Alice's practice"}


def test_each_sandbox_key_is_an_account_of_its_own() -> None:
    accounts = SandboxAccounts()
    alice, bob = accounts.account(account_key("alice")), accounts.account(account_key("bob"))
    assert alice is not bob and alice is accounts.account(account_key("alice"))
    assert accounts.main is not alice
    assert alice.api_keys == (account_key("alice"),)


async def _texts(client: Client, tool: str, arguments: dict[str, object]) -> tuple[bool, str]:
    result = await client.call_tool(tool, arguments)
    return result.is_error, text_of(result)


@pytest.mark.anyio
async def test_the_docs_start_command_serves_two_users_with_accounts_of_their_own(tmp_path: Path) -> None:
    port = free_port()
    env = without_python(tmp_path, TAVUS_MCP_PORT=str(port))
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        # A new session: the script's shell and the server it starts stop together.
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any await
            [BASH, "-e", "-c", TRY_IT.body],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}/healthz", "the team server", log.read_text)
        tokens = dict(re.findall(r"^(\w+)'s token: (\S+)$", log.read_text(), re.MULTILINE))
        assert set(tokens) == {"alice", "bob"}
        url = f"http://127.0.0.1:{port}/mcp"
        texts = []
        async with connect(url, token=tokens["alice"]) as alice, connect(url, token=tokens["bob"]) as bob:
            created = await ok(alice, "create_conversation", ARGUMENTS)
            conversation_id = created["conversation_id"]
            assert created["sandbox"] is True and created["billed"] is False
            mine = await ok(alice, "list_conversations", {})
            theirs = await ok(bob, "list_conversations", {})
            assert [c["conversation_id"] for c in mine["conversations"]] == [conversation_id]
            assert theirs["conversations"] == []
            for tool in ("get_conversation", "end_conversation"):
                failed, text = await _texts(bob, tool, {"conversation_id": conversation_id})
                assert failed, text
                assert text.startswith(f"conversation {conversation_id}: Tavus does not know this id (HTTP 400"), text
            # alice's own calls go through, and nothing in the sandbox says it costs money.
            for tool, arguments in [
                ("get_conversation", {"conversation_id": conversation_id}),
                ("wait_for_conversation", {"conversation_id": conversation_id, "max_wait_seconds": 1}),
                ("end_conversation", {"conversation_id": conversation_id}),
                ("list_conversations", {"status": "active"}),
            ]:
                failed, text = await _texts(alice, tool, arguments)
                assert not failed, text
                texts.append(text)
        texts.append(created["notes"][0])
        for text in texts:
            assert not re.search(r"bill|charged|pay for", text, re.IGNORECASE) or "nothing is charged" in text, text
        assert "python: command not found" not in log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        stop(process)


def test_create_app_reads_the_sandbox_switch(tmp_path: Path) -> None:
    """`TAVUS_SANDBOX=1`: uvicorn's factory serves a team in the sandbox, its users file without keys."""
    users = tmp_path / "users.toml"
    users.write_text('[[users]]\nname = "alice"\ntoken_sha256 = "' + "ab" * 32 + '"\ntavus_api_key_env = "ALICE_KEY"\n')
    port = free_port()
    env = without_python(tmp_path, TAVUS_SANDBOX="1", TAVUS_MCP_USERS_FILE=str(users))
    command = [sys.executable, "-m", "uvicorn", "--factory", "tavus_mcp.http:create_app", "--port", str(port)]
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}/healthz", "uvicorn", log.read_text)
        import httpx2

        health = httpx2.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["sandbox"] is True
    finally:
        stop(process)
