"""A bank statement's transactions read as a table, and its sums checked in code.

The table is found by its header row (a date column, a description, money out, money
in, a balance), wherever it is on the page and however the bank words it; each row
below is split into the header's columns by where its cells sit (amounts are aligned
under their column's right edge). A row without a date is on the day of the row above.
Then the sums: opening + in - out = closing, and every printed running balance follows
from the one before it. What does not add up is said, never smoothed over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from rma.documents.layout_fields import Page, a_date, leading_date, plain_money
from rma.ocr.layout import Cell, Row

# Header words of each column, in the order they are tried on a header cell.
HEADER = {
    "date": r"^date$",
    "description": r"description|details|transaction|particulars|narrative|payee",
    "out": r"\bout\b|paid ?out|withdrawn|withdrawals|debits?|payments",
    "in": r"\bin\b|paid ?in|deposits?|credits?|receipts",
    "balance": r"balance",
}
# An amount taken from the balances around it is no surer than a doubtful reading.
MENDED_CONFIDENCE = 0.6
# Rows that restate a balance rather than move money.
BALANCE_ROW = re.compile(r"balance (brought|carried) forward|opening balance|closing balance", re.I)
INCOME_SOURCES = {
    "universal_credit": r"\bUC\b|universal credit",
    "pip": r"\bPIP\b|personal indep",
    "child_benefit": r"child benefit|\bCHB\b",
    "carers_allowance": r"\bDWP CA\b|carers? allowance",
    "esa": r"\bESA\b|employment and support",
    "pension": r"pension",
    "wages": r"salary|wages|payroll|\bpay\b",
}
BENEFITS = ("universal_credit", "pip", "child_benefit", "carers_allowance", "esa")
# The bank taking money from the account for its own debt (set-off, "combining accounts").
SET_OFF = re.compile(r"set[- ]?off|debt recovery|transfer to loan|combin(ed|ing) accounts", re.I)
CHARGE = re.compile(r"\b(fee|charge|interest)\b", re.I)
# A speck read as a letter before a row's description ("q FP REDWOOD", "a MONTHLY FEE"):
# banks print descriptions in capitals.
STRAY_MARK = re.compile(r"^(?:[a-z]|[^\w\s*]+)\s+(?=[A-Z0-9])")
# Payment prefixes banks print before the payee.
PREFIX = re.compile(r"^(?:DD|SO|FP|FPO|BP|BGC|TFR|STO|D/D|S/O)\s+", re.I)
# A card payment is to a shop or a service, not to a creditor.
CARD = re.compile(r"^(?:CARD PAYMENT TO|POS|VIS|DEB|CASH|ATM)\b", re.I)
# Payees that are creditors: lenders, collectors, councils, energy and water, landlords.
CREDITOR = re.compile(
    r"\b(bank|banking|fin|finance|loans?|cards?|credit|capital|aqua|vanquis|newday|intrum|"
    r"lowell|cabot|recover(?:y|ies)|collections?|council|ctax|energy|eon|octopus|edf|ovo|"
    r"british gas|gas|electric|water|utilit(?:y|ies)|"
    r"trent|hsg|housing|homes|rent|lettings|landlord|catalogue|shopping)\b",
    re.I,
)


@dataclass
class Transaction:
    date: str | None
    description: str
    money_out: int | None
    money_in: int | None
    balance: int | None
    page: int
    quote: str
    confidence: float


@dataclass
class Table:
    rows: list[Transaction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _header(row: Row) -> dict[str, Cell] | None:
    columns: dict[str, Cell] = {}
    for cell in row.cells:
        text = cell.text.strip().rstrip(" £()").lower()
        if len(text) > 30:
            return None
        for column, pattern in HEADER.items():
            if column not in columns and re.search(pattern, text):
                columns[column] = cell
                break
    if {"date", "description", "balance"} <= columns.keys() and (
        "out" in columns or "in" in columns
    ):
        return columns
    return None


def _column(cell: Cell, columns: dict[str, Cell]) -> str:
    """The header column a cell sits under: amounts by their right edges, text by its left."""
    if plain_money(cell.text) is not None:
        amounts = [c for c in ("out", "in", "balance") if c in columns]
        return min(amounts, key=lambda c: abs(columns[c].right - cell.right))
    return min(columns, key=lambda c: abs(columns[c].left - cell.left))


def read_table(pages: list[Page], start: date | None) -> Table:
    """Every transaction under a statement's header rows, on every page."""
    table = Table()
    day: str | None = None
    for page in pages:
        columns: dict[str, Cell] | None = None
        rows = page.layout.rows
        joined = -1  # the index of a row read as the second half of a header
        for index, row in enumerate(rows):
            if index == joined:
                continue
            header = _header(row)
            if header is None and index + 1 < len(rows) and _one_line(row, rows[index + 1]):
                # A header a photo's slope split in two ("Date  Details" | "Out  In  Balance").
                header = _header(Row(row.cells + rows[index + 1].cells))
                joined = index + 1 if header is not None else -1
            if header is not None:
                columns = header
                continue
            if columns is None:
                continue
            parts: dict[str, list[Cell]] = {}
            for cell in row.cells:
                parts.setdefault(_column(cell, columns), []).append(cell)
            text = {k: " ".join(c.text for c in v) for k, v in parts.items()}
            amounts = {k: plain_money(text[k]) for k in ("out", "in", "balance") if k in text}
            if not any(v is not None for v in amounts.values()):
                if not re.search(r"\d", row.text) and len(row.cells) == 1:
                    continue  # a wrapped line, a footer
                continue
            if "date" in text:
                written = a_date(text["date"], start)
                if written is not None:
                    day = written
            description = text.get("description", "").strip()
            if "date" in text and a_date(text["date"], start) is None:
                description = (text["date"] + " " + description).strip()
            if "date" not in text or a_date(text["date"], start) is None:
                run_in = leading_date(description, start)
                if run_in is not None:
                    day, description = run_in
            description = STRAY_MARK.sub("", description)
            if BALANCE_ROW.search(description):
                continue
            table.rows.append(
                Transaction(
                    day,
                    description,
                    amounts.get("out"),
                    amounts.get("in"),
                    amounts.get("balance"),
                    page.number,
                    row.text,
                    min(c.confidence for c in row.cells),
                )
            )
    return table


def _one_line(row: Row, below: Row) -> bool:
    """Whether two rows, side by side rather than one above the other, could be one line
    of the page: they overlap in height and not in width."""
    overlap = min(row.bottom, below.bottom) - max(row.top, below.top)
    apart = all(c.right <= d.left or d.right <= c.left for c in row.cells for d in below.cells)
    return overlap > 0 and apart


def mend_amounts(table: Table, opening: int | None) -> None:
    """Amounts a photo's reading lost or misread, taken from the running balances around
    them, each said in the table's warnings.

    A row whose amount does not make its printed balance from the one before, while the
    rows on either side add up, has its amount misread (a misprinted balance would put
    the row after it out too): "4.45" read as "445", or not read at all. Its amount is the
    difference of the two balances, in the column that difference's sign names. A row
    whose balance alone is out is left as printed: that is what ``check_sums`` reports.
    """
    if opening is None:
        return
    rows = table.rows
    before: list[int | None] = []  # the balance each row starts from, where printed
    running: int | None = opening
    for row in rows:
        before.append(running)
        running = row.balance if row.balance is not None else None
    for i, row in enumerate(rows):
        start = before[i]
        if start is None or row.balance is None:
            continue
        moved = row.balance - start
        if moved == (row.money_in or 0) - (row.money_out or 0) or moved == 0:
            continue
        if not (_adds_up(rows, before, i - 1) and _adds_up(rows, before, i + 1)):
            continue
        read = row.money_out if row.money_out is not None else row.money_in
        if row.money_out is not None and row.money_in is not None:
            continue
        if read is not None and read != abs(moved) * 100:
            continue  # not a lost decimal point: left for check_sums to report
        was = "not read" if read is None else f"read as {read / 100:.2f}"
        row.money_out, row.money_in = (-moved, None) if moved < 0 else (None, moved)
        row.confidence = min(row.confidence, MENDED_CONFIDENCE)
        table.warnings.append(
            f"page {row.page}: the amount of {row.description!r} on {row.date} was {was}; "
            f"the balances before and after it make it {abs(moved) / 100:.2f}, used here"
        )


def _adds_up(rows: list[Transaction], before: list[int | None], i: int) -> bool:
    """Whether row ``i`` (if there is one, and its balances are printed) adds up."""
    if not 0 <= i < len(rows):
        return True
    row, start = rows[i], before[i]
    if start is None or row.balance is None:
        return True
    return row.balance - start == (row.money_in or 0) - (row.money_out or 0)


def check_sums(
    rows: list[Transaction], opening: int | None, closing: int | None
) -> tuple[bool | None, list[str]]:
    """Whether the statement adds up (None if it cannot be told), and each place it
    does not: a running balance that does not follow, a closing balance that does not."""
    if opening is None or not rows:
        return None, []
    faults: list[str] = []
    running = opening
    for row in rows:
        running += (row.money_in or 0) - (row.money_out or 0)
        if row.balance is not None and row.balance != running:
            faults.append(
                f"page {row.page}: the balance after {row.description!r} on {row.date} is "
                f"printed {row.balance / 100:.2f}, but the rows before it give {running / 100:.2f}"
            )
            running = row.balance  # carry on from what is printed
    if closing is not None:
        total = opening + sum((r.money_in or 0) - (r.money_out or 0) for r in rows)
        if total != closing:
            faults.append(
                f"opening balance + money in - money out is {total / 100:.2f}, but the closing "
                f"balance is printed {closing / 100:.2f}"
            )
    return not faults, faults


def source_of(description: str) -> str | None:
    for source, pattern in INCOME_SOURCES.items():
        if re.search(pattern, description, re.I):
            return source
    return None


def payee(description: str) -> str | None:
    """The creditor a payment out went to, as the bank printed it; None if the payee is
    not a creditor (a shop, cash)."""
    named = PREFIX.sub("", description).strip()
    if CARD.match(named):
        return None
    if CREDITOR.search(named) and not SET_OFF.search(named) and not CHARGE.search(named):
        return named
    return None
