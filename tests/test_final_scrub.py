"""Secrets only the server knows never reach a client, even when Tavus's answer carries them.

Real HTTP servers on loopback in front of the emulator, whose answers the fault injector replaces with ones that
echo what the calling client's own view of Tavus never sent: the other bearer tokens of `TAVUS_MCP_AUTH_TOKENS`,
another user's Tavus key, a proxy's password. Only the last scrub of every result (text, structured content,
errors, the transcript resource) stands between them and the client, so each is planted in every place a result
can carry it, written plainly and encoded, and none may come back.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import text_of
from tests.servers import ServerProcess, Tavus, connect, running_server, served_tavus
from tests.test_secrets import b64, entities, escaped, percent
from tests.upstream import Fault

pytestmark = [pytest.mark.http, pytest.mark.anyio]

TOKEN = "first-bearer-token-5b8e2f0c9a1d7e3f"
OTHER_TOKEN = "second-bearer-token-0d4c8a2e6f1b9c7a"
PROXY_PASSWORD = "proxy-pa55word-6e2b9d4f"
ALICE_TOKEN = "alice-token-3f7a1c9e5b2d8f4a"
ALICE_KEY = "alice-tavus-key-8c2e6a0f4b9d1e7c"
BOB_KEY = "bob-tavus-key-2a6e0c4f8b1d5e9a"
TEST_TIMEOUT = 60.0
CONVERSATION = "c1"


def forms(secret: str) -> list[str]:
    """The secret, and the encodings a reader turns back into it."""
    return [secret, escaped(secret), percent(secret), entities(secret), b64(secret), secret[3:19]]


def echoing(*secrets: str) -> dict[str, Any]:
    """A verbose conversation whose name, link, events (a value and a key) and transcript hold `secrets`, each in
    another encoding."""
    first, *rest = secrets
    said = " ".join(f"{escaped(secret)} and {percent(secret)}" for secret in secrets)
    return {
        "conversation_id": CONVERSATION,
        "conversation_name": f"call {' '.join(rest) or first}",
        "conversation_url": f"https://tavus.daily.co/{entities(first)}",
        "status": "ended",
        "events": [
            {"event_type": "system.shutdown", "properties": {"shutdown_reason": f"gateway saw {b64(first)}"}},
            {"event_type": "application.echo", "properties": {first: "a secret as a key"}},
            {
                "event_type": "application.transcription_ready",
                "properties": {"transcript": [{"role": "user", "content": f"say {said}", "seconds_from_start": 2}]},
            },
        ],
    }


def answer(body: Any, status: int = 200) -> Fault:
    # json.dumps would escape the escapes: the body is the raw JSON text a Tavus echoing them would send.
    text = json.dumps(body).replace("\\\\u", "\\u")
    return Fault(status=status, body=text, content_type="application/json", path=f"/v2/conversations/{CONVERSATION}")


async def everything_said(client: Client, tavus: Tavus, *secrets: str) -> str:
    """What a client reads back from a success, an error and the transcript resource that all echo `secrets`."""
    tavus.injector.faults.append(answer(echoing(*secrets)))
    result = await client.call_tool("get_conversation", {"conversation_id": CONVERSATION, "full": True})
    assert not result.is_error, text_of(result)
    assert "[0:02] Participant: say [redacted] and [redacted]" in text_of(result)
    tavus.injector.faults.append(answer({"error": f"no such id; keys tried: {' '.join(secrets)}"}, status=400))
    error = await client.call_tool("end_conversation", {"conversation_id": CONVERSATION})
    assert error.is_error and "keys tried: [redacted]" in text_of(error), text_of(error)
    tavus.injector.faults.append(answer(echoing(*secrets)))
    transcript = await client.read_resource(f"tavus://conversations/{CONVERSATION}/transcript")
    tavus.injector.faults.append(answer({"error": f"not yours: {escaped(secrets[0])}"}, status=400))
    with pytest.raises(MCPError) as refused:
        await client.read_resource(f"tavus://conversations/{CONVERSATION}/transcript")
    assert "not yours: [redacted]" in str(refused.value)
    return "\n".join(
        [result.model_dump_json(), error.model_dump_json(), transcript.model_dump_json(), str(refused.value)]
    )


def assert_none_of(secrets: tuple[str, ...], said: str) -> None:
    decoded = json.dumps(json.loads(json.dumps(said)), ensure_ascii=False)
    for secret in secrets:
        for form in forms(secret):
            assert form not in said and form not in decoded, (secret, form)


@pytest.fixture(scope="module")
def _served_tavus() -> Iterator[Tavus]:
    with served_tavus() as tavus:
        yield tavus


@pytest.fixture
def tavus(_served_tavus: Tavus) -> Iterator[Tavus]:
    _served_tavus.reset((SANDBOX_API_KEY, ALICE_KEY, BOB_KEY))
    yield _served_tavus


def environment(tavus: Tavus, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": tavus.base_url,
        "TAVUS_LOG_LEVEL": "INFO",
        # A proxy with a password, never used for loopback: only its password matters here.
        "HTTPS_PROXY": f"http://proxy-user:{PROXY_PASSWORD}@proxy.invalid:3128",
        "NO_PROXY": "127.0.0.1,localhost",
        **extra,
    }


@pytest.fixture(scope="module")
def token_server(_served_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = environment(_served_tavus, TAVUS_MCP_AUTH_TOKENS=f"{TOKEN},{OTHER_TOKEN}")
    with running_server(tmp_path_factory.mktemp("scrub") / "server.log", env) as server:
        yield server


@pytest.fixture(scope="module")
def users_server(_served_tavus: Tavus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("scrub-users")
    users_file = folder / "users.toml"
    users_file.write_text(
        f"""\
[[users]]
name = "alice"
token_sha256 = "{hashlib.sha256(ALICE_TOKEN.encode()).hexdigest()}"
tavus_api_key_env = "ALICE_TAVUS_API_KEY"

[[users]]
name = "bob"
subject = "bob"
tavus_api_key_env = "BOB_TAVUS_API_KEY"
""",
        encoding="utf-8",
    )
    env = environment(
        _served_tavus,
        TAVUS_MCP_USERS_FILE=str(users_file),
        ALICE_TAVUS_API_KEY=ALICE_KEY,
        BOB_TAVUS_API_KEY=BOB_KEY,
    )
    with running_server(folder / "server.log", env) as server:
        yield server


async def test_bearer_tokens_and_a_proxy_password_echoed_by_tavus_never_reach_the_client(
    tavus: Tavus, token_server: ServerProcess
) -> None:
    secrets = (TOKEN, OTHER_TOKEN, PROXY_PASSWORD)
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(token_server.url, token=TOKEN) as client:
            said = await everything_said(client, tavus, *secrets)

    assert_none_of(secrets, said)
    assert_none_of(secrets, token_server.log())
    assert [seen.api_key for seen in tavus.injector.seen] == [SANDBOX_API_KEY] * 4


async def test_another_users_key_echoed_by_tavus_never_reaches_the_client(
    tavus: Tavus, users_server: ServerProcess
) -> None:
    # Bob has not called yet: this server has never sent his key anywhere, it only read it at start.
    secrets = (BOB_KEY, SANDBOX_API_KEY, PROXY_PASSWORD)
    with anyio.fail_after(TEST_TIMEOUT):
        async with connect(users_server.url, token=ALICE_TOKEN) as client:
            said = await everything_said(client, tavus, *secrets)

    assert_none_of(secrets, said)
    assert_none_of(secrets, users_server.log())
    assert [seen.api_key for seen in tavus.injector.seen] == [ALICE_KEY] * 4
