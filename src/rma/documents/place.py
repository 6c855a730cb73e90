"""Where a field's quote is on its page: boxes to highlight on the page image.

A field keeps the line it was read from (its quote). An adviser checking the field wants
to see that line on the page itself, so each field also gets the boxes of the words its
quote came from, in the page's own units (points for a text layer, pixels of the image
as read), turned back to the page as it was uploaded when it was read turned.

A quote is found in the page's rows first (code reads fields from those rows, so its
quotes are their cells joined by three spaces, and a list's rows joined by " / "), and
otherwise word by word as a cited passage is (:func:`rma.ocr.locate.locate`: a quote the
model gave, a sentence over lines). A quote not found gets no box: the page is shown without a
highlight rather than with a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rma.ocr.layout import CELL_SEPARATOR, Cell, PageLayout
from rma.ocr.locate import Box, locate
from rma.ocr.words import Word

# A box round words of one line is at most this many of its words' height tall.
SLOPE_ALLOWANCE = 1.5
# Rows of a list field's quote (a statement's income lines) are joined by this.
ROW_SEPARATOR = " / "


def _key(text: str) -> str:
    """A word as compared: letters and digits only, lower case ("£1,350.29" is "135029")."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _keys(text: str) -> list[str]:
    return [k for k in (_key(t) for t in text.split()) if k]


def quote_boxes(quote: str, layout: PageLayout, words: Sequence[Word]) -> list[Box]:
    """The boxes of ``quote`` on a page: one per cell of the page's rows it came from, or
    one per line of the words it was found in; empty if too little of it is there."""
    if not quote.strip() or not words:
        return []
    cells: list[Cell] = []
    for line in quote.split(ROW_SEPARATOR):
        found = _row_cells(line, layout)
        if found is None:
            cells = []
            break
        cells += found
    if cells:
        return [box for c in cells for box in _line_boxes(c.words)]
    place = locate(list(words), quote)
    return place.boxes if place.located else []


def _row_cells(line: str, layout: PageLayout) -> list[Cell] | None:
    """The cells of the page's row that reads ``line``, or of the row holding the most
    of its parts; None if no row holds them all."""
    parts = [_keys(p) for p in CELL_SEPARATOR.split(line) if _keys(p)]
    if not parts:
        return None
    best: list[Cell] | None = None
    for row in layout.rows:
        by_text = [_keys(c.text) for c in row.cells]
        matched = [row.cells[by_text.index(p)] for p in parts if p in by_text]
        if len(matched) == len(parts) and (best is None or len(row.cells) < len(best)):
            best = matched
            if len(row.cells) == len(parts):
                break
    return best


def _line_boxes(words: Sequence[Word]) -> list[Box]:
    """Boxes around words of one line, left to right: one box, or on a photo where the
    line slopes, one for each run of words that keeps within a line's height (one box
    round a sloping line would take in the lines above and below it)."""
    ordered = sorted(words, key=lambda w: w.left)
    tall = SLOPE_ALLOWANCE * sorted(w.height for w in ordered)[len(ordered) // 2]
    boxes, run = [], [ordered[0]]
    for word in ordered[1:]:
        top = min(word.top, *(w.top for w in run))
        bottom = max(word.bottom, *(w.bottom for w in run))
        if bottom - top > tall:
            boxes.append(_union(run))
            run = []
        run.append(word)
    return [*boxes, _union(run)]


def _union(words: Sequence[Word]) -> Box:
    return (
        min(w.left for w in words),
        min(w.top for w in words),
        max(w.right for w in words),
        max(w.bottom for w in words),
    )


def upright(box: Box, turned: int, size: tuple[float, float]) -> Box:
    """A box on a page read turned ``turned`` degrees counter-clockwise (of size ``size``
    as read) put back on the page as it was uploaded."""
    left, top, right, bottom = box
    width, height = size
    if turned % 360 == 90:  # the page's right edge was read as its top
        return (height - bottom, left, height - top, right)
    if turned % 360 == 180:
        return (width - right, height - bottom, width - left, height - top)
    if turned % 360 == 270:  # its left edge was read as its top
        return (top, width - right, bottom, width - left)
    return box


def upright_size(size: tuple[float, float], turned: int) -> tuple[float, float]:
    """A page's size as uploaded, from its size as read turned ``turned`` degrees."""
    return (size[1], size[0]) if turned % 180 == 90 else size
