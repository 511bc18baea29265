"""Who is calling: the state one request works with, on a team server the signed-in user's own."""

from __future__ import annotations

from dataclasses import replace

from mcp.server.auth.middleware.auth_context import get_access_token

from tavus_mcp.client import CallTrace
from tavus_mcp.tools.state import AppState, Progress
from tavus_mcp.users import User


def as_caller(shared: AppState, trace: CallTrace | None = None, progress: Progress | None = None) -> AppState:
    """The state for one request: on a team server with a users file, the user the request signed in as, whose key
    its calls to Tavus send (never another's), and whom every line it logs names; where it reports progress."""
    # The token is a tavus_mcp.oauth.UserAccessToken when a users file signed it in; read by attribute, so that a
    # stdio server never imports the OAuth machinery (PyJWT, cryptography: a fifth of its start-up).
    user = getattr(get_access_token(), "user", None)
    if not isinstance(user, User):
        user = None
    key = user.api_key if user is not None and not shared.settings.sandbox else None
    state = replace(shared, tavus=shared.tavus.traced(trace, api_key=key), user=user)
    return state if progress is None else replace(state, progress=progress)
