"""The key and every other secret, planted everywhere an answer can carry text, through the protocol.

A misbehaving Tavus on loopback (a raw HTTP server, so that even the status line's reason phrase is ours to
write) echoes the API key and the password of `TAVUS_API_BASE_URL` back: in JSON escapes, percent-encoding,
HTML character references, base64, a redirect's Location, the reason phrase, response headers, a body cut off
mid-key. No tool result (in memory, over stdio) and no log line at DEBUG may hold any of them, in any encoding;
the results still read as sentences, with `[redacted]` where the secret was.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from pydantic import SecretStr

from tavus_mcp.client import MAX_ERROR_BODY_BYTES, TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.errors import AuthenticationError
from tavus_mcp.models.replicas import ListReplicasRequest
from tavus_mcp.redaction import Scrubber, public_url, redact_secrets, redact_text, scrub, url_secrets
from tests.conftest import connect, text_of

pytestmark = pytest.mark.anyio

LEAK_KEY = "tvs-leak-7c1e9a2b4d6f8e0a1c3b5d79"
USER = "gateway-user"
PASSWORD = "pr0xy-pa55word-31337"
R = "rfe12d8b9597"


def escaped(text: str, upper: bool = False) -> str:
    """`text` as JSON \\uXXXX escapes, every character."""
    return "".join(f"\\u{ord(char):04X}" if upper else f"\\u{ord(char):04x}" for char in text)


def percent(text: str) -> str:
    return "".join(f"%{ord(char):02x}" for char in text)


def entities(text: str) -> str:
    return "".join(f"&#{ord(char)};" if index % 2 else f"&#x{ord(char):x};" for index, char in enumerate(text))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forms_of(secret: str) -> list[str]:
    """Every form of `secret` a reader could turn back into it: the tests' own list, not the scrubber's."""
    return [
        secret,
        secret[4:20],
        escaped(secret),
        escaped(secret, upper=True),
        escaped(secret).replace("\\", "\\\\"),
        percent(secret),
        percent(secret).upper(),
        entities(secret),
        b64(secret),
        b64(f"{USER}:{PASSWORD}"),
        b64(f"x-api-key: {secret}")[8:],
    ]


def assert_no_secret(haystack: str) -> None:
    for secret in (LEAK_KEY, PASSWORD):
        for form in forms_of(secret):
            assert form not in haystack, (form, haystack[:2000])


# A Tavus that says whatever it is told to, byte for byte


@dataclass
class Seen:
    request_line: str
    headers: dict[str, str]


@dataclass
class RawTavus:
    """Scripted raw HTTP answers, one per connection (each closes it), in order; the default answers an empty page."""

    answers: list[bytes] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def base_url(self, userinfo: str = f"{USER}:{PASSWORD}@") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"


def raw(status: str, body: str | bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    content = body.encode() if isinstance(body, str) else body
    head = f"HTTP/1.1 {status}\r\ncontent-length: {len(content)}\r\nconnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return head.encode("latin-1") + b"\r\n" + content


def json_answer(status: str, body: Any, headers: dict[str, str] | None = None) -> bytes:
    # json.dumps would escape the escapes: the bodies here are written as the raw JSON text Tavus would send.
    text = body if isinstance(body, str) else json.dumps(body)
    return raw(status, text, {"content-type": "application/json", **(headers or {})})


@pytest.fixture
def tavus() -> Iterator[RawTavus]:
    state = RawTavus()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request_line = self.rfile.readline().decode("latin-1").strip()
            headers: dict[str, str] = {}
            while (line := self.rfile.readline().decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.rfile.read(int(headers.get("content-length", "0")))
            state.seen.append(Seen(request_line, headers))
            answer = state.answers.pop(0) if state.answers else json_answer("200 OK", {"data": [], "total_count": 0})
            self.wfile.write(answer)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as server:
        state.port = server.server_address[1]
        # Polled often, so that shutdown() returns at once rather than after serve_forever's default half second.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        yield state
        server.shutdown()


def settings_for(tavus: RawTavus) -> Settings:
    return Settings(api_key=SecretStr(LEAK_KEY), base_url=tavus.base_url(), timeout=5, max_retries=0).validated()


# What Tavus echoes, and what the model reads instead

HALF_KEY_AT_THE_CUT = raw("400 Bad Request", " " * (MAX_ERROR_BODY_BYTES - 12) + LEAK_KEY)

SCENARIOS: dict[str, tuple[bytes, str, dict[str, Any], str]] = {
    "key in an error, JSON-escaped": (
        json_answer("401 Unauthorized", '{"message": "invalid key ' + escaped(LEAK_KEY) + '"}'),
        "list_replicas",
        {},
        "Tavus rejected the API key (HTTP 401: invalid key [redacted]).",
    ),
    "key in a success, JSON-escaped in upper case": (
        json_answer(
            "200 OK",
            '{"data": [{"conversation_id": "c1", "status": "active", "conversation_name": "'
            + escaped(LEAK_KEY, upper=True)
            + '"}], "total_count": 1}',
        ),
        "list_conversations",
        {},
        "- c1 active '[redacted]' created ?",
    ),
    "key and password in a redirect's Location": (
        raw("302 Found", headers={"location": f"https://{USER}:{PASSWORD}@elsewhere.test/in?api_key={LEAK_KEY}&n=1"}),
        "list_replicas",
        {},
        "redirect (HTTP 302: to https://elsewhere.test/in?api_key=[redacted]&n=1)",
    ),
    "key in the reason phrase": (
        raw("503 Unavailable for " + LEAK_KEY),
        "list_personas",
        {},
        "Tavus failed with HTTP 503 (Unavailable for [redacted]).",
    ),
    "key percent-encoded and as HTML references in a gateway page": (
        raw(
            "502 Bad Gateway",
            f"<html><body>upstream said key={percent(LEAK_KEY)} or {entities(LEAK_KEY)}</body></html>",
            {"content-type": "text/html"},
        ),
        "get_conversation",
        {"conversation_id": "c123"},
        "upstream said key=[redacted] or [redacted]",
    ),
    "key and password base64-encoded in an echo of the request's headers": (
        json_answer(
            "400 Bad Request",
            {"error": f"denied: Authorization: Basic {b64(f'{USER}:{PASSWORD}')}; x-api-key={b64(LEAK_KEY)}"},
        ),
        "create_conversation",
        {"replica_id": R},
        "Tavus rejected the request (HTTP 400): denied: Authorization: Basic [redacted]; x-api-key=[redacted].",
    ),
    "key cut in two where the error body's read stops": (
        HALF_KEY_AT_THE_CUT,
        "end_conversation",
        {"conversation_id": "c123"},
        "conversation c123: Tavus rejected the request (HTTP 400): Bad Request.",
    ),
    "key echoed in response headers": (
        json_answer(
            "200 OK",
            {"data": [], "total_count": 0},
            {"x-echo-api-key": LEAK_KEY, "x-echo-authorization": f"Basic {b64(f'{USER}:{PASSWORD}')}"},
        ),
        "list_replicas",
        {},
        "No replicas.",
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_an_echoed_secret_never_reaches_the_model(tavus: RawTavus, scenario: str) -> None:
    answer, tool, arguments, expected = SCENARIOS[scenario]
    tavus.answers.append(answer)
    async with connect(settings_for(tavus)) as mcp:
        result = await mcp.call_tool(tool, arguments)

    everything = result.model_dump_json()
    assert_no_secret(everything)
    assert_no_secret(json.dumps(json.loads(everything), ensure_ascii=False))  # as the model reads it, decoded
    assert expected in text_of(result), text_of(result)
    # The key and the base URL's credentials were really sent: there was something to leak.
    [seen] = tavus.seen
    assert seen.headers["x-api-key"] == LEAK_KEY
    assert seen.headers["authorization"] == f"Basic {b64(f'{USER}:{PASSWORD}')}"


async def test_a_password_in_the_base_url_is_never_shown() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = Settings(
        api_key=SecretStr(LEAK_KEY), base_url=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}", timeout=2
    ).validated()
    async with connect(settings) as mcp:
        result = await mcp.call_tool("create_conversation", {"replica_id": R})
        resources = await mcp.list_resources()
        view = await mcp.read_resource(resources.resources[0].uri)

    assert text_of(result) == (
        f"Could not connect to Tavus at http://127.0.0.1:{port}; the request never reached Tavus. Nothing was "
        "created. Check the network, any proxy or firewall, and TAVUS_API_BASE_URL, then try again."
    )
    assert_no_secret(view.model_dump_json())  # the view's frame domains name the base URL's host, not its userinfo
    assert USER not in view.model_dump_json()


@pytest.mark.stdio
async def test_no_log_line_at_debug_nor_result_holds_a_secret(tavus: RawTavus, tmp_path: Path) -> None:
    log_path = tmp_path / "stderr.log"
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tavus_mcp", "--log-level", "DEBUG"],
        env={"TAVUS_API_KEY": LEAK_KEY, "TAVUS_API_BASE_URL": tavus.base_url(), "TAVUS_MAX_RETRIES": "0"},
    )
    outputs: list[str] = []
    with log_path.open("w") as errlog:
        async with Client(stdio_client(server, errlog=errlog), read_timeout_seconds=30) as client:
            for answer, tool, arguments, expected in SCENARIOS.values():
                tavus.answers.append(answer)
                result = await client.call_tool(tool, arguments)
                assert expected in text_of(result)
                outputs.append(result.model_dump_json())
    log = log_path.read_text()

    assert len(tavus.seen) == len(SCENARIOS)
    # DEBUG really applied: the HTTP libraries logged requests (with the base URL) and response headers.
    assert 'level=debug logger=httpcore2.http11 msg="receive_response_headers.complete' in log
    assert 'logger=httpx2 msg="HTTP Request: GET http://127.0.0.1:' in log or "[redacted]@127.0.0.1" in log
    assert "x-echo-api-key', b'[redacted]'" in log  # the echoed header was there, and scrubbed
    for haystack in (log, *outputs):
        assert_no_secret(haystack)


async def test_a_transcript_resource_that_echoes_the_key_holds_none(tavus: RawTavus) -> None:
    said = f"my key is {escaped(LEAK_KEY)} and the proxy's {percent(PASSWORD)}"
    transcript = [{"role": "user", "content": said, "seconds_from_start": 2}]
    events = [{"event_type": "application.transcription_ready", "properties": {"transcript": transcript}}]
    answer = {"conversation_id": "c1", "status": "ended", "events": events}
    tavus.answers.append(json_answer("200 OK", json.dumps(answer).replace("\\\\u", "\\u")))
    async with connect(settings_for(tavus)) as mcp:
        result = await mcp.read_resource("tavus://conversations/c1/transcript")

    assert_no_secret(result.model_dump_json())
    assert "[0:02] Participant: my key is [redacted] and the proxy's [redacted]" in result.model_dump_json()


# Credentials a persona holds: recognised by name and by shape

PERSONA_LAYERS = {
    "llm": {
        "model": "custom-llm",
        "base_url": "https://llm-user:llm-pass-9081@llm.example.test/v1",
        "api_key": "sk-live-abcdefghijklmnopqrstuvwx",
        "headers": {"X-Custom-Auth": "opaque-1", "X-Tenant": "acme", "Cookie": "session=abc"},
        "extra_headers": [{"name": "X-Goog-Api-Key", "value": "AIzaSyA-1234567890abcdefghijklmnopqrstu"}],
        "auth_tokens": ["tok-1", "tok-2"],
        "key_value": "kv-secret",
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
        "max_tokens": 512,
        "speculative_inference": True,
    },
    "tts": {"tts_engine": "cartesia", "external_voice_id": "v1", "voice_settings": {"speed": "normal"}},
    "stt": {"hotwords": "Tavus, Daily", "key_terms": ["Tavus"]},
}
PERSONA_LAYERS_SEEN = {
    "llm": {
        "model": "custom-llm",
        "base_url": "https://[redacted]@llm.example.test/v1",
        "api_key": "[redacted]",
        "headers": {"X-Custom-Auth": "[redacted]", "X-Tenant": "acme", "Cookie": "[redacted]"},
        "extra_headers": [{"name": "X-Goog-Api-Key", "value": "[redacted]"}],
        "auth_tokens": "[redacted]",
        "key_value": "[redacted]",
        "jwt": "[redacted]",
        "max_tokens": 512,
        "speculative_inference": True,
    },
    "tts": {"tts_engine": "cartesia", "external_voice_id": "v1", "voice_settings": {"speed": "normal"}},
    "stt": {"hotwords": "Tavus, Daily", "key_terms": ["Tavus"]},
}


async def test_persona_credentials_are_redacted_by_name_and_shape(tavus: RawTavus) -> None:
    persona = {
        "persona_id": "p1",
        "persona_name": "Support",
        "system_prompt": "Call the CRM with CRM_API_KEY=crm-8f7e6d5c and Authorization: Bearer abcdef123456.",
        "context": "The basic plan costs 10 dollars; the password: hunter2 is never to be said.",
        "layers": PERSONA_LAYERS,
    }
    tavus.answers.append(json_answer("200 OK", {"data": [persona], "total_count": 1}))
    async with connect(settings_for(tavus)) as mcp:
        result = await mcp.call_tool("list_personas", {})

    assert result.structured_content is not None
    [seen] = result.structured_content["personas"]
    assert seen["layers"] == PERSONA_LAYERS_SEEN
    assert seen["system_prompt"] == "Call the CRM with CRM_API_KEY=[redacted] and Authorization: Bearer [redacted]."
    assert seen["context"] == "The basic plan costs 10 dollars; the password: [redacted] is never to be said."
    for secret in ("llm-pass-9081", "sk-live", "opaque-1", "session=abc", "AIzaSy", "tok-1", "kv-secret", "eyJ"):
        assert secret not in result.model_dump_json()


def test_credential_names_and_shapes() -> None:
    assert redact_secrets({"DB_PASSWORD": "x", "keywords": ["a"], "author": "me", "monkey": "m", "token_limit": 3}) == {
        "DB_PASSWORD": "[redacted]",
        "keywords": ["a"],
        "author": "me",
        "monkey": "m",
        "token_limit": 3,
    }
    assert redact_text("OPENAI_API_KEY=sk-proj-0123456789abcdefghij, ok") == "OPENAI_API_KEY=[redacted], ok"
    assert redact_text('{"client_secret": "s3cr3t"}') == '{"client_secret": "[redacted]"}'
    assert redact_text("https://hooks.example.test/x?token=abc123&page=2") == (
        "https://hooks.example.test/x?token=[redacted]&page=2"
    )
    # Prose stays prose.
    prose = "A basic understanding of the key points: the token economy and the author's secret garden."
    assert redact_text(prose) == prose


def test_scrubbing_finds_every_encoding_and_leaves_the_rest() -> None:
    scrub = Scrubber([LEAK_KEY])
    for form in forms_of(LEAK_KEY)[2:9]:
        assert scrub(f"before {form} after") == "before [redacted] after", form
    mixed = "".join(char if index % 3 else escaped(char) for index, char in enumerate(LEAK_KEY))
    assert scrub(mixed) == "[redacted]"
    assert scrub("nothing to see here") == "nothing to see here"
    assert scrub.cut("body ends " + escaped(LEAK_KEY[:7])) == "body ends "
    assert url_secrets(f"http://{USER}:{PASSWORD}@h") == [f"{USER}:{PASSWORD}", PASSWORD]
    assert public_url(f"http://{USER}:{PASSWORD}@h:8/p?q=1") == "http://h:8/p?q=1"


def test_a_secret_too_short_to_scrub_safely_is_left_to_the_url_rules() -> None:
    # Scrubbing "pw" would garble every word holding those letters; URLs never show their userinfo anyway.
    assert Scrubber(["pw"])("pwned") == "pwned"
    assert public_url("http://u:pw@h") == "http://h"


def test_a_refused_base_url_is_quoted_without_its_password() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tavus_mcp"],
        env={"PATH": os.environ.get("PATH", ""), "TAVUS_API_BASE_URL": f"htp://{USER}:{PASSWORD}@gw.example.test"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "mcp-server-tavus: TAVUS_API_BASE_URL (--api-base-url) must be an absolute http(s) URL such as "
        "'https://tavusapi.com', got 'htp://[redacted]@gw.example.test'\n"
    )


async def test_a_team_users_own_key_is_scrubbed_from_what_echoes_it() -> None:
    user_key = "tvs-user-key-4e8a1c6b9d2f7a3e5c0b"

    def echo(request: httpx2.Request) -> httpx2.Response:
        sent = request.headers["x-api-key"]
        return httpx2.Response(401, json={"message": f"bad key {escaped(sent)}"})

    async with TavusClient(
        api_key=SecretStr(LEAK_KEY), base_url="https://tavus.test", timeout=5, transport=httpx2.MockTransport(echo)
    ) as tavus:
        with pytest.raises(AuthenticationError) as raised:
            await tavus.traced(None, api_key=SecretStr(user_key)).list_replicas(ListReplicasRequest())
    assert raised.value.message == "bad key [redacted]"
    assert scrub(f"logged {user_key}") == "logged [redacted]"  # registered for log lines and results too
