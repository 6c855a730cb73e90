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

from rma import constants as C
from rma.documents.classify import MODEL_TEXT_CHARS as CLASSIFY_CHARS
from rma.documents.classify import Classification, ClassificationRecord, DocType, classify
from rma.documents.fields import MODEL_TEXT_CHARS as FIELDS_CHARS
from rma.documents.fields import (
    ExtractedFields,
    FieldRecord,
    check_against_type,
    extract_fields,
)
from rma.documents.layout_fields import Page
from rma.documents.parts import a_clients_paper, split
from rma.documents.place import quote_boxes, upright, upright_size
from rma.documents.statement import Table
from rma.documents.typed import merge_fields, read_fields
from rma.documents.validation import CheckedUpload, UploadLimits, check_upload
from rma.llm.router import ProviderRouter
from rma.ocr import OcrReader, PageText, read_pdf
from rma.ocr.images import load_page
from rma.ocr.layout import page_layout, rows_from_text
from rma.ocr.pages import OnPage
from rma.ocr.pdf import PAGE_CONCURRENCY
from rma.ocr.workers import document_budget, workers

# A page read with less confidence than this gets a warning to check it by eye.
LOW_CONFIDENCE = C.LOW_PAGE_CONFIDENCE


@dataclass
class DocumentPart:
    """One document in a file (the whole file, or one of a scanned pile): its pages,
    type, fields and, for a statement, its table."""

    first_page: int
    last_page: int
    classification: Classification
    fields: ExtractedFields
    table: Table | None = None

    def record(self) -> PartRecord:
        return PartRecord(
            first_page=self.first_page,
            last_page=self.last_page,
            doc_type=self.classification.doc_type,
            classification=self.classification.record(),
            fields={name: f.record() for name, f in self.fields.fields.items()},
            transactions=None
            if self.table is None
            else [
                TransactionRecord.model_validate(
                    {
                        "date": t.date,
                        "description": t.description,
                        "out": _pounds(t.money_out),
                        "in": _pounds(t.money_in),
                        "balance": _pounds(t.balance),
                        "page": t.page,
                        "quote": t.quote,
                        "confidence": round(t.confidence, 3),
                    }
                )
                for t in self.table.rows
            ],
            warnings=self.fields.warnings,
        )


def _pounds(pence: int | None) -> str | None:
    return None if pence is None else f"{pence / 100:.2f}"


@dataclass
class ProcessedDocument:
    """Everything the service returns for one file."""

    upload: CheckedUpload
    pages: list[PageText]
    documents: list[DocumentPart]
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    processing_ms: float = 0.0

    @property
    def classification(self) -> Classification:
        """The first document's type (the file's, when it holds one)."""
        return self.documents[0].classification

    @property
    def fields(self) -> ExtractedFields:
        return self.documents[0].fields

    @property
    def markdown(self) -> str:
        return to_markdown(self.pages)

    def response(self) -> ProcessResponse:
        first = self.documents[0].record()
        return ProcessResponse(
            filename=self.upload.filename,
            file_type=self.upload.kind,
            pages=[
                PageRecord(
                    number=p.number,
                    text=p.text,
                    method=p.method,
                    confidence=p.confidence,
                    size=upright_size(p.size, p.turned) if p.words else None,
                )
                for p in self.pages
            ],
            markdown=self.markdown,
            doc_type=first.doc_type,
            classification=first.classification,
            fields=first.fields,
            transactions=first.transactions,
            documents=[d.record() for d in self.documents],
            warnings=self.warnings,
            provenance=self.provenance,
            processing_ms=round(self.processing_ms, 1),
        )


class TransactionRecord(BaseModel):
    """One row of a statement's table; amounts in pounds, None where the row has none."""

    model_config = {"populate_by_name": True}

    date: str | None = Field(description="ISO date (the row above's when the row has none)")
    description: str
    out: str | None
    in_: str | None = Field(alias="in")
    balance: str | None
    page: int
    quote: str = Field(description="The row as read.")
    confidence: float


class PartRecord(BaseModel):
    """One document found in the file, with its page range."""

    first_page: int
    last_page: int
    doc_type: DocType
    classification: ClassificationRecord
    fields: dict[str, FieldRecord]
    transactions: list[TransactionRecord] | None = Field(
        description="A statement's rows, read as a table; None for other types."
    )
    warnings: list[str]


class PageRecord(BaseModel):
    number: int
    text: str
    method: str = Field(description="text-layer, tesseract, or the vision provider")
    confidence: float
    size: tuple[float, float] | None = Field(
        None,
        description="Width and height of the page as uploaded, in the units of the fields' "
        "boxes (points for a text layer, pixels of the image as read); None if the reader "
        "gave no word positions (a vision model).",
    )


class ProcessResponse(BaseModel):
    """One document read (``POST /process``): pages, type, checked fields, warnings."""

    filename: str
    file_type: str
    pages: list[PageRecord]
    markdown: str
    doc_type: DocType
    classification: ClassificationRecord
    fields: dict[str, FieldRecord]
    transactions: list[TransactionRecord] | None = Field(
        None, description="The first document's statement rows, if it is a statement."
    )
    documents: list[PartRecord] = Field(
        default_factory=list,
        description="Every document in the file with its pages (several in a scanned pile); "
        "doc_type, classification and fields above are the first one's.",
    )
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
        self, data: bytes, filename: str = "", on_page: OnPage | None = None
    ) -> tuple[CheckedUpload, list[PageText]]:
        """Validate, then read every page; raises the validation errors. Every parse runs
        in a document worker, all of them within one time budget. ``on_page`` is called
        with each page as it is read."""
        with document_budget():
            upload = await workers().run(check_upload, data, filename, self.limits)
            if upload.kind == "pdf":
                pages = await read_pdf(
                    data, self.reader, max_pages=self.limits.max_pages, on_page=on_page
                )
            else:
                pages = await self._read_image_pages(data, upload.pages, on_page)
        return upload, pages

    async def _read_image_pages(
        self, data: bytes, count: int, on_page: OnPage | None
    ) -> list[PageText]:
        slots = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def one(index: int) -> PageText:
            async with slots:  # decoded one slot at a time, so memory stays bounded
                image = await workers().run(load_page, data, index, self.limits.max_pixels)
                page = await self.reader.read(image, index + 1)
            if on_page is not None:
                on_page(page)
            return page

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(i)) for i in range(count)]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def process(
        self, data: bytes, filename: str = "", on_page: OnPage | None = None
    ) -> ProcessedDocument:
        """The whole pipeline for one document; ``on_page`` is told of each page read."""
        started = time.monotonic()
        upload, pages = await self.read_pages(data, filename, on_page)
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
        layouts = [
            Page(
                p.number,
                page_layout(p.words, p.size) if p.words else rows_from_text(p.text),
                p.confidence,
            )
            for p in pages
        ]
        spans = split(layouts)
        if len(spans) > 1:
            warnings.append(
                f"the file holds {len(spans)} documents: "
                + ", ".join(f"pages {a}-{b}" if a != b else f"page {a}" for a, b in spans)
            )
        shown = min(CLASSIFY_CHARS, FIELDS_CHARS)
        if self.router is not None and any(
            len("\n\n".join(p.text for p in pages[a - 1 : b])) > shown for a, b in spans
        ):
            warnings.append(
                f"the model saw the first {shown:,} characters of each document; "
                "code checked all of them"
            )
        documents: list[DocumentPart] = []
        provenance_parts = []
        for first, last in spans:
            part, prov, part_warnings = await self._read_part(
                pages[first - 1 : last], layouts[first - 1 : last]
            )
            documents.append(part)
            provenance_parts.append(prov)
            prefix = f"pages {first}-{last}: " if len(spans) > 1 else ""
            warnings += [prefix + w for w in part_warnings]
        provenance = {
            "ocr": {
                "provider": self.ocr_provider,
                "pages": [
                    {"number": p.number, "method": p.method, "model": p.provenance} for p in pages
                ],
            },
            "classification": provenance_parts[0]["classification"],
            "fields": provenance_parts[0]["fields"],
        }
        return ProcessedDocument(
            upload=upload,
            pages=pages,
            documents=documents,
            warnings=warnings,
            provenance=provenance,
            processing_ms=(time.monotonic() - started) * 1000,
        )

    async def _read_part(
        self, pages: list[PageText], layouts: list[Page]
    ) -> tuple[DocumentPart, dict[str, Any], list[str]]:
        """Type, fields and table of one document's pages."""
        text = "\n\n".join(p.text for p in pages)
        poorly_read = any(p.unreadable for p in pages) or (
            any(p.text.strip() for p in pages)
            and all(p.method != "text-layer" and p.confidence < LOW_CONFIDENCE for p in pages)
        )
        (classification, classify_prov, warnings), extracted = await asyncio.gather(
            # A page read too poorly to tell is not judged "not a client's": it is flagged.
            classify(text, self.router, addressed=a_clients_paper(layouts) or poorly_read),
            extract_fields([(p.number, p.text, p.confidence) for p in pages], self.router),
        )
        doc_type = classification.doc_type.value
        typed, table = read_fields(doc_type, layouts)
        ocr_pages = {p.number for p in pages if p.method != "text-layer"}
        merge_fields(extracted, typed, doc_type, ocr_pages)
        place_fields(extracted, pages, layouts)
        if table is not None:
            extracted.warnings += [f"sums: {w}" for w in table.warnings]
        warnings += extracted.warnings
        warnings += check_against_type(extracted.fields, doc_type)
        part = DocumentPart(pages[0].number, pages[-1].number, classification, extracted, table)
        return part, {"classification": classify_prov, "fields": extracted.provenance}, warnings


def place_fields(extracted: ExtractedFields, pages: list[PageText], layouts: list[Page]) -> None:
    """Give each field the boxes of its quote on its page (:mod:`rma.documents.place`)."""
    by_number = {p.number: (p, layout) for p, layout in zip(pages, layouts, strict=True)}
    for found in extracted.fields.values():
        if found.page not in by_number:
            continue
        page, layout = by_number[found.page]
        boxes = quote_boxes(found.quote, layout.layout, page.words)
        found.boxes = [upright(box, page.turned, page.size) for box in boxes]
