"""The MCP server: the tools and prompts as MCP sees them, and the lifespan that owns the one Tavus client.

This is the only module that imports the SDK's server side. Errors are translated here once: invalid arguments,
`ToolFailure` and Tavus errors all become tool errors (`isError`) whose text tells the model what to do next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import replace
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp.server import MCPServer
from mcp.server.apps import Apps, ResourceCsp, ResourcePermissions
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.elicitation import AcceptedElicitation, render_elicitation_schema
from mcp.server.mcpserver import Context, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ClientCapabilities,
    Completion,
    CompletionArgument,
    CompletionContext,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError

from tavus_mcp import __version__, tools
from tavus_mcp.advice import (
    READS,
    Effect,
    describe_tavus_error,
    internal_error_text,
)
from tavus_mcp.arguments import InvalidArguments, parse_arguments, tool_schema
from tavus_mcp.catalog import CONVERSATION_VIEW, TOOLS, ConfirmPolicy, ToolSpec, selected_tools, toolsets_on
from tavus_mcp.client import CallTrace, TavusClient, sandboxed
from tavus_mcp.config import Settings
from tavus_mcp.errors import BadRequestError, NotFoundError, TavusError
from tavus_mcp.logs import call_user
from tavus_mcp.models import (
    MULTILINGUAL,
    SUPPORTED_LANGUAGES,
    GetConversationRequest,
    PersonaRef,
)
from tavus_mcp.prompts import (
    MAX_COMPLETIONS,
    PRACTICE_CALL_SECONDS,
    TRANSCRIPT_TEMPLATE,
    completed_ids,
    practice_call_prompt,
    review_call_prompt,
    toolset_instructions,
)
from tavus_mcp.redaction import scrub, scrub_value
from tavus_mcp.tools import AppState, Confirmation, ToolFailure
from tavus_mcp.users import User

logger = logging.getLogger("tavus_mcp")

SERVER_NAME = "mcp-server-tavus"

INSTRUCTIONS = """\
This server starts and manages Tavus conversations: live video calls in which an AI replica sees, hears and \
answers a person. Tavus's newer docs call a persona a PAL and a replica a Face; the API and these tools keep the \
old names. The flow:
1. Pick who the person talks to: list_personas (a persona, or PAL, brings behaviour and usually a default \
replica) or list_replicas (a replica, or Face: the face and voice; only status 'completed' can be used). \
When no persona fits, create_persona makes one: a system_prompt written for the scenario, and a default replica. \
get_persona shows one in full; update_persona changes it by JSON Patch.
2. create_conversation with conversational_context (the scenario and the replica's role), a custom_greeting, \
and properties such as max_call_duration and language. Every real call is billed and holds a concurrency slot \
until it ends; use test_mode: true to try a setup without charge (nobody joins).
3. Give the person the join link exactly as returned; a link with ?t= is private to them.
4. When they are done, end_conversation, so the call stops costing money. list_conversations with status \
'active' shows what is still running.
5. To give feedback afterwards: once the user says the call is done (or asks you to wait), call \
wait_for_conversation once. It follows the call until it has ended and Tavus has processed it, and returns the \
timed transcript, why the call ended, and any recording or perception analysis; get_conversation with verbose: \
true returns the same later. The review_call prompt turns it into feedback.
Where the client can show a form, the user confirms a billed call (or picks test mode instead), a hard delete and \
deleting a persona; if they decline, nothing was sent to Tavus: do not try again unless they ask.
If a call fails, the error says whether a conversation may have been created: check before creating another. \
delete_conversation removes a conversation's record, delete_persona a persona; use them only when the person asks.
"""

# Where join URLs live: Tavus's rooms are served by Daily. The sandbox's own rooms are added when serving it.
JOIN_URL_DOMAINS = ["https://*.daily.co"]


class ApiTool(Tool):
    """A tool whose arguments are one pydantic model: the model is the input schema and the validator.

    The SDK's own argument handling is bypassed so that the schema stays flat (no $ref, no nullable unions) and
    every rejection reads as an instruction to the model rather than a pydantic dump.
    """

    input_model: type[BaseModel] = Field(exclude=True)
    effect: Effect = Field(exclude=True)
    confirm: ConfirmPolicy | None = Field(None, exclude=True)

    async def run(self, arguments: dict[str, Any], context: Context[Any], convert_result: bool = False) -> Any:
        shared: AppState = context.request_context.lifespan_context
        started = time.perf_counter()
        outcome = "cancelled"  # unless the call gets further: a client may cancel it while Tavus is busy
        trace = CallTrace()
        state = replace(as_caller(shared, trace), progress=context.report_progress)
        user = state.user
        named = call_user.set(user.name if user is not None else None)
        validated: BaseModel | None = None
        try:
            validated = parse_arguments(
                self.input_model, arguments, tool=self.name, passthrough=state.settings.passthrough_fields
            )
            # TAVUS_CONFIRM_BILLED=never: agents that run unattended are never stopped by a question.
            policy = self.confirm if state.settings.confirm_billed != "never" else None
            confirmation = policy(state, validated) if policy is not None else None
            if confirmation is not None:
                answer = await ask_user(context, confirmation)
                if isinstance(answer, InputRequiredResult):
                    outcome = "input_required"
                    return answer
                if isinstance(answer, AcceptedElicitation):
                    validated = confirmation.accepted(answer.data)
                elif answer is not None:
                    outcome = "not_confirmed"
                    return _error(confirmation.refused(answer))
            output = await self.fn(state, validated)
            outcome = "ok"
            # Whatever Tavus sent back, no configured secret leaves in a result (redaction.scrub, in any encoding).
            return CallToolResult(
                content=[TextContent(type="text", text=scrub(output.bounded_text()))],
                structured_content=scrub_value(output.structured),
            )
        except (InvalidArguments, ToolFailure) as exc:
            outcome = "invalid_arguments" if isinstance(exc, InvalidArguments) else "refused"
            return _error(str(exc))
        except TavusError as exc:
            outcome = type(exc).__name__
            conversation_id = getattr(validated, "conversation_id", None)
            return _error(
                describe_tavus_error(
                    exc,
                    effect=self.effect,
                    settings=state.settings,
                    conversation_id=conversation_id,
                    key_variable=user.key_variable if user is not None else "TAVUS_API_KEY",
                    persona_id=validated.persona_id if isinstance(validated, PersonaRef) else None,
                )
            )
        except Exception:
            # A bug of ours: the traceback stays in the log, the model gets a fixed text it can act on.
            outcome = "internal_error"
            logger.exception("tool %s failed unexpectedly", self.name)
            return _error(internal_error_text(self.name, self.effect))
        finally:
            # Tool name and outcome only: argument values (context, greetings) may be personal.
            logger.info(
                "tool_call",
                extra={
                    "tool": self.name,
                    "outcome": outcome,
                    "tavus_status": trace.status,
                    "attempts": trace.attempts,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": user.name if user is not None else None,
                },
            )
            call_user.reset(named)


def as_caller(shared: AppState, trace: CallTrace | None = None) -> AppState:
    """The state for one request: on a team server with a users file, the user the request signed in as, whose key
    its calls to Tavus send (never another's), and whom every line it logs names."""
    # The token is a tavus_mcp.oauth.UserAccessToken when a users file signed it in; read by attribute, so that a
    # stdio server never imports the OAuth machinery (PyJWT, cryptography: a fifth of its start-up).
    user = getattr(get_access_token(), "user", None)
    if not isinstance(user, User):
        user = None
    key = user.api_key if user is not None and not shared.settings.sandbox else None
    return replace(shared, tavus=shared.tavus.traced(trace, api_key=key), user=user)


# Asking the user: MCP form elicitation, in whichever way the client's protocol era allows

# The key of the one question in an input-required round (2026-07-28).
CONFIRM_KEY = "confirm"
# From this revision on, a tool asks by returning an input-required result rather than by a request mid-call.
INPUT_REQUIRED_VERSION = "2026-07-28"


async def ask_user(
    context: Context[Any], confirmation: Confirmation
) -> AcceptedElicitation[Any] | InputRequiredResult | str | None:
    """Ask the user to confirm, where the client can show a form: the answer, an input-required round, or None.

    - 2026-07-28 clients (stdio or HTTP) get an `InputRequiredResult` holding the form; their retry carries the
      answer, and the `request_state` this server minted for that exact question (sealed by the SDK, and bound by
      it to this tool and these arguments), so a retry can never stand in for a question that was not asked.
    - 2025-11-25 clients get the form as an `elicitation/create` request mid-call, where the connection can carry
      one (stdio); the stateless HTTP transport cannot, so those clients get no question (None), as before.
    - A client without form elicitation gets no question either: the tool runs as it always did.

    Returns the answer's action ("decline", "cancel", "invalid") as a string when it was not an acceptance.
    """
    if not _fills_forms(context.client_capabilities):
        return None
    if context.protocol_version and is_version_at_least(context.protocol_version, INPUT_REQUIRED_VERSION):
        request = ElicitRequest(
            params=ElicitRequestFormParams(
                message=confirmation.message, requested_schema=render_elicitation_schema(confirmation.form)
            )
        )
        asked = _question_digest(request)
        answer = (context.input_responses or {}).get(CONFIRM_KEY)
        if context.request_state != asked or not isinstance(answer, ElicitResult):
            return InputRequiredResult(input_requests={CONFIRM_KEY: request}, request_state=asked)
        if answer.action != "accept":
            return answer.action
        try:
            return AcceptedElicitation(data=confirmation.form.model_validate(answer.content or {}))
        except ValidationError:
            return "invalid"
    if not context.session.can_send_request:
        return None
    try:
        result = await context.elicit(confirmation.message, confirmation.form)
    except (MCPError, ValueError):
        # The client failed to answer, or answered with content outside the form: nothing is done.
        return "invalid"
    return result if isinstance(result, AcceptedElicitation) else result.action


def _fills_forms(capabilities: ClientCapabilities | None) -> bool:
    # A bare `elicitation: {}` (before modes existed) means forms; a client declaring only URL mode shows none.
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _question_digest(request: ElicitRequest) -> str:
    """Pins an answer to the question as worded: a server that would now ask something else asks again."""
    rendered = request.model_dump_json(by_alias=True, exclude_none=True)
    return "confirm:" + base64.urlsafe_b64encode(hashlib.sha256(rendered.encode()).digest()[:16]).decode().rstrip("=")


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """One sealing key for every process serving this Tavus account, so any HTTP worker reads another's state.

    The key is derived from the Tavus API key (HMAC, under a label of its own): processes configured for one account
    share it without another setting, and it reveals nothing of the API key. Without a key, the SDK's default (a
    key of this process's own) is used.
    """
    if settings.api_key is None:
        return None
    key = settings.api_key.get_secret_value().encode()
    return RequestStateSecurity(keys=[hmac.new(key, b"mcp-server-tavus request state", hashlib.sha256).digest()])


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=scrub(text))], is_error=True)


def build_tool(spec: ToolSpec, passthrough: tuple[str, ...] = ()) -> ApiTool:
    """The tool, its input schema open to the fields the operator lets through (TAVUS_PASSTHROUGH_FIELDS)."""
    return ApiTool(
        fn=spec.handler,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=tool_schema(spec.input_model, passthrough),
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=tool_schema(spec.output_model)),
        is_async=True,
        annotations=spec.annotations,
        meta={"ui": {"resourceUri": spec.ui_resource}} if spec.ui_resource else None,
        input_model=spec.input_model,
        effect=spec.effect,
        confirm=spec.confirm,
    )


async def read_transcript(conversation_id: str, context: Context[AppState, Any]) -> str:
    """resources/read of a transcript: every turn of the call with its time; an error says why there is none."""
    state = as_caller(context.request_context.lifespan_context)
    try:
        request = GetConversationRequest(conversation_id=conversation_id, verbose=True)
    except ValidationError as exc:
        raise ResourceNotFoundError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    try:
        details = await state.tavus.get_conversation(request)
    except TavusError as error:
        text = describe_tavus_error(error, effect=READS, settings=state.settings, conversation_id=conversation_id)
        # Only the id can be wrong in a request that is nothing but an id.
        raise (ResourceNotFoundError if isinstance(error, BadRequestError | NotFoundError) else ResourceError)(
            scrub(text)
        ) from None
    transcript = tools.transcript_text(details)
    if transcript is not None:
        return scrub(transcript)  # as a tool's result is: no configured secret leaves, whatever Tavus sent
    if tools.call_state(details) == "no_call":
        raise ResourceError(f"Conversation {conversation_id} ended without a call (test mode): it has no transcript.")
    still = " The call is still in progress." if details.status == "active" else ""
    raise ResourceError(
        f"Conversation {conversation_id} has no transcript yet: Tavus sends it once the call has ended and been "
        f"processed.{still}"
    )


# Completions: prompt arguments and template parameters that take an id offer the account's, most recent first

_serving: ContextVar[AppState | None] = ContextVar("tavus_mcp_serving", default=None)


async def serving_state(ctx: ServerRequestContext[AppState, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: the SDK calls a completion handler with no request context, so it is handed the server's state
    (and the signed-in user's token, already in the request's context) this way."""
    if ctx.method != "completion/complete":
        return await call_next(ctx)
    token = _serving.set(ctx.lifespan_context)
    try:
        return await call_next(ctx)
    finally:
        _serving.reset(token)


async def complete(
    ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, _: CompletionContext | None
) -> Completion | None:
    """completion/complete: ids from the account (nothing when Tavus cannot be asked in time), and languages."""
    where = ref.name if isinstance(ref, PromptReference) else ref.uri
    if (where, argument.name) == ("practice_call", "language"):
        typed = argument.value.strip().casefold()
        values = [name for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL) if name.casefold().startswith(typed)]
    else:
        shared = _serving.get()
        kind = completed_ids(toolsets_on(shared.settings)).get((where, argument.name)) if shared else None
        if kind is None or shared is None:
            return None
        values = await tools.recent_ids(as_caller(shared), kind, argument.value)
    return Completion(values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS)


def conversation_app(settings: Settings) -> Apps:
    """The MCP Apps extension serving the conversation view that create_conversation's results open in."""
    frame_domains = list(JOIN_URL_DOMAINS)
    parts = urlsplit(settings.base_url)
    if parts.hostname != "tavusapi.com":
        # Not Tavus itself (the sandbox emulator, a proxy): its rooms may be served from its own address.
        frame_domains.append(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")  # never the userinfo
    apps = Apps()
    apps.add_html_resource(
        CONVERSATION_VIEW,
        resources.files("tavus_mcp.ui").joinpath("conversation.html").read_text(encoding="utf-8"),
        name="Tavus conversation",
        title="Tavus video call",
        description="The live Tavus video call, embedded in the conversation, with copy-link and End call.",
        csp=ResourceCsp(frame_domains=frame_domains),
        permissions=ResourcePermissions(camera={}, microphone={}, clipboard_write={}),
        prefers_border=False,
    )
    return apps


# The server


def build_server(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer[AppState]:
    """The MCP server for these settings. `transport` replaces the network (tests, the in-process sandbox).

    `token_verifier` and `auth` (together or not at all) make the HTTP transport require a bearer token.
    """
    if settings.sandbox:
        # One emulator for the server's life, so every connection sees the same conversations.
        settings, transport = sandboxed(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with TavusClient.from_settings(settings, transport) as tavus:
            yield AppState(settings=settings, tavus=tavus)

    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        title="Tavus",
        version=__version__,
        instructions=INSTRUCTIONS + toolset_instructions(toolsets_on(settings)),
        lifespan=lifespan,
        tools=[
            build_tool(spec, settings.passthrough_fields) for spec in TOOLS if spec.name in selected_tools(settings)
        ],
        extensions=[conversation_app(settings)],
        token_verifier=token_verifier,
        auth=auth,
        request_state_security=request_state_security(settings),
        middleware=[serving_state],
    )
    call_length = min(PRACTICE_CALL_SECONDS, settings.max_call_duration or PRACTICE_CALL_SECONDS)
    server.prompt(name="practice_call", title="Practice call")(practice_call_prompt(call_length, toolsets_on(settings)))
    server.prompt(name="review_call", title="Review a call")(review_call_prompt(toolsets_on(settings)))
    server.resource(
        TRANSCRIPT_TEMPLATE,
        name="transcript",
        title="Call transcript",
        description="The timed transcript of a finished Tavus call, every turn, as text.",
        mime_type="text/plain",
    )(read_transcript)
    server.completion()(complete)  # type: ignore[no-untyped-call]  # the SDK leaves this decorator untyped
    return server
