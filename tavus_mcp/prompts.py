"""The prompts a person picks in their client (practice a call, review it), and which of their arguments and resource
parameters complete to ids from the account. No MCP here: `tavus_mcp.server` registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field

# How long the practice_call prompt asks a call to last, at most (within TAVUS_MAX_CALL_DURATION).
PRACTICE_CALL_SECONDS = 900


def practice_call_prompt(max_call_duration: int) -> Callable[..., str]:
    """The practice_call prompt, asking for calls no longer than this server allows."""

    def practice_call(
        scenario: Annotated[
            str, Field(description="What to practise, such as 'handling price objections in a SaaS sale'.")
        ],
        language: Annotated[
            str, Field(description="Full name of the language of the call, such as 'English' or 'Spanish'.")
        ] = "English",
        replica_id: Annotated[str, Field(description="Replica to use; leave empty to choose one.")] = "",
        persona_id: Annotated[str, Field(description="Persona to use; leave empty to choose one.")] = "",
    ) -> str:
        """Set up a practice video call with a Tavus replica for a scenario, and share the link."""
        return _practice_call_text(scenario, language, replica_id, persona_id, max_call_duration)

    return practice_call


def _practice_call_text(scenario: str, language: str, replica_id: str, persona_id: str, max_call_duration: int) -> str:
    who = []
    if replica_id:
        who.append(f"replica_id {replica_id!r}")
    if persona_id:
        who.append(f"persona_id {persona_id!r}")
    choose = (
        f"Use {' and '.join(who)}."
        if who
        else "First call list_personas and pick the persona that best fits the scenario (with list_replicas if it "
        "has no default replica; prefer a replica whose status is 'completed'). If none of the account's own "
        "personas (persona_type 'user') fits, create one with create_persona: a persona_name for the role; a "
        "system_prompt written from the scenario (who the replica plays, their situation, manner and aims, to push "
        "back as a real counterpart would, to stay in character, and to speak in short turns); and a "
        "default_replica_id from list_replicas whose status is 'completed'. Then use its persona_id."
    )
    return (
        f"I want to practise this in a live video call with an AI replica: {scenario}\n\n"
        f"{choose}\n"
        "Then call create_conversation with:\n"
        "- conversation_name: a short name for the scenario;\n"
        "- conversational_context: the scenario in detail, the role the replica plays (a realistic counterpart, "
        "not a coach, unless I asked for coaching), what I want to practise, and to stay in character;\n"
        "- custom_greeting: an opening line that starts the scenario in character;\n"
        f"- properties: language {language!r}, max_call_duration {max_call_duration}, participant_left_timeout 30, "
        "participant_absent_timeout 300.\n"
        "Give me the join link exactly as returned, and remind me that the call is billed until it ends. When I "
        "say I am done, end the conversation with end_conversation, and offer to review the call against what I "
        "wanted to practise (the review_call prompt)."
    )


def review_call(
    conversation_id: Annotated[str, Field(description="Id of the conversation to review, such as 'c123456'.")],
    goal: Annotated[
        str, Field(description="What the practice was for, such as 'stay calm under price objections'.")
    ] = "",
) -> str:
    """Give feedback on a finished Tavus practice call, against its goal, quoting its timed transcript."""
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
        "Then give me concrete feedback against that goal:\n"
        "- how the call went, in two sentences;\n"
        "- what I did well and what to improve, each point quoting the moment it refers to with its time from the "
        'transcript, such as "[1:42] Participant: ...", and for each improvement what I could have said '
        "instead;\n"
        "- if there is a perception analysis, what it says about how I came across (attention, tone, body "
        "language), tied to moments of the transcript;\n"
        "- three concrete things to try in the next practice call.\n"
        "Quote only what the transcript says: never invent a moment."
    )


# A call's transcript as a resource, which a person can attach to a chat

TRANSCRIPT_TEMPLATE = "tavus://conversations/{conversation_id}/transcript"


# Completions: prompt arguments and template parameters that take an id offer the account's, most recent first

MAX_COMPLETIONS = 20
COMPLETED_IDS: dict[tuple[str, str], Literal["conversation", "persona", "replica"]] = {
    ("practice_call", "replica_id"): "replica",
    ("practice_call", "persona_id"): "persona",
    ("review_call", "conversation_id"): "conversation",
    (TRANSCRIPT_TEMPLATE, "conversation_id"): "conversation",
}
