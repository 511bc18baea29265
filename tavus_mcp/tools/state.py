"""What every handler shares: the call's state (`AppState`), what a handler returns (`ToolOutput`) or raises
(`ToolFailure`), and how a page of a list is described.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from tavus_mcp.client import TavusClient
from tavus_mcp.config import Settings
from tavus_mcp.redaction import Scrubber
from tavus_mcp.users import User

DEFAULT_PAGE_LIMIT = 10  # Tavus's default page size


# Any tool's text, whatever it asked for (see ToolOutput.bounded_text).
MAX_RESULT_CHARS = 100_000


# How a tool tells the client how far it has got: (progress, total, message), as MCP's progress notifications.
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def _no_progress(progress: float, total: float | None = None, message: str | None = None) -> None:
    return None


@dataclass(frozen=True)
class AppState:
    """What every tool call shares: the settings and the one Tavus client; per call, the user making it (on a
    team server with a users file), whose key the call's view of the client sends, and where it reports progress."""

    settings: Settings
    tavus: TavusClient
    user: User | None = None
    progress: Progress = _no_progress


@dataclass(frozen=True)
class ToolOutput:
    text: str
    structured: dict[str, Any]

    def bounded_text(self) -> str:
        """The text, cut at MAX_RESULT_CHARS: a page of thousands of items, or a `full` transcript of hours, would
        otherwise fill a model's context. The structured result keeps everything."""
        if len(self.text) <= MAX_RESULT_CHARS:
            return self.text
        cut = self.text.rfind("\n", 0, MAX_RESULT_CHARS)
        kept = self.text[: cut if cut > 0 else MAX_RESULT_CHARS]
        return (
            f"{kept}\n[... {len(self.text) - len(kept):,} more characters cut: this text stops at "
            f"{MAX_RESULT_CHARS:,} characters. The structured result has everything; or ask for less, such as a "
            "smaller limit.]"
        )

    def scrubbed(self, scrub: Scrubber) -> ToolOutput:
        """This output without the scrubber's secrets, in its text and its structured result."""
        return ToolOutput(scrub(self.text), scrub.value(self.structured))


class ToolFailure(Exception):
    """A failure whose message is already written for the model."""


class PageInfo(BaseModel):
    page: int
    limit: int
    total_count: int | None = None
    next_page: int | None = Field(None, description="Absent on the last page.")


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _page_info(page: int | None, limit: int | None, total: int | None, shown: int) -> PageInfo:
    page = page or 1
    limit = limit or DEFAULT_PAGE_LIMIT
    # Without a total, a full page means there may be more.
    has_next = page * limit < total if total is not None else shown == limit
    return PageInfo(page=page, limit=limit, total_count=total, next_page=page + 1 if has_next else None)


def _page_heading(what: str, info: PageInfo, shown: int) -> str:
    if shown == 0:
        if info.page == 1:
            return f"No {what}."
        total = f"there are {info.total_count} {what} in all" if info.total_count is not None else "no more"
        return f"Page {info.page} is past the end: {total}."
    if info.total_count is not None:
        pages = max(1, -(-info.total_count // info.limit))
        noun = what.removesuffix("s") if info.total_count == 1 else what
        return f"{info.total_count} {noun} in all; page {info.page} of {pages} shows {shown}:"
    return f"Page {info.page} shows {shown} {what}:"


def _next_page_hint(tool: str, request: BaseModel, info: PageInfo) -> list[str]:
    if info.next_page is None:
        return []
    given = {key: value for key, value in request.model_dump(exclude_none=True).items() if key != "page"}
    arguments = json.dumps({**given, "page": info.next_page})
    return [f"More on the next page: call {tool} with {arguments}."]
