"""Knowledge-base documents (`/v2/documents`): crawled from a URL into text a replica consults during a call.

Requests are strict and say what to write instead, as the conversation's are; answers are lenient.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from tavus_mcp.models.common import (
    ApiRequest,
    NonEmptyString,
    NonNegative,
    PageLimit,
    _merged,
    _not_a_boolean,
    _Response,
    check_http_url,
    path_id,
)
from tavus_mcp.models.personas import _Text

DocumentStatus = Literal["started", "processing", "ready", "error", "recrawling"]
# Where a document stands for someone waiting on it: ready to use, failed, or still on its way.
DOCUMENT_DONE = ("ready", "error")

# The reference's bounds on a crawl.
MAX_CRAWL_DEPTH = 10
MAX_CRAWL_PAGES = 100


def _document_url(value: str) -> str:
    return check_http_url(
        value, what="of the document", example="such as 'https://example.com/product-sheet.pdf'", noun="document URL"
    )


def _callback_url(value: str | None) -> str | None:
    return None if value is None else check_http_url(value)


class DocumentRef(ApiRequest):
    """A path parameter naming one document."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"document_id"})

    document_id: NonEmptyString = Field(max_length=128, description="Such as 'd8-5c71baca86fc'.")

    @field_validator("document_id")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        return path_id(value, "document", "d8-5c71baca86fc", "create_document's or list_documents'")


class Crawl(ApiRequest):
    depth: Annotated[int, Field(ge=1, le=MAX_CRAWL_DEPTH), BeforeValidator(_not_a_boolean)] | None = None
    max_pages: Annotated[int, Field(ge=1, le=MAX_CRAWL_PAGES), BeforeValidator(_not_a_boolean)] | None = None


class CreateDocumentRequest(ApiRequest):
    """The body of POST /v2/documents."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    document_url: Annotated[str, AfterValidator(_document_url)] = Field(
        description="A file (pdf, txt, docx, pptx, csv, xlsx, png, jpg; 50 MB) or web page."
    )
    document_name: _Text | None = None
    tags: list[_Text] | None = None
    callback_url: Annotated[str, AfterValidator(check_http_url)] | None = Field(
        None, description="Gets status updates; only one the user gave."
    )
    crawl: Crawl | None = Field(None, description="Follow a page's links; without it, one page.")

    def to_body(self) -> dict[str, Any]:
        return _merged(self.model_dump(mode="json", exclude_none=True), self.passthrough)


def _comma_separated(value: str) -> str:
    parts = [part.strip() for part in value.split(",")]
    if not all(parts):
        raise ValueError(f"{value!r} has an empty tag; give tags separated by commas, such as 'sales,pricing'")
    return ",".join(parts)


class ListDocumentsRequest(ApiRequest):
    """GET /v2/documents. Its pages count from 0, as the reference has it."""

    limit: PageLimit | None = None
    page: NonNegative | None = Field(None, description="From 0.")
    sort: Literal["ascending", "descending"] | None = None
    status: DocumentStatus | None = None
    name_or_uuid: _Text | None = None
    tags: Annotated[_Text, AfterValidator(_comma_separated)] | None = Field(None, description="Comma-separated.")


class GetDocumentRequest(DocumentRef):
    """GET /v2/documents/{document_id}."""


class DeleteDocumentRequest(DocumentRef):
    """DELETE /v2/documents/{document_id}."""


class UpdateDocumentRequest(DocumentRef):
    """PATCH /v2/documents/{document_id}: a new name, new tags, or both."""

    sent_as: ClassVar[Literal["body", "query"]] = "body"

    document_name: _Text | None = None
    tags: list[_Text] | None = Field(None, description="Replaces its tags.")

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateDocumentRequest:
        if self.document_name is None and self.tags is None and not self.passthrough:
            raise ValueError("give document_name, tags or both: they are all a document update can change")
        return self

    def to_body(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", exclude_none=True, exclude={"document_id"}), **self.passthrough}


# wait_for_document's bound: a few minutes by default, as long as a large crawl at most.
DEFAULT_DOCUMENT_WAIT_SECONDS = 300
MAX_DOCUMENT_WAIT_SECONDS = 900


class WaitForDocumentRequest(DocumentRef):
    """wait_for_document: GET /v2/documents/{document_id}, repeated until the document is ready or has failed."""

    not_sent: ClassVar[frozenset[str]] = frozenset({"document_id", "max_wait_seconds"})

    max_wait_seconds: (
        Annotated[int, Field(ge=1, le=MAX_DOCUMENT_WAIT_SECONDS), BeforeValidator(_not_a_boolean)] | None
    ) = Field(None, description=f"Default {DEFAULT_DOCUMENT_WAIT_SECONDS}.")


# Answers


# Only what a model acts on is in the output schema (each field listed costs every conversation context); the
# rest of Tavus's answer (URL, tags, times, crawl) is kept as it comes.
class Document(_Response):
    document_id: str
    document_name: str | None = None
    status: str | None = None
    progress: int | None = None
    error_message: str | None = None


class DocumentPage(_Response):
    data: list[Document] = Field(default_factory=list)
    total_count: int | None = None
