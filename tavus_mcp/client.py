"""Tavus over HTTP: one async client, one method per endpoint. Knows nothing of MCP.

Every failure leaves this module as a `tavus_mcp.errors.TavusError`; HTTP library exceptions never escape.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import os
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import anyio
import httpx2
from pydantic import BaseModel, SecretStr, ValidationError

from tavus_mcp import __version__
from tavus_mcp.config import ConfigError, Settings, is_sendable_key
from tavus_mcp.errors import (
    InvalidResponseError,
    MalformedApiKeyError,
    MissingApiKeyError,
    RateLimitError,
    ServerError,
    TavusConnectionError,
    TavusError,
    TavusTimeoutError,
    UnexpectedStatusError,
    error_from_response,
)
from tavus_mcp.models.common import query_params
from tavus_mcp.models.conversations import (
    Conversation,
    ConversationDetails,
    ConversationPage,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
)
from tavus_mcp.models.documents import (
    CreateDocumentRequest,
    DeleteDocumentRequest,
    Document,
    DocumentPage,
    DocumentRef,
    ListDocumentsRequest,
    UpdateDocumentRequest,
)
from tavus_mcp.models.guardrails import (
    CreateGuardrailsRequest,
    GuardrailsPage,
    GuardrailsRef,
    GuardrailsSet,
    ListGuardrailsRequest,
    UpdateGuardrailsRequest,
)
from tavus_mcp.models.objectives import (
    CreateObjectivesRequest,
    ListObjectivesRequest,
    ObjectivesPage,
    ObjectivesRef,
    ObjectivesSet,
    UpdateObjectivesRequest,
)
from tavus_mcp.models.patches import UpdatePersonaRequest
from tavus_mcp.models.personas import DeletePersonaRequest, GetPersonaRequest, ListPersonasRequest, Persona, PersonaPage
from tavus_mcp.models.replicas import ListReplicasRequest, ReplicaPage
from tavus_mcp.redaction import Scrubber, public_url, register_secrets, url_secrets

logger = logging.getLogger("tavus_mcp.client")

USER_AGENT = f"mcp-server-tavus/{__version__}"

# Bodies are read up to these sizes: a misbehaving gateway cannot make the server hold megabytes per call.
# A verbose conversation (with its transcript) is the largest legitimate answer.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024

ModelT = TypeVar("ModelT", bound=BaseModel)

# Retries: exponential backoff with jitter, a cap on how long a Retry-After may make a call wait.
BASE_BACKOFF = 0.25
MAX_BACKOFF = 4.0
MAX_RETRY_AFTER = 10.0
RETRIED_STATUSES = frozenset({502, 503, 504})

# The variables httpx2 reads a proxy from (trust_env), in either case.
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


@dataclass
class CallTrace:
    """What the requests of one tool call did, for its log line: the last HTTP status and how many attempts."""

    status: int | None = None
    attempts: int = 0


def sandboxed(settings: Settings) -> tuple[Settings, httpx2.AsyncBaseTransport]:
    """These settings pointed at a new in-process emulator of Tavus, and the transport that reaches it."""
    from tavus_mcp.sandbox.accounts import SandboxAccounts
    from tavus_mcp.sandbox.emulator import IN_PROCESS_BASE_URL, SANDBOX_API_KEY

    # Its calls play themselves through (replica joins, a short exchange, transcript) in sandbox_call_seconds, its
    # documents are ready in sandbox_document_seconds. One account per key: each user of a sandboxed team server has
    # their own (`tavus_mcp.team_sandbox`).
    transport = httpx2.ASGITransport(
        app=SandboxAccounts(
            call_seconds=settings.sandbox_call_seconds, document_seconds=settings.sandbox_document_seconds
        )
    )
    settings = replace(settings, api_key=SecretStr(SANDBOX_API_KEY), base_url=IN_PROCESS_BASE_URL, sandbox=True)
    return settings, transport


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx2's default TLS context (the CA bundle it trusts, and SSL_CERT_FILE or SSL_CERT_DIR when set), made once
    per process and shared: loading the bundle takes about 30 ms, which every client made would pay again."""
    return httpx2.create_ssl_context(trust_env=True)


def connection_limits(max_connections: int) -> httpx2.Limits:
    """At most `max_connections` to Tavus, idle ones all kept for a minute: a burst of calls after a quiet spell
    would otherwise pay a TCP and TLS handshake for most of its calls."""
    return httpx2.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=60
    )


def proxy_secrets(environ: Mapping[str, str]) -> list[str]:
    """The passwords (and user names) in the proxy variables httpx2 reads."""
    return [secret for name in PROXY_VARIABLES for secret in url_secrets(_proxy_url(environ.get(name, "")))]


def _proxy_url(value: str) -> str:
    value = value.strip()
    return value if "://" in value or not value else f"http://{value}"  # as httpx2 reads a bare host:port


def check_proxy_environment(environ: Mapping[str, str]) -> None:
    """Raises ConfigError naming the proxy variable that httpx2 cannot use (an unknown scheme, SOCKS without its
    extra), so that the server refuses to start rather than fail on every call. The value is not repeated: a proxy
    URL can hold a password."""
    register_secrets(*proxy_secrets(environ))
    for name in PROXY_VARIABLES:
        url = _proxy_url(environ.get(name, ""))
        if not url:
            continue
        try:
            httpx2.AsyncHTTPTransport(proxy=url)
        except (ValueError, ImportError, TypeError) as exc:
            scheme = url.split("://", 1)[0]
            why = "needs the socksio package (pip install socksio)" if isinstance(exc, ImportError) else "is not usable"
            raise ConfigError(
                f"{name} names a proxy that {why} (scheme {scheme!r}); use http://HOST:PORT or https://HOST:PORT, "
                f"or unset {name}"
            ) from None


class TavusClient:
    """An async client for the Tavus conversation API: one `httpx2.AsyncClient`, its connections shared by every
    call of the process.

    `traced(trace)` gives a view of the same client that records what one tool call's requests did. Use it as an
    async context manager, or call `aclose()` when done.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        base_url: str,
        timeout: float,
        connect_timeout: float = 10.0,
        max_retries: int = 2,
        max_connections: int = 100,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.trace: CallTrace | None = None
        # Kept to know whether there is one, and to scrub it from answers that echo it back.
        self._key = api_key.get_secret_value() if api_key is not None else ""
        self._key_is_sendable = api_key is None or is_sendable_key(self._key)
        # Sent with each request in place of the default header: set by `traced` for a view with another key.
        self._key_header: dict[str, str] | None = None
        headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        if api_key is not None and self._key_is_sendable:
            headers["x-api-key"] = self._key
        base_url = base_url.rstrip("/")
        # Every secret this client sends (the key, a password in the base URL or a proxy URL) is scrubbed from
        # what comes back, and registered so that log lines and tool results never hold it either.
        self._scrub = Scrubber([self._key, *url_secrets(base_url), *proxy_secrets(os.environ)])
        register_secrets(*self._scrub.secrets)
        # The scrubber of each other key a view sends (a team's users), built once and shared by every view.
        self._scrubbers: dict[str, Scrubber] = {}
        # The URL requests go to keeps its userinfo (httpx2 sends it as Basic auth); messages show it without.
        self.base_url = public_url(base_url)
        self._http = httpx2.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=httpx2.Timeout(timeout, connect=connect_timeout),
            limits=connection_limits(max_connections),
            # Never: the key must not travel to another host, and a redirected create would be sent twice.
            follow_redirects=False,
            transport=transport,
            verify=_tls_context(),
            # HTTP(S)_PROXY, ALL_PROXY and NO_PROXY, as httpx2 reads them (check_proxy_environment vets them first).
            trust_env=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None) -> TavusClient:
        """The client for these settings (one per process: it holds the connection pool)."""
        return cls(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
            max_retries=settings.max_retries,
            max_connections=settings.max_connections,
            transport=transport,
        )

    def traced(self, trace: CallTrace | None, *, api_key: SecretStr | None = None) -> TavusClient:
        """This client, sharing its connections, recording its requests' status and attempts in `trace`.

        With `api_key`, the view's requests send that key instead of the client's own (one user's calls on a team
        server): a per-request header over the same connections, scrubbed from error bodies like the main key.
        """
        view = copy.copy(self)
        view.trace = trace
        if api_key is not None:
            view._key = api_key.get_secret_value()
            view._key_is_sendable = is_sendable_key(view._key)
            view._key_header = {"x-api-key": view._key} if view._key_is_sendable else None
            scrub = self._scrubbers.get(view._key)
            if scrub is None:
                scrub = self._scrubbers[view._key] = Scrubber(self._scrub.secrets | {view._key})
                register_secrets(view._key)
            view._scrub = scrub
        return view

    def __repr__(self) -> str:
        return f"TavusClient(base_url={self.base_url!r}, api_key={'set' if self._key else 'missing'})"

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
        data = await self._request("POST", "/v2/conversations", json_body=dict(body), idempotent=False)
        return _parse(Conversation, data, "POST /v2/conversations")

    async def get_conversation(self, request: GetConversationRequest) -> ConversationDetails:
        """GET /v2/conversations/{id}; with verbose, its events (transcript, shutdown reason...)."""
        path = f"/v2/conversations/{_segment(request.conversation_id)}"
        return _parse(
            ConversationDetails, await self._request("GET", path, params=query_params(request)), f"GET {path}"
        )

    async def list_conversations(self, request: ListConversationsRequest) -> ConversationPage:
        """GET /v2/conversations."""
        data = await self._request("GET", "/v2/conversations", params=query_params(request))
        return _parse(ConversationPage, data, "GET /v2/conversations")

    async def end_conversation(self, request: EndConversationRequest) -> None:
        """POST /v2/conversations/{id}/end."""
        path = f"/v2/conversations/{_segment(request.conversation_id)}/end"
        await self._request("POST", path, params=query_params(request))

    async def delete_conversation(self, request: DeleteConversationRequest) -> None:
        """DELETE /v2/conversations/{id}; `hard` deletes irreversibly."""
        path = f"/v2/conversations/{_segment(request.conversation_id)}"
        await self._request("DELETE", path, params=query_params(request))

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

    async def create_persona(self, body: Mapping[str, Any]) -> Persona:
        """POST /v2/personas. `body` holds only the fields to send, already validated; the answer, redacted."""
        data = await self._request("POST", "/v2/personas", json_body=dict(body), idempotent=False)
        return _parse(Persona, data, "POST /v2/personas")

    async def get_persona(self, request: GetPersonaRequest) -> Persona:
        """GET /v2/personas/{id}, redacted. The reference wraps the persona in `data`, a list of one."""
        path = f"/v2/personas/{_segment(request.persona_id)}"
        data = await self._request("GET", path, params=query_params(request))
        if isinstance(data, dict) and isinstance(data.get("data"), list) and "persona_id" not in data:
            if len(data["data"]) != 1:
                raise InvalidResponseError(
                    f"Tavus answered GET {path} with {len(data['data'])} personas instead of one", status_code=200
                )
            data = data["data"][0]
        return _parse(Persona, data, f"GET {path}")

    async def update_persona(self, request: UpdatePersonaRequest) -> bool:
        """PATCH /v2/personas/{id} with the request's JSON Patch. False when Tavus made no change (HTTP 304)."""
        return await self._patch(f"/v2/personas/{_segment(request.persona_id)}", request)

    async def delete_persona(self, request: DeletePersonaRequest) -> None:
        """DELETE /v2/personas/{id}."""
        path = f"/v2/personas/{_segment(request.persona_id)}"
        await self._request("DELETE", path, params=query_params(request))

    # Documents, objectives and guardrails: what a persona or a call draws on (none of it is billed)

    async def create_document(self, request: CreateDocumentRequest) -> Document:
        """POST /v2/documents: Tavus starts reading the document, and answers at once."""
        data = await self._request("POST", "/v2/documents", json_body=request.to_body(), idempotent=False)
        return _parse(Document, data, "POST /v2/documents")

    async def get_document(self, request: DocumentRef) -> Document:
        """GET /v2/documents/{id}."""
        path = f"/v2/documents/{_segment(request.document_id)}"
        return _parse(Document, await self._request("GET", path, params=query_params(request)), f"GET {path}")

    async def list_documents(self, request: ListDocumentsRequest) -> DocumentPage:
        """GET /v2/documents (pages from 0)."""
        data = await self._request("GET", "/v2/documents", params=query_params(request))
        return _parse(DocumentPage, data, "GET /v2/documents")

    async def update_document(self, request: UpdateDocumentRequest) -> Document:
        """PATCH /v2/documents/{id} with a new name or tags (setting them twice sets them once)."""
        path = f"/v2/documents/{_segment(request.document_id)}"
        return _parse(Document, await self._request("PATCH", path, json_body=request.to_body()), f"PATCH {path}")

    async def delete_document(self, request: DeleteDocumentRequest) -> None:
        """DELETE /v2/documents/{id}."""
        await self._request("DELETE", f"/v2/documents/{_segment(request.document_id)}", params=query_params(request))

    async def create_objectives(self, request: CreateObjectivesRequest) -> ObjectivesSet:
        """POST /v2/objectives."""
        data = await self._request("POST", "/v2/objectives", json_body=request.to_body(), idempotent=False)
        return _parse(ObjectivesSet, data, "POST /v2/objectives")

    async def get_objectives(self, request: ObjectivesRef) -> ObjectivesSet:
        """GET /v2/objectives/{id}, as a set whatever shape Tavus gives it."""
        path = f"/v2/objectives/{_segment(request.objectives_id)}"
        data = _one_set(
            await self._request("GET", path, params=query_params(request)), "objectives_id", request.objectives_id
        )
        return _parse(ObjectivesSet, data, f"GET {path}")

    async def list_objectives(self, request: ListObjectivesRequest) -> ObjectivesPage:
        """GET /v2/objectives."""
        data = await self._request("GET", "/v2/objectives", params=query_params(request))
        return _parse(ObjectivesPage, data, "GET /v2/objectives")

    async def update_objectives(self, request: UpdateObjectivesRequest) -> bool:
        """PATCH /v2/objectives/{id} with the request's JSON Patch. False when Tavus made no change (HTTP 304)."""
        return await self._patch(f"/v2/objectives/{_segment(request.objectives_id)}", request)

    async def delete_objectives(self, request: ObjectivesRef) -> None:
        """DELETE /v2/objectives/{id}."""
        await self._request("DELETE", f"/v2/objectives/{_segment(request.objectives_id)}", params=query_params(request))

    async def create_guardrails(self, request: CreateGuardrailsRequest) -> GuardrailsSet:
        """POST /v2/guardrails."""
        data = await self._request("POST", "/v2/guardrails", json_body=request.to_body(), idempotent=False)
        return _parse(GuardrailsSet, data, "POST /v2/guardrails")

    async def get_guardrails(self, request: GuardrailsRef) -> GuardrailsSet:
        """GET /v2/guardrails/{id}, as a set whatever shape Tavus gives it."""
        path = f"/v2/guardrails/{_segment(request.guardrails_id)}"
        data = _one_set(
            await self._request("GET", path, params=query_params(request)), "guardrails_id", request.guardrails_id
        )
        return _parse(GuardrailsSet, data, f"GET {path}")

    async def list_guardrails(self, request: ListGuardrailsRequest) -> GuardrailsPage:
        """GET /v2/guardrails."""
        data = await self._request("GET", "/v2/guardrails", params=query_params(request))
        return _parse(GuardrailsPage, data, "GET /v2/guardrails")

    async def update_guardrails(self, request: UpdateGuardrailsRequest) -> bool:
        """PATCH /v2/guardrails/{id} with the request's JSON Patch. False when Tavus made no change (HTTP 304)."""
        return await self._patch(f"/v2/guardrails/{_segment(request.guardrails_id)}", request)

    async def delete_guardrails(self, request: GuardrailsRef) -> None:
        """DELETE /v2/guardrails/{id}."""
        await self._request("DELETE", f"/v2/guardrails/{_segment(request.guardrails_id)}", params=query_params(request))

    async def _patch(
        self, path: str, request: UpdatePersonaRequest | UpdateObjectivesRequest | UpdateGuardrailsRequest
    ) -> bool:
        """PATCH the request's JSON Patch; False when Tavus made no change (HTTP 304)."""
        try:
            # Not repeated when it may have reached Tavus: adding to a list twice adds twice.
            await self._request(
                "PATCH", path, json_body=request.to_body(), params=query_params(request), idempotent=False
            )
        except UnexpectedStatusError as error:
            if error.status_code == 304:
                return False
            raise
        return True

    # Plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int | float] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one request, retrying what is safe to retry, within `timeout` in all; the parsed JSON answer.

        A request that is not idempotent (creating a conversation) is repeated only when it certainly did not
        reach Tavus: the connection was never made, or Tavus answered 429. Anything else could mean Tavus acted.
        A request still waiting when the process stops (`stop_calls_by`) is cut off with an error saying so.
        """
        if not self._key:
            raise MissingApiKeyError()
        if not self._key_is_sendable:
            raise MalformedApiKeyError()
        progress = _Progress()
        with anyio.CancelScope(deadline=_stopping.deadline) as scope:
            _stopping.scopes.add(scope)
            try:
                return await self._send(method, path, json_body, params, idempotent, progress)
            finally:
                _stopping.scopes.discard(scope)
        # Only the stop deadline's own cancellation gets here: anything else propagates.
        raise TavusConnectionError(
            f"this server is stopping, and Tavus had not answered {method} {path} before it had to",
            may_have_reached_tavus=progress.may_have_reached_tavus,
        )

    async def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str | int | float] | None,
        idempotent: bool,
        progress: _Progress,
    ) -> Any:
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            attempt += 1
            if self.trace is not None:
                self.trace.attempts += 1
            remaining = deadline - time.monotonic()
            progress.may_have_reached_tavus = True
            try:
                return await self._attempt(method, path, json_body, params, remaining)
            except TavusError as error:
                # Between attempts, only what the failed ones may have done counts.
                progress.reached_before |= error.may_have_reached_tavus
                progress.may_have_reached_tavus = progress.reached_before
                wait = _retry_delay(error, attempt, idempotent=idempotent)
                if wait is None or attempt > self.max_retries or wait >= deadline - time.monotonic() - 0.05:
                    raise
                logger.info(
                    "retrying %s %s in %.2f s after %s (attempt %d of %d)",
                    method,
                    path,
                    wait,
                    type(error).__name__,
                    attempt,
                    self.max_retries + 1,
                )
                await anyio.sleep(wait)

    async def _attempt(
        self, method: str, path: str, json_body: Any, params: Mapping[str, str | int | float] | None, budget: float
    ) -> Any:
        where = f"{method} {path}"
        timeout = httpx2.Timeout(budget, connect=min(self.connect_timeout, budget))
        try:
            # fail_after bounds the whole exchange: a Tavus that trickles bytes cannot stretch a call past its budget.
            with anyio.fail_after(budget):
                async with self._http.stream(
                    method, path, params=params, json=json_body, headers=self._key_header, timeout=timeout
                ) as response:
                    if self.trace is not None:
                        self.trace.status = response.status_code
                    limit = MAX_ERROR_BODY_BYTES if response.status_code >= 300 else MAX_RESPONSE_BYTES
                    raw, complete = await _read_capped(response, limit)
        except httpx2.HTTPError as exc:
            failure: TavusError | None = self._translate(exc, where)
        except TimeoutError:
            failure = TavusTimeoutError(f"Tavus did not answer {where} within the timeout", may_have_reached_tavus=True)
        else:
            failure = None
        if failure is not None:
            # Raised outside the except block, so the HTTP library's exception (whose text may quote a header)
            # is not even kept as __context__.
            raise failure

        # Scrubbed before anything reads it: a proxy or gateway that echoes the request's headers, in any encoding.
        text = raw.decode("utf-8", errors="replace")
        text = self._scrub(text) if complete else self._scrub.cut(text)
        if response.status_code >= 300:
            # Redirects are not followed (the key must not travel to another host): for the caller, an error.
            raise error_from_response(response, text, scrub=self._scrub)
        if not complete:
            raise InvalidResponseError(
                f"Tavus's answer to {where} is larger than {MAX_RESPONSE_BYTES} bytes", status_code=response.status_code
            )
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python parses
            excerpt = " ".join(text[:1000].split())[:120]
            raise InvalidResponseError(
                f"Tavus answered {where} with HTTP {response.status_code} but not with JSON: {excerpt!r}",
                status_code=response.status_code,
            ) from None

    def _translate(self, exc: httpx2.HTTPError, where: str) -> TavusError:
        """The TavusError for a failure of the HTTP library, and whether the request may have reached Tavus."""
        kind = type(exc).__name__
        if isinstance(exc, httpx2.PoolTimeout):
            # Every connection stayed busy for the whole time budget: the request was never sent.
            return TavusTimeoutError(
                f"could not connect to Tavus at {self.base_url} within the timeout ({kind})",
                may_have_reached_tavus=False,
                pool_exhausted=True,
            )
        if isinstance(exc, httpx2.ConnectTimeout):
            return TavusTimeoutError(
                f"could not connect to Tavus at {self.base_url} within the timeout ({kind})",
                may_have_reached_tavus=False,
            )
        if isinstance(exc, httpx2.TimeoutException):
            return TavusTimeoutError(
                f"Tavus did not answer {where} within the timeout ({kind})", may_have_reached_tavus=True
            )
        if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError | httpx2.UnsupportedProtocol):
            return TavusConnectionError(f"could not connect to Tavus at {self.base_url}", may_have_reached_tavus=False)
        if isinstance(exc, httpx2.DecodingError):
            return InvalidResponseError(
                f"Tavus's answer to {where} could not be decoded (its Content-Encoding does not match its body)",
                status_code=0,
            )
        return TavusConnectionError(
            f"the connection to Tavus broke during {where} ({kind})", may_have_reached_tavus=True
        )


@dataclass
class _Progress:
    """Whether a request may have reached Tavus so far (an attempt in flight may have): what the model is told
    when the call is cut off."""

    may_have_reached_tavus: bool = False
    # Whether one of the attempts that already failed may have.
    reached_before: bool = False


@dataclass
class _Stopping:
    """Process-wide: the deadline (anyio's clock) by which calls to Tavus still waiting are cut off, once the
    process is stopping, and the cancel scopes of those in flight."""

    deadline: float = math.inf
    scopes: set[anyio.CancelScope] = field(default_factory=set)


_stopping = _Stopping()


def stop_calls_by(deadline: float) -> None:
    """Cut off every call to Tavus still waiting at `deadline` (anyio's clock, `anyio.current_time()`), and any
    started later: the process is stopping. Each ends in a TavusConnectionError that says so, and whether the
    request may have reached Tavus, instead of being cancelled without an answer."""
    _stopping.deadline = min(_stopping.deadline, deadline)
    for scope in list(_stopping.scopes):
        scope.deadline = min(scope.deadline, deadline)


def stopping() -> bool:
    """Whether the process is stopping (`stop_calls_by` was called)."""
    return _stopping.deadline < math.inf


async def sleep_unless_stopping(seconds: float) -> bool:
    """Sleep for `seconds`, or less if the process's deadline for calls (`stop_calls_by`) comes first: whether the
    whole time was slept. Lets a call that waits between requests to Tavus end with an answer before it is cut."""
    with anyio.CancelScope(deadline=_stopping.deadline) as scope:
        _stopping.scopes.add(scope)
        try:
            await anyio.sleep(seconds)
        finally:
            _stopping.scopes.discard(scope)
    return not scope.cancelled_caught


def _retry_delay(error: TavusError, attempt: int, *, idempotent: bool) -> float | None:
    """How long to wait before repeating a failed request, or None when it must not be repeated."""
    if isinstance(error, RateLimitError):
        # Tavus refused before acting, so even a create is safe to repeat, when Tavus says when. Asked to wait
        # longer than is reasonable inside a tool call, give up and let the caller say how long to wait.
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
    elif isinstance(error, TavusConnectionError):
        if not idempotent and error.may_have_reached_tavus:
            return None
    elif not (isinstance(error, ServerError) and idempotent and error.status_code in RETRIED_STATUSES):
        return None
    elif error.retry_after is not None:
        # A 503 that says when to come back: then, not sooner (nor much later than a tool call can wait).
        return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
    backoff: float = min(MAX_BACKOFF, BASE_BACKOFF * 2.0 ** (attempt - 1))
    return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography


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


def _segment(identifier: str) -> str:
    """An id as one path segment: a model-supplied id can never reach another endpoint ('../replicas')."""
    segment = quote(identifier, safe="")
    # "." and ".." are dot-segments, which the URL resolves (RFC 3986 5.2.4): ".." would reach the parent endpoint.
    return segment.replace(".", "%2E") if not segment.strip(".") else segment


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


def _one_set(data: Any, id_field: str, identifier: str) -> Any:
    """A set of objectives or guardrails from GET, in whichever shape Tavus wraps it: the set inside `data`, the set
    itself, or (as the reference shows it) one item inside `data`, read as a set of one."""
    inner = data.get("data") if isinstance(data, dict) and id_field not in data else data
    if isinstance(inner, list):
        inner = {"data": inner}
    if isinstance(inner, dict) and not isinstance(inner.get("data"), list):
        times = {key: inner[key] for key in ("created_at", "updated_at") if key in inner}
        items = {key: value for key, value in inner.items() if key not in times and key != id_field}
        inner = {**times, "data": [items] if items else []}
    if isinstance(inner, dict):
        inner.setdefault(id_field, identifier)
    return inner
