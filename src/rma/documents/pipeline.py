"""A client's document, from uploaded bytes to pages, type and checked fields.

validate -> pages (PDF text layer, else render + OCR; images EXIF-rotated, size-capped,
OCR'd) -> markdown -> type and fields (model + code checks, concurrently) -> result.
Model failures after OCR cost the model's part only: the pages and the fields code
found are still returned, and the warnings say what is missing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from rma.documents.classify import MODEL_TEXT_CHARS as CLASSIFY_CHARS
from rma.documents.classify import Classification, ClassificationRecord, DocType, classify
from rma.documents.fields import MODEL_TEXT_CHARS as FIELDS_CHARS
from rma.documents.fields import (
    ExtractedFields,
    FieldRecord,
    check_against_type,
    extract_fields,
)
from rma.documents.validation import CheckedUpload, UploadLimits, check_upload
from rma.llm.router import ProviderRouter
from rma.ocr import OcrReader, PageText, read_pdf
from rma.ocr.images import load_page
from rma.ocr.pdf import PAGE_CONCURRENCY
from rma.ocr.workers import document_budget, workers

# A page read with less confidence than this gets a warning to check it by eye.
LOW_CONFIDENCE = 0.6


@dataclass
class ProcessedDocument:
    """Everything the service returns for one document."""

    upload: CheckedUpload
    pages: list[PageText]
    classification: Classification
    fields: ExtractedFields
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    processing_ms: float = 0.0

    @property
    def markdown(self) -> str:
        return to_markdown(self.pages)

    def response(self) -> ProcessResponse:
        return ProcessResponse(
            filename=self.upload.filename,
            file_type=self.upload.kind,
            pages=[
                PageRecord(number=p.number, text=p.text, method=p.method, confidence=p.confidence)
                for p in self.pages
            ],
            markdown=self.markdown,
            doc_type=self.classification.doc_type,
            classification=self.classification.record(),
            fields={name: f.record() for name, f in self.fields.fields.items()},
            warnings=self.warnings,
            provenance=self.provenance,
            processing_ms=round(self.processing_ms, 1),
        )


class PageRecord(BaseModel):
    number: int
    text: str
    method: str = Field(description="text-layer, tesseract, or the vision provider")
    confidence: float


class ProcessResponse(BaseModel):
    """One document read (``POST /process``): pages, type, checked fields, warnings."""

    filename: str
    file_type: str
    pages: list[PageRecord]
    markdown: str
    doc_type: DocType
    classification: ClassificationRecord
    fields: dict[str, FieldRecord]
    warnings: list[str]
    provenance: dict[str, Any] = Field(
        description="The model calls behind OCR, the type and the fields."
    )
    processing_ms: float


def to_markdown(pages: list[PageText]) -> str:
    """The pages as one Markdown text, a heading per page saying how it was read."""
    parts = []
    for p in pages:
        how = (
            "text layer"
            if p.method == "text-layer"
            else f"{p.method}, confidence {p.confidence:.2f}"
        )
        parts.append(f"## Page {p.number} ({how})\n\n{p.text.strip() or '*no text found*'}\n")
    return "\n".join(parts)


class DocumentProcessor:
    """Turns uploaded documents into pages, a type and checked fields.

    ``router`` may be None: OCR is then Tesseract-only and type and fields come from code.
    """

    def __init__(
        self,
        router: ProviderRouter | None,
        *,
        ocr_provider: str = "tesseract",
        limits: UploadLimits | None = None,
    ) -> None:
        self.router = router
        self.limits = limits or UploadLimits()
        self.ocr_provider = ocr_provider
        self.reader = OcrReader(ocr_provider, router)

    async def read_pages(
        self, data: bytes, filename: str = ""
    ) -> tuple[CheckedUpload, list[PageText]]:
        """Validate, then read every page; raises the validation errors. Every parse runs
        in a document worker, all of them within one time budget."""
        with document_budget():
            upload = await workers().run(check_upload, data, filename, self.limits)
            if upload.kind == "pdf":
                pages = await read_pdf(data, self.reader, max_pages=self.limits.max_pages)
            else:
                pages = await self._read_image_pages(data, upload.pages)
        return upload, pages

    async def _read_image_pages(self, data: bytes, count: int) -> list[PageText]:
        slots = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def one(index: int) -> PageText:
            async with slots:  # decoded one slot at a time, so memory stays bounded
                image = await workers().run(load_page, data, index, self.limits.max_pixels)
                return await self.reader.read(image, index + 1)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(i)) for i in range(count)]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def process(self, data: bytes, filename: str = "") -> ProcessedDocument:
        """The whole pipeline for one document."""
        started = time.monotonic()
        upload, pages = await self.read_pages(data, filename)
        warnings: list[str] = []
        for page in pages:
            warnings.extend(page.warnings)
            if not page.text.strip():
                warnings.append(f"page {page.number} has no readable text")
            elif page.confidence < LOW_CONFIDENCE:
                warnings.append(
                    f"page {page.number} was read with low confidence ({page.confidence:.2f}); "
                    "check names and figures against the original"
                )
        text = "\n\n".join(p.text for p in pages)
        shown = min(CLASSIFY_CHARS, FIELDS_CHARS)
        if self.router is not None and len(text) > shown:
            warnings.append(
                f"the model saw the first {shown:,} of {len(text):,} characters; "
                "code checked all of them"
            )
        (classification, classify_prov, classify_warnings), extracted = await asyncio.gather(
            classify(text, self.router),
            extract_fields([(p.number, p.text, p.confidence) for p in pages], self.router),
        )
        warnings += classify_warnings + extracted.warnings
        warnings += check_against_type(extracted.fields, classification.doc_type.value)
        provenance = {
            "ocr": {
                "provider": self.ocr_provider,
                "pages": [
                    {"number": p.number, "method": p.method, "model": p.provenance} for p in pages
                ],
            },
            "classification": classify_prov,
            "fields": extracted.provenance,
        }
        return ProcessedDocument(
            upload=upload,
            pages=pages,
            classification=classification,
            fields=extracted,
            warnings=warnings,
            provenance=provenance,
            processing_ms=(time.monotonic() - started) * 1000,
        )
