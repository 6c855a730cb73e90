"""Dates as UK advisers, creditors and manuals write them, and as RMA writes them back.

Day first, always: ``9/12`` is 9 December. Read here: ``9/12``, ``9/12/25``,
``09.12.2025``, ``2025-12-09``, ``9 December 2025``, ``9th of Dec``, ``Dec 9th``,
``December 9, 2025``, and (when asked for) a month alone, ``June 2021``. A date
written without a year is resolved against a reference date, or not read at all.
Periods ("from 28 June 2024", "between October 2015 and June 2021") are read by
:func:`read_period`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Literal

Precision = Literal["day", "month"]

#: Month names and their usual abbreviations (lower case) -> month number.
MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
#: ``MONTH_NAMES[3] == "March"``; index 0 is empty.
MONTH_NAMES: tuple[str, ...] = tuple(calendar.month_name)
# Years outside this window are OCR noise or typing slips, not dates anyone acts on.
FIRST_YEAR, LAST_YEAR = 1900, 2099

_ORDINAL = r"(?:st|nd|rd|th)"
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_PATTERNS = [
    re.compile(r"(?<![\d/])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<![\d/.£])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])"),
    re.compile(r"(?<![\d.£])(?P<d>\d{1,2})[.-](?P<m>\d{1,2})[.-](?P<y>\d{4}|\d{2})(?!\d|\.\d)"),
    re.compile(
        rf"(?<![\w£])(?P<d>\d{{1,2}}){_ORDINAL}?\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<y>\d{{4}}))?\b",
        re.IGNORECASE,
    ),
    # 05-Mar-2025, 05-Mar-25: as statements and systems print them
    re.compile(
        rf"(?<![\w£])(?P<d>\d{{1,2}})-{_MONTH}-(?P<y>\d{{4}}|\d{{2}})(?!\d)",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_MONTH}\s+(?P<d>\d{{1,2}}){_ORDINAL}?\b(?:,?\s+(?P<y>\d{{4}}))?", re.IGNORECASE
    ),
]
_MONTH_PATTERN = re.compile(rf"\b{_MONTH},?\s+(?P<y>\d{{4}})\b", re.IGNORECASE)
# Words before a date that make it a deadline: a date without a year is then the next one.
_DEADLINE_WORD = re.compile(r"\b(by|before|due|deadline|until|no later than|within)\s*$", re.I)
_ORDINAL_DAY = re.compile(rf"(\d{{1,2}}){_ORDINAL}?", re.IGNORECASE)


@dataclass(frozen=True)
class FoundDate:
    """A date as written in a text, where, and as resolved."""

    text: str
    value: date
    #: whether the year was written (else it was resolved against the reference)
    year_given: bool
    start: int
    end: int
    #: "month" for a month alone ("June 2021"), read as its first day
    precision: Precision = "day"


def resolve_year(day: int, month: int, reference: date, *, future: bool) -> date | None:
    """The year a day and month without one most likely mean, relative to ``reference``.

    Deadlines (``future``) take the first such day from a week before the reference
    on; other mentions take the nearest one. None when no nearby year has that day."""
    candidates = []
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    if future:
        upcoming = [c for c in candidates if c >= reference - timedelta(days=7)]
        if upcoming:
            return min(upcoming)
    return min(candidates, key=lambda c: abs((c - reference).days))


def find_dates(
    text: str,
    reference: date | None = None,
    *,
    months: bool = False,
    relative: bool = False,
) -> list[FoundDate]:
    """Every valid date in ``text``, in order of position.

    A date without a year (``12/3``, ``12th March``) is resolved against ``reference``
    (see :func:`resolve_year`; after "by", "due" and the like it is the next one), and
    skipped when there is no reference. With ``months``, a month alone (``June 2021``)
    is found too, as its first day with precision "month". With ``relative`` (and a
    reference), days named relative to it are found too (see :func:`relative_dates`)."""
    found: list[FoundDate] = []
    patterns = [*_DAY_PATTERNS, _MONTH_PATTERN] if months else _DAY_PATTERNS
    for pattern in patterns:
        for m in pattern.finditer(text):
            if any(m.start() < d.end and d.start < m.end() for d in found):
                continue
            value = _resolve(m, text, reference)
            if value is not None:
                precision: Precision = "day" if m.groupdict().get("d") else "month"
                year_given = bool(m.group("y"))
                found.append(
                    FoundDate(m.group(0), value, year_given, m.start(), m.end(), precision)
                )
    if relative and reference is not None:
        for d in relative_dates(text, reference):
            if not any(d.start < f.end and f.start < d.end for f in found):
                found.append(d)
    return sorted(found, key=lambda d: d.start)


def _resolve(m: re.Match[str], text: str, reference: date | None) -> date | None:
    parts = m.groupdict()
    day = int(parts["d"]) if parts.get("d") else 1
    month = MONTHS[parts["mon"].lower()] if parts.get("mon") else int(parts["m"])
    year_text = parts.get("y")
    if not year_text:
        if reference is None:
            return None
        future = bool(_DEADLINE_WORD.search(text[max(0, m.start() - 20) : m.start()]))
        return resolve_year(day, month, reference, future=future)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# ------------------------------------------------------------------ relative days

#: Weekday names and abbreviations (lower case) -> ``date.weekday()``.
WEEKDAYS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed", "weds"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday",),  # "sat" and "sun" are words too often to read as days
            ("sunday",),
        ]
    )
    for name in names
}
_WEEKDAY = r"(?P<wd>" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\.?"
_RELATIVE_PATTERNS = [
    # "Friday the 12th": the first Friday that is a 12th, from the reference on.
    re.compile(rf"\b{_WEEKDAY}\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORDINAL}\b", re.I),
    re.compile(r"\b(?P<word>today|tonight|this (?:morning|afternoon|evening)|tomorrow)\b", re.I),
    # "end of month", "by end Aug", "by the end of June"
    re.compile(
        rf"\bend\s+(?:of\s+)?(?:the\s+)?(?:(?P<this>month)\b|{_MONTH}(?![\w\d]|\s+\d))",
        re.I,
    ),
    # "by 29th", "before the 3rd": a day of the month alone, after a deadline word.
    re.compile(rf"\b(?:by|before|on|until)\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORDINAL}\b", re.I),
    # A weekday alone ("by fri", "on Tue") but not one a date follows ("Mon 3/3").
    re.compile(rf"\b{_WEEKDAY}(?!\w)(?!\s*(?:the\s+)?\d)", re.I),
]


def relative_dates(text: str, reference: date) -> list[FoundDate]:
    """Days named relative to ``reference`` (the day the text was written): "today",
    "tomorrow", a weekday ("by fri": the next one after it), "Friday the 12th" (the
    first such day from it on), "by the 29th" (the next 29th), "end of month" and "end
    of June" (the month's last day, this month or the next such). ``year_given`` is
    False: the year comes from the reference."""
    found: list[FoundDate] = []
    for pattern in _RELATIVE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < d.end and d.start < m.end() for d in found):
                continue
            value = _relative_value(m, reference)
            if value is not None:
                found.append(FoundDate(m.group(0), value, False, m.start(), m.end()))
    return sorted(found, key=lambda d: d.start)


def _relative_value(m: re.Match[str], reference: date) -> date | None:
    parts = m.groupdict()
    word = (parts.get("word") or "").lower()
    if word:
        return reference + timedelta(days=1) if word == "tomorrow" else reference
    if parts.get("this") or parts.get("mon"):
        month = reference.month if parts.get("this") else MONTHS[parts["mon"].lower()]
        year = reference.year + (month < reference.month)
        return date(year, month, calendar.monthrange(year, month)[1])
    weekday = WEEKDAYS[parts["wd"].lower()] if parts.get("wd") else None
    day = int(parts["d"]) if parts.get("d") else None
    if day is None:
        assert weekday is not None
        return reference + timedelta(days=(weekday - reference.weekday() - 1) % 7 + 1)
    # The first day numbered ``day`` (on the weekday, if one is named) from the reference.
    for months_on in range(14):
        month = (reference.month - 1 + months_on) % 12 + 1
        year = reference.year + (reference.month - 1 + months_on) // 12
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= reference and (weekday is None or candidate.weekday() == weekday):
            return candidate
    return None


def parse_date(text: str, reference: date | None = None) -> date | None:
    """One date written alone (``"5th Mar 2025"``, ``"05/03/2025"``), or None."""
    wanted = text.strip().rstrip(".")
    for found in find_dates(wanted, reference):
        if found.text == wanted:
            return found.value
    return None


def iso_date(value: object) -> date | None:
    """A date stored as ``YYYY-MM-DD`` (JSON, a form), or None when absent or not one."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def format_date(value: date) -> str:
    """``12 March 2025``: how RMA writes a date."""
    return f"{value.day} {MONTH_NAMES[value.month]} {value.year}"


def ordinal(day: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``: a day of the month as spoken."""
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def ordinal_day(text: str) -> int | None:
    """The day of the month in ``"9th"``, ``"31st"`` or ``"9"``; None if it is not one."""
    m = _ORDINAL_DAY.fullmatch(text.strip())
    if m is None or not 1 <= int(m.group(1)) <= 31:
        return None
    return int(m.group(1))


# ------------------------------------------------------------------------------ periods

_RANGE_BETWEEN = re.compile(r"\s*(?:–|-|—|to|and)\s*", re.IGNORECASE)
_FROM_CUE = re.compile(
    r"\b(?:from|since|on or after|with effect from|effective|applies from)\s+$", re.IGNORECASE
)
_UNTIL_CUE = re.compile(r"\b(?:before|until|up to|prior to)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """When something applies, as a text states it: its first day, its last day, how
    precisely the start was given, and every date the text mentions."""

    start: date | None = None
    until: date | None = None
    #: "day" ("from 28 June 2024"), "month" ("from June 2021") or "none" (no start)
    precision: Literal["day", "month", "none"] = "none"
    dates: list[date] = field(default_factory=list)


def _last_day(found: FoundDate) -> date:
    if found.precision == "day":
        return found.value
    days = calendar.monthrange(found.value.year, found.value.month)[1]
    return found.value.replace(day=days)


def read_period(text: str) -> Period:
    """The period ``text`` states: a range ("between October 2015 and June 2021",
    "29 June 2021 – 27 June 2024"), a start ("from", "since", "with effect from") and an
    end ("before", "until": the day before). A month alone starts on its first day and
    ends on its last."""
    found = find_dates(text, months=True)
    start: FoundDate | None = None
    until: date | None = None
    in_range: set[int] = set()
    for first, second in pairwise(found):
        if _RANGE_BETWEEN.fullmatch(text[first.end : second.start]):
            start, until = first, _last_day(second)
            in_range = {first.start, second.start}
            break
    for d in found:
        if d.start in in_range:
            continue
        before = text[: d.start]
        if start is None and _FROM_CUE.search(before):
            start = d
        elif until is None and _UNTIL_CUE.search(before):
            until = d.value - timedelta(days=1)
    return Period(
        start.value if start else None,
        until,
        start.precision if start else "none",
        [d.value for d in found],
    )
