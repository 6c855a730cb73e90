"""Documents to PDF pages with a real text layer (reportlab), laid out from their blocks.

Fonts are PDF's standard Helvetica, Times and Courier (no files needed) and DejaVu Sans
and Serif (``fonts-dejavu-core``, which the project installs). Output is byte-for-byte
reproducible (reportlab's invariant mode), so a seed names one exact set of files.
A block that would run off its page or out of its table cell raises
:class:`LayoutOverflow`: the key says which page each value is on, so text must never
move to another page or be cut.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from rma.documents.corpus.document import (
    Box,
    CorpusDocument,
    Gap,
    Grid,
    HouseStyle,
    Pair,
    Rule,
    Table,
    Text,
    TextStyle,
)
from rma.errors import ConfigError

A4 = (595.2756, 841.8898)
INK = (0.1, 0.1, 0.12)
GREY = (0.42, 0.42, 0.45)
LEADING = 1.32
FACES = {
    "helvetica": ("Helvetica", "Helvetica-Bold"),
    "times": ("Times-Roman", "Times-Bold"),
    "courier": ("Courier", "Courier-Bold"),
    "dejavu-sans": ("DejaVuSans", "DejaVuSans-Bold"),
    "dejavu-serif": ("DejaVuSerif", "DejaVuSerif-Bold"),
}
DEJAVU_FILES = {
    "DejaVuSans": "DejaVuSans.ttf",
    "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
    "DejaVuSerif": "DejaVuSerif.ttf",
    "DejaVuSerif-Bold": "DejaVuSerif-Bold.ttf",
}
_registered: set[str] = set()


class LayoutOverflow(ValueError):
    """A page's blocks do not fit it: a generator bug, refused rather than reflowed."""


def _register_fonts() -> None:
    from PIL import ImageFont
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for face, filename in DEJAVU_FILES.items():
        if face in _registered:
            continue
        try:
            path = ImageFont.truetype(filename, 10).path  # Pillow knows the system font dirs
        except OSError:
            raise ConfigError(
                f"the font {filename} is not installed (Debian: apt-get install fonts-dejavu-core)"
            ) from None
        pdfmetrics.registerFont(TTFont(face, path))
        _registered.add(face)


def _logo(initials: str, accent: tuple[float, float, float]) -> Any:
    """A round logo with the sender's initials, as a picture: a real logo is an image, so
    its letters are not in the page's text layer (OCR of a photo still sees them)."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader

    size = 160
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, size - 1, size - 1), fill=tuple(round(c * 255) for c in accent))
    font = ImageFont.truetype(DEJAVU_FILES["DejaVuSans-Bold"], 52)
    draw.text((size / 2, size / 2), initials, fill="white", font=font, anchor="mm")
    return ImageReader(image)


def documents_of(doc: CorpusDocument) -> Iterator[CorpusDocument]:
    """A bundle's documents in page order, or the document itself."""
    if doc.parts:
        for part in doc.parts:
            yield part.document
    else:
        yield doc


def render_pdf(doc: CorpusDocument) -> bytes:
    """The document (or a bundle, one document after another) as a PDF with a text layer."""
    try:
        from reportlab.pdfgen import canvas
    except ImportError:
        raise ConfigError(
            "rendering the document set needs reportlab (pip install reportlab)"
        ) from None
    _register_fonts()
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle(doc.id)
    for document in documents_of(doc):
        for number in range(1, len(document.pages) + 1):
            _Page(pdf, document, number).draw()
            pdf.showPage()
    pdf.save()
    return buf.getvalue()


class _Page:
    """One page being drawn: a cursor moving down from the top margin."""

    def __init__(self, pdf: Any, doc: CorpusDocument, number: int) -> None:
        self.pdf = pdf
        self.doc = doc
        self.number = number
        self.style: HouseStyle = doc.style
        self.x0 = self.style.margin
        self.x1 = A4[0] - self.style.margin
        self.y = A4[1] - self.style.margin * 0.8
        footer_lines = len(doc.footer) + (1 if self.style.page_numbers else 0)
        self.bottom = self.style.margin * 0.6 + footer_lines * self._lead("small") + 10

    # ----------------------------------------------------------- fonts and text
    def _face(self, style: TextStyle) -> tuple[str, float]:
        regular, bold = FACES[self.style.font]
        size = self.style.size
        return {
            "body": (regular, size),
            "bold": (bold, size),
            "small": (regular, size - 2),
            "heading": (bold, size + 2),
            "title": (bold, size + 6),
            "mono": ("Courier", size),
        }[style]

    def _lead(self, style: TextStyle) -> float:
        return self._face(style)[1] * LEADING

    def _width(self, text: str, style: TextStyle) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        face, size = self._face(style)
        return float(stringWidth(text, face, size))

    def _text(
        self,
        x: float,
        y: float,
        text: str,
        style: TextStyle,
        align: str = "left",
        colour: tuple[float, float, float] = INK,
    ) -> None:
        face, size = self._face(style)
        self.pdf.setFont(face, size)
        self.pdf.setFillColorRGB(*colour)
        if align == "right":
            self.pdf.drawRightString(x, y, text)
        elif align == "center":
            self.pdf.drawCentredString(x, y, text)
        else:
            self.pdf.drawString(x, y, text)

    def _down(self, points: float) -> None:
        self.y -= points
        if self.y < self.bottom:
            raise LayoutOverflow(f"{self.doc.id}: page {self.number} overflows")

    def _fits(self, text: str, style: TextStyle, width: float) -> None:
        if self._width(text, style) > width + 0.5:
            raise LayoutOverflow(
                f"{self.doc.id}: {text!r} is wider than its space on page {self.number}"
            )

    # ----------------------------------------------------------- the page
    def draw(self) -> None:
        if self.number == 1:
            self._letterhead()
        elif self.doc.letterhead is not None:
            self._text(self.x1, self.y, self.doc.letterhead.name, "small", "right", GREY)
            self._down(self._lead("small") * 2)
        for block in self.doc.pages[self.number - 1]:
            if isinstance(block, Text):
                self._paragraph(block)
            elif isinstance(block, Gap):
                self._down(block.points)
            elif isinstance(block, Rule):
                self.pdf.setStrokeColorRGB(*GREY)
                self.pdf.setLineWidth(0.6)
                self._down(6)
                self.pdf.line(self.x0, self.y, self.x1, self.y)
                self._down(6)
            elif isinstance(block, Pair):
                self._pair(block)
            elif isinstance(block, Grid):
                self._grid(block)
            elif isinstance(block, Table):
                self._table(block)
            elif isinstance(block, Box):
                self._box(block)
        self._footer()

    def _letterhead(self) -> None:
        head = self.doc.letterhead
        kind = self.style.letterhead
        if head is None or kind == "none":
            return
        accent = self.style.accent
        lead = self._lead("small")
        if kind == "band":
            top = A4[1]
            widest = max((self._width(line, "small") for line in head.lines), default=0.0)
            beside = self.x0 + self._width(head.name, "title") + widest + 24 <= self.x1
            height = 62 + (lead * max(0, len(head.lines) - 2) if beside else 0)
            self.pdf.setFillColorRGB(*accent)
            self.pdf.rect(0, top - height, A4[0], height, stroke=0, fill=1)
            self._fits(head.name, "title", self.x1 - self.x0)
            self._text(self.x0, top - 38, head.name, "title", colour=(1, 1, 1))
            y = top - 20 if beside else top - height - 14
            for line in head.lines:
                if beside:
                    self._text(self.x1, y, line, "small", "right", (1, 1, 1))
                else:
                    self._fits(line, "small", self.x1 - self.x0)
                    self._text(self.x0, y, line, "small", colour=GREY)
                y -= lead
            self.y = min(top - height, y) - 24
            return
        if kind == "centred":
            mid = (self.x0 + self.x1) / 2
            self._text(mid, self.y - 8, head.name, "title", "center", accent)
            self.y -= 8 + self._lead("title") * 0.6
            for line in head.lines:
                self._text(mid, self.y, line, "small", "center", GREY)
                self.y -= lead
            self.pdf.setStrokeColorRGB(*accent)
            self.pdf.line(self.x0, self.y + lead * 0.4, self.x1, self.y + lead * 0.4)
            self._down(lead + 14)
            return
        x = self.x0
        if kind == "logo":
            initials = "".join(w[0] for w in head.name.split() if w[:1].isupper())[:3]
            self.pdf.drawImage(_logo(initials, accent), self.x0, self.y - 32, 40, 40, mask="auto")
            x = self.x0 + 50
        self._text(x, self.y - 14, head.name, "title", colour=accent)
        widest = max((self._width(line, "small") for line in head.lines), default=0.0)
        if x + self._width(head.name, "title") + widest + 24 <= self.x1:
            y = self.y
            for line in head.lines:
                self._text(self.x1, y, line, "small", "right", GREY)
                y -= lead
            self.y = min(self.y - 14 - self._lead("title"), y) - 16
            return
        # No room beside the name: the address goes under it.
        y = self.y - 14 - self._lead("title")
        for line in head.lines:
            self._fits(line, "small", self.x1 - x)
            self._text(x, y, line, "small", colour=GREY)
            y -= lead
        self.y = y - 12

    def _footer(self) -> None:
        lead = self._lead("small")
        y = self.style.margin * 0.6
        if self.style.page_numbers:
            total = len(self.doc.pages)
            self._text(self.x1, y, f"Page {self.number} of {total}", "small", "right", GREY)
            y += lead
        for line in reversed(self.doc.footer):
            self._fits(line, "small", self.x1 - self.x0)
            self._text((self.x0 + self.x1) / 2, y, line, "small", "center", GREY)
            y += lead

    # ----------------------------------------------------------- blocks
    def _paragraph(self, block: Text) -> None:
        from reportlab.lib.utils import simpleSplit

        face, size = self._face(block.style)
        width = self.x1 - self.x0 - block.indent
        colour = self.style.accent if block.style in ("title", "heading") else INK
        x = {"left": self.x0 + block.indent, "right": self.x1, "center": (self.x0 + self.x1) / 2}
        for line in simpleSplit(block.text, face, size, width):
            self._down(self._lead(block.style))
            self._text(x[block.align], self.y, line, block.style, block.align, colour)

    def _pair(self, block: Pair) -> None:
        lead = self._lead("body")
        split = self.x0 + (self.x1 - self.x0) * 0.52
        top = self.y
        for i, line in enumerate(block.left):
            self._fits(line, "body", split - self.x0 - 8)
            self._text(self.x0, top - lead * (i + 1), line, "body")
        pad = 6 if block.boxed else 0
        for i, line in enumerate(block.right):
            self._fits(line, "body", self.x1 - split - 2 * pad)
            self._text(split + pad, top - lead * (i + 1) - pad, line, "body")
        if block.boxed and block.right:
            height = lead * len(block.right) + 2 * pad + 4
            self.pdf.setStrokeColorRGB(*GREY)
            self.pdf.rect(split, top - height, self.x1 - split, height, stroke=1, fill=0)
        self._down(max(len(block.left), len(block.right)) * lead + 2 * pad + 4)

    def _grid(self, block: Grid) -> None:
        lead = self._lead("body")
        pad = 8 if block.boxed else 0
        label_width = max(self._width(label, "body") for label, _ in block.rows) + 16
        value_style: TextStyle = "bold" if block.bold_values else "body"
        if block.boxed:
            self._down(6)  # clear of the line above
        top = self.y
        for label, value in block.rows:
            self._down(lead)
            self._fits(value, value_style, self.x1 - self.x0 - label_width - 2 * pad)
            self._text(self.x0 + pad, self.y - pad, label, "body")
            self._text(self.x0 + pad + label_width, self.y - pad, value, value_style)
        if block.boxed:
            self._down(2 * pad)
            self.pdf.setStrokeColorRGB(*self.style.accent)
            self.pdf.rect(self.x0, self.y + 2, self.x1 - self.x0, top - self.y, stroke=1, fill=0)
        self._down(4)

    def _table(self, block: Table) -> None:
        lead = self._lead(block.style) * 1.08
        width = self.x1 - self.x0
        edges = [self.x0]
        for share in block.widths:
            edges.append(edges[-1] + width * share)
        rows = [(block.headers, True), *((r, False) for r in block.rows)]
        for index, (cells, header) in enumerate(rows):
            self._down(lead)
            if header and block.shaded:
                self.pdf.setFillColorRGB(*(0.85 + 0.15 * c for c in self.style.accent))
                self.pdf.rect(self.x0, self.y - 3, width, lead, stroke=0, fill=1)
            elif block.shaded and index % 2 == 0:
                self.pdf.setFillColorRGB(0.94, 0.94, 0.94)
                self.pdf.rect(self.x0, self.y - 3, width, lead, stroke=0, fill=1)
            style: TextStyle = "bold" if header else block.style
            for col, text in enumerate(cells):
                left, right = edges[col] + 3, edges[col + 1] - 3
                self._fits(text, style, right - left)
                if block.align[col] == "right":
                    self._text(right, self.y, text, style, "right")
                else:
                    self._text(left, self.y, text, style)
            if block.ruled and (header or index == len(rows) - 1):
                self.pdf.setStrokeColorRGB(*GREY)
                self.pdf.setLineWidth(0.5)
                self.pdf.line(self.x0, self.y - 4, self.x1, self.y - 4)
        self._down(6)

    def _box(self, block: Box) -> None:
        lead = self._lead(block.style)
        pad = 7
        self._down(6)  # clear of the line above
        top = self.y
        self._down(pad)
        for line in block.lines:
            self._fits(line, block.style, self.x1 - self.x0 - 2 * pad)
            self._down(lead)
            self._text(self.x0 + pad, self.y, line, block.style)
        self._down(pad)
        self.pdf.setStrokeColorRGB(*self.style.accent)
        self.pdf.setLineWidth(1.2)
        self.pdf.rect(self.x0, self.y, self.x1 - self.x0, top - self.y, stroke=1, fill=0)
        self._down(6)
