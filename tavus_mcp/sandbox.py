"""An in-memory emulator of the Tavus conversation API, for trying the server with no key and for tests.

It follows `create-conversation.md` and `NOTES.md`: the same paths, validation, status codes and error bodies,
a few stock replicas and personas, and join URLs that say "sandbox". Its validation is written from the API
documents, independently of the server's models, so it catches what the server should have refused: every
request whose body breaks the API's schema is recorded in `schema_violations`. It also records every request
it receives (`received`).

Serve it in-process through `httpx2.ASGITransport(app=emulator.app)`, or over HTTP with `serve_forever`.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tavus_mcp.models import LANGUAGE_CODES, MULTILINGUAL, SUPPORTED_LANGUAGES

# The key the sandbox accepts. Obviously not a real Tavus key (those are 32 hex digits).
SANDBOX_API_KEY = "sandbox-key-not-a-real-tavus-key"
# The base URL used when the emulator is served in-process; `.invalid` can never resolve to a real host.
IN_PROCESS_BASE_URL = "https://tavus-sandbox.invalid"

DEFAULT_MAX_CONCURRENT = 3
MAX_PAGE = 1_000_000_000

# The language list is a fact of the API, shared as data; the rules that use it are the emulator's own.
_LANGUAGES = {name.casefold() for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL)}

# The body of POST /v2/conversations, from create-conversation.md and NOTES.md: field -> JSON type.
_BODY_TYPES = {
    "replica_id": "string",
    "persona_id": "string",
    "audio_only": "boolean",
    "callback_url": "string",
    "conversation_name": "string",
    "conversational_context": "string",
    "custom_greeting": "string",
    "memory_stores": "string[]",
    "document_ids": "string[]",
    "document_retrieval_strategy": "string",
    "document_tags": "string[]",
    "test_mode": "boolean",
    "properties": "object",
    "require_auth": "boolean",
    "max_participants": "integer",
}
_PROPERTY_TYPES = {
    "max_call_duration": "integer",
    "participant_left_timeout": "integer",
    "participant_absent_timeout": "integer",
    "enable_recording": "boolean",
    "enable_closed_captions": "boolean",
    "apply_greenscreen": "boolean",
    "language": "string",
    "recording_s3_bucket_name": "string",
    "recording_s3_bucket_region": "string",
    "aws_assume_role_arn": "string",
}
_S3_FIELDS = ("recording_s3_bucket_name", "recording_s3_bucket_region", "aws_assume_role_arn")
_DURATIONS = ("max_call_duration", "participant_left_timeout", "participant_absent_timeout")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stock_replicas() -> list[dict[str, Any]]:
    created = "2025-01-15T10:00:00.000Z"
    return [
        {"replica_id": "rfe12d8b9597", "replica_name": "Anna", "replica_type": "system", "status": "completed",
         "training_progress": "100/100", "thumbnail_video_url": None, "created_at": created},
        {"replica_id": "r79e1c033f", "replica_name": "Charlie", "replica_type": "system", "status": "completed",
         "training_progress": "100/100", "thumbnail_video_url": None, "created_at": created},
        {"replica_id": "r4c41453d2", "replica_name": "Hassaan", "replica_type": "user", "status": "completed",
         "training_progress": "100/100", "thumbnail_video_url": None, "created_at": created},
        {"replica_id": "r9d30b0e55a", "replica_name": "Rose", "replica_type": "user", "status": "started",
         "training_progress": "40/100", "thumbnail_video_url": None, "created_at": created},
    ]  # fmt: skip


def _stock_personas() -> list[dict[str, Any]]:
    created = "2025-02-01T09:30:00.000Z"
    return [
        {
            "persona_id": "p9a95912",
            "persona_name": "Sales Coach",
            "persona_type": "user",
            "system_prompt": "You are a demanding but fair sales coach who plays difficult prospects.",
            "context": "Help the user practise discovery calls, objection handling and closing.",
            "default_replica_id": "rfe12d8b9597",
            "document_ids": [],
            "document_tags": ["sales"],
            # Third-party keys live in layers: the server must never pass these on to a model.
            "layers": {
                "llm": {"model": "tavus-gpt-4o", "api_key": "sk-sandbox-llm-secret-0001"},
                "tts": {"tts_engine": "cartesia", "api_key": "sandbox-tts-secret-0002", "external_voice_id": "v1"},
            },
            "created_at": created,
            "updated_at": created,
        },
        {
            "persona_id": "pdced222244b",
            "persona_name": "Interviewer",
            "persona_type": "system",
            "system_prompt": "You are a friendly job interviewer.",
            "context": "Run a 15-minute behavioural interview and give feedback at the end.",
            "default_replica_id": None,
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
            "context": "",
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


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], *, violation: str | None = None) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body
        self.violation = violation


def _bad_request(message: str, *, violation: bool = True) -> ApiError:
    return ApiError(400, {"error": message}, violation=message if violation else None)


class TavusEmulator:
    """The Tavus conversation API, in memory. `app` is its ASGI application."""

    def __init__(
        self,
        *,
        api_keys: tuple[str, ...] = (SANDBOX_API_KEY,),
        max_concurrent_conversations: int = DEFAULT_MAX_CONCURRENT,
        credits: int | None = None,
    ) -> None:
        self.api_keys = api_keys
        self._initial_api_keys = api_keys
        self.max_concurrent_conversations = max_concurrent_conversations
        self.credits = credits
        self.replicas = _stock_replicas()
        self.personas = _stock_personas()
        self.conversations: dict[str, dict[str, Any]] = {}
        self.received: list[ReceivedRequest] = []
        self.schema_violations: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v2/conversations", self._guarded(self._create_conversation), methods=["POST"]),
                Route("/v2/conversations", self._guarded(self._list_conversations), methods=["GET"]),
                Route("/v2/conversations/{conversation_id}", self._guarded(self._get_conversation), methods=["GET"]),
                Route(
                    "/v2/conversations/{conversation_id}", self._guarded(self._delete_conversation), methods=["DELETE"]
                ),
                Route(
                    "/v2/conversations/{conversation_id}/end", self._guarded(self._end_conversation), methods=["POST"]
                ),
                Route("/v2/replicas", self._guarded(self._list_replicas), methods=["GET"]),
                Route("/v2/personas", self._guarded(self._list_personas), methods=["GET"]),
                Route("/sandbox/rooms/{conversation_id}", self._room_page, methods=["GET"]),
            ]
        )

    # Inspection helpers for tests and the demo

    def reset(self) -> None:
        """Forget conversations, requests and violations; keep the stock replicas and personas."""
        with self._lock:
            self.conversations.clear()
            self.received.clear()
            self.schema_violations.clear()
            self.api_keys = self._initial_api_keys
            self.credits = None
            self.max_concurrent_conversations = DEFAULT_MAX_CONCURRENT

    def requests_to(self, method: str, path: str) -> list[ReceivedRequest]:
        return [r for r in self.received if r.method == method and r.path == path]

    def set_transcript(self, conversation_id: str, turns: list[Any]) -> None:
        """Give a conversation the transcript Tavus would send once the call is processed."""
        with self._lock:
            stored = self.conversations[conversation_id]
            stored["events"] = [e for e in stored["events"] if e["event_type"] != "application.transcription_ready"]
            stored["events"].append(_event(conversation_id, "application.transcription_ready", {"transcript": turns}))

    @property
    def active_conversations(self) -> list[dict[str, Any]]:
        return [c for c in self.conversations.values() if c["status"] == "active"]

    # Request plumbing

    def _guarded(
        self, handler: Callable[[Request, Any], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Record the request, check the key, turn ApiError into Tavus's error answers."""

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
                self.schema_violations.append(f"{request.method} {request.url.path}: body is not JSON")
                response = JSONResponse({"error": "Invalid request body: not valid JSON"}, status_code=400)
            else:
                try:
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
        _check_fields(body, _BODY_TYPES, "")
        properties = body.get("properties", {})
        _check_fields(properties, _PROPERTY_TYPES, "properties.")
        _check_create_rules(body, properties)

        replica_id = body.get("replica_id")
        persona_id = body.get("persona_id")
        if persona_id is not None:
            persona = next((p for p in self.personas if p["persona_id"] == persona_id), None)
            if persona is None:
                raise _bad_request("Invalid persona_id", violation=False)
            replica_id = replica_id or persona["default_replica_id"]
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
            conversation: dict[str, Any] = {
                "conversation_id": conversation_id,
                "conversation_name": body.get("conversation_name") or f"New Conversation {next(self._ids)}",
                "status": "ended" if test_mode else "active",
                "conversation_url": f"{base}/sandbox/rooms/{conversation_id}",
                "replica_id": replica_id,
                "persona_id": persona_id,
                "created_at": now,
            }
            if "callback_url" in body:
                conversation["callback_url"] = body["callback_url"]
            if body.get("require_auth") is True:
                conversation["meeting_token"] = secrets.token_urlsafe(24)
            self.conversations[conversation_id] = {
                **conversation,
                "updated_at": now,
                "request": copy.deepcopy(body),
                "events": [],
                "deleted": False,
            }
        return JSONResponse(conversation)

    def _conversation(self, conversation_id: str) -> dict[str, Any]:
        stored = self.conversations.get(conversation_id)
        if stored is None or stored["deleted"]:
            raise _bad_request("Invalid conversation_id", violation=False)
        return stored

    def _sandbox_transcript(self, stored: dict[str, Any]) -> list[dict[str, str]]:
        """What Tavus would send after a call; in the sandbox nobody talked, and the transcript says so."""
        request = stored["request"]
        persona = next((p for p in self.personas if p["persona_id"] == stored["persona_id"]), None)
        system = " ".join(
            part for part in (persona and persona["system_prompt"], request.get("conversational_context")) if part
        )
        return [
            {"role": "system", "content": system or "You are a helpful assistant."},
            {"role": "assistant", "content": request.get("custom_greeting") or "Hi there! How can I help you today?"},
            {
                "role": "user",
                "content": "(Sandbox: nobody joined this call; this transcript was made by the emulator.)",
            },
            {"role": "assistant", "content": "Thanks for trying the Tavus sandbox. Goodbye!"},
        ]

    @staticmethod
    def _public(stored: dict[str, Any], *, verbose: bool) -> dict[str, Any]:
        hidden = {"request", "events", "deleted", "meeting_token"}
        public = {key: value for key, value in stored.items() if key not in hidden}
        properties = stored["request"].get("properties")
        if properties:
            public["properties"] = properties
        if verbose:
            public["events"] = copy.deepcopy(stored["events"])
        return public

    async def _get_conversation(self, request: Request, _: Any) -> Response:
        verbose = _query_bool(request, "verbose")
        stored = self._conversation(request.path_params["conversation_id"])
        return JSONResponse(self._public(stored, verbose=verbose))

    async def _list_conversations(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        status = request.query_params.get("status")
        if status is not None and status not in ("active", "ended"):
            raise _bad_request("Invalid status: must be 'active' or 'ended'")
        rows = [c for c in self.conversations.values() if not c["deleted"] and status in (None, c["status"])]
        rows.sort(key=lambda c: c["created_at"], reverse=True)
        window = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": [self._public(c, verbose=False) for c in window], "total_count": len(rows)})

    async def _end_conversation(self, request: Request, _: Any) -> Response:
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            if stored["status"] == "active":
                stored["status"] = "ended"
                stored["updated_at"] = _now()
                conversation_id = stored["conversation_id"]
                shutdown = {"shutdown_reason": "end_conversation_endpoint_hit"}
                stored["events"].append(_event(conversation_id, "system.shutdown", shutdown))
                if not any(e["event_type"] == "application.transcription_ready" for e in stored["events"]):
                    transcript = {"transcript": self._sandbox_transcript(stored)}
                    stored["events"].append(_event(conversation_id, "application.transcription_ready", transcript))
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
        if replica_type is not None and replica_type not in ("user", "system"):
            raise _bad_request("Invalid replica_type: must be 'user' or 'system'")
        ids = request.query_params.get("replica_ids")
        wanted = {i.strip() for i in ids.split(",") if i.strip()} if ids else None
        rows = [
            r
            for r in self.replicas
            if replica_type in (None, r["replica_type"]) and (wanted is None or r["replica_id"] in wanted)
        ]
        window = rows[(page - 1) * limit : page * limit]
        data = [r if verbose else {k: v for k, v in r.items() if k != "replica_type"} for r in window]
        return JSONResponse({"data": data, "total_count": len(rows)})

    async def _list_personas(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        persona_type = request.query_params.get("persona_type")
        if persona_type is not None and persona_type not in ("user", "system"):
            raise _bad_request("Invalid persona_type: must be 'user' or 'system'")
        rows = [p for p in self.personas if persona_type in (None, p["persona_type"])]
        window = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": copy.deepcopy(window), "total_count": len(rows)})

    # The join page: a sandbox room nobody will ever join

    async def _room_page(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        stored = self.conversations.get(conversation_id)
        if stored is None:
            return HTMLResponse("<h1>Tavus sandbox</h1><p>No such sandbox conversation.</p>", status_code=404)
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Tavus sandbox conversation</title>"
            f"<h1>Tavus sandbox conversation {conversation_id}</h1>"
            "<p>This conversation was created by the mcp-server-tavus sandbox, an emulator of the Tavus API. "
            "No replica will join and nothing is charged. With a real Tavus key, this link opens a live video call.</p>"
            f"<p>Status: {stored['status']}</p>"
        )


def _event(conversation_id: str, event_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "event_type": event_type,
        "message_type": "application" if event_type.startswith("application.") else "system",
        "timestamp": _now(),
        "properties": properties,
    }


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "string[]" if all(isinstance(item, str) for item in value) else "array"
    if value is None:
        return "null"
    return "number"


def _check_fields(body: dict[str, Any], types: dict[str, str], prefix: str) -> None:
    for name, value in body.items():
        expected = types.get(name)
        if expected is None:
            raise _bad_request(f"Unknown field: {prefix}{name}")
        actual = _json_type(value)
        if actual != expected:
            raise _bad_request(f"Invalid type for {prefix}{name}: expected {expected}, got {actual}")


def _check_create_rules(body: dict[str, Any], properties: dict[str, Any]) -> None:
    if "replica_id" not in body and "persona_id" not in body:
        raise _bad_request("Either replica_id or persona_id is required")
    for name in ("replica_id", "persona_id", "conversation_name"):
        if name in body and not body[name].strip():
            raise _bad_request(f"Invalid {name}: must not be empty")
    strategy = body.get("document_retrieval_strategy")
    if strategy is not None and strategy not in ("speed", "quality", "balanced"):
        raise _bad_request("Invalid document_retrieval_strategy: must be one of speed, quality, balanced")
    if "max_participants" in body and body["max_participants"] < 2:
        raise _bad_request("Invalid max_participants: must be at least 2")
    if "callback_url" in body:
        try:
            parts = urlsplit(body["callback_url"])
            valid = parts.scheme in ("http", "https") and bool(parts.netloc)
        except ValueError:
            valid = False
        if not valid:
            raise _bad_request("Invalid callback_url: must be an absolute http(s) URL")
    for name in _DURATIONS:
        if name in properties and properties[name] < 0:
            raise _bad_request(f"Invalid properties.{name}: must be a non-negative integer")
    language = properties.get("language")
    if language is not None and language.casefold() not in _LANGUAGES:
        # "es", "eng", "pt-BR", "zh_Hant": a code where the API wants a full name.
        code = language.strip()
        looks_like_code = (
            re.fullmatch(r"[A-Za-z]{2}|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})+", code) is not None
            or code.casefold() in LANGUAGE_CODES
        )
        raise _bad_request(
            f"Invalid language {language!r}: use the full language name or 'multilingual'", violation=looks_like_code
        )
    given = [name for name in _S3_FIELDS if name in properties]
    if given and len(given) != len(_S3_FIELDS):
        raise _bad_request("recording_s3_bucket_name, recording_s3_bucket_region and aws_assume_role_arn go together")


def _query_bool(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise _bad_request(f"Invalid {name}: must be true or false")
    return value == "true"


def _paging(request: Request) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        # isascii: str.isdigit() also accepts "²" and other digits int() refuses or reads differently.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not low <= int(raw) <= high:
            raise _bad_request(f"Invalid {name}: must be an integer from {low} to {high}")
        return int(raw)

    return number("limit", 10, 1, 100), number("page", 1, 1, MAX_PAGE)


def serve_forever(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the emulator over HTTP until interrupted (`mcp-server-tavus sandbox-api`)."""
    print(
        f"Tavus API emulator on http://{host}:{port}\n"
        f"Point the server at it with TAVUS_API_BASE_URL=http://{host}:{port} TAVUS_API_KEY={SANDBOX_API_KEY}",
        flush=True,
    )
    uvicorn.run(TavusEmulator().app, host=host, port=port, log_level="warning")
