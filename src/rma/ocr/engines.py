"""OCR engines: Tesseract (offline, always available) and vision models via the router.

A vision failure falls back to Tesseract, and the page says so in ``warnings``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from PIL import Image as PILImage

from rma.config import OcrProvider
from rma.errors import AllBackendsFailed, BackendError, ConfigError, InputError, RMAError
from rma.llm.router import ProviderRouter
from rma.llm.types import Image
from rma.ocr.images import (
    OCR_MAX_SIDE,
    VISION_MAX_SIDE,
    cap_size,
    clean_for_ocr,
    detect_turn,
    even_out,
    to_png,
)
from rma.ocr.words import Word, clean_word

log = logging.getLogger("rma.ocr")

Method = Literal["text-layer", "vision", "tesseract"]
OCR_PROMPT = (
    "Transcribe all text in this image exactly as written, line by line. "
    "Keep numbers, amounts, dates and references exactly. Output only the text."
)
# Vision models report no confidence; this marks their text as unscored but usable.
VISION_CONFIDENCE = 0.8
# Bound concurrent Tesseract processes (each uses a core).
TESSERACT_SLOTS = asyncio.Semaphore(2)
# Below this mean word confidence a page is retried cleaned, then checked for being turned.
RETRY_BELOW_CONFIDENCE = 0.75


BLANK_INK_SHARE = 0.02


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


@dataclass
class TesseractPage:
    """What Tesseract read on one image: text, mean word confidence (0-1), words, size."""

    text: str
    confidence: float
    words: list[Word]
    size: tuple[int, int]


def tesseract_read(image: PILImage.Image, psm: int = 3) -> TesseractPage:
    """Text, mean word confidence (0-1) and words with boxes from Tesseract.

    ``psm`` is Tesseract's page segmentation mode: 3 finds columns and blocks (prose,
    manuals); 11 finds every word wherever it is, for pages whose rows and columns are
    rebuilt from the words' boxes (forms, tables, two pages in one photo).
    """
    import pytesseract

    try:
        data = pytesseract.image_to_data(
            image, lang="eng", config=f"--psm {psm}", output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractNotFoundError:
        raise ConfigError(
            "Tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)"
        ) from None
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    words: list[Word] = []
    line_numbers: dict[tuple[int, int, int], int] = {}
    for i, word in enumerate(data["text"]):
        if not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        conf = float(data["conf"][i])
        if conf >= 0:
            confidences.append(conf / 100)
        left, top = float(data["left"][i]), float(data["top"][i])
        words.append(
            Word(
                clean_word(word),
                left,
                top,
                left + float(data["width"][i]),
                top + float(data["height"][i]),
                max(conf, 0.0) / 100,
                line_numbers.setdefault(key, len(line_numbers)),
            )
        )
    paragraphs: list[str] = []
    last_par: tuple[int, int] | None = None
    for key in sorted(lines):
        if last_par is not None and key[:2] != last_par:
            paragraphs.append("")
        paragraphs.append(" ".join(lines[key]))
        last_par = key[:2]
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return TesseractPage("\n".join(paragraphs).strip(), confidence, words, image.size)


class OcrReader:
    """Reads page images with the configured engine (``tesseract``, ``vllm`` or ``ollama``)."""

    def __init__(
        self,
        provider: str = "tesseract",
        router: ProviderRouter | None = None,
        *,
        psm: int = 3,
    ):
        """``psm``: Tesseract's page segmentation (see :func:`tesseract_read`)."""
        if provider not in get_args(OcrProvider):
            choices = ", ".join(get_args(OcrProvider))
            raise ConfigError(f"OCR_PROVIDER={provider!r}: use one of {choices}")
        if provider != "tesseract" and router is None:
            raise ConfigError(f"OCR_PROVIDER={provider} needs the provider router")
        self.provider = provider
        self.router = router
        self.psm = psm

    async def read(self, image: PILImage.Image, number: int) -> PageText:
        """Text of one page image (numbered from 1), by vision model or Tesseract.

        The image is size-capped first; a vision failure falls back to Tesseract with a
        warning; a page Tesseract reads poorly is checked for being turned and re-read.
        """
        image = await asyncio.to_thread(_prepare, image)
        warnings: list[str] = []
        if self.provider != "tesseract":
            assert self.router is not None
            try:
                png = await asyncio.to_thread(lambda: to_png(cap_size(image, VISION_MAX_SIDE)))
                shown = Image(png, "image/png")
                result = await self.router.vision(OCR_PROMPT, [shown], max_tokens=2048)
                if result.text.strip():
                    return PageText(
                        number,
                        result.text.strip(),
                        "vision",
                        VISION_CONFIDENCE,
                        provenance=result.provenance.model_dump(),
                    )
                warnings.append(
                    f"page {number}: the vision model returned no text; read with Tesseract instead"
                )
            except (AllBackendsFailed, BackendError, InputError) as exc:
                log.warning("vision OCR failed", extra={"error": type(exc).__name__})
                warnings.append(
                    f"page {number}: vision OCR failed ({type(exc).__name__}); "
                    "read with Tesseract instead"
                )
            except RMAError as exc:
                warnings.append(
                    f"page {number}: vision OCR unavailable ({exc}); read with Tesseract instead"
                )
        async with TESSERACT_SLOTS:
            read, turned = await asyncio.to_thread(read_upright, image, self.psm)
        if turned:
            warnings.append(f"page {number} was turned {turned} degrees to read it upright")
        unreadable = not read.text and await asyncio.to_thread(has_marks, image)
        if unreadable:
            warnings.append(f"page {number} has marks on it but no text could be read from them")
        return PageText(
            number,
            read.text,
            "tesseract",
            round(read.confidence, 3),
            warnings,
            words=read.words,
            size=(float(read.size[0]), float(read.size[1])),
            unreadable=unreadable,
        )


def has_marks(image: PILImage.Image) -> bool:
    """Whether a page with no text read from it still carries ink (a photo too dark, blurred
    or noisy to read) rather than being blank paper: more than 2 % of it dark once the
    lighting is evened out."""
    import numpy as np

    return float((np.asarray(even_out(image)) < 128).mean()) > BLANK_INK_SHARE


def _prepare(image: PILImage.Image) -> PILImage.Image:
    """RGB or grey, no larger than Tesseract can use."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return cap_size(image, OCR_MAX_SIDE)


def read_upright(image: PILImage.Image, psm: int = 3) -> tuple[TesseractPage, int]:
    """What Tesseract reads on the page evened out (see :func:`even_out`), with second
    tries for a page that reads poorly.

    A poor read is retried on a cleaned copy (speckle noise removed), then checked for
    being sideways or upside down. Returns the degrees (counter-clockwise) the page was
    turned, 0 if not.
    """
    image = even_out(image)
    read = tesseract_read(image, psm)
    if read.confidence >= RETRY_BELOW_CONFIDENCE and read.text:
        return read, 0
    cleaned = clean_for_ocr(image)
    cleaned_read = tesseract_read(cleaned, psm)
    if cleaned_read.confidence > read.confidence:
        image, read = cleaned, cleaned_read
        if read.confidence >= RETRY_BELOW_CONFIDENCE:
            return read, 0
    turn = detect_turn(image)
    if not turn:
        return read, 0
    turned = tesseract_read(image.rotate(turn, expand=True), psm)
    if turned.confidence <= read.confidence:
        return read, 0
    return turned, turn
