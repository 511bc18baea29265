"""A team server with a users file: each person signs in with a token of their own and pays with their own key.

Real `python -m tavus_mcp --transport http` processes on loopback, in front of the Tavus emulator (which accepts
every user's key); the fault injector in front of it records the key each request carried, so that the tests can
say whose key every call to Tavus used. The MCP SDK's own client makes the calls, in both protocol eras.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference
from starlette.applications import Starlette

from tavus_mcp.config import ConfigError, Settings
from tavus_mcp.http import HttpSettings, build_app
from tavus_mcp.http import load_users as load_server_users
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.users_file import UserDirectory, load_users
from tests.commands import Ran, run_main, serve_http_refused
from tests.conftest import text_of
from tests.servers import (
    Gate,
    Mode,
    ServerProcess,
    Tavus,
    connect,
    free_port,
    jsonrpc_answer,
    modern_call,
    ok,
    post,
    running_server,
    served_tavus,
)
from tests.upstream import Fault, serve_on_loopback

pytestmark = pytest.mark.http

REPLICA = "rfe12d8b9597"
ALICE_KEY = "alice-tavus-key-0f3a9c7e21b4"
BOB_KEY = "bob-tavus-key-7d1e4b9a05c6"
DAVE_KEY = "dave-tavus-key-3c9e1a7f5b2d"
TOKENS = {
    "alice": "alice-token-5b8e2f0c9a1d7e3f",
    "bob": "bob-token-0d4c8a2e6f1b9c7a",
    "carol": "carol-token-9f1e3d5c7b2a4e6d",
    "dave": "dave-token-2b6d0f4a8c1e3b5d",
}
# Whose key each user's calls must send: carol has none of her own, so the server's.
KEY_OF = {"alice": ALICE_KEY, "bob": BOB_KEY, "carol": SANDBOX_API_KEY, "dave": DAVE_KEY}
SECRETS = (*TOKENS.values(), ALICE_KEY, BOB_KEY, DAVE_KEY, SANDBOX_API_KEY)
SERVER_CAP = 1200
TEST_TIMEOUT = 90.0
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


USERS_TOML = f"""\
# The team of the tests: alice and bob pay with keys of their own, carol with the server's.
[[users]]
name = "alice"
token_sha256 = "{sha256(TOKENS["alice"])}"
tavus_api_key_env = "ALICE_TAVUS_API_KEY"
max_call_duration = 900

[[users]]
name = "bob"
token_sha256 = "{sha256(TOKENS["bob"])}"
tavus_api_key_env = "BOB_TAVUS_API_KEY"
test_mode = true

[[users]]
name = "carol"
token_sha256 = "{sha256(TOKENS["carol"])}"
max_call_duration = 3000
"""

# After the reload: alice has left, dave has joined (with a key variable the server already has).
RELOADED_TOML = f"""\
[[users]]
name = "bob"
token_sha256 = "{sha256(TOKENS["bob"])}"
tavus_api_key_env = "BOB_TAVUS_API_KEY"

[[users]]
name = "dave"
token_sha256 = "{sha256(TOKENS["dave"])}"
tavus_api_key_env = "DAVE_TAVUS_API_KEY"
"""


def team_env(tavus: Tavus, users_file: Path, **extra: str) -> dict[str, str]:
    """A hand-picked environment: nothing TAVUS_* leaks in from the test runner."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": tavus.base_url,
        "TAVUS_LOG_LEVEL": "INFO",
        "TAVUS_MAX_CALL_DURATION": str(SERVER_CAP),
        "TAVUS_MCP_USERS_FILE": str(users_file),
        "ALICE_TAVUS_API_KEY": ALICE_KEY,
        "BOB_TAVUS_API_KEY": BOB_KEY,
        "DAVE_TAVUS_API_KEY": DAVE_KEY,
        **extra,
    }


@pytest.fixture(scope="module")
def _served_tavus() -> Iterator[Tavus]:
    with served_tavus() as tavus:
        yield tavus


@pytest.fixture
def tavus(_served_tavus: Tavus) -> Iterator[Tavus]:
    _served_tavus.reset((SANDBOX_API_KEY, ALICE_KEY, BOB_KEY, DAVE_KEY))
    yield _served_tavus
    assert _served_tavus.emulator.schema_violations == []
    # Whatever a client sent, Tavus saw a user's key and nothing else of theirs: no Authorization, no token.
    for headers in _served_tavus.recorder.headers:
        assert "authorization" not in headers
        assert headers.get("x-api-key") in KEY_OF.values()
        assert not any(token in value for value in headers.values() for token in TOKENS.values())


@pytest.fixture(scope="module")
def team_server(_served_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("team")
    users_file = folder / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    with running_server(folder / "server.log", team_env(_served_tavus, users_file)) as server:
        yield server


def assert_no_secret_in(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"secrets in the output: {leaked}"


# Every call runs with its user's key


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_concurrent_calls_of_several_users_each_send_their_own_key(
    tavus: Tavus, team_server: ServerProcess, mode: Mode
) -> None:
    calls_each = 15
    logged_before = len(team_server.log())

    async def user_calls(name: str, client: Client) -> None:
        async with anyio.create_task_group() as group:
            for number in range(calls_each):
                arguments = {"replica_id": REPLICA, "test_mode": True, "conversation_name": f"{name}-{number}"}
                group.start_soon(ok, client, "create_conversation", arguments)
                group.start_soon(ok, client, "list_replicas", {})

    with anyio.fail_after(TEST_TIMEOUT):
        async with (
            connect(team_server.url, token=TOKENS["alice"], mode=mode) as alice,
            connect(team_server.url, token=TOKENS["bob"], mode=mode) as bob,
            connect(team_server.url, token=TOKENS["carol"], mode=mode) as carol,
            anyio.create_task_group() as group,
        ):
            for name, client in (("alice", alice), ("bob", bob), ("carol", carol)):
                group.start_soon(user_calls, name, client)

    creates = tavus.creates()
    assert len(creates) == 3 * calls_each
    # Each create carries its user's name: the key it reached Tavus with is that user's, every time.
    for key, body in creates:
        assert key == KEY_OF[body["conversation_name"].split("-")[0]], body
    assert Counter(body["conversation_name"].split("-")[0] for _, body in creates) == {
        "alice": calls_each,
        "bob": calls_each,
        "carol": calls_each,
    }
    assert Counter(seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/replicas")) == {
        ALICE_KEY: calls_each,
        BOB_KEY: calls_each,
        SANDBOX_API_KEY: calls_each,
    }
    # One tool_call line per call, naming its user.
    lines = [line for line in team_server.log()[logged_before:].splitlines() if " msg=tool_call " in line]
    assert Counter((field(line, "user"), field(line, "tool")) for line in lines) == {
        (name, tool): calls_each
        for name in ("alice", "bob", "carol")
        for tool in ("create_conversation", "list_replicas")
    }
    assert_no_secret_in(team_server.log())


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_completions_and_transcripts_ask_tavus_with_the_callers_key(
    tavus: Tavus, team_server: ServerProcess, mode: Mode
) -> None:
    practice = PromptReference(type="ref/prompt", name="practice_call")
    with anyio.fail_after(TEST_TIMEOUT):
        async with (
            connect(team_server.url, token=TOKENS["alice"], mode=mode) as alice,
            connect(team_server.url, token=TOKENS["bob"], mode=mode) as bob,
        ):
            for client in (alice, bob):
                completed = await client.complete(practice, {"name": "persona_id", "value": "p9"})
                assert completed.completion.values == ["p9a95912"]
            created = await ok(alice, "create_conversation", {"replica_id": REPLICA, "test_mode": True})
            uri = f"tavus://conversations/{created['conversation_id']}/transcript"
            with pytest.raises(MCPError, match="ended without a call"):
                await alice.read_resource(uri)

    assert [seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/personas")] == [ALICE_KEY, BOB_KEY]
    path = f"/v2/conversations/{created['conversation_id']}"
    assert [seen.api_key for seen in tavus.injector.requests_to("GET", path)] == [ALICE_KEY]


def field(line: str, name: str) -> str | None:
    """The value of `name=` in a logfmt line (unquoted values only)."""
    for part in line.split(" "):
        if part.startswith(f"{name}="):
            return part.split("=", 1)[1]
    return None


@pytest.mark.anyio
async def test_guardrails_of_a_user_and_of_the_server_combine_the_stricter_wins(
    tavus: Tavus, team_server: ServerProcess
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKENS["alice"]) as alice:
            # alice's own cap (900) is below the server's (1200).
            await ok(alice, "create_conversation", {"replica_id": REPLICA})
            too_long = await alice.call_tool(
                "create_conversation", {"replica_id": REPLICA, "properties": {"max_call_duration": 1000}}
            )
        async with connect(team_server.url, token=TOKENS["bob"]) as bob:
            # bob runs in test mode whatever he asks for, under the server's cap.
            forced = await bob.call_tool("create_conversation", {"replica_id": REPLICA, "test_mode": False})
        async with connect(team_server.url, token=TOKENS["carol"]) as carol:
            # carol's cap (3000) is above the server's: the server's holds.
            await ok(carol, "create_conversation", {"replica_id": REPLICA, "test_mode": True})

    assert tavus.creates() == [
        (ALICE_KEY, {"replica_id": REPLICA, "properties": {"max_call_duration": 900}}),
        (BOB_KEY, {"replica_id": REPLICA, "test_mode": True, "properties": {"max_call_duration": SERVER_CAP}}),
        (SANDBOX_API_KEY, {"replica_id": REPLICA, "test_mode": True, "properties": {"max_call_duration": SERVER_CAP}}),
    ]
    assert too_long.is_error
    assert text_of(too_long).splitlines()[1] == (
        "- properties.max_call_duration: 1000 seconds is above this server's cap of 900 seconds "
        "(max_call_duration of user alice). Ask for 900 or less, or leave it out to get 900."
    )
    assert not forced.is_error
    assert (
        "This server runs every conversation of user bob in test mode (test_mode in its users file): real calls "
        "need its operator to turn that off." in text_of(forced)
    )


@pytest.mark.anyio
async def test_every_log_line_of_a_call_names_its_user(tavus: Tavus, team_server: ServerProcess) -> None:
    # One answer of 503, so that the call logs a retry before its tool_call line.
    tavus.injector.faults.append(Fault(status=503, method="GET", path="/v2/personas"))
    logged_before = len(team_server.log())
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKENS["bob"]) as bob:
            await ok(bob, "list_personas", {})

    logged = team_server.log()[logged_before:].splitlines()
    # The HTTP requests of bob's session too (initialize, tools/call, tools/list), each after he signed in.
    requests = [line for line in logged if "logger=uvicorn.access" in line]
    assert len(requests) >= 3
    assert all(field(line, "user") == "bob" for line in requests), requests
    lines = [line for line in logged if "logger=tavus_mcp" in line]
    assert [(field(line, "logger"), field(line, "user")) for line in lines] == [
        ("tavus_mcp.client", "bob"),
        ("tavus_mcp", "bob"),
    ]
    assert lines[0].split(" msg=")[1].startswith('"retrying GET /v2/personas in ')
    assert " msg=tool_call user=bob tool=list_personas outcome=ok tavus_status=200 attempts=2 duration_ms=" in lines[1]
    assert [seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/personas")] == [BOB_KEY, BOB_KEY]


@pytest.mark.anyio
async def test_a_users_key_is_named_when_tavus_refuses_it_and_never_shown(
    tavus: Tavus, team_server: ServerProcess
) -> None:
    # bob's key is revoked at Tavus; and a gateway in front of Tavus echoes alice's key back in an error.
    tavus.emulator.api_keys = (SANDBOX_API_KEY, ALICE_KEY)
    tavus.injector.faults.append(
        Fault(
            status=400,
            body=json.dumps({"error": f"bad request from x-api-key {ALICE_KEY}"}),
            content_type="application/json",
            path="/v2/conversations/c123",
        )
    )
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(team_server.url, token=TOKENS["bob"]) as bob:
            refused = await bob.call_tool("list_replicas", {})
        async with connect(team_server.url, token=TOKENS["alice"]) as alice:
            echoed = await alice.call_tool("get_conversation", {"conversation_id": "c123"})

    assert refused.is_error
    assert text_of(refused).startswith(
        "Tavus rejected the API key (HTTP 401: Invalid access token). The key in BOB_TAVUS_API_KEY is wrong, "
        "revoked or restricted"
    )
    assert echoed.is_error
    assert "bad request from x-api-key [redacted]" in text_of(echoed)
    for result in (refused, echoed):
        assert_no_secret_in(text_of(result) + json.dumps(result.structured_content or {}))
    assert_no_secret_in(team_server.log())


# Signing in


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-anyones-token-0a1b2c3d4e", f"Bearer {sha256(TOKENS['alice'])}", f"Bearer {TOKENS['alice']}x"],
    ids=["missing", "unknown", "the-hash-itself", "longer"],
)
def test_a_token_that_is_no_users_gets_401(tavus: Tavus, team_server: ServerProcess, authorization: str | None) -> None:
    response = post(team_server.url, headers={"authorization": authorization} if authorization else {})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    # No users file advertises an authorization server: nothing to discover.
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="Authentication required"'
    )
    assert tavus.emulator.received == []


# Reloading the users file


@pytest.mark.anyio
async def test_sighup_reloads_the_users_file_and_calls_in_flight_finish(tavus: Tavus, tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    tavus.recorder.gate = gate = Gate(path="/v2/replicas")
    with running_server(tmp_path / "server.log", team_env(tavus, users_file)) as server:
        with anyio.fail_after(TEST_TIMEOUT):
            async with connect(server.url, token=TOKENS["alice"]) as alice, anyio.create_task_group() as group:
                in_flight: list[dict[str, Any]] = []

                async def call() -> None:
                    in_flight.append(await ok(alice, "list_replicas", {}))

                # Listed first: the client checks a result against the tool's schema, and would list the tools
                # after the reload otherwise, as alice, who by then is no user.
                await alice.list_tools()
                group.start_soon(call)
                while tavus.recorder.held < 1:  # noqa: ASYNC110 - counted on the emulator's thread
                    await anyio.sleep(0.01)
                # alice's call is at Tavus; meanwhile alice leaves the team and dave joins.
                users_file.write_text(RELOADED_TOML, encoding="utf-8")
                server.process.send_signal(signal.SIGHUP)
                await anyio.to_thread.run_sync(server.wait_for_log, "users file reloaded: 2 users")
                gate.opened.set()

            assert len(in_flight) == 1 and in_flight[0]["replicas"]
            assert post(server.url, headers={"authorization": f"Bearer {TOKENS['alice']}"}).status_code == 401
            async with connect(server.url, token=TOKENS["dave"], mode="legacy") as dave:
                await ok(dave, "create_conversation", {"replica_id": REPLICA, "test_mode": True})

            # A broken file is not taken: the users already loaded stay.
            users_file.write_text('[[users]]\nname = "erin"\n', encoding="utf-8")
            server.process.send_signal(signal.SIGHUP)
            await anyio.to_thread.run_sync(server.wait_for_log, "users file not reloaded")
            async with connect(server.url, token=TOKENS["dave"]) as dave:
                await ok(dave, "list_replicas", {})
        log = server.log()

    assert [seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/replicas")] == [ALICE_KEY, DAVE_KEY]
    assert tavus.creates() == [
        (DAVE_KEY, {"replica_id": REPLICA, "test_mode": True, "properties": {"max_call_duration": SERVER_CAP}})
    ]
    assert (
        'level=error logger=tavus_mcp.users msg="users file not reloaded, keeping the 2 users already loaded: '
        f"TAVUS_MCP_USERS_FILE {users_file}: users[1] (erin) has no way to sign in: give token_sha256"
    ) in log
    assert_no_secret_in(log)


# A bad file, or a bad combination, stops the server


def test_a_bad_users_file_stops_the_server_with_exit_2_naming_the_entry(tavus: Tavus, tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    env = team_env(tavus, users_file)
    del env["BOB_TAVUS_API_KEY"]

    refused = serve_http_refused(env)

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr == (
        f"mcp-server-tavus: TAVUS_MCP_USERS_FILE {users_file}: users[2] (bob): BOB_TAVUS_API_KEY "
        "(tavus_api_key_env) is not set in the server's environment; set it to bob's Tavus API key, or remove "
        "tavus_api_key_env to use TAVUS_API_KEY\n"
    )


SETTINGS_THAT_DO_NOT_GO_TOGETHER = [
    (
        {"TAVUS_MCP_AUTH_TOKENS": "shared-token-8c2e4a6f0b1d3e5a"},
        "TAVUS_MCP_AUTH_TOKENS and TAVUS_MCP_USERS_FILE are both set: choose one.",
    ),
    (
        {"TAVUS_MCP_USERS_FILE": "", "TAVUS_MCP_OAUTH_ISSUER": "https://id.example.com"},
        "TAVUS_MCP_OAUTH_AUDIENCE must be set too:",
    ),
    (
        {
            "TAVUS_MCP_USERS_FILE": "",
            "TAVUS_MCP_OAUTH_ISSUER": "https://id.example.com",
            "TAVUS_MCP_OAUTH_AUDIENCE": "https://mcp.example.com/mcp",
        },
        "TAVUS_MCP_OAUTH_ISSUER needs TAVUS_MCP_USERS_FILE:",
    ),
    (
        {"TAVUS_MCP_OAUTH_ISSUER": "http://id.example.com", "TAVUS_MCP_OAUTH_AUDIENCE": "https://mcp.example.com"},
        "TAVUS_MCP_OAUTH_ISSUER must use https (http is accepted only for localhost); got 'http://id.example.com'",
    ),
]
SETTINGS_IDS = ["tokens-and-users", "issuer-alone", "oauth-without-users", "oauth-over-http"]


@pytest.mark.parametrize(("extra", "message"), SETTINGS_THAT_DO_NOT_GO_TOGETHER, ids=SETTINGS_IDS)
def test_settings_that_do_not_go_together_are_refused_with_the_settings_named(
    tavus: Tavus, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    # What the command reads, in the order it reads it, in-process: the refusal below is one case of this, whole.
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    environ = team_env(tavus, users_file, **extra)

    with pytest.raises(ConfigError) as refused:
        load_server_users(Settings.from_env(environ), HttpSettings.from_env(environ), environ)

    assert str(refused.value).startswith(message), str(refused.value)


# The command's refusal (in-process, tests.commands), one line naming the settings.
@pytest.mark.parametrize(("extra", "message"), SETTINGS_THAT_DO_NOT_GO_TOGETHER, ids=SETTINGS_IDS)
def test_settings_that_do_not_go_together_stop_the_server(
    tavus: Tavus, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")

    refused = serve_http_refused(team_env(tavus, users_file, **extra))

    assert (refused.returncode, refused.stdout) == (2, "")
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"mcp-server-tavus: {message}"), refused.stderr
    assert_no_secret_in(refused.stderr)


USER = f'name = "alice"\ntoken_sha256 = "{sha256("t" * 20)}"\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[users]\n", "is not valid TOML: "),
        ("", "has no users: add one [[users]] table per user, with a name and token_sha256, subject or email"),
        ("title = 'team'\n[[users]]\n" + USER, "unknown top-level setting 'title'; the file holds only [[users]]"),
        ('[[users]]\nname = "al ice"\n', "users[1]: name must be 1 to 64 letters, digits or . _ @ + -"),
        ('[[users]]\nname = "alice"\n', "users[1] (alice) has no way to sign in: give token_sha256"),
        (
            '[[users]]\nname = "alice"\ntoken_sha256 = "alice-token-5b8e2f0c9a1d7e3f"\n',
            "users[1] (alice): token_sha256 must be the SHA-256 of the user's bearer token as 64 hex digits (never "
            'the token itself); compute it with printf %s "$TOKEN" | sha256sum',
        ),
        (
            f"[[users]]\n{USER}tavus_api_key = 'tvs-0123456789abcdef'\n",
            "users[1] (alice): unknown setting 'tavus_api_key'; a user has name, token_sha256, subject, email, "
            "tavus_api_key_env, test_mode, max_call_duration",
        ),
        (
            f"[[users]]\n{USER}\n[[users]]\n{USER.replace('alice', 'bob')}",
            "users[2] (bob) has the same token_sha256 as alice; each token_sha256 may belong to one user only",
        ),
        (
            f'[[users]]\n{USER}\n[[users]]\nname = "Alice"\nsubject = "x"\n',
            "users[2] (Alice) has the same name as alice; each name may belong to one user only",
        ),
        (
            f"[[users]]\n{USER}max_call_duration = '900'\n",
            "users[1] (alice): max_call_duration must be a whole number of seconds from 1 to 86400, without quotes",
        ),
        (f"[[users]]\n{USER}test_mode = 'yes'\n", "users[1] (alice): test_mode must be true or false"),
        (
            f"[[users]]\n{USER.replace(sha256('t' * 20), sha256(''))}",
            "users[1] (alice): token_sha256 is the SHA-256 of an empty token, so this user can never sign in",
        ),
        ("[[users]]\nname = 'alice'\nsubject = '  '\n", "users[1] (alice): subject must be a non-empty string"),
        ("[[users]]\nname = 'alice'\nemail = 'alice'\ntest_mode = 1\n", "users[1] (alice): email must be an"),
        ("users = 'alice'\n", "has no users: add one [[users]] table per user"),
        ("users = ['alice']\n", "has no users: add one [[users]] table per user"),
        (f"[[users]]\n{USER}\n[[users]]\nname = 7\n", "users[2]: name must be 1 to 64 letters"),
        (f"[[users]]\n{USER}email = 'alice'\n", "users[1] (alice): email must be an address such as alice@"),
        (
            f"[[users]]\n{USER}tavus_api_key_env = 'ALICE KEY'\n",
            "users[1] (alice): tavus_api_key_env must be the name of an environment variable",
        ),
        (
            f"[[users]]\n{USER}tavus_api_key_env = 'SPACED_KEY'\n",
            "users[1] (alice): SPACED_KEY (tavus_api_key_env) contains a character that cannot be sent to Tavus",
        ),
    ],
)
def test_each_problem_of_a_users_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_users(str(users_file), {"SPACED_KEY": "tvs key with spaces"}, server_key_set=True)

    assert str(refused.value).startswith(f"TAVUS_MCP_USERS_FILE {users_file}")
    assert message in str(refused.value)
    assert "tvs-0123456789abcdef" not in str(refused.value)


def test_a_user_on_the_servers_key_needs_that_key(tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(f"[[users]]\n{USER}", encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        UserDirectory(str(users_file), {}, server_key_set=False)

    assert str(refused.value) == (
        f"TAVUS_MCP_USERS_FILE {users_file}: users[1] (alice) has no tavus_api_key_env, so their calls would use "
        "TAVUS_API_KEY, which is not set; set TAVUS_API_KEY, or tavus_api_key_env to the name of a variable "
        "holding their key"
    )


def test_users_are_found_by_token_subject_and_verified_email(tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(
        f'[[users]]\n{USER}subject = "auth0|alice"\n\n[[users]]\nname = "bob"\nemail = "Bob@Example.com"\n',
        encoding="utf-8",
    )
    users = load_users(str(users_file), {}, server_key_set=True)

    def name(user: Any) -> str | None:
        return user.name if user is not None else None

    assert name(users.by_token("t" * 20)) == "alice"
    assert name(users.by_token("t" * 21)) is None
    assert name(users.by_claims({"sub": "auth0|alice"})) == "alice"
    assert name(users.by_claims({"sub": "someone", "email": "bob@example.com", "email_verified": True})) == "bob"
    assert name(users.by_claims({"sub": "someone", "email": "bob@example.com", "email_verified": False})) is None
    assert name(users.by_claims({"sub": "someone", "email": "bob@example.com"})) is None
    assert name(users.by_claims({"sub": "someone"})) is None
    assert "t" * 20 not in repr(users.users)


def check_users(environ: dict[str, str]) -> Ran:
    """`mcp-server-tavus check-users` run to its end (in-process: tests.commands)."""
    return run_main("check-users", env=environ)


def test_check_users_lists_the_users_or_names_the_problem(tavus: Tavus, tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    env = team_env(tavus, users_file)

    good = check_users(env)
    del env["ALICE_TAVUS_API_KEY"]
    bad = check_users(env)

    assert (good.returncode, good.stderr) == (0, "")
    assert good.stdout == (
        f"{users_file}: 3 users\n"
        "alice: signs in by token; key from ALICE_TAVUS_API_KEY; test_mode=false, max_call_duration=900\n"
        "bob: signs in by token; key from BOB_TAVUS_API_KEY; test_mode=true\n"
        "carol: signs in by token; key from TAVUS_API_KEY; test_mode=false, max_call_duration=3000\n"
    )
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith(f"mcp-server-tavus: TAVUS_MCP_USERS_FILE {users_file}: users[1] (alice): ")


# The token recipe run where it does not work (`python -c ...` with only python3) prints nothing, and the digest of
# nothing is a token_sha256 nobody can ever sign in with.
EMPTY_TOKEN_SHA256 = hashlib.sha256(b"").hexdigest()
EMPTY_TOKEN_PROBLEM = (
    "users[2] (bob): token_sha256 is the SHA-256 of an empty token, so this user can never sign in: the command that "
    "made the token printed nothing. Make a real token with openssl rand -base64 32 (or python3 -c 'import secrets; "
    'print(secrets.token_urlsafe(32))\'), give it to the user, and put its SHA-256 here (printf %s "$TOKEN" | '
    "sha256sum)"
)


@pytest.mark.parametrize("digest", [EMPTY_TOKEN_SHA256, EMPTY_TOKEN_SHA256.upper()])
def test_the_digest_of_an_empty_token_is_refused_by_check_users_and_at_start(
    tavus: Tavus, tmp_path: Path, digest: str
) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML.replace(sha256(TOKENS["bob"]), digest), encoding="utf-8")
    env = team_env(tavus, users_file)

    checked = check_users(env)
    started = serve_http_refused(env)

    for refused in (checked, started):
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr == f"mcp-server-tavus: TAVUS_MCP_USERS_FILE {users_file}: {EMPTY_TOKEN_PROBLEM}\n"


def test_the_token_recipes_the_refusal_gives_work_with_python3_alone(tmp_path: Path) -> None:
    # Only `python3` on PATH (no `python`): what Debian, Ubuntu and macOS have.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    recipe = EMPTY_TOKEN_PROBLEM.split("(or ", 1)[1].split("), give", 1)[0]
    assert recipe.startswith("python3 -c ")

    made = subprocess.run(
        ["/bin/sh", "-c", f'TOKEN=$({recipe}) && printf %s "$TOKEN"'],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert len(made.stdout) >= 40 and made.stdout.strip() == made.stdout
    assert hashlib.sha256(made.stdout.encode()).hexdigest() != EMPTY_TOKEN_SHA256


# Under gunicorn's workers


async def logged(server: ServerProcess, text: str, *, times: int) -> None:
    deadline = anyio.current_time() + 20
    while server.log().count(text) < times:
        assert anyio.current_time() < deadline, server.log()
        await anyio.sleep(0.05)


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.anyio
@pytest.mark.slow  # gunicorn and its workers; one process's reload is quick (test_sighup_reloads_the_users_file_...)
@pytest.mark.skipif(sys.platform != "linux", reason="finding gunicorn's workers reads /proc")
async def test_sighup_to_each_gunicorn_worker_reloads_it_in_place(tavus: Tavus, tmp_path: Path) -> None:
    users_file = tmp_path / "users.toml"
    users_file.write_text(USERS_TOML, encoding="utf-8")
    port = free_port()
    gunicorn = [
        *(sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", "2"),
        *("-b", f"127.0.0.1:{port}", "--no-control-socket", "tavus_mcp.http:create_app()"),
    ]
    with running_server(tmp_path / "gunicorn.log", team_env(tavus, users_file), port=port, command=gunicorn) as server:
        # Both workers up (a worker that has not started its app yet would die of SIGHUP, gunicorn's default).
        await logged(server, "Application startup complete", times=2)
        workers = children_of(server.process.pid)
        assert len(workers) == 2
        users_file.write_text(RELOADED_TOML, encoding="utf-8")
        for worker in workers:
            os.kill(worker, signal.SIGHUP)
        await logged(server, "users file reloaded: 2 users", times=2)

        # The same workers serve (none was restarted), each with the new users: ten tries reach both.
        assert children_of(server.process.pid) == workers
        statuses = [
            post(server.url, headers={"authorization": f"Bearer {TOKENS[name]}"}).status_code
            for _ in range(5)
            for name in ("alice", "dave")
        ]
        async with connect(server.url, token=TOKENS["dave"]) as dave:
            await ok(dave, "list_replicas", {})

    assert statuses == [401, 200] * 5
    assert [seen.api_key for seen in tavus.injector.requests_to("GET", "/v2/replicas")] == [DAVE_KEY]


# Confirmations across the processes of a team server whose users pay with their own keys


def _raw_2026_call(url: str, token: str, **extra_params: Any) -> dict[str, Any]:
    """One 2026-07-28 create_conversation as raw JSON-RPC from a client that shows forms: the JSON-RPC answer."""
    arguments = {"replica_id": "rfe12d8b9597", "properties": {"max_call_duration": 600}}
    body, headers = modern_call(
        "create_conversation", arguments, capabilities={"elicitation": {"form": {}}}, **extra_params
    )
    headers["authorization"] = f"Bearer {token}"
    return jsonrpc_answer(post(url, body, headers=headers))


@contextmanager
def _two_apps_in_process(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Two team apps built from `env` by what the command calls, each served on loopback; their /mcp URLs."""
    settings = Settings.from_env(env).validated()
    http = HttpSettings.from_env(env)

    def app() -> Starlette:
        return build_app(settings, http, users=load_server_users(settings, http, env))

    with serve_on_loopback(app(), lifespan="on") as a, serve_on_loopback(app(), lifespan="on") as b:
        yield f"{a}/mcp", f"{b}/mcp"


@contextmanager
def _two_processes(env: dict[str, str], folder: Path) -> Iterator[tuple[str, str]]:
    with running_server(folder / "asking.log", env) as a, running_server(folder / "answering.log", env) as b:
        yield a.url, b.url


@pytest.mark.parametrize("apart", ["in-process", pytest.param("processes", marks=pytest.mark.slow)])
def test_a_confirmation_asked_by_one_process_is_honoured_by_another_without_a_server_key(
    tavus: Tavus, tmp_path: Path, apart: str
) -> None:
    """No TAVUS_API_KEY: the processes share the sealing key through their users' keys, so the answer to a question
    asked by one is taken by the other (HTTP workers or replicas behind one address). Two apps in this process
    share nothing the sealing key could come from but the users file and the environment; two processes are slow."""
    users_file = tmp_path / "users.toml"
    users_file.write_text(RELOADED_TOML, encoding="utf-8")
    env = {name: value for name, value in team_env(tavus, users_file).items() if name != "TAVUS_API_KEY"}
    servers = _two_apps_in_process(env) if apart == "in-process" else _two_processes(env, tmp_path)
    with servers as (asking_url, answering_url):
        asked = _raw_2026_call(asking_url, TOKENS["bob"])["result"]
        assert asked["resultType"] == "input_required", asked
        assert tavus.creates() == []
        answer = {"confirm": {"action": "accept", "content": {"start": "billed"}}}
        created = _raw_2026_call(
            answering_url, TOKENS["bob"], inputResponses=answer, requestState=asked["requestState"]
        )
    assert created["result"].get("isError") is not True, created
    assert tavus.creates() == [(BOB_KEY, {"replica_id": "rfe12d8b9597", "properties": {"max_call_duration": 600}})]
