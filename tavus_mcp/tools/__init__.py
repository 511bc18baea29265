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

Import each name from the submodule that holds it.
"""
