"""Safety rules that a one-line slip would break without another test noticing, each pinned here.

Each test was written against a bug planted in the product (docs/development.md, "Safety rules and the tests that
guard them", lists them): a credential in a `{name, value}` pair whose value has no recognisable shape, an id that
must stay one path segment whatever validation lets through, and a Retry-After far beyond what a tool call may
wait, with a timeout generous enough that only the cap stops the wait.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import BaseModel, SecretStr

from tavus_mcp.client import TavusClient
from tavus_mcp.errors import TavusError
from tavus_mcp.models import (
    DeleteConversationRequest,
    DeletePersonaRequest,
    EndConversationRequest,
    GetConversationRequest,
    GetPersonaRequest,
)
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
