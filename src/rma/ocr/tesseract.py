"""Tesseract: text, confidence and word boxes from a page image, with second tries for a
poor read.

Called inside a document worker (:mod:`rma.ocr.workers`), so Tesseract runs under the
worker's memory limit; light to import for that reason (no router, no models).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image as PILImage

from rma.errors import ConfigError
from rma.ocr.images import clean_for_ocr, detect_turn, even_out
from rma.ocr.words import Word, clean_word

# Below this mean word confidence a page is retried cleaned, then checked for being turned.
RETRY_BELOW_CONFIDENCE = 0.75
# A page with no text read from it and more than this share of it dark carries marks.
BLANK_INK_SHARE = 0.02


@dataclass
class TesseractPage:
    """What Tesseract read on one image: text, mean word confidence (0-1), words, size."""

    text: str
    confidence: float
    words: list[Word]
    size: tuple[int, int]


@dataclass
class UprightRead:
    """What a worker sends back for one page image: Tesseract's read of it, the degrees
    (counter-clockwise) it was turned to read it, and whether it carries marks no text
    was read from (unreadable, not blank)."""

    read: TesseractPage
    turned: int
    unreadable: bool


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


def read_page(image: PILImage.Image, psm: int = 3) -> UprightRead:
    """:func:`read_upright`, and for a page no text was read from, whether it carries
    marks (:func:`has_marks`): one call to a worker for everything a page needs."""
    read, turned = read_upright(image, psm)
    return UprightRead(read, turned, not read.text and has_marks(image))


def has_marks(image: PILImage.Image) -> bool:
    """Whether a page with no text read from it still carries ink (a photo too dark, blurred
    or noisy to read) rather than being blank paper: more than 2 % of it dark once the
    lighting is evened out."""
    import numpy as np

    return float((np.asarray(even_out(image)) < 128).mean()) > BLANK_INK_SHARE
