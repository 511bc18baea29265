"""The prompts a person picks in their client (practice a call, review it), and which of their arguments and resource
parameters complete to ids from the account. No MCP here: `tavus_mcp.server` registers them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from tavus_mcp.catalog import DEFAULT_TOOLSETS
from tavus_mcp.tools.completions import IdKind

# How long the practice_call prompt asks a call to last, at most (within TAVUS_MAX_CALL_DURATION).
PRACTICE_CALL_SECONDS = 900


def practice_call_prompt(max_call_duration: int, toolsets: Collection[str] = DEFAULT_TOOLSETS) -> Callable[..., str]:
    """The practice_call prompt, asking for calls no longer than this server allows, with the arguments the tools on
    can act on (material only with `knowledge`, objectives and guardrails only with theirs)."""

    def practice_call(
        scenario: Annotated[
            str, Field(description="What to practise, such as 'handling price objections in a SaaS sale'.")
        ],
        language: Annotated[
            str, Field(description="Full name of the language of the call, such as 'English' or 'Spanish'.")
        ] = "English",
        replica_id: Annotated[str, Field(description="Replica to use; leave empty to choose one.")] = "",
        persona_id: Annotated[str, Field(description="Persona to use; leave empty to choose one.")] = "",
        material_url: Annotated[
            str, Field(description="A file or page to practise against (product sheet, job advert), as an http(s) URL.")
        ] = "",
        document_id: Annotated[str, Field(description="A document already in the knowledge base to use.")] = "",
        objectives_id: Annotated[str, Field(description="Objectives the replica steers the call through.")] = "",
        guardrails_id: Annotated[str, Field(description="Guardrails the replica keeps to.")] = "",
    ) -> str:
        """Set up a practice video call with a Tavus replica for a scenario, and share the link."""
        material = Material(material_url, document_id, objectives_id, guardrails_id)
        return _practice_call_text(scenario, language, replica_id, persona_id, max_call_duration, material, toolsets)

    # Only the arguments of the toolsets on are offered (and completed): the others are left at their defaults.
    offered = [
        parameter
        for name, parameter in inspect.signature(practice_call).parameters.items()
        if set(PRACTICE_ARGUMENT_TOOLSETS.get(name, ())) <= set(toolsets)
    ]
    practice_call.__signature__ = inspect.signature(practice_call).replace(parameters=offered)  # type: ignore[attr-defined]
    return practice_call


# The practice_call arguments that only some toolsets can act on (a persona carries objectives and guardrails).
PRACTICE_ARGUMENT_TOOLSETS = {
    "material_url": ("knowledge",),
    "document_id": ("knowledge",),
    "objectives_id": ("objectives", "personas"),
    "guardrails_id": ("guardrails", "personas"),
}


@dataclass(frozen=True)
class Material:
    """What a practice call draws on besides its scenario: a document to make or use, objectives, guardrails."""

    url: str = ""
    document_id: str = ""
    objectives_id: str = ""
    guardrails_id: str = ""


def _material_steps(material: Material) -> tuple[list[str], list[str]]:
    """The steps that prepare the material (before the call is created), and the create_conversation lines for it."""
    steps, fields = [], []
    if material.url.strip():
        steps.append(
            "Put the material into the knowledge base: call create_document with document_url "
            f"{material.url.strip()!r}, a document_name saying what it is and tags ['practice']. Then call "
            "wait_for_document once with its document_id: it returns when Tavus has read it (usually within a few "
            "minutes). Documents cost nothing. If it fails, tell me why and go on without it."
        )
        fields.append(
            "- document_ids: the new document's id, and in conversational_context tell the replica to draw on the "
            "material (its facts, figures and wording);"
        )
    if material.document_id.strip():
        fields.append(f"- document_ids: include {material.document_id.strip()!r} (a document from the knowledge base);")
    return steps, fields


_NEW_PERSONA = (
    "a persona_name for the role; a system_prompt written from the scenario (who the replica plays, their "
    "situation, manner and aims, to push back as a real counterpart would, to stay in character, and to speak in "
    "short turns); and a default_replica_id from list_replicas whose status is 'completed'"
)


def _who_text(replica_id: str, persona_id: str, material: Material, personas: bool) -> str:
    """Who the person talks to: as given, an existing persona that fits, or a new one (with the objectives and
    guardrails asked for, which only a persona carries)."""
    behaviour = " and ".join(
        f"{kind}_id {value.strip()!r}"
        for kind, value in (("objectives", material.objectives_id), ("guardrails", material.guardrails_id))
        if value.strip()
    )
    if behaviour:
        based = (
            f"the system_prompt and default replica of persona_id {persona_id!r} (get_persona)"
            if persona_id
            else _NEW_PERSONA
        )
        replica = f" Use replica_id {replica_id!r} for the call." if replica_id else ""
        return (
            f"The replica must follow {behaviour}, which a persona carries: create a persona for this practice with "
            f"create_persona, giving {behaviour}, and {based}; do not change a persona I already use. Then use its "
            f"persona_id.{replica}"
        )
    who = [f"{kind} {value!r}" for kind, value in (("replica_id", replica_id), ("persona_id", persona_id)) if value]
    if who:
        return f"Use {' and '.join(who)}."
    if not personas:
        return (
            "First call list_replicas and pick a replica whose status is 'completed' that suits the role. Then use "
            "its replica_id."
        )
    return (
        "First call list_personas and pick the persona that best fits the scenario (with list_replicas if it has no "
        "default replica; prefer a replica whose status is 'completed'). If none of the account's own personas "
        f"(persona_type 'user') fits, create one with create_persona: {_NEW_PERSONA}. Then use its persona_id."
    )


def _practice_call_text(
    scenario: str,
    language: str,
    replica_id: str,
    persona_id: str,
    max_call_duration: int,
    material: Material,
    toolsets: Collection[str],
) -> str:
    steps, fields = _material_steps(material)
    choose = _who_text(replica_id, persona_id, material, "personas" in toolsets)
    return (
        f"I want to practise this in a live video call with an AI replica: {scenario}\n\n"
        + "".join(f"{step}\n" for step in steps)
        + f"{choose}\n"
        "Then call create_conversation with:\n"
        "- conversation_name: a short name for the scenario;\n"
        "- conversational_context: the scenario in detail, the role the replica plays (a realistic counterpart, "
        "not a coach, unless I asked for coaching), what I want to practise, and to stay in character;\n"
        "- custom_greeting: an opening line that starts the scenario in character;\n"
        f"- properties: language {language!r}, max_call_duration {max_call_duration}, participant_left_timeout 30, "
        "participant_absent_timeout 300" + (";\n" + "\n".join(fields).removesuffix(";") if fields else "") + ".\n"
        "Give me the join link exactly as returned, and remind me that the call is billed until it ends. When I "
        "say I am done, end the conversation with end_conversation, and offer to review the call against what I "
        "wanted to practise (the review_call prompt)."
    )


def review_call_prompt(toolsets: Collection[str] = DEFAULT_TOOLSETS) -> Callable[..., str]:
    """The review_call prompt; with the tools to read a persona's objectives or guardrails, those are criteria too."""
    criteria = _criteria_text(toolsets)

    def review_call(
        conversation_id: Annotated[str, Field(description="Id of the conversation to review, such as 'c123456'.")],
        goal: Annotated[
            str, Field(description="What the practice was for, such as 'stay calm under price objections'.")
        ] = "",
    ) -> str:
        """Give feedback on a finished Tavus practice call, against its goal, quoting its timed transcript."""
        return _review_call_text(conversation_id, goal, criteria)

    return review_call


def _criteria_text(toolsets: Collection[str]) -> str:
    """How to find the criteria the persona itself sets, with the tools on: its objectives and guardrails."""
    kinds = [kind for kind in ("objectives", "guardrails") if kind in toolsets]
    if "personas" not in toolsets or not kinds:
        return ""
    article = {"objectives": "an", "guardrails": "a"}
    readers = " and ".join(f"if it has {article[kind]} {kind}_id, read them with get_{kind}" for kind in kinds)
    each = " and each ".join(kind.removesuffix("s") for kind in kinds)
    verdicts = {"objectives": "achieved it (an objective)", "guardrails": "kept to it (a guardrail)"}
    return (
        f"Then read the conversation's persona with get_persona (its persona_id is in the result); {readers}. When "
        f"it has them, each {each} is a criterion as well, alongside my goal: name it, quote its prompt, and say "
        f"whether the call {' or '.join(verdicts[kind] for kind in kinds)}, quoting the moment.\n\n"
    )


def _review_call_text(conversation_id: str, goal: str, criteria: str) -> str:
    against = (
        f"What I was practising: {goal}"
        if goal.strip()
        else "I have not said what I was practising: take it from the conversation's name and the role the replica "
        "played, and say what you assumed"
    )
    return (
        f"Review my Tavus practice call {conversation_id}.\n"
        f"{against}.\n\n"
        f"Call wait_for_conversation with conversation_id {conversation_id!r}: it returns the timed transcript, why "
        "the call ended and any perception analysis once Tavus has processed the call (at once if it already "
        "has). If the call is still in progress, ask me whether I am done before ending it with end_conversation. "
        "If the transcript is not ready when the wait ends, say so and suggest trying again in a few minutes "
        "(get_conversation with verbose: true).\n\n"
        f"{criteria}"
        f"Then give me concrete feedback against {'these criteria' if criteria else 'that goal'}:\n"
        "- how the call went, in two sentences;\n"
        "- what I did well and what to improve, each point quoting the moment it refers to with its time from the "
        'transcript, such as "[1:42] Participant: ...", and for each improvement what I could have said '
        "instead;\n"
        "- if there is a perception analysis, what it says about how I came across (attention, tone, body "
        "language), tied to moments of the transcript;\n"
        "- three concrete things to try in the next practice call.\n"
        "Quote only what the transcript says: never invent a moment."
    )


def toolset_instructions(toolsets: Collection[str]) -> str:
    """What the server's instructions add for the toolsets beyond calls and personas."""
    lines = []
    if "knowledge" in toolsets:
        lines.append(
            "To practise against material (a product sheet, a job advert), create_document from its URL, call "
            "wait_for_document once until it is ready, and pass its id in create_conversation's document_ids."
        )
    behaviour = [f"create_{kind}" for kind in ("objectives", "guardrails") if kind in toolsets]
    if behaviour and "personas" in toolsets:
        lines.append(
            f"{' and '.join(behaviour)} make a plan for the call and limits for the replica; a persona carries them "
            "(create_persona's objectives_id and guardrails_id)."
        )
    if lines:
        lines.append("Documents, objectives and guardrails cost nothing.")
    return "".join(f"{line}\n" for line in lines)


# A call's transcript as a resource, which a person can attach to a chat

TRANSCRIPT_TEMPLATE = "tavus://conversations/{conversation_id}/transcript"


# Completions: prompt arguments and template parameters that take an id offer the account's, most recent first

MAX_COMPLETIONS = 20
COMPLETED_IDS: dict[tuple[str, str], IdKind] = {
    ("practice_call", "replica_id"): "replica",
    ("practice_call", "persona_id"): "persona",
    ("practice_call", "document_id"): "document",
    ("practice_call", "objectives_id"): "objectives",
    ("practice_call", "guardrails_id"): "guardrails",
    ("review_call", "conversation_id"): "conversation",
    (TRANSCRIPT_TEMPLATE, "conversation_id"): "conversation",
}
# The toolset that lists each kind of id: with it off, its ids are not offered.
ID_TOOLSETS: dict[IdKind, str] = {
    "conversation": "conversations",
    "persona": "personas",
    "replica": "conversations",
    "document": "knowledge",
    "objectives": "objectives",
    "guardrails": "guardrails",
}


def completed_ids(toolsets: Collection[str]) -> dict[tuple[str, str], IdKind]:
    """The arguments that complete to ids, for the toolsets on."""
    return {where: kind for where, kind in COMPLETED_IDS.items() if ID_TOOLSETS[kind] in toolsets}
