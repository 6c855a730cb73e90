"""Text from pages: PDF text layers, Tesseract, or a vision model through the router.

Shared by manual ingestion (scanned pages in manuals) and the document processor. Every
parse of an untrusted file runs in a document worker (:mod:`rma.ocr.workers`). The names
below are imported on first use, so a worker that imports this package does not load the
provider layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rma.ocr.engines import OcrReader
    from rma.ocr.pages import PageText
    from rma.ocr.pdf import PdfLayout, read_pdf, read_pdf_layout

__all__ = ["OcrReader", "PageText", "PdfLayout", "read_pdf", "read_pdf_layout"]
_HOMES = {
    "OcrReader": "rma.ocr.engines",
    "PageText": "rma.ocr.pages",
    "PdfLayout": "rma.ocr.pdf",
    "read_pdf": "rma.ocr.pdf",
    "read_pdf_layout": "rma.ocr.pdf",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'rma.ocr' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
