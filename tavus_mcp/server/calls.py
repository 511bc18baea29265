"""The tools as MCP lists and calls them: each `ToolSpec`'s pydantic model is both the input schema a model sees and
the validator of what it sends, on the SDK's public low-level `Server` (as servers/fetch does), so that the schema
stays flat and every refusal reads as an instruction to the model. Errors are translated here, once: invalid
arguments, `ToolFailure` and Tavus errors all become tool errors (`isError`) whose text says what to do next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.elicitation import AcceptedElicitation
from mcp_types import CallToolRequestParams, CallToolResult, InputRequiredResult, TextContent, Tool
from pydantic import BaseModel

from tavus_mcp.advice import describe_tavus_error, internal_error_text
from tavus_mcp.arguments import InvalidArguments, parse_arguments, tool_schema
from tavus_mcp.catalog import ToolSpec
from tavus_mcp.client import CallTrace
from tavus_mcp.errors import TavusError
from tavus_mcp.logs import call_user
from tavus_mcp.models.personas import PersonaRef
from tavus_mcp.redaction import scrub, scrub_value
from tavus_mcp.server.caller import as_caller
from tavus_mcp.server.confirm import ask_user
from tavus_mcp.tools.state import AppState, ToolFailure

logger = logging.getLogger("tavus_mcp")


def listed(spec: ToolSpec, passthrough: Sequence[str] = ()) -> Tool:
    """The tool as tools/list shows it, its input schema open to the fields the operator lets through
    (TAVUS_PASSTHROUGH_FIELDS)."""
    return Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=tool_schema(spec.input_model, passthrough),
        output_schema=tool_schema(spec.output_model),
        annotations=spec.annotations,
        meta={"ui": {"resourceUri": spec.ui_resource}} if spec.ui_resource else None,
    )


async def call(
    spec: ToolSpec, ctx: ServerRequestContext[AppState, Any], params: CallToolRequestParams
) -> CallToolResult | InputRequiredResult:
    """tools/call of one tool: validate, ask the user where the tool needs it, run, and say what happened."""
    started = time.perf_counter()
    outcome = "cancelled"  # unless the call gets further: a client may cancel it while Tavus is busy
    trace = CallTrace()
    state = as_caller(ctx.lifespan_context, trace, progress=ctx.session.report_progress)
    user = state.user
    named = call_user.set(user.name if user is not None else None)
    validated: BaseModel | None = None
    try:
        validated = parse_arguments(
            spec.input_model, params.arguments or {}, tool=spec.name, passthrough=state.settings.passthrough_fields
        )
        # TAVUS_CONFIRM_BILLED=never: agents that run unattended are never stopped by a question.
        policy = spec.confirm if state.settings.confirm_billed != "never" else None
        confirmation = policy(state, validated) if policy is not None else None
        if confirmation is not None:
            answer = await ask_user(ctx, params, confirmation)
            if isinstance(answer, InputRequiredResult):
                outcome = "input_required"
                return answer
            if isinstance(answer, AcceptedElicitation):
                validated = confirmation.accepted(answer.data)
            elif answer is not None:
                outcome = "not_confirmed"
                return error_result(confirmation.refused(answer))
        output = await spec.handler(state, validated)
        outcome = "ok"
        # Whatever Tavus sent back, no configured secret leaves in a result (redaction.scrub, in any encoding).
        return CallToolResult(
            content=[TextContent(type="text", text=scrub(output.bounded_text()))],
            structured_content=scrub_value(output.structured),
        )
    except (InvalidArguments, ToolFailure) as exc:
        outcome = "invalid_arguments" if isinstance(exc, InvalidArguments) else "refused"
        return error_result(str(exc))
    except TavusError as exc:
        outcome = type(exc).__name__
        return error_result(
            describe_tavus_error(
                exc,
                effect=spec.effect,
                settings=state.settings,
                conversation_id=getattr(validated, "conversation_id", None),
                key_variable=user.key_variable if user is not None else "TAVUS_API_KEY",
                persona_id=validated.persona_id if isinstance(validated, PersonaRef) else None,
            )
        )
    except Exception:
        # A bug of ours: the traceback stays in the log, the model gets a fixed text it can act on.
        outcome = "internal_error"
        logger.exception("tool %s failed unexpectedly", spec.name)
        return error_result(internal_error_text(spec.name, spec.effect))
    finally:
        # Tool name and outcome only: argument values (context, greetings) may be personal.
        logger.info(
            "tool_call",
            extra={
                "tool": spec.name,
                "outcome": outcome,
                "tavus_status": trace.status,
                "attempts": trace.attempts,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.name if user is not None else None,
            },
        )
        call_user.reset(named)


def error_result(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=scrub(text))], is_error=True)
