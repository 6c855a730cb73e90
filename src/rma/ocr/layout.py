"""Rows and cells rebuilt from words' boxes: how a page is laid out, not just what it says.

A label and its value ("Account number    12345678"), a statement's row of date,
description and amounts, an address beside a reference box: a reader sees each as one
row because the words sit on one line, however far apart. OCR engines and PDF text
layers often do not (Tesseract puts columns in separate blocks), so rows are rebuilt
here from the boxes: words close together on a line form a *cell*, cells on the same
line form a *row*. Lines may slope (a page scanned crooked, photographed from an angle):
each line's own slope decides which cells continue it. Two pages photographed side by
side are found by the empty gutter between them and read one after the other.

Without boxes (a vision model's text), each line of text is a row and runs of three or
more spaces separate its cells.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field, replace
from itertools import pairwise

from rma.ocr.words import Word

# Words further apart than this many word-heights are in different cells.
CELL_GAP = 1.0
# ... and further apart than this many of the page's usual spaces between words.
SPACES_APART = 2.0
# A cell continues a row when its middle is within this many heights of the row's line.
ROW_TOLERANCE = 0.45
# Two pages side by side leave an empty gutter at least this share of the image wide...
GUTTER_MIN_SHARE = 0.012
# ...whose lines on either side do not line up (a table's columns do).
GUTTER_MAX_ALIGNED = 0.7
CELL_SEPARATOR = re.compile(r"\t+|\s{3,}| \| ")


@dataclass
class Cell:
    """Words close together on one line: a label, a value, a phrase."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def left(self) -> float:
        return min(w.left for w in self.words)

    @property
    def right(self) -> float:
        return max(w.right for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def middle(self) -> float:
        return statistics.median(w.middle for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)

    @property
    def confidence(self) -> float:
        """The least sure word's confidence: a figure is as sure as its worst digit."""
        return min(w.confidence for w in self.words)


@dataclass
class Row:
    """Cells on one line of a page, left to right; ``sheet`` is 1 for the right-hand page
    of two photographed side by side, else 0."""

    cells: list[Cell]
    sheet: int = 0
    # The row's height relative to the page's usual line (1.0: body text; a title ~1.6).
    scale: float = 1.0

    @property
    def text(self) -> str:
        return "   ".join(c.text for c in self.cells)

    @property
    def words(self) -> list[Word]:
        return [w for c in self.cells for w in c.words]

    @property
    def top(self) -> float:
        return min(c.top for c in self.cells)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.cells)

    @property
    def height(self) -> float:
        return max(c.height for c in self.cells)

    @property
    def confidence(self) -> float:
        return min(c.confidence for c in self.cells)


@dataclass
class PageLayout:
    """A page's rows in reading order, and its size in the words' units (0 if unknown)."""

    rows: list[Row]
    width: float = 0.0
    height: float = 0.0
    sheets: int = 1
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.rows)


def rows_from_text(text: str) -> PageLayout:
    """Rows from plain text: a line is a row, wide spaces separate its cells."""
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines()):
        parts = [p.strip() for p in CELL_SEPARATOR.split(line) if p.strip()]
        cells = []
        for part in parts:
            words = [Word(t, 0, number, 0, number + 1, 1.0, number) for t in part.split()]
            cells.append(Cell(words))
        if cells:
            rows.append(Row(cells))
    return PageLayout(rows)


def page_layout(words: list[Word], size: tuple[float, float] = (0.0, 0.0)) -> PageLayout:
    """The rows of a page from its words' boxes (see the module's description).

    Words read off a photographed page drawn square are laid out by their boxes on that
    page, where its lines are level (on the photo a page taken at an angle slopes one way
    at its top and another at its bottom); the rows hold the words as they sit on the
    photo, so what is quoted from them is marked on the photo."""
    words = [w for w in words if w.text.strip() and w.right > w.left and w.bottom > w.top]
    if not words:
        return PageLayout([], *size)
    width = size[0] or max(w.right for w in words)
    if all(w.flat for w in words):
        level = [
            replace(w, left=b[0], top=b[1], right=b[2], bottom=b[3]) for w in words if (b := w.flat)
        ]
        rows = _sheets(level, max(w.right for w in level), level=True)
        on_photo = {id(copy): w for copy, w in zip(level, words, strict=True)}
        for row in rows:
            row.cells = [Cell([on_photo[id(w)] for w in c.words]) for c in row.cells]
    else:
        rows = _sheets(words, width)
    sheets = 2 if any(r.sheet for r in rows) else 1
    usual = statistics.median(r.height for r in rows) if rows else 1.0
    for row in rows:
        row.scale = row.height / usual if usual else 1.0
    return PageLayout(rows, width, size[1] or max(w.bottom for w in words), sheets)


def _sheets(words: list[Word], width: float, level: bool = False) -> list[Row]:
    """The rows of the page, or of two pages side by side one after the other (each read
    on its own, or found by the gutter between them)."""
    if any(w.sheet for w in words):
        left = [w for w in words if not w.sheet]
        right = [w for w in words if w.sheet]
    else:
        gutter = find_gutter(words, width)
        left = words if gutter is None else [w for w in words if w.right <= gutter]
        right = [] if gutter is None else [w for w in words if w.left >= gutter]
    rows = _rows(left, level) if left else []
    return rows + [Row(r.cells, 1) for r in _rows(right, level)] if right else rows


def find_gutter(words: list[Word], width: float) -> float | None:
    """The x of an empty band down the whole page, near its middle, with a page's worth
    of words on each side whose lines do not line up: two pages side by side."""
    covered = sorted((w.left, w.right) for w in words)
    gaps: list[tuple[float, float]] = []
    reach = covered[0][1]
    for start, end in covered[1:]:
        if start > reach:
            gaps.append((reach, start))
        reach = max(reach, end)
    best = None
    for start, end in gaps:
        middle = (start + end) / 2
        if end - start < GUTTER_MIN_SHARE * width or not 0.3 * width < middle < 0.7 * width:
            continue
        before = [w for w in words if w.right <= start]
        after = [w for w in words if w.left >= end]
        if min(len(before), len(after)) < 0.25 * len(words):
            continue
        if _aligned(before, after) > GUTTER_MAX_ALIGNED:
            continue  # columns of one table, not two pages
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
    return None if best is None else (best[0] + best[1]) / 2


def _aligned(left: list[Word], right: list[Word]) -> float:
    """The share of the right side's words that sit on a line of the left side's."""
    middles = sorted(w.middle for w in left)
    if not middles:
        return 0.0
    height = statistics.median(w.height for w in left + right)
    hits = 0
    for word in right:
        nearest = min(middles, key=lambda m: abs(m - word.middle))
        hits += abs(nearest - word.middle) <= 0.3 * height
    return hits / len(right)


@dataclass
class _Piece:
    """A cell being placed: its words, and the slope of the line it is on."""

    cell: Cell
    slope: float = 0.0
    sloped: bool = False  # whether the slope was measured on this piece itself

    @property
    def x(self) -> float:
        return (self.cell.left + self.cell.right) / 2


def _pieces(words: list[Word]) -> list[_Piece]:
    """Cells from each engine line (or, without lines, each run of words at one height),
    split where the words are far apart."""
    lines: dict[int, list[Word]] = {}
    loose: list[Word] = []
    for w in words:
        if w.line >= 0:
            lines.setdefault(w.line, []).append(w)
        else:
            loose.append(w)
    groups = list(lines.values())
    loose.sort(key=lambda w: (w.middle, w.left))
    current: list[Word] = []
    for w in loose:
        if current and abs(w.middle - statistics.median(c.middle for c in current)) > 0.3 * max(
            w.height, current[0].height
        ):
            groups.append(current)
            current = []
        current.append(w)
    if current:
        groups.append(current)
    for group in groups:
        group.sort(key=lambda w: w.left)
    spaces = [
        b.left - a.right
        for group in groups
        for a, b in pairwise(group)
        if 0 <= b.left - a.right < 3 * max(a.height, b.height)
    ]
    # A typewriter face's space is as wide as a word is high: cells part at a gap wider
    # than the page's usual space between words as well as wider than a word's height.
    space = statistics.median(spaces) if spaces else 0.0
    pieces: list[_Piece] = []
    for group in groups:
        height = statistics.median(w.height for w in group)
        cell = [group[0]]
        for w in group[1:]:
            if w.left - cell[-1].right > max(CELL_GAP * height, SPACES_APART * space):
                pieces.append(_Piece(Cell(cell)))
                cell = []
            cell.append(w)
        pieces.append(_Piece(Cell(cell)))
    return pieces


def _slope(cell: Cell) -> float | None:
    """The slope of a cell's line (dy/dx) fitted through its words' baselines, if it has
    enough words across enough width to tell; words whose bottom is below the first fit
    (a descender: "p", "y", "g") are left out of the second."""
    words = cell.words
    if len(words) < 3 or cell.right - cell.left < 8 * cell.height:
        return None
    points = [((w.left + w.right) / 2, w.bottom) for w in words]
    slope = _fit(points)
    if slope is None:
        return None
    xs, ys = zip(*points, strict=True)
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    # A descender puts a word's bottom below the line: the words on or above the first
    # fit are the ones sitting on the baseline.
    on_line = [(x, y) for x, y in points if y - mean_y - slope * (x - mean_x) <= 0.1 * cell.height]
    refit = _fit(on_line) if len(on_line) >= 3 else None
    return slope if refit is None else refit


def _fit(points: list[tuple[float, float]]) -> float | None:
    """The least-squares slope through ``points``; None if they share one x."""
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def _rows(words: list[Word], level: bool = False) -> list[Row]:
    """Rows of ``words``, each line following its slope, or, when the page's lines are
    known to be ``level`` (drawn square), straight across: one short line's measured slope
    is thrown by its letters' shapes more than a levelled page slopes."""
    pieces = _pieces(words)
    measured = [] if level else [(p, s) for p in pieces if (s := _slope(p.cell)) is not None]
    usual = statistics.median(s for _, s in measured) if measured else 0.0
    for piece in pieces:
        # The median slope of the nearest measured lines, this one among them if measured:
        # a page photographed at an angle slopes differently at its top and bottom, and
        # one short line's own fit is thrown by its descenders ("Repaying your advance").
        # The three longest of the seven nearest: a long line's fit is the surest.
        near = sorted(measured, key=lambda m: abs(m[0].cell.middle - piece.cell.middle))[:7]
        longest = sorted(near, key=lambda m: m[0].cell.left - m[0].cell.right)[:3]
        piece.slope = statistics.median(s for _, s in longest) if longest else usual
        piece.sloped = any(m is piece for m, _ in measured)
    pieces.sort(key=lambda p: p.cell.middle - p.slope * p.x)
    rows: list[list[_Piece]] = []
    for piece in pieces:
        home = _best_row(piece, rows[-6:])
        if home is None:
            rows.append([piece])
        else:
            home.append(piece)
    # Reading order: by where each row's line crosses the page's middle.
    centre = statistics.median(p.x for p in pieces)
    rows.sort(key=lambda members: statistics.median(
        m.cell.middle + m.slope * (centre - m.x) for m in members))  # fmt: skip
    out = []
    for members in rows:
        members.sort(key=lambda p: p.cell.left)
        out.append(Row([p.cell for p in members]))
    return out


def _best_row(piece: _Piece, rows: list[list[_Piece]]) -> list[_Piece] | None:
    best, best_off = None, None
    for members in rows:
        if any(_overlap(piece.cell, m.cell) for m in members):
            continue
        nearest = min(members, key=lambda m: abs(m.x - piece.x))
        slope = nearest.slope if nearest.sloped or not piece.sloped else piece.slope
        expected = nearest.cell.middle + slope * (piece.x - nearest.x)
        height = max(piece.cell.height, nearest.cell.height)
        off = abs(piece.cell.middle - expected)
        if off <= ROW_TOLERANCE * height and (best_off is None or off < best_off):
            best, best_off = members, off
    return best


def _overlap(a: Cell, b: Cell) -> bool:
    """Whether two cells share more than a sliver of width (then they are not one row)."""
    shared = min(a.right, b.right) - max(a.left, b.left)
    return shared > 0.3 * min(a.height, b.height)
