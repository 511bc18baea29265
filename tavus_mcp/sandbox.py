"""An in-memory emulator of the Tavus conversation API, for trying the server with no key and for tests.

It follows Tavus's current API reference (the OpenAPI document Tavus publishes, and the notes kept beside it): the
same paths, query parameters, validation, status codes, error bodies and answer fields, a few stock replicas and
personas, and join URLs that say "sandbox". Its rules are its own, written from those documents and never taken from
the server's models, so it catches what the server should have refused: every request that breaks the API's schema
is recorded in `schema_violations`. It also records every request it receives (`received`). The field tables below
are checked against the OpenAPI document by tests/test_openapi.py.

Serve it in-process through `httpx2.ASGITransport(app=emulator.app)`, or over HTTP with `serve_forever`.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jsonpatch
import jsonpointer
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

# The key the sandbox accepts. Obviously not a real Tavus key (those are 32 hex digits).
SANDBOX_API_KEY = "sandbox-key-not-a-real-tavus-key"
# The base URL used when the emulator is served in-process; `.invalid` can never resolve to a real host.
IN_PROCESS_BASE_URL = "https://tavus-sandbox.invalid"

DEFAULT_MAX_CONCURRENT = 3
# The API documents its counts as `integer` with no maximum: the emulator takes what a 64-bit integer holds.
MAX_INTEGER = 2**63 - 1
MAX_PAGE = MAX_INTEGER

# Languages Tavus lists as supported, each with its ISO 639 codes: the API wants the full name ("Spanish") or
# "multilingual", and a code ("es", "spa") is the caller's mistake. The list can grow, so an unlisted full name is
# refused as Tavus would refuse it (a 400), not recorded as a violation.
_LANGUAGE_CODES = {
    "English": "en eng", "French": "fr fra fre", "German": "de deu ger", "Spanish": "es spa",
    "Portuguese": "pt por", "Chinese": "zh zho chi", "Japanese": "ja jpn", "Hindi": "hi hin", "Italian": "it ita",
    "Korean": "ko kor", "Dutch": "nl nld dut", "Polish": "pl pol", "Russian": "ru rus", "Swedish": "sv swe",
    "Turkish": "tr tur", "Tagalog": "tl tgl fil", "Bulgarian": "bg bul", "Romanian": "ro ron rum",
    "Arabic": "ar ara", "Czech": "cs ces cze", "Greek": "el ell gre", "Finnish": "fi fin", "Croatian": "hr hrv",
    "Malay": "ms msa may", "Slovak": "sk slk slo", "Danish": "da dan", "Tamil": "ta tam", "Ukrainian": "uk ukr",
    "Hungarian": "hu hun", "Norwegian": "no nb nor", "Vietnamese": "vi vie", "Bengali": "bn ben", "Thai": "th tha",
    "Hebrew": "he iw heb", "Georgian": "ka kat geo", "Indonesian": "id ind", "Telugu": "te tel",
    "Gujarati": "gu guj", "Kannada": "kn kan", "Malayalam": "ml mal", "Marathi": "mr mar", "Punjabi": "pa pan",
}  # fmt: skip
SUPPORTED_LANGUAGES = tuple(_LANGUAGE_CODES)
MULTILINGUAL = "multilingual"
_LANGUAGES = {name.casefold() for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL)}
_CODES = {code for codes in _LANGUAGE_CODES.values() for code in codes.split()}

# The body of POST /v2/conversations (createConversation): field -> JSON type, "string[]" for an array of strings.
# enable_dynamic_greeting is documented on the conversation overview rather than in the reference.
BODY_FIELDS = {
    "replica_id": "string",
    "persona_id": "string",
    "audio_only": "boolean",
    "callback_url": "string",
    "conversation_name": "string",
    "conversational_context": "string",
    "custom_greeting": "string",
    "enable_dynamic_greeting": "boolean",
    "memory_stores": "string[]",
    "document_ids": "string[]",
    "document_retrieval_strategy": "string",
    "document_tags": "string[]",
    "test_mode": "boolean",
    "require_auth": "boolean",
    "max_participants": "integer",
    "properties": "object",
}
PROPERTY_FIELDS = {
    "max_call_duration": "integer",
    "participant_left_timeout": "integer",
    "participant_absent_timeout": "integer",
    "enable_recording": "boolean",
    "enable_closed_captions": "boolean",
    "apply_greenscreen": "boolean",
    "require_auth": "boolean",
    "language": "string",
    "recording_s3_bucket_name": "string",
    "recording_s3_bucket_region": "string",
    "aws_assume_role_arn": "string",
    "recording_storage": "object",
}
# Deprecated in favour of recording_storage, and still accepted.
DEPRECATED_PROPERTY_FIELDS = ("recording_s3_bucket_name", "recording_s3_bucket_region", "aws_assume_role_arn")
# properties.recording_storage (recording_storage_config): every field is a string.
RECORDING_STORAGE_FIELDS = {
    name: "string"
    for name in (
        "provider", "bucket_name", "bucket_region", "assume_role_arn", "external_id", "project_id",
        "workload_identity_provider", "service_account_email", "storage_account", "container", "tenant_id",
        "client_id",
    )
}  # fmt: skip
# provider -> (the identifiers it needs, those it may also take).
RECORDING_PROVIDERS = {
    "s3": (("bucket_name", "bucket_region", "assume_role_arn"), ("external_id",)),
    "gcs": (("bucket_name", "project_id", "workload_identity_provider", "service_account_email"), ()),
    "azure_blob": (("storage_account", "container", "tenant_id", "client_id"), ()),
}
RETRIEVAL_STRATEGIES = ("speed", "quality", "balanced")

# The query parameters of each operation: name -> type, or the tuple of the values it takes.
QUERY_PARAMETERS: dict[tuple[str, str], dict[str, str | tuple[str, ...]]] = {
    ("POST", "/v2/conversations"): {},
    ("GET", "/v2/conversations"): {"limit": "integer", "page": "integer", "status": ("active", "ended")},
    ("GET", "/v2/conversations/{conversation_id}"): {"verbose": "boolean"},
    ("DELETE", "/v2/conversations/{conversation_id}"): {"hard": "boolean"},
    ("POST", "/v2/conversations/{conversation_id}/end"): {},
    ("GET", "/v2/replicas"): {
        "limit": "integer",
        "page": "integer",
        "verbose": "boolean",
        "replica_type": ("user", "system"),
        "replica_ids": "string",
        "model_name": "string",
    },
    ("GET", "/v2/personas"): {"limit": "integer", "page": "integer", "persona_type": ("user", "system")},
    ("POST", "/v2/personas"): {},
    ("GET", "/v2/personas/{persona_id}"): {},
    ("PATCH", "/v2/personas/{persona_id}"): {},
    ("DELETE", "/v2/personas/{persona_id}"): {},
}
# The body of POST /v2/personas (createPersona): field -> JSON type.
PERSONA_BODY_FIELDS = {
    "persona_name": "string",
    "system_prompt": "string",
    "pipeline_mode": "string",
    "default_replica_id": "string",
    "document_ids": "string[]",
    "document_tags": "string[]",
    "objectives_id": "string",
    "guardrails_id": "string",
    "layers": "object",
}
PIPELINE_MODES = ("full", "echo")
# `layers`: each layer's documented fields -> JSON type ("array" for a list of objects). A field a layer does not
# list is taken as it comes: Tavus's own example sends conversational_flow.turn_commitment, which its schema lacks.
PERSONA_LAYER_FIELDS: dict[str, dict[str, str]] = {
    "perception": {
        "perception_model": "string", "visual_awareness_queries": "string[]", "visual_tool_prompt": "string",
        "visual_tools": "array", "audio_awareness_queries": "string[]", "audio_tool_prompt": "string",
        "audio_tools": "array",
    },
    "stt": {"stt_engine": "string", "hotwords": "string"},
    "conversational_flow": {
        "turn_detection_model": "string", "turn_taking_patience": "string", "replica_interruptibility": "string",
        "voice_isolation": "string", "wake_phrase": "string", "idle_engagement": "string",
    },
    "llm": {
        "model": "string", "base_url": "string", "api_key": "string", "speculative_inference": "boolean",
        "tools": "array", "headers": "object", "extra_body": "object",
    },
    "tts": {
        "api_key": "string", "tts_engine": "string", "external_voice_id": "string", "voice_settings": "object",
        "tts_emotion_control": "boolean", "tts_model_name": "string", "pronunciation_dictionary_id": "string",
    },
}  # fmt: skip
# The values of the layers' enumerated fields, by "layer.field".
PERSONA_LAYER_VALUES: dict[str, tuple[str, ...]] = {
    "perception.perception_model": ("raven-1", "raven-0", "off"),
    "stt.stt_engine": (
        "tavus-auto", "tavus-parakeet", "tavus-soniox", "tavus-whisper", "tavus-deepgram-medical", "tavus-advanced",
    ),
    "conversational_flow.turn_detection_model": ("sparrow-1", "sparrow-0"),
    "conversational_flow.turn_taking_patience": ("low", "medium", "high"),
    "conversational_flow.replica_interruptibility": ("low", "medium", "high"),
    "conversational_flow.voice_isolation": ("off", "near"),
    "conversational_flow.idle_engagement": ("off", "patient", "eager"),
    "tts.tts_engine": ("cartesia", "elevenlabs"),
}  # fmt: skip
# PATCH /v2/personas/{persona_id} takes a JSON Patch (RFC 6902): each operation's op, and the members it may have.
PATCH_OPERATIONS = ("add", "remove", "replace", "copy", "move", "test")
# `from` is not in the reference's item schema, but copy and move (which it lists) are meaningless without it.
PATCH_MEMBERS = ("op", "path", "value", "from")

# The fields of a conversation in each answer (those that apply: callback_url and meeting_token only when given).
CREATED_FIELDS = (
    "conversation_id", "conversation_name", "conversation_url", "status", "callback_url", "created_at", "meeting_token",
)  # fmt: skip
CONVERSATION_FIELDS = (
    "conversation_id", "conversation_name", "conversation_url", "callback_url", "status", "replica_id", "persona_id",
    "created_at", "updated_at",
)  # fmt: skip
PERSONA_FIELDS = (
    "persona_id", "persona_name", "system_prompt", "default_replica_id", "document_ids", "document_tags", "layers",
    "created_at", "updated_at",
)  # fmt: skip
CREATED_PERSONA_FIELDS = ("persona_id", "persona_name", "created_at")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], *, violation: str | None = None) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body
        self.violation = violation


def _bad_request(message: str, *, violation: bool = True) -> ApiError:
    return ApiError(400, {"error": message}, violation=message if violation else None)


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
        # With call_seconds, every non-test call plays itself through in that time (see `_play`), as in
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

    def _sandbox_transcript(self, stored: dict[str, Any]) -> list[dict[str, Any]]:
        """What Tavus would send after a call; in the sandbox nobody talked, and the transcript says so."""
        request = stored["request"]
        persona = next((p for p in self.personas if p["persona_id"] == stored["persona_id"]), None)
        system = " ".join(
            part for part in (persona and persona["system_prompt"], request.get("conversational_context")) if part
        )
        greeting = request.get("custom_greeting") or "Hi there! How can I help you today?"
        started = time.time()
        turns = [
            ("assistant", greeting, 0.0, 2.4),
            ("user", "(Sandbox: nobody joined this call; this transcript was made by the emulator.)", 4.1, 3.2),
            ("assistant", "Thanks for trying the Tavus sandbox. Goodbye!", 8.0, 2.1),
        ]
        if stored.get("played_from") is not None:
            turns, started = self._scripted_exchange(stored)
        return [
            {"role": "system", "content": system or "You are a helpful assistant."},
            *(
                {
                    "role": role,
                    "content": content,
                    "timestamp": round(started + offset, 2),
                    "seconds_from_start": offset,
                    "duration": duration,
                    **({"inference_id": f"inf_{secrets.token_hex(4)}"} if role == "assistant" else {}),
                }
                for role, content, offset, duration in turns
            ),
        ]

    # The scripted call of --sandbox: waiting, the replica joins, a short exchange, shutdown, transcript ready

    def _play(self, stored: dict[str, Any]) -> None:
        """Bring a played call up to where its clock says it is (with the lock held, before answering about it)."""
        began = stored.get("played_from")
        if began is None or stored["deleted"] or _has_event(stored, "application.transcription_ready"):
            return
        share = (time.monotonic() - began) / self.call_seconds if self.call_seconds > 0 else math.inf
        if stored["status"] == "active":
            if share >= _JOINS_AT and not _has_event(stored, "system.replica_joined"):
                stored["events"].append(_event("system.replica_joined", None))
            if share >= _SHUTS_DOWN_AT:
                stored["status"] = "ended"
                stored["updated_at"] = _now()
                # `shutdown_reason`, as in webhooks (end_conversation's answer uses the get example's `reason`).
                stored["events"].append(
                    _event("system.shutdown", {"shutdown_reason": "participant_left_timeout reached"})
                )
        if stored["status"] == "ended" and share >= 1:
            stored["events"].extend(self._after_the_call(stored))

    def _scripted_exchange(self, stored: dict[str, Any]) -> tuple[list[tuple[str, str, float, float]], float]:
        """The played call's turns, built from the conversation's context, spread over the time it was in
        progress; and when it began (Unix seconds)."""
        request = stored["request"]
        context = " ".join(str(request.get("conversational_context") or "").split())
        scenario = context if len(context) <= 160 else context[:157].rstrip() + "..."
        lines = [
            request.get("custom_greeting") or "Hi there! Thanks for joining. Shall we begin?",
            f"(Sandbox: the emulator scripted this exchange.) Hi! I'm here for {stored['conversation_name']}.",
            f"Great. As agreed: {scenario}" if scenario else "Great. Tell me what you'd like to practise.",
            "Thanks, that was useful. I have to go now.",
            "Thanks for your time. Goodbye!",
        ]
        step = (_SHUTS_DOWN_AT - _JOINS_AT) * self.call_seconds / len(lines)
        began = datetime.fromisoformat(stored["created_at"].replace("Z", "+00:00")).timestamp()
        turns = [
            ("assistant" if index % 2 == 0 else "user", line, round(index * step, 2), round(step * 0.9, 2))
            for index, line in enumerate(lines)
        ]
        return turns, began + _JOINS_AT * self.call_seconds

    def _after_the_call(self, stored: dict[str, Any]) -> list[dict[str, Any]]:
        """The events Tavus adds once a call has ended: transcript, and a recording and perception if set up."""
        events = []
        if not any(e["event_type"] == "application.transcription_ready" for e in stored["events"]):
            events.append(_event("application.transcription_ready", {"transcript": self._sandbox_transcript(stored)}))
        recording = _recording(stored["conversation_id"], stored["request"].get("properties", {}))
        if recording:
            events.append(_event("application.recording_ready", recording))
        persona = next((p for p in self.personas if p["persona_id"] == stored["persona_id"]), {})
        perception = persona.get("layers", {}).get("perception", {}).get("perception_model", "")
        if str(perception).startswith("raven"):
            analysis = "(Sandbox: nobody joined, so there was nothing to see.)"
            events.append(_event("application.perception_analysis", {"analysis": analysis}))
        return events

    async def _get_conversation(self, request: Request, _: Any) -> Response:
        verbose = _query_bool(request, "verbose")
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            self._play(stored)
            answer = _public(stored, CONVERSATION_FIELDS)
            if verbose:
                answer["events"] = copy.deepcopy(stored["events"])
        return JSONResponse(answer)

    async def _list_conversations(self, request: Request, _: Any) -> Response:
        limit, page = _paging(request)
        status = request.query_params.get("status")
        with self._lock:
            for stored in self.conversations.values():
                self._play(stored)
        rows = [c for c in self.conversations.values() if not c["deleted"] and status in (None, c["status"])]
        rows.sort(key=lambda c: c["created_at"], reverse=True)
        window = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": [_public(c, CONVERSATION_FIELDS) for c in window], "total_count": len(rows)})

    async def _end_conversation(self, request: Request, _: Any) -> Response:
        with self._lock:
            stored = self._conversation(request.path_params["conversation_id"])
            self._play(stored)
            if stored["status"] == "active":
                stored["status"] = "ended"
                stored["updated_at"] = _now()
                # The reason's key: `reason` in the reference's example, `shutdown_reason` in webhooks.
                stored["events"].append(_event("system.shutdown", {"reason": "end_conversation_endpoint_hit"}))
                stored["events"].extend(self._after_the_call(stored))
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
                self._play(stored)
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


# Where a played call is, as a share of call_seconds: the replica joins, then the call shuts down; at 1 the
# transcript (and any recording and perception analysis) is ready.
_JOINS_AT = 0.15
_SHUTS_DOWN_AT = 0.6


def _has_event(stored: dict[str, Any], event_type: str) -> bool:
    return any(event["event_type"] == event_type for event in stored["events"])


def _event(event_type: str, properties: dict[str, Any] | None) -> dict[str, Any]:
    event: dict[str, Any] = {"event_type": event_type, "timestamp": _now()}
    if properties is not None:
        event["properties"] = properties
    return event


def _recording(conversation_id: str, properties: dict[str, Any]) -> dict[str, Any] | None:
    """The application.recording_ready payload of a call recorded to the caller's own storage."""
    if properties.get("enable_recording") is not True:
        return None
    storage = properties.get("recording_storage")
    key = f"sandbox/{conversation_id}.mp4"
    if storage is None and "recording_s3_bucket_name" in properties:
        storage = {"provider": "s3", "bucket_name": properties["recording_s3_bucket_name"]}
    if storage is None:
        return None
    provider = storage["provider"]
    if provider == "azure_blob":
        uri = f"https://{storage['storage_account']}.blob.core.windows.net/{storage['container']}/{key}"
        return {"storage_provider": provider, "storage_uri": uri, "duration": 0}
    scheme = "s3" if provider == "s3" else "gs"
    payload = {"storage_provider": provider, "storage_uri": f"{scheme}://{storage['bucket_name']}/{key}"}
    if provider == "s3":
        payload |= {"bucket_name": storage["bucket_name"], "s3_key": key}
    return {**payload, "duration": 0}


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


def _check_fields(body: dict[str, Any], types: dict[str, str], prefix: str, added: set[str]) -> None:
    for name, value in body.items():
        expected = types.get(name)
        if expected is None:
            if f"{prefix}{name}" in added:
                continue
            raise _bad_request(f"Unknown field: {prefix}{name}")
        actual = _json_type(value)
        if actual != expected:
            raise _bad_request(f"Invalid type for {prefix}{name}: expected {expected}, got {actual}")


def _check_recording_storage(storage: dict[str, Any]) -> None:
    where = "properties.recording_storage"
    provider = storage.get("provider")
    if provider not in RECORDING_PROVIDERS:
        raise _bad_request(f"Invalid {where}.provider: must be one of {', '.join(RECORDING_PROVIDERS)}")
    needed, optional = RECORDING_PROVIDERS[provider]
    for name, value in storage.items():
        if name in RECORDING_STORAGE_FIELDS and name != "provider" and name not in (*needed, *optional):
            raise _bad_request(f"Invalid {where}.{name}: not a field of provider {provider}")
        if isinstance(value, str) and not value.strip():
            raise _bad_request(f"Invalid {where}.{name}: must not be empty")
    missing = [name for name in needed if name not in storage]
    if missing:
        raise _bad_request(f"Invalid {where}: provider {provider} needs {', '.join(missing)}")


def _check_create_rules(body: dict[str, Any], properties: dict[str, Any]) -> None:
    if "replica_id" not in body and "persona_id" not in body:
        raise _bad_request("Either replica_id or persona_id is required")
    for name in ("replica_id", "persona_id", "conversation_name"):
        if name in body and not body[name].strip():
            raise _bad_request(f"Invalid {name}: must not be empty")
    strategy = body.get("document_retrieval_strategy")
    if strategy is not None and strategy not in RETRIEVAL_STRATEGIES:
        raise _bad_request(f"Invalid document_retrieval_strategy: must be one of {', '.join(RETRIEVAL_STRATEGIES)}")
    if "max_participants" in body and not 2 <= body["max_participants"] <= MAX_INTEGER:
        raise _bad_request("Invalid max_participants: must be at least 2")
    if "callback_url" in body:
        try:
            parts = urlsplit(body["callback_url"])
            valid = parts.scheme in ("http", "https") and bool(parts.netloc)
        except ValueError:
            valid = False
        if not valid:
            raise _bad_request("Invalid callback_url: must be an absolute http(s) URL")
    for name in ("max_call_duration", "participant_left_timeout", "participant_absent_timeout"):
        if name in properties and not 0 <= properties[name] <= MAX_INTEGER:
            raise _bad_request(f"Invalid properties.{name}: must be a non-negative integer")
    language = properties.get("language")
    if language is not None and language.casefold() not in _LANGUAGES:
        # "es", "eng", "pt-BR", "zh_Hant": a code where the API wants a full name.
        code = language.strip()
        looks_like_code = (
            re.fullmatch(r"[A-Za-z]{2}|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})+", code) is not None
            or code.casefold() in _CODES
        )
        raise _bad_request(
            f"Invalid language {language!r}: use the full language name or 'multilingual'", violation=looks_like_code
        )
    given = [name for name in DEPRECATED_PROPERTY_FIELDS if name in properties]
    if given and len(given) != len(DEPRECATED_PROPERTY_FIELDS):
        raise _bad_request("recording_s3_bucket_name, recording_s3_bucket_region and aws_assume_role_arn go together")


def _check_persona(body: dict[str, Any], added: set[str], *, patched: bool = False) -> None:
    """A persona's fields, as created or as a patch leaves them: documented, of their types and values."""
    _check_fields(body, PERSONA_BODY_FIELDS, "", added)
    for name in ("persona_name", "system_prompt", "default_replica_id", "objectives_id", "guardrails_id"):
        if name in body and not body[name].strip():
            raise _bad_request(f"Invalid {name}: must not be empty")
    if "pipeline_mode" in body and body["pipeline_mode"] not in PIPELINE_MODES:
        raise _bad_request(f"Invalid pipeline_mode: must be one of {', '.join(PIPELINE_MODES)}")
    if "system_prompt" not in body and body.get("pipeline_mode") != "echo":
        # After a patch only Tavus knows what the persona held: the server cannot have caught it.
        raise _bad_request("system_prompt is required unless pipeline_mode is echo", violation=not patched)
    for layer, settings in body.get("layers", {}).items():
        fields = PERSONA_LAYER_FIELDS.get(layer)
        if fields is None:
            if f"layers.{layer}" in added:
                continue
            raise _bad_request(f"Unknown field: layers.{layer}")
        if not isinstance(settings, dict):
            raise _bad_request(f"Invalid type for layers.{layer}: expected object, got {_json_type(settings)}")
        for name, value in settings.items():
            expected, actual = fields.get(name), _json_type(value)
            # An empty list is every kind of list.
            if expected is not None and actual != expected and not (expected == "array" and isinstance(value, list)):
                raise _bad_request(f"Invalid type for layers.{layer}.{name}: expected {expected}, got {actual}")
            allowed = PERSONA_LAYER_VALUES.get(f"{layer}.{name}")
            if allowed is not None and value not in allowed:
                raise _bad_request(f"Invalid layers.{layer}.{name}: must be one of {', '.join(allowed)}")


def _check_patch(body: Any) -> None:
    """A JSON Patch document as the reference describes it; 422 otherwise, as Tavus answers."""

    def invalid(why: str) -> ApiError:
        return ApiError(422, {"message": "Invalid JSON patch format"}, violation=f"Invalid JSON patch: {why}")

    if not isinstance(body, list) or not body:
        raise invalid("the body must be a non-empty array of operations")
    for index, operation in enumerate(body):
        if not isinstance(operation, dict) or set(operation) - set(PATCH_MEMBERS):
            raise invalid(f"operation {index} must be an object of {', '.join(PATCH_MEMBERS)}")
        op, path = operation.get("op"), operation.get("path")
        if op not in PATCH_OPERATIONS:
            raise invalid(f"operation {index}: op must be one of {', '.join(PATCH_OPERATIONS)}")
        pointers = [path, operation["from"]] if "from" in operation else [path]
        if not all(isinstance(p, str) and p.startswith("/") for p in pointers):
            raise invalid(f"operation {index}: path and from must be JSON Pointers into the persona")
        if any(str(p).split("/")[1].replace("~1", "/").replace("~0", "~") not in PERSONA_BODY_FIELDS for p in pointers):
            raise invalid(f"operation {index}: {path} is not a field a patch can change")
        for member, needed in (("value", op in ("add", "replace", "test")), ("from", op in ("copy", "move"))):
            if needed != (member in operation):
                raise invalid(f"operation {index}: {op} {'needs' if needed else 'takes no'} {member}")


def _check_query(query: Mapping[str, str], parameters: dict[str, str | tuple[str, ...]], added: set[str]) -> None:
    """Every query parameter is one the operation takes, of its type (limit and page are bounded by _paging)."""
    for name, value in query.items():
        kind = parameters.get(name)
        if kind is None:
            if name in added:
                continue
            raise _bad_request(f"Unknown query parameter: {name}")
        if isinstance(kind, tuple) and value not in kind:
            raise _bad_request(f"Invalid {name}: must be one of {', '.join(kind)}")
        if kind == "boolean" and value not in ("true", "false"):
            raise _bad_request(f"Invalid {name}: must be true or false")


def _query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name) == "true"


def _paging(request: Request) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        # isascii: str.isdigit() also accepts "²" and other digits int() refuses or reads differently.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not 1 <= int(raw) <= MAX_INTEGER:
            raise _bad_request(f"Invalid {name}: must be an integer from 1 to {MAX_INTEGER}")
        return int(raw)

    return number("limit", 10), number("page", 1)


def serve_forever(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the emulator over HTTP until interrupted (`mcp-server-tavus sandbox-api`)."""
    print(
        f"Tavus API emulator on http://{host}:{port}\n"
        f"Point the server at it with TAVUS_API_BASE_URL=http://{host}:{port} TAVUS_API_KEY={SANDBOX_API_KEY}",
        flush=True,
    )
    uvicorn.run(TavusEmulator().app, host=host, port=port, log_level="warning")
