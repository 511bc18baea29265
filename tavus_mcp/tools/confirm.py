"""What the user is asked before a tool spends money or destroys data: a `Confirmation` per tool (None when
nothing needs asking), its form, and what the model reads when the user says no.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, WithJsonSchema

from tavus_mcp.models.conversations import CreateConversationRequest, DeleteConversationRequest
from tavus_mcp.models.personas import DeletePersonaRequest
from tavus_mcp.tools.conversations import _apply_guardrails, _with_defaults
from tavus_mcp.tools.state import AppState


@dataclass(frozen=True)
class Confirmation:
    """A question for the user (an MCP form elicitation) before the tool runs, and what follows from the answer."""

    #: What the user reads: what is about to happen and what it costs.
    message: str
    #: The form's fields (a model with primitive fields only, as elicitation allows).
    form: type[BaseModel]
    #: What the tool was about to do, for the text the model reads when the user says no.
    action: str
    #: What the model may do instead, for the same text.
    instead: str
    #: The arguments to run with once the user has accepted the form.
    accepted: Callable[[BaseModel], BaseModel]

    def refused(self, answer: str) -> str:
        """The text for the model when the user did not confirm: declined, cancelled, or an unreadable answer."""
        how = {
            "decline": "declined",
            "cancel": "closed the question without answering",
        }.get(answer, "gave an answer this server could not read")
        return (
            f"Not done: asked to confirm ({self.action}), the user {how}, so nothing was sent to Tavus. {self.instead}"
        )


#: Tavus's max_call_duration when a call sets none (NOTES.md).
TAVUS_DEFAULT_CALL_SECONDS = 3600


_START_CHOICES = [
    {"const": "billed", "title": "Start the billed call"},
    {"const": "test_mode", "title": "Use test mode instead: no charge, no replica joins"},
]


class StartCallForm(BaseModel):
    """The form before a billed call: start it, or create it in test mode instead."""

    start: Annotated[
        Literal["billed", "test_mode"],
        WithJsonSchema({"type": "string", "title": "How to start", "oneOf": _START_CHOICES, "default": "billed"}),
    ] = "billed"


class ConfirmForm(BaseModel):
    """A form with nothing to fill in: accepting it is the confirmation."""


def confirm_create(state: AppState, request: CreateConversationRequest) -> Confirmation | None:
    """Before a billed call: what will be billed, and test mode as the alternative. None for calls that cost nothing."""
    request = _with_defaults(request, state.settings)
    # As it would be sent: forced test mode and the cap on call length apply (a call over the cap is refused now).
    body = _apply_guardrails(request.to_body(), state.settings, state.user)
    if body.get("test_mode") is True or state.settings.sandbox:
        return None
    who = " and ".join(
        f"{kind} {value}" for kind, value in (("replica", request.replica_id), ("persona", request.persona_id)) if value
    )
    asked = (body.get("properties") or {}).get("max_call_duration")
    limit = (
        f"It lasts at most {asked} seconds (max_call_duration)."
        if asked is not None
        else f"No max_call_duration was set: Tavus ends it after {TAVUS_DEFAULT_CALL_SECONDS} seconds at most."
    )
    message = (
        f"Start a billed Tavus video call with {who}? {limit} Billing runs from now until the call ends (at that "
        "limit, when everyone has left, or when it is ended). Or create it in test mode: no charge, and no replica "
        "joins."
    )

    def accepted(form: BaseModel) -> BaseModel:
        chosen = form.start if isinstance(form, StartCallForm) else "billed"
        return request.model_copy(update={"test_mode": True}) if chosen == "test_mode" else request

    return Confirmation(
        message=message,
        form=StartCallForm,
        action=f"start a billed call with {who}",
        instead=(
            "No conversation exists. Do not try again unless the user asks; create_conversation with test_mode: "
            "true tries the setup without charge."
        ),
        accepted=accepted,
    )


def confirm_delete_persona(state: AppState, request: DeletePersonaRequest) -> Confirmation | None:
    """Before deleting a persona: Tavus keeps no copy, so it is always asked about."""
    return Confirmation(
        message=(
            f"Delete persona {request.persona_id} irreversibly? Its prompt and settings are gone for good, and new "
            "conversations can no longer use it."
        ),
        form=ConfirmForm,
        action=f"delete persona {request.persona_id}",
        instead="The persona is unchanged. Do not try again unless the user asks.",
        accepted=lambda _: request,
    )


def confirm_delete(state: AppState, request: DeleteConversationRequest) -> Confirmation | None:
    """Before a hard delete, which cannot be undone; a soft delete is not asked about."""
    if request.hard is not True:
        return None
    return Confirmation(
        message=(
            f"Delete conversation {request.conversation_id} irreversibly? Its record, transcript and everything "
            "Tavus holds about it are gone for good (a hard delete)."
        ),
        form=ConfirmForm,
        action=f"delete conversation {request.conversation_id} irreversibly",
        instead="The conversation is unchanged. Do not try again unless the user asks.",
        accepted=lambda _: request,
    )
