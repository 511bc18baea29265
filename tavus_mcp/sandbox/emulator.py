"""An in-memory emulator of the Tavus conversation API (the "sandbox"), so the server runs and is tested with no key
and no network.

It follows Tavus's current API reference (the OpenAPI document Tavus publishes, and the notes kept beside it): the
same paths, query parameters, validation, status codes, error bodies and answer fields, a few stock replicas and
personas, and join URLs that say "sandbox". Its rules are its own, written from those documents and never taken from
the server's models, so it catches what the server should have refused: every request that breaks the API's schema
is recorded in `schema_violations`. It also records every request it receives (`received`). The field tables
(`tavus_mcp.sandbox.reference`) are checked against the OpenAPI document by tests/test_openapi.py.

Serve it in-process through `httpx2.ASGITransport(app=emulator.app)`, or over HTTP with `serve_forever`.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tavus_mcp.sandbox.calls import _event, _now, after_the_call, play
from tavus_mcp.sandbox.checks import (
    ApiError,
    _bad_request,
    _check_create_rules,
    _check_fields,
    _check_patch,
    _check_persona,
    _check_query,
    _check_recording_storage,
    _paging,
    _query_bool,
)
from tavus_mcp.sandbox.reference import (
    BODY_FIELDS,
    CONVERSATION_FIELDS,
    CREATED_FIELDS,
    CREATED_PERSONA_FIELDS,
    PERSONA_BODY_FIELDS,
    PERSONA_FIELDS,
    PROPERTY_FIELDS,
    QUERY_PARAMETERS,
    RECORDING_STORAGE_FIELDS,
)

# The key the sandbox accepts. Obviously not a real Tavus key (those are 32 hex digits).
SANDBOX_API_KEY = "sandbox-key-not-a-real-tavus-key"


# The base URL used when the emulator is served in-process; `.invalid` can never resolve to a real host.
IN_PROCESS_BASE_URL = "https://tavus-sandbox.invalid"


DEFAULT_MAX_CONCURRENT = 3


def _stock_replicas() -> list[dict[str, Any]]:
    created = "2025-01-15T10:00:00.000Z"
    return [
        {"replica_id": "rfe12d8b9597", "replica_name": "Anna", "replica_type": "system", "status": "completed",
         "training_progress": "100/100", "model_name": "phoenix-3", "created_at": created},
        {"replica_id": "r79e1c033f", "replica_name": "Charlie", "replica_type": "system", "status": "completed",
         "training_progress": "100/100", "model_name": "phoenix-4", "created_at": created},
        {"replica_id": "r4c41453d2", "replica_name": "Hassaan", "replica_type": "user", "status": "completed",
         "training_progress": "100/100", "model_name": "phoenix-4", "created_at": created},
        {"replica_id": "r9d30b0e55a", "replica_name": "Rose", "replica_type": "user", "status": "started",
         "training_progress": "40/100", "model_name": "phoenix-4", "created_at": created},
    ]  # fmt: skip


def _stock_personas() -> list[dict[str, Any]]:
    """The stock personas, as the API shows them, plus `persona_type`, which it filters by but does not show."""
    created = "2025-02-01T09:30:00.000Z"
    return [
        {
            "persona_id": "p9a95912",
            "persona_name": "Sales Coach",
            "persona_type": "user",
            "system_prompt": "You are a demanding but fair sales coach who plays difficult prospects.",
            "default_replica_id": "rfe12d8b9597",
            "document_ids": [],
            "document_tags": ["sales"],
            # Third-party keys live in layers: the server must never pass these on to a model.
            "layers": {
                "llm": {"model": "tavus-gpt-4o", "api_key": "sk-sandbox-llm-secret-0001"},
                "tts": {"tts_engine": "cartesia", "api_key": "sandbox-tts-secret-0002", "external_voice_id": "v1"},
                "perception": {"perception_model": "raven-1"},
            },
            "created_at": created,
            "updated_at": created,
        },
        {
            "persona_id": "pdced222244b",
            "persona_name": "Interviewer",
            "persona_type": "system",
            "system_prompt": "You are a friendly job interviewer.",
            "document_ids": [],
            "document_tags": [],
            "layers": {"llm": {"model": "tavus-llama"}},
            "created_at": created,
            "updated_at": created,
        },
        {
            "persona_id": "p5317866",
            "persona_name": "Tavus Researcher",
            "persona_type": "system",
            "system_prompt": "You are a curious researcher who interviews users about their work.",
            "default_replica_id": "r79e1c033f",
            "document_ids": [],
            "document_tags": [],
            "layers": {},
            "created_at": created,
            "updated_at": created,
        },
    ]


@dataclass
class ReceivedRequest:
    """One request as the emulator received it (the API key is reduced to whether it was accepted)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool
    user_agent: str | None


Handler = Callable[[Request, Any], Awaitable[Response]]


class TavusEmulator:
    """The Tavus conversation API, in memory. `app` is its ASGI application."""

    def __init__(
        self,
        *,
        api_keys: tuple[str, ...] = (SANDBOX_API_KEY,),
        max_concurrent_conversations: int = DEFAULT_MAX_CONCURRENT,
        credits: int | None = None,
        call_seconds: float = 0.0,
    ) -> None:
        self.api_keys = api_keys
        self._initial_api_keys = api_keys
        self.max_concurrent_conversations = max_concurrent_conversations
        self.credits = credits
        # With call_seconds, every non-test call plays itself through in that time (`calls.play`), as in
        # `mcp-server-tavus --sandbox`; with 0 it stays active until ended, as most tests want.
        self.call_seconds = call_seconds
        self._initial_call_seconds = call_seconds
        self.replicas = _stock_replicas()
        self.personas = _stock_personas()
        self.conversations: dict[str, dict[str, Any]] = {}
        self.received: list[ReceivedRequest] = []
        self.schema_violations: list[str] = []
        # Fields (dotted body paths, or query parameter names) of a Tavus newer than the reference this emulator
        # follows: accepted as they come. Tests set it to stand for "Tavus added a field".
        self.added_fields: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        conversation = "/v2/conversations/{conversation_id}"
        routes = [
            ("POST", "/v2/conversations", self._create_conversation),
            ("GET", "/v2/conversations", self._list_conversations),
            ("GET", conversation, self._get_conversation),
            ("DELETE", conversation, self._delete_conversation),
            ("POST", f"{conversation}/end", self._end_conversation),
            ("GET", "/v2/replicas", self._list_replicas),
            ("GET", "/v2/personas", self._list_personas),
            ("POST", "/v2/personas", self._create_persona),
            ("GET", "/v2/personas/{persona_id}", self._get_persona),
            ("PATCH", "/v2/personas/{persona_id}", self._update_persona),
            ("DELETE", "/v2/personas/{persona_id}", self._delete_persona),
        ]
        self.app = Starlette(
            routes=[
                *(
                    Route(path, self._guarded(handler, (method, path)), methods=[method])
                    for method, path, handler in routes
                ),
                Route("/sandbox/rooms/{conversation_id}", self._room_page, methods=["GET"]),
            ]
        )

    # Inspection helpers for tests and the demo

    def reset(self) -> None:
        """Forget conversations, requests and violations, and personas created; the stock ones are as new."""
        with self._lock:
            self.personas = _stock_personas()
            self.conversations.clear()
            self.received.clear()
            self.schema_violations.clear()
            self.added_fields.clear()
            self.api_keys = self._initial_api_keys
            self.credits = None
            self.max_concurrent_conversations = DEFAULT_MAX_CONCURRENT
            self.call_seconds = self._initial_call_seconds

    def requests_to(self, method: str, path: str) -> list[ReceivedRequest]:
        return [r for r in self.received if r.method == method and r.path == path]

    def set_transcript(self, conversation_id: str, turns: list[Any]) -> None:
        """Give a conversation the transcript Tavus would send once the call is processed."""
        self.set_event(conversation_id, "application.transcription_ready", {"transcript": turns})

    def set_event(self, conversation_id: str, event_type: str, properties: dict[str, Any] | None) -> None:
        """Give a conversation an event (replacing any of that type), as Tavus would after the call."""
        with self._lock:
            stored = self.conversations[conversation_id]
            stored["events"] = [e for e in stored["events"] if e["event_type"] != event_type]
            stored["events"].append(_event(event_type, properties))

    @property
    def active_conversations(self) -> list[dict[str, Any]]:
        return [c for c in self.conversations.values() if c["status"] == "active"]

    # Request plumbing

    def _guarded(self, handler: Handler, operation: tuple[str, str]) -> Callable[[Request], Awaitable[Response]]:
        """Record the request, check the key and the query, turn ApiError into Tavus's error answers."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body: Any = None
            body_error = False
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body, body_error = raw.decode("utf-8", errors="replace"), True
            authorized = request.headers.get("x-api-key") in self.api_keys
            with self._lock:
                self.received.append(
                    ReceivedRequest(
                        method=request.method,
                        path=request.url.path,
                        query=dict(request.query_params),
                        body=body,
                        authorized=authorized,
                        user_agent=request.headers.get("user-agent"),
                    )
                )
            if not authorized:
                response: Response = JSONResponse({"message": "Invalid access token"}, status_code=401)
            elif body_error:
                with self._lock:
                    self.schema_violations.append(f"{request.method} {request.url.path}: body is not JSON")
                response = JSONResponse({"error": "Invalid request body: not valid JSON"}, status_code=400)
            else:
                try:
                    _check_query(request.query_params, QUERY_PARAMETERS[operation], self.added_fields)
                    response = await handler(request, body)
                except ApiError as error:
                    if error.violation:
                        with self._lock:
                            self.schema_violations.append(f"{request.method} {request.url.path}: {error.violation}")
                    response = JSONResponse(error.body, status_code=error.status)
            return response

        return endpoint

    # Conversations

    async def _create_conversation(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            raise _bad_request("Invalid request body: expected a JSON object")
        _check_fields(body, BODY_FIELDS, "", self.added_fields)
        properties = body.get("properties", {})
        _check_fields(properties, PROPERTY_FIELDS, "properties.", self.added_fields)
        if "recording_storage" in properties:
            storage = properties["recording_storage"]
            _check_fields(storage, RECORDING_STORAGE_FIELDS, "properties.recording_storage.", self.added_fields)
            _check_recording_storage(storage)
        _check_create_rules(body, properties)

        replica_id = body.get("replica_id")
        persona_id = body.get("persona_id")
        if persona_id is not None:
            persona = next((p for p in self.personas if p["persona_id"] == persona_id), None)
            if persona is None:
                raise _bad_request("Invalid persona_id", violation=False)
            replica_id = replica_id or persona.get("default_replica_id")
        if replica_id is None:
            raise _bad_request(
                "The persona has no default replica: a replica_id is required for this conversation", violation=False
            )
        replica = next((r for r in self.replicas if r["replica_id"] == replica_id), None)
        if replica is None:
            raise _bad_request("Invalid replica_id", violation=False)
        if replica["status"] != "completed":
            raise _bad_request(f"Replica {replica_id} has not finished training", violation=False)

        test_mode = body.get("test_mode") is True
        with self._lock:
            if not test_mode:
                if len(self.active_conversations) >= self.max_concurrent_conversations:
                    raise ApiError(400, {"message": "User has reached maximum concurrent conversations"})
                if self.credits is not None:
                    if self.credits <= 0:
                        raise ApiError(402, {"message": "The user is out of conversational credits"})
                    self.credits -= 1
            conversation_id = f"c{secrets.token_hex(6)}"
            base = str(request.base_url).rstrip("/")
            now = _now()
            stored: dict[str, Any] = {
                "conversation_id": conversation_id,
                "conversation_name": body.get("conversation_name") or f"New Conversation {next(self._ids)}",
                "conversation_url": f"{base}/sandbox/rooms/{conversation_id}",
                "callback_url": body.get("callback_url"),
                "status": "ended" if test_mode else "active",
                "replica_id": replica_id,
                "persona_id": persona_id,
                "created_at": now,
                "updated_at": now,
                "meeting_token": None,
                "request": copy.deepcopy(body),
                "events": [],
                "deleted": False,
                # When its scripted call began (time.monotonic), for a call the emulator plays through.
                "played_from": time.monotonic() if not test_mode and self.call_seconds > 0 else None,
            }
            if body.get("require_auth") is True or properties.get("require_auth") is True:
                stored["meeting_token"] = secrets.token_urlsafe(24)
            self.conversations[conversation_id] = stored
        return JSONResponse(_public(stored, CREATED_FIELDS))

    def _conversation(self, conversation_id: str) -> dict[str, Any]:
        stored = self.conversations.get(conversation_id)
        if stored is None or stored["deleted"]:
            raise _bad_request("Invalid conversation_id", violation=False)
        return stored

    async def _get_conversation(self, request: Request, _: Any) -> Response:
        verbose = _query_bool(request, "verbose")
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            play(stored, self.call_seconds, self.personas)
            answer = _public(stored, CONVERSATION_FIELDS)
            if verbose:
                answer["events"] = copy.deepcopy(stored["events"])
        return JSONResponse(answer)

    async def _list_conversations(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        status = request.query_params.get("status")
        with self._lock:
            for stored in self.conversations.values():
                play(stored, self.call_seconds, self.personas)
        rows = [c for c in self.conversations.values() if not c["deleted"] and status in (None, c["status"])]
        rows.sort(key=lambda c: c["created_at"], reverse=True)
        window = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": [_public(c, CONVERSATION_FIELDS) for c in window], "total_count": len(rows)})

    async def _end_conversation(self, request: Request, _: Any) -> Response:
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            play(stored, self.call_seconds, self.personas)
            if stored["status"] == "active":
                stored["status"] = "ended"
                stored["updated_at"] = _now()
                # The reason's key: `reason` in the reference's example, `shutdown_reason` in webhooks.
                stored["events"].append(_event("system.shutdown", {"reason": "end_conversation_endpoint_hit"}))
                stored["events"].extend(after_the_call(stored, self.call_seconds, self.personas))
        return Response(status_code=200)

    async def _delete_conversation(self, request: Request, _: Any) -> Response:
        hard = _query_bool(request, "hard")
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            if hard:
                del self.conversations[stored["conversation_id"]]
            else:
                stored["deleted"] = True
                stored["status"] = "ended"
        return Response(status_code=204)

    # Replicas and personas

    async def _list_replicas(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        verbose = _query_bool(request, "verbose")
        replica_type = request.query_params.get("replica_type")
        model_name = request.query_params.get("model_name")
        ids = request.query_params.get("replica_ids")
        wanted = {i.strip() for i in ids.split(",") if i.strip()} if ids is not None else None
        rows = [
            r
            for r in self.replicas
            if replica_type in (None, r["replica_type"])
            and model_name in (None, r["model_name"])
            and (wanted is None or r["replica_id"] in wanted)
        ]
        window = rows[(page - 1) * limit : page * limit]
        # The replica's type only with verbose.
        data = [r if verbose else {k: v for k, v in r.items() if k != "replica_type"} for r in window]
        return JSONResponse({"data": copy.deepcopy(data), "total_count": len(rows)})

    async def _list_personas(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        persona_type = request.query_params.get("persona_type")
        rows = [p for p in self.personas if persona_type in (None, p["persona_type"])]
        window = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": [_public(p, PERSONA_FIELDS) for p in window], "total_count": len(rows)})

    async def _create_persona(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            raise _bad_request("Invalid request body: expected a JSON object")
        _check_persona(body, self.added_fields)
        replica_id = body.get("default_replica_id")
        if replica_id is not None and not any(r["replica_id"] == replica_id for r in self.replicas):
            raise _bad_request("Invalid default_replica_id", violation=False)
        now = _now()
        persona = {
            **copy.deepcopy(body),
            "persona_id": f"p{secrets.token_hex(6)}",
            "persona_type": "user",
            "created_at": now,
            "updated_at": now,
        }
        with self._lock:
            self.personas.append(persona)
        return JSONResponse(_public(persona, CREATED_PERSONA_FIELDS))

    def _persona(self, persona_id: str) -> dict[str, Any]:
        persona = next((p for p in self.personas if p["persona_id"] == persona_id), None)
        if persona is None:
            raise _bad_request("Invalid persona_id", violation=False)
        return persona

    async def _get_persona(self, request: Request, _: Any) -> Response:
        with self._lock:
            persona = self._persona(request.path_params["persona_id"])
            # As the reference has it: the persona inside `data`, a list of one.
            return JSONResponse({"data": [_public(persona, PERSONA_FIELDS)]})

    async def _update_persona(self, request: Request, body: Any) -> Response:
        _check_patch(body)
        with self._lock:
            persona = self._persona(request.path_params["persona_id"])
            document = {name: persona[name] for name in PERSONA_BODY_FIELDS if name in persona}
            # A patch that does not fit this persona is the caller's to see (the server cannot know its shape);
            # the message names no value, as the library's would (they may be credentials).
            try:
                patched = jsonpatch.apply_patch(document, body)
            except jsonpatch.JsonPatchTestFailed:
                raise _bad_request("Invalid patch: a test operation failed", violation=False) from None
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
                raise _bad_request(
                    "Invalid patch: a path does not exist in this persona (replace and remove need an existing field)",
                    violation=False,
                ) from None
            if not isinstance(patched, dict):
                raise _bad_request("Invalid patch: the persona must stay an object")
            try:
                _check_persona(patched, self.added_fields, patched=True)
            except ApiError as error:
                # What a copy or move carries is the persona's own, which the server cannot see: Tavus's to refuse.
                if any(operation["op"] in ("copy", "move") for operation in body):
                    error.violation = None
                raise
            if patched == document:
                return Response(status_code=304)
            for name in PERSONA_BODY_FIELDS:
                persona.pop(name, None)
            persona.update(copy.deepcopy(patched), updated_at=_now())
        return Response(status_code=200)

    async def _delete_persona(self, request: Request, _: Any) -> Response:
        with self._lock:
            self.personas.remove(self._persona(request.path_params["persona_id"]))
        return Response(status_code=204)

    # The join page: a sandbox room nobody will ever join

    async def _room_page(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        stored = self.conversations.get(conversation_id)
        if stored is not None:
            with self._lock:
                play(stored, self.call_seconds, self.personas)
        if stored is None:
            return HTMLResponse("<h1>Tavus sandbox</h1><p>No such sandbox conversation.</p>", status_code=404)
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Tavus sandbox conversation</title>"
            f"<h1>Tavus sandbox conversation {conversation_id}</h1>"
            "<p>This conversation was created by the mcp-server-tavus sandbox, an emulator of the Tavus API. "
            "No replica will join and nothing is charged. With a real Tavus key, this link opens a live video call.</p>"
            f"<p>Status: {stored['status']}</p>"
        )


def _public(stored: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of an answer that apply (the API leaves out what it has no value for), copied."""
    return copy.deepcopy({name: stored[name] for name in fields if stored.get(name) is not None})


def serve_forever(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the emulator over HTTP until interrupted (`mcp-server-tavus sandbox-api`)."""
    print(
        f"Tavus API emulator on http://{host}:{port}\n"
        f"Point the server at it with TAVUS_API_BASE_URL=http://{host}:{port} TAVUS_API_KEY={SANDBOX_API_KEY}",
        flush=True,
    )
    uvicorn.run(TavusEmulator().app, host=host, port=port, log_level="warning")
