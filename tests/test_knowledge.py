"""Documents through the protocol (toolset `knowledge`): made from a URL, followed until Tavus has read them, listed,
renamed and deleted, against the emulator behind the recording upstream: the exact body and query Tavus received,
or nothing when the arguments are refused."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tavus_mcp.config import Settings
from tavus_mcp.sandbox import SANDBOX_API_KEY
from tavus_mcp.server import build_server
from tests.conftest import Sandbox, connect, text_of
from tests.test_wait import Progress

pytestmark = pytest.mark.anyio

URL = "https://example.com/product-sheet.pdf"
POLL = 0.05


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return text_of(result), result.structured_content


async def _create(client: Client, **arguments: Any) -> str:
    _, created = await _ok(client, "create_document", {"document_url": URL, **arguments})
    document_id: str = created["document_id"]
    return document_id


async def test_a_document_is_created_read_listed_renamed_and_deleted(mcp: Client, sandbox: Sandbox) -> None:
    sandbox.emulator.knowledge.document_seconds = 600  # still being read while this test looks at it
    arguments = {
        "document_url": URL,
        "document_name": "Product sheet",
        "tags": ["practice", "sales"],
        "callback_url": "https://example.com/hooks/documents",
        "crawl": {"depth": 2, "max_pages": 20},
    }
    text, created = await _ok(mcp, "create_document", arguments)
    document_id = created["document_id"]

    assert [seen.body for seen in sandbox.requests_to("POST", "/v2/documents")] == [arguments]
    assert text == (
        f"Created document {document_id} 'Product sheet': started: not usable yet (wait_for_document).\n"
        "Tavus reads it in the background, usually within a few minutes. Call wait_for_document once with "
        f"document_id '{document_id}', then pass it in create_conversation's document_ids. Documents cost nothing."
    )
    assert created["status"] == "started" and created["tags"] == ["practice", "sales"]

    text, got = await _ok(mcp, "get_document", {"document_id": document_id})
    assert text.splitlines()[:3] == [
        f"Document {document_id} 'Product sheet': started: not usable yet (wait_for_document).",
        f"From {URL}",
        "Tags: practice, sales.",
    ]
    assert got["document_id"] == document_id

    text, listed = await _ok(
        mcp,
        "list_documents",
        {"limit": 5, "page": 0, "sort": "descending", "status": "started", "name_or_uuid": "product", "tags": "sales"},
    )
    [query] = [seen.query for seen in sandbox.requests_to("GET", "/v2/documents")]
    assert query == {
        "limit": "5",
        "page": "0",
        "sort": "descending",
        "status": "started",
        "name_or_uuid": "product",
        "tags": "sales",
    }
    assert text.splitlines()[0] == "1 documents in all; page 0 (pages count from 0) shows 1:"
    assert [document["document_id"] for document in listed["documents"]] == [document_id]
    assert "next_page" not in listed

    text, updated = await _ok(
        mcp, "update_document", {"document_id": document_id, "document_name": "Sheet v2", "tags": ["v2"]}
    )
    assert [seen.body for seen in sandbox.requests_to("PATCH", f"/v2/documents/{document_id}")] == [
        {"document_name": "Sheet v2", "tags": ["v2"]}
    ]
    assert text.splitlines()[0] == f"Updated document {document_id}."
    assert updated["document_name"] == "Sheet v2" and updated["tags"] == ["v2"]

    text, deleted = await _ok(mcp, "delete_document", {"document_id": document_id})
    assert text == (
        f"Deleted document {document_id}: it cannot be recovered, and calls and personas that name it no longer get it."
    )
    assert deleted == {"document_id": document_id}
    assert len(sandbox.requests_to("DELETE", f"/v2/documents/{document_id}")) == 1


async def test_wait_for_document_reports_progress_until_it_is_ready(sandbox: Sandbox) -> None:
    sandbox.emulator.knowledge.document_seconds = 1.0
    progress = Progress()
    async with connect(sandbox.settings(poll_interval=POLL)) as client:
        document_id = await _create(client, document_name="Sheet")
        result = await client.call_tool("wait_for_document", {"document_id": document_id}, progress_callback=progress)

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "ready" and result.structured_content["finished"] is True
    assert text_of(result).splitlines()[0] == (
        f"Document {document_id} 'Sheet': ready: pass its id in document_ids (create_conversation or a persona)."
    )
    messages = [message or "" for message in progress.messages]
    # From started (or already processing) through rising percentages to ready, each change reported once.
    assert (
        messages[-1]
        == f"Document {document_id} 'Sheet': ready: pass its id in document_ids (create_conversation or a persona)"
    )
    assert any("processing" in message for message in messages[:-1])
    percentages = [int(m.split(", ")[1].split("%")[0]) for m in messages if "processing, " in m]
    assert percentages == sorted(percentages) and len(set(percentages)) == len(percentages)
    values = [value for value, _, _ in progress.seen]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert {total for _, total, _ in progress.seen} == {300.0}


async def test_a_document_tavus_cannot_read_ends_the_wait_with_the_reason(sandbox: Sandbox) -> None:
    sandbox.emulator.knowledge.document_seconds = 0.4
    async with connect(sandbox.settings(poll_interval=POLL)) as client:
        document_id = await _create(client, document_url="https://example.com/setup.exe", document_name="Setup")
        text, outcome = await _ok(client, "wait_for_document", {"document_id": document_id})

    assert text.splitlines()[0] == (
        f"Document {document_id} 'Setup': failed (file_format_unsupported): check the URL, or try another file."
    )
    assert outcome["status"] == "error" and outcome["finished"] is True


async def test_the_wait_ends_at_its_bound_saying_where_the_document_stands(sandbox: Sandbox) -> None:
    sandbox.emulator.knowledge.document_seconds = 600
    async with connect(sandbox.settings(poll_interval=POLL)) as client:
        document_id = await _create(client)
        text, outcome = await _ok(client, "wait_for_document", {"document_id": document_id, "max_wait_seconds": 1})

    assert outcome["finished"] is False and outcome["status"] in ("started", "processing")
    assert text.endswith(
        "This wait's limit (1 s) was reached before Tavus finished reading it. Large files and crawls take longer: "
        "call wait_for_document again in a few minutes, or get_document."
    )


async def test_an_unknown_document_is_named_with_where_to_find_the_right_one(mcp: Client) -> None:
    result = await mcp.call_tool("get_document", {"document_id": "d0-000000000000"})

    assert result.is_error
    assert text_of(result) == (
        "document d0-000000000000: Tavus does not know this id (HTTP 404: Document not found). It may be mistyped or "
        "deleted: find the right id with list_documents."
    )


async def test_the_sandbox_has_a_ready_document_to_list(mcp: Client) -> None:
    text, listed = await _ok(mcp, "list_documents", {})
    assert text == (
        "1 documents in all; page 0 (pages count from 0) shows 1:\n"
        "- d8-5c71baca86fc 'Pricing sheet': ready: pass its id in document_ids (create_conversation or a persona)"
    )
    assert listed["page"] == 0


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        (
            "create_document",
            {"document_url": "ftp://example.com/sheet.pdf"},
            "- document_url: 'ftp://example.com/sheet.pdf' is not an absolute http(s) URL; give the full address of "
            "the document, such as 'https://example.com/product-sheet.pdf'",
        ),
        (
            "create_document",
            {"document_url": URL, "callback_url": "javascript:alert(1)"},
            "- callback_url: 'javascript:alert(1)' is not an absolute http(s) URL; give the full address that "
            "receives the webhooks, such as 'https://example.com/tavus/webhook'",
        ),
        ("create_document", {"document_url": URL, "crawl": {"depth": 11}}, "- crawl.depth: must be at most 10, got 11"),
        (
            "create_document",
            {"document_url": URL, "tags": [" "]},
            "- tags.0: must not be empty or blank; leave the field out instead",
        ),
        ("create_document", {}, "- document_url: is required"),
        (
            "update_document",
            {"document_id": "d8-5c71baca86fc"},
            "- arguments: give document_name, tags or both: they are all a document update can change",
        ),
        (
            "get_document",
            {"document_id": "../personas"},
            "- document_id: '../personas' is not a document id: ids are letters, digits, '-' and '_', such as "
            "'d8-5c71baca86fc'. Copy it from create_document's or list_documents' result",
        ),
        ("list_documents", {"page": -1}, "- page: must be at least 0, got -1"),
        (
            "list_documents",
            {"status": "done"},
            "- status: must be 'started', 'processing', 'ready', 'error' or 'recrawling'; got 'done'",
        ),
        (
            "list_documents",
            {"tags": "sales,,x"},
            "- tags: 'sales,,x' has an empty tag; give tags separated by commas, such as 'sales,pricing'",
        ),
        (
            "wait_for_document",
            {"document_id": "d1", "max_wait_seconds": 901},
            "- max_wait_seconds: must be at most 900, got 901",
        ),
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


# Over stdio a process apiece: cancellation over stdio is quick in test_wait.py, for wait_for_conversation.
@pytest.mark.parametrize("way", ["memory", pytest.param("stdio", marks=[pytest.mark.stdio, pytest.mark.slow])])
async def test_a_cancelled_wait_stops_asking_tavus(sandbox: Sandbox, way: str) -> None:
    """The client gives up on wait_for_document (notifications/cancelled) and the server stops polling."""
    sandbox.emulator.knowledge.document_seconds = 600
    env = {
        "TAVUS_API_KEY": SANDBOX_API_KEY,
        "TAVUS_API_BASE_URL": sandbox.base_url,
        "TAVUS_POLL_INTERVAL": "0.05",
        "TAVUS_LOG_LEVEL": "WARNING",
    }
    server: Any = (
        build_server(Settings.from_env(env).validated())
        if way == "memory"
        else StdioServerParameters(command=sys.executable, args=["-m", "tavus_mcp"], env=env)
    )
    async with Client(server, read_timeout_seconds=30) as client:
        document_id = await _create(client)
        path = f"/v2/documents/{document_id}"
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "wait_for_document", {"document_id": document_id})
                # The emulator counts requests on its own thread: there is no event to wait on.
                while len(sandbox.requests_to("GET", path)) < 3:  # noqa: ASYNC110
                    await anyio.sleep(0.02)
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught, "the wait never polled"
        # Let a poll already under way land, then check that no more come.
        await anyio.sleep(0.5)
        polled = len(sandbox.requests_to("GET", path))
        await anyio.sleep(1.0)
        assert len(sandbox.requests_to("GET", path)) == polled
        listed = await client.call_tool("list_documents", {})
        assert not listed.is_error
