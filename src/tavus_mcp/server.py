"""The MCP server: tools, their results and errors, and the lifespan that owns the one Tavus client.

This is the only module that imports `mcp`. Errors are translated here once: invalid arguments and Tavus
errors become tool errors (`isError`) whose text tells the model what happened and what to do next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, SecretStr

from tavus_mcp import __version__
from tavus_mcp.arguments import InvalidArguments, invalid_arguments_text, parse_arguments, tool_schema
from tavus_mcp.client import TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.errors import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyLimitError,
    InvalidResponseError,
    MissingApiKeyError,
    NotFoundError,
    OutOfCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TavusAPIError,
    TavusConnectionError,
    TavusError,
    TavusTimeoutError,
)
from tavus_mcp.models import Conversation, CreateConversationRequest

logger = logging.getLogger("tavus_mcp")

SERVER_NAME = "mcp-server-tavus"

INSTRUCTIONS = """\
Start and manage Tavus conversations: live video calls with an AI replica that sees, hears and answers like a \
person.

- create_conversation starts a call and returns the link to join it. It needs a replica_id or a persona_id with \
a default replica, unless the server has defaults. Give conversational_context (the scenario and the replica's \
role) and custom_greeting for a focused call. Every real call is billed and holds a concurrency slot until it \
ends; set test_mode: true to try a setup without charge (nobody joins).
- Give the user the join link exactly as returned; a link with ?t= is private to them.
"""


@dataclass(frozen=True)
class AppState:
    """What every tool call shares: the settings and the one Tavus client."""

    settings: Settings
    tavus: TavusClient


Handler = Callable[[AppState, Any], Awaitable[CallToolResult]]


class ApiTool(Tool):
    """A tool whose arguments are one pydantic model: the model is the input schema and the validator.

    The SDK's own argument handling is bypassed so that the schema stays flat (no $ref, no nullable unions) and
    every rejection reads as an instruction to the model rather than a pydantic dump.
    """

    input_model: type[BaseModel] = Field(exclude=True)
    handler: Handler = Field(exclude=True)

    async def run(self, arguments: dict[str, Any], context: Context[Any], convert_result: bool = False) -> Any:
        state: AppState = context.request_context.lifespan_context
        started = time.perf_counter()
        outcome, status = "ok", None
        try:
            validated = parse_arguments(self.input_model, arguments, tool=self.name)
            return await self.handler(state, validated)
        except InvalidArguments as exc:
            outcome = "invalid_arguments"
            return tool_error(str(exc))
        except TavusError as exc:
            outcome = type(exc).__name__
            status = getattr(exc, "status_code", None)
            return tool_error(describe_tavus_error(exc, tool=self.name, settings=state.settings))
        finally:
            # Field names and outcomes only: argument values (context, greetings) may be personal.
            logger.info(
                "tool_call tool=%s outcome=%s tavus_status=%s duration_ms=%.1f",
                self.name,
                outcome,
                status,
                (time.perf_counter() - started) * 1000,
            )


def api_tool(
    handler: Handler,
    *,
    name: str,
    title: str,
    description: str,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    annotations: ToolAnnotations,
) -> ApiTool:
    return ApiTool(
        fn=handler,
        name=name,
        title=title,
        description=description,
        parameters=tool_schema(input_model),
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=tool_schema(output_model)),
        is_async=True,
        annotations=annotations,
        input_model=input_model,
        handler=handler,
    )


def tool_error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def tool_result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


# create_conversation


class CreatedConversation(Conversation):
    """What create_conversation returns: Tavus's answer, plus the link to open."""

    join_url: str = Field(
        description="The link a participant opens: conversation_url, with ?t=<meeting_token> when the room is private."
    )


CREATE_DESCRIPTION = """\
Start a real-time Tavus video conversation with an AI replica and get the link to join it.

Needs a replica_id, or a persona_id whose persona has a default replica (unless the server has defaults). \
Describe the scenario in conversational_context and set custom_greeting for a focused call; put call settings \
(max_call_duration, language, timeouts) under properties. A real call is billed and holds one of the account's \
concurrent-conversation slots until it ends; test_mode: true creates it without charge and without the replica \
joining. Returns the join URL to give the user, and the conversation id."""


async def create_conversation(state: AppState, request: CreateConversationRequest) -> CallToolResult:
    settings = state.settings
    if request.replica_id is None and request.persona_id is None:
        request = request.model_copy(
            update={"replica_id": settings.default_replica_id, "persona_id": settings.default_persona_id}
        )
    if request.replica_id is None and request.persona_id is None:
        raise InvalidArguments(
            invalid_arguments_text(
                "create_conversation",
                [
                    "replica_id, persona_id: give at least one. replica_id picks the replica (face and voice) who "
                    "joins; persona_id picks a persona, which brings its default replica. No default is configured "
                    "(the server's operator can set TAVUS_DEFAULT_REPLICA_ID or TAVUS_DEFAULT_PERSONA_ID)."
                ],
            )
        )
    conversation = await state.tavus.create_conversation(request.to_body())
    join_url = conversation.link_with_token() or ""
    structured = {**conversation.model_dump(mode="json", exclude_none=True), "join_url": join_url}
    return tool_result(
        _created_text(conversation, join_url, test_mode=request.test_mode is True, settings=settings), structured
    )


def _created_text(conversation: Conversation, join_url: str, *, test_mode: bool, settings: Settings) -> str:
    lines = [f"Join the video call: {join_url}" if join_url else "Tavus returned no join URL for this conversation."]
    if conversation.meeting_token:
        lines.append(
            "This link is private: it carries a meeting token (?t=...). Share it only with the person who should join."
        )
    if test_mode or conversation.status == "ended":
        lines.append(
            "Test mode: the conversation was created with status 'ended'. No replica will join and nobody should "
            "use the link; nothing was charged."
        )
    if settings.sandbox:
        lines.append("Sandbox: this conversation exists only in the local Tavus emulator; nobody will join.")
    details = [f"status {conversation.status or 'unknown'}"]
    if conversation.conversation_name:
        details.insert(0, f"name {conversation.conversation_name!r}")
    if conversation.replica_id:
        details.append(f"replica {conversation.replica_id}")
    if conversation.persona_id:
        details.append(f"persona {conversation.persona_id}")
    lines.append(f"Conversation id: {conversation.conversation_id} ({', '.join(details)}).")
    if conversation.status == "active":
        lines.append(
            "The call is billed and holds a concurrency slot until it ends (max_call_duration, everyone leaving, "
            "or ending it)."
        )
    return "\n".join(lines)


# Tavus error -> tool error

CHECK_ACTIVE = (
    "Before trying again, check whether it exists: list the account's active conversations "
    "(GET /v2/conversations?status=active), so as not to start and pay for a second one."
)


def describe_tavus_error(error: TavusError, *, tool: str, settings: Settings) -> str:
    """The text a model reads when a call to Tavus failed: what happened, and what to do about it."""
    creates = tool == "create_conversation"
    may_exist = f"The conversation may have been created anyway. {CHECK_ACTIVE}" if creates else "Try again shortly."
    not_created = "Nothing was created." if creates else ""

    if isinstance(error, MissingApiKeyError):
        return (
            "No Tavus API key is configured, so nothing was sent to Tavus. Set TAVUS_API_KEY in the environment "
            'of this MCP server (for Claude Desktop: the "env" block of the server in claude_desktop_config.json) '
            "and restart it. To try the server without a key, start it with --sandbox."
        )
    if isinstance(error, AuthenticationError):
        return (
            f"Tavus rejected the API key (HTTP 401: {error.message}). The key in TAVUS_API_KEY is wrong, revoked or "
            "restricted: set a valid key from the Tavus developer portal in the server's environment and restart "
            f"the server. {not_created}"
        ).strip()
    if isinstance(error, ConcurrencyLimitError):
        return (
            f"Tavus refused: the account has reached its maximum number of concurrent conversations "
            f"({error.message}). End a conversation that is still active (list them with "
            "GET /v2/conversations?status=active, then end one), then try again. test_mode: true does not hold a "
            f"slot. {not_created}"
        ).strip()
    if isinstance(error, OutOfCreditsError):
        return (
            f"Tavus refused: the account is out of conversational credits (HTTP 402: {error.message}). Add "
            f"credits or change the plan in the Tavus portal, then try again. {not_created}"
        ).strip()
    if isinstance(error, BadRequestError):
        return f"Tavus rejected the request (HTTP 400): {error.message}. {not_created} Correct it and try again."
    if isinstance(error, PermissionDeniedError):
        return (
            f"Tavus refused access (HTTP 403: {error.message}). The key may be restricted to other IP addresses. "
            f"{not_created}"
        ).strip()
    if isinstance(error, NotFoundError):
        return f"Tavus answered 404 Not Found: {error.message}. Check TAVUS_API_BASE_URL ({settings.base_url})."
    if isinstance(error, RateLimitError):
        wait = f"{error.retry_after:g} seconds" if error.retry_after is not None else "a little"
        return f"Tavus is limiting the rate of requests (HTTP 429). Wait {wait} and try again. {not_created}".strip()
    if isinstance(error, ServerError):
        return f"Tavus failed with HTTP {error.status_code} ({error.message or 'no message'}). {may_exist}"
    if isinstance(error, TavusAPIError):
        return f"Tavus answered with unexpected HTTP {error.status_code}: {error.message}. {may_exist}"
    if isinstance(error, TavusTimeoutError):
        if error.may_have_reached_tavus:
            return f"Tavus did not answer within {settings.timeout:g} seconds. {may_exist}"
        return (
            f"Could not connect to Tavus at {settings.base_url} within {settings.timeout:g} seconds; the request "
            f"never reached Tavus. {not_created} Check the network and TAVUS_API_BASE_URL, then try again."
        )
    if isinstance(error, TavusConnectionError):
        if error.may_have_reached_tavus:
            return f"The connection to Tavus broke before it answered ({error}). {may_exist}"
        return (
            f"Could not connect to Tavus at {settings.base_url}; the request never reached Tavus. {not_created} "
            "Check the network and TAVUS_API_BASE_URL, then try again."
        )
    if isinstance(error, InvalidResponseError):
        return f"Tavus answered, but the answer could not be read: {error}. {may_exist}"
    return f"The call to Tavus failed: {error}. {may_exist}"


# The server


def build_server(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> MCPServer[AppState]:
    """The MCP server for these settings. `transport` replaces the network (tests, the in-process sandbox)."""
    if settings.sandbox:
        from tavus_mcp.sandbox import IN_PROCESS_BASE_URL, SANDBOX_API_KEY, TavusEmulator

        transport = httpx2.ASGITransport(app=TavusEmulator().app)
        settings = Settings(
            api_key=SecretStr(SANDBOX_API_KEY),
            base_url=IN_PROCESS_BASE_URL,
            default_replica_id=settings.default_replica_id,
            default_persona_id=settings.default_persona_id,
            timeout=settings.timeout,
            sandbox=True,
        )

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with TavusClient(
            api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout, transport=transport
        ) as tavus:
            yield AppState(settings=settings, tavus=tavus)

    tools = [
        api_tool(
            create_conversation,
            name="create_conversation",
            title="Start a Tavus video conversation",
            description=CREATE_DESCRIPTION,
            input_model=CreateConversationRequest,
            output_model=CreatedConversation,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
            ),
        ),
    ]
    return MCPServer(
        SERVER_NAME,
        title="Tavus",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=list(tools),
    )
