"""Tesseract: text and confidence from a page image, with second tries for a poor read.

Called inside a document worker (:mod:`rma.ocr.workers`), so Tesseract runs under the
worker's memory limit; light to import for that reason (no router, no models).
"""

from __future__ import annotations

from PIL import Image as PILImage

from rma.errors import ConfigError
from rma.ocr.images import clean_for_ocr, detect_turn

# Below this mean word confidence a page is retried cleaned, then checked for being turned.
RETRY_BELOW_CONFIDENCE = 0.75


def tesseract_read(image: PILImage.Image) -> tuple[str, float]:
    """Text and mean word confidence (0-1) from Tesseract."""
    import pytesseract

    try:
        data = pytesseract.image_to_data(
            image, lang="eng", config="--psm 3", output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractNotFoundError:
        raise ConfigError(
            "Tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)"
        ) from None
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        if not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        conf = float(data["conf"][i])
        if conf >= 0:
            confidences.append(conf / 100)
    paragraphs: list[str] = []
    last_par: tuple[int, int] | None = None
    for key in sorted(lines):
        if last_par is not None and key[:2] != last_par:
            paragraphs.append("")
        paragraphs.append(" ".join(lines[key]))
        last_par = key[:2]
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return "\n".join(paragraphs).strip(), confidence


def read_upright(image: PILImage.Image) -> tuple[str, float, int]:
    """Tesseract text and confidence, with second tries for a page that reads poorly.

    A poor read is retried on a cleaned copy (speckle noise removed), then checked for
    being sideways or upside down. Returns the degrees (counter-clockwise) the page was
    turned, 0 if not.
    """
    text, confidence = tesseract_read(image)
    if confidence >= RETRY_BELOW_CONFIDENCE and text:
        return text, confidence, 0
    cleaned = clean_for_ocr(image)
    cleaned_text, cleaned_confidence = tesseract_read(cleaned)
    if cleaned_confidence > confidence:
        image, text, confidence = cleaned, cleaned_text, cleaned_confidence
        if confidence >= RETRY_BELOW_CONFIDENCE:
            return text, confidence, 0
    turn = detect_turn(image)
    if not turn:
        return text, confidence, 0
    turned_text, turned_confidence = tesseract_read(image.rotate(turn, expand=True))
    if turned_confidence <= confidence:
        return text, confidence, 0
    return turned_text, turned_confidence, turn
