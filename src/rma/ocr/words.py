"""Words with their place on the page, from a PDF's text layer or from Tesseract.

A page's text alone loses what a reader of a form or a statement relies on: which value
sits beside which label, which figure is in which column. Every reader here keeps each
word's box (origin at the page's top left, in the page's own units: points for a PDF,
pixels for an image) so :mod:`rma.ocr.layout` can rebuild rows and columns.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One word and its box; ``line`` is the engine's own line number (-1 if none);
    ``sheet`` is 1 for a word of the right-hand page of two photographed side by side and
    read each on its own, else 0. A word read off a photographed page drawn square (see
    :mod:`rma.ocr.flatten`) has its box on the photo, and in ``flat`` its box (left, top,
    right, bottom) on the page as drawn square, where lines are level."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    confidence: float = 1.0
    line: int = -1
    sheet: int = 0
    flat: tuple[float, float, float, float] | None = None

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def clean_word(text: str) -> str:
    """A word as compared and printed: ligatures and compatibility forms unfolded
    (``ﬁ`` is ``fi``), curly quotes straightened."""
    text = unicodedata.normalize("NFKC", text)
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def words_from_chars(
    chars: list[tuple[str, float, float, float, float]], page_height: float
) -> list[Word]:
    """Words from a PDF text layer's characters, each ``(char, left, bottom, right, top)``
    in PDF points (origin bottom left). A space, a line break, or a gap wider than the
    characters' own height ends a word."""
    words: list[Word] = []
    run: list[tuple[str, float, float, float, float]] = []

    def flush() -> None:
        if run:
            text = clean_word("".join(c[0] for c in run))
            if text.strip():
                words.append(
                    Word(
                        text,
                        min(c[1] for c in run),
                        page_height - max(c[4] for c in run),
                        max(c[3] for c in run),
                        page_height - min(c[2] for c in run),
                    )
                )
            run.clear()

    for char in chars:
        text, left, bottom, _, top = char
        if not text.strip():
            flush()
            continue
        if run:
            last = run[-1]
            height = max(top - bottom, last[4] - last[2], 1.0)
            same_line = abs((bottom + top) / 2 - (last[2] + last[4]) / 2) < height * 0.6
            if not same_line or left - last[3] > height * 0.5 or left < last[1] - height:
                flush()
        run.append(char)
    flush()
    return words
