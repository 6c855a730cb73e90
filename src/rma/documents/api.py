"""The doc-processor service: ``POST /process`` turns one uploaded document into pages,
a document type and checked fields; ``POST /pages/{number}`` draws one of its pages as a
PNG, for showing the page beside what was read from it.

    rma serve docs        # port 8101
    curl -F file=@letter.pdf http://127.0.0.1:8101/process
    curl -F file=@letter.pdf http://127.0.0.1:8101/pages/1 > page-1.png
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response

from rma import constants as C
from rma.config import Settings
from rma.documents.pipeline import DocumentProcessor, ProcessResponse
from rma.documents.validation import UploadLimits, check_upload
from rma.errors import NotFound
from rma.llm.router import ProviderRouter
from rma.ocr.images import OCR_MAX_SIDE, cap_size, load_page, to_png
from rma.ocr.pdf import pdf_page_png
from rma.ocr.workers import document_budget, start_workers, workers
from rma.service.app import create_app
from rma.service.body import MULTIPART_OVERHEAD, BodyLimit, file_upload_body, uploaded_file

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


@routes.post("/process", response_model=ProcessResponse, openapi_extra=UPLOAD_SCHEMA)
async def process(request: Request, body: UploadBody, docs: ServiceDep) -> ProcessResponse:
    """Read one document: pages with text and method, Markdown, type, fields, warnings."""
    upload = await uploaded_file(body, request.headers)
    async with docs.in_flight:
        document = await docs.processor.process(upload.data, upload.filename)
    return document.response()


@routes.post(
    "/pages/{number}",
    openapi_extra=UPLOAD_SCHEMA,
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the page as PNG"}},
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
