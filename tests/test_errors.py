"""Every failure of Tavus becomes a tool error a model can act on, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from tests.conftest import Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"
CHECK = (
    "The conversation may have been created anyway. Before trying again, check whether it exists with "
    "list_conversations (status: 'active'), so as not to start and pay for a second one."
)


async def _create(mcp: Client, arguments: dict[str, Any] | None = None) -> str:
    result = await mcp.call_tool("create_conversation", arguments or {"replica_id": R})
    assert result.is_error
    assert result.structured_content is None
    return text_of(result)


async def test_400_with_taviss_own_message_under_error(mcp: Client, sandbox: Sandbox) -> None:
    text = await _create(mcp, {"replica_id": "r000000"})
    assert (
        text
        == "Tavus rejected the request (HTTP 400): Invalid replica_id. Nothing was created. Correct it and try again."
    )
    assert sandbox.emulator.conversations == {}


async def test_400_with_taviss_own_message_under_message(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(
        Fault(status=400, body=json.dumps({"message": "persona p1 is archived"}), content_type="application/json")
    )
    text = await _create(mcp)
    assert text.startswith("Tavus rejected the request (HTTP 400): persona p1 is archived. Nothing was created.")


async def test_persona_without_default_replica(mcp: Client, sandbox: Sandbox) -> None:
    text = await _create(mcp, {"persona_id": "pdced222244b"})
    assert text.startswith(
        "Tavus rejected the request (HTTP 400): The persona has no default replica: a replica_id is required"
    )


async def test_401_names_the_key_setting(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(api_key=SecretStr("wrong-key"))) as mcp:
        text = await _create(mcp)
    assert text == (
        "Tavus rejected the API key (HTTP 401: Invalid access token). The key in TAVUS_API_KEY is wrong, revoked "
        "or restricted: set a valid key in the server's environment and restart the server. Nothing was created. "
        "Create a key in the Tavus developer portal, https://platform.tavus.io (API Key, in the sidebar; "
        "https://docs.tavus.io/api-reference/authentication shows how)."
    )
    assert [request.authorized for request in sandbox.emulator.received] == [False]


async def test_missing_key_sends_nothing_and_says_how_to_set_it(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(api_key=None)) as mcp:
        tools = await mcp.list_tools()
        assert "create_conversation" in [tool.name for tool in tools.tools]
        text = await _create(mcp)
    assert text.startswith("No Tavus API key is configured, so nothing was sent to Tavus. Set TAVUS_API_KEY")
    assert "--sandbox" in text
    assert sandbox.emulator.received == []


async def test_concurrency_limit_says_so_and_suggests_ending_calls(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.emulator.max_concurrent_conversations = 1
    first = await mcp.call_tool("create_conversation", {"replica_id": R})
    assert not first.is_error
    text = await _create(mcp)
    assert text.startswith(
        "Tavus refused: the account has reached its maximum number of concurrent conversations "
        "(User has reached maximum concurrent conversations). End a conversation that is still active"
    )
    assert "test_mode: true does not hold a slot" in text
    assert len(sandbox.emulator.conversations) == 1


async def test_out_of_credits(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.emulator.credits = 0
    text = await _create(mcp)
    assert text == (
        "Tavus refused: the account is out of conversational credits (HTTP 402: The user is out of "
        "conversational credits). Add credits or change the plan in the Tavus portal, then try again. "
        "Nothing was created."
    )


async def test_timeout_after_tavus_acted_says_the_conversation_may_exist(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=200, delay=3, after_handling=True))
    async with connect(sandbox.settings(timeout=0.5)) as mcp:
        text = await _create(mcp)
        assert text == f"Tavus did not answer within 0.5 seconds. {CHECK}"
        # The conversation does exist: the message was right to warn.
        assert len(sandbox.emulator.conversations) == 1
        # And the server keeps serving.
        assert not (await mcp.call_tool("create_conversation", {"replica_id": R, "test_mode": True})).is_error


async def test_connection_refused_says_nothing_was_created(sandbox: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{closed_port}"
    async with connect(sandbox.settings(base_url=base_url)) as mcp:
        text = await _create(mcp)
    assert text == (
        f"Could not connect to Tavus at {base_url}; the request never reached Tavus. Nothing was created. "
        "Check the network, any proxy or firewall, and TAVUS_API_BASE_URL, then try again."
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_html_page_says_the_conversation_may_exist(mcp: Client, sandbox: Sandbox, status: int) -> None:
    page = "<html>\n<head><title>Bad Gateway</title></head>\n<body><h1>Bad   Gateway</h1></body>\n</html>"
    sandbox.faults.append(Fault(status=status, body=page, after_handling=True))
    text = await _create(mcp)
    assert text == (
        f"Tavus failed with HTTP {status} (<html> <head><title>Bad Gateway</title></head> <body><h1>Bad Gateway</h1>"
        f"</body> </html>). {CHECK}"
    )


async def test_5xx_with_an_empty_body(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=503, body=""))
    text = await _create(mcp)
    assert text == f"Tavus failed with HTTP 503 (Service Unavailable). {CHECK}"


async def test_success_that_is_not_json(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=200, body="<html>OK</html>", after_handling=True))
    text = await _create(mcp)
    assert text == (
        "Tavus answered, but the answer could not be read: Tavus answered POST /v2/conversations with HTTP 200 but "
        f"not with JSON: '<html>OK</html>'. {CHECK}"
    )


async def test_success_of_the_wrong_shape(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=200, body='{"id": 1}', content_type="application/json", after_handling=True))
    text = await _create(mcp)
    assert text.startswith(
        "Tavus answered, but the answer could not be read: Tavus answered POST /v2/conversations with a body of an "
        "unexpected shape (conversation_id: Field required)."
    )


async def test_rate_limited(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=429, body="slow down", headers={"Retry-After": "12"}))
    text = await _create(mcp)
    assert (
        text == "Tavus is limiting the rate of requests (HTTP 429). Wait 12 seconds and try again. Nothing was created."
    )


LEAK_KEY = "tvs-leakcheck-5f2b9c1e8d7a4b3c"


async def test_the_key_never_appears_in_any_result_or_log(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    sandbox.emulator.api_keys = (LEAK_KEY,)
    scenarios: list[tuple[Fault | None, dict[str, Any]]] = [
        (None, {"replica_id": R}),
        (None, {"replica_id": "r000000"}),
        (None, {"replica_id": R, "max_call_duration": 5}),
        (Fault(status=502, body="<html>bad gateway</html>"), {"replica_id": R}),
        (Fault(status=200, body="not json"), {"replica_id": R}),
        (Fault(status=401, body='{"message": "Invalid access token"}'), {"replica_id": R}),
        (Fault(status=200, delay=2, after_handling=True), {"replica_id": R}),
    ]
    texts: list[str] = []
    async with connect(sandbox.settings(api_key=SecretStr(LEAK_KEY), timeout=0.5)) as mcp:
        for fault, arguments in scenarios:
            if fault is not None:
                sandbox.faults.append(fault)
            result = await mcp.call_tool("create_conversation", arguments)
            texts.append(text_of(result))
            texts.append(json.dumps(result.structured_content))
    assert len(sandbox.injector.seen) >= 4
    everything = "\n".join(texts) + caplog.text + "\n".join(repr(record.__dict__) for record in caplog.records)
    assert LEAK_KEY not in everything
    assert LEAK_KEY[4:20] not in everything
