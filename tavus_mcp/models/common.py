"""What every request and answer model shares: the strict request base, the lenient answer base, whole-number
bounds, paging, path ids, query parameters and the webhook URL check.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
)


def _not_a_boolean(value: Any) -> Any:
    # pydantic would read true as 1: a boolean where a number belongs is a mistake to report, not to convert.
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {str(value).lower()}")
    return value


# Tavus documents no maximum for its counts and durations. 2^31 - 1 (68 years of seconds) is no limit a real
# call meets, while a larger number can only be a mistake, and one a 32-bit field would refuse or wrap.
MAX_WHOLE_NUMBER = 2**31 - 1


# The bound comes before the validator, so that the JSON schema shows it as `minimum`.
NonNegativeSeconds = Annotated[int, Field(ge=0, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)]


# Not blank: a name or id of spaces is as empty to Tavus as no name at all.
NonEmptyString = Annotated[str, Field(min_length=1, pattern=r"\S")]


MAX_URL_LENGTH = 2048


_URL_EXAMPLE = "such as 'https://example.com/tavus/webhook'"


def check_http_url(value: str) -> str:
    """Accept only an absolute http(s) URL with a host and a usable port, as Tavus needs for webhooks.

    Whitespace inside is refused rather than dropped (urlsplit drops line breaks and tabs, so the URL Tavus calls
    would not be the one written); surrounding whitespace is trimmed.
    """
    url = value.strip()
    shown = repr(url) if len(url) <= 80 else repr(url[:77] + "...")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"is {len(url)} characters long; a webhook URL can be at most {MAX_URL_LENGTH}")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError(
            f"{shown} contains a space, line break or control character; give the URL on one line, without "
            f"spaces (write a space in a path as %20), {_URL_EXAMPLE}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValueError(f"{shown} is not a valid URL ({exc}); give the full address, {_URL_EXAMPLE}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"{shown} is not an absolute http(s) URL; give the full address that receives the webhooks, {_URL_EXAMPLE}"
        )
    if not parts.hostname:
        raise ValueError(f"{shown} has no host name; give the full address, {_URL_EXAMPLE}")
    if port == 0:
        raise ValueError(f"{shown} has port 0, which nothing listens on; give a port from 1 to 65535 or none")
    return url


class ApiRequest(BaseModel):
    """A request body or query: unknown fields are mistakes, and are rejected.

    Unless the server's operator lets some through (TAVUS_PASSTHROUGH_FIELDS): those, split off before validation,
    ride along in `passthrough` and are sent as given.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    # Whether the request goes to Tavus as a JSON body or as query parameters.
    sent_as: ClassVar[Literal["body", "query"]] = "query"
    # Arguments of the tool that Tavus never sees: path parameters, the server's own options.
    not_sent: ClassVar[frozenset[str]] = frozenset()
    _passthrough: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def passthrough(self) -> dict[str, Any]:
        """Fields the server does not know, let through by its operator, nested as in the request."""
        return self._passthrough

    def with_passthrough(self, fields: dict[str, Any]) -> Self:
        copy = self.model_copy()
        copy._passthrough = fields
        return copy


def _merged(known: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`known` with `extra` merged in, level by level (extra never holds a known field, so nothing is replaced)."""
    merged = dict(known)
    for name, value in extra.items():
        inner = merged.get(name)
        merged[name] = _merged(inner, value) if isinstance(inner, dict) and isinstance(value, dict) else value
    return merged


class _Response(BaseModel):
    """An answer from Tavus: extra fields are kept, so a newer Tavus never breaks parsing."""

    model_config = ConfigDict(extra="allow")


PageLimit = Annotated[int, Field(ge=1, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)]


PageNumber = Annotated[int, Field(ge=1, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)]


_LIMIT_DESCRIPTION = "How many items per page: a whole number, at least 1 (Tavus's default is 10)."


_PAGE_DESCRIPTION = "Which page to return, from 1 (the default). The answer says how many pages there are."


def path_id(value: str, kind: str, example: str, source: str) -> str:
    """An id that can only ever be one path segment (a model-supplied id never reaches another endpoint)."""
    value = value.strip()
    if not value or not all(char.isascii() and (char.isalnum() or char in "-_") for char in value):
        raise ValueError(
            f"{value!r} is not a {kind} id: ids are letters, digits, '-' and '_', such as {example!r}. "
            f"Copy it from {source} result"
        )
    return value


def query_params(request: ApiRequest) -> dict[str, str | int | float]:
    """A request model as query parameters: only those given (and those let through), booleans as 'true'/'false'."""
    given = request.model_dump(exclude_none=True, exclude=set(request.not_sent))
    params: dict[str, str | int | float] = {}
    for name, value in {**given, **request.passthrough}.items():
        params[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return params
