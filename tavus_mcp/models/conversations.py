"""Conversations: the body of POST /v2/conversations (its properties, recording storage), the requests that name
one conversation or list them, and Tavus's answers about them (events, transcript turns, recordings).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from tavus_mcp.models.common import (
    _LIMIT_DESCRIPTION,
    _PAGE_DESCRIPTION,
    MAX_WHOLE_NUMBER,
    ApiRequest,
    NonEmptyString,
    NonNegativeSeconds,
    PageLimit,
    PageNumber,
    _merged,
    _not_a_boolean,
    _Response,
    check_http_url,
    path_id,
)
from tavus_mcp.models.languages import canonical_language

RetrievalStrategy = Literal["speed", "quality", "balanced"]


ConversationStatus = Literal["active", "ended"]


StorageProvider = Literal["s3", "gcs", "azure_blob"]


class RecordingStorage(ApiRequest):
    """`properties.recording_storage` (schema recording_storage_config): where Tavus writes recordings."""

    provider: StorageProvider = Field(
        description=(
            "'s3': bucket_name, bucket_region, assume_role_arn, optional external_id. 'gcs': bucket_name, "
            "project_id, workload_identity_provider, service_account_email. 'azure_blob': storage_account, "
            "container, tenant_id, client_id. Identifiers only, never secrets."
        )
    )
    bucket_name: str | None = None
    bucket_region: str | None = None
    assume_role_arn: str | None = None
    external_id: str | None = None
    project_id: str | None = None
    workload_identity_provider: str | None = None
    service_account_email: str | None = None
    storage_account: str | None = None
    container: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None

    @model_validator(mode="after")
    def _fields_of_the_provider(self) -> RecordingStorage:
        needed, optional = STORAGE_PROVIDER_FIELDS[self.provider]
        given = {name for name in type(self).model_fields if name != "provider" and getattr(self, name) is not None}
        problems = [f"{name} must not be empty or blank" for name in sorted(given) if not getattr(self, name).strip()]
        missing = [name for name in needed if name not in given]
        if missing:
            problems.append(f"provider {self.provider!r} needs {', '.join(missing)}")
        foreign = sorted(given - {*needed, *optional})
        if foreign:
            problems.append(f"{', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not for {self.provider!r}")
        if problems:
            raise ValueError(
                "; ".join(problems)
                + f". Provider {self.provider!r} takes {', '.join((*needed, *optional))}"
                + (" (the last optional)" if optional else "")
            )
        return self


# Provider -> (the identifiers it needs, those it may take), from the recording_storage_config schema.
STORAGE_PROVIDER_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "s3": (("bucket_name", "bucket_region", "assume_role_arn"), ("external_id",)),
    "gcs": (("bucket_name", "project_id", "workload_identity_provider", "service_account_email"), ()),
    "azure_blob": (("storage_account", "container", "tenant_id", "client_id"), ()),
}


# The flat S3 fields that recording_storage replaces (deprecated by Tavus, still working).
DEPRECATED_S3_FIELDS = ("recording_s3_bucket_name", "recording_s3_bucket_region", "aws_assume_role_arn")


_DEPRECATED_S3 = "Deprecated, still accepted: use recording_storage instead. All three flat S3 fields or none: "


class ConversationProperties(ApiRequest):
    """Optional settings of a conversation: `properties` in the body of POST /v2/conversations."""

    max_call_duration: NonNegativeSeconds | None = Field(
        None,
        description=(
            "Longest the call may last, in seconds (whole number >= 0); it then shuts down. Default 3600. Tavus "
            "gives 3600 as the maximum on one page and reportedly cuts longer values to the plan's maximum: do "
            "not promise more than an hour. Use it to cap cost, e.g. 600."
        ),
    )
    participant_left_timeout: NonNegativeSeconds | None = Field(
        None,
        description=(
            "Seconds (whole number >= 0) the call stays up after the last participant leaves. Default 0: it ends "
            "as soon as everyone has left."
        ),
    )
    participant_absent_timeout: NonNegativeSeconds | None = Field(
        None,
        description=(
            "Seconds (whole number >= 0) after which the call shuts down if nobody joins; Tavus's reference "
            "counts from creation, one of its pages from inactivity. Default 300. With require_auth, the meeting "
            "token expires after this long too."
        ),
    )
    enable_recording: bool | None = Field(
        None,
        description="true lets the participant record the call; recording_storage sends recordings to your bucket.",
    )
    enable_closed_captions: bool | None = Field(
        None, description="true lets the participant show closed captions (subtitles) during the call."
    )
    apply_greenscreen: bool | None = Field(
        None,
        description=(
            "true replaces the replica's background with a green screen (RGB 0,255,155), for apps that key it out. "
            "Leave it unset for a normal call."
        ),
    )
    require_auth: bool | None = Field(
        None, description="Same as the top-level require_auth: Tavus documents it in both places."
    )
    language: str | None = Field(
        None,
        description=(
            "Language the replica speaks and listens in: the FULL English name of the language, such as "
            "'English', 'Spanish', 'French', 'German', 'Japanese' (never a two-letter code like 'es'), or "
            "'multilingual' to detect the speaker's language automatically. Default: English."
        ),
    )
    recording_storage: RecordingStorage | None = Field(
        None, description="Your own bucket for recordings (with enable_recording true): S3, GCS or Azure Blob."
    )
    recording_s3_bucket_name: NonEmptyString | None = Field(
        None,
        description=_DEPRECATED_S3 + "the bucket.",
        json_schema_extra={"deprecated": True},
    )
    recording_s3_bucket_region: NonEmptyString | None = Field(
        None,
        description=_DEPRECATED_S3 + "its AWS region.",
        json_schema_extra={"deprecated": True},
    )
    aws_assume_role_arn: NonEmptyString | None = Field(
        None,
        description=_DEPRECATED_S3 + "the role Tavus assumes.",
        json_schema_extra={"deprecated": True},
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else canonical_language(value)

    @model_validator(mode="after")
    def _s3_fields_together(self) -> ConversationProperties:
        given = [name for name in DEPRECATED_S3_FIELDS if getattr(self, name) is not None]
        if given and len(given) != len(DEPRECATED_S3_FIELDS):
            missing = [name for name in DEPRECATED_S3_FIELDS if name not in given]
            raise ValueError(
                f"the S3 recording fields go together: {', '.join(given)} given without {', '.join(missing)}. "
                "Better, use recording_storage with provider 's3' (bucket_name, bucket_region, assume_role_arn)"
            )
        if given and self.recording_storage is not None:
            # Which of the two Tavus would use is not documented: a recording in the wrong bucket is a leak.
            raise ValueError(
                "recording_storage and the deprecated flat S3 fields both name where recordings go; give "
                "recording_storage only"
            )
        return self

    def deprecated_fields(self) -> list[str]:
        return [name for name in DEPRECATED_S3_FIELDS if getattr(self, name) is not None]


class CreateConversationRequest(ApiRequest):
    """The body of POST /v2/conversations."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    replica_id: NonEmptyString | None = Field(
        None,
        description=(
            "Id of the replica (a Face, in Tavus's newer docs: the AI face and voice) who joins, such as "
            "'rfe12d8b9597'; see list_replicas. Overrides the persona's default replica. Needed unless the persona "
            "has one or the server has a default."
        ),
    )
    persona_id: NonEmptyString | None = Field(
        None,
        description=(
            "Id of the persona (a PAL, in Tavus's newer docs: behaviour, knowledge, voice pipeline), such as "
            "'p9a95912'; see list_personas. A persona with a default replica needs no replica_id."
        ),
    )
    audio_only: bool | None = Field(
        None, description="true for a voice-only call with no video. Leave unset for a normal video call."
    )
    callback_url: str | None = Field(
        None,
        description=(
            "Absolute http(s) URL that receives webhooks about the conversation (replica joined, shutdown, "
            "transcript ready). Only give one the user supplied."
        ),
    )
    conversation_name: NonEmptyString | None = Field(
        None, description="A short name for the conversation, such as 'Sales practice: price objections'."
    )
    conversational_context: str | None = Field(
        None,
        description=(
            "What this call is about, appended to the persona's context: the scenario, the user's goal, the role "
            "the replica plays, e.g. 'The user is practising handling price objections; play a skeptical buyer.'"
        ),
    )
    custom_greeting: str | None = Field(
        None, description="What the replica says first when someone joins, e.g. 'Hi! Ready to practise your pitch?'"
    )
    enable_dynamic_greeting: bool | None = Field(
        None, description="true lets the persona's model write the opening line instead of a fixed greeting."
    )
    memory_stores: list[NonEmptyString] | None = Field(
        None,
        description=(
            "Memory store names the persona reads and adds memories to across calls, e.g. ['anna']. Usually one."
        ),
    )
    document_ids: list[NonEmptyString] | None = Field(
        None, description="Ids of Tavus documents the replica can consult during the call, e.g. ['doc_1234567890']."
    )
    document_retrieval_strategy: RetrievalStrategy | None = Field(
        None,
        description=(
            "How documents are searched: 'speed', 'quality' or 'balanced'. Tavus's pages disagree on the default "
            "(its API reference says 'balanced'): set it if it matters. Only with document_ids or document_tags."
        ),
    )
    document_tags: list[NonEmptyString] | None = Field(
        None,
        description="Tags of Tavus documents the replica can consult, e.g. ['sales', 'marketing'].",
    )
    test_mode: bool | None = Field(
        None,
        description=(
            "true creates the conversation without the replica joining and without any charge (status comes back "
            "'ended'); use it to try the setup. Leave unset for a real call someone will join."
        ),
    )
    require_auth: bool | None = Field(
        None,
        description=(
            "true makes the room private: the join link then carries a meeting token, and only people with that "
            "link can join."
        ),
    )
    max_participants: Annotated[int, Field(ge=2, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)] | None = Field(
        None,
        description="Most people allowed in the call, counting the replica as one: a whole number, at least 2.",
    )
    properties: ConversationProperties | None = Field(
        None,
        description=(
            "Optional call settings: max_call_duration, timeouts, language, captions, recording, green screen."
        ),
    )

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    def to_body(self) -> dict[str, Any]:
        """The JSON body for Tavus: only the fields given, in the API's types, no nulls (nor an empty properties),
        with the fields the operator lets through merged in."""
        body = _merged(self.model_dump(mode="json", exclude_none=True), self.passthrough)
        if body.get("properties") == {}:
            del body["properties"]
        return body


class Conversation(_Response):
    """A conversation as Tavus returns it from create and get."""

    # Answers' fields say what they are by their names: only what a name does not say is described (every
    # description is context that every conversation with the server pays for).
    conversation_id: str
    conversation_url: str | None = Field(None, description="The link to join, without the meeting token.")
    conversation_name: str | None = None
    status: str | None = Field(None, description="'active' while the call can be joined, 'ended' after.")
    replica_id: str | None = None
    persona_id: str | None = None
    callback_url: str | None = None
    meeting_token: str | None = Field(
        None, description="With require_auth: the private token a participant appends to the link as ?t=TOKEN."
    )
    created_at: str | None = None
    updated_at: str | None = None

    def link_with_token(self) -> str | None:
        """The link a participant opens: the conversation URL, with the meeting token when the room is private."""
        if not self.conversation_url or not self.meeting_token:
            return self.conversation_url
        parts = urlsplit(self.conversation_url)
        query = f"{parts.query}&t={self.meeting_token}" if parts.query else f"t={self.meeting_token}"
        return urlunsplit(parts._replace(query=query))


class ConversationRef(ApiRequest):
    """A path parameter naming one conversation."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"conversation_id"})

    conversation_id: NonEmptyString = Field(
        max_length=128,
        description="Id of the conversation, such as 'c123456'.",
    )

    @field_validator("conversation_id")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        return path_id(value, "conversation", "c123456", "create_conversation's or list_conversations'")


class GetConversationRequest(ConversationRef):
    """GET /v2/conversations/{conversation_id}, and how much of the answer to show."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"conversation_id", "full"})

    verbose: bool | None = Field(
        None,
        description=(
            "true also returns what happened: the transcript with timing (once the call has ended and Tavus has "
            "processed it), why it shut down, the recording and the perception analysis when there are any. Use "
            "it to review a finished call."
        ),
    )
    full: bool | None = Field(
        None,
        description=(
            "true (implies verbose) shows everything uncut: every transcript turn and event. By default long "
            "transcripts are shortened in the text, saying what was cut."
        ),
    )


# wait_for_conversation's bound: "a few minutes" by default, never longer than a call can be billed for nothing.
DEFAULT_WAIT_SECONDS = 180


MAX_WAIT_SECONDS = 900


class WaitForConversationRequest(ConversationRef):
    """wait_for_conversation: GET /v2/conversations/{conversation_id}?verbose=true, repeated until the call is done."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"conversation_id", "max_wait_seconds"})

    max_wait_seconds: Annotated[int, Field(ge=1, le=MAX_WAIT_SECONDS), BeforeValidator(_not_a_boolean)] | None = Field(
        None,
        description=(
            f"How long to wait at most, in seconds: from 1 to {MAX_WAIT_SECONDS} (default {DEFAULT_WAIT_SECONDS}). "
            "At the limit the result says where the call stands."
        ),
    )


class ListConversationsRequest(ApiRequest):
    """GET /v2/conversations."""

    limit: PageLimit | None = Field(None, description=_LIMIT_DESCRIPTION)
    page: PageNumber | None = Field(None, description=_PAGE_DESCRIPTION)
    status: ConversationStatus | None = Field(
        None,
        description=(
            "'active' for calls still running (each holds a concurrency slot and is billed), 'ended' for finished "
            "ones. Leave unset for both."
        ),
    )


class EndConversationRequest(ConversationRef):
    """POST /v2/conversations/{conversation_id}/end."""


class DeleteConversationRequest(ConversationRef):
    """DELETE /v2/conversations/{conversation_id}."""

    hard: bool | None = Field(
        None,
        description=(
            "true deletes the conversation and everything about it irreversibly (transcript, recordings' metadata). "
            "Leave unset for a normal (soft) delete. Only with the user's explicit request."
        ),
    )


class TranscriptTurn(_Response):
    role: str = Field(description="'user' (the participant), 'assistant' (the replica), 'system' or 'tool'.")
    content: str
    seconds_from_start: float | None = None
    duration: float | None = None
    timestamp: float | None = Field(None, description="Unix seconds.")


_TIMING = ("seconds_from_start", "duration", "timestamp")


def _transcript_turn(turn: Any) -> TranscriptTurn | None:
    """One turn as text, whatever shape Tavus gave it (content parts as a list, say); None if it has no words.

    Its other fields (inference_id, ...) are kept; a timing that is not a number is kept under its own name too,
    as `raw_<name>`, rather than failing the whole answer.
    """
    if not isinstance(turn, dict):
        return None
    content = turn.get("content")
    if isinstance(content, list):  # content parts, as chat APIs write them
        content = " ".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content)
    if not isinstance(content, str) or not content.strip():
        return None
    fields = {str(key): value for key, value in turn.items() if key not in ("role", "content", *_TIMING)}
    for name in _TIMING:
        value = turn.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = value
        elif value is not None:
            fields[f"raw_{name}"] = value
    return TranscriptTurn.model_validate({**fields, "role": str(turn.get("role") or "unknown"), "content": content})


# Where a recording was stored, from the application.recording_ready event.
class Recording(_Response):
    storage_uri: str | None = None
    storage_provider: str | None = None
    bucket_name: str | None = None
    s3_key: str | None = None
    duration: float | None = None

    def location(self) -> str | None:
        if self.storage_uri:
            return self.storage_uri
        if self.bucket_name and self.s3_key:
            return f"s3://{self.bucket_name}/{self.s3_key}"
        return self.bucket_name or self.s3_key


class ConversationEvent(_Response):
    event_type: str = Field(description="Such as system.replica_joined, system.shutdown.")
    # ISO 8601 in the reference; webhook payloads use Unix seconds, and either may turn up.
    timestamp: Any = None
    properties: dict[str, Any] | None = None


class ConversationDetails(Conversation):
    """A conversation as GET /v2/conversations/{id} returns it, with events when verbose."""

    events: list[ConversationEvent] | None = Field(
        None, description="With verbose: what happened, the transcript included."
    )

    def _event_properties(self, event_type: str) -> dict[str, Any] | None:
        for event in self.events or []:
            if event.event_type == event_type and event.properties:
                return event.properties
        return None

    def transcript_turns(self) -> list[TranscriptTurn] | None:
        """The turns of the call, from its application.transcription_ready event; None before it exists."""
        turns = (self._event_properties("application.transcription_ready") or {}).get("transcript")
        if not isinstance(turns, list):
            return None
        return [turn for turn in map(_transcript_turn, turns) if turn is not None]

    def find_shutdown_reason(self) -> str | None:
        """Why the call shut down: Tavus's get example says `reason`, its webhook page `shutdown_reason`."""
        properties = self._event_properties("system.shutdown") or {}
        # The verbose parameter's description also names a `shutdown_reason` of the conversation itself.
        candidates = (
            properties.get("shutdown_reason"),
            properties.get("reason"),
            (self.model_extra or {}).get("shutdown_reason"),
        )
        return next((str(reason) for reason in candidates if reason not in (None, "")), None)

    def find_recording(self) -> Recording | None:
        properties = self._event_properties("application.recording_ready")
        if properties is None:
            return None
        recording = Recording.model_validate(
            {key: value for key, value in properties.items() if key != "duration" or _is_number(value)}
        )
        return recording if recording.location() else None

    def find_perception_analysis(self) -> str | None:
        properties = self._event_properties("application.perception_analysis")
        if properties is None:
            return None
        analysis = properties.get("analysis")
        if isinstance(analysis, str):
            return analysis.strip() or None
        return json.dumps(properties, ensure_ascii=False, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ConversationPage(_Response):
    data: list[Conversation] = Field(default_factory=list)
    total_count: int | None = None
