"""Toolsets through the protocol: TAVUS_TOOLSETS / --toolsets choose which tools a server lists, and its prompts and
completions follow; a name that is no toolset stops the server at start with one line naming it. And the practice
loop with material: a document made, waited for and passed to the call, and a review against the persona's
objectives and guardrails."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp_types import PromptReference

from tavus_mcp.catalog import DEFAULT_TOOLSETS, TOOLS, TOOLSETS
from tavus_mcp.config import Settings
from tests.commands import run_main
from tests.conftest import TOOL_NAMES, Sandbox, connect, text_of
from tests.test_wait import Progress

pytestmark = pytest.mark.anyio

ALL = tuple(TOOLSETS)
PRACTICE = PromptReference(type="ref/prompt", name="practice_call")


def _prompt_text(result: Any) -> str:
    (message,) = result.messages
    text: str = message.content.text
    return text


def test_every_tool_is_in_exactly_one_toolset() -> None:
    grouped = [name for names in TOOLSETS.values() for name in names]
    assert sorted(grouped) == sorted(spec.name for spec in TOOLS)
    assert len(grouped) == len(set(grouped)) == 28
    assert DEFAULT_TOOLSETS == ("conversations", "personas", "knowledge")


@pytest.mark.parametrize(
    ("value", "toolsets"),
    [
        ("conversations", ("conversations",)),
        ("all", ALL),
        ("default", DEFAULT_TOOLSETS),
        ("default,objectives", (*DEFAULT_TOOLSETS, "objectives")),
        (" Guardrails , conversations,guardrails", ("conversations", "guardrails")),
    ],
)
def test_the_setting_names_toolsets(value: str, toolsets: tuple[str, ...]) -> None:
    assert Settings.from_env({"TAVUS_TOOLSETS": value}).toolsets == toolsets


@pytest.mark.parametrize(
    ("toolsets", "listed"),
    [
        (None, [name for toolset in DEFAULT_TOOLSETS for name in TOOLSETS[toolset]]),
        (("conversations",), TOOLSETS["conversations"]),
        (ALL, [spec.name for spec in TOOLS]),
    ],
)
async def test_the_server_lists_the_tools_of_the_toolsets_on(
    sandbox: Sandbox, toolsets: tuple[str, ...] | None, listed: list[str]
) -> None:
    async with connect(sandbox.settings(toolsets=toolsets)) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert sorted(names) == sorted(listed)
        off = next((spec.name for spec in TOOLS if spec.name not in listed), None)
        if off is not None:
            result = await client.call_tool(off, {})
            assert result.is_error and text_of(result) == f"Unknown tool: {off}"
    assert sandbox.emulator.received == []


def test_the_default_server_lists_the_tools_the_tests_expect() -> None:
    assert [spec.name for spec in TOOLS if any(spec.name in TOOLSETS[t] for t in DEFAULT_TOOLSETS)] == TOOL_NAMES


@pytest.mark.parametrize(
    ("argv", "environ", "line"),
    [
        (
            ["--toolsets", "default,objective"],
            {},
            "mcp-server-tavus: --toolsets: unknown toolset 'objective'; the toolsets are conversations, personas, "
            "knowledge, objectives, guardrails, or 'all', or 'default' (conversations,personas,knowledge) plus "
            "others, such as 'default,objectives'",
        ),
        (
            [],
            {"TAVUS_TOOLSETS": "calls"},
            "mcp-server-tavus: TAVUS_TOOLSETS: unknown toolset 'calls'; the toolsets are conversations, personas, "
            "knowledge, objectives, guardrails, or 'all', or 'default' (conversations,personas,knowledge) plus "
            "others, such as 'default,objectives'",
        ),
        (
            ["--toolsets", ","],
            {},
            "mcp-server-tavus: --toolsets names no toolset; give some of conversations, personas, knowledge, "
            "objectives, guardrails, or 'all', or 'default'",
        ),
    ],
)
def test_an_unknown_toolset_stops_the_server_with_one_line(argv: list[str], environ: dict[str, str], line: str) -> None:
    done = run_main("--sandbox", *argv, env=environ)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line]
    assert done.stdout == ""


# Prompts and completions follow the toolsets


async def test_without_knowledge_the_practice_prompt_offers_no_material(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(toolsets=("conversations",))) as client:
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        arguments = [argument.name for argument in prompts["practice_call"].arguments or []]
        text = _prompt_text(await client.get_prompt("practice_call", {"scenario": "asking for a raise"}))
        review = _prompt_text(await client.get_prompt("review_call", {"conversation_id": "c123456"}))

    assert arguments == ["scenario", "language", "replica_id", "persona_id"]
    assert "document" not in text and "create_persona" not in text
    assert text.splitlines()[2] == (
        "First call list_replicas and pick a replica whose status is 'completed' that suits the role. Then use its "
        "replica_id."
    )
    assert "get_objectives" not in review and "get_persona" not in review


async def test_with_every_toolset_the_practice_prompt_takes_objectives_and_guardrails(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(toolsets=ALL)) as client:
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        arguments = [argument.name for argument in prompts["practice_call"].arguments or []]
        text = _prompt_text(
            await client.get_prompt(
                "practice_call",
                {"scenario": "a budget talk", "objectives_id": "o12345", "guardrails_id": "g12345"},
            )
        )

    assert arguments == [
        "scenario", "language", "replica_id", "persona_id", "material_url", "document_id", "objectives_id",
        "guardrails_id",
    ]  # fmt: skip
    assert text.splitlines()[2] == (
        "The replica must follow objectives_id 'o12345' and guardrails_id 'g12345', which a persona carries: create a "
        "persona for this practice with create_persona, giving objectives_id 'o12345' and guardrails_id 'g12345', "
        "and a persona_name for the role; a system_prompt written from the scenario (who the replica plays, their "
        "situation, manner and aims, to push back as a real counterpart would, to stay in character, and to speak in "
        "short turns); and a default_replica_id from list_replicas whose status is 'completed'; do not change a "
        "persona I already use. Then use its persona_id."
    )


async def test_the_practice_prompt_with_material_makes_waits_for_and_passes_the_document(client: Client) -> None:
    text = _prompt_text(
        await client.get_prompt(
            "practice_call", {"scenario": "pitching our product", "material_url": "https://example.com/sheet.pdf"}
        )
    )

    lines = text.splitlines()
    assert lines[2] == (
        "Put the material into the knowledge base: call create_document with document_url "
        "'https://example.com/sheet.pdf', a document_name saying what it is and tags ['practice']. Then call "
        "wait_for_document once with its document_id: it returns when Tavus has read it (usually within a few "
        "minutes). Documents cost nothing. If it fails, tell me why and go on without it."
    )
    assert (
        "- properties: language 'English', max_call_duration 900, participant_left_timeout 30, "
        "participant_absent_timeout 300;"
    ) in lines
    assert (
        "- document_ids: the new document's id, and in conversational_context tell the replica to draw on the "
        "material (its facts, figures and wording)."
    ) in lines


async def test_the_review_prompt_uses_the_personas_objectives_and_guardrails(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(toolsets=ALL)) as client:
        text = _prompt_text(
            await client.get_prompt("review_call", {"conversation_id": "c123456", "goal": "agree a budget"})
        )

    assert (
        "Then read the conversation's persona with get_persona (its persona_id is in the result); if it has an "
        "objectives_id, read them with get_objectives and if it has a guardrails_id, read them with get_guardrails. "
        "When it has them, each objective and each guardrail is a criterion as well, alongside my goal: name it, "
        "quote its prompt, and say whether the call achieved it (an objective) or kept to it (a guardrail), quoting "
        "the moment."
    ) in text.splitlines()
    assert "Then give me concrete feedback against these criteria:" in text.splitlines()


async def test_document_objectives_and_guardrails_ids_complete(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(toolsets=ALL)) as client:
        objectives = await client.call_tool(
            "create_objectives", {"data": [{"objective_name": "ask", "objective_prompt": "Ask."}]}
        )
        guardrails = await client.call_tool(
            "create_guardrails", {"data": [{"guardrail_name": "calm", "guardrail_prompt": "Stay calm."}]}
        )
        assert objectives.structured_content is not None and guardrails.structured_content is not None
        completed = {
            name: (await client.complete(PRACTICE, {"name": name, "value": ""})).completion.values
            for name in ("document_id", "objectives_id", "guardrails_id")
        }

    assert completed == {
        "document_id": ["d8-5c71baca86fc"],
        "objectives_id": [objectives.structured_content["objectives_id"]],
        "guardrails_id": [guardrails.structured_content["guardrails_id"]],
    }


async def test_a_toolset_that_is_off_completes_nothing(sandbox: Sandbox) -> None:
    async with connect(sandbox.settings(toolsets=("conversations",))) as client:
        completion = await client.complete(PRACTICE, {"name": "document_id", "value": ""})
    assert completion.completion.values == []
    assert sandbox.requests_to("GET", "/v2/documents") == []


# The practice loop with material, in the sandbox


async def test_a_practice_call_with_material_reaches_tavus_with_the_document(sandbox: Sandbox) -> None:
    sandbox.emulator.knowledge.document_seconds = 0.5
    progress = Progress()
    async with connect(sandbox.settings(poll_interval=0.05)) as client:
        created = await client.call_tool(
            "create_document", {"document_url": "https://example.com/sheet.pdf", "tags": ["practice"]}
        )
        assert created.structured_content is not None
        document_id = created.structured_content["document_id"]
        ready = await client.call_tool("wait_for_document", {"document_id": document_id}, progress_callback=progress)
        assert ready.structured_content is not None and ready.structured_content["status"] == "ready"
        call = await client.call_tool(
            "create_conversation",
            {"persona_id": "p9a95912", "document_ids": [document_id], "test_mode": True},
        )
        assert not call.is_error, text_of(call)

    [body] = sandbox.creates()
    assert body == {"persona_id": "p9a95912", "document_ids": [document_id], "test_mode": True}
    assert progress.messages[-1] == (
        f"Document {document_id} 'Document 2': ready: pass its id in document_ids (create_conversation or a persona)"
    )
