"""PDF pages to text: the text layer where a page has one, OCR where it does not.

pdfium is not thread-safe, so all pdfium work runs under one lock on a worker thread;
OCR of rendered pages runs concurrently up to a bound.
"""

from __future__ import annotations

import asyncio
import threading

from PIL import Image as PILImage

from rma.errors import InputError, InputTooLarge
from rma.ocr.engines import OcrReader, PageText

_PDFIUM = threading.Lock()
# A page with fewer characters than this in its text layer is treated as scanned.
MIN_TEXT_LAYER_CHARS = 20
RENDER_DPI = 200
MAX_RENDER_PIXELS = 40_000_000
PAGE_CONCURRENCY = 4


def _open(data: bytes):  # type: ignore[no-untyped-def]
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


def _extract(data: bytes, max_pages: int) -> list[tuple[str, PILImage.Image | None]]:
    """Text layer of each page, and a rendering of those without one."""
    with _PDFIUM:
        doc = _open(data)
        try:
            if len(doc) > max_pages:
                raise InputTooLarge(f"the PDF has {len(doc)} pages; the limit is {max_pages}")
            pages: list[tuple[str, PILImage.Image | None]] = []
            for page in doc:
                textpage = page.get_textpage()
                text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
                textpage.close()
                image = None
                if len(text) < MIN_TEXT_LAYER_CHARS:
                    width, height = page.get_size()
                    scale = RENDER_DPI / 72
                    if width * height * scale * scale > MAX_RENDER_PIXELS:
                        scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
                    image = page.render(scale=scale).to_pil().convert("RGB")
                page.close()
                pages.append((text, image))
            return pages
        finally:
            doc.close()


async def read_pdf(data: bytes, reader: OcrReader, *, max_pages: int = 200) -> list[PageText]:
    """One :class:`PageText` per page, numbered from 1, in order."""
    pages = await asyncio.to_thread(_extract, data, max_pages)
    slots = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def one(number: int, text: str, image: PILImage.Image | None) -> PageText:
        if image is None:
            return PageText(number, text, "text-layer", 1.0)
        async with slots:
            return await reader.read(image, number)

    return list(await asyncio.gather(*(one(i + 1, t, im) for i, (t, im) in enumerate(pages))))
