"""Tavus over HTTP: one async client, one method per endpoint. Knows nothing of MCP.

Every failure leaves this module as a `tavus_mcp.errors.TavusError`; HTTP library exceptions never escape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, SecretStr, ValidationError

from tavus_mcp import __version__
from tavus_mcp.errors import (
    InvalidResponseError,
    MalformedApiKeyError,
    MissingApiKeyError,
    TavusConnectionError,
    TavusError,
    TavusTimeoutError,
    error_from_response,
)
from tavus_mcp.models import (
    Conversation,
    ConversationDetails,
    ConversationPage,
    GetConversationRequest,
    ListConversationsRequest,
    ListPersonasRequest,
    ListReplicasRequest,
    PersonaPage,
    ReplicaPage,
    query_params,
)

USER_AGENT = f"mcp-server-tavus/{__version__}"

# Bodies are read up to these sizes: a misbehaving gateway cannot make the server hold megabytes per call.
# A verbose conversation (with its transcript) is the largest legitimate answer.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=60)


class TavusClient:
    """An async client for the Tavus conversation API, sharing one connection pool across calls.

    Use it as an async context manager, or call `aclose()` when done.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        base_url: str,
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None = None,
        limits: httpx2.Limits = DEFAULT_LIMITS,
    ) -> None:
        self._has_key = api_key is not None
        # Kept only to scrub it from error bodies that echo it back.
        self._key = api_key.get_secret_value() if api_key is not None else ""
        self._key_is_sendable = api_key is None or is_sendable_key(api_key.get_secret_value())
        headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        if api_key is not None and self._key_is_sendable:
            headers["x-api-key"] = api_key.get_secret_value()
        self.base_url = base_url.rstrip("/")
        self._http = httpx2.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx2.Timeout(timeout),
            limits=limits,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"TavusClient(base_url={self.base_url!r}, api_key={'set' if self._has_key else 'missing'})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Conversations

    async def create_conversation(self, body: Mapping[str, Any]) -> Conversation:
        """POST /v2/conversations. `body` holds only the fields to send, already validated."""
        data = await self._request("POST", "/v2/conversations", json_body=dict(body))
        return _parse(Conversation, data, "POST /v2/conversations")

    async def get_conversation(self, request: GetConversationRequest) -> ConversationDetails:
        """GET /v2/conversations/{id}; with verbose, its events (transcript, shutdown reason...)."""
        path = f"/v2/conversations/{_segment(request.conversation_id)}"
        params = {"verbose": "true"} if request.verbose else None
        return _parse(ConversationDetails, await self._request("GET", path, params=params), f"GET {path}")

    async def list_conversations(self, request: ListConversationsRequest) -> ConversationPage:
        """GET /v2/conversations."""
        data = await self._request("GET", "/v2/conversations", params=query_params(request))
        return _parse(ConversationPage, data, "GET /v2/conversations")

    async def end_conversation(self, conversation_id: str) -> None:
        """POST /v2/conversations/{id}/end."""
        await self._request("POST", f"/v2/conversations/{_segment(conversation_id)}/end")

    async def delete_conversation(self, conversation_id: str, *, hard: bool = False) -> None:
        """DELETE /v2/conversations/{id}; `hard` deletes irreversibly."""
        params = {"hard": "true"} if hard else None
        await self._request("DELETE", f"/v2/conversations/{_segment(conversation_id)}", params=params)

    # Replicas and personas

    async def list_replicas(self, request: ListReplicasRequest) -> ReplicaPage:
        """GET /v2/replicas."""
        return _parse(
            ReplicaPage, await self._request("GET", "/v2/replicas", params=query_params(request)), "GET /v2/replicas"
        )

    async def list_personas(self, request: ListPersonasRequest) -> PersonaPage:
        """GET /v2/personas. Credentials inside persona layers are redacted on parsing."""
        return _parse(
            PersonaPage, await self._request("GET", "/v2/personas", params=query_params(request)), "GET /v2/personas"
        )

    # Plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """Send one request; the parsed JSON answer (None for an empty one), or a TavusError."""
        if not self._has_key:
            raise MissingApiKeyError()
        if not self._key_is_sendable:
            raise MalformedApiKeyError()
        where = f"{method} {path}"
        try:
            async with self._http.stream(method, path, json=json_body, params=params) as response:
                limit = MAX_ERROR_BODY_BYTES if response.status_code >= 300 else MAX_RESPONSE_BYTES
                raw, complete = await _read_capped(response, limit)
        except httpx2.HTTPError as exc:
            failure: TavusError | None = self._translate(exc, where)
        else:
            failure = None
        if failure is not None:
            # Raised outside the except block, so the HTTP library's exception (whose text may quote a header)
            # is not even kept as __context__.
            raise failure

        text = raw.decode("utf-8", errors="replace")
        if self._key and self._key in text:
            text = text.replace(self._key, "[redacted]")  # a proxy that echoes the request's headers
        if response.status_code >= 300:
            # Redirects are not followed (the key must not travel to another host): for the caller, an error.
            raise error_from_response(response, text)
        if not complete:
            raise InvalidResponseError(
                f"Tavus's answer to {where} is larger than {MAX_RESPONSE_BYTES} bytes", status_code=response.status_code
            )
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            excerpt = " ".join(text.split())[:120]
            raise InvalidResponseError(
                f"Tavus answered {where} with HTTP {response.status_code} but not with JSON: {excerpt!r}",
                status_code=response.status_code,
            ) from None

    def _translate(self, exc: httpx2.HTTPError, where: str) -> TavusError:
        """The TavusError for a failure of the HTTP library, and whether the request may have reached Tavus."""
        kind = type(exc).__name__
        if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
            return TavusTimeoutError(
                f"could not connect to Tavus at {self.base_url} within the timeout ({kind})",
                may_have_reached_tavus=False,
            )
        if isinstance(exc, httpx2.TimeoutException):
            return TavusTimeoutError(
                f"Tavus did not answer {where} within the timeout ({kind})", may_have_reached_tavus=True
            )
        if isinstance(exc, httpx2.ConnectError):
            return TavusConnectionError(f"could not connect to Tavus at {self.base_url}", may_have_reached_tavus=False)
        if isinstance(exc, httpx2.DecodingError):
            return InvalidResponseError(
                f"Tavus's answer to {where} could not be decoded (its Content-Encoding does not match its body)",
                status_code=0,
            )
        return TavusConnectionError(
            f"the connection to Tavus broke during {where} ({kind})", may_have_reached_tavus=True
        )


async def _read_capped(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether that is all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def is_sendable_key(key: str) -> bool:
    """Whether a key can travel in an HTTP header: printable ASCII, no spaces or line breaks."""
    return bool(key) and key.isascii() and key.isprintable() and " " not in key


def _segment(identifier: str) -> str:
    """An id as one path segment: a model-supplied id can never reach another endpoint ('../replicas')."""
    return quote(identifier, safe="")


def _parse(model: type[ModelT], data: Any, where: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()[:3]
        )
        raise InvalidResponseError(
            f"Tavus answered {where} with a body of an unexpected shape ({problems})", status_code=200
        ) from None
