"""Completions: ids from the account, for prompt arguments and resource templates."""

from __future__ import annotations

import contextlib
from typing import Literal

import anyio

from tavus_mcp.errors import TavusError
from tavus_mcp.models.conversations import ListConversationsRequest
from tavus_mcp.models.personas import ListPersonasRequest
from tavus_mcp.models.replicas import ListReplicasRequest
from tavus_mcp.tools.state import AppState

# One page of each list is read: more than a person picks from, in one request.
COMPLETION_PAGE = 100


async def recent_ids(state: AppState, kind: Literal["conversation", "persona", "replica"], prefix: str) -> list[str]:
    """The ids of the account's conversations, personas or replicas (those ready to use) that start with `prefix`,
    most recent first; none when Tavus cannot be asked within the call's time budget."""
    rows: list[tuple[str, str]] = []
    with anyio.move_on_after(state.settings.timeout), contextlib.suppress(TavusError):
        if kind == "conversation":
            conversations = await state.tavus.list_conversations(ListConversationsRequest(limit=COMPLETION_PAGE))
            rows = [(item.conversation_id, item.created_at or "") for item in conversations.data]
        elif kind == "persona":
            personas = await state.tavus.list_personas(ListPersonasRequest(limit=COMPLETION_PAGE))
            rows = [(item.persona_id, item.created_at or "") for item in personas.data]
        else:
            replicas = await state.tavus.list_replicas(ListReplicasRequest(limit=COMPLETION_PAGE))
            rows = [(r.replica_id, r.created_at or "") for r in replicas.data if r.status in (None, "completed")]
    # ISO 8601 times sort as text; a stable sort keeps Tavus's order where they tie or are missing.
    rows.sort(key=lambda row: row[1], reverse=True)
    wanted = prefix.strip().casefold()
    return [identifier for identifier, _ in rows if identifier.casefold().startswith(wanted)]
