"""The doc-processor service: ``POST /process`` turns one uploaded document into pages,
a document type and checked fields.

    rma serve docs        # port 8101
    curl -F file=@letter.pdf http://127.0.0.1:8101/process
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from rma.config import Settings
from rma.documents.pipeline import DocumentProcessor, ProcessResponse
from rma.llm.router import ProviderRouter
from rma.ocr.workers import start_workers
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


async def _start(app: FastAPI) -> None:
    settings = app.state.settings
    start_workers(settings)
    processor = DocumentProcessor(app.state.router, ocr_provider=settings.ocr_provider)
    app.state.docs = DocsService(processor, asyncio.Semaphore(DOCUMENTS_IN_FLIGHT))


def create(settings: Settings | None = None, router: ProviderRouter | None = None) -> FastAPI:
    """The doc-processor app (``rma serve docs``); settings and router default to the env's."""
    return create_app("docs", routes=[routes], settings=settings, router=router, on_startup=_start)
