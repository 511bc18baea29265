"""What each tool does and what it says: handlers over the Tavus client, their texts and structured results.

Pure of MCP: a handler takes the shared state and its validated arguments and returns a `ToolOutput`, or raises
`ToolFailure` (or lets a `TavusError` through, which `tavus_mcp.advice` turns into text). The server wraps
these as MCP tools.

- `state`: what every handler shares and returns (`AppState`, `ToolOutput`, `ToolFailure`), and paging.
- `confirm`: what the user is asked before a tool spends money or destroys data.
- `conversations`: create, get, list, end and delete a conversation.
- `review`: how a conversation reads afterwards (the report, the transcript and its bounds).
- `wait`: wait_for_conversation.
- `personas`: the replica and persona tools.
- `completions`: ids from the account, for completions.

The names below are re-exported for code written before the split; new code imports from the submodule.
"""

from tavus_mcp.tools.completions import recent_ids
from tavus_mcp.tools.confirm import Confirmation, confirm_create, confirm_delete, confirm_delete_persona
from tavus_mcp.tools.conversations import (
    ConversationDeleted,
    ConversationEnded,
    ConversationList,
    CreatedConversation,
    create_conversation,
    delete_conversation,
    end_conversation,
    get_conversation,
    list_conversations,
)
from tavus_mcp.tools.personas import (
    CreatedPersona,
    PersonaDeleted,
    PersonaList,
    PersonaUpdated,
    ReplicaList,
    create_persona,
    delete_persona,
    get_persona,
    list_personas,
    list_replicas,
    update_persona,
)
from tavus_mcp.tools.review import MAX_TRANSCRIPT_CHARS, ConversationReport, conversation_report, transcript_text
from tavus_mcp.tools.state import MAX_RESULT_CHARS, AppState, ToolFailure, ToolOutput
from tavus_mcp.tools.wait import CallOutcome, call_state, wait_for_conversation

__all__ = [
    "MAX_RESULT_CHARS",
    "MAX_TRANSCRIPT_CHARS",
    "AppState",
    "CallOutcome",
    "Confirmation",
    "ConversationDeleted",
    "ConversationEnded",
    "ConversationList",
    "ConversationReport",
    "CreatedConversation",
    "CreatedPersona",
    "PersonaDeleted",
    "PersonaList",
    "PersonaUpdated",
    "ReplicaList",
    "ToolFailure",
    "ToolOutput",
    "call_state",
    "confirm_create",
    "confirm_delete",
    "confirm_delete_persona",
    "conversation_report",
    "create_conversation",
    "create_persona",
    "delete_conversation",
    "delete_persona",
    "end_conversation",
    "get_conversation",
    "get_persona",
    "list_conversations",
    "list_personas",
    "list_replicas",
    "recent_ids",
    "transcript_text",
    "update_persona",
    "wait_for_conversation",
]
