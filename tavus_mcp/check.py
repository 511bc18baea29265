"""`mcp-server-tavus check`: one call to Tavus with the configured key, and a plain verdict for a person."""

from __future__ import annotations

import anyio

from tavus_mcp.advice import READS, describe_tavus_error
from tavus_mcp.client import TavusClient, sandboxed
from tavus_mcp.config import KEY_HELP, Settings
from tavus_mcp.errors import AuthenticationError, PermissionDeniedError, TavusConnectionError, TavusError
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
    where = "the Tavus sandbox (embedded emulator)" if settings.sandbox else f"Tavus at {public_url(settings.base_url)}"
    async with TavusClient.from_settings(settings, transport) as tavus:
        try:
            page = await tavus.list_replicas(ListReplicasRequest(limit=1))
        except AuthenticationError as error:
            return False, (
                f"{where} refused the key in TAVUS_API_KEY (HTTP 401: {error.message}). Check that it is the whole "
                f"key, exactly as Tavus gave it, and that it has not been revoked. {KEY_HELP}"
            )
        except PermissionDeniedError as error:
            return False, (
                f"{where} refused access with this key (HTTP 403: {error.message}); keys can be restricted to "
                "allowed IP addresses: check the key's settings in the Tavus developer portal, https://platform.tavus.io."
            )
        except TavusConnectionError as error:
            what = (
                f"{where} did not answer ({error})" if error.may_have_reached_tavus else f"Could not connect to {where}"
            )
            return False, f"{what}. Check the network, any proxy or firewall, and TAVUS_API_BASE_URL."
        except TavusError as error:
            return False, describe_tavus_error(error, effect=READS, settings=settings)
    count = page.total_count if page.total_count is not None else len(page.data)
    replicas = f"{count} replica{'s' if count != 1 else ''}"
    if settings.sandbox:
        # No key of the user's was involved: say what was checked, and how to check the real one.
        return True, (
            f"ok: the installation works; the embedded Tavus sandbox answered and offers {replicas}. No key was "
            "checked: run mcp-server-tavus check without --sandbox to check TAVUS_API_KEY against Tavus."
        )
    return True, f"ok: {where} accepted the key; the account can use {replicas}."


def run_check(settings: Settings) -> int:
    ok, message = anyio.run(check, settings)
    print(message)
    return 0 if ok else 1
