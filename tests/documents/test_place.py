"""Each field's quote marked on its page: the boxes a document's fields carry are checked by
reading the page again inside them (Tesseract on the crop of the file as uploaded, not
the words the boxes were found from), on photographed, scanned, turned and PDF letters."""

from __future__ import annotations

import asyncio
import io
import re
from difflib import SequenceMatcher

import pytest
from PIL import Image

from rma.documents.corpus.build import Corpus, build_corpus
from rma.documents.corpus.photo import rasterise, render
from rma.documents.pipeline import DocumentProcessor, ProcessResponse
from rma.documents.place import quote_boxes, upright, upright_size
from rma.ocr.layout import page_layout
from rma.ocr.words import Word

PDF_DPI = 200


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return build_corpus()


def keys(text: str) -> list[str]:
    return [k for k in (re.sub(r"[^a-z0-9]", "", t.lower()) for t in text.split()) if k]


def alike(a: str, b: str) -> bool:
    """The same word read twice: equal, or differing in a character or two."""
    return a == b or SequenceMatcher(None, a, b).ratio() >= 0.75


def page_image(data: bytes, filename: str) -> Image.Image:
    """The file's first page as an image."""
    if filename.endswith(".pdf"):
        return rasterise(data, PDF_DPI)[0]
    return Image.open(io.BytesIO(data)).convert("RGB")


def read_inside(
    image: Image.Image, boxes: list[tuple[float, ...]], scale: float, turn: int = 0
) -> str:
    """What Tesseract reads inside each box (a little margin around it), in order; on a
    page turned ``turn`` degrees clockwise, each box is turned back to read it."""
    import pytesseract

    out = []
    for left, top, right, bottom in boxes:
        pad = min(right - left, bottom - top) * 0.25  # a line's height, either way up
        crop = image.crop(
            tuple(round(v * scale) for v in (left - pad, top - pad, right + pad, bottom + pad))
        )
        crop = crop.rotate(turn, expand=True) if turn else crop
        out.append(pytesseract.image_to_string(crop, config="--psm 7").strip())
    return " ".join(out)


def marked(data: bytes, filename: str) -> ProcessResponse:
    return asyncio.run(DocumentProcessor(None).process(data, filename)).response()


def scale_of(response: ProcessResponse, image: Image.Image) -> float:
    """The image's pixels per unit of the page's size (which has the image's shape)."""
    size = response.pages[0].size
    assert size is not None
    scale = image.width / size[0]
    assert abs(image.height / size[1] - scale) < 0.02 * scale, (image.size, size)
    return scale


def check_marks(response: ProcessResponse, image: Image.Image, turn: int = 0) -> list[str]:
    """Each single-line field of page 1 is marked, and the marks hold its quote; the
    problems found, empty if none."""
    scale = scale_of(response, image)
    problems = []
    for name, field in response.fields.items():
        if field.page != 1 or not field.quote or " / " in field.quote:
            continue  # a list's quote holds many rows: checked by its own test below
        if not field.boxes:
            problems.append(f"{name}: no mark for {field.quote!r}")
            continue
        wanted = keys(field.quote)
        read = keys(read_inside(image, field.boxes, scale, turn))
        found = sum(any(alike(k, r) for r in read) for k in wanted)
        if found < 0.7 * len(wanted):
            problems.append(f"{name}: marked {sorted(read)} for {field.quote!r}")
    return problems


@pytest.mark.parametrize(
    ("document", "variant"),
    [
        ("creditor-letter-01", "phone"),
        ("claim-form-03", "perspective"),  # read flattened, marked on the photo
        ("default-notice-05", "two_up"),  # two pages in one photo, each read flattened
        ("collector-letter-01", "skew"),
        ("default-notice-01", "uneven_light"),
        ("claim-form-01", "pdf"),
        ("creditor-letter-02", "pdf"),
    ],
)
def test_each_field_is_marked_where_its_quote_is_printed(
    corpus: Corpus, document: str, variant: str
) -> None:
    file = render(corpus.by_id(document), variant)
    response = marked(file.data, file.filename)
    image = page_image(file.data, file.filename)
    assert sum(f.page == 1 for f in response.fields.values()) >= 4
    assert check_marks(response, image) == []


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_page_uploaded_on_its_side_is_marked_on_the_page_as_uploaded(
    corpus: Corpus, turn: int
) -> None:
    file = render(corpus.by_id("creditor-letter-01"), "scan")
    upright_page = Image.open(io.BytesIO(file.data)).convert("RGB")
    sideways = upright_page.rotate(-turn, expand=True)  # turned clockwise: read turned back
    buffer = io.BytesIO()
    sideways.save(buffer, format="PNG")
    response = marked(buffer.getvalue(), "sideways.png")
    # Tesseract reads some pages on their side as they are; upside down, never.
    turned = any(f"turned {turn} degrees" in w for w in response.warnings)
    assert turned or turn != 180, response.warnings
    size = response.pages[0].size
    assert size is not None and (size[0] > size[1]) == (turn % 180 == 90)
    assert check_marks(response, sideways, turn) == []


def test_a_statements_rows_are_each_marked(corpus: Corpus) -> None:
    file = render(corpus.by_id("bank-statement-01"), "pdf")
    response = marked(file.data, file.filename)
    image = page_image(file.data, file.filename)
    income = response.fields["income"]
    rows = income.quote.split(" / ")
    assert len(rows) >= 3
    # one box per cell of each row: date, description, amount, balance
    assert len(income.boxes) >= 3 * len(rows)
    read = keys(read_inside(image, income.boxes, scale_of(response, image)))
    for row in rows:
        assert sum(any(alike(k, r) for r in read) for k in keys(row)) >= 0.7 * len(keys(row))


def test_a_quote_that_is_not_on_the_page_gets_no_mark() -> None:
    words = [
        Word("Balance", 10, 10, 60, 20, line=0),
        Word("£120.00", 80, 10, 130, 20, line=0),
        Word("Pay", 10, 40, 30, 50, line=1),
        Word("by", 32, 40, 45, 50, line=1),
        Word("1", 47, 40, 52, 50, line=1),
        Word("June", 54, 40, 80, 50, line=1),
    ]
    layout = page_layout(words, (200, 100))
    assert quote_boxes("Balance   £120.00", layout, words) == [
        (10, 10, 60, 20),
        (80, 10, 130, 20),
    ]
    assert quote_boxes("Pay by 1 June", layout, words) == [(10, 40, 80, 50)]
    assert quote_boxes("Arrears   £120.00", layout, words) == []
    assert quote_boxes("Interest is charged daily", layout, words) == []
    assert quote_boxes("", layout, words) == []


def test_a_box_turned_back_stays_inside_the_page() -> None:
    size = (300.0, 200.0)  # as read
    box = (10.0, 20.0, 110.0, 40.0)
    for turn in (0, 90, 180, 270):
        width, height = upright_size(size, turn)
        left, top, right, bottom = upright(box, turn, size)
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, turn
        assert (right - left) * (bottom - top) == 100 * 20
