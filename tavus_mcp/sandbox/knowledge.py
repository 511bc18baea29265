"""The emulator's documents, objectives and guardrails, written from Tavus's reference (never from the server's
models): their request tables (checked against the OpenAPI document by tests/test_openapi.py), validation, answers,
and documents that Tavus takes a while to read (ready `document_seconds` after creation; a file of a format Tavus
does not read fails halfway).
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonpatch
import jsonpointer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tavus_mcp.sandbox.calls import _now
from tavus_mcp.sandbox.checks import ApiError, _bad_request, _check_fields, _paging, _public

# POST /v2/documents (createDocument) and PATCH /v2/documents/{document_id} (patchDocument): field -> JSON type.
DOCUMENT_BODY_FIELDS = {
    "document_url": "string",
    "document_name": "string",
    "callback_url": "string",
    "tags": "string[]",
    "crawl": "object",
}
DOCUMENT_CRAWL_FIELDS = {"depth": "integer", "max_pages": "integer"}
DOCUMENT_CRAWL_BOUNDS = {"depth": (1, 10), "max_pages": (1, 100)}
DOCUMENT_UPDATE_FIELDS = {"document_name": "string", "tags": "string[]"}
DOCUMENT_STATUSES = ("started", "processing", "ready", "error", "recrawling")
DOCUMENT_SORTS = ("ascending", "descending")
# The fields of a document in every answer (those with a value).
DOCUMENT_FIELDS = (
    "document_id", "document_name", "document_url", "status", "progress", "error_message", "created_at",
    "updated_at", "callback_url", "tags", "crawl_config", "crawled_urls", "last_crawled_at", "crawl_count",
)  # fmt: skip
# The file formats Tavus reads; a URL whose path ends in another extension fails, and any other is a web page.
DOCUMENT_FORMATS = (".pdf", ".txt", ".docx", ".doc", ".png", ".jpg", ".pptx", ".csv", ".xlsx")
_FILE_EXTENSION_LENGTH = 5

# POST /v2/objectives (createObjectives): the body is {"data": [objective, ...]}.
OBJECTIVES_BODY_FIELDS = {"data": "array"}
OBJECTIVE_FIELDS = {
    "objective_name": "string",
    "objective_prompt": "string",
    "confirmation_mode": "string",
    "output_variables": "string[]",
    "modality": "string",
    "next_conditional_objectives": "object",
    "next_required_objective": "string",
    "callback_url": "string",
}
OBJECTIVE_VALUES = {"confirmation_mode": ("auto", "manual"), "modality": ("verbal", "visual")}
# POST /v2/guardrails (createGuardrails).
GUARDRAILS_BODY_FIELDS = {"name": "string", "data": "array"}
GUARDRAIL_FIELDS = {
    "guardrail_name": "string",
    "guardrail_prompt": "string",
    "modality": "string",
    "callback_url": "string",
}
GUARDRAIL_VALUES = {"modality": ("verbal", "visual")}
PATCH_OPERATIONS = ("add", "remove", "replace", "copy", "move", "test")

QUERY_PARAMETERS: dict[tuple[str, str], dict[str, str | tuple[str, ...]]] = {
    ("POST", "/v2/documents"): {},
    ("GET", "/v2/documents"): {
        "limit": "integer",
        "page": "integer",
        "sort": DOCUMENT_SORTS,
        "status": "string",
        "name_or_uuid": "string",
        "tags": "string",
    },
    ("GET", "/v2/documents/{document_id}"): {},
    ("PATCH", "/v2/documents/{document_id}"): {},
    ("DELETE", "/v2/documents/{document_id}"): {},
    ("POST", "/v2/objectives"): {},
    ("GET", "/v2/objectives"): {"limit": "integer", "page": "integer"},
    ("GET", "/v2/objectives/{objectives_id}"): {},
    ("PATCH", "/v2/objectives/{objectives_id}"): {},
    ("DELETE", "/v2/objectives/{objectives_id}"): {},
    ("POST", "/v2/guardrails"): {},
    ("GET", "/v2/guardrails"): {"limit": "integer", "page": "integer"},
    ("GET", "/v2/guardrails/{guardrails_id}"): {},
    ("PATCH", "/v2/guardrails/{guardrails_id}"): {},
    ("DELETE", "/v2/guardrails/{guardrails_id}"): {},
}

Handler = Callable[[Request, Any], Awaitable[Response]]


def _stock_documents() -> list[dict[str, Any]]:
    created = "2025-03-01T08:00:00.000Z"
    return [
        {
            "document_id": "d8-5c71baca86fc",
            "document_name": "Pricing sheet",
            "document_url": "https://example.com/pricing.pdf",
            "status": "ready",
            "tags": ["sales"],
            "created_at": created,
            "updated_at": created,
            "ready_at": 0.0,
        }
    ]


class Knowledge:
    """Documents, objectives and guardrails, in memory, behind the emulator's request plumbing."""

    def __init__(self, lock: threading.Lock, document_seconds: float = 0.0) -> None:
        self._lock = lock
        self.document_seconds = document_seconds
        self._initial_document_seconds = document_seconds
        self.documents: list[dict[str, Any]] = _stock_documents()
        self.objectives: dict[str, dict[str, Any]] = {}
        self.guardrails: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.documents = _stock_documents()
        self.objectives.clear()
        self.guardrails.clear()
        self.document_seconds = self._initial_document_seconds

    def routes(self) -> list[tuple[str, str, Handler]]:
        document, objectives, guardrails = (
            "/v2/documents/{document_id}",
            "/v2/objectives/{objectives_id}",
            "/v2/guardrails/{guardrails_id}",
        )
        return [
            ("POST", "/v2/documents", self._create_document),
            ("GET", "/v2/documents", self._list_documents),
            ("GET", document, self._get_document),
            ("PATCH", document, self._update_document),
            ("DELETE", document, self._delete_document),
            ("POST", "/v2/objectives", self._create_objectives),
            ("GET", "/v2/objectives", self._list_objectives),
            ("GET", objectives, self._get_objectives),
            ("PATCH", objectives, self._patch_objectives),
            ("DELETE", objectives, self._delete_objectives),
            ("POST", "/v2/guardrails", self._create_guardrails),
            ("GET", "/v2/guardrails", self._list_guardrails),
            ("GET", guardrails, self._get_guardrails),
            ("PATCH", guardrails, self._patch_guardrails),
            ("DELETE", guardrails, self._delete_guardrails),
        ]

    # Documents

    async def _create_document(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            raise _bad_request("Invalid request body: expected a JSON object")
        _check_document(body, DOCUMENT_BODY_FIELDS, added=set())
        if "document_url" not in body:
            raise _bad_request("Invalid request: document_url is required")
        now = _now()
        document: dict[str, Any] = {
            **copy.deepcopy(
                {name: body[name] for name in ("document_url", "document_name", "callback_url", "tags") if name in body}
            ),
            "document_id": f"d{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            "status": "started",
            "created_at": now,
            "updated_at": now,
            "ready_at": time.monotonic() + self.document_seconds,
            "unreadable": _unreadable(body["document_url"]),
        }
        document.setdefault("document_name", f"Document {len(self.documents) + 1}")
        if "crawl" in body:
            document["crawl_config"] = copy.deepcopy(body["crawl"])
        with self._lock:
            self.documents.append(document)
            self._read(document)
        return JSONResponse(_public(document, DOCUMENT_FIELDS))

    def _read(self, document: dict[str, Any]) -> None:
        """Bring a document up to where its clock says Tavus has got (with the lock held)."""
        if document["status"] in ("ready", "error"):
            return
        remaining = document["ready_at"] - time.monotonic()
        share = 1.0 if self.document_seconds <= 0 else 1 - remaining / self.document_seconds
        if document.get("unreadable") and share >= 0.5:
            document.update(status="error", error_message="file_format_unsupported", progress=None, updated_at=_now())
        elif share >= 1:
            document.update(status="ready", progress=None, updated_at=_now())
            if "crawl_config" in document:
                document.update(
                    crawled_urls=[document["document_url"]], last_crawled_at=document["updated_at"], crawl_count=1
                )
        elif share >= 0.1:
            document.update(status="processing", progress=int(share * 100))

    def _document(self, request: Request) -> dict[str, Any]:
        found = next((d for d in self.documents if d["document_id"] == request.path_params["document_id"]), None)
        if found is None:
            raise ApiError(404, {"message": "Document not found"})
        self._read(found)
        return found

    async def _get_document(self, request: Request, _: Any) -> Response:
        with self._lock:
            return JSONResponse(_public(self._document(request), DOCUMENT_FIELDS))

    async def _list_documents(self, request: Request, _: Any) -> Response:
        query = request.query_params
        # Pages count from 0 here, unlike every other list of the API.
        limit = _whole(query.get("limit", "10"), "limit", low=1)
        page = _whole(query.get("page", "0"), "page", low=0)
        status, search = query.get("status"), (query.get("name_or_uuid") or "").casefold()
        tags = {tag.strip() for tag in query.get("tags", "").split(",") if tag.strip()}
        with self._lock:
            for document in self.documents:
                self._read(document)
            rows = [
                d
                for d in self.documents
                if status in (None, d["status"])
                and (not search or search in d["document_name"].casefold() or search == d["document_id"].casefold())
                and (not tags or tags & set(d.get("tags", [])))
            ]
            rows.sort(key=lambda d: d["created_at"], reverse=query.get("sort") == "descending")
            window = [_public(d, DOCUMENT_FIELDS) for d in rows[page * limit : (page + 1) * limit]]
        return JSONResponse({"data": window, "total_count": len(rows), "page": page, "limit": limit})

    async def _update_document(self, request: Request, body: Any) -> Response:
        if not isinstance(body, dict) or not body:
            raise _bad_request("Invalid request: give document_name or tags")
        _check_document(body, DOCUMENT_UPDATE_FIELDS, added=set())
        with self._lock:
            document = self._document(request)
            document.update(copy.deepcopy(body), updated_at=_now())
            return JSONResponse(_public(document, DOCUMENT_FIELDS))

    async def _delete_document(self, request: Request, _: Any) -> Response:
        with self._lock:
            self.documents.remove(self._document(request))
        return Response(status_code=204)

    # Objectives and guardrails: sets of named items

    async def _create_objectives(self, request: Request, body: Any) -> Response:
        items = _check_set(body, OBJECTIVES_BODY_FIELDS, OBJECTIVE_FIELDS, OBJECTIVE_VALUES, "objective")
        _check_objective_links(items)
        stored = _new_set("objectives_id", "o", items, name_field="objective_name", name="New Objectives")
        with self._lock:
            self.objectives[stored["objectives_id"]] = stored
        return JSONResponse(_public(stored, ("objectives_id", "objective_name", "status", "created_at")))

    async def _create_guardrails(self, request: Request, body: Any) -> Response:
        items = _check_set(body, GUARDRAILS_BODY_FIELDS, GUARDRAIL_FIELDS, GUARDRAIL_VALUES, "guardrail")
        name = body.get("name") or "New Guardrails"
        stored = _new_set("guardrails_id", "g", items, name_field="guardrails_name", name=name)
        with self._lock:
            self.guardrails[stored["guardrails_id"]] = stored
        return JSONResponse(_public(stored, ("guardrails_id", "guardrails_name", "status", "created_at")))

    def _set(self, table: dict[str, dict[str, Any]], request: Request, id_field: str, what: str) -> dict[str, Any]:
        stored = table.get(request.path_params[id_field])
        if stored is None:
            raise ApiError(404, {"error": f"{what} not found"})
        return stored

    async def _get_objectives(self, request: Request, _: Any) -> Response:
        with self._lock:
            stored = self._set(self.objectives, request, "objectives_id", "Objective")
            return JSONResponse({"data": _set_answer(stored, "objectives_id", "objective_name")})

    async def _get_guardrails(self, request: Request, _: Any) -> Response:
        with self._lock:
            stored = self._set(self.guardrails, request, "guardrails_id", "Guardrails")
            return JSONResponse({"data": _set_answer(stored, "guardrails_id", "guardrails_name")})

    async def _list_objectives(self, request: Request, _: Any) -> Response:
        # As the reference lists them: each set's id, with its first objective's fields.
        rows = [
            {
                "objectives_id": s["objectives_id"],
                **s["data"][0],
                "created_at": s["created_at"],
                "updated_at": s["updated_at"],
            }
            for s in self.objectives.values()
        ]
        return _page(request, rows)

    async def _list_guardrails(self, request: Request, _: Any) -> Response:
        rows = [_public(s, ("guardrails_id", "created_at", "updated_at")) for s in self.guardrails.values()]
        return _page(request, rows)

    async def _patch_objectives(self, request: Request, body: Any) -> Response:
        with self._lock:
            stored = self._set(self.objectives, request, "objectives_id", "Objective")
            patched = _patched(stored, body, OBJECTIVE_FIELDS, top_fields=())
            with _moved_is_tavuss(body):
                items = _check_set(patched, OBJECTIVES_BODY_FIELDS, OBJECTIVE_FIELDS, OBJECTIVE_VALUES, "objective")
            _check_objective_links(items, patched=True)
            return _store_patch(stored, patched)

    async def _patch_guardrails(self, request: Request, body: Any) -> Response:
        with self._lock:
            stored = self._set(self.guardrails, request, "guardrails_id", "Guardrails")
            # The set's name is `name` in the create body and `guardrails_name` in answers.
            named = {"data": stored["data"], "name": stored["guardrails_name"]}
            patched = _patched(named, body, GUARDRAIL_FIELDS, top_fields=("name",))
            with _moved_is_tavuss(body):
                _check_set(patched, GUARDRAILS_BODY_FIELDS, GUARDRAIL_FIELDS, GUARDRAIL_VALUES, "guardrail")
            renamed = {"data": patched["data"], "guardrails_name": patched.get("name", stored["guardrails_name"])}
            return _store_patch(stored, renamed)

    async def _delete_objectives(self, request: Request, _: Any) -> Response:
        with self._lock:
            del self.objectives[self._set(self.objectives, request, "objectives_id", "Objective")["objectives_id"]]
        return Response(status_code=204)

    async def _delete_guardrails(self, request: Request, _: Any) -> Response:
        with self._lock:
            del self.guardrails[self._set(self.guardrails, request, "guardrails_id", "Guardrails")["guardrails_id"]]
        return Response(status_code=204)


def _unreadable(url: str) -> bool:
    """Whether the URL names a file of a format Tavus does not read (a web page is read whatever its path)."""
    path = urlsplit(url).path.casefold()
    extension = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return 1 < len(extension) <= _FILE_EXTENSION_LENGTH and extension not in DOCUMENT_FORMATS


def _http_url(value: Any, name: str) -> None:
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:
        valid = False
    if not valid:
        raise _bad_request(f"Invalid {name}: must be an absolute http(s) URL")


def _check_document(body: dict[str, Any], fields: dict[str, str], added: set[str]) -> None:
    _check_fields(body, fields, "", added)
    for name in ("document_url", "callback_url"):
        if name in body:
            _http_url(body[name], name)
    if "document_name" in body and not body["document_name"].strip():
        raise _bad_request("Invalid document_name: must not be empty")
    crawl = body.get("crawl")
    if crawl is not None:
        _check_fields(crawl, DOCUMENT_CRAWL_FIELDS, "crawl.", added)
        for name, (low, high) in DOCUMENT_CRAWL_BOUNDS.items():
            if name in crawl and not low <= crawl[name] <= high:
                raise _bad_request(f"Invalid crawl.{name}: must be from {low} to {high}")


def _whole(raw: str, name: str, *, low: int) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < low:
        raise _bad_request(f"Invalid {name}: must be an integer of at least {low}")
    return int(raw)


def _check_set(
    body: Any,
    body_fields: dict[str, str],
    item_fields: dict[str, str],
    values: Mapping[str, tuple[str, ...]],
    item: str,
) -> list[dict[str, Any]]:
    """A set's body (or the set a patch leaves): its fields, and each item's, of their types and values."""
    if not isinstance(body, dict):
        raise _bad_request("Invalid request body: expected a JSON object")
    _check_fields(body, body_fields, "", set())
    items = body.get("data")
    if not isinstance(items, list) or not items:
        raise _bad_request(f"Invalid data: give at least one {item}")
    names = []
    for index, entry in enumerate(items):
        where = f"data.{index}."
        if not isinstance(entry, dict):
            raise _bad_request(f"Invalid data.{index}: expected an object")
        _check_fields(entry, item_fields, where, set())
        for required in (f"{item}_name", f"{item}_prompt"):
            if required not in entry or not entry[required].strip():
                raise _bad_request(f"{where}{required} is required")
        name = entry[f"{item}_name"]
        allowed = (lambda c: not c.isspace()) if item == "objective" else (lambda c: c.isalnum() or c == "_")
        if not all(allowed(char) for char in name):
            rule = "without spaces" if item == "objective" else "of letters, digits and underscores"
            raise _bad_request(f"Invalid {where}{item}_name: must be {rule}")
        names.append(name)
        for field, allowed_values in values.items():
            if field in entry and entry[field] not in allowed_values:
                raise _bad_request(f"Invalid {where}{field}: must be one of {', '.join(allowed_values)}")
        if "callback_url" in entry:
            _http_url(entry["callback_url"], f"{where}callback_url")
        conditions = entry.get("next_conditional_objectives", {})
        if not all(isinstance(value, str) for value in conditions.values()):
            raise _bad_request(f"Invalid {where}next_conditional_objectives: each condition must be a string")
    if len(set(names)) != len(names):
        raise _bad_request(f"Invalid data: each {item}_name must be unique")
    return items


def _check_objective_links(items: list[dict[str, Any]], *, patched: bool = False) -> None:
    names = {item["objective_name"] for item in items}
    for item in items:
        following = [item.get("next_required_objective"), *item.get("next_conditional_objectives", {})]
        unknown = [name for name in following if name is not None and name not in names]
        if unknown:
            # After a patch only Tavus knows the whole set: the server cannot have caught it.
            raise _bad_request(
                f"Invalid next objective {unknown[0]!r}: no objective of the set has that name", violation=not patched
            )


def _new_set(id_field: str, prefix: str, items: list[dict[str, Any]], *, name_field: str, name: str) -> dict[str, Any]:
    now = _now()
    return {
        id_field: f"{prefix}{secrets.token_hex(6)}",
        name_field: name,
        "status": "active",
        "data": copy.deepcopy(items),
        "created_at": now,
        "updated_at": now,
    }


def _set_answer(stored: dict[str, Any], id_field: str, name_field: str) -> dict[str, Any]:
    """GET's `data`: a set of one as the reference shows it (the item's fields and the set's times); a larger set
    with its id, name and items, which the reference has no shape for."""
    times = {"created_at": stored["created_at"], "updated_at": stored["updated_at"]}
    if len(stored["data"]) == 1:
        return {**copy.deepcopy(stored["data"][0]), **times}
    return {id_field: stored[id_field], name_field: stored[name_field], "data": copy.deepcopy(stored["data"]), **times}


def _page(request: Request, rows: list[dict[str, Any]]) -> Response:
    limit, page = _paging(request)
    return JSONResponse({"data": copy.deepcopy(rows[(page - 1) * limit : page * limit]), "total_count": len(rows)})


def _patched(stored: dict[str, Any], body: Any, item_fields: dict[str, str], top_fields: tuple[str, ...]) -> Any:
    """The set a JSON Patch leaves. Paths go into the set (/data/0/...) or, as the reference's examples also write
    them, into its one item (/objective_prompt): those are read as the first item's."""

    def invalid(why: str) -> ApiError:
        return ApiError(400, {"error": "Invalid patch operation"}, violation=f"Invalid JSON patch: {why}")

    if not isinstance(body, list) or not body:
        raise invalid("the body must be a non-empty array of operations")
    operations = []
    for index, operation in enumerate(body):
        if not isinstance(operation, dict) or set(operation) - {"op", "path", "value", "from"}:
            raise invalid(f"operation {index} must be an object of op, path, value, from")
        if operation.get("op") not in PATCH_OPERATIONS:
            raise invalid(f"operation {index}: op must be one of {', '.join(PATCH_OPERATIONS)}")
        rewritten = dict(operation)
        for member in ("path", "from"):
            pointer = operation.get(member)
            if pointer is None:
                continue
            if not isinstance(pointer, str) or not pointer.startswith("/"):
                raise invalid(f"operation {index}: {member} must be a JSON Pointer")
            head = pointer.split("/")[1]
            if head in item_fields:
                rewritten[member] = f"/data/0{pointer}"
            elif head != "data" and head not in top_fields:
                raise invalid(f"operation {index}: {pointer} is not in the set")
        operations.append(rewritten)
    document = {key: stored[key] for key in ("data", *top_fields) if key in stored}
    try:
        return jsonpatch.apply_patch(document, operations)
    except jsonpatch.JsonPatchTestFailed:
        raise _bad_request("Invalid patch: a test operation failed", violation=False) from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
        raise _bad_request("Invalid patch: a path does not exist in this set", violation=False) from None


@contextlib.contextmanager
def _moved_is_tavuss(operations: list[dict[str, Any]]) -> Iterator[None]:
    """What a copy or move carries is the set's own, which the server cannot see: Tavus's to refuse."""
    try:
        yield
    except ApiError as error:
        if any(operation["op"] in ("copy", "move") for operation in operations):
            error.violation = None
        raise


def _store_patch(stored: dict[str, Any], patched: dict[str, Any]) -> Response:
    if all(stored.get(key) == value for key, value in patched.items()):
        return Response(status_code=304)
    stored.update(copy.deepcopy(patched), updated_at=_now())
    return JSONResponse({"message": "Updated successfully"})
