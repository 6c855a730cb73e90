"""The doc-processor service: ``POST /process`` turns one uploaded document into pages,
a document type and checked fields; ``POST /pages/{number}`` draws one of its pages as a
PNG, for showing the page beside what was read from it.

    rma serve docs        # port 8101
    curl -F file=@letter.pdf http://127.0.0.1:8101/process
    curl -F file=@letter.pdf http://127.0.0.1:8101/pages/1 > page-1.png
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from fastapi.responses import StreamingResponse

from rma import constants as C
from rma.config import Settings
from rma.documents.pipeline import DocumentProcessor, ProcessedDocument, ProcessResponse
from rma.documents.validation import UploadLimits, check_upload
from rma.errors import NotFound, RMAError
from rma.llm.router import ProviderRouter
from rma.ocr.images import OCR_MAX_SIDE, cap_size, load_page, to_png
from rma.ocr.pages import PageText
from rma.ocr.pdf import pdf_page_png
from rma.ocr.workers import document_budget, start_workers, workers
from rma.service.app import create_app
from rma.service.body import MULTIPART_OVERHEAD, BodyLimit, file_upload_body, uploaded_file

log = logging.getLogger("rma.documents")
NDJSON = "application/x-ndjson"
# Documents processed at once per service process; more wait their turn (OCR is CPU-bound).
DOCUMENTS_IN_FLIGHT = 4

routes = APIRouter(tags=["documents"])

UPLOAD_SCHEMA = file_upload_body("a PDF, PNG, JPEG, TIFF or WebP document")


@dataclass
class DocsService:
    """What the route shares: the processor, and the slots that bound documents in flight."""

    processor: DocumentProcessor
    in_flight: asyncio.Semaphore


def get_service(request: Request) -> DocsService:
    return request.app.state.docs  # type: ignore[no-any-return]


ServiceDep = Annotated[DocsService, Depends(get_service)]
# The upload is read within the processor's file limit (plus the multipart envelope),
# counted as it arrives, before any of it is parsed.
UploadBody = Annotated[
    bytes,
    Depends(
        BodyLimit(
            lambda request: get_service(request).processor.limits.max_bytes + MULTIPART_OVERHEAD,
        )
    ),
]


@routes.post(
    "/process",
    response_model=ProcessResponse,
    openapi_extra=UPLOAD_SCHEMA,
    responses={
        200: {
            "description": "the document read; with progress=true, JSON lines of events",
            "content": {
                NDJSON: {
                    "schema": {
                        "type": "object",
                        "description": "one event a line: page, then result or error",
                        "properties": {
                            "event": {"type": "string", "enum": ["page", "result", "error"]},
                            "number": {"type": "integer"},
                            "pages": {"type": "integer"},
                            "method": {"type": "string"},
                            "confidence": {"type": "number"},
                            "readable": {"type": "boolean"},
                            "result": {"$ref": "#/components/schemas/ProcessResponse"},
                            "status": {"type": "integer"},
                            "detail": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def process(
    request: Request, body: UploadBody, docs: ServiceDep, progress: bool = False
) -> Response | ProcessResponse:
    """Read one document: pages with text and method, Markdown, type, fields, warnings.

    With ``progress=true`` the answer is a stream of JSON lines (``application/x-ndjson``):
    ``{"event": "page", "number", "pages", "method", "confidence", "readable"}`` as each
    page is read (no page text), then ``{"event": "result", "result": {...}}`` with what
    the plain call returns, or ``{"event": "error", "status", "detail"}`` if reading failed
    after its first page. An upload refused before any page is read is refused as the plain
    call refuses it (its HTTP status)."""
    upload = await uploaded_file(body, request.headers)
    if not progress:
        async with docs.in_flight:
            document = await docs.processor.process(upload.data, upload.filename)
        return document.response()
    return await _with_progress(docs, upload.data, upload.filename)


async def _with_progress(docs: DocsService, data: bytes, filename: str) -> Response:
    """``/process`` as events (see :func:`process`)."""
    # Checked first so a refused upload keeps its HTTP status and each event can say how
    # many pages there are (the pipeline checks it again as part of its own reading).
    with document_budget():
        checked = await workers().run(check_upload, data, filename, docs.processor.limits)
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def on_page(page: PageText) -> None:
        events.put_nowait({
            "event": "page", "number": page.number, "pages": checked.pages,
            "method": page.method, "confidence": page.confidence,
            "readable": bool(page.text.strip()),
        })  # fmt: skip

    async def run() -> ProcessedDocument:
        async with docs.in_flight:
            return await docs.processor.process(data, filename, on_page)

    task = asyncio.create_task(run())
    task.add_done_callback(lambda _: events.put_nowait(None))
    first = await events.get()
    if first is None:  # done (or refused) before its first page
        first = _outcome(task)
        if first["event"] == "error":
            task.result()  # raises it: refused as the plain call refuses it

    async def lines() -> AsyncIterator[bytes]:
        try:
            event: dict[str, Any] | None = first
            while event is not None:
                yield (json.dumps(event) + "\n").encode()
                if event["event"] != "page":
                    return
                event = await events.get()
                if event is None:
                    event = _outcome(task)
        finally:
            task.cancel()

    return StreamingResponse(lines(), media_type=NDJSON, headers={"Cache-Control": "no-store"})


def _outcome(task: asyncio.Task[ProcessedDocument]) -> dict[str, Any]:
    """The last event of a finished reading: its result, or its error."""
    error = task.exception()
    if error is None:
        return {"event": "result", "result": task.result().response().model_dump(mode="json")}
    if isinstance(error, RMAError):
        status = getattr(error, "status_code", 500)
        return {"event": "error", "status": status, "detail": str(error)}
    log.error("document reading failed", extra={"error": type(error).__name__})
    return {"event": "error", "status": 500, "detail": "an internal error"}


@routes.post(
    "/pages/{number}",
    openapi_extra=UPLOAD_SCHEMA,
    response_class=Response,
    responses={
        200: {
            "description": "the page as PNG",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def page_image(
    request: Request, body: UploadBody, docs: ServiceDep, number: Annotated[int, Path(ge=1)]
) -> Response:
    """Page ``number`` (from 1) of an uploaded document as PNG: a PDF's page drawn at the
    manuals' page-image resolution, an image's frame upright (per EXIF) and no larger than
    OCR reads it, so the boxes of ``/process``'s fields fit it. Checked as ``/process``
    checks an upload, and drawn in a document worker; 404 for a page it does not have."""
    upload = await uploaded_file(body, request.headers)
    async with docs.in_flight:
        png = await _draw(upload.data, upload.filename, number, docs.processor.limits)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def _draw(data: bytes, filename: str, number: int, limits: UploadLimits) -> bytes:
    with document_budget():
        checked = await workers().run(check_upload, data, filename, limits)
        if number > checked.pages:
            raise NotFound(f"the document has {checked.pages} page(s), not {number}")
        if checked.kind == "pdf":
            return await workers().run(pdf_page_png, data, number - 1, C.PAGE_IMAGE_DPI)
        return await workers().run(_image_page_png, data, number - 1, limits.max_pixels)


def _image_page_png(data: bytes, index: int, max_pixels: int) -> bytes:
    """One frame of an image upload as PNG (run in a worker)."""
    return to_png(cap_size(load_page(data, index, max_pixels), OCR_MAX_SIDE))


async def _start(app: FastAPI) -> None:
    settings = app.state.settings
    start_workers(settings)
    processor = DocumentProcessor(app.state.router, ocr_provider=settings.ocr_provider)
    app.state.docs = DocsService(processor, asyncio.Semaphore(DOCUMENTS_IN_FLIGHT))


def create(settings: Settings | None = None, router: ProviderRouter | None = None) -> FastAPI:
    """The doc-processor app (``rma serve docs``); settings and router default to the env's."""
    return create_app("docs", routes=[routes], settings=settings, router=router, on_startup=_start)
