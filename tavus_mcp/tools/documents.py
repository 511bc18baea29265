"""The knowledge tools: documents a replica consults during a call, made from a URL, followed until Tavus has read
them, listed, renamed and deleted. Nothing here is billed."""

from __future__ import annotations

import math
import time

import anyio
from pydantic import BaseModel

from tavus_mcp.models.documents import (
    DEFAULT_DOCUMENT_WAIT_SECONDS,
    DOCUMENT_DONE,
    CreateDocumentRequest,
    DeleteDocumentRequest,
    Document,
    DocumentRef,
    GetDocumentRequest,
    ListDocumentsRequest,
    UpdateDocumentRequest,
    WaitForDocumentRequest,
)
from tavus_mcp.tools.confirm import Confirmation, ConfirmForm
from tavus_mcp.tools.state import AppState, ToolOutput, naming

# The reference's list pages count from 0, its page size is 10 by default.
FIRST_DOCUMENT_PAGE = 0
DEFAULT_DOCUMENT_LIMIT = 10


class DocumentList(BaseModel):
    page: int
    limit: int
    total_count: int | None = None
    next_page: int | None = None
    documents: list[Document]


class DocumentDeleted(BaseModel):
    document_id: str


class DocumentWait(Document):
    finished: bool
    waited_seconds: float


def _dump(model: BaseModel) -> dict[str, object]:
    return model.model_dump(mode="json", exclude_none=True)


def _state(document: Document) -> str:
    """Where a document stands, in words, with what to do with it."""
    if document.status == "ready":
        return "ready: pass its id in document_ids (create_conversation or a persona)"
    if document.status == "error":
        return f"failed ({document.error_message or 'no reason given'}): check the URL, or try another file"
    progress = f", {document.progress}%" if document.progress is not None else ""
    return f"{document.status or 'unknown'}{progress}: not usable yet (wait_for_document)"


def _line(document: Document) -> str:
    name = f" {document.document_name!r}" if document.document_name else ""
    return f"{document.document_id}{name}: {_state(document)}"


async def create_document(state: AppState, request: CreateDocumentRequest) -> ToolOutput:
    document = await state.tavus.create_document(request)
    text = (
        f"Created document {_line(document)}.\n"
        f"Tavus reads it in the background, usually within a few minutes. Call wait_for_document once with "
        f"document_id {document.document_id!r}, then pass it in create_conversation's document_ids. Documents "
        "cost nothing."
    )
    return ToolOutput(text, _dump(document))


async def get_document(state: AppState, request: GetDocumentRequest) -> ToolOutput:
    with naming(state, "document", request.document_id):
        document = await state.tavus.get_document(request)
    return ToolOutput(_details(document), _dump(document))


def _details(document: Document) -> str:
    # The URL, tags and times are kept as Tavus gives them (not in the output schema, to spare context).
    extra = document.model_extra or {}
    lines = [f"Document {_line(document)}."]
    if extra.get("document_url"):
        lines.append(f"From {extra['document_url']}")
    if isinstance(extra.get("tags"), list) and extra["tags"]:
        lines.append(f"Tags: {', '.join(map(str, extra['tags']))}.")
    if extra.get("created_at"):
        updated = f", updated {extra['updated_at']}" if extra.get("updated_at") else ""
        lines.append(f"Created {extra['created_at']}{updated}.")
    return "\n".join(lines)


async def list_documents(state: AppState, request: ListDocumentsRequest) -> ToolOutput:
    page = await state.tavus.list_documents(request)
    number = request.page if request.page is not None else FIRST_DOCUMENT_PAGE
    limit = request.limit or DEFAULT_DOCUMENT_LIMIT
    total = page.total_count
    more = (number + 1) * limit < total if total is not None else len(page.data) == limit
    listed = DocumentList(
        page=number, limit=limit, total_count=total, next_page=number + 1 if more else None, documents=page.data
    )
    if not page.data:
        heading = "No documents." if number == 0 else f"Page {number} is past the end (pages count from 0)."
    else:
        count = f"{total} documents in all; " if total is not None else ""
        heading = f"{count}page {number} (pages count from 0) shows {len(page.data)}:"
    lines = [heading, *(f"- {_line(document)}" for document in page.data)]
    if more:
        lines.append(f"More: call list_documents with page {number + 1}.")
    return ToolOutput("\n".join(lines), _dump(listed))


async def update_document(state: AppState, request: UpdateDocumentRequest) -> ToolOutput:
    with naming(state, "document", request.document_id):
        document = await state.tavus.update_document(request)
    return ToolOutput(f"Updated document {request.document_id}.\n{_details(document)}", _dump(document))


async def delete_document(state: AppState, request: DeleteDocumentRequest) -> ToolOutput:
    with naming(state, "document", request.document_id):
        await state.tavus.delete_document(request)
    text = (
        f"Deleted document {request.document_id}: it cannot be recovered, and calls and personas that name it no "
        "longer get it."
    )
    return ToolOutput(text, _dump(DocumentDeleted(document_id=request.document_id)))


def confirm_delete_document(state: AppState, request: DeleteDocumentRequest) -> Confirmation | None:
    """Before deleting a document: Tavus keeps no copy."""
    return Confirmation(
        message=(
            f"Delete document {request.document_id} irreversibly? Replicas no longer consult it, in any call or "
            "persona that names it."
        ),
        form=ConfirmForm,
        action=f"delete document {request.document_id}",
        instead="The document is unchanged. Do not try again unless the user asks.",
        accepted=lambda _: request,
    )


async def wait_for_document(state: AppState, request: WaitForDocumentRequest) -> ToolOutput:
    """Follow a document until it is ready or has failed, or the wait's bound, reporting each change as progress."""
    bound = request.max_wait_seconds or DEFAULT_DOCUMENT_WAIT_SECONDS
    interval = state.settings.poll_seconds
    ref = DocumentRef(document_id=request.document_id)
    started = time.monotonic()
    previous: tuple[str | None, int | None] | None = None
    # A progress notification at least every `keepalive` seconds while nothing changes, as wait_for_conversation's.
    heartbeat = state.settings.keepalive
    reported, progress = -math.inf, 0.0
    while True:
        with naming(state, "document", request.document_id):
            document = await state.tavus.get_document(ref)
        now = (document.status, document.progress)
        waited = time.monotonic() - started
        if now != previous or waited - reported >= heartbeat:
            # MCP wants each notification's progress above the last one's.
            progress = max(round(waited, 3), progress + 0.001)
            await state.progress(progress, float(bound), f"Document {_line(document)}")
            reported = waited
        finished = document.status in DOCUMENT_DONE
        if finished or waited >= bound:
            break
        previous = now
        await anyio.sleep(min(interval, bound - waited))
    outcome = DocumentWait.model_validate(
        {**document.model_dump(), "finished": finished, "waited_seconds": round(waited, 1)}
    )
    lines = [_details(document), f"(Waited {waited:.0f} s.)"]
    if not finished:
        lines.append(
            f"This wait's limit ({bound} s) was reached before Tavus finished reading it. Large files and crawls take "
            "longer: call wait_for_document again in a few minutes, or get_document."
        )
    return ToolOutput("\n".join(lines), _dump(outcome))
