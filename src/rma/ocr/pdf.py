"""PDF pages to text: the text layer where a page has one, OCR where it does not.

Every pdfium call runs in a document worker (:mod:`rma.ocr.workers`), never in the
service: a PDF is untrusted input. Before pdfium sees a file, :func:`scan_pdf` inflates
its compressed streams just to count the bytes they decode to, and reads the sizes its
images declare, so a small file that expands to gigabytes is refused (413) after
inflating at most ``MAX_PDF_STREAM_BYTES`` of it. Pages without a text layer are
rendered one at a time as their OCR slot comes free, so at most ``PAGE_CONCURRENCY``
page images are in memory per document.

The functions called in workers (``scan_pdf``, ``pdf_page_count``, ``pdf_text_layers``,
``pdf_page_text_layer``, ``render_pdf_page``, ``pdf_page_png``) keep this module light to
import: no router, no models.

For printed manuals :func:`read_pdf_layout` also gives each text-layer line its position,
font size and boldness, and the document's outline: what a cleaner needs to tell running
headers, headings and columns from body text. It reads no text itself: that is the
cleaner's job (``rma.rag.printout``).
"""

from __future__ import annotations

import asyncio
import ctypes
import re
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from rma import constants as C
from rma.errors import InputError, InputTooLarge
from rma.ocr.images import MAX_IMAGE_PIXELS
from rma.ocr.pages import OnPage, PageText
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


_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_FORCE_BOLD = 1 << 18  # PDF font descriptor flag


@dataclass(frozen=True)
class TextLine:
    """One line of a page's text layer, as pdfium orders it; coordinates in points from
    the page's bottom left corner."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    baseline: float
    size: float
    bold: bool


@dataclass
class PageLayout:
    number: int
    width: float
    height: float
    lines: list[TextLine]


@dataclass(frozen=True)
class OutlineEntry:
    """A bookmark: its title, depth (0 is the top) and the 1-based page it points to."""

    title: str
    level: int
    page: int


@dataclass
class PdfLayout:
    """A PDF's pages (text, or OCR where there is no text layer), the layout of each
    text-layer page, and its outline (empty when it has none)."""

    pages: list[PageText]
    layouts: dict[int, PageLayout] = field(default_factory=dict)
    outline: list[OutlineEntry] = field(default_factory=list)


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
    """A page's text layer: its text, its words with their boxes, its size (points) and,
    when asked for, its lines with position and font."""

    text: str
    words: list[Word]
    size: tuple[float, float]
    layout: PageLayout | None = None


def pdf_text_layers(data: bytes, max_pages: int, layout: bool = False) -> list[TextLayer]:
    """Each page's text layer (run in a worker); refuses more than ``max_pages``. With
    ``layout``, each layer also carries its lines with position and font."""
    scan_pdf(data)
    doc = _open(data)
    try:
        if len(doc) > max_pages:
            raise InputTooLarge(f"the PDF has {len(doc)} pages; the limit is {max_pages}")
        return [_text_layer(doc, index, layout) for index in range(len(doc))]
    finally:
        doc.close()


def pdf_page_text_layer(data: bytes, index: int) -> TextLayer:
    """Page ``index``'s text layer alone (run in a worker): its words with their boxes,
    for finding a quote on the page without reading the whole document."""
    scan_pdf(data)
    doc = _open(data)
    try:
        _check_index(doc, index)
        return _text_layer(doc, index, layout=False)
    finally:
        doc.close()


def _check_index(doc: Any, index: int) -> None:
    if not 0 <= index < len(doc):
        raise InputError(f"the PDF has {len(doc)} pages; there is no page {index + 1}")


def _text_layer(doc: Any, index: int, layout: bool) -> TextLayer:
    page = doc[index]
    textpage = page.get_textpage()
    try:
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
        lines = PageLayout(index + 1, width, height, _lines(textpage)) if layout else None
        return TextLayer(text, words, (width, height), lines)
    finally:
        textpage.close()
        page.close()


def render_pdf_page(data: bytes, index: int, dpi: int = RENDER_DPI) -> PILImage.Image:
    """Page ``index`` as an RGB image at ``dpi`` (run in a worker)."""
    doc = _open(data)
    try:
        page = doc[index]
        try:
            width, height = page.get_size()
            scale = dpi / 72
            if width * height * scale * scale > MAX_RENDER_PIXELS:
                scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            page.close()
    finally:
        doc.close()


def pdf_page_png(data: bytes, index: int, dpi: int = RENDER_DPI) -> bytes:
    """Page ``index`` rendered at ``dpi`` as PNG bytes (run in a worker, so only the
    compressed image crosses back); InputError when the PDF has no such page."""
    import io

    scan_pdf(data)
    doc = _open(data)
    try:
        _check_index(doc, index)
    finally:
        doc.close()
    buffer = io.BytesIO()
    render_pdf_page(data, index, dpi).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def pdf_outline(data: bytes) -> list[OutlineEntry]:
    """The PDF's bookmarks (run in a worker), in order; empty when it has none."""
    doc = _open(data)
    try:
        entries = []
        for bookmark in doc.get_toc(max_depth=8):
            dest = bookmark.get_dest()
            title = " ".join(bookmark.get_title().split())
            if dest is not None and dest.get_index() is not None and title:
                entries.append(OutlineEntry(title, bookmark.level, dest.get_index() + 1))
        return entries
    finally:
        doc.close()


def _lines(textpage: Any) -> list[TextLine]:
    """The text layer's lines (pdfium's order), each with the box of its characters and
    the size and boldness of its font (the most common one along the line)."""
    import pypdfium2.raw as raw

    text = textpage.get_text_range()
    if raw.FPDFText_CountChars(textpage) != len(text):
        return []  # characters beyond the BMP: indexes no longer line up; no layout
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    fonts: dict[bytes, bool] = {}
    out: list[TextLine] = []
    start = 0
    for line in text.split("\r\n"):
        end = start + len(line)
        chars = [i for i in range(start, end) if not line[i - start].isspace()]
        start = end + 2
        if not chars:
            continue
        boxes = []
        styles: dict[tuple[float, bool], int] = {}
        step = max(1, len(chars) // 8)  # a sample along the line is enough for box and style
        for i in [*chars[::step], chars[-1]]:
            raw.FPDFText_GetCharBox(textpage, i, left, right, bottom, top)
            boxes.append((left.value, bottom.value, right.value, top.value))
            raw.FPDFText_GetFontInfo(textpage, i, name, len(name), flags)
            if name.value not in fonts:
                fonts[name.value] = bool(
                    _BOLD_NAME.search(name.value.decode("latin-1")) or flags.value & _FORCE_BOLD
                )
            bold = fonts[name.value] or raw.FPDFText_GetFontWeight(textpage, i) >= 600
            style = (round(raw.FPDFText_GetFontSize(textpage, i), 1), bold)
            styles[style] = styles.get(style, 0) + 1
        raw.FPDFText_GetCharOrigin(textpage, chars[0], origin_x, origin_y)
        size, bold = max(styles, key=lambda s: styles[s])
        if len(styles) > 1 and bold:
            bold = all(b for _, b in styles)  # a bold lead-in does not make a heading
        out.append(
            TextLine(
                line,
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
                origin_y.value,
                size,
                bold,
            )
        )
    return out


async def read_pdf(
    data: bytes, reader: OcrReader, *, max_pages: int = 200, on_page: OnPage | None = None
) -> list[PageText]:
    """One :class:`PageText` per page, numbered from 1, in order; ``on_page`` is called
    with each page as soon as it is read (in the order they finish)."""
    return (await _read(data, reader, max_pages, layout=False, on_page=on_page)).pages


async def read_pdf_layout(data: bytes, reader: OcrReader, *, max_pages: int = 2000) -> PdfLayout:
    """Pages as :func:`read_pdf` reads them, with each text-layer page's lines and fonts
    and the document's outline."""
    return await _read(data, reader, max_pages, layout=True)


async def _read(
    data: bytes, reader: OcrReader, max_pages: int, *, layout: bool, on_page: OnPage | None = None
) -> PdfLayout:
    pool = workers()
    layers = await pool.run(pdf_text_layers, data, max_pages, layout)
    outline = await pool.run(pdf_outline, data) if layout else []
    slots = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def one(index: int, layer: TextLayer) -> PageText:
        page = await read_one(index, layer)
        if on_page is not None:
            on_page(page)
        return page

    async def read_one(index: int, layer: TextLayer) -> PageText:
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
    pages = [task.result() for task in tasks]
    layouts = {
        page.number: lines
        for page in pages
        if page.method == "text-layer" and (lines := layers[page.number - 1].layout) is not None
    }
    return PdfLayout(pages, layouts, outline)
