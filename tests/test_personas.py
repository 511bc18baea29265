"""Personas through the protocol: create, get, update (a JSON Patch) and delete against the emulator, checked as
create_conversation is, and never showing a credential that a persona's layers hold, whoever put it there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tests.conftest import Sandbox, text_of
from tests.upstream import Fault

pytestmark = pytest.mark.anyio

REPLICA = "rfe12d8b9597"
# Third-party credentials a persona can carry: none of them may ever come back.
LLM_KEY = "sk-practice-llm-key-0123456789"
TTS_KEY = "tts-practice-key-9876543210"
BEARER = "Bearer hdr-token-abcdef123456"
SECRETS = (LLM_KEY, TTS_KEY, BEARER, "hdr-token-abcdef123456")
PERSONA: dict[str, Any] = {
    "persona_name": "Skeptical buyer",
    "system_prompt": "You are a skeptical buyer of project software. Push back on price; stay in character.",
    "default_replica_id": REPLICA,
    "document_tags": ["pricing"],
    "layers": {
        "llm": {"model": "my-llm", "base_url": "https://llm.example.com/v1", "api_key": LLM_KEY},
        "tts": {"tts_engine": "cartesia", "api_key": TTS_KEY, "external_voice_id": "voice-1"},
        "perception": {"perception_model": "raven-1"},
    },
}


def _shown(result: Any) -> str:
    """Everything a client receives from a result: its text and its structured content."""
    return text_of(result) + json.dumps(result.structured_content)


async def _create(mcp: Client, arguments: dict[str, Any] | None = None) -> str:
    result = await mcp.call_tool("create_persona", arguments or PERSONA)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    persona_id: str = result.structured_content["persona_id"]
    return persona_id


async def test_a_persona_is_created_read_updated_and_deleted(mcp: Client, sandbox: Sandbox) -> None:
    created = await mcp.call_tool("create_persona", PERSONA)

    assert not created.is_error, text_of(created)
    assert created.structured_content is not None
    persona_id = created.structured_content["persona_id"]
    assert text_of(created) == (
        f"Created persona {persona_id} ('Skeptical buyer').\n"
        f"Start a call with it: create_conversation with persona_id '{persona_id}' (its default replica is "
        f"{REPLICA})."
    )
    stored = next(p for p in sandbox.emulator.personas if p["persona_id"] == persona_id)
    assert created.structured_content == {
        "persona_id": persona_id,
        "persona_name": "Skeptical buyer",
        "created_at": stored["created_at"],
    }
    # Tavus gets the credentials it is given: only what comes back is redacted.
    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/personas")] == [PERSONA]

    got = await mcp.call_tool("get_persona", {"persona_id": persona_id})

    assert not got.is_error, text_of(got)
    assert got.structured_content is not None
    layers = {
        "llm": {"model": "my-llm", "base_url": "https://llm.example.com/v1", "api_key": "[redacted]"},
        "tts": {"tts_engine": "cartesia", "api_key": "[redacted]", "external_voice_id": "voice-1"},
        "perception": {"perception_model": "raven-1"},
    }
    assert text_of(got).splitlines() == [
        f"Persona {persona_id} 'Skeptical buyer': default replica {REPLICA}.",
        f"Created {stored['created_at']}, updated {stored['updated_at']}.",
        f"System prompt: {PERSONA['system_prompt']}",
        "Documents: tags pricing.",
        # In the order Tavus answered with: the server sends the layers in the order of the API's schema.
        f"Layers (credentials redacted): {json.dumps(got.structured_content['layers'])}",
        "update_persona changes it by JSON Patch, with paths as shown here, such as /system_prompt.",
    ]
    assert got.structured_content == {
        "persona_id": persona_id,
        "persona_name": "Skeptical buyer",
        "system_prompt": PERSONA["system_prompt"],
        "default_replica_id": REPLICA,
        "document_tags": ["pricing"],
        "layers": layers,
        "created_at": stored["created_at"],
        "updated_at": stored["updated_at"],
    }

    patch = [
        {"op": "replace", "path": "/system_prompt", "value": "You are a hurried buyer."},
        {"op": "add", "path": "/document_tags/-", "value": "objections"},
        {"op": "remove", "path": "/layers/perception"},
    ]
    updated = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": patch})

    assert not updated.is_error, text_of(updated)
    assert text_of(updated) == (
        f"Updated persona {persona_id}: replace /system_prompt; add /document_tags/-; remove /layers/perception. "
        "get_persona shows it as it is now."
    )
    assert updated.structured_content == {"persona_id": persona_id, "changed": True}
    assert [seen.body for seen in sandbox.requests_to("PATCH", f"/v2/personas/{persona_id}")] == [patch]
    again = await mcp.call_tool("get_persona", {"persona_id": persona_id})
    assert again.structured_content is not None
    assert again.structured_content["system_prompt"] == "You are a hurried buyer."
    assert again.structured_content["document_tags"] == ["pricing", "objections"]
    assert set(again.structured_content["layers"]) == {"llm", "tts"}

    deleted = await mcp.call_tool("delete_persona", {"persona_id": persona_id})

    assert not deleted.is_error, text_of(deleted)
    assert text_of(deleted) == (
        f"Deleted persona {persona_id}: it cannot be recovered, and no new conversation can use it."
    )
    assert deleted.structured_content == {"persona_id": persona_id}
    assert len(sandbox.requests_to("DELETE", f"/v2/personas/{persona_id}")) == 1
    gone = await mcp.call_tool("get_persona", {"persona_id": persona_id})
    assert gone.is_error
    assert text_of(gone) == (
        f"persona {persona_id}: Tavus does not know this id (HTTP 400: Invalid persona_id). It may be mistyped or "
        "deleted: find the right id with list_personas."
    )


async def test_a_new_persona_starts_a_call_with_its_default_replica(mcp: Client, sandbox: Sandbox) -> None:
    persona_id = await _create(mcp)

    result = await mcp.call_tool("create_conversation", {"persona_id": persona_id, "test_mode": True})

    assert not result.is_error, text_of(result)
    assert sandbox.creates() == [{"persona_id": persona_id, "test_mode": True}]
    [conversation] = sandbox.emulator.conversations.values()
    assert conversation["replica_id"] == REPLICA


async def test_without_a_default_replica_the_persona_says_a_call_needs_one(mcp: Client) -> None:
    created = await mcp.call_tool("create_persona", {"system_prompt": "You are a patient tutor."})

    assert not created.is_error, text_of(created)
    assert created.structured_content is not None
    persona_id = created.structured_content["persona_id"]
    assert text_of(created) == (
        f"Created persona {persona_id}.\n"
        f"Start a call with it: create_conversation with persona_id '{persona_id}', and a replica_id: it has no "
        "default replica."
    )


# No credential is ever shown


async def test_no_credential_is_shown_in_any_answer_about_a_persona(mcp: Client, sandbox: Sandbox) -> None:
    with_header = {**PERSONA, "layers": {**PERSONA["layers"], "llm": {**PERSONA["layers"]["llm"]}}}
    with_header["layers"]["llm"]["headers"] = {"Authorization": BEARER}
    persona_id = await _create(mcp, with_header)
    results = [
        await mcp.call_tool("get_persona", {"persona_id": persona_id}),
        await mcp.call_tool("list_personas", {"limit": 100}),
        await mcp.call_tool(
            "update_persona",
            {
                "persona_id": persona_id,
                "operations": [
                    {"op": "replace", "path": "/layers/llm/api_key", "value": LLM_KEY + "-new"},
                    {"op": "add", "path": "/layers/tts", "value": {"tts_engine": "elevenlabs", "api_key": TTS_KEY}},
                ],
            },
        ),
        await mcp.call_tool("get_persona", {"persona_id": persona_id}),
    ]

    for result in results:
        assert not result.is_error, text_of(result)
        assert not any(secret in _shown(result) for secret in SECRETS), _shown(result)
    # The stock Sales Coach persona's keys too.
    assert "[redacted]" in _shown(results[1]) and "sk-sandbox-llm-secret-0001" not in _shown(results[1])
    # And what Tavus now holds is what was sent.
    stored = next(p for p in sandbox.emulator.personas if p["persona_id"] == persona_id)
    assert stored["layers"]["llm"]["api_key"] == LLM_KEY + "-new"
    assert stored["layers"]["tts"] == {"tts_engine": "elevenlabs", "api_key": TTS_KEY}


@pytest.mark.parametrize(
    ("op", "source", "target", "name"),
    [
        ("copy", "/layers/llm/api_key", "/layers/llm/notes", "api_key"),
        ("copy", "/layers/llm/api_key", "/system_prompt", "api_key"),
        ("move", "/layers/tts/api_key", "/persona_name", "api_key"),
        ("copy", "/layers/llm/headers/Authorization", "/layers/llm/extra_body/note", "Authorization"),
        ("move", "/layers/llm/extra_body/client_secret/0", "/document_tags/-", "client_secret"),
    ],
)
async def test_a_patch_may_not_copy_or_move_a_credential(
    mcp: Client, sandbox: Sandbox, op: str, source: str, target: str, name: str
) -> None:
    # Answers never show a credential's field: a copy elsewhere would show its value. Refused before sending.
    operations = [
        {"op": "replace", "path": "/persona_name", "value": "Buyer"},
        {"op": op, "from": source, "path": target},
    ]

    result = await mcp.call_tool("update_persona", {"persona_id": "p9a95912", "operations": operations})

    assert result.is_error
    assert text_of(result).splitlines() == [
        "Invalid arguments for update_persona; nothing was sent to Tavus. Fix these and call it again:",
        f"- operations.1: {op} from {source!r}: {name!r} is a credential, which a patch cannot copy or move (the "
        "copy would be shown where the credential never is); give the other field its own value with add or replace",
    ]
    assert sandbox.emulator.received == []


async def test_a_credential_found_elsewhere_in_a_persona_is_scrubbed_there_too(mcp: Client, sandbox: Sandbox) -> None:
    # Tavus already holds a persona whose credentials were copied into fields that answers show (before this server
    # refused such patches, or by another client): every credential value is scrubbed wherever it appears.
    persona_id = await _create(mcp)
    stored = next(p for p in sandbox.emulator.personas if p["persona_id"] == persona_id)
    pair_secret, short_key = "hdr-pair-secret-77", "k9x"
    stored["system_prompt"] = f"You are a buyer. If asked, the LLM key is {LLM_KEY}."
    stored["persona_name"] = TTS_KEY
    stored["document_tags"] = ["pricing", pair_secret]
    stored["layers"]["llm"]["notes"] = {"copied": LLM_KEY, "escaped": "".join(f"\\u{ord(c):04x}" for c in LLM_KEY)}
    stored["layers"]["llm"]["extra_body"] = {"headers": [{"name": "X-Api-Key", "value": pair_secret}]}
    stored["layers"]["stt"] = {"api_key": short_key, "hotwords": short_key}

    results = [
        await mcp.call_tool("get_persona", {"persona_id": persona_id}),
        await mcp.call_tool("list_personas", {"limit": 100}),
    ]

    for result in results:
        assert not result.is_error, text_of(result)
        shown = _shown(result)
        assert not any(secret in shown for secret in (*SECRETS, pair_secret)), shown
    got = results[0].structured_content
    assert got is not None
    assert got["system_prompt"] == "You are a buyer. If asked, the LLM key is [redacted]."
    assert got["persona_name"] == "[redacted]"
    assert got["document_tags"] == ["pricing", "[redacted]"]
    assert got["layers"]["llm"]["notes"] == {"copied": "[redacted]", "escaped": "[redacted]"}
    # A credential too short to be looked for inside text is still replaced where it is a whole value.
    assert got["layers"]["stt"] == {"api_key": "[redacted]", "hotwords": "[redacted]"}
    assert text_of(results[0]).splitlines()[0] == f"Persona {persona_id} '[redacted]': default replica {REPLICA}."


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_an_error_that_quotes_the_request_does_not_repeat_its_credentials(
    mcp: Client, sandbox: Sandbox, method: str
) -> None:
    persona_id = await _create(mcp) if method == "PATCH" else "p0"
    echo = {"error": f"Invalid layers: {json.dumps(PERSONA['layers'])} (Authorization: {BEARER})"}
    sandbox.faults.append(
        Fault(status=400, body=json.dumps(echo), content_type="application/json", method=method, path="/v2/personas")
    )
    if method == "POST":
        arguments = {**PERSONA, "layers": {**PERSONA["layers"], "llm": {"api_key": LLM_KEY, "headers": {}}}}
        arguments["layers"]["llm"]["headers"] = {"Authorization": BEARER}
        result = await mcp.call_tool("create_persona", arguments)
    else:
        operations = [
            {"op": "replace", "path": "/layers/llm/api_key", "value": LLM_KEY},
            {"op": "replace", "path": "/layers/tts", "value": {"api_key": TTS_KEY}},
            {"op": "add", "path": "/layers/llm/headers", "value": {"Authorization": BEARER}},
        ]
        result = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": operations})

    assert result.is_error
    assert not any(secret in text_of(result) for secret in SECRETS), text_of(result)
    assert "Tavus rejected the request (HTTP 400): Invalid layers: " in text_of(result)
    assert '"api_key": "[redacted]"' in text_of(result)


async def test_the_requests_credentials_are_scrubbed_in_any_encoding_tavus_echoes_them(
    mcp: Client, sandbox: Sandbox
) -> None:
    password, prompt_key = "llm-pass-9081x", "crm-8f7e6d5c4b3a"
    arguments = {
        "system_prompt": f"Call the CRM with CRM_API_KEY={prompt_key} when asked.",
        "layers": {"llm": {"base_url": f"https://u:{password}@llm.example.test/v1", "api_key": LLM_KEY}},
    }
    escaped = "".join(f"\\u{ord(char):04x}" for char in LLM_KEY)
    percent = "".join(f"%{ord(char):02x}" for char in password)
    body = f'{{"error": "rejected: key {escaped}, url {percent}, prompt CRM_API_KEY={prompt_key}"}}'
    sandbox.faults.append(
        Fault(status=400, body=body, content_type="application/json", method="POST", path="/v2/personas")
    )

    result = await mcp.call_tool("create_persona", arguments)

    assert result.is_error
    assert text_of(result) == (
        "Tavus rejected the request (HTTP 400): rejected: key [redacted], url [redacted], prompt "
        "CRM_API_KEY=[redacted]. Nothing was created. Correct it and try again."
    )
    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/personas")] == [arguments]


# Checked before anything is sent


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        (
            "create_persona",
            {"persona_name": "Buyer"},
            "- arguments: system_prompt is required (unless pipeline_mode is 'echo'): write the replica's "
            "instructions, such as 'You are a skeptical buyer of project software. Push back on price; stay in "
            "character.'",
        ),
        (
            "create_persona",
            {"system_prompt": "  "},
            "- system_prompt: must not be empty or blank; leave the field out instead",
        ),
        (
            "create_persona",
            {"system_prompt": "x", "pipeline_mode": "half"},
            "- pipeline_mode: must be 'full' or 'echo'; got 'half'",
        ),
        (
            "create_persona",
            {"system_prompt": "x", "layers": {"lmm": {"model": "x"}}},
            "- layers.lmm: unknown field. Did you mean 'llm'? Allowed here: conversational_flow, llm, perception, "
            "stt, tts. If Tavus has added it since this server was released, its operator can let it through with "
            "TAVUS_PASSTHROUGH_FIELDS",
        ),
        (
            "create_persona",
            {"system_prompt": "x", "layers": {"perception": {"perception_model": "raven-2"}}},
            "- layers.perception.perception_model: must be 'raven-1', 'raven-0' or 'off'; got 'raven-2'",
        ),
        (
            "create_persona",
            {"system_prompt": "x", "persona_id": "p1"},
            "- persona_id: unknown field. Did you mean 'persona_name'? Allowed here: default_replica_id, "
            "document_ids, document_tags, guardrails_id, layers, objectives_id, persona_name, pipeline_mode, "
            "system_prompt. If Tavus has added it since this server was released, its operator can let it through "
            "with TAVUS_PASSTHROUGH_FIELDS",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": []},
            "- operations: give at least one operation, such as {'op': 'replace', 'path': '/system_prompt', "
            "'value': '...'}",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "/name", "value": "x"}]},
            "- operations.0: path '/name' is not in a persona. A patch can change /persona_name, /system_prompt, "
            "/pipeline_mode, /default_replica_id, /document_ids, /document_tags, /objectives_id, /guardrails_id, "
            "/layers",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "system_prompt", "value": "x"}]},
            "- operations.0: path 'system_prompt' is not a JSON Pointer: it starts with '/' and names fields by "
            "their path, such as '/system_prompt' or '/layers/llm/model' (write '~1' for a '/' in a name, '~0' for "
            "'~')",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "/system_prompt~2", "value": "x"}]},
            "- operations.0: path '/system_prompt~2' is not a JSON Pointer: it starts with '/' and names fields by "
            "their path, such as '/system_prompt' or '/layers/llm/model' (write '~1' for a '/' in a name, '~0' for "
            "'~')",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "move", "path": "/persona_name", "from": ""}]},
            "- operations.0: from '' is not a JSON Pointer: it starts with '/' and names fields by their path, such "
            "as '/system_prompt' or '/layers/llm/model' (write '~1' for a '/' in a name, '~0' for '~')",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "remove", "path": "/layers/llm~1v2"}]},
            "- operations.0: path '/layers/llm~1v2': 'llm/v2' is not a layer; the layers are /layers/perception, "
            "/layers/stt, /layers/conversational_flow, /layers/llm, /layers/tts",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "/persona_nam", "value": "x"}]},
            "- operations.0: path '/persona_nam' is not in a persona (did you mean '/persona_name'?). A patch can "
            "change /persona_name, /system_prompt, /pipeline_mode, /default_replica_id, /document_ids, "
            "/document_tags, /objectives_id, /guardrails_id, /layers",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "add", "path": "/layers/voice", "value": {}}]},
            "- operations.0: path '/layers/voice': 'voice' is not a layer; the layers are /layers/perception, "
            "/layers/stt, /layers/conversational_flow, /layers/llm, /layers/tts",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "/pipeline_mode", "value": "half"}]},
            "- operations.0: value for /pipeline_mode: must be 'full' or 'echo'",
        ),
        (
            "update_persona",
            {
                "persona_id": "p9a95912",
                "operations": [{"op": "add", "path": "/layers/perception", "value": {"perception_model": "x"}}],
            },
            "- operations.0: value for /layers/perception/perception_model: must be 'raven-1', 'raven-0' or 'off'",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "replace", "path": "/system_prompt"}]},
            "- operations.0: op 'replace' needs a value (the new content at '/system_prompt')",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "remove", "path": "/system_prompt", "value": "x"}]},
            "- operations.0: op 'remove' takes no value; leave it out",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "move", "path": "/persona_name"}]},
            "- operations.0: op 'move' needs from: the pointer to move from, such as '/system_prompt'",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "merge", "path": "/persona_name", "value": "x"}]},
            "- operations.0.op: must be 'add', 'remove', 'replace', 'copy', 'move' or 'test'; got 'merge'",
        ),
        (
            "update_persona",
            {"persona_id": "p9a95912", "operations": [{"op": "move", "from": "/layers/llm", "path": "/persona_name"}]},
            "- operations.0: move from '/layers/llm' to '/persona_name': the two take different values; move only "
            "between fields of the same kind, or replace with the value itself",
        ),
        (
            "get_persona",
            {"persona_id": "../replicas"},
            "- persona_id: '../replicas' is not a persona id: ids are letters, digits, '-' and '_', such as "
            "'p9a95912'. Copy it from list_personas' or create_persona's result",
        ),
        ("delete_persona", {}, "- persona_id: is required"),
    ],
)
async def test_invalid_arguments_name_the_field_and_send_nothing(
    mcp: Client, sandbox: Sandbox, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    result = await mcp.call_tool(tool, arguments)

    assert result.is_error
    assert text_of(result).splitlines() == [
        f"Invalid arguments for {tool}; nothing was sent to Tavus. Fix these and call it again:",
        problem,
    ]
    assert sandbox.emulator.received == []


async def test_a_patch_that_changes_nothing_says_so(mcp: Client, sandbox: Sandbox) -> None:
    persona_id = await _create(mcp)
    same = [{"op": "replace", "path": "/persona_name", "value": PERSONA["persona_name"]}]

    result = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": same})

    assert not result.is_error, text_of(result)
    assert text_of(result) == (
        f"Tavus made no change to persona {persona_id} (HTTP 304): it already was as the patch asks."
    )
    assert result.structured_content == {"persona_id": persona_id, "changed": False}


async def test_a_patch_to_a_field_the_persona_lacks_is_tavuss_to_refuse(mcp: Client, sandbox: Sandbox) -> None:
    persona_id = await _create(mcp)
    missing = [{"op": "replace", "path": "/layers/stt/hotwords", "value": "Roey"}]

    result = await mcp.call_tool("update_persona", {"persona_id": persona_id, "operations": missing})

    assert result.is_error
    assert text_of(result) == (
        f"persona {persona_id}: Tavus rejected the request (HTTP 400): Invalid patch: a path does not exist in this "
        "persona (replace and remove need an existing field). Correct it and try again."
    )


async def test_a_create_that_may_have_reached_tavus_is_not_repeated(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault(status=502, method="POST", path="/v2/personas", after_handling=True))

    result = await mcp.call_tool("create_persona", PERSONA)

    assert result.is_error
    assert text_of(result).endswith(
        "The persona may have been created anyway: check with list_personas before creating another."
    )
    assert len(sandbox.requests_to("POST", "/v2/personas")) == 1


@pytest.mark.parametrize("answer", ["bare", "empty"])
async def test_get_persona_reads_a_bare_persona_and_refuses_an_empty_list(
    mcp: Client, sandbox: Sandbox, answer: str
) -> None:
    persona = {"persona_id": "p9a95912", "persona_name": "Sales Coach", "layers": {"llm": {"api_key": LLM_KEY}}}
    body = persona if answer == "bare" else {"data": []}
    sandbox.faults.append(Fault(status=200, body=json.dumps(body), content_type="application/json", method="GET"))

    result = await mcp.call_tool("get_persona", {"persona_id": "p9a95912"})

    if answer == "bare":
        assert not result.is_error, text_of(result)
        assert result.structured_content == {**persona, "layers": {"llm": {"api_key": "[redacted]"}}}
    else:
        assert result.is_error
        assert text_of(result) == (
            "persona p9a95912: Tavus answered, but the answer could not be read: Tavus answered GET "
            "/v2/personas/p9a95912 with 0 personas instead of one. Try again shortly."
        )
