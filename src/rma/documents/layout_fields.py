"""Reading values off a page's layout: a label and the value beside or below it, the
sender's name in the largest print at the top, a table's rows under its header.

Each value found is a :class:`Found`: the value in its normal form (pence, ISO date,
text), the page, the row it was read from (the quote) and the confidence of the words
it came from. The readers know how such papers are laid out in general (a label, then
its value, on one line or the next), not any one sender's wording.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rma.ocr.layout import Cell, PageLayout, Row
from rma.text import find_dates
from rma.text.money import currency_tokens, to_pence

# The most characters a value printed after its label without a colon may take.
SHORT_VALUE = 40
# OCR confidence of a value's words below which it is returned but not verified.
SURE_WORDS = 0.85
# A trailing OD, D or DR (or a leading minus) makes a balance overdrawn.
OVERDRAWN = re.compile(r"^\s*(?:OD|DR|D)\b\.?", re.I)
OVERDRAWN_SUFFIX = re.compile(r"\s*(?:OD|DR|D)\.?\s*$", re.I)
MONEY_NUMBER = re.compile(
    r"(?P<minus>-\s*)?(?:£|GBP\s?)?(?P<n>\d{1,3}(?:,\d{3})*\.\d{2}|\d+\.\d{2})"
)
# The pence of "£295:..37", a point OCR read as a colon or a smudge of dots.
SMUDGED_POINT = re.compile(r"(?:[:;]|[.,:;']{2,3})(\d{2})(?!\d)")
# "22MAY", "05Mar": a day run into its month, as statement rows print it.
RUN_TOGETHER = re.compile(r"\b(\d{1,2})([A-Za-z]{3})\b")
# A logo before a sender's name, read as a sign or a bracketed scrap ("© Wakefield
# Council", "ces) Castlegate Credit Services Ltd").
LOGO_MARK = re.compile(r"^(?:[^\w(\s]{1,2}|[a-z]{1,4}\))\s+(?=[A-Z])")
# "plc" at the end of a company's name as OCR misreads it.
MISREAD_PLC = re.compile(r" (?:ple|pic|p1c|pIc|plo|pIe)$")
# A statement's "12 OCT" as OCR reads it on a photo: "120CT", "O1JUL", "l2 Oct".
MISREAD_DAY_MONTH = re.compile(
    r"^[\"']?O?([0-9OIl]{1,2})(?: |[0-9O]?)"
    r"(JAN|FEB|MAR|APR|MAY|[J)]UN|[J)]UL|AUG|SEP|[O0]CT|NOV|DEC)\b",
    re.I,
)


@dataclass
class Page:
    """One page's layout, its number in the file and how surely it was read (1.0: a
    text layer)."""

    number: int
    layout: PageLayout
    confidence: float


@dataclass
class Found:
    """One value read off a page, with the row it came from."""

    value: Any
    page: int
    quote: str
    confidence: float
    note: str = ""

    @property
    def sure(self) -> bool:
        return self.confidence >= SURE_WORDS


Parse = Callable[[str], Any]
# A person's name (the addressee), never the sender's.
PERSON = re.compile(r"\s*(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s")


# ------------------------------------------------------------------ value parsers


def money(text: str) -> int | None:
    """Pence of the first sum of money in ``text`` (signed: ``-£5.00``, ``£5.00 OD``); a
    point OCR smudged into a colon or dots (``£295:..37``) is read as the point."""
    text = text.replace("\u2212", "-")
    tokens = currency_tokens(text)
    if tokens:
        token = tokens[0]
        if token.value is None:
            return None
        pence = to_pence(token.value)
        smudged = SMUDGED_POINT.match(text, token.end)
        if smudged and "." not in token.digits:
            pence += int(smudged.group(1))
        before = text[: token.start].rstrip()
        if before.endswith("-") or OVERDRAWN.match(text[token.end :]):
            pence = -pence
        return pence
    return plain_money(text)


def plain_money(text: str) -> int | None:
    """Pence of an amount printed without a currency mark, as in a table (``1,035.44``,
    ``-20.85``, ``25.40 OD``, ``88.50D``); None unless the whole cell is that amount."""
    text = text.strip().replace("\u2212", "-")
    overdrawn = bool(OVERDRAWN_SUFFIX.search(text))
    m = MONEY_NUMBER.fullmatch(OVERDRAWN_SUFFIX.sub("", text).strip())
    if not m:
        return None
    pence = to_pence(Decimal(m.group("n").replace(",", "")))
    return -pence if m.group("minus") or overdrawn else pence


def _reread_day_month(text: str) -> str:
    """``text`` with a day and month at its start that OCR misread ("120CT": 12 OCT, "O1JUL":
    01 JUL) written out; the letters O, I and l in a day are the digits 0 and 1."""
    m = MISREAD_DAY_MONTH.match(text.strip())
    if not m or not re.search(r"\d", m.group(1)):
        return text
    day = m.group(1).translate(str.maketrans("OIl", "011"))
    month = re.sub("^0", "O", re.sub(r"^\)", "J", m.group(2)))
    return f"{day} {month}{text.strip()[m.end() :]}"


def a_date(text: str, reference: date | None = None) -> str | None:
    found = find_dates(RUN_TOGETHER.sub(r"\1 \2", text), reference) or find_dates(
        RUN_TOGETHER.sub(r"\1 \2", _reread_day_month(text)), reference
    )
    return found[0].value.isoformat() if found else None


def leading_date(text: str, reference: date | None) -> tuple[str, str] | None:
    """A date that begins ``text`` and the rest ("03JUN BGC WAGES": the row's date run
    into its description), or None."""
    for reading in (text, _reread_day_month(text)):
        spaced = RUN_TOGETHER.sub(r"\1 \2", reading)
        found = find_dates(spaced, reference)
        if found and found[0].start == 0:
            return found[0].value.isoformat(), spaced[found[0].end :].strip()
    return None


def reference(text: str) -> str | None:
    """A reference: the first run holding a digit (letters, digits, ``-`` and ``/``,
    spaced groups of digits kept together)."""
    m = re.search(r"[A-Z0-9][A-Z0-9\-/]*\d[A-Z0-9\-/]*(?:\s\d{3,})*", text, re.I)
    if not m or len(re.sub(r"\W", "", m.group(0))) < 4:
        return None
    return m.group(0).strip()


def name(text: str) -> str | None:
    """A name as printed: a capitalised phrase, without a trailing full stop; a company's
    "plc" as OCR misreads it ("ple", "pic") written as printed."""
    text = LOGO_MARK.sub("", text.strip(" .,:;"))
    if not text or not text[:1].isupper() or len(text) > 80 or re.search(r"\d{3}", text):
        return None
    return MISREAD_PLC.sub(" plc", text.replace(" | ", " I "))


# ------------------------------------------------------------------ label and value


def _found(value: Any, page: Page, row: Row, cells: list[Cell]) -> Found:
    confidence = min([c.confidence for c in cells] + [page.confidence])
    return Found(value, page.number, row.text, confidence)


def labelled(
    pages: list[Page], label: str, parse: Parse, *, below: bool = False, start: int = 0
) -> Found | None:
    """The value printed after ``label`` (a regex matched at the start of a cell): in
    the rest of the cell ("Label: value"), else in the next cell on the row ("Label |
    value"), else, with ``below``, in the row under it ("Claimant's name" over the
    name). A space in ``label`` may be missing on the page: OCR runs words together on a
    blurred photo ("Balance now due forthe year")."""
    spaced = label.replace(" ", r"\s*")
    pattern = re.compile(rf"^\s*(?:{spaced})\s*(?:[:.]|\s-\s)?\s*", re.I)
    for page in pages:
        rows = page.layout.rows
        for i, row in enumerate(rows[start:], start):
            for j, cell in enumerate(row.cells):
                m = pattern.match(cell.text)
                if not m:
                    continue
                rest = cell.text[m.end() :]
                # "Label: value" or a short "Label value"; a sentence that merely starts
                # with the label's words ("Arrears and the balance you owe are...") is not.
                if rest.strip() and (":" in m.group(0) or len(rest) <= SHORT_VALUE):
                    value = parse(rest)
                    if value is not None:
                        return _found(value, page, row, [cell])
                    continue
                if rest.strip():
                    continue
                if j + 1 < len(row.cells):
                    value = parse(row.cells[j + 1].text)
                    if value is not None:
                        return _found(value, page, row, [cell, row.cells[j + 1]])
                if below and i + 1 < len(rows):
                    under = rows[i + 1]
                    value = parse(under.cells[0].text)
                    if value is not None:
                        return _found(value, page, under, under.cells[:1])
    return None


def anywhere(pages: list[Page], pattern: str, parse: Parse) -> Found | None:
    """The value in the first row where ``pattern`` (a regex with a group) matches: for
    what prose states ("instructed by X to", "may visit from DATE")."""
    compiled = re.compile(pattern, re.I)
    for page in pages:
        for row in page.layout.rows:
            m = compiled.search(row.text)
            if m:
                value = parse(m.group(1))
                if value is not None:
                    return _found(value, page, row, row.cells)
    return None


def in_prose(pages: list[Page], pattern: str, parse: Parse) -> Found | None:
    """The value in the first paragraph where ``pattern`` (a regex with a group) matches:
    a paragraph is the run of one-cell rows between label rows and gaps, joined, so a
    sentence that wraps ("...the total balance you owe us is" / "£9,201.44.") is whole."""
    compiled = re.compile(pattern, re.I)
    for page in pages:
        run: list[Row] = []
        for row in [*page.layout.rows, None]:
            if row is not None and len(row.cells) == 1:
                run.append(row)
                continue
            if run:
                text = " ".join(r.text for r in run)
                m = compiled.search(text)
                if m:
                    value = parse(m.group(1))
                    if value is not None:
                        rows = _rows_between(run, m.start(), m.end())
                        confidence = min([r.confidence for r in rows] + [page.confidence])
                        quote = " ".join(r.text for r in rows)
                        return Found(value, page.number, quote, confidence)
            run = []
    return None


def _rows_between(rows: list[Row], start: int, end: int) -> list[Row]:
    """The rows holding characters ``start`` to ``end`` of the rows' texts joined by one
    space: the lines a match in a paragraph was printed on, its quote."""
    out: list[Row] = []
    offset = 0
    for row in rows:
        after = offset + len(row.text)
        if offset < end and start < after:
            out.append(row)
        offset = after + 1
    return out or rows


# A sender's name is printed large and clear: a cell read less surely than this is a logo
# or a speck read as letters ("Pr sas"), not a name.
LETTERHEAD_CONFIDENCE = 0.4
# What heads a letter besides its sender: its title, the department.
TITLE = re.compile(
    r"\bnotice\b|\bcouncil tax\b|\bsection\b|\bstatement\b|\bsummons\b|\breminder\b|"
    r"\bfinal demand\b|\bbill\b",
    re.I,
)


def letterhead(pages: list[Page], looks_like: str = "") -> Found | None:
    """The sender's name: the largest print in the top rows of the first page (a name is
    printed bigger than the address under it), or the first organisation's name there."""
    if not pages or not pages[0].layout.rows:
        return None
    page = pages[0]
    top = page.layout.rows[:8]
    cells = [
        (row, cell)
        for row in top
        for cell in row.cells
        if name(cell.text)
        and not PERSON.match(cell.text)
        and not TITLE.search(cell.text)
        and statistics.median(w.confidence for w in cell.words) >= LETTERHEAD_CONFIDENCE
    ]
    if not cells:
        return None
    wanted = re.compile(looks_like, re.I) if looks_like else None
    ranked = sorted(
        cells,
        key=lambda rc: (
            -(bool(wanted.search(rc[1].text)) if wanted else 0),
            -round(rc[1].height / max(1.0, _usual_height(page.layout)), 1),
        ),
    )
    row, cell = ranked[0]
    # A name in large print may be spaced into several cells ("Capital  One  plc"): the
    # cells after it in the same print size belong to it.
    cells_of_name = [cell]
    for other in row.cells[row.cells.index(cell) + 1 :]:
        if abs(other.height - cell.height) > 0.1 * cell.height or not name(other.text):
            break
        if other.left - cells_of_name[-1].right > 3 * cell.height:
            break
        cells_of_name.append(other)
    text = name(" ".join(c.text for c in cells_of_name)) or ""
    if not text or re.search(r"\d|,", text):
        return None
    # A short trading name at the top, the full company name alone on a line below (the
    # sign-off): the company's name is the one the debt is owed to.
    full = re.compile(rf"{re.escape(text)}\b[\w&'(). ]*\b(?:Ltd|Limited|plc|LLP)\.?", re.I)
    for later in pages:
        for line in later.layout.rows:
            written = MISREAD_PLC.sub(" plc", line.text.strip(" ,"))
            if len(line.cells) == 1 and full.fullmatch(written) and written != text:
                return _found(written, later, line, line.cells)
    return _found(text, page, row, cells_of_name)


def _usual_height(layout: PageLayout) -> float:
    heights = sorted(c.height for r in layout.rows for c in r.cells)
    return heights[len(heights) // 2] if heights else 1.0


def period(pages: list[Page], cue: str) -> tuple[Found, Found] | None:
    """Two dates on the row that ``cue`` names ("for the period X to Y", "Assessment
    period: X to Y", "Your statement for X to Y")."""
    compiled = re.compile(cue, re.I)
    for page in pages:
        for row in page.layout.rows:
            if not compiled.search(row.text):
                continue
            dates = find_dates(row.text)
            if len(dates) >= 2 and re.fullmatch(
                r"\s*(?:to|-|–|until|and)\s*(?:[A-Z][a-z]+day,?\s*)?",
                row.text[dates[0].end : dates[1].start],
            ):
                first = _found(dates[0].value.isoformat(), page, row, row.cells)
                last = _found(dates[1].value.isoformat(), page, row, row.cells)
                return first, last
    return None
