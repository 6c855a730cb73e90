"""Reading what a phone photo does to a page: a page on a desk found by its corners and
drawn square, an out-of-focus page sharpened, and the misreadings OCR makes on photos
(a day run into its month, a logo before a name, "plc" read "ple", an amount's point lost)
put right in code, each against what the generator printed, never the reader's own view.
"""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from PIL import Image, ImageFilter

from rma.documents.corpus import build_corpus
from rma.documents.corpus.pdf import render_pdf
from rma.documents.corpus.photo import on_desk, rasterise, render, two_up
from rma.documents.fields import LETTER_DATE_LABEL
from rma.documents.layout_fields import (
    Found,
    Page,
    a_date,
    labelled,
    leading_date,
    letterhead,
    money,
    name,
)
from rma.documents.statement import Table, Transaction, check_sums, mend_amounts, read_table
from rma.documents.typed import _letter_common, rows_unconfirmed
from rma.ocr.flatten import deskew, flatten_pages, page_corners, skew_angle
from rma.ocr.images import _light_bands, even_out, sharpen_if_blurred
from rma.ocr.layout import Cell, PageLayout, Row, page_layout
from rma.ocr.layout import _slope as layout_slope
from rma.ocr.tesseract import _join_split, read_upright
from rma.ocr.words import Word


@pytest.fixture(scope="module")
def pages() -> dict[str, Image.Image]:
    corpus = build_corpus(18)
    # A letter with a coloured band across its top edge, a statement, a council's bill.
    ids = ("creditor-letter-03", "bank-statement-02", "council-tax-01")
    return {i: rasterise(render_pdf(corpus.by_id(i)))[0] for i in ids}


def _desk_corners(page: Image.Image, params: dict[str, list[tuple[int, int]]]) -> list:
    """Where ``on_desk`` put the page's corners (its border plus each corner's shift)."""
    w, h = page.size
    border = int(0.07 * max(w, h))
    square = [
        (border, border),
        (border + w, border),
        (border + w, border + h),
        (border, border + h),
    ]
    shifts = params["corner_shift_px"]
    return [(x + dx, y + dy) for (x, y), (dx, dy) in zip(square, shifts, strict=True)]


@pytest.mark.parametrize("seed", range(4))
def test_a_page_on_a_desk_is_found_at_its_corners(pages: dict, seed: int) -> None:
    for doc_id, page in pages.items():
        photo, params = on_desk(page, random.Random(f"{seed}/{doc_id}"), 0.06)
        found = page_corners(photo)
        assert found is not None and len(found) == 1, doc_id
        for (x, y), (ex, ey) in zip(found[0], _desk_corners(page, params), strict=True):
            # within 1 % of the page's width: a few pixels at this size
            assert abs(x - ex) < 0.01 * page.width and abs(y - ey) < 0.01 * page.width, (
                doc_id,
                found,
            )


def test_a_flattened_page_is_the_page_as_printed(pages: dict) -> None:
    page = pages["creditor-letter-03"]
    photo, _ = on_desk(page, random.Random(3), 0.06)
    flats = flatten_pages(photo)
    assert len(flats) == 1
    flat = flats[0]

    def grey(image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("L").resize((170, 240)), dtype=np.float32)

    printed = grey(page)
    after = np.abs(grey(flat.image) - printed).mean()
    # The photo itself cropped to where the page lies, for scale.
    corners = page_corners(photo)
    assert corners is not None
    (tl, tr, br, bl) = corners[0]
    box = (min(tl[0], bl[0]), min(tl[1], tr[1]), max(tr[0], br[0]), max(bl[1], br[1]))
    before = np.abs(grey(photo.crop(tuple(round(v) for v in box))) - printed).mean()
    assert after < 0.4 * before, (after, before)
    # Points on the flattened page map back to where they lie on the photo.
    w, h = flat.image.size
    for point, corner in (((0, 0), tl), ((w, 0), tr), ((w, h), br), ((0, h), bl)):
        x, y = flat.to_photo(*point)
        assert abs(x - corner[0]) < 1 and abs(y - corner[1]) < 1, (point, corner)


def test_no_page_is_flattened_from_a_scan_two_pages_or_a_square_photo(pages: dict) -> None:
    statement, letter = pages["bank-statement-02"], pages["creditor-letter-03"]
    assert flatten_pages(statement) == []  # the page fills the image: nothing seen around it
    crooked = statement.convert("L").rotate(3, expand=True, fillcolor=228).convert("RGB")
    assert flatten_pages(crooked) == []  # a crooked scan: its edge is scanner grey, not a desk
    pair, _ = two_up(letter, statement, random.Random(1))
    assert len(flatten_pages(pair)) == 2  # two pages: see the next test
    square, _ = on_desk(letter, random.Random(1), 0.0)
    assert flatten_pages(square) == []


def test_two_pages_photographed_side_by_side_are_found_each_at_its_place(pages: dict) -> None:
    letter, statement = pages["creditor-letter-03"], pages["bank-statement-02"]
    w, h = letter.size
    border, gap = int(0.05 * w), int(0.04 * w)  # where two_up lays them on the desk
    pair, _ = two_up(letter, statement, random.Random(2))
    found = page_corners(pair)
    assert found is not None and len(found) == 2
    flats = flatten_pages(pair)
    for i, corners in enumerate(found):
        left = border + i * (w + gap)
        square = [(left, border), (left + w, border), (left + w, border + h), (left, border + h)]
        for (x, y), (ex, ey) in zip(corners, square, strict=True):
            # each page is turned up to 1.5 degrees in place: its corners move that much
            assert abs(x - ex) < 0.03 * w and abs(y - ey) < 0.03 * w, (i, corners)
        assert abs(flats[i].image.width - w) < 0.03 * w


@pytest.mark.parametrize("degrees", [-3.6, -1.5, 0.8, 2.7])
def test_a_crooked_page_is_levelled(pages: dict, degrees: float) -> None:
    # As a scanner feeds a page in crooked (the skew variant): turned, grey round it.
    for doc_id in ("bank-statement-02", "council-tax-01"):
        page = pages[doc_id]
        crooked = page.convert("L").rotate(degrees, expand=True, fillcolor=228).convert("RGB")
        assert abs(skew_angle(crooked) + degrees) <= 0.2, doc_id
        level = deskew(crooked)
        assert level is not None
        # The levelled page is the page as printed, give or take its grey surround.
        w, h = page.size
        x0, y0 = (level.image.width - w) // 2, (level.image.height - h) // 2
        inner = level.image.crop((x0, y0, x0 + w, y0 + h)).convert("L")
        diff = np.abs(np.asarray(inner, np.float32) - np.asarray(page.convert("L"), np.float32))
        assert float(np.median(diff)) < 2, doc_id
        # and a point on it maps back to where it lies on the crooked page
        cx, cy = level.to_photo(level.image.width / 2, level.image.height / 2)
        assert abs(cx - crooked.width / 2) < 1 and abs(cy - crooked.height / 2) < 1
    assert deskew(pages["bank-statement-02"]) is None  # level already


def test_a_blurred_page_is_sharpened_and_a_focused_one_left_alone(pages: dict) -> None:
    page = even_out(pages["bank-statement-02"])
    assert sharpen_if_blurred(page) is page
    blurred = even_out(pages["bank-statement-02"].filter(ImageFilter.GaussianBlur(1.6)))
    sharpened = sharpen_if_blurred(blurred)
    assert sharpened is not blurred
    steps = lambda im: np.percentile(np.abs(np.diff(np.asarray(im, np.int16), axis=1)), 99.5)  # noqa: E731
    assert steps(sharpened) > steps(blurred)


@pytest.mark.slow
def test_an_out_of_focus_statement_reads_its_table() -> None:
    """Tesseract drops blurred text as if it were a picture: the table of an out-of-focus
    statement was lost until the page was sharpened (planted: no sharpening, 2 rows)."""
    import asyncio

    from rma.documents.pipeline import DocumentProcessor

    doc = build_corpus(18).by_id("bank-statement-02")
    file = render(doc, "blur", 18)
    result = asyncio.run(DocumentProcessor(None).process(file.data, file.filename))
    income = result.fields.fields.get("income")
    assert income is not None
    assert {i["source"] for i in income.value} >= {"universal_credit", "child_benefit"}


@pytest.mark.parametrize(
    ("written", "expected", "rest"),
    [
        ("120CT DD INTRUM UK", "2025-10-12", "DD INTRUM UK"),
        ("070CT MONTHLY ACCOUNT FEE", "2025-10-07", "MONTHLY ACCOUNT FEE"),
        ("O1JUL CARD PAYMENT TO POUNDLAND", "2025-07-01", "CARD PAYMENT TO POUNDLAND"),
        ("1460CT CARD PAYMENT TO ASDA", "2025-10-14", "CARD PAYMENT TO ASDA"),
        ("23)UN CARD PAYMENT TO AMAZON", "2025-06-23", "CARD PAYMENT TO AMAZON"),
        ("03JUN BGC WAGES", "2025-06-03", "BGC WAGES"),
        ("O03NOV DD HASTINGS COUNCIL CTAX", "2025-11-03", "DD HASTINGS COUNCIL CTAX"),
        ('"O08 Jun POS ALDI', "2025-06-08", "POS ALDI"),
        # printed forms stay as they are
        ("27-Feb-2025", "2025-02-27", ""),
        ("10 MAY 2025 DD X", "2025-05-10", "DD X"),
    ],
)
def test_a_day_and_month_misread_on_a_photo_is_read(written: str, expected: str, rest: str) -> None:
    assert leading_date(written, _start()) == (expected, rest)
    assert a_date(written, _start()) == expected


def test_words_that_only_look_like_a_day_and_month_are_not_dates() -> None:
    for text in ("I MAY BE LATE", "IOCT", "OCTOPUS ENERGY", "MONTHLY FEE", "2024 DEC"):
        assert leading_date(text, _start()) is None, text


def _start() -> date:

    return date(2025, 6, 1)


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("© Wakefield Council", "Wakefield Council"),
        ("@ Meadowlight Energy Ltd", "Meadowlight Energy Ltd"),
        ("ces) Castlegate Credit Services Ltd", "Castlegate Credit Services Ltd"),
        ("sec) Swindon Borough Council", "Swindon Borough Council"),
        ("Capital One (Europe) ple", "Capital One (Europe) plc"),
        ("Northgate Bank pic", "Northgate Bank plc"),
        ("Lowell Portfolio | Ltd", "Lowell Portfolio I Ltd"),
        ("Marks and Spencer plc", "Marks and Spencer plc"),
        ("Apple Pie Co", "Apple Pie Co"),
        ("E.ON Next", "E.ON Next"),
    ],
)
def test_a_name_as_ocr_misreads_it_is_written_as_printed(read: str, printed: str) -> None:
    assert name(read) == printed


def _cell_words(y: float, *cells: tuple[float, str]) -> list[Word]:
    """Words of one printed line: each cell's text from its left edge, 10 units a letter."""
    words: list[Word] = []
    for left, text in cells:
        x = left
        for token in text.split():
            words.append(Word(token, x, y, x + 10 * len(token), y + 12, 0.95))
            x += 10 * len(token) + 6
    return words


def test_a_letters_title_and_department_are_not_its_sender() -> None:
    words = _cell_words(0, (0, "DEFAULT NOTICE")) + _cell_words(30, (0, "Council Tax Section"))
    words += _cell_words(60, (0, "© Wakefield Council"), (400, "Civic Centre"))
    page = Page(1, page_layout(words, (600, 300)), 0.9)
    found = letterhead([page], r"council")
    assert found is not None and found.value == "Wakefield Council"


def test_a_speck_read_as_large_letters_is_not_the_sender() -> None:
    # A logo's edge read as "Pr sas" in large print beside the name, surely never.
    words = _cell_words(0, (0, "Harbour Credit Cards Ltd"))
    words += [Word("Pr", 500, -10, 540, 20, 0.11), Word("sas", 546, -10, 600, 20, 0.11)]
    words += _cell_words(40, (0, "Miss Priya Mistry"))
    page = Page(1, page_layout(words, (700, 300)), 0.9)
    found = letterhead([page])
    assert found is not None and found.value == "Harbour Credit Cards Ltd"


def test_a_typewriter_faces_spaces_do_not_split_a_line_into_cells() -> None:
    # Monospaced print: a space is as wide as a word is high; the value is far off.
    words, x = [], 0.0
    for token in ["Account", "number:", "9339", "6969", "7143"]:
        words.append(Word(token, x, 0, x + 18 * len(token), 26, 0.95, 0))
        x += 18 * len(token) + 27
    words += [Word("Hastings", 0, 60, 144, 86, 0.95, 1), Word("£12.00", 700, 60, 808, 86, 0.95, 2)]
    rows = page_layout(words, (900, 200)).rows
    assert [[c.text for c in r.cells] for r in rows] == [
        ["Account number: 9339 6969 7143"],
        ["Hastings", "£12.00"],
    ]


def test_a_lines_slope_is_read_through_its_baseline_not_its_descenders() -> None:
    # A level line of words, every other one with a descender (its box 6 units lower).
    words = [
        Word(t, 60 * i, 0, 60 * i + 50, 12 + 6 * (i % 2), 0.95, 0)
        for i, t in enumerate(["We", "have", "your", "payment", "plan", "right", "here", "today"])
    ]
    words += [Word("£9.99", 1400, 60, 1450, 72, 0.95, 1), Word("Label", 0, 60, 50, 72, 0.95, 2)]
    assert abs(layout_slope(Cell(words[:8]))) < 0.002
    rows = [[c.text for c in r.cells] for r in page_layout(words, (1500, 100)).rows]
    assert ["Label", "£9.99"] in rows, rows


def test_a_short_lines_descenders_do_not_tip_it_off_its_value() -> None:
    # "Repaying your advance" sits 8 units lower at its left (descenders); its amount is
    # 1,300 units to the right on the same line, and the page's long lines are level.
    words = _cell_words(0, (0, "Earnings: 55% of take-home pay above the work allowance"))
    words += [Word("£345.66", 1300, 0, 1370, 12, 0.95)]
    words += [
        Word("Repaying", 0, 30, 80, 50, 0.95, 7),
        Word("your", 86, 30, 126, 50, 0.95, 7),
        Word("advance", 132, 30, 202, 42, 0.95, 7),
        Word("£31.24", 1300, 30, 1360, 42, 0.95, 8),
    ]
    words += _cell_words(60, (0, "Total deductions are taken from the amount before them"))
    rows = [[c.text for c in r.cells] for r in page_layout(words, (1400, 100)).rows]
    assert ["Repaying your advance", "£31.24"] in rows, rows


def test_a_table_header_split_by_a_photo_is_read_as_one() -> None:
    def row(y: float, *cells: tuple[float, str]) -> Row:
        return Row([Cell(_cell_words(y, cell)) for cell in cells])

    # The header's right half a little lower on the photo: the row builder put it on a
    # line of its own, just under its left half.
    rows = [
        row(0, (0, "Date"), (120, "Payment type and details")),
        row(9, (500, "Money out"), (650, "Money in"), (800, "Balance")),
        row(40, (0, "02/10"), (120, "UNIVERSAL CREDIT"), (650, "577.87"), (800, "927.79")),
        row(70, (0, "03/10"), (120, "POS SAINSBURYS"), (500, "27.79"), (800, "900.00")),
    ]
    table = read_table([Page(1, PageLayout(rows, 900, 100), 0.9)], _start())
    assert [(r.description, r.money_out, r.money_in, r.balance) for r in table.rows] == [
        ("UNIVERSAL CREDIT", None, 57787, 92779),
        ("POS SAINSBURYS", 2779, None, 90000),
    ]
    # Two rows one above the other are not joined into a header.
    apart = [rows[0], row(40, (500, "Money out"), (650, "Money in"), (800, "Balance")), *rows[2:]]
    assert read_table([Page(1, PageLayout(apart, 900, 100), 0.9)], _start()).rows == []


def _row(
    description: str, out: int | None, paid_in: int | None, balance: int | None
) -> Transaction:
    return Transaction("2025-10-01", description, out, paid_in, balance, 1, description, 0.9)


def test_an_amount_whose_point_was_lost_is_read_from_the_balances_around_it() -> None:
    table = Table(
        [
            _row("POS POUNDLAND", 1808, None, 9397),
            _row("VIS SHELL FORECOURT", 44500, None, 8952),  # "4.45" read "445"
            _row("DD MEADOWLIGHT ENERGY", 4500, None, 4452),
            _row("POS AMAZON", None, None, 3896),  # its amount not read at all
            _row("UNIVERSAL CREDIT", None, 71238, 75134),
        ]
    )
    mend_amounts(table, 11205)
    assert [(r.money_out, r.money_in) for r in table.rows] == [
        (1808, None),
        (445, None),
        (4500, None),
        (556, None),
        (None, 71238),
    ]
    assert check_sums(table.rows, 11205, 75134) == (True, [])
    assert len(table.warnings) == 2 and "4.45" in table.warnings[0]
    assert all(
        r.confidence < 0.9
        for r in table.rows
        if r.description in ("VIS SHELL FORECOURT", "POS AMAZON")
    )


def test_a_misprinted_balance_is_not_mended_away() -> None:
    # The statement's own fault: one running balance printed 10.00 out, the rows after it
    # right, and the next row's amount not read. Two rows do not add up around the
    # misprint, so no amount is made from it, and the fault is reported.
    rows = [
        _row("POS A", 1000, None, 9000),
        _row("POS B", 1000, None, 9000),  # printed 90.00, the rows make 80.00
        _row("POS C", None, None, 7000),  # 10.00 out, not read
        _row("POS D", 1000, None, 6000),
    ]
    table = Table(rows)
    mend_amounts(table, 10000)
    assert [r.money_out for r in table.rows] == [1000, 1000, None, 1000]
    assert table.warnings == []
    adds_up, faults = check_sums(table.rows, 10000, 6000)
    assert adds_up is False and faults


def test_two_pages_read_each_on_its_own_keep_their_rows_apart() -> None:
    # Two pages of one statement side by side: the same layout, so their lines line up
    # across the gap, and the gutter alone reads them as one table (rows mixing pages).
    def page(left: float, sheet: int, rows: list[tuple[str, str, str]]) -> list[Word]:
        words = []
        for i, cells in enumerate(rows):
            for word in _cell_words(40.0 * i, *zip((0, 80, 400), cells, strict=True)):
                words.append(
                    Word(word.text, word.left + left, word.top, word.right + left, word.bottom, 0.9)
                )
        return [Word(w.text, w.left, w.top, w.right, w.bottom, 0.9, -1, sheet) for w in words]

    left = [("19/03", "POS SAINSBURYS S/MKT", "78.93"), ("20/03", "DD WAKEFIELD CTAX", "73.37")]
    right = [("21/03", "DEB CO-OP FOOD", "29.36"), ("22/03", "VIS BOOTS 1187", "8.10")]
    words = page(0, 0, left) + page(520, 1, right)
    rows = page_layout(words, (1000, 100)).rows
    assert [(r.sheet, [c.text for c in r.cells]) for r in rows] == [
        (0, ["19/03", "POS SAINSBURYS S/MKT", "78.93"]),
        (0, ["20/03", "DD WAKEFIELD CTAX", "73.37"]),
        (1, ["21/03", "DEB CO-OP FOOD", "29.36"]),
        (1, ["22/03", "VIS BOOTS 1187", "8.10"]),
    ]


def test_a_bills_list_read_by_ocr_is_verified_only_when_the_bill_shows_it_whole() -> None:
    # Seen on a crooked photo of a council tax bill: the first three instalments lost,
    # the seven read each read surely, and the list passed as verified.
    def items(key: str, amounts: list[int]) -> list[Found]:
        return [Found({key: str(i), "amount": a}, 1, "row", 0.95) for i, a in enumerate(amounts)]

    year = Found(188069, 1, "Total   £1,880.69", 0.95)
    whole = {"amount": year, "instalments": items("date", [18815] + [18806] * 9)}
    short = {"amount": year, "instalments": items("date", [18806] * 7)}
    assert "instalments" not in rows_unconfirmed("council_tax_bill", whole)
    assert "instalments" in rows_unconfirmed("council_tax_bill", short)
    assert "instalments" in rows_unconfirmed(
        "council_tax_bill", {"instalments": whole["instalments"]}
    )

    debt, due = Found(88617, 1, "Debt", 0.95), Found(119617, 1, "Total now due", 0.95)
    fees = items("stage", [7500, 23500])
    assert "fees" not in rows_unconfirmed(
        "enforcement_agent_notice", {"debt": debt, "balance": due, "fees": fees}
    )
    assert "fees" in rows_unconfirmed(
        "enforcement_agent_notice", {"debt": debt, "balance": due, "fees": fees[:1]}
    )


def test_rows_of_a_page_drawn_square_follow_its_level_lines_not_the_photo() -> None:
    # On a photo taken at an angle, the right-hand column sits a line higher than on
    # the page: each amount is nearer the date above its own. The page drawn square has
    # them level, and its rows are the ones kept (council-tax-02, perspective).
    words = []
    for i, (when, amount) in enumerate([("1 April", "£295.44"), ("1 May", "£295.37")]):
        y = 40.0 * i
        for token, x, w in ((when.split()[0], 0, 10), (when.split()[1], 16, 50)):
            words.append(Word(token, x, y + 20, x + w, y + 32, 0.95, flat=(x, y, x + w, y + 12)))
        words.append(Word(amount, 900, y - 2, 970, y + 10, 0.95, flat=(900, y, 970, y + 12)))
    level = [[c.text for c in r.cells] for r in page_layout(words, (1000, 100)).rows]
    assert level == [["1 April", "£295.44"], ["1 May", "£295.37"]]
    # the rows hold the words where they sit on the photo, so marks land on the photo
    assert page_layout(words, (1000, 100)).rows[0].cells[0].words[0].top == 20
    # planted: without the page drawn square, the photo's boxes alone pair them wrong
    photo_only = [replace(w, flat=None) for w in words]
    assert [[c.text for c in r.cells] for r in page_layout(photo_only, (1000, 100)).rows] != level


def test_a_word_split_at_a_smudge_is_joined_and_spaced_words_are_not() -> None:
    line = [
        Word("Northg", 386, 155, 626, 223, 0.6, 1),
        Word("ate", 629, 165, 730, 207, 0.9, 1),  # 3 units apart: one word
        Word("Bank", 756, 159, 932, 207, 0.9, 1),  # a space apart
        Word("plc", 958, 159, 1030, 207, 0.9, 1),
    ]
    joined = _join_split(line)
    assert [w.text for w in joined] == ["Northgate", "Bank", "plc"]
    assert (joined[0].left, joined[0].right, joined[0].confidence) == (386, 730, 0.6)
    # a capital after a narrow gap starts a word of its own ("E.ON Next" stays apart)
    assert [
        w.text for w in _join_split([Word("E.ON", 0, 0, 60, 20), Word("Next", 62, 0, 120, 20)])
    ] == [
        "E.ON",
        "Next",
    ]


def test_light_letters_on_a_dark_band_are_read_on_a_noisy_photo() -> None:
    # A bank's name printed white on its colour, photographed with noise: evened out as
    # the rest of the page, its letters were taken for paper and the name was lost.
    doc = build_corpus(18).by_id("bank-statement-01")
    file = render(doc, "noise", 18)
    photo = Image.open(io.BytesIO(file.data))
    read, _ = read_upright(photo)
    banner = [w.text for w in read.words if w.bottom < 0.12 * read.size[1]]
    assert "Barclays" in banner, banner  # the footer names the bank too: the band's own
    # Only the band is turned: the rest of the page, its grey table header too, is not.
    grey = photo.convert("L")
    changed = np.argwhere(np.asarray(_light_bands(grey)) != np.asarray(grey))
    assert changed.size and changed[:, 0].max() < 0.12 * grey.height
    plain = rasterise(render_pdf(build_corpus(18).by_id("council-tax-01")))[0].convert("L")
    assert _light_bands(plain) is plain  # nothing dark: the page as it was
    # A council's logo beside its name is dark too, but no band: turned, it read as
    # letters before the name ("€é> Wakefield Council").
    crooked = render(build_corpus(18).by_id("council-tax-01"), "skew", 18)
    read, _ = read_upright(Image.open(io.BytesIO(crooked.data)))
    starts = [r.cells[0].text for r in page_layout(read.words, read.size).rows[:3]]
    assert "Wakefield Council" in starts, starts


def test_a_label_whose_words_ocr_ran_together_still_finds_its_value() -> None:
    words = _cell_words(0, (0, "Balance now due forthe year"), (600, "£1,844.33"))
    page = Page(1, page_layout(words, (800, 100)), 0.9)
    found = labelled([page], r"balance (?:now )?due(?: for the year)?", money)
    assert found is not None and found.value == 184433


@pytest.mark.parametrize(
    ("read", "pence"),
    [
        ("£295:..37", 29537),
        ("£1,208;.05", 120805),
        ("£295.37", 29537),
        ("£295", 29500),
        ("£295.. 37", 29500),
    ],
)
def test_a_point_ocr_smudged_into_a_colon_or_dots_is_read_as_the_point(
    read: str, pence: int
) -> None:
    assert money(read) == pence


def test_another_labelled_date_is_not_taken_for_the_letters_date() -> None:
    # A default notice on a blurred photo: its own date misread ("19th:March"), the
    # agreement's date beside its label read surely. That was passed as the letter's
    # date, verified (seed 7, default-notice-01, JPEG); now no date is better.
    words = _cell_words(0, (0, "Mr Daniel Lloyd"), (500, "Date of -notice: 19th:March 2026"))
    words += _cell_words(40, (0, "Date of agreement"), (500, "23rd October 2024"))
    out: dict = {}
    _letter_common([Page(1, page_layout(words, (900, 100)), 0.9)], out)
    assert "letter_date" not in out
    for label, is_the_letters in [("Date of agreement ", False), ("Date of birth: ", False),
                                  ("Date: ", True), ("Date of this letter: ", True)]:  # fmt: skip
        assert bool(LETTER_DATE_LABEL.search(label)) is is_the_letters, label
