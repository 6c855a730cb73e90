"""PDF pages to text: the text layer where a page has one, OCR where it does not.

Every pdfium call runs in a document worker (:mod:`rma.ocr.workers`), never in the
service: a PDF is untrusted input. Before pdfium sees a file, :func:`scan_pdf` inflates
its compressed streams just to count the bytes they decode to, and reads the sizes its
images declare, so a small file that expands to gigabytes is refused (413) after
inflating at most ``MAX_PDF_STREAM_BYTES`` of it. Pages without a text layer are
rendered one at a time as their OCR slot comes free, so at most ``PAGE_CONCURRENCY``
page images are in memory per document.

The functions called in workers (``scan_pdf``, ``pdf_page_count``, ``pdf_text_layers``,
``render_pdf_page``) keep this module light to import: no router, no models.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from rma import constants as C
from rma.errors import InputError, InputTooLarge
from rma.ocr.images import MAX_IMAGE_PIXELS
from rma.ocr.pages import PageText
from rma.ocr.words import Word, words_from_chars
from rma.ocr.workers import workers

if TYPE_CHECKING:
    from rma.ocr.engines import OcrReader

# A page with fewer characters than this in its text layer is treated as scanned.
MIN_TEXT_LAYER_CHARS = 20
RENDER_DPI = 200
MAX_RENDER_PIXELS = 40_000_000
PAGE_CONCURRENCY = 4
# A stream starts after its dictionary: "<< ... >> stream" and an end of line.
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_WIDTH = re.compile(rb"/Width\s+(\d+)(?!\s+\d+\s+R)")
_HEIGHT = re.compile(rb"/Height\s+(\d+)(?!\s+\d+\s+R)")
_INFLATE_STEP = 1 << 20
_DICTIONARY_WINDOW = 4096


def scan_pdf(
    data: bytes,
    max_stream: int = C.MAX_PDF_STREAM_BYTES,
    max_decoded: int = C.MAX_DECODED_BYTES,
) -> int:
    """The bytes the PDF's Flate streams decode to, counted without keeping them. Refuses
    (413) a stream past ``max_stream``, all of them past ``max_decoded``, or an image over
    the pixel limit (images are checked by the size they declare, not inflated)."""
    decoded = 0
    position = 0
    while match := _STREAM.search(data, position):
        start = match.end()
        head = data[max(0, match.start() - _DICTIONARY_WINDOW) : match.start()]
        head = head[head.rfind(b"obj") + 1 :] if b"obj" in head else head
        position = start
        if _IMAGE.search(head):
            _check_image(head)
            continue
        if not _FLATE.search(head):
            continue
        allowance = min(max_stream, max_decoded - decoded)
        size, consumed = _inflated_size(data, start, allowance)
        decoded += size
        position = start + max(consumed, 1)
        if size > max_stream:
            raise InputTooLarge(
                f"a stream in the PDF expands to more than {max_stream / 1e6:.0f} MB when "
                "decoded; it cannot be read safely (print it to a new PDF, or send images)"
            )
        if decoded > max_decoded:
            raise InputTooLarge(
                f"the PDF's content expands to more than {max_decoded / 1e6:.0f} MB when "
                "decoded; it cannot be read safely (send fewer pages at a time)"
            )
    return decoded


def _check_image(dictionary: bytes) -> None:
    width, height = _WIDTH.search(dictionary), _HEIGHT.search(dictionary)
    if width and height and int(width.group(1)) * int(height.group(1)) > MAX_IMAGE_PIXELS:
        w, h = int(width.group(1)), int(height.group(1))
        raise InputTooLarge(
            f"the PDF holds an image of {w}x{h} pixels ({w * h / 1e6:.0f} MP); "
            f"the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        )


def _inflated_size(data: bytes, start: int, allowance: int) -> tuple[int, int]:
    """(bytes out, bytes in) of the zlib stream at ``start``, stopping once past
    ``allowance``; a damaged stream counts what came out before the damage."""
    inflater = zlib.decompressobj()
    out = 0
    offset = start
    pending = b""
    try:
        while out <= allowance and not inflater.eof:
            if not pending:
                if offset >= len(data):
                    break
                pending = data[offset : offset + _INFLATE_STEP]
                offset += len(pending)
            out += len(inflater.decompress(pending, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass
    consumed = offset - start - len(pending) - len(inflater.unused_data)
    return out, consumed


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
    """Pages in the PDF, after :func:`scan_pdf` (run in a worker)."""
    scan_pdf(data)
    doc = _open(data)
    try:
        return len(doc)
    finally:
        doc.close()


@dataclass
class TextLayer:
    """A page's text layer: its text, its words with their boxes, its size (points)."""

    text: str
    words: list[Word]
    size: tuple[float, float]


def pdf_text_layers(data: bytes, max_pages: int) -> list[TextLayer]:
    """Each page's text layer (run in a worker); refuses more than ``max_pages``."""
    scan_pdf(data)
    doc = _open(data)
    try:
        if len(doc) > max_pages:
            raise InputTooLarge(f"the PDF has {len(doc)} pages; the limit is {max_pages}")
        layers = []
        for page in doc:
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
    finally:
        doc.close()


def render_pdf_page(data: bytes, index: int) -> PILImage.Image:
    """Page ``index`` as an RGB image at ``RENDER_DPI`` (run in a worker)."""
    doc = _open(data)
    try:
        page = doc[index]
        try:
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            if width * height * scale * scale > MAX_RENDER_PIXELS:
                scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            page.close()
    finally:
        doc.close()


async def read_pdf(data: bytes, reader: OcrReader, *, max_pages: int = 200) -> list[PageText]:
    """One :class:`PageText` per page, numbered from 1, in order."""
    pool = workers()
    layers = await pool.run(pdf_text_layers, data, max_pages)
    slots = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def one(index: int, layer: TextLayer) -> PageText:
        if len(layer.text) >= MIN_TEXT_LAYER_CHARS:
            return PageText(
                index + 1, layer.text, "text-layer", 1.0, words=layer.words, size=layer.size
            )
        async with slots:
            image = await pool.run(render_pdf_page, data, index)
            return await reader.read(image, index + 1)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i, t)) for i, t in enumerate(layers)]
    except ExceptionGroup as failed:  # the first page's error, as a single exception
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
