"""A page's text and how it was read: the one shape every reader returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rma.ocr.words import Word

Method = Literal["text-layer", "vision", "tesseract"]


@dataclass
class PageText:
    number: int
    text: str
    method: Method
    confidence: float
    warnings: list[str] = field(default_factory=list)
    # The vision model call that read the page (None for Tesseract and text layers).
    provenance: dict[str, Any] | None = None
    # Each word and its box, where the reader gives them (a text layer, Tesseract), and
    # the page's size in the same units; a vision model gives text only.
    words: list[Word] = field(default_factory=list)
    size: tuple[float, float] = (0.0, 0.0)
    # Marks on the page but no text read from them: unreadable, not blank.
    unreadable: bool = False
    # Degrees (counter-clockwise) the page was turned to read it; words and size are of
    # the page as read.
    turned: int = 0


# Called with each page as soon as it is read (progress for a long document).
OnPage = Callable[[PageText], None]
