"""Asking the user before a tool spends money or destroys data: MCP form elicitation, in whichever way the client's
protocol era allows, with answers sealed by the SDK and good for one use.

- 2026-07-28 clients get an `InputRequiredResult` holding the form; their retry carries the answer and the
  `requestState` minted for that exact question. The SDK's `RequestStateBoundary` seals that state and binds it to
  the tool, the arguments and the signed-in user; `SingleUseAnswers` lets each sealed answer start one call.
- 2025-11-25 clients get an `elicitation/create` request mid-call wherever the connection can carry one (stdio, a
  Streamable HTTP session); elsewhere they get no question.
- A client that declares no form elicitation gets no question either: the tool runs as it always did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.elicitation import AcceptedElicitation, elicit_with_validation, render_elicitation_schema
from mcp.server.mcpserver import RequestStateBoundary, RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ClientCapabilities,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import ValidationError

from tavus_mcp.tools.confirm import Confirmation

# The key of the one question in an input-required round (2026-07-28).
CONFIRM_KEY = "confirm"
# From this revision on, a tool asks by returning an input-required result rather than by a request mid-call.
INPUT_REQUIRED_VERSION = "2026-07-28"
# How long a sealed question may be answered (the SDK's default for its own ephemeral keys).
ANSWER_SECONDS = 600.0

Answer = AcceptedElicitation[Any] | InputRequiredResult | str | None


async def ask_user(
    ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams, confirmation: Confirmation
) -> Answer:
    """Ask the user to confirm, where the client can show a form: the accepted answer, an input-required round to
    return, the action of an answer that is not an acceptance ("decline", "cancel", "invalid"), or None when the
    client cannot be asked."""
    if not fills_forms(ctx.session.client_capabilities):
        return None
    if is_version_at_least(ctx.protocol_version, INPUT_REQUIRED_VERSION):
        request = ElicitRequest(
            params=ElicitRequestFormParams(
                message=confirmation.message, requested_schema=render_elicitation_schema(confirmation.form)
            )
        )
        asked = question_digest(request)
        answer = (params.input_responses or {}).get(CONFIRM_KEY)
        if params.request_state != asked or not isinstance(answer, ElicitResult):
            return InputRequiredResult(input_requests={CONFIRM_KEY: request}, request_state=asked)
        if answer.action != "accept":
            return answer.action
        try:
            return AcceptedElicitation(data=confirmation.form.model_validate(answer.content or {}))
        except ValidationError:
            return "invalid"
    if not ctx.session.can_send_request:
        return None
    try:
        result = await elicit_with_validation(
            ctx.session, confirmation.message, confirmation.form, related_request_id=ctx.request_id
        )
    except (MCPError, ValueError):
        # The client failed to answer, or answered with content outside the form: nothing is done.
        return "invalid"
    return result if isinstance(result, AcceptedElicitation) else result.action


def fills_forms(capabilities: ClientCapabilities | None) -> bool:
    """Whether the client shows forms: a bare `elicitation: {}` (before modes existed) means forms; a client that
    declares only URL mode shows none. (The SDK's `check_client_capability` does not tell the two modes apart.)"""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def question_digest(request: ElicitRequest) -> str:
    """Pins an answer to the question as worded: a server that would now ask something else asks again."""
    rendered = request.model_dump_json(by_alias=True, exclude_none=True)
    return "confirm:" + base64.urlsafe_b64encode(hashlib.sha256(rendered.encode()).digest()[:16]).decode().rstrip("=")


def request_state_boundary(secret: str | None, audience: str) -> RequestStateBoundary:
    """The SDK's sealing of `requestState`, with one key for every process that shares `secret`.

    Processes configured alike (the Tavus API key, or every user's key on a team server) derive the same key
    (HMAC, under a label of its own; it reveals nothing of the secret), so any HTTP worker or replica reads an answer
    sealed by another. Without a secret (the sandbox), the SDK's default: a key of this process's own.
    """
    if secret is None:
        security = RequestStateSecurity.ephemeral(ttl=ANSWER_SECONDS)
    else:
        key = hmac.new(secret.encode(), b"mcp-server-tavus request state", hashlib.sha256).digest()
        security = RequestStateSecurity(keys=[key], ttl=ANSWER_SECONDS)
    return RequestStateBoundary(security, default_audience=audience)


class SingleUseAnswers:
    """Middleware outside the SDK's sealing boundary: a sealed answer is good for one call in this process.

    The boundary checks that a `requestState` is authentic, fresh and bound to this tool, these arguments and this
    user, but the same sealed answer sent again would pass again, and start another billed call. Each sealed token is
    held from the moment a call carries it until it expires; one seen before is refused, nothing sent to Tavus. A
    token whose call asks again (the question changed) is released.
    """

    def __init__(self, ttl: float = ANSWER_SECONDS) -> None:
        self._ttl = ttl
        self._held: dict[bytes, float] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = _sealed_state(ctx.params) if ctx.method == "tools/call" else None
        if token is None:
            return await call_next(ctx)
        now = time.monotonic()
        self._held = {held: until for held, until in self._held.items() if until > now}
        seen = hashlib.sha256(token.encode()).digest()
        if seen in self._held:
            return CallToolResult(
                content=[
                    TextContent(
                        type="text",
                        text=(
                            "Not done: this confirmation was already used once, so nothing was sent to Tavus. Call "
                            "the tool again without it; the user will be asked again."
                        ),
                    )
                ],
                is_error=True,
            )
        self._held[seen] = now + self._ttl
        result = await call_next(ctx)
        if isinstance(result, InputRequiredResult):
            del self._held[seen]
        return result


def _sealed_state(params: Mapping[str, Any] | None) -> str | None:
    state = params.get("requestState") if params is not None else None
    return state if isinstance(state, str) and state else None
