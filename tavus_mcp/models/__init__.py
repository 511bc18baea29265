"""The shapes of the Tavus conversation API, as pydantic models.

The request models are strict (unknown fields are rejected) and carry descriptions written for the model that
fills them in: they are the tools' input schemas as well as their validators. The response models are lenient
(Tavus adds fields over time), so a newer Tavus never breaks a call.

- `common`: the request and answer bases, whole-number bounds, paging, path ids, query parameters, URL checks.
- `languages`: the languages Tavus speaks, and their spelling.
- `conversations`, `replicas`, `personas`: each resource's requests and answers.
- `patches`: the JSON Patch operations that update a persona.

The names below are re-exported for code written before the split; new code imports from the submodule.
"""

from tavus_mcp.models.common import MAX_WHOLE_NUMBER, ApiRequest, query_params
from tavus_mcp.models.conversations import (
    DEFAULT_WAIT_SECONDS,
    Conversation,
    ConversationDetails,
    ConversationEvent,
    ConversationPage,
    CreateConversationRequest,
    DeleteConversationRequest,
    EndConversationRequest,
    GetConversationRequest,
    ListConversationsRequest,
    Recording,
    TranscriptTurn,
    WaitForConversationRequest,
)
from tavus_mcp.models.languages import LANGUAGE_CODES, MULTILINGUAL, SUPPORTED_LANGUAGES
from tavus_mcp.models.patches import UpdatePersonaRequest
from tavus_mcp.models.personas import (
    CreatePersonaRequest,
    DeletePersonaRequest,
    GetPersonaRequest,
    ListPersonasRequest,
    Persona,
    PersonaLayers,
    PersonaPage,
    PersonaRef,
)
from tavus_mcp.models.replicas import ListReplicasRequest, Replica, ReplicaPage

__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "LANGUAGE_CODES",
    "MAX_WHOLE_NUMBER",
    "MULTILINGUAL",
    "SUPPORTED_LANGUAGES",
    "ApiRequest",
    "Conversation",
    "ConversationDetails",
    "ConversationEvent",
    "ConversationPage",
    "CreateConversationRequest",
    "CreatePersonaRequest",
    "DeleteConversationRequest",
    "DeletePersonaRequest",
    "EndConversationRequest",
    "GetConversationRequest",
    "GetPersonaRequest",
    "ListConversationsRequest",
    "ListPersonasRequest",
    "ListReplicasRequest",
    "Persona",
    "PersonaLayers",
    "PersonaPage",
    "PersonaRef",
    "Recording",
    "Replica",
    "ReplicaPage",
    "TranscriptTurn",
    "UpdatePersonaRequest",
    "WaitForConversationRequest",
    "query_params",
]
