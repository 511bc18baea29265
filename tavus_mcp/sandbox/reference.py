"""What the emulator knows of the API, written from Tavus's reference (the OpenAPI document and the notes kept
beside it), never from the server's models: each operation's fields and their JSON types, query parameters,
enumerated values, languages, and the fields of each answer. tests/test_openapi.py checks these tables against the
OpenAPI document.
"""

from __future__ import annotations

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
