"""PDF pages to text: the text layer where a page has one, OCR where it does not.

pdfium is not thread-safe, so every pdfium call runs on a worker thread under one lock.
Pages without a text layer are rendered one at a time as their OCR slot comes free, so
at most ``PAGE_CONCURRENCY`` page images are in memory per document.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage

from rma.errors import InputError, InputTooLarge
from rma.ocr.engines import OcrReader, PageText
from rma.ocr.words import Word, words_from_chars

_PDFIUM = threading.Lock()
# A page with fewer characters than this in its text layer is treated as scanned.
MIN_TEXT_LAYER_CHARS = 20
RENDER_DPI = 200
MAX_RENDER_PIXELS = 40_000_000
PAGE_CONCURRENCY = 4


def _open(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(
                "the PDF is password-protected; remove the password and retry"
            ) from None
        raise InputError(f"the file is not a readable PDF ({exc})") from None


def pdf_page_count(data: bytes) -> int:
    with _PDFIUM:
        doc = _open(data)
        try:
            return len(doc)
        finally:
            doc.close()


@dataclass
class TextLayer:
    text: str
    words: list[Word]
    size: tuple[float, float]


class _PdfPages:
    """An open PDF whose pages are read and rendered on demand, under the pdfium lock."""

    def __init__(self, data: bytes, max_pages: int) -> None:
        with _PDFIUM:
            self.doc = _open(data)
            if len(self.doc) > max_pages:
                count = len(self.doc)
                self.doc.close()
                raise InputTooLarge(f"the PDF has {count} pages; the limit is {max_pages}")

    def text_layers(self) -> list[TextLayer]:
        """Each page's text layer: its text, its words with their boxes, its size."""
        with _PDFIUM:
            layers = []
            for page in self.doc:
                textpage = page.get_textpage()
                width, height = page.get_size()
                count = textpage.count_chars()
                chars = textpage.get_text_range(0, count) if count else ""
                words: list[Word] = []
                if len(chars) == count:  # one character per index, as pdfium promises
                    boxes = [textpage.get_charbox(i, loose=True) for i in range(count)]
                    words = words_from_chars(
                        [(c, *box) for c, box in zip(chars, boxes, strict=True)], height
                    )
                text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
                layers.append(TextLayer(text, words, (width, height)))
                textpage.close()
                page.close()
            return layers

    def render(self, index: int) -> PILImage.Image:
        with _PDFIUM:
            page = self.doc[index]
            try:
                width, height = page.get_size()
                scale = RENDER_DPI / 72
                if width * height * scale * scale > MAX_RENDER_PIXELS:
                    scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
                return page.render(scale=scale).to_pil().convert("RGB")
            finally:
                page.close()

    def close(self) -> None:
        with _PDFIUM:
            self.doc.close()


async def read_pdf(data: bytes, reader: OcrReader, *, max_pages: int = 200) -> list[PageText]:
    """One :class:`PageText` per page, numbered from 1, in order."""
    pdf = await asyncio.to_thread(_PdfPages, data, max_pages)
    try:
        layers = await asyncio.to_thread(pdf.text_layers)
        slots = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def one(index: int, layer: TextLayer) -> PageText:
            if len(layer.text) >= MIN_TEXT_LAYER_CHARS:
                return PageText(
                    index + 1, layer.text, "text-layer", 1.0, words=layer.words, size=layer.size
                )
            async with slots:
                image = await asyncio.to_thread(pdf.render, index)
                return await reader.read(image, index + 1)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(i, t)) for i, t in enumerate(layers)]
        except ExceptionGroup as failed:  # the first page's error, as a single exception
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]
    finally:
        await asyncio.to_thread(pdf.close)
