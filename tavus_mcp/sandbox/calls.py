"""How a played call moves (as in `mcp-server-tavus --sandbox`): it waits, the replica joins, a short scripted
exchange, the shutdown, then the events Tavus adds once the call is processed (transcript, recording, perception).
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def _sandbox_transcript(
    stored: dict[str, Any], call_seconds: float, personas: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What Tavus would send after a call; in the sandbox nobody talked, and the transcript says so."""
    request = stored["request"]
    persona = next((p for p in personas if p["persona_id"] == stored["persona_id"]), None)
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
        turns, started = _scripted_exchange(stored, call_seconds)
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


def play(stored: dict[str, Any], call_seconds: float, personas: list[dict[str, Any]]) -> None:
    """Bring a played call up to where its clock says it is (with the lock held, before answering about it)."""
    began = stored.get("played_from")
    if began is None or stored["deleted"] or _has_event(stored, "application.transcription_ready"):
        return
    share = (time.monotonic() - began) / call_seconds if call_seconds > 0 else math.inf
    if stored["status"] == "active":
        if share >= _JOINS_AT and not _has_event(stored, "system.replica_joined"):
            stored["events"].append(_event("system.replica_joined", None))
        if share >= _SHUTS_DOWN_AT:
            stored["status"] = "ended"
            stored["updated_at"] = _now()
            # `shutdown_reason`, as in webhooks (end_conversation's answer uses the get example's `reason`).
            stored["events"].append(_event("system.shutdown", {"shutdown_reason": "participant_left_timeout reached"}))
    if stored["status"] == "ended" and share >= 1:
        stored["events"].extend(after_the_call(stored, call_seconds, personas))


def _scripted_exchange(
    stored: dict[str, Any], call_seconds: float
) -> tuple[list[tuple[str, str, float, float]], float]:
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
    step = (_SHUTS_DOWN_AT - _JOINS_AT) * call_seconds / len(lines)
    began = datetime.fromisoformat(stored["created_at"].replace("Z", "+00:00")).timestamp()
    turns = [
        ("assistant" if index % 2 == 0 else "user", line, round(index * step, 2), round(step * 0.9, 2))
        for index, line in enumerate(lines)
    ]
    return turns, began + _JOINS_AT * call_seconds


def after_the_call(stored: dict[str, Any], call_seconds: float, personas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events Tavus adds once a call has ended: transcript, and a recording and perception if set up."""
    events = []
    if not any(e["event_type"] == "application.transcription_ready" for e in stored["events"]):
        events.append(
            _event(
                "application.transcription_ready", {"transcript": _sandbox_transcript(stored, call_seconds, personas)}
            )
        )
    recording = _recording(stored["conversation_id"], stored["request"].get("properties", {}))
    if recording:
        events.append(_event("application.recording_ready", recording))
    persona = next((p for p in personas if p["persona_id"] == stored["persona_id"]), {})
    perception = persona.get("layers", {}).get("perception", {}).get("perception_model", "")
    if str(perception).startswith("raven"):
        analysis = "(Sandbox: nobody joined, so there was nothing to see.)"
        events.append(_event("application.perception_analysis", {"analysis": analysis}))
    return events
