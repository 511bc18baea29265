"""Safety rules that a one-line slip would break without another test noticing, each pinned here.

Each test was written against a bug planted in the product (docs/development.md, "Safety rules and the tests that
guard them", lists them): a credential in a `{name, value}` pair whose value has no recognisable shape, an id that
must stay one path segment whatever validation lets through, and a Retry-After far beyond what a tool call may
wait, with a timeout generous enough that only the cap stops the wait.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import BaseModel, SecretStr

from tavus_mcp.client import TavusClient
from tavus_mcp.errors import TavusError
from tavus_mcp.models.conversations import DeleteConversationRequest, EndConversationRequest, GetConversationRequest
from tavus_mcp.models.personas import DeletePersonaRequest, GetPersonaRequest
from tavus_mcp.redaction import Scrubber
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tests.conftest import Sandbox, connect, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

# Values with no shape of a credential (no prefix, no digits): only the name beside them says they are one.
PAIR_SECRETS = ("opaque-header-value", "another-opaque-value", "third-opaque-value", "fourth-opaque-value")


def _persona_fault(layers: dict[str, Any]) -> Fault:
    persona = {"persona_id": "p1", "persona_name": "Support", "default_replica_id": "rfe12d8b9597", "layers": layers}
    return Fault(status=200, body=json.dumps(persona), content_type="application/json", path="/v2/personas/p1")


# Redaction: a credential named by its neighbour


async def test_a_credential_in_a_name_value_pair_is_redacted_whatever_its_shape(mcp: Client, sandbox: Sandbox) -> None:
    layers = {
        "llm": {
            "model": "custom",
            "headers": [
                {"name": "X-Api-Key", "value": PAIR_SECRETS[0]},
                {"name": "X-Tenant", "value": "acme"},
                {"key": "Authorization", "values": [PAIR_SECRETS[1]]},
                {"header": "x-auth-token", "secret": PAIR_SECRETS[2]},
                {"header_name": "Client-Secret", "value": PAIR_SECRETS[3]},
            ],
        }
    }
    sandbox.faults.append(_persona_fault(layers))

    result = await mcp.call_tool("get_persona", {"persona_id": "p1"})

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["layers"]["llm"]["headers"] == [
        {"name": "X-Api-Key", "value": "[redacted]"},
        {"name": "X-Tenant", "value": "acme"},  # a name that is no credential keeps its value
        {"key": "[redacted]", "values": "[redacted]"},  # "key" names a credential itself
        {"header": "x-auth-token", "secret": "[redacted]"},
        {"header_name": "Client-Secret", "value": "[redacted]"},
    ]
    everything = result.model_dump_json()
    for secret in PAIR_SECRETS:
        assert secret not in everything
    assert '{"name": "X-Api-Key", "value": "[redacted]"}' in text_of(result)


# Redaction: every name a credential goes by, and every shape one has, in what Tavus answers

CREDENTIAL_NAMES = [
    "api_key", "apiKey", "x-api-key", "private_key", "signing_key", "access_key", "aws_secret_access_key",
    "client_secret", "refresh_token", "Authorization", "password", "db_passwd", "otp", "webhook_signature",
    "Cookie", "key_material", "jwt", "passphrase", "credentials",
]  # fmt: skip
# Names that only look like one: their values stay.
ORDINARY_NAMES = ["keywords", "key_terms", "author", "monkey", "hotwords", "tts_engine", "tokenizer_model"]
# Values shaped like a credential, said in prose, where no name says what they are.
SHAPED = {
    "OpenAI key": "sk-proj-abcdefghij0123456789",
    "Stripe key": "rk_live_abcdefghij0123",
    "Slack token": "xoxb-1234567890-abcdefghij",
    "GitHub token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "GitHub fine-grained token": "github_pat_abcdefghijklmnopqrstuvwxyz0123",
    "AWS access key id": "AKIAABCDEFGHIJKLMNOP",
    "Google API key": "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "JWT": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl",
}


async def test_every_credential_name_and_shape_is_redacted_from_a_persona(mcp: Client, sandbox: Sandbox) -> None:
    fields = {name: f"value-of-{index}" for index, name in enumerate(CREDENTIAL_NAMES)}
    ordinary = {name: f"kept-{name}" for name in ORDINARY_NAMES}
    prompt = " ".join(f"The {what} is {value}." for what, value in SHAPED.items())
    prompt += " Send Authorization: Bearer opaque.bearer-value9 and visit https://crm-user:crm-pass9@crm.test/x."
    layers = {"llm": {**fields, **ordinary, "nested": [{"deeper": dict(fields)}]}}
    persona = {"persona_id": "p1", "persona_name": "Support", "system_prompt": prompt, "layers": layers}
    sandbox.faults.append(
        Fault(status=200, body=json.dumps(persona), content_type="application/json", path="/v2/personas/p1")
    )

    result = await mcp.call_tool("get_persona", {"persona_id": "p1"})

    assert result.structured_content is not None, text_of(result)
    llm = result.structured_content["layers"]["llm"]
    assert {name: llm[name] for name in fields} == dict.fromkeys(fields, "[redacted]")
    assert llm["nested"] == [{"deeper": dict.fromkeys(fields, "[redacted]")}]
    assert {name: llm[name] for name in ordinary} == ordinary
    expected = " ".join(f"The {what} is [redacted]." for what in SHAPED)
    expected += " Send Authorization: Bearer [redacted] and visit https://[redacted]@crm.test/x."
    assert result.structured_content["system_prompt"] == expected
    everything = result.model_dump_json()
    for secret in [*fields.values(), *SHAPED.values(), "opaque.bearer-value9", "crm-pass9"]:
        assert secret not in everything


# Scrubbing a known secret: every encoding an answer can carry it in, each written here by hand

# Its base64 holds '/' and '+' at every offset, so that base64url writes it differently ('_' and '-').
SECRET = "tvs-secret-?>?>?>-9f2c"


def _json_escaped(text: str, upper: bool = False) -> str:
    return "".join(f"\\u{ord(char):04X}" if upper else f"\\u{ord(char):04x}" for char in text)


def _percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


ENCODINGS = {
    "plain": SECRET,
    "JSON escapes": _json_escaped(SECRET),
    "JSON escapes, upper case": _json_escaped(SECRET, upper=True),
    "JSON escapes, escaped again": _json_escaped(SECRET).replace("\\", "\\\\"),
    "JSON short escapes": SECRET.replace("/", "\\/"),
    "percent-encoding": _percent(SECRET),
    "percent-encoding, lower case": _percent(SECRET).lower(),
    "percent-encoding, twice (as a URL inside a URL)": _percent(SECRET).replace("%", "%25"),
    "HTML decimal references": "".join(f"&#{ord(char)};" for char in SECRET),
    "HTML decimal references, zero-padded": "".join(f"&#{ord(char):05d};" for char in SECRET),
    "HTML hexadecimal references": "".join(f"&#x{ord(char):x};" for char in SECRET),
    "HTML hexadecimal references, upper case": "".join(f"&#X{ord(char):X};" for char in SECRET),
    "one character in each encoding": "".join(
        (char, _json_escaped(char), _percent(char), f"&#{ord(char)};")[index % 4] for index, char in enumerate(SECRET)
    ),
}


@pytest.mark.parametrize("form", list(ENCODINGS.values()), ids=list(ENCODINGS))
def test_a_known_secret_is_scrubbed_in_every_encoding(form: str) -> None:
    assert Scrubber([SECRET])(f"before {form} after") == "before [redacted] after"


@pytest.mark.parametrize("offset", [0, 1, 2])
@pytest.mark.parametrize("alphabet", ["standard", "url-safe"])
def test_a_known_secret_is_scrubbed_from_base64_at_any_offset(offset: int, alphabet: str) -> None:
    encode = base64.b64encode if alphabet == "standard" else base64.urlsafe_b64encode
    form = encode(b"x" * offset + f"user:{SECRET}".encode() + b"yy").decode()
    assert any(char in form for char in "+/-_")  # the alphabets differ here

    scrubbed = Scrubber([SECRET])(form)

    # What is left around '[redacted]' is at most the few characters that mix the secret's bits with its
    # neighbours': too few to hold any of it.
    assert scrubbed.count("[redacted]") == 1
    assert all(len(piece) <= len("user:") * 4 // 3 + 4 for piece in scrubbed.split("[redacted]"))


def test_a_body_cut_in_the_middle_of_a_secret_keeps_none_of_it() -> None:
    scrub = Scrubber([SECRET])
    for length in range(1, len(SECRET)):
        for encode in (str, _json_escaped, _percent):
            assert scrub.cut("kept text " + encode(SECRET[:length])) == "kept text ", (length, encode)
    assert scrub.cut("kept text, not a secret.") == "kept text, not a secret."


# Path quoting: an id is one path segment, even one that validation would never have let through


PATH_CALLS: list[tuple[str, type[BaseModel], str, str]] = [
    ("get_conversation", GetConversationRequest, "GET", "/v2/conversations/{}"),
    ("end_conversation", EndConversationRequest, "POST", "/v2/conversations/{}/end"),
    ("delete_conversation", DeleteConversationRequest, "DELETE", "/v2/conversations/{}"),
    ("get_persona", GetPersonaRequest, "GET", "/v2/personas/{}"),
    ("delete_persona", DeletePersonaRequest, "DELETE", "/v2/personas/{}"),
]


@pytest.mark.parametrize(("method_name", "model", "method", "template"), PATH_CALLS, ids=[c[0] for c in PATH_CALLS])
@pytest.mark.parametrize(
    ("identifier", "on_the_wire"),
    [
        ("../personas/x", "..%2Fpersonas%2Fx"),
        ("a/b", "a%2Fb"),
        ("c1?hard=true", "c1%3Fhard%3Dtrue"),
        ("..", "%2E%2E"),
        (".", "%2E"),
    ],
)
async def test_an_id_reaches_tavus_as_one_quoted_path_segment(
    sandbox: Sandbox,
    method_name: str,
    model: type[BaseModel],
    method: str,
    template: str,
    identifier: str,
    on_the_wire: str,
) -> None:
    # Built without validation (which refuses such ids first, tested in test_lifecycle): the client must quote
    # whatever it is given, or an id could name another endpoint.
    field = "persona_id" if "persona" in method_name else "conversation_id"
    request = model.model_construct(None, **{field: identifier})
    async with TavusClient(
        api_key=SecretStr(SANDBOX_API_KEY), base_url=sandbox.base_url, timeout=5, max_retries=0
    ) as tavus:
        with pytest.raises(TavusError):  # what Tavus says about an unknown id does not matter here
            await getattr(tavus, method_name)(request)

    [seen] = sandbox.injector.seen
    assert (seen.method, seen.raw_path) == (method, template.format(on_the_wire))
    assert seen.query == {}


async def test_an_id_that_is_not_one_segment_is_refused_before_anything_is_sent(mcp: Client, sandbox: Sandbox) -> None:
    result = await mcp.call_tool("get_conversation", {"conversation_id": "../personas/x"})

    assert result.is_error
    assert "'../personas/x' is not a conversation id: ids are letters, digits, '-' and '_'" in text_of(result)
    assert sandbox.injector.seen == []


# Retry-After: never waited for beyond the cap, however long the call's own budget


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            429,
            '{"message": "Too many requests"}',
            "Tavus is limiting the rate of requests (HTTP 429). Wait 3600 seconds and try again.",
        ),
        (503, "", "Tavus failed with HTTP 503 (Service Unavailable). Try again shortly."),
    ],
    ids=["429", "503"],
)
async def test_a_retry_after_beyond_the_cap_is_not_waited_for_even_with_time_to_spare(
    sandbox: Sandbox, status: int, body: str, said: str
) -> None:
    # An hour of budget: only the cap on Retry-After stops the client from sleeping for an hour. The bound below
    # is generous (the call answers at once); reaching it means the client waited.
    sandbox.faults.append(
        Fault(status=status, body=body, headers={"Retry-After": "3600"}, path="/v2/replicas", times=5)
    )
    async with connect(sandbox.settings(timeout=7200, max_retries=2)) as mcp:
        with anyio.fail_after(30):
            result = await mcp.call_tool("list_replicas", {})

    assert result.is_error
    assert text_of(result) == said
    assert len(sandbox.requests_to("GET", "/v2/replicas")) == 1


async def test_a_retry_after_within_the_cap_is_followed_once(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=429, body="", headers={"Retry-After": "0"}, path="/v2/conversations"))
    async with connect(sandbox.settings(timeout=7200, max_retries=2)) as mcp:
        with anyio.fail_after(30):
            result = await mcp.call_tool("create_conversation", {"replica_id": "rfe12d8b9597", "test_mode": True})

    assert not result.is_error, text_of(result)
    assert len(sandbox.creates()) == 2  # refused before Tavus acted, so even a create is repeated
    assert len(sandbox.emulator.conversations) == 1
