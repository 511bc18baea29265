"""Personas: the body of POST /v2/personas with its pipeline layers, the requests that name or list personas, and
Tavus's answers about them (credentials redacted).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tavus_mcp.models.common import (
    _LIMIT_DESCRIPTION,
    _PAGE_DESCRIPTION,
    ApiRequest,
    NonEmptyString,
    PageLimit,
    PageNumber,
    _merged,
    _Response,
    path_id,
)
from tavus_mcp.redaction import redact_secrets, without_credentials


class ListPersonasRequest(ApiRequest):
    """GET /v2/personas."""

    limit: PageLimit | None = Field(None, description=_LIMIT_DESCRIPTION)
    page: PageNumber | None = Field(None, description=_PAGE_DESCRIPTION)
    persona_type: Literal["user", "system"] | None = Field(
        None,
        description="'system': Tavus's stock; 'user': the account's own.",
    )


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
        # client, wherever Tavus puts them, nor wherever else in the persona they were copied (a prompt, a note).
        return without_credentials(data) if isinstance(data, dict) else redact_secrets(data)


class PersonaPage(_Response):
    data: list[Persona] = Field(default_factory=list)
    total_count: int | None = None


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
            "Who the replica plays and how, to stay in character and speak in short turns. Needed unless "
            "pipeline_mode is 'echo'."
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


class GetPersonaRequest(PersonaRef):
    """GET /v2/personas/{persona_id}."""


class DeletePersonaRequest(PersonaRef):
    """DELETE /v2/personas/{persona_id}."""
