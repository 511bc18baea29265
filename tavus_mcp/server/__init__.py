"""The MCP server: the tools, prompts and resources as MCP sees them, and the lifespan that owns the one Tavus
client. With `tavus_mcp.http`, the only place that imports the SDK's server side.

It is built on the SDK's public low-level `Server`, as servers/fetch is: `MCPServer` derives each tool's input schema
and validation from a Python signature, while this server's tools take one pydantic model each, whose flattened
schema the model sees and whose refusals name each field and the fix (`tavus_mcp.arguments`). Everything it needs
besides (sealed request state, auth, Streamable HTTP, the MCP Apps capability) is public API of that class.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from mcp.server.apps import EXTENSION_ID
from mcp.server.lowlevel import Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    CompleteRequestParams,
    CompleteResult,
    GetPromptRequestParams,
    GetPromptResult,
    InputRequiredResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
)

from tavus_mcp import __version__
from tavus_mcp.catalog import TOOLS, selected_tools, toolsets_on
from tavus_mcp.client import TavusClient, sandboxed
from tavus_mcp.config import Settings
from tavus_mcp.prompts import PRACTICE_CALL_SECONDS, practice_call_prompt, review_call_prompt, toolset_instructions
from tavus_mcp.server import calls, content
from tavus_mcp.server.caller import as_caller
from tavus_mcp.server.confirm import SingleUseAnswers, request_state_boundary
from tavus_mcp.server.content import JOIN_URL_DOMAINS, ConversationView, PromptSpec
from tavus_mcp.tools.state import AppState

__all__ = ["INSTRUCTIONS", "JOIN_URL_DOMAINS", "SERVER_NAME", "as_caller", "build_server"]

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


Request = content.Request


def build_server(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None, state_secret: str | None = None
) -> Server[AppState]:
    """The MCP server for these settings. `transport` replaces the network (tests, the in-process sandbox).

    `state_secret` is what every process of one deployment shares, from which the key sealing confirmations is
    derived (`tavus_mcp.server.confirm`): by default the Tavus API key; a team server without one passes its users'
    keys. Serve it over stdio (`tavus_mcp.stdio`) or Streamable HTTP (`tavus_mcp.http`, which adds auth).
    """
    if settings.sandbox:
        # One emulator for the server's life, so every connection sees the same conversations.
        settings, transport = sandboxed(settings)
    elif state_secret is None and settings.api_key is not None:
        state_secret = settings.api_key.get_secret_value()

    specs = {spec.name: spec for spec in TOOLS if spec.name in selected_tools(settings)}
    tools = [calls.listed(spec, settings.passthrough_fields) for spec in specs.values()]
    # For the SDK's check of a 2026-07-28 call's Mcp-Param-* headers against the `x-mcp-header` annotations of the
    # tool's input schema: it walks the whole schema on every call with arguments (0.4 ms for create_conversation's),
    # so only schemas that declare such a header are given (none do). For the others there is nothing to check.
    header_schemas = {tool.name: tool.input_schema for tool in tools if "x-mcp-header" in json.dumps(tool.input_schema)}
    call_length = min(PRACTICE_CALL_SECONDS, settings.max_call_duration or PRACTICE_CALL_SECONDS)
    prompts = {
        prompt.name: prompt
        for prompt in (
            PromptSpec("practice_call", "Practice call", practice_call_prompt(call_length, toolsets_on(settings))),
            PromptSpec("review_call", "Review a call", review_call_prompt(toolsets_on(settings))),
        )
    }
    view = ConversationView.for_settings(settings)

    @asynccontextmanager
    async def lifespan(_: Server[AppState]) -> AsyncIterator[AppState]:
        async with TavusClient.from_settings(settings, transport) as tavus:
            yield AppState(settings=settings, tavus=tavus)

    async def list_tools(_: Request, __: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=tools)

    async def call_tool(ctx: Request, params: CallToolRequestParams) -> CallToolResult | InputRequiredResult:
        spec = specs.get(params.name)
        if spec is None:
            return calls.error_result(f"Unknown tool: {params.name}")
        return await calls.call(spec, ctx, params)

    async def list_prompts(_: Request, __: PaginatedRequestParams | None) -> ListPromptsResult:
        return ListPromptsResult(prompts=[prompt.listed() for prompt in prompts.values()])

    async def get_prompt(_: Request, params: GetPromptRequestParams) -> GetPromptResult:
        return content.get_prompt(prompts, params)

    async def list_resources(_: Request, __: PaginatedRequestParams | None) -> ListResourcesResult:
        return ListResourcesResult(resources=[view.resource])

    async def list_templates(_: Request, __: PaginatedRequestParams | None) -> ListResourceTemplatesResult:
        return ListResourceTemplatesResult(resource_templates=[content.TRANSCRIPT])

    async def read_resource(ctx: Request, params: ReadResourceRequestParams) -> ReadResourceResult:
        return await content.read_resource(view, ctx, params)

    async def complete(ctx: Request, params: CompleteRequestParams) -> CompleteResult:
        return await content.complete(ctx, params)

    server: Server[AppState] = Server(
        SERVER_NAME,
        title="Tavus",
        version=__version__,
        instructions=INSTRUCTIONS + toolset_instructions(toolsets_on(settings)),
        lifespan=lifespan,
        get_tool_input_schema=header_schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_completion=complete,
        # subscriptions/listen (2026-07-28), as MCPServer serves it: the lists never change, so the stream carries
        # nothing but its acknowledgement, and clients that listen are served rather than refused.
        on_subscriptions_listen=ListenHandler(InMemorySubscriptionBus()),
    )
    # MCP Apps: hosts that support the extension show the call itself, in the chat, instead of a link.
    server.extensions[EXTENSION_ID] = {}
    # Outermost first: a sealed answer is spent before the SDK unseals it for the tool.
    server.middleware.extend([SingleUseAnswers(), request_state_boundary(state_secret, SERVER_NAME)])
    return server
