"""The shapes of the Tavus conversation API, as pydantic models.

The request models are strict (unknown fields are rejected) and carry descriptions written for the model that
fills them in: they are the tools' input schemas as well as their validators. The response models are lenient
(Tavus adds fields over time), so a newer Tavus never breaks a call.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Annotated, Any, ClassVar, Literal, Self, get_args
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tavus_mcp.redaction import redact_secrets

# Languages Tavus lists as supported. The list can grow with the voice engines, so a full name that is not here
# is passed on to Tavus to judge; this list only gives names their canonical spelling.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "English", "French", "German", "Spanish", "Portuguese", "Chinese", "Japanese", "Hindi", "Italian", "Korean",
    "Dutch", "Polish", "Russian", "Swedish", "Turkish", "Tagalog", "Bulgarian", "Romanian", "Arabic", "Czech",
    "Greek", "Finnish", "Croatian", "Malay", "Slovak", "Danish", "Tamil", "Ukrainian", "Hungarian", "Norwegian",
    "Vietnamese", "Bengali", "Thai", "Hebrew", "Georgian", "Indonesian", "Telugu", "Gujarati", "Kannada",
    "Malayalam", "Marathi", "Punjabi",
)  # fmt: skip
MULTILINGUAL = "multilingual"

# ISO 639-1 codes of the supported languages, to turn "es" into the name Tavus needs.
LANGUAGE_CODES: dict[str, str] = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "pt": "Portuguese", "zh": "Chinese",
    "ja": "Japanese", "hi": "Hindi", "it": "Italian", "ko": "Korean", "nl": "Dutch", "pl": "Polish",
    "ru": "Russian", "sv": "Swedish", "tr": "Turkish", "tl": "Tagalog", "bg": "Bulgarian", "ro": "Romanian",
    "ar": "Arabic", "cs": "Czech", "el": "Greek", "fi": "Finnish", "hr": "Croatian", "ms": "Malay", "sk": "Slovak",
    "da": "Danish", "ta": "Tamil", "uk": "Ukrainian", "hu": "Hungarian", "no": "Norwegian", "nb": "Norwegian",
    "vi": "Vietnamese", "bn": "Bengali", "th": "Thai", "he": "Hebrew", "iw": "Hebrew", "ka": "Georgian",
    "id": "Indonesian", "te": "Telugu", "gu": "Gujarati", "kn": "Kannada", "ml": "Malayalam", "mr": "Marathi",
    "pa": "Punjabi", "fil": "Tagalog",
    # ISO 639-2 codes, as some models write them
    "eng": "English", "fra": "French", "fre": "French", "deu": "German", "ger": "German", "spa": "Spanish",
    "por": "Portuguese", "zho": "Chinese", "chi": "Chinese", "jpn": "Japanese", "hin": "Hindi", "ita": "Italian",
    "kor": "Korean", "nld": "Dutch", "dut": "Dutch", "pol": "Polish", "rus": "Russian", "swe": "Swedish",
    "tur": "Turkish", "tgl": "Tagalog", "bul": "Bulgarian", "ron": "Romanian", "rum": "Romanian", "ara": "Arabic",
    "ces": "Czech", "cze": "Czech", "ell": "Greek", "gre": "Greek", "fin": "Finnish", "hrv": "Croatian",
    "msa": "Malay", "may": "Malay", "slk": "Slovak", "slo": "Slovak", "dan": "Danish", "tam": "Tamil",
    "ukr": "Ukrainian", "hun": "Hungarian", "nor": "Norwegian", "vie": "Vietnamese", "ben": "Bengali",
    "tha": "Thai", "heb": "Hebrew", "kat": "Georgian", "geo": "Georgian", "ind": "Indonesian", "tel": "Telugu",
    "guj": "Gujarati", "kan": "Kannada", "mal": "Malayalam", "mar": "Marathi", "pan": "Punjabi",
}  # fmt: skip

_CANONICAL_LANGUAGE = {name.casefold(): name for name in (*SUPPORTED_LANGUAGES, MULTILINGUAL)}


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

RetrievalStrategy = Literal["speed", "quality", "balanced"]
ConversationStatus = Literal["active", "ended"]
StorageProvider = Literal["s3", "gcs", "azure_blob"]


# A language code rather than a name: "es", "pt-BR", "zh_Hant" (and the 3-letter codes of LANGUAGE_CODES).
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2}|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})+")


def canonical_language(value: str) -> str:
    """The language as Tavus wants it: a full name (canonical spelling when known) or `multilingual`.

    Raises ValueError, with the full name to use when it is known, for a language code such as `es` or `pt-BR`.
    """
    name = value.strip()
    known = _CANONICAL_LANGUAGE.get(name.casefold())
    if known:
        return known
    if _LANGUAGE_CODE.fullmatch(name) or name.casefold() in LANGUAGE_CODES:
        full = LANGUAGE_CODES.get(re.split(r"[-_]", name)[0].casefold())
        use = f"use {full!r}" if full else "give its full English name, such as 'English' or 'Spanish'"
        raise ValueError(
            f"{value!r} is a language code; Tavus needs the full language name: {use} "
            f"(or {MULTILINGUAL!r} to detect the speaker's language automatically)"
        )
    if not all(part.isalpha() for part in name.replace("-", " ").split()) or not name:
        raise ValueError(
            f"{value!r} is not a language name; give the full name, such as 'English' or 'Spanish', "
            f"or {MULTILINGUAL!r} to detect the speaker's language automatically"
        )
    return name


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


# Other endpoints: query parameters


PageLimit = Annotated[int, Field(ge=1, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)]
PageNumber = Annotated[int, Field(ge=1, le=MAX_WHOLE_NUMBER), BeforeValidator(_not_a_boolean)]

_LIMIT_DESCRIPTION = "How many items per page: a whole number, at least 1 (Tavus's default is 10)."
_PAGE_DESCRIPTION = "Which page to return, from 1 (the default). The answer says how many pages there are."


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


def path_id(value: str, kind: str, example: str, source: str) -> str:
    """An id that can only ever be one path segment (a model-supplied id never reaches another endpoint)."""
    value = value.strip()
    if not value or not all(char.isascii() and (char.isalnum() or char in "-_") for char in value):
        raise ValueError(
            f"{value!r} is not a {kind} id: ids are letters, digits, '-' and '_', such as {example!r}. "
            f"Copy it from {source} result"
        )
    return value


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


def _comma_separated_ids(value: str) -> str:
    ids = [part.strip() for part in value.split(",")]
    if not all(ids):
        raise ValueError(f"{value!r} has an empty id; give ids separated by commas, such as 'rfe12d8b9597,r79e1c033f'")
    return ",".join(ids)


class ListReplicasRequest(ApiRequest):
    """GET /v2/replicas."""

    limit: PageLimit | None = Field(None, description=_LIMIT_DESCRIPTION)
    page: PageNumber | None = Field(None, description=_PAGE_DESCRIPTION)
    replica_type: Literal["user", "system"] | None = Field(
        None,
        description="'system' for Tavus's stock replicas, 'user' for the account's own. Leave unset for both.",
    )
    replica_ids: Annotated[NonEmptyString, AfterValidator(_comma_separated_ids)] | None = Field(
        None, description="Only these replicas: ids separated by commas, such as 'rfe12d8b9597,r79e1c033f'."
    )
    model_name: NonEmptyString | None = Field(
        None, description="Only replicas trained on this Phoenix model, such as 'phoenix-4'."
    )
    verbose: bool | None = Field(None, description="true also returns each replica's type (user or system).")


class ListPersonasRequest(ApiRequest):
    """GET /v2/personas."""

    limit: PageLimit | None = Field(None, description=_LIMIT_DESCRIPTION)
    page: PageNumber | None = Field(None, description=_PAGE_DESCRIPTION)
    persona_type: Literal["user", "system"] | None = Field(
        None,
        description="'system' for Tavus's stock personas, 'user' for the account's own. Leave unset for both.",
    )


def query_params(request: ApiRequest) -> dict[str, str | int | float]:
    """A request model as query parameters: only those given (and those let through), booleans as 'true'/'false'."""
    given = request.model_dump(exclude_none=True, exclude=set(request.not_sent))
    params: dict[str, str | int | float] = {}
    for name, value in {**given, **request.passthrough}.items():
        params[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return params


# Other endpoints: answers


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


class Replica(_Response):
    replica_id: str
    replica_name: str | None = None
    status: str | None = Field(None, description="'completed' when ready to use; 'started' while training; 'error'.")
    training_progress: str | None = None
    replica_type: str | None = Field(None, description="'system' (stock) or 'user' (the account's own).")
    model_name: str | None = None
    thumbnail_video_url: str | None = None
    created_at: str | None = None


class Persona(_Response):
    persona_id: str
    persona_name: str | None = None
    default_replica_id: str | None = None
    system_prompt: str | None = None
    document_ids: list[str] | None = None
    document_tags: list[str] | None = None
    layers: dict[str, Any] | None = Field(None, description="Credentials redacted.")
    created_at: str | None = None
    updated_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_third_party_keys(cls, data: Any) -> Any:
        # Layers can hold the account's LLM and TTS provider keys (layers.llm.api_key...): they never leave the
        # client, wherever Tavus puts them.
        return redact_secrets(data)


class ConversationPage(_Response):
    data: list[Conversation] = Field(default_factory=list)
    total_count: int | None = None


class ReplicaPage(_Response):
    data: list[Replica] = Field(default_factory=list)
    total_count: int | None = None


class PersonaPage(_Response):
    data: list[Persona] = Field(default_factory=list)
    total_count: int | None = None


# Personas: the body of POST /v2/personas, and the JSON Patch of PATCH /v2/personas/{persona_id}


class PersonaRef(ApiRequest):
    """A path parameter naming one persona."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"persona_id"})

    persona_id: NonEmptyString = Field(max_length=128, description="Id of the persona, such as 'p9a95912'.")

    @field_validator("persona_id")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        return path_id(value, "persona", "p9a95912", "list_personas' or create_persona's")


class _Layer(BaseModel):
    """One pipeline layer. Its documented fields are checked; others are sent as given, because Tavus's own pages
    and examples use fields its reference does not list (conversational_flow.turn_commitment, for one)."""

    model_config = ConfigDict(extra="allow")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank; leave the field out instead")
    return value


# Text that is not blank, as NonEmptyString, without saying so in the schema.
_Text = Annotated[str, AfterValidator(_not_blank)]


class LlmLayer(_Layer):
    model: _Text | None = None
    base_url: _Text | None = None
    api_key: _Text | None = None
    speculative_inference: bool | None = None
    tools: list[dict[str, Any]] | None = None
    headers: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None


class TtsLayer(_Layer):
    api_key: _Text | None = None
    tts_engine: Literal["cartesia", "elevenlabs"] | None = None
    external_voice_id: _Text | None = None
    voice_settings: dict[str, Any] | None = None
    tts_emotion_control: bool | None = None
    tts_model_name: _Text | None = None
    pronunciation_dictionary_id: _Text | None = None


_SttEngine = Literal[
    "tavus-auto", "tavus-parakeet", "tavus-soniox", "tavus-whisper", "tavus-deepgram-medical", "tavus-advanced"
]


class SttLayer(_Layer):
    stt_engine: _SttEngine | None = None
    hotwords: str | None = None


class PerceptionLayer(_Layer):
    perception_model: Literal["raven-1", "raven-0", "off"] | None = None
    visual_awareness_queries: list[_Text] | None = None
    visual_tool_prompt: str | None = None
    visual_tools: list[dict[str, Any]] | None = None
    audio_awareness_queries: list[_Text] | None = None
    audio_tool_prompt: str | None = None
    audio_tools: list[dict[str, Any]] | None = None


_Level = Literal["low", "medium", "high"]


class ConversationalFlowLayer(_Layer):
    turn_detection_model: Literal["sparrow-1", "sparrow-0"] | None = None
    turn_taking_patience: _Level | None = None
    replica_interruptibility: _Level | None = None
    voice_isolation: Literal["off", "near"] | None = None
    wake_phrase: _Text | None = None
    idle_engagement: Literal["off", "patient", "eager"] | None = None


class PersonaLayers(ApiRequest):
    """`layers`: the five documented layers, each an object (a misspelt layer is a mistake, and refused)."""

    perception: PerceptionLayer | None = None
    stt: SttLayer | None = None
    conversational_flow: ConversationalFlowLayer | None = None
    llm: LlmLayer | None = None
    tts: TtsLayer | None = None


# Shown to the model as one open object: the layers' fields in full would cost every conversation 4 KB of context.
_LAYERS_SCHEMA = {
    "type": "object",
    "description": (
        "Optional pipeline settings, by layer: llm {model, or your own base_url and api_key}, tts {tts_engine "
        "'cartesia'|'elevenlabs', external_voice_id}, stt {stt_engine, hotwords}, perception {perception_model "
        "'raven-1' (default: gives a call's perception analysis)|'raven-0'|'off'}, conversational_flow "
        "{turn_taking_patience, replica_interruptibility: 'low'|'medium'|'high'}. Unset: Tavus's defaults."
    ),
}


class CreatePersonaRequest(ApiRequest):
    """The body of POST /v2/personas. Its texts are refused when blank, as create_conversation's are; the schema
    leaves that unsaid (minLength and pattern on each would cost every conversation context)."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    persona_name: _Text | None = Field(None, description="A name, such as 'Skeptical buyer'.")
    system_prompt: _Text | None = Field(
        None,
        description=(
            "The replica's instructions: who it plays, how it behaves, to stay in character and speak in short "
            "turns. Needed unless pipeline_mode is 'echo'."
        ),
    )
    pipeline_mode: Literal["full", "echo"] | None = Field(
        None, description="'full' (default), or 'echo': the replica only speaks text sent to it."
    )
    default_replica_id: _Text | None = Field(
        None, description="The replica a call gets when it names none (see list_replicas)."
    )
    document_ids: list[_Text] | None = Field(None, description="Tavus documents it consults in every call.")
    document_tags: list[_Text] | None = Field(None, description="Tags of documents it consults.")
    objectives_id: _Text | None = Field(None, description="Tavus objectives to pursue.")
    guardrails_id: _Text | None = Field(None, description="Tavus guardrails to keep.")
    layers: Annotated[PersonaLayers, WithJsonSchema(_LAYERS_SCHEMA)] | None = None

    @model_validator(mode="after")
    def _a_prompt_unless_echo(self) -> CreatePersonaRequest:
        if self.system_prompt is None and self.pipeline_mode != "echo" and "system_prompt" not in self.passthrough:
            raise ValueError(
                "system_prompt is required (unless pipeline_mode is 'echo'): write the replica's instructions, such "
                "as 'You are a skeptical buyer of project software. Push back on price; stay in character.'"
            )
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body for Tavus: the fields given (a layer's own extra fields too), and those let through."""
        return _merged(self.model_dump(mode="json", exclude_none=True), self.passthrough)


PATCH_OPERATIONS = ("add", "remove", "replace", "copy", "move", "test")


# One operation of a JSON Patch (RFC 6902). (A comment, not a docstring: the schema would repeat it.)
class PatchOperation(ApiRequest):
    model_config = ConfigDict(populate_by_name=True)

    op: Literal["add", "remove", "replace", "copy", "move", "test"]
    path: str = Field(description="Such as '/system_prompt', '/layers/llm/model'.")
    value: Any = None
    from_: str | None = Field(None, alias="from", description="For copy and move.")

    @model_validator(mode="after")
    def _operation(self) -> PatchOperation:
        takes_value, takes_from = self.op in ("add", "replace", "test"), self.op in ("copy", "move")
        if takes_value and self.value is None:
            raise ValueError(f"op {self.op!r} needs a value (the new content at {self.path!r})")
        if not takes_value and self.value is not None:
            raise ValueError(f"op {self.op!r} takes no value; leave it out")
        if takes_from and self.from_ is None:
            raise ValueError(f"op {self.op!r} needs from: the pointer to {self.op} from, such as '/system_prompt'")
        if not takes_from and self.from_ is not None:
            raise ValueError(f"op {self.op!r} takes no from; leave it out")
        segments = persona_pointer(self.path, "path")
        if takes_value:
            _check_patch_value(segments, self.value, self.path)
        if self.from_ is not None:
            source, target = _typed_at(persona_pointer(self.from_, "from")), _typed_at(segments)
            if source is not None and target is not None and _shape(source) != _shape(target):
                raise ValueError(
                    f"{self.op} from {self.from_!r} to {self.path!r}: the two take different values; {self.op} only "
                    "between fields of the same kind, or replace with the value itself"
                )
        return self


# What a patch may change: the fields of the create body (the id and timestamps are Tavus's).
PATCHABLE_FIELDS = tuple(CreatePersonaRequest.model_fields)


def persona_pointer(pointer: str, name: str) -> list[str]:
    """The segments of a JSON Pointer (RFC 6901) into a persona; ValueError naming what to write instead."""
    if not pointer.startswith("/") or re.search(r"~(?![01])", pointer):
        raise ValueError(
            f"{name} {pointer!r} is not a JSON Pointer: it starts with '/' and names fields by their path, such as "
            "'/system_prompt' or '/layers/llm/model' (write '~1' for a '/' in a name, '~0' for '~')"
        )
    segments = [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]
    if segments[0] not in PATCHABLE_FIELDS:
        close = difflib.get_close_matches(segments[0], PATCHABLE_FIELDS, n=1, cutoff=0.6)
        hint = f" (did you mean '/{close[0]}'?)" if close else ""
        raise ValueError(
            f"{name} {pointer!r} is not in a persona{hint}. A patch can change "
            + ", ".join(f"/{field}" for field in PATCHABLE_FIELDS)
        )
    if segments[0] == "layers" and len(segments) > 1 and segments[1] not in PersonaLayers.model_fields:
        raise ValueError(
            f"{name} {pointer!r}: {segments[1]!r} is not a layer; the layers are "
            + ", ".join(f"/layers/{layer}" for layer in PersonaLayers.model_fields)
        )
    return segments


def _typed_at(segments: list[str]) -> Any:
    """The type the create body gives the value at a path (a field, an item of a list, a layer or a layer's
    field); None below that, where Tavus judges."""
    if len(segments) == 1:
        return CreatePersonaRequest.model_fields[segments[0]].annotation
    if segments[0] in ("document_ids", "document_tags") and len(segments) == 2:
        return _Text
    if segments[0] == "layers" and len(segments) == 2:
        return PersonaLayers.model_fields[segments[1]].annotation
    if segments[0] == "layers" and len(segments) == 3:
        known = _nested_layer(segments[1]).model_fields.get(segments[2])
        return known.annotation if known is not None else None
    return None


def _shape(annotation: Any) -> dict[str, Any]:
    """What a value of this type looks like (its JSON schema), null aside: two paths of one shape take one value."""
    kinds = [arg for arg in get_args(annotation) if arg is not type(None)] if type(None) in get_args(annotation) else []
    schema: dict[str, Any] = TypeAdapter(kinds[0] if len(kinds) == 1 else annotation).json_schema()
    return schema


def _check_patch_value(segments: list[str], value: Any, path: str) -> None:
    """A value at a path the create body types is of that type, as it would be checked at creation."""
    annotation = _typed_at(segments)
    if annotation is None:
        return
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(f"/{part}" for part in first["loc"])
        message = str(first["msg"]).replace("Input should be", "must be").removeprefix("Value error, ")
        if first["type"] in ("string_too_short", "string_pattern_mismatch"):
            message = "must not be empty or blank"
        raise ValueError(f"value for {path}{where}: {message}") from None


def _nested_layer(name: str) -> type[_Layer]:
    annotation = PersonaLayers.model_fields[name].annotation
    return next(arg for arg in getattr(annotation, "__args__", ()) if isinstance(arg, type) and issubclass(arg, _Layer))


def _not_empty(value: Any) -> Any:
    if value == []:
        raise ValueError(
            "give at least one operation, such as {'op': 'replace', 'path': '/system_prompt', 'value': '...'}"
        )
    return value


class UpdatePersonaRequest(PersonaRef):
    """PATCH /v2/personas/{persona_id}: its body is the list of operations."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"persona_id", "operations"})

    operations: Annotated[list[PatchOperation], BeforeValidator(_not_empty)] = Field(
        min_length=1,
        description="A JSON Patch (RFC 6902), in order. replace and remove need the field to exist.",
    )

    def to_body(self) -> list[dict[str, Any]]:
        return [operation.model_dump(mode="json", by_alias=True, exclude_none=True) for operation in self.operations]


class GetPersonaRequest(PersonaRef):
    """GET /v2/personas/{persona_id}."""


class DeletePersonaRequest(PersonaRef):
    """DELETE /v2/personas/{persona_id}."""
