"""A case's documents: upload (read in the background), list, read, download, delete.

Every read of what a document says (its fields and quotes, its text, the file itself)
is recorded through :func:`rma.app.actor.record_access`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import Headers

from rma.accounts.permissions import Actor
from rma.app.actor import CaseEditor, CaseReader, record_access
from rma.app.deps import AppState, StateDep, StoreDep, get_state
from rma.cases.models import CaseDocument
from rma.cases.store import Upload
from rma.cases.views import debt_view, document_view, reading_view
from rma.documents.validation import ACCEPTED, check_upload
from rma.errors import Conflict
from rma.service.body import MULTIPART_OVERHEAD, BodyLimit, file_upload_body, uploaded_file

routes = APIRouter(prefix="/cases/{case_id}/documents", tags=["documents"])
UploadBody = Annotated[
    bytes,
    Depends(
        BodyLimit(lambda request: get_state(request).upload_limits.max_bytes + MULTIPART_OVERHEAD)
    ),
]


@routes.post("", status_code=202, openapi_extra=file_upload_body(f"a {ACCEPTED} document"))
async def upload(
    case_id: int, actor: CaseEditor, request: Request, body: UploadBody, state: StateDep
) -> dict[str, Any]:
    """Upload a document (multipart field ``file``): checked (type by its content, size,
    pages), stored encrypted and read in the background; poll it until ``status`` is
    processed or failed."""
    document = await store_upload(state, case_id, actor, body, request.headers)
    return document_view(document, with_fields=False)


async def store_upload(
    state: AppState, case_id: int, actor: Actor, body: bytes, headers: Headers
) -> CaseDocument:
    """The file in a multipart ``body``, checked (type by content, size, pages), stored
    encrypted on the case and queued for reading (for the API and the pages)."""
    await state.store.case(case_id)
    sent = await uploaded_file(body, headers)
    checked = await asyncio.to_thread(check_upload, sent.data, sent.filename, state.upload_limits)
    found = Upload(checked.filename or f"document.{checked.kind}", checked.mime, checked.pages)
    document = await state.store.add_document(case_id, actor, sent.data, found)
    state.reader.schedule(document.id)
    return document


@routes.get("")
async def list_documents(case_id: int, store: StoreDep, _: CaseReader) -> dict[str, Any]:
    """The case's documents (no fields or text: see each document)."""
    found = await store.documents(case_id)
    return {"documents": [document_view(d, with_fields=False) for d in found]}


@routes.get("/{document_id}")
async def read_document(
    case_id: int, document_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    """A document with the fields read from it (page, quote, confidence) and the debt it
    proposes."""
    document = await store.document(case_id, document_id)
    await record_access(request, actor, "document.fields", case_id, document_id)
    proposals = [d for d in await store.debts(case_id) if d.document_id == document_id]
    return {**document_view(document), "debts": [debt_view(d) for d in proposals]}


@routes.get("/{document_id}/status")
async def reading_status(
    case_id: int, document_id: int, store: StoreDep, state: StateDep, _: CaseReader
) -> dict[str, Any]:
    """How its reading stands, page by page (method, confidence, low confidence, no
    text), in words: what the case page polls after an upload. No text or field of the
    document is in it."""
    document = await store.document(case_id, document_id)
    if document.status == "processed":
        pages = await store.document_pages(case_id, document_id)
    elif document.status == "processing":
        pages = state.reader.pages_read(document_id)
    else:
        pages = []
    return reading_view(document, pages)


@routes.get("/{document_id}/text")
async def document_text(
    case_id: int, document_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    """The text read from each page."""
    pages = await store.document_pages(case_id, document_id)
    await record_access(request, actor, "document.text", case_id, document_id)
    return {"document_id": document_id, "pages": pages}


@routes.get("/{document_id}/file")
async def document_file(
    case_id: int, document_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> Response:
    """The uploaded file itself, decrypted."""
    found = await store.document_file(case_id, document_id)
    await record_access(request, actor, "document.file", case_id, document_id)
    extension = found.document.media_type.rsplit("/", 1)[-1]
    return Response(
        found.data,
        media_type=found.document.media_type,
        headers={
            # The client's file name stays out of the header (and out of proxies' logs).
            "Content-Disposition": f'attachment; filename="document-{document_id}.{extension}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.post("/{document_id}/read", status_code=202)
async def read_again(
    case_id: int, document_id: int, state: StateDep, _: CaseEditor
) -> dict[str, Any]:
    """Read a document again (after a failure, or with a better doc-processor)."""
    document = await state.store.document(case_id, document_id)
    if document.status in ("received", "processing"):
        raise Conflict(f"document {document_id} is already waiting to be read")
    state.reader.schedule(document_id)
    return {**document_view(document, with_fields=False), "status": "received"}


@routes.delete("/{document_id}")
async def delete_document(
    case_id: int, document_id: int, state: StateDep, _: CaseEditor
) -> dict[str, Any]:
    """Delete a document, its text, fields, search passages and the debts it only proposed."""
    document = await state.store.document(case_id, document_id)
    case = await state.store.case(case_id)
    removed = await state.services.search.remove(case.key, document.key)
    await state.store.delete_document(case_id, document_id)
    return {"deleted": document_id, "search_passages": removed}
