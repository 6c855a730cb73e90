"""What a manual says about a limit, held against the effective table.

A :class:`Candidate` is one figure a manual states for a named limit, with the dates the
text gives (if any) and where it says it. :func:`classify` sorts each into:

- ``supports``: the value in force for the dates the text states (or today's value,
  when it states none): evidence and a citation for that row;
- ``stale``: a value the limit used to have, given as if it still applied ("quotes
  £30,000, the limit until 27 June 2024");
- ``unknown_value``: no value the table knows ("quotes £900,000, which matches no known
  value"), for a person to review;
- ``upcoming``: a value announced for a later date. It agrees with the table when the
  text gives that date; given as if in force now, it is a conflict.

This is pure code: conflicts are listed, never applied. Only an approved change
(:mod:`rma.limits.changes`) alters what RMA states.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from rma import constants as C
from rma.limits.table import LimitRow, LimitTable, display_value
from rma.text import MONTH_NAMES, format_date

Verdict = Literal["supports", "stale", "unknown_value", "upcoming"]
# How exactly the text gives a date: "28 June 2024", "June 2021", "2015".
Precision = Literal["day", "month", "year"]
# Units a figure can be compared in: a sum of money stated without "a month" still
# compares with a monthly limit, since a manual often leaves the "a month" to its table.
_COMPARABLE = {"GBP": {"GBP", "GBP/month"}, "GBP/month": {"GBP", "GBP/month"}}


@dataclass(frozen=True)
class Candidate:
    """One figure a manual states for a limit, and the dates it gives (first and last day
    in force, each with the precision the text used). ``past``: the text itself puts the
    value in the past ("was £15,000", "the old limit of", "rose from £20,000"). The
    passage it comes from: document, page, heading, the quote and the chunk it is in."""

    name: str
    value: Decimal
    unit: str
    effective_from: date | None = None
    effective_to: date | None = None
    from_precision: Precision = "day"
    to_precision: Precision = "day"
    jurisdiction: str = C.DEFAULT_JURISDICTION
    document: str = ""
    page: int | None = None
    quote: str = ""
    past: bool = False
    figure: str = ""
    document_id: str = ""
    chunk_id: str = ""
    heading: str = ""

    @property
    def display(self) -> str:
        return display_value(self.value, self.unit)

    @property
    def where(self) -> str:
        if not self.document:
            return "the text"
        return f"{self.document}, page {self.page}" if self.page else self.document

    def stated_dates(self) -> str:
        parts = []
        if self.effective_from:
            parts.append(f"from {_spoken(self.effective_from, self.from_precision)}")
        if self.effective_to:
            parts.append(f"until {_spoken(self.effective_to, self.to_precision)}")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The candidate as JSON-ready data (``from_dict`` reads it back)."""
        data = asdict(self)
        data["value"] = str(self.value)
        for key in ("effective_from", "effective_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        fields = dict(data)
        fields["value"] = Decimal(fields["value"])
        for key in ("effective_from", "effective_to"):
            fields[key] = date.fromisoformat(fields[key]) if fields.get(key) else None
        return cls(**fields)


@dataclass(frozen=True)
class Finding:
    """A candidate's verdict, the row it matches or echoes, the value the table has for the
    date in question, and a sentence for the person reviewing it."""

    candidate: Candidate
    verdict: Verdict
    conflict: bool
    row: LimitRow | None
    in_force: LimitRow | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "name": c.name,
            "jurisdiction": c.jurisdiction,
            "value": str(c.value),
            "display": c.display,
            "stated": {
                "effective_from": c.effective_from.isoformat() if c.effective_from else None,
                "effective_to": c.effective_to.isoformat() if c.effective_to else None,
            },
            "document": c.document,
            "page": c.page,
            "quote": c.quote,
            "verdict": self.verdict,
            "conflict": self.conflict,
            "matches": None if self.row is None else self.row.as_dict(),
            "in_force": None if self.in_force is None else self.in_force.as_dict(),
            "message": self.message,
        }


def classify(
    candidates: list[Candidate], table: LimitTable, *, today: date | None = None
) -> list[Finding]:
    """A verdict for each candidate, in order."""
    today = today or date.today()
    return [classify_one(c, table, today=today) for c in candidates]


def classify_one(candidate: Candidate, table: LimitTable, *, today: date | None = None) -> Finding:
    today = today or date.today()
    c = candidate
    rows = table.history(c.name, c.jurisdiction)
    unit = rows[0].unit
    label = rows[0].label
    if unit not in _COMPARABLE.get(c.unit, {c.unit}):
        message = f"{c.where} quotes {c.display} for {label}, which is measured in {unit}"
        return Finding(c, "unknown_value", True, None, None, message)
    same = [r for r in rows if r.value == c.value]
    shown = display_value(c.value, unit)
    stated = c.stated_dates()
    if not stated:
        return _undated(c, rows, same, shown, label, today)
    day = c.effective_from or c.effective_to
    assert day is not None
    in_force = next((r for r in rows if r.covers(day)), None)
    agreeing = [r for r in same if _consistent(r, c)]
    if agreeing:
        row = agreeing[-1]
        if row.status(today) == "upcoming":
            message = f"{c.where} gives {shown} {stated}, as the table announces: {row.period()}"
            return Finding(c, "upcoming", False, row, in_force, message)
        if _open_ended(c) and row.last_day is not None and row.last_day < today:
            # "£30,000 from 29 June 2021", with no end, presents an old value as in force
            current = next((r for r in rows if r.covers(today)), None)
            now = f"; it is now {current.display}" if current else ""
            message = (
                f"{c.where} quotes {shown} {stated} as if still in force, but {shown} was "
                f"the limit {row.period()}{now}"
            )
            return Finding(c, "stale", True, row, current, message)
        message = (
            f"{c.where} supports the table: {label} {_tense(row, today)} {row.display} "
            f"{row.period()}"
        )
        return Finding(c, "supports", False, row, in_force, message)
    now = f"; on {format_date(day)} it is {in_force.display}" if in_force else ""
    if same:
        row = max(same, key=lambda r: r.first_day)
        if row.first_day > day:
            message = f"{c.where} quotes {shown} {stated}, but {shown} applies only {row.period()}"
            return Finding(c, "upcoming", True, row, in_force, message + now)
        message = f"{c.where} quotes {shown} {stated}, but {shown} was the limit {row.period()}"
        return Finding(c, "stale", True, row, in_force, message + now)
    message = f"{c.where} quotes {shown} {stated}, which matches no known value of {label}"
    return Finding(c, "unknown_value", True, None, in_force, message + now)


def _undated(
    c: Candidate, rows: list[LimitRow], same: list[LimitRow], shown: str, label: str, today: date
) -> Finding:
    current = next((r for r in rows if r.covers(today)), None)
    if c.past:
        ended = [r for r in same if r.last_day is not None and r.last_day < today]
        if ended:
            row = ended[-1]
            message = f"{c.where} supports the table: {label} was {row.display} {row.period()}"
            return Finding(c, "supports", False, row, current, message)
        if same:
            message = (
                f"{c.where} gives {shown} as a past value of {label}, but the table has it "
                f"in force ({same[-1].period()}): for review"
            )
            return Finding(c, "unknown_value", True, same[-1], current, message)
    if current is not None and current.value == c.value:
        message = f"{c.where} supports the table: {label} is {current.display} ({current.period()})"
        return Finding(c, "supports", False, current, current, message)
    now = f"; it is now {current.display}" if current else ""
    if same:
        row = max(same, key=lambda r: r.first_day)
        if row.status(today) == "upcoming":
            message = f"{c.where} quotes {shown}, the limit {row.period()} (not yet in force)"
            return Finding(c, "upcoming", True, row, current, message + now)
        until = f"until {format_date(row.last_day)}" if row.last_day else row.period()
        message = f"{c.where} quotes {shown}, the limit {until}"
        return Finding(c, "stale", True, row, current, message + now)
    message = f"{c.where} quotes {shown}, which matches no known value of {label}"
    return Finding(c, "unknown_value", True, None, current, message + now)


def _open_ended(c: Candidate) -> bool:
    """A start and no end, and not put in the past: the text presents it as in force."""
    return c.effective_from is not None and c.effective_to is None and not c.past


def _consistent(row: LimitRow, c: Candidate) -> bool:
    """Is the row in force on some day of each date the text states?"""
    for stated, precision in (
        (c.effective_from, c.from_precision),
        (c.effective_to, c.to_precision),
    ):
        if stated is None:
            continue
        first, last = _granule(stated, precision)
        if row.first_day > last or (row.last_day is not None and row.last_day < first):
            return False
    return True


def _granule(day: date, precision: Precision) -> tuple[date, date]:
    if precision == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if precision == "month":
        end = calendar.monthrange(day.year, day.month)[1]
        return date(day.year, day.month, 1), date(day.year, day.month, end)
    return day, day


def _spoken(day: date, precision: Precision) -> str:
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{MONTH_NAMES[day.month]} {day.year}"
    return format_date(day)


def _tense(row: LimitRow, today: date) -> str:
    return {"current": "is", "historical": "was", "upcoming": "will be"}[row.status(today)]
