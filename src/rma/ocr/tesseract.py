"""Tesseract: text, confidence and word boxes from a page image, with second tries for a
poor read.

Called inside a document worker (:mod:`rma.ocr.workers`), so Tesseract runs under the
worker's memory limit; light to import for that reason (no router, no models).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import Image as PILImage

from rma.errors import ConfigError
from rma.ocr.flatten import Flattened, deskew, flatten_pages
from rma.ocr.images import clean_for_ocr, detect_turn, even_out, ocr_scale, sharpen_if_blurred
from rma.ocr.words import Word, clean_word

# Below this mean word confidence a page is retried cleaned, then checked for being turned.
RETRY_BELOW_CONFIDENCE = 0.75
# A page with no text read from it and more than this share of it dark carries marks.
BLANK_INK_SHARE = 0.02
# Tesseract's page segmentation that finds every word wherever it is.
SPARSE = 11
# Words closer than this share of their height are pieces of one word.
SPLIT_GAP = 0.15
# A word read one by one is added to a page's read only if at least this sure.
MIN_ADDED_CONFIDENCE = 0.5


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
    lines: dict[tuple[int, int, int], list[Word]] = {}
    numbers: dict[tuple[int, int, int], int] = {}  # each line's number, in reading order
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        if not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        conf = float(data["conf"][i])
        if conf >= 0:
            confidences.append(conf / 100)
        left, top = float(data["left"][i]), float(data["top"][i])
        lines.setdefault(key, []).append(
            Word(
                clean_word(word),
                left,
                top,
                left + float(data["width"][i]),
                top + float(data["height"][i]),
                max(conf, 0.0) / 100,
                numbers.setdefault(key, len(numbers)),
            )
        )
    words: list[Word] = []
    paragraphs: list[str] = []
    last_par: tuple[int, int] | None = None
    for key in sorted(lines):
        if last_par is not None and key[:2] != last_par:
            paragraphs.append("")
        line = _join_split(lines[key])
        words += line
        paragraphs.append(" ".join(w.text for w in line))
        last_par = key[:2]
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return TesseractPage("\n".join(paragraphs).strip(), confidence, words, image.size)


def _join_split(line: list[Word]) -> list[Word]:
    """A line's words with a word Tesseract split at a smudge joined again ("Northg ate"):
    a lower-case piece closer to the letters before it than a space could be."""
    out: list[Word] = []
    for w in line:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.text[-1:].isalpha()
            and w.text[:1].islower()
            and 0 <= w.left - prev.right < SPLIT_GAP * min(prev.height, w.height)
        ):
            out[-1] = replace(
                prev,
                text=prev.text + w.text,
                top=min(prev.top, w.top),
                right=w.right,
                bottom=max(prev.bottom, w.bottom),
                confidence=min(prev.confidence, w.confidence),
            )
        else:
            out.append(w)
    return out


def read_upright(image: PILImage.Image, psm: int = 3) -> tuple[TesseractPage, int]:
    """What Tesseract reads on the page evened out (see :func:`even_out`), with second
    tries for a page that reads poorly.

    A page photographed on a desk from an angle is flattened first, two pages side by side
    are each read on their own, and a crooked page is levelled (see
    :mod:`rma.ocr.flatten`), their words mapped back onto the photo. A poor read is
    retried on a cleaned copy (speckle noise removed), then checked for being sideways or
    upside down. Returns the degrees (counter-clockwise) the page was turned, 0 if not.
    """
    flat_read = None
    flats = flatten_pages(image) or [d for d in (deskew(image),) if d is not None]
    if flats:
        flat_read = _together([_on_photo(_read(f.image, psm)[0], f, image.size) for f in flats])
        if flat_read.confidence >= RETRY_BELOW_CONFIDENCE and flat_read.text:
            return flat_read, 0
    read, turned = _read_or_retry(image, psm)
    if flat_read is not None and flat_read.confidence > read.confidence:
        return flat_read, 0
    return read, turned


def _read(image: PILImage.Image, psm: int) -> tuple[TesseractPage, PILImage.Image]:
    """Tesseract's read of ``image`` evened out; if out of focus, sharpened, and with the
    words its page analysis still dropped read one by one (see :func:`with_missed_words`).
    Returns the read and the image as read."""
    evened = even_out(image)
    sharpened = sharpen_if_blurred(evened)
    read = tesseract_read(sharpened, psm)
    if sharpened is not evened and psm != SPARSE:
        read = with_missed_words(read, tesseract_read(sharpened, SPARSE))
    return read, sharpened


def with_missed_words(read: TesseractPage, sparse: TesseractPage) -> TesseractPage:
    """``read`` with the words of ``sparse`` (the same page read word by word, psm 11)
    where it has none: the regions its page analysis dropped as if they were pictures
    (columns of figures on a blurred page)."""
    from rma.ocr.layout import page_layout

    missed = [
        w
        for w in sparse.words
        if w.confidence >= MIN_ADDED_CONFIDENCE
        and any(c.isalnum() for c in w.text)
        and not any(_inside(w, r) or _inside(r, w) for r in read.words)
    ]
    if not missed:
        return read
    words = read.words + _after(read.words, missed)
    return TesseractPage(page_layout(words, read.size).text, _mean(words), words, read.size)


def _after(words: list[Word], more: list[Word], sheet: int = 0) -> list[Word]:
    """``more`` (another read's words, its lines numbered from 0) numbered to follow the
    lines of ``words``, on ``sheet``."""
    first = max((w.line for w in words), default=-1) + 1
    return [replace(w, line=first + w.line, sheet=sheet) for w in more]


def _mean(words: list[Word]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def _inside(word: Word, box: Word) -> bool:
    """Whether the middle of ``word`` is inside ``box``."""
    x = (word.left + word.right) / 2
    return box.left <= x <= box.right and box.top <= word.middle <= box.bottom


def _read_or_retry(image: PILImage.Image, psm: int) -> tuple[TesseractPage, int]:
    read, image = _read(image, psm)
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


def _together(reads: list[TesseractPage]) -> TesseractPage:
    """The reads of pages photographed side by side as one read of the photo, the left
    page's words first."""
    if len(reads) == 1:
        return reads[0]
    words: list[Word] = []
    for sheet, read in enumerate(reads):
        words += _after(words, read.words, sheet)
    text = "\n\n".join(r.text for r in reads if r.text)
    return TesseractPage(text, _mean(words), words, reads[0].size)


def _on_photo(read: TesseractPage, flat: Flattened, photo: tuple[int, int]) -> TesseractPage:
    """A read of a flattened page with its words' boxes moved onto the photo, in the units
    a read of the photo itself has (the photo as :func:`even_out` enlarges it); each word
    keeps its box on the flattened page too, for finding its line."""
    shrink = flat.image.width / read.size[0]
    grow = ocr_scale(photo)
    words = []
    for w in read.words:
        corners = [
            flat.to_photo(x * shrink, y * shrink)
            for x, y in ((w.left, w.top), (w.right, w.top), (w.right, w.bottom), (w.left, w.bottom))
        ]
        xs, ys = [x * grow for x, _ in corners], [y * grow for _, y in corners]
        flat_box = (w.left, w.top, w.right, w.bottom)
        words.append(
            Word(w.text, min(xs), min(ys), max(xs), max(ys), w.confidence, w.line, flat=flat_box)
        )
    size = (round(photo[0] * grow), round(photo[1] * grow))
    return TesseractPage(read.text, read.confidence, words, size)


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
