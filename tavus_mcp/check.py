"""`mcp-server-tavus check`: one call to Tavus with the configured key, and a plain verdict for a person."""

from __future__ import annotations

import anyio

from tavus_mcp.advice import READS, describe_tavus_error
from tavus_mcp.client import TavusClient, sandboxed
from tavus_mcp.config import KEY_HELP, Settings
from tavus_mcp.errors import TavusError
from tavus_mcp.models.replicas import ListReplicasRequest
from tavus_mcp.redaction import public_url

SET_KEY = (
    "TAVUS_API_KEY is not set. Set it to your Tavus API key in the environment the server runs in, e.g. the "
    f'"env" block of its entry in claude_desktop_config.json. {KEY_HELP} Or try the server without a key: '
    "mcp-server-tavus --sandbox."
)


async def check(settings: Settings) -> tuple[bool, str]:
    """Whether these settings reach Tavus with a key it accepts, and the sentence that says so."""
    transport = None
    if settings.sandbox:
        settings, transport = sandboxed(settings)
    if settings.api_key is None:
        return False, SET_KEY
    async with TavusClient.from_settings(settings, transport) as tavus:
        try:
            page = await tavus.list_replicas(ListReplicasRequest(limit=1))
        except TavusError as error:
            # A person reads what a model would: the words for a refused key or an unreachable Tavus live in advice.
            return False, describe_tavus_error(error, effect=READS, settings=settings)
    count = page.total_count if page.total_count is not None else len(page.data)
    replicas = f"{count} replica{'s' if count != 1 else ''}"
    if settings.sandbox:
        # No key of the user's was involved: say what was checked, and how to check the real one.
        return True, (
            f"ok: the installation works; the embedded Tavus sandbox answered and offers {replicas}. No key was "
            "checked: run mcp-server-tavus check without --sandbox to check TAVUS_API_KEY against Tavus."
        )
    return True, f"ok: Tavus at {public_url(settings.base_url)} accepted the key; the account can use {replicas}."


def run_check(settings: Settings) -> int:
    ok, message = anyio.run(check, settings)
    print(message)
    return 0 if ok else 1
