"""One exception class per kind of failure talking to Tavus, built once from the HTTP response.

The client raises these and nothing else; the server turns each into a tool error a model can act on.
No exception here ever holds the API key: they are built from Tavus's answer and the request's method and path.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from tavus_mcp.redaction import public_url, redact_text

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConcurrencyLimitError",
    "InvalidResponseError",
    "MalformedApiKeyError",
    "MissingApiKeyError",
    "NotFoundError",
    "OutOfCreditsError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TavusAPIError",
    "TavusConnectionError",
    "TavusError",
    "TavusTimeoutError",
    "UnexpectedStatusError",
    "error_from_response",
]

# How much of a non-JSON error body (an HTML gateway page, say) is kept for the message.
_BODY_EXCERPT = 200
# The longest message from Tavus passed on: its own messages are a sentence; anything longer is not one.
MAX_MESSAGE_CHARS = 500
# The longest header value (a redirect's Location, a reason phrase) quoted in a message.
_HEADER_EXCERPT = 200


class TavusError(Exception):
    """Base of every failure to get an answer from Tavus."""

    #: Whether the request may have reached Tavus and taken effect: False only when it certainly did not.
    may_have_reached_tavus: bool = True


class MissingApiKeyError(TavusError):
    """No API key is configured, so nothing was sent."""

    may_have_reached_tavus = False

    def __init__(self) -> None:
        super().__init__("no Tavus API key is configured")


class MalformedApiKeyError(TavusError):
    """The configured key cannot be sent in an HTTP header (a pasted curly quote, a line break...)."""

    may_have_reached_tavus = False

    def __init__(self) -> None:
        super().__init__("the Tavus API key contains characters that cannot be sent in an HTTP header")


class TavusConnectionError(TavusError):
    """Tavus could not be reached, or the connection broke before an answer came."""

    def __init__(self, message: str, *, may_have_reached_tavus: bool) -> None:
        super().__init__(message)
        self.may_have_reached_tavus = may_have_reached_tavus


class TavusTimeoutError(TavusConnectionError):
    """Tavus did not answer within the configured timeout."""

    def __init__(self, message: str, *, may_have_reached_tavus: bool, pool_exhausted: bool = False) -> None:
        super().__init__(message, may_have_reached_tavus=may_have_reached_tavus)
        #: Every connection of the pool was busy: the request waited for one and was never sent.
        self.pool_exhausted = pool_exhausted


class InvalidResponseError(TavusError):
    """Tavus answered with success but with a body this client cannot read."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class TavusAPIError(TavusError):
    """Tavus answered with an error status."""

    def __init__(self, message: str, *, status_code: int, body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        # Read from args, so that scrubbing an error's args (redaction.Scrubber.scrubbing_errors) scrubs it too.
        return str(self.args[0]) if self.args else ""


class BadRequestError(TavusAPIError):
    """400: Tavus refused the request; its message says why."""

    may_have_reached_tavus = False


class ConcurrencyLimitError(BadRequestError):
    """400: the account already has as many active conversations as its plan allows."""


class AuthenticationError(TavusAPIError):
    """401: the API key is missing or invalid."""

    may_have_reached_tavus = False


class OutOfCreditsError(TavusAPIError):
    """402: the account has no conversational credits left."""

    may_have_reached_tavus = False


class PermissionDeniedError(TavusAPIError):
    """403: the key may not do this (keys can be restricted to allowed IP addresses)."""

    may_have_reached_tavus = False


class NotFoundError(TavusAPIError):
    """404: no such resource."""

    may_have_reached_tavus = False


class RateLimitError(TavusAPIError):
    """429: too many requests; `retry_after` says how long to wait, when Tavus said."""

    may_have_reached_tavus = False


class ServerError(TavusAPIError):
    """5xx: Tavus or a gateway in front of it failed; the request may or may not have taken effect."""


class UnexpectedStatusError(TavusAPIError):
    """Any other status."""


def _excerpt(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters of it."""
    return " ".join(text.split())[:limit]


def _message_from_body(body: Any, text: str) -> str:
    """Tavus puts its message under `error` or under `message` depending on the endpoint: read both."""
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _excerpt(value, MAX_MESSAGE_CHARS)
            if isinstance(value, dict | list) and value:
                return _excerpt(json.dumps(value), _BODY_EXCERPT)
    return _excerpt(text, _BODY_EXCERPT)


def _retry_after(response: httpx2.Response) -> float | None:
    """Retry-After in seconds from now, given as seconds or as an HTTP date; None if absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return seconds if 0 <= seconds < math.inf else None


def _is_concurrency_limit(message: str) -> bool:
    # The wording has changed over time ("maximum concurrent conversations", "concurrency limit").
    lowered = message.casefold()
    return "concurren" in lowered


def error_from_response(
    response: httpx2.Response, text: str, *, scrub: Callable[[str], str] = lambda text: text
) -> TavusAPIError:
    """The exception for an error answer from Tavus. `text` is the body as read (possibly truncated), already
    scrubbed; `scrub` removes secrets from the headers quoted (a redirect's Location, the reason phrase)."""
    status = response.status_code
    try:
        body: Any = json.loads(text) if text else None
    except (ValueError, RecursionError):
        body = None
    reason = _excerpt(scrub(response.reason_phrase), _HEADER_EXCERPT)
    message = _message_from_body(body, text) or reason or f"HTTP {status}"
    if 300 <= status < 400 and "location" in response.headers:
        # A Location can carry credentials in its userinfo or its query: neither is shown.
        location = redact_text(public_url(scrub(response.headers["location"])))
        message = f"to {_excerpt(location, _HEADER_EXCERPT)}"
    kwargs: dict[str, Any] = {"status_code": status, "body": body}
    if status == 400:
        if _is_concurrency_limit(message):
            return ConcurrencyLimitError(message, **kwargs)
        return BadRequestError(message, **kwargs)
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 402:
        return OutOfCreditsError(message, **kwargs)
    if status == 403:
        return PermissionDeniedError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 429:
        if _is_concurrency_limit(message):
            return ConcurrencyLimitError(message, **kwargs)
        return RateLimitError(message, retry_after=_retry_after(response), **kwargs)
    if status >= 500:
        return ServerError(message, retry_after=_retry_after(response), **kwargs)
    return UnexpectedStatusError(message, **kwargs)
