"""Confirmed spending: before a billed call or a hard delete, a client that can show a form asks the user.

Through the protocol, in both eras: a 2026-07-28 client answers an input-required round (the SDK's client drives it),
a 2025-11-25 client answers an `elicitation/create` request mid-call. Each test checks what the user was asked and
exactly what reached Tavus: the body of the create, or nothing at all.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.context import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult, InputRequiredResult, InputResponses

from tavus_mcp.config import Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.server import build_server
from tests.conftest import Sandbox, text_of
from tests.servers import jsonrpc_answer, modern_call, running_server

pytestmark = pytest.mark.anyio

REPLICA = "rfe12d8b9597"
ARGUMENTS: dict[str, Any] = {
    "replica_id": REPLICA,
    "conversation_name": "Pricing practice",
    "properties": {"max_call_duration": 600},
}
QUESTION = (
    "Start a billed Tavus video call with replica rfe12d8b9597? It lasts at most 600 seconds (max_call_duration). "
    "Billing runs from now until the call ends (at that limit, when everyone has left, or when it is ended). Or "
    "create it in test mode: no charge, and no replica joins."
)
START_FIELD = {
    "type": "string",
    "title": "How to start",
    "oneOf": [
        {"const": "billed", "title": "Start the billed call"},
        {"const": "test_mode", "title": "Use test mode instead: no charge, no replica joins"},
    ],
    "default": "billed",
}
DECLINED = (
    "Not done: asked to confirm (start a billed call with replica rfe12d8b9597), the user declined, so nothing was "
    "sent to Tavus. No conversation exists. Do not try again unless the user asks; create_conversation with "
    "test_mode: true tries the setup without charge."
)
CANCELLED = DECLINED.replace("the user declined", "the user closed the question without answering")

# How a client reaches the server: in memory or over stdio, in either protocol era. A question asked and answered
# over stdio is quick in each era; the other stdio reruns (a process apiece) are left to the slow suite.
ERAS = ["2026-07-28", "2025-11-25"]
WAYS = [
    *(("memory", era) for era in ERAS),
    *(pytest.param("stdio", era, marks=pytest.mark.stdio) for era in ERAS),
]
WAYS_STDIO_SLOW = [
    *(("memory", era) for era in ERAS),
    *(pytest.param("stdio", era, marks=[pytest.mark.stdio, pytest.mark.slow]) for era in ERAS),
]


@dataclass
class User:
    """The person behind the client's forms: answers every question the same way, and remembers what was asked."""

    action: str = "accept"
    content: dict[str, Any] | None = field(default_factory=dict)
    asked: list[ElicitRequestFormParams] = field(default_factory=list)

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.asked.append(params)
        return ElicitResult(action=self.action, content=self.content if self.action == "accept" else None)


@asynccontextmanager
async def client_for(sandbox: Sandbox, way: str, era: str, user: User | None, **settings: Any) -> AsyncIterator[Client]:
    """A client that can show forms (with a `user`) or cannot (None), connected in memory or over stdio."""
    mode = "legacy" if era == "2025-11-25" else "auto"
    if way == "memory":
        server: Any = build_server(sandbox.settings(**settings))
    else:
        env = {"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url, "TAVUS_LOG_LEVEL": "WARNING"}
        env |= {f"TAVUS_{name.upper()}": str(value) for name, value in settings.items()}
        server = StdioServerParameters(command=sys.executable, args=["-m", "tavus_mcp"], env=env)
    async with Client(server, mode=mode, elicitation_callback=user, read_timeout_seconds=30) as client:
        assert client.protocol_version == era
        yield client


@pytest.mark.parametrize(("way", "era"), WAYS)
async def test_accepted_the_call_is_started_as_asked(sandbox: Sandbox, way: str, era: str) -> None:
    user = User(content={"start": "billed"})
    async with client_for(sandbox, way, era, user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert not result.is_error, text_of(result)
    [asked] = user.asked
    assert asked.message == QUESTION
    assert asked.requested_schema["properties"] == {"start": START_FIELD}
    assert sandbox.creates() == [ARGUMENTS]
    assert result.structured_content is not None and result.structured_content["billed"] is True


@pytest.mark.parametrize(("way", "era"), WAYS_STDIO_SLOW)
async def test_declined_nothing_reaches_tavus(sandbox: Sandbox, way: str, era: str) -> None:
    user = User(action="decline")
    async with client_for(sandbox, way, era, user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert len(user.asked) == 1
    assert result.is_error
    assert text_of(result) == DECLINED
    assert sandbox.requests_to("POST", "/v2/conversations") == []


@pytest.mark.parametrize("era", ERAS)
async def test_cancelled_nothing_reaches_tavus(sandbox: Sandbox, era: str) -> None:
    user = User(action="cancel")
    async with client_for(sandbox, "memory", era, user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert len(user.asked) == 1
    assert result.is_error
    assert text_of(result) == CANCELLED
    assert sandbox.requests_to("POST", "/v2/conversations") == []


@pytest.mark.parametrize("era", ERAS)
async def test_test_mode_chosen_instead_creates_a_test_conversation(sandbox: Sandbox, era: str) -> None:
    user = User(content={"start": "test_mode"})
    async with client_for(sandbox, "memory", era, user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{**ARGUMENTS, "test_mode": True}]
    assert result.structured_content is not None
    assert result.structured_content["test_mode"] is True and result.structured_content["billed"] is False
    assert "Test mode: the conversation was created with status 'ended'." in text_of(result)


@pytest.mark.parametrize("era", ERAS)
async def test_an_answer_outside_the_form_does_nothing(sandbox: Sandbox, era: str) -> None:
    # A client that accepts with a value the form does not offer.
    user = User(content={"start": "maybe"})
    async with client_for(sandbox, "memory", era, user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert result.is_error
    assert text_of(result) == DECLINED.replace(
        "the user declined", "the user gave an answer this server could not read"
    )
    assert sandbox.requests_to("POST", "/v2/conversations") == []


@pytest.mark.parametrize(("way", "era"), WAYS_STDIO_SLOW)
async def test_a_client_without_forms_gets_todays_behaviour(sandbox: Sandbox, way: str, era: str) -> None:
    async with client_for(sandbox, way, era, None) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [ARGUMENTS]


@pytest.mark.parametrize(
    ("arguments", "settings"),
    [
        ({**ARGUMENTS, "test_mode": True}, {}),  # test mode costs nothing
        (ARGUMENTS, {"force_test_mode": True}),  # neither does the operator's TAVUS_TEST_MODE
        (ARGUMENTS, {"confirm_billed": "never"}),  # and TAVUS_CONFIRM_BILLED=never is for unattended agents
    ],
)
@pytest.mark.parametrize("era", ERAS)
async def test_calls_that_cost_nothing_or_may_not_ask_are_not_asked(
    sandbox: Sandbox, era: str, arguments: dict[str, Any], settings: dict[str, Any]
) -> None:
    user = User()
    async with client_for(sandbox, "memory", era, user, **settings) as client:
        result = await client.call_tool("create_conversation", arguments)

    assert not result.is_error, text_of(result)
    assert user.asked == []
    assert len(sandbox.creates()) == 1


async def test_the_sandbox_is_not_asked_about() -> None:
    user = User()
    async with Client(build_server(Settings(sandbox=True).validated()), elicitation_callback=user) as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)
    assert not result.is_error, text_of(result)
    assert user.asked == []


@pytest.mark.parametrize("way", ["memory", pytest.param("stdio", marks=[pytest.mark.stdio, pytest.mark.slow])])
async def test_confirm_billed_never_from_the_environment(sandbox: Sandbox, way: str) -> None:
    user = User()
    if way == "memory":
        # The settings the command reads from its environment, as it reads them.
        environ = {"TAVUS_API_KEY": SANDBOX_API_KEY, "TAVUS_API_BASE_URL": sandbox.base_url}
        server = build_server(Settings.from_env({**environ, "TAVUS_CONFIRM_BILLED": "never"}).validated())
        connection: contextlib.AbstractAsyncContextManager[Client] = Client(server, elicitation_callback=user)
    else:
        connection = client_for(sandbox, "stdio", "2026-07-28", user, confirm_billed="never")
    async with connection as client:
        result = await client.call_tool("create_conversation", ARGUMENTS)
    assert not result.is_error, text_of(result)
    assert user.asked == []
    assert sandbox.creates() == [ARGUMENTS]


async def test_the_question_names_the_persona_the_defaults_and_the_cap(sandbox: Sandbox) -> None:
    user = User(action="decline")
    settings = {"default_persona_id": "p9a95912", "max_call_duration": 900}
    async with client_for(sandbox, "memory", "2026-07-28", user, **settings) as client:
        await client.call_tool("create_conversation", {"conversation_name": "Defaults"})
        # Refused by the operator's cap before anyone is asked.
        over = await client.call_tool(
            "create_conversation", {"replica_id": REPLICA, "properties": {"max_call_duration": 901}}
        )
        await client.call_tool("create_conversation", {"replica_id": REPLICA, "persona_id": "p9a95912"})

    assert over.is_error and "above this server's cap of 900 seconds" in text_of(over)
    assert [params.message.split("?")[0] for params in user.asked] == [
        "Start a billed Tavus video call with persona p9a95912",
        "Start a billed Tavus video call with replica rfe12d8b9597 and persona p9a95912",
    ]
    assert all("It lasts at most 900 seconds (max_call_duration)." in params.message for params in user.asked)
    async with client_for(sandbox, "memory", "2026-07-28", user) as client:
        await client.call_tool("create_conversation", {"replica_id": REPLICA})
    assert "No max_call_duration was set: Tavus ends it after 3600 seconds at most." in user.asked[-1].message
    assert sandbox.requests_to("POST", "/v2/conversations") == []


# Hard deletes


@pytest.mark.parametrize("era", ERAS)
async def test_a_hard_delete_is_confirmed(sandbox: Sandbox, era: str) -> None:
    user = User(action="decline")
    async with client_for(sandbox, "memory", era, user) as client:
        created = await client.call_tool("create_conversation", {"replica_id": REPLICA, "test_mode": True})
        assert created.structured_content is not None
        conversation_id = created.structured_content["conversation_id"]
        path = f"/v2/conversations/{conversation_id}"

        refused = await client.call_tool("delete_conversation", {"conversation_id": conversation_id, "hard": True})
        assert refused.is_error
        assert text_of(refused) == (
            f"Not done: asked to confirm (delete conversation {conversation_id} irreversibly), the user declined, so "
            "nothing was sent to Tavus. The conversation is unchanged. Do not try again unless the user asks."
        )
        assert sandbox.requests_to("DELETE", path) == []
        [asked] = user.asked
        assert asked.message.startswith(f"Delete conversation {conversation_id} irreversibly?")
        assert asked.requested_schema["properties"] == {}

        user.action = "accept"
        deleted = await client.call_tool("delete_conversation", {"conversation_id": conversation_id, "hard": True})
        assert not deleted.is_error, text_of(deleted)
        assert [request.query for request in sandbox.requests_to("DELETE", path)] == [{"hard": "true"}]

        # A soft delete is not asked about.
        other = await client.call_tool("create_conversation", {"replica_id": REPLICA, "test_mode": True})
        assert other.structured_content is not None
        soft = await client.call_tool(
            "delete_conversation", {"conversation_id": other.structured_content["conversation_id"]}
        )
        assert not soft.is_error, text_of(soft)
    assert len(user.asked) == 2


@pytest.mark.parametrize("era", ERAS)
async def test_deleting_a_persona_is_confirmed(sandbox: Sandbox, era: str) -> None:
    user = User(action="decline")
    async with client_for(sandbox, "memory", era, user) as client:
        created = await client.call_tool("create_persona", {"system_prompt": "You are a skeptical buyer."})
        assert created.structured_content is not None
        persona_id = created.structured_content["persona_id"]
        path = f"/v2/personas/{persona_id}"

        refused = await client.call_tool("delete_persona", {"persona_id": persona_id})
        assert refused.is_error
        assert text_of(refused) == (
            f"Not done: asked to confirm (delete persona {persona_id}), the user declined, so nothing was sent to "
            "Tavus. The persona is unchanged. Do not try again unless the user asks."
        )
        assert sandbox.requests_to("DELETE", path) == []
        [asked] = user.asked
        assert asked.message == (
            f"Delete persona {persona_id} irreversibly? Its prompt and settings are gone for good, and new "
            "conversations can no longer use it."
        )
        assert asked.requested_schema["properties"] == {}

        user.action = "accept"
        deleted = await client.call_tool("delete_persona", {"persona_id": persona_id})
        assert not deleted.is_error, text_of(deleted)
        assert len(sandbox.requests_to("DELETE", path)) == 1
    assert len(user.asked) == 2


# Deleting a document, or a set of objectives or guardrails: each made first, then its delete declined and accepted.
OBJECTIVE = {"objective_name": "ask", "objective_prompt": "Ask."}
GUARDRAIL = {"guardrail_name": "calm", "guardrail_prompt": "Calm."}
DELETES: dict[str, tuple[str, dict[str, Any], str]] = {
    "document": ("create_document", {"document_url": "https://example.com/sheet.pdf"}, "/v2/documents"),
    "objectives": ("create_objectives", {"data": [OBJECTIVE]}, "/v2/objectives"),
    "guardrails": ("create_guardrails", {"data": [GUARDRAIL]}, "/v2/guardrails"),
}
LOST = {
    "document": "Replicas no longer consult it, in any call or persona that names it.",
    "objectives": "Personas that name them no longer follow them.",
    "guardrails": "Personas that name them no longer follow them.",
}


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("kind", list(DELETES))
async def test_deleting_a_document_objectives_or_guardrails_is_confirmed(sandbox: Sandbox, era: str, kind: str) -> None:
    create, arguments, collection = DELETES[kind]
    user = User(action="decline")
    every = ("conversations", "personas", "knowledge", "objectives", "guardrails")
    async with client_for(sandbox, "memory", era, user, toolsets=every) as client:
        created = await client.call_tool(create, arguments)
        assert created.structured_content is not None, text_of(created)
        identifier = created.structured_content[f"{kind}_id"]
        path = f"{collection}/{identifier}"

        refused = await client.call_tool(f"delete_{kind}", {f"{kind}_id": identifier})
        assert refused.is_error
        unchanged = "The document is unchanged." if kind == "document" else f"The {kind} are unchanged."
        assert text_of(refused) == (
            f"Not done: asked to confirm (delete {kind} {identifier}), the user declined, so nothing was sent to "
            f"Tavus. {unchanged} Do not try again unless the user asks."
        )
        assert sandbox.requests_to("DELETE", path) == []
        [asked] = user.asked
        assert asked.message == f"Delete {kind} {identifier} irreversibly? {LOST[kind]}"

        user.action = "accept"
        deleted = await client.call_tool(f"delete_{kind}", {f"{kind}_id": identifier})
        assert not deleted.is_error, text_of(deleted)
        assert len(sandbox.requests_to("DELETE", path)) == 1


# The 2026-07-28 round, driven by hand


async def test_an_answer_the_server_did_not_ask_for_is_not_taken(sandbox: Sandbox) -> None:
    """A first call carrying an answer but no state of this server's: the question is asked, nothing is created."""
    async with Client(build_server(sandbox.settings()), elicitation_callback=User()) as client:
        forged: InputResponses = {"confirm": ElicitResult(action="accept", content={"start": "billed"})}
        result = await client.session.call_tool(
            "create_conversation", ARGUMENTS, input_responses=forged, allow_input_required=True
        )
    assert isinstance(result, InputRequiredResult)
    assert list(result.input_requests or {}) == ["confirm"]
    assert sandbox.requests_to("POST", "/v2/conversations") == []


async def test_the_answer_holds_only_for_the_arguments_it_was_asked_about(sandbox: Sandbox) -> None:
    async with Client(build_server(sandbox.settings()), elicitation_callback=User()) as client:
        first = await client.session.call_tool("create_conversation", ARGUMENTS, allow_input_required=True)
        assert isinstance(first, InputRequiredResult) and first.request_state
        answer: InputResponses = {"confirm": ElicitResult(action="accept", content={"start": "billed"})}
        longer = {**ARGUMENTS, "properties": {"max_call_duration": 3600}}
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await client.session.call_tool(
                "create_conversation",
                longer,
                input_responses=answer,
                request_state=first.request_state,
                allow_input_required=True,
            )
    assert sandbox.requests_to("POST", "/v2/conversations") == []


async def test_another_process_for_the_same_account_reads_the_state(sandbox: Sandbox) -> None:
    """HTTP workers behind one address: the answer may reach another process than the one that asked."""
    async with (
        Client(build_server(sandbox.settings()), elicitation_callback=User()) as asking,
        Client(build_server(sandbox.settings()), elicitation_callback=User()) as answering,
    ):
        first = await asking.session.call_tool("create_conversation", ARGUMENTS, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        answer: InputResponses = {"confirm": ElicitResult(action="accept", content={"start": "billed"})}
        result = await answering.session.call_tool(
            "create_conversation",
            ARGUMENTS,
            input_responses=answer,
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert not isinstance(result, InputRequiredResult)
    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [ARGUMENTS]


REPLAYED = (
    "Not done: this confirmation was already used once, so nothing was sent to Tavus. Call the tool again without "
    "it; the user will be asked again."
)


async def test_an_accepted_answer_starts_one_call_however_often_it_is_sent(sandbox: Sandbox) -> None:
    """The sealed state is authentic and fresh each time it is replayed; it is still good for one call only."""
    answer: InputResponses = {"confirm": ElicitResult(action="accept", content={"start": "billed"})}
    async with Client(build_server(sandbox.settings()), elicitation_callback=User()) as client:
        first = await client.session.call_tool("create_conversation", ARGUMENTS, allow_input_required=True)
        assert isinstance(first, InputRequiredResult) and first.request_state
        results = [
            await client.session.call_tool(
                "create_conversation",
                ARGUMENTS,
                input_responses=answer,
                request_state=first.request_state,
                allow_input_required=True,
            )
            for _ in range(4)
        ]
    started, *replays = results
    assert not isinstance(started, InputRequiredResult) and not started.is_error, started
    for replay in replays:
        assert not isinstance(replay, InputRequiredResult)
        assert replay.is_error and text_of(replay) == REPLAYED
    assert sandbox.creates() == [ARGUMENTS]


async def test_a_new_question_is_answered_anew_after_one_was_used(sandbox: Sandbox) -> None:
    """The same call made twice, each asked and accepted: two conversations, as the user confirmed twice."""
    async with Client(build_server(sandbox.settings()), elicitation_callback=User(content={"start": "billed"})) as c:
        for _ in range(2):
            result = await c.call_tool("create_conversation", ARGUMENTS)
            assert not result.is_error, text_of(result)
    assert sandbox.creates() == [ARGUMENTS, ARGUMENTS]


@pytest.mark.parametrize(("answering_secret", "accepted"), [("alice-key\nbob-key", True), ("other-keys", False)])
async def test_workers_without_a_server_key_read_each_others_state_from_the_users_keys(
    sandbox: Sandbox, answering_secret: str, accepted: bool
) -> None:
    """A team server whose users pay with their own keys (no TAVUS_API_KEY): every worker derives the sealing key
    from the users' keys, so the answer may reach another worker than the one that asked; a deployment with other
    keys cannot read it."""
    settings = sandbox.settings()
    async with (
        Client(build_server(settings, state_secret="alice-key\nbob-key"), elicitation_callback=User()) as asking,
        Client(build_server(settings, state_secret=answering_secret), elicitation_callback=User()) as answering,
    ):
        first = await asking.session.call_tool("create_conversation", ARGUMENTS, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        answer: InputResponses = {"confirm": ElicitResult(action="accept", content={"start": "billed"})}
        retry = answering.session.call_tool(
            "create_conversation",
            ARGUMENTS,
            input_responses=answer,
            request_state=first.request_state,
            allow_input_required=True,
        )
        if not accepted:
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await retry
            assert sandbox.requests_to("POST", "/v2/conversations") == []
            return
        result = await retry
    assert not isinstance(result, InputRequiredResult) and not result.is_error, result
    assert sandbox.creates() == [ARGUMENTS]


# Over Streamable HTTP (stateless): a real `--transport http` process on loopback


@pytest.fixture(scope="module")
def http_url(_served_emulator: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m tavus_mcp --transport http` on a free loopback port, in front of the emulator; its /mcp URL. One
    for the module: a question and its answer are kept per call, not per server."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": _served_emulator.base_url,
        "TAVUS_LOG_LEVEL": "WARNING",
    }
    with running_server(tmp_path_factory.mktemp("confirm") / "server.log", env) as server:
        yield server.url


@pytest.mark.http
async def test_over_http_a_2026_client_confirms_across_two_requests(sandbox: Sandbox, http_url: str) -> None:
    for action in ("decline", "accept"):
        user = User(action=action, content={"start": "billed"})
        async with Client(http_url, elicitation_callback=user, read_timeout_seconds=30) as client:
            assert client.protocol_version == "2026-07-28"
            result = await client.call_tool("create_conversation", ARGUMENTS)
        assert [params.message for params in user.asked] == [QUESTION]
        if action == "decline":
            assert text_of(result) == DECLINED
            assert sandbox.requests_to("POST", "/v2/conversations") == []
    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [ARGUMENTS]


@pytest.mark.http
async def test_over_http_a_2025_client_is_asked_in_its_session(sandbox: Sandbox, http_url: str) -> None:
    # The session (Mcp-Session-Id) carries the question mid-call and brings the answer back to the call.
    user = User(action="decline")
    async with Client(http_url, mode="legacy", elicitation_callback=user, read_timeout_seconds=30) as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("create_conversation", ARGUMENTS)
    assert [params.message for params in user.asked] == [QUESTION]
    assert text_of(result) == DECLINED
    assert sandbox.requests_to("POST", "/v2/conversations") == []


def _call_on_the_wire(url: str, capabilities: dict[str, Any]) -> dict[str, Any]:
    """One 2026-07-28 tools/call as raw JSON-RPC, declaring these client capabilities; the JSON-RPC result."""
    body, headers = modern_call("create_conversation", ARGUMENTS, capabilities=capabilities)
    result: dict[str, Any] = jsonrpc_answer(httpx2.post(url, json=body, headers=headers, timeout=30))["result"]
    return result


@pytest.mark.http
def test_on_the_wire_forms_are_asked_for_and_url_only_clients_are_not(sandbox: Sandbox, http_url: str) -> None:
    # A bare `elicitation: {}` (as before modes existed) means forms: the answer is an input-required round.
    asked = _call_on_the_wire(http_url, {"elicitation": {}})
    assert asked["resultType"] == "input_required"
    request = asked["inputRequests"]["confirm"]
    assert request["method"] == "elicitation/create"
    assert request["params"]["message"] == QUESTION
    assert request["params"]["requestedSchema"]["properties"] == {"start": START_FIELD}
    # The state travels sealed by the SDK: the client cannot read or change it.
    assert asked["requestState"].startswith("v1.") and "confirm" not in asked["requestState"]
    assert sandbox.requests_to("POST", "/v2/conversations") == []

    # A client that shows only URL-mode elicitations gets today's behaviour.
    created = _call_on_the_wire(http_url, {"elicitation": {"url": {}}})
    assert created.get("isError") is not True, created
    assert sandbox.creates() == [ARGUMENTS]
