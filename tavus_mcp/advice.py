"""The advice a model reads when a call to Tavus failed: what happened, and what to do next.

Chosen by the kind of error (`tavus_mcp.errors`) and by what the tool does (`Effect`: whether it creates something,
whether that costs money), never by the tool's name. Pure of MCP and of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from tavus_mcp.config import KEY_HELP, Settings
from tavus_mcp.errors import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyLimitError,
    InvalidResponseError,
    MalformedApiKeyError,
    MissingApiKeyError,
    NotFoundError,
    OutOfCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TavusAPIError,
    TavusConnectionError,
    TavusError,
    TavusTimeoutError,
)
from tavus_mcp.redaction import public_url


@dataclass(frozen=True)
class Effect:
    """What a tool does in the Tavus account, which decides what a failure means for the user."""

    #: What it creates ("conversation", "persona"), if anything: a failure may have created it anyway.
    creates: str | None = None
    #: Whether what it creates is billed while it lasts (a live call), so a duplicate costs money.
    billed: bool = False


#: A tool that only reads, or changes something that already exists.
READS = Effect()
#: A tool that starts a billed conversation.
STARTS_CALL = Effect(creates="conversation", billed=True)
#: A tool that creates a persona (no cost, but a duplicate clutters the account).
CREATES_PERSONA = Effect(creates="persona")


def internal_error_text(tool: str, effect: Effect) -> str:
    """What the model reads when this server itself failed (a bug, logged with its traceback)."""
    text = f"{tool} failed inside this server (an internal error, logged for its operator)."
    if effect.creates:
        return f"{text} {_may_exist(effect)}"
    return f"{text} Try again; if it keeps failing, tell the user."


# Tavus error -> text for the model

CHECK_ACTIVE = (
    "Before trying again, check whether it exists with list_conversations (status: 'active'), so as not to start "
    "and pay for a second one."
)


def describe_tavus_error(
    error: TavusError,
    *,
    effect: Effect,
    settings: Settings,
    conversation_id: str | None = None,
    key_variable: str = "TAVUS_API_KEY",
    persona_id: str | None = None,
) -> str:
    """The text a model reads when a call to Tavus failed: what happened, and what to do about it.

    `key_variable` names where the key the call sent comes from (a team server's user may have a key of their own).
    The conversation or persona the call was about, if any, is named, and an unknown id said to be one.
    """
    about = ("conversation", conversation_id) if conversation_id else ("persona", persona_id) if persona_id else None
    text = _describe_tavus_error(error, effect=effect, settings=settings, about=about, key_variable=key_variable)
    return " ".join(text.split())  # the optional sentences leave no double spaces behind


def _may_exist(effect: Effect) -> str:
    if effect.billed:
        return f"The {effect.creates} may have been created anyway. {CHECK_ACTIVE}"
    return (
        f"The {effect.creates} may have been created anyway: check with list_{effect.creates}s before creating another."
    )


def _describe_tavus_error(
    error: TavusError, *, effect: Effect, settings: Settings, about: tuple[str, str] | None, key_variable: str
) -> str:
    subject = f"{about[0]} {about[1]}: " if about else ""
    base_url = public_url(settings.base_url)  # a password in it is never shown
    may_exist = _may_exist(effect) if effect.creates else "Try again shortly."
    not_created = "Nothing was created." if effect.creates else ""

    if isinstance(error, MissingApiKeyError):
        return (
            "No Tavus API key is configured, so nothing was sent to Tavus. Set TAVUS_API_KEY in the environment "
            'of this MCP server (for Claude Desktop: the "env" block of the server in claude_desktop_config.json) '
            f"and restart it. {KEY_HELP} To try the server without a key, start it with --sandbox."
        )
    if isinstance(error, MalformedApiKeyError):
        return (
            "The API key in TAVUS_API_KEY contains a character that cannot be sent to Tavus (a space, a line break "
            "or a non-ASCII character such as a curly quote), so nothing was sent. Set it again in the server's "
            f"environment, exactly as Tavus gave it, and restart the server. {KEY_HELP}"
        )
    if isinstance(error, AuthenticationError):
        rejected = (
            f"Tavus rejected the API key (HTTP 401: {error.message}). The key in {key_variable} is wrong, revoked or "
            "restricted: set a valid key in the server's environment and restart the server."
        )
        return " ".join(part for part in (rejected, not_created, KEY_HELP) if part)
    if isinstance(error, ConcurrencyLimitError):
        return (
            f"Tavus refused: the account has reached its maximum number of concurrent conversations "
            f"({error.message}). End a conversation that is still active (list_conversations with status "
            "'active', then end_conversation), then try again. test_mode: true does not hold a slot. "
            f"{not_created}"
        ).strip()
    if isinstance(error, OutOfCreditsError):
        return (
            f"Tavus refused: the account is out of conversational credits (HTTP 402: {error.message}). Add "
            f"credits or change the plan in the Tavus portal, then try again. {not_created}"
        ).strip()
    if about and isinstance(error, BadRequestError | NotFoundError) and _unknown_id(error, about[0]):
        return (
            f"{subject}Tavus does not know this id (HTTP {error.status_code}: {error.message}). It may be "
            f"mistyped or deleted: find the right id with list_{about[0]}s."
        )
    if isinstance(error, BadRequestError):
        return (
            f"{subject}Tavus rejected the request (HTTP 400): {error.message}. {not_created} Correct it and try again."
        )
    if isinstance(error, PermissionDeniedError):
        return (
            f"{subject}Tavus refused access (HTTP 403: {error.message}). The key may be restricted to other IP "
            "addresses: check its settings in the Tavus developer portal, https://platform.tavus.io. "
            f"{not_created}"
        ).strip()
    if isinstance(error, NotFoundError):
        return f"{subject}Tavus answered 404 Not Found: {error.message}. Check TAVUS_API_BASE_URL ({base_url})."
    if isinstance(error, RateLimitError):
        wait = f"{error.retry_after:g} seconds" if error.retry_after is not None else "a little"
        return f"Tavus is limiting the rate of requests (HTTP 429). Wait {wait} and try again. {not_created}".strip()
    if isinstance(error, ServerError):
        return f"{subject}Tavus failed with HTTP {error.status_code} ({error.message or 'no message'}). {may_exist}"
    if isinstance(error, TavusAPIError) and 300 <= error.status_code < 400:
        # Redirects are never followed (the key must not travel elsewhere), and a redirected request did nothing.
        return (
            f"Tavus answered with a redirect (HTTP {error.status_code}: {error.message}), which this server does "
            f"not follow. TAVUS_API_BASE_URL ({base_url}) is probably wrong: the API is at "
            f"https://tavusapi.com. {not_created}"
        )
    if isinstance(error, TavusAPIError):
        return f"{subject}Tavus answered with unexpected HTTP {error.status_code}: {error.message}. {may_exist}"
    if isinstance(error, TavusTimeoutError):
        if error.may_have_reached_tavus:
            return f"{subject}Tavus did not answer within {settings.timeout:g} seconds. {may_exist}"
        if error.pool_exhausted:
            return (
                "This server already has as many calls to Tavus in flight as it allows, and none finished in time; "
                f"the request was not sent. {not_created} Try again in a moment."
            )
        return (
            f"Could not connect to Tavus at {base_url} within {settings.connect_timeout:g} seconds; the "
            f"request never reached Tavus. {not_created} Check the network, any proxy or firewall, and "
            "TAVUS_API_BASE_URL, then try again."
        )
    if isinstance(error, TavusConnectionError):
        if error.may_have_reached_tavus:
            return f"{subject}The connection to Tavus broke before it answered ({error}). {may_exist}"
        return (
            f"Could not connect to Tavus at {base_url}; the request never reached Tavus. {not_created} "
            "Check the network, any proxy or firewall, and TAVUS_API_BASE_URL, then try again."
        )
    if isinstance(error, InvalidResponseError):
        return f"{subject}Tavus answered, but the answer could not be read: {error}. {may_exist}"
    return f"{subject}The call to Tavus failed: {error}. {may_exist}"


def _unknown_id(error: TavusAPIError, kind: str) -> bool:
    return (
        error.status_code == 404
        or f"{kind}_id" in error.message.casefold()
        or "not found" in (error.message.casefold())
    )
