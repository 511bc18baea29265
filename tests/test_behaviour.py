"""Objectives and guardrails through the protocol (toolsets `objectives` and `guardrails`): made, read, listed,
patched and deleted against the emulator behind the recording upstream, with the exact body Tavus received, or
nothing when the arguments are refused; and a persona that carries them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from tests.conftest import Sandbox, connect, text_of

pytestmark = pytest.mark.anyio

OBJECTIVES: list[dict[str, Any]] = [
    {
        "objective_name": "ask_budget",
        "objective_prompt": "Ask the buyer what budget they have.",
        "output_variables": ["budget"],
        "next_conditional_objectives": {"discuss_timeline": "If the budget fits", "close_politely": "If it does not"},
    },
    {
        "objective_name": "discuss_timeline",
        "objective_prompt": "Agree when the project starts.",
        "confirmation_mode": "manual",
        "next_required_objective": "close_politely",
        "callback_url": "https://example.com/hooks/objectives",
    },
    {"objective_name": "close_politely", "objective_prompt": "Thank them and close.", "modality": "verbal"},
]
GUARDRAILS: dict[str, Any] = {
    "name": "Stay in role",
    "data": [
        {"guardrail_name": "stay_in_role", "guardrail_prompt": "Never step out of the buyer's role."},
        {
            "guardrail_name": "no_discounts",
            "guardrail_prompt": "Never offer a discount yourself.",
            "modality": "verbal",
        },
    ],
}


@pytest.fixture
async def everything(sandbox: Sandbox) -> AsyncIterator[Client]:
    """A client of a server with every toolset on."""
    async with connect(
        sandbox.settings(toolsets=("conversations", "personas", "knowledge", "objectives", "guardrails"))
    ) as client:
        yield client


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return text_of(result), result.structured_content


async def test_objectives_are_created_read_listed_patched_and_deleted(everything: Client, sandbox: Sandbox) -> None:
    text, created = await _ok(everything, "create_objectives", {"data": OBJECTIVES})
    objectives_id = created["objectives_id"]

    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/objectives")] == [{"data": OBJECTIVES}]
    assert text.splitlines() == [
        f"Created objectives {objectives_id} ('New Objectives') with 3 objectives:",
        "- ask_budget: Ask the buyer what budget they have. (then discuss_timeline if If the budget fits; then "
        "close_politely if If it does not; collects budget)",
        "- discuss_timeline: Agree when the project starts. (then close_politely; confirmation_mode manual)",
        "- close_politely: Thank them and close.",
        f"A persona follows them once it names them: create_persona (or update_persona) with objectives_id "
        f"'{objectives_id}'. Objectives cost nothing.",
    ]

    text, got = await _ok(everything, "get_objectives", {"objectives_id": objectives_id})
    assert text.splitlines()[0] == f"Objectives {objectives_id} ('New Objectives'): 3 objectives."
    assert [row["objective_name"] for row in got["data"]] == ["ask_budget", "discuss_timeline", "close_politely"]

    text, listed = await _ok(everything, "list_objectives", {"limit": 5, "page": 1})
    assert [seen.query for seen in sandbox.requests_to("GET", "/v2/objectives")] == [{"limit": "5", "page": "1"}]
    assert [row["objectives_id"] for row in listed["objectives"]] == [objectives_id]

    patch = [{"op": "replace", "path": "/data/2/objective_prompt", "value": "Thank them warmly and close."}]
    text, updated = await _ok(everything, "update_objectives", {"objectives_id": objectives_id, "operations": patch})
    assert [seen.body for seen in sandbox.requests_to("PATCH", f"/v2/objectives/{objectives_id}")] == [patch]
    assert updated == {"objectives_id": objectives_id, "changed": True}
    assert sandbox.emulator.knowledge.objectives[objectives_id]["data"][2]["objective_prompt"] == (
        "Thank them warmly and close."
    )

    text, _ = await _ok(everything, "update_objectives", {"objectives_id": objectives_id, "operations": patch})
    assert text == (
        f"Tavus made no change to objectives {objectives_id} (HTTP 304): they already were as the patch asks."
    )

    text, deleted = await _ok(everything, "delete_objectives", {"objectives_id": objectives_id})
    assert deleted == {"objectives_id": objectives_id}
    assert objectives_id not in sandbox.emulator.knowledge.objectives


async def test_a_set_of_one_reads_as_the_reference_shows_it(everything: Client, sandbox: Sandbox) -> None:
    _, created = await _ok(everything, "create_objectives", {"data": OBJECTIVES[2:]})
    objectives_id = created["objectives_id"]

    text, got = await _ok(everything, "get_objectives", {"objectives_id": objectives_id})

    assert text.splitlines()[:2] == [
        f"Objectives {objectives_id}: 1 objective.",
        "- close_politely: Thank them and close.",
    ]
    assert got["data"][0]["objective_prompt"] == "Thank them and close."


async def test_guardrails_are_created_read_patched_and_deleted(everything: Client, sandbox: Sandbox) -> None:
    text, created = await _ok(everything, "create_guardrails", GUARDRAILS)
    guardrails_id = created["guardrails_id"]

    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/guardrails")] == [GUARDRAILS]
    assert text.splitlines()[:3] == [
        f"Created guardrails {guardrails_id} ('Stay in role') with 2 guardrails:",
        "- stay_in_role: Never step out of the buyer's role.",
        "- no_discounts: Never offer a discount yourself.",
    ]

    text, _ = await _ok(everything, "get_guardrails", {"guardrails_id": guardrails_id})
    assert text.splitlines()[0] == f"Guardrails {guardrails_id} ('Stay in role'): 2 guardrails."

    _, listed = await _ok(everything, "list_guardrails", {})
    assert [row["guardrails_id"] for row in listed["guardrails"]] == [guardrails_id]

    patch = [{"op": "replace", "path": "/name", "value": "Buyer limits"}]
    await _ok(everything, "update_guardrails", {"guardrails_id": guardrails_id, "operations": patch})
    assert sandbox.emulator.knowledge.guardrails[guardrails_id]["guardrails_name"] == "Buyer limits"

    await _ok(everything, "delete_guardrails", {"guardrails_id": guardrails_id})
    assert guardrails_id not in sandbox.emulator.knowledge.guardrails


async def test_a_persona_carries_objectives_and_guardrails(everything: Client, sandbox: Sandbox) -> None:
    _, objectives = await _ok(everything, "create_objectives", {"data": OBJECTIVES})
    _, guardrails = await _ok(everything, "create_guardrails", GUARDRAILS)
    arguments = {
        "system_prompt": "You are a skeptical buyer.",
        "default_replica_id": "rfe12d8b9597",
        "objectives_id": objectives["objectives_id"],
        "guardrails_id": guardrails["guardrails_id"],
    }
    _, persona = await _ok(everything, "create_persona", arguments)

    text, _ = await _ok(everything, "get_persona", {"persona_id": persona["persona_id"]})

    assert (
        f"Objectives: {objectives['objectives_id']} (get_objectives); guardrails: {guardrails['guardrails_id']} "
        "(get_guardrails)."
    ) in text.splitlines()


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        (
            "create_objectives",
            {"data": [{**OBJECTIVES[0], "next_conditional_objectives": {"negotiate": "If they push back"}}]},
            "- arguments: data.0 (ask_budget) names 'negotiate' as a next objective, but the set has no objective of "
            "that name; the names are ask_budget",
        ),
        (
            "create_objectives",
            {"data": [{"objective_name": "ask budget", "objective_prompt": "Ask."}]},
            "- data.0.objective_name: 'ask budget' is not an objective name: write it without spaces, such as "
            "'ask_budget'",
        ),
        (
            "create_objectives",
            {"data": [{"objective_name": "a", "objective_prompt": "Ask.", "confirmation_mode": "human"}]},
            "- data.0.confirmation_mode: must be 'auto' or 'manual'; got 'human'",
        ),
        (
            "create_objectives",
            {
                "data": [
                    {"objective_name": "a", "objective_prompt": "Ask."},
                    {"objective_name": "a", "objective_prompt": "Again."},
                ]
            },
            "- arguments: objective_name 'a' is given more than once; each must be unique",
        ),
        ("create_objectives", {"data": []}, "- data: give at least one item"),
        (
            "create_objectives",
            {"data": [{"objective_name": "a", "objective_prompt": "Ask.", "callback_url": "file:///etc/passwd"}]},
            "- data.0.callback_url: 'file:///etc/passwd' is not an absolute http(s) URL; give the full address that "
            "receives the webhooks, such as 'https://example.com/tavus/webhook'",
        ),
        (
            "create_guardrails",
            {"data": [{"guardrail_name": "no-discounts", "guardrail_prompt": "Never."}]},
            "- data.0.guardrail_name: 'no-discounts' is not a guardrail name: only letters, digits and underscores, "
            "such as 'no_competitors'",
        ),
        (
            "update_objectives",
            {"objectives_id": "o1", "operations": [{"op": "remove", "path": "/data/0/objective_prompt"}]},
            "- operations.0: op 'remove' on '/data/0/objective_prompt': every objective needs its objective_prompt; "
            "replace it instead",
        ),
        (
            "update_objectives",
            {"objectives_id": "o1", "operations": [{"op": "replace", "path": "/data/0/modality", "value": "audio"}]},
            "- operations.0: value for /data/0/modality: must be 'verbal' or 'visual'",
        ),
        (
            "update_guardrails",
            {"guardrails_id": "g1", "operations": [{"op": "replace", "path": "/layers", "value": {}}]},
            "- operations.0: path '/layers' names no field of the set: a patch can change /data, /name, "
            "/data/N/guardrail_name, /data/N/guardrail_prompt, /data/N/modality, /data/N/callback_url",
        ),
        (
            "update_guardrails",
            {"guardrails_id": "g1", "operations": [{"op": "remove", "path": "/data/0/callback_url"}] * 101},
            "- operations: 101 operations; a patch takes at most 100: split it into several calls",
        ),
        (
            "get_guardrails",
            {"guardrails_id": "g/../x"},
            "- guardrails_id: 'g/../x' is not a guardrails id: ids are letters, digits, '-' and '_', such as "
            "'g12345'. Copy it from create_guardrails' or list_guardrails' result",
        ),
    ],
)
async def test_invalid_arguments_name_the_field_and_send_nothing(
    everything: Client, sandbox: Sandbox, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    result = await everything.call_tool(tool, arguments)

    assert result.is_error
    assert text_of(result).splitlines() == [
        f"Invalid arguments for {tool}; nothing was sent to Tavus. Fix these and call it again:",
        problem,
    ]
    assert sandbox.emulator.received == []
