"""PDF pages to text: the text layer where a page has one, OCR where it does not.

pdfium is not thread-safe, so every pdfium call runs on a worker thread under one lock.
Pages without a text layer are rendered one at a time as their OCR slot comes free, so
at most ``PAGE_CONCURRENCY`` page images are in memory per document.

For printed manuals :func:`read_pdf_layout` also gives each text-layer line its position,
font size and boldness, and the document's outline: what a cleaner needs to tell running
headers, headings and columns from body text. It reads no text itself: that is the
cleaner's job (``rma.rag.printout``).
"""

from __future__ import annotations

import asyncio
import ctypes
import re
import threading
from dataclasses import dataclass, field
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

    def text_layers(self, layout: bool = False) -> tuple[list[TextLayer], dict[int, PageLayout]]:
        """Each page's text layer (its text, its words with their boxes, its size) and, with
        ``layout``, its lines with position and font."""
        with _PDFIUM:
            layers: list[TextLayer] = []
            layouts: dict[int, PageLayout] = {}
            for index, page in enumerate(self.doc):
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
                if layout:
                    layouts[index + 1] = PageLayout(index + 1, width, height, _lines(textpage))
                textpage.close()
                page.close()
            return layers, layouts

    def outline(self) -> list[OutlineEntry]:
        with _PDFIUM:
            entries = []
            for bookmark in self.doc.get_toc(max_depth=8):
                dest = bookmark.get_dest()
                title = " ".join(bookmark.get_title().split())
                if dest is not None and dest.get_index() is not None and title:
                    entries.append(OutlineEntry(title, bookmark.level, dest.get_index() + 1))
            return entries

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


async def read_pdf(data: bytes, reader: OcrReader, *, max_pages: int = 200) -> list[PageText]:
    """One :class:`PageText` per page, numbered from 1, in order."""
    return (await _read(data, reader, max_pages, layout=False)).pages


async def read_pdf_layout(data: bytes, reader: OcrReader, *, max_pages: int = 2000) -> PdfLayout:
    """Pages as :func:`read_pdf` reads them, with each text-layer page's lines and fonts
    and the document's outline."""
    return await _read(data, reader, max_pages, layout=True)


async def _read(data: bytes, reader: OcrReader, max_pages: int, *, layout: bool) -> PdfLayout:
    pdf = await asyncio.to_thread(_PdfPages, data, max_pages)
    try:
        layers, layouts = await asyncio.to_thread(pdf.text_layers, layout)
        outline = await asyncio.to_thread(pdf.outline) if layout else []
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
        pages = [task.result() for task in tasks]
        text_pages = {p.number for p in pages if p.method == "text-layer"}
        return PdfLayout(pages, {n: v for n, v in layouts.items() if n in text_pages}, outline)
    finally:
        await asyncio.to_thread(pdf.close)
