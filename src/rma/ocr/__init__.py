"""Text from pages: PDF text layers, Tesseract, or a vision model through the router.

Shared by manual ingestion (scanned pages in manuals) and the document processor.
"""

from rma.ocr.engines import OcrReader, PageText
from rma.ocr.pdf import PdfLayout, read_pdf, read_pdf_layout

__all__ = ["OcrReader", "PageText", "PdfLayout", "read_pdf", "read_pdf_layout"]
