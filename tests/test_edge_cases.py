"""Edge cases a code review found, through the protocol: crashes contained, odd answers read, limits kept."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp import Client
from pydantic import SecretStr

from tavus_mcp.advice import STARTS_CALL, describe_tavus_error
from tavus_mcp.client import TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.errors import TavusTimeoutError, UnexpectedStatusError
from tavus_mcp.redaction import redact_secrets
from tests.conftest import Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

R = "rfe12d8b9597"


async def test_a_crash_inside_a_tool_is_contained(
    mcp: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(self: TavusClient, request: Any) -> Any:
        raise RuntimeError("internal detail that must not reach the model")

    monkeypatch.setattr(TavusClient, "list_replicas", crash)
    result = await mcp.call_tool("list_replicas", {})

    assert result.is_error
    assert text_of(result) == (
        "list_replicas failed inside this server (an internal error, logged for its operator). Try again; if it "
        "keeps failing, tell the user."
    )
    assert any(r.getMessage() == "tool list_replicas failed unexpectedly" and r.exc_info for r in caplog.records)
    assert [getattr(r, "outcome", None) for r in caplog.records if r.getMessage() == "tool_call"] == ["internal_error"]
    assert not (await mcp.call_tool("list_personas", {})).is_error


async def test_odd_transcripts_are_read_not_crashed_on(mcp: Client, sandbox: Sandbox) -> None:
    created = await mcp.call_tool("create_conversation", {"replica_id": R})
    assert created.structured_content is not None
    conversation_id = created.structured_content["conversation_id"]
    sandbox.emulator.set_transcript(
        conversation_id,
        [
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]},
            {"role": "user", "content": None},
            {"role": "user"},
            "not a turn",
            {"role": "user", "content": "Hi!"},
        ],
    )
    result = await mcp.call_tool("get_conversation", {"conversation_id": conversation_id, "verbose": True})

    assert not result.is_error, text_of(result)
    assert text_of(result).splitlines()[-3:] == [
        "Transcript (2 turns; the system prompt is left out):",
        "Replica: Hello there",
        "Participant: Hi!",
    ]


async def test_a_transcript_field_from_tavus_itself_does_not_clash(mcp: Client, sandbox: Sandbox) -> None:
    answer = {"conversation_id": "c1", "status": "ended", "transcript": "a field Tavus might add one day"}
    sandbox.faults.append(
        Fault(status=200, body=json.dumps(answer), content_type="application/json", path="/v2/conversations/c1")
    )
    result = await mcp.call_tool("get_conversation", {"conversation_id": "c1"})
    assert not result.is_error, text_of(result)


async def test_a_huge_total_count_is_shown_not_crashed_on(mcp: Client, sandbox: Sandbox) -> None:
    answer = {"data": [{"replica_id": "r1"}], "total_count": 10**30}
    sandbox.faults.append(
        Fault(status=200, body=json.dumps(answer), content_type="application/json", path="/v2/replicas")
    )
    result = await mcp.call_tool("list_replicas", {})
    assert not result.is_error, text_of(result)
    assert text_of(result).startswith(f"{10**30} replicas in all; page 1 of {10**29} shows 1:")


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            {"replica_id": R, "conversational_context": "bad \ud800 text"},
            "- conversational_context: contains a character that cannot be sent (an unpaired UTF-16 surrogate)",
        ),
        (
            {"replica_id": R, "properties": {"max_call_duration": 10**40}},
            "- properties.max_call_duration: must be at most 2147483647, got ",
        ),
        (
            {"replica_id": R, "max_participants": 2**31},
            "- max_participants: must be at most 2147483647, got 2147483648",
        ),
        ({"replica_id": R, "properties": "[" * 5000}, "- properties: must be an object"),
    ],
    ids=["surrogate", "huge-duration", "huge-participants", "deeply-nested-json-string"],
)
async def test_what_cannot_be_sent_is_refused(
    mcp: Client, sandbox: Sandbox, arguments: dict[str, Any], line: str
) -> None:
    result = await mcp.call_tool("create_conversation", arguments)
    assert result.is_error
    assert any(actual.startswith(line) for actual in text_of(result).splitlines()), text_of(result)
    assert sandbox.emulator.received == []


async def test_a_blank_required_id_is_not_told_to_be_left_out(mcp: Client) -> None:
    result = await mcp.call_tool("end_conversation", {"conversation_id": "  "})
    assert result.is_error
    assert "leave the field out" not in text_of(result)


async def test_an_empty_default_id_flag_means_no_default(sandbox: Sandbox) -> None:
    settings = Settings.from_env({}, base_url=sandbox.base_url, api_key=SecretStr("k"), default_replica_id="  ")
    assert settings.default_replica_id is None
    async with connect(sandbox.settings(default_replica_id=settings.default_replica_id)) as mcp:
        result = await mcp.call_tool("create_conversation", {})
    assert "replica_id, persona_id: give at least one" in text_of(result)
    assert sandbox.emulator.received == []


async def test_a_redirect_points_at_the_base_url(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(
        Fault(status=301, headers={"Location": "https://tavusapi.com/v2/conversations"}, path="/v2/conversations")
    )
    result = await mcp.call_tool("create_conversation", {"replica_id": R})
    assert text_of(result) == (
        "Tavus answered with a redirect (HTTP 301: to https://tavusapi.com/v2/conversations), which this server does "
        f"not follow. TAVUS_API_BASE_URL ({sandbox.base_url}) is probably wrong: the API is at "
        "https://tavusapi.com. Nothing was created."
    )
    assert len(sandbox.creates()) == 1  # a redirect is not retried


def test_a_busy_pool_is_not_a_network_problem() -> None:
    error = TavusTimeoutError("pool", may_have_reached_tavus=False, pool_exhausted=True)
    text = describe_tavus_error(error, effect=STARTS_CALL, settings=Settings().validated())
    assert text == (
        "This server already has as many calls to Tavus in flight as it allows, and none finished in time; the "
        "request was not sent. Nothing was created. Try again in a moment."
    )


async def test_a_long_retry_after_is_reported_not_half_waited(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=429, body="", headers={"Retry-After": "60"}, path="/v2/personas"))
    result = await mcp.call_tool("list_personas", {})
    assert text_of(result) == "Tavus is limiting the rate of requests (HTTP 429). Wait 60 seconds and try again."
    assert len(sandbox.injector.seen) == 1


def test_credentials_are_redacted_by_name_segments_and_bearer_values() -> None:
    layers = {
        "llm": {"api_key": "x", "apiKey": "y", "max_tokens": 512, "keywords": ["a"], "token_limit": 3},
        "tts": {"private_key": "p", "access_key": "a", "auth_token": "t", "client_secret": "s", "password": "w"},
        "headers": {"Authorization": "Bearer sk-1", "X-Custom": "Bearer sk-2", "Accept": "application/json"},
    }
    assert redact_secrets(layers) == {
        "llm": {
            "api_key": "[redacted]",
            "apiKey": "[redacted]",
            "max_tokens": 512,
            "keywords": ["a"],
            "token_limit": 3,
        },
        "tts": {
            "private_key": "[redacted]",
            "access_key": "[redacted]",
            "auth_token": "[redacted]",
            "client_secret": "[redacted]",
            "password": "[redacted]",
        },
        "headers": {"Authorization": "[redacted]", "X-Custom": "[redacted]", "Accept": "application/json"},
    }


async def test_the_practice_prompt_keeps_within_the_call_length_cap(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(max_call_duration=300)) as mcp:
        prompt = await mcp.get_prompt("practice_call", {"scenario": "a negotiation"})
        arguments = [a.name for a in (await mcp.list_prompts()).prompts[0].arguments or []]
    text = prompt.messages[0].content.text if prompt.messages[0].content.type == "text" else ""
    assert "max_call_duration 300," in text
    assert arguments == ["scenario", "language", "replica_id", "persona_id", "material_url", "document_id"]


async def test_http_status_of_a_redirect_is_an_error_at_the_client() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"location": "https://elsewhere.test/"})

    async with TavusClient(
        api_key=SecretStr("k"), base_url="https://tavus.test", timeout=5, transport=httpx2.MockTransport(handler)
    ) as tavus:
        with pytest.raises(UnexpectedStatusError) as raised:
            await tavus.create_conversation({"replica_id": R})
    assert raised.value.message == "to https://elsewhere.test/"
