"""A page's text and how it was read: the one shape every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
