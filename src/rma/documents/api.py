"""The doc-processor service: ``POST /process`` turns one uploaded document into pages,
a document type and checked fields.

    rma serve docs        # port 8101
    curl -F file=@letter.pdf http://127.0.0.1:8101/process
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.datastructures import UploadFile

from rma.config import Settings
from rma.documents.pipeline import DocumentProcessor
from rma.documents.validation import UploadLimits
from rma.errors import InputError, InputTooLarge
from rma.llm.router import ProviderRouter
from rma.service.app import create_app

# Documents processed at once per service process; more wait their turn (OCR is CPU-bound).
DOCUMENTS_IN_FLIGHT = 4
# Room for the multipart envelope around the file itself.
MULTIPART_OVERHEAD = 64 * 1024

routes = APIRouter(tags=["documents"])

UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "a PDF, PNG, JPEG, TIFF or WebP document",
                        }
                    },
                }
            }
        },
    }
}


async def read_upload(request: Request, limits: UploadLimits) -> tuple[bytes, str]:
    """The uploaded file's bytes and name, refusing oversized bodies before parsing them."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InputError("send the document as multipart/form-data with a field named 'file'")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes + MULTIPART_OVERHEAD:
        raise InputTooLarge(
            f"the upload is {int(declared) / 1e6:.1f} MB; "
            f"the limit is {limits.max_bytes / 1e6:.0f} MB"
        )
    try:
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InputError("the form has no file in a field named 'file'")
            data = await upload.read(limits.max_bytes + 1)
            name = upload.filename or ""
    except InputError:
        raise
    except Exception as exc:  # starlette's multipart errors carry no common base class
        raise InputError(f"the multipart body could not be read ({type(exc).__name__})") from None
    if len(data) > limits.max_bytes:
        raise InputTooLarge(f"the file is over the {limits.max_bytes / 1e6:.0f} MB limit")
    return data, name


@routes.post("/process", openapi_extra=UPLOAD_SCHEMA)
async def process(request: Request) -> dict[str, Any]:
    """Read one document: pages with text and method, Markdown, type, fields, warnings."""
    processor: DocumentProcessor = request.app.state.processor
    data, name = await read_upload(request, processor.limits)
    async with request.app.state.documents_in_flight:
        document = await processor.process(data, name)
    return document.as_dict()


async def _start(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.processor = DocumentProcessor(app.state.router, ocr_provider=settings.ocr_provider)
    app.state.documents_in_flight = asyncio.Semaphore(DOCUMENTS_IN_FLIGHT)


def create(settings: Settings | None = None, router: ProviderRouter | None = None) -> FastAPI:
    """The doc-processor app (``rma serve docs``); settings and router default to the env's."""
    return create_app("docs", routes=[routes], settings=settings, router=router, on_startup=_start)
