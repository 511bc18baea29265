"""What the server offers besides tools, as MCP serves it: the prompts, the transcript resource, the MCP Apps view
of a call, and completions of prompt arguments and resource parameters."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from mcp.server.apps import APP_MIME_TYPE, ResourceCsp, ResourcePermissions
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    GetPromptRequestParams,
    GetPromptResult,
    Prompt,
    PromptArgument,
    PromptMessage,
    PromptReference,
    ReadResourceRequestParams,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    TextContent,
    TextResourceContents,
)
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from tavus_mcp.advice import READS, describe_tavus_error
from tavus_mcp.catalog import CONVERSATION_VIEW
from tavus_mcp.config import Settings
from tavus_mcp.errors import BadRequestError, NotFoundError, TavusError
from tavus_mcp.models.conversations import GetConversationRequest
from tavus_mcp.models.languages import MULTILINGUAL, SUPPORTED_LANGUAGES
from tavus_mcp.prompts import COMPLETED_IDS, MAX_COMPLETIONS, TRANSCRIPT_TEMPLATE
from tavus_mcp.redaction import scrub
from tavus_mcp.server.caller import as_caller
from tavus_mcp.tools.completions import recent_ids
from tavus_mcp.tools.review import transcript_text
from tavus_mcp.tools.state import AppState
from tavus_mcp.tools.wait import call_state

# Where join URLs live: Tavus's rooms are served by Daily. The sandbox's own rooms are added when serving it.
JOIN_URL_DOMAINS = ["https://*.daily.co"]

Request = ServerRequestContext[AppState, Any]


# Prompts: each is a function of its arguments to the text of one user message


@dataclass(frozen=True)
class PromptSpec:
    name: str
    title: str
    render: Callable[..., str]

    def listed(self) -> Prompt:
        """The prompt as prompts/list shows it: its arguments, descriptions and defaults from the signature."""
        hints = typing.get_type_hints(self.render, include_extras=True)
        arguments = [
            PromptArgument(name=name, description=_description(hints[name]), required=p.default is p.empty)
            for name, p in inspect.signature(self.render).parameters.items()
        ]
        return Prompt(name=self.name, title=self.title, description=inspect.getdoc(self.render), arguments=arguments)

    def get(self, arguments: Mapping[str, str] | None) -> GetPromptResult:
        given = dict(arguments or {})
        parameters = inspect.signature(self.render).parameters
        missing = [name for name, p in parameters.items() if p.default is p.empty and name not in given]
        if missing:
            raise MCPError(INVALID_PARAMS, f"Prompt {self.name} needs the argument(s): {', '.join(missing)}")
        text = self.render(**{name: value for name, value in given.items() if name in parameters})
        return GetPromptResult(
            description=inspect.getdoc(self.render),
            messages=[PromptMessage(role="user", content=TextContent(type="text", text=text))],
        )


def _description(annotation: Any) -> str | None:
    fields = [meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, FieldInfo)]
    return fields[0].description if fields else None


def get_prompt(prompts: Mapping[str, PromptSpec], params: GetPromptRequestParams) -> GetPromptResult:
    prompt = prompts.get(params.name)
    if prompt is None:
        raise MCPError(INVALID_PARAMS, f"Unknown prompt: {params.name}. The prompts are: {', '.join(prompts)}.")
    return prompt.get(params.arguments)


# Resources: the conversation view (MCP Apps) and each call's transcript


@dataclass(frozen=True)
class ConversationView:
    """The MCP Apps view that create_conversation's results open in: the live call, in the chat."""

    resource: Resource
    html: str

    @classmethod
    def for_settings(cls, settings: Settings) -> ConversationView:
        frame_domains = list(JOIN_URL_DOMAINS)
        parts = urlsplit(settings.base_url)
        if parts.hostname != "tavusapi.com":
            # Not Tavus itself (the sandbox emulator, a proxy): its rooms may be served from its own address.
            frame_domains.append(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")  # never the userinfo
        ui = {
            "csp": ResourceCsp(frame_domains=frame_domains).model_dump(by_alias=True, exclude_none=True),
            "permissions": ResourcePermissions(camera={}, microphone={}, clipboard_write={}).model_dump(
                by_alias=True, exclude_none=True
            ),
            "prefersBorder": False,
        }
        resource = Resource(
            uri=CONVERSATION_VIEW,
            name="Tavus conversation",
            title="Tavus video call",
            description="The live Tavus video call, embedded in the conversation, with copy-link and End call.",
            mime_type=APP_MIME_TYPE,
            meta={"ui": ui},
        )
        html = resources.files("tavus_mcp.ui").joinpath("conversation.html").read_text(encoding="utf-8")
        return cls(resource, html)


TRANSCRIPT = ResourceTemplate(
    uri_template=TRANSCRIPT_TEMPLATE,
    name="transcript",
    title="Call transcript",
    description="The timed transcript of a finished Tavus call, every turn, as text.",
    mime_type="text/plain",
)
_TRANSCRIPT_URI = re.compile(re.escape(TRANSCRIPT_TEMPLATE).replace(re.escape("{conversation_id}"), "([^/]+)"))


async def read_resource(view: ConversationView, ctx: Request, params: ReadResourceRequestParams) -> ReadResourceResult:
    uri = str(params.uri)
    if uri == view.resource.uri:
        contents = TextResourceContents(uri=uri, text=view.html, mime_type=APP_MIME_TYPE, _meta=view.resource.meta)
        return ReadResourceResult(contents=[contents])
    match = _TRANSCRIPT_URI.fullmatch(uri)
    if match is None:
        raise MCPError(INVALID_PARAMS, f"Unknown resource: {uri}", data={"uri": uri})
    text = await read_transcript(unquote(match.group(1)), as_caller(ctx.lifespan_context), uri)
    return ReadResourceResult(contents=[TextResourceContents(uri=uri, text=text, mime_type="text/plain")])


async def read_transcript(conversation_id: str, state: AppState, uri: str) -> str:
    """resources/read of a transcript: every turn of the call with its time; an error says why there is none."""

    def failed(message: str, *, not_found: bool = False) -> MCPError:
        return MCPError(INVALID_PARAMS if not_found else INTERNAL_ERROR, scrub(message), data={"uri": uri})

    try:
        request = GetConversationRequest(conversation_id=conversation_id, verbose=True)
    except ValidationError as exc:
        raise failed(str(exc.errors()[0]["msg"]).removeprefix("Value error, "), not_found=True) from None
    try:
        details = await state.tavus.get_conversation(request)
    except TavusError as error:
        text = describe_tavus_error(error, effect=READS, settings=state.settings, conversation_id=conversation_id)
        # Only the id can be wrong in a request that is nothing but an id.
        raise failed(text, not_found=isinstance(error, BadRequestError | NotFoundError)) from None
    transcript = transcript_text(details)
    if transcript is not None:
        return scrub(transcript)  # as a tool's result is: no configured secret leaves, whatever Tavus sent
    if call_state(details) == "no_call":
        raise failed(f"Conversation {conversation_id} ended without a call (test mode): it has no transcript.")
    still = " The call is still in progress." if details.status == "active" else ""
    raise failed(
        f"Conversation {conversation_id} has no transcript yet: Tavus sends it once the call has ended and been "
        f"processed.{still}"
    )


# Completions: prompt arguments and template parameters that take an id offer the account's, most recent first


async def complete(ctx: Request, params: CompleteRequestParams) -> CompleteResult:
    """completion/complete: ids from the account (nothing when Tavus cannot be asked in time), and languages."""
    ref, argument = params.ref, params.argument
    where = ref.name if isinstance(ref, PromptReference) else ref.uri
    if (where, argument.name) == ("practice_call", "language"):
        typed = argument.value.strip().casefold()
        values = [name for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL) if name.casefold().startswith(typed)]
    else:
        kind = COMPLETED_IDS.get((where, argument.name))
        if kind is None:
            return CompleteResult(completion=Completion(values=[]))
        values = await recent_ids(as_caller(ctx.lifespan_context), kind, argument.value)
    return CompleteResult(
        completion=Completion(
            values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS
        )
    )
