"""The table of legal limits: dated rows, their validation and the as-at lookup.

A :class:`LimitTable` holds every period of every limit (past, current and announced),
never only the latest. It is built from the table shipped in the package
(``table.toml``), then from the approved changes in the database (:mod:`rma.limits.changes`);
both go through the same validation, so an approved change cannot leave two values in
force on one day. Lookups are by name, date and jurisdiction and never guess: a date no
row covers is an error that says what is recorded.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from rma import constants as C
from rma.errors import ConfigError, NotFound
from rma.text import format_date, format_money

Unit = Literal["GBP", "GBP/month", "days", "months", "years", "percent"]
UNITS: tuple[str, ...] = get_args(Unit)
# How a client's figure is compared with the limit ("none": not a cap or a floor).
Comparison = Literal["at_most", "less_than", "at_least", "none"]
COMPARISONS: tuple[str, ...] = get_args(Comparison)
Status = Literal["current", "historical", "upcoming"]
Origin = Literal["shipped", "approved"]
SHIPPED = Path(__file__).with_name("table.toml")
UNKNOWN_START = "unknown-start"
# Names the limits had before the canonical ones; a caller may still use them.
RENAMED: dict[str, str] = {
    "dro.max_surplus_income": "dro.surplus_income",
    "dro.max_assets": "dro.assets",
    "dro.vehicle_disregard": "dro.vehicle",
    "bankruptcy.creditor_petition_deposit": "bankruptcy.petition_deposit",
    "iva.approval_majority": "iva.approval_share",
}


def canonical_name(name: str) -> str:
    """The limit's name today (``dro.max_assets`` is ``dro.assets``)."""
    return RENAMED.get(name, name)


class LimitTableError(ConfigError):
    """A table that cannot be trusted: every problem found, one per line."""

    def __init__(self, problems: list[str], where: str = "the limits table") -> None:
        super().__init__(f"{where} is not valid:\n  " + "\n  ".join(problems))
        self.problems = problems


class UnknownLimit(NotFound):
    """No limit of that name (or jurisdiction); the message names the known ones."""


class NoValueInForce(NotFound):
    """The limit exists, but no recorded value covers that date."""


# ------------------------------------------------------------------------------ wording


def display_value(value: Decimal, unit: str) -> str:
    """£50,000, £75 a month, 60 days, 12 months, 3 years, 75%."""
    if unit in ("GBP", "GBP/month"):
        money = format_money(value)
        return f"{money} a month" if unit == "GBP/month" else money
    if unit == "percent":
        return f"{value.normalize():f}%"
    word = unit.removesuffix("s") if value == 1 else unit
    return f"{value.normalize():f} {word}"


# -------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class LimitDefinition:
    """What a limit is, apart from its values."""

    name: str
    jurisdiction: str
    label: str
    description: str
    unit: Unit
    comparison: Comparison
    sum_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitRow:
    """One period in which one value of a limit was, is or will be in force.

    ``effective_from`` None: the start is not recorded, and ``known_from`` is the earliest
    day the source vouches for. ``effective_to`` None: in force until a later value, unless
    ``to_unknown`` (the end is not recorded; ``known_to`` is the last day vouched for).
    """

    definition: LimitDefinition
    value: Decimal
    effective_from: date | None
    effective_to: date | None
    source: str
    notes: str = ""
    known_from: date | None = None
    to_unknown: bool = False
    known_to: date | None = None
    gap_before: str = ""
    origin: Origin = "shipped"
    change_id: int | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def jurisdiction(self) -> str:
        return self.definition.jurisdiction

    @property
    def label(self) -> str:
        return self.definition.label

    @property
    def unit(self) -> Unit:
        return self.definition.unit

    @property
    def key(self) -> str:
        """How a correction names this row: its first day, or ``unknown-start``."""
        return self.effective_from.isoformat() if self.effective_from else UNKNOWN_START

    @property
    def first_day(self) -> date:
        """The first day a lookup finds this value."""
        first = self.effective_from or self.known_from
        assert first is not None  # validation requires one of them
        return first

    @property
    def last_day(self) -> date | None:
        """The last day a lookup finds this value; None: no end."""
        return self.known_to if self.to_unknown else self.effective_to

    def facts(self) -> tuple[Any, ...]:
        """What the row states (value and dates), apart from where it came from."""
        return (self.value, self.effective_from, self.known_from, self.last_day, self.to_unknown)

    def covers(self, when: date) -> bool:
        return self.first_day <= when and (self.last_day is None or when <= self.last_day)

    def status(self, today: date) -> Status:
        if self.first_day > today:
            return "upcoming"
        if self.last_day is not None and self.last_day < today:
            return "historical"
        return "current"

    @property
    def display(self) -> str:
        return display_value(self.value, self.unit)

    def period(self) -> str:
        """The dates in words: "from 29 June 2021 to 27 June 2024"."""
        if self.to_unknown:
            in_force = format_date(self.last_day or self.first_day)
            end = f"to a date not recorded (in force on {in_force})"
        else:
            end = f"to {format_date(self.effective_to)}" if self.effective_to else ""
        if self.effective_from:
            return f"from {format_date(self.effective_from)} {end}".strip()
        known = f"start not recorded; in force by {format_date(self.first_day)}"
        if self.effective_to and not self.to_unknown:
            return f"until {format_date(self.effective_to)} ({known})"
        return f"from a date not recorded (in force by {format_date(self.first_day)}) {end}".strip()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "label": self.label,
            "unit": self.unit,
            "value": str(self.value),
            "display": self.display,
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
            "start_recorded": self.effective_from is not None,
            "known_from": _iso(self.known_from),
            "end_recorded": not self.to_unknown,
            "known_to": _iso(self.known_to),
            "source": self.source,
            "notes": self.notes,
            "origin": self.origin,
            "change_id": self.change_id,
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class LimitValue:
    """The answer to "what was NAME on WHEN?": the row in force, the date asked about, and
    the row's status today. ``statement()`` is the sentence an answer or letter uses."""

    row: LimitRow
    as_at: date
    status: Status
    table_version: str

    @property
    def name(self) -> str:
        return self.row.name

    @property
    def label(self) -> str:
        return self.row.label

    @property
    def value(self) -> Decimal:
        return self.row.value

    @property
    def unit(self) -> Unit:
        return self.row.unit

    @property
    def display(self) -> str:
        return self.row.display

    @property
    def effective_from(self) -> date | None:
        return self.row.effective_from

    @property
    def effective_to(self) -> date | None:
        return self.row.effective_to

    @property
    def source(self) -> str:
        return self.row.source

    @property
    def origin(self) -> Origin:
        return self.row.origin

    def statement(self) -> str:
        """ "As at 28 June 2024, the DRO debt limit is £50,000", "From 29 June 2021 to
        27 June 2024 the DRO debt limit was £30,000", "From 1 April 2027 ... will be ..." """
        row = self.row
        if self.status == "current":
            return f"As at {format_date(self.as_at)}, {row.label} is {row.display}"
        verb = "was" if self.status == "historical" else "will be"
        period = row.period()
        return f"{period[0].upper()}{period[1:]} {row.label} {verb} {row.display}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.row.as_dict(),
            "as_at": self.as_at.isoformat(),
            "status": self.status,
            "statement": self.statement(),
            "table_version": self.table_version,
        }


# ------------------------------------------------------------------------------- table


@dataclass(frozen=True)
class ValueChange:
    """One limit's value on two dates (or in two tables): before, after, or either missing."""

    name: str
    jurisdiction: str
    before: LimitRow | None
    after: LimitRow | None

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


@dataclass
class LimitTable:
    """Every row of every limit, validated, with lookups by name, date and jurisdiction."""

    rows: list[LimitRow]
    version: str
    released: date  # the table's own date
    jurisdictions: Mapping[str, str]
    approved_changes: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        problems = validate(self.rows, self.jurisdictions)
        if problems:
            raise LimitTableError(problems)
        self._by_key: dict[tuple[str, str], list[LimitRow]] = {}
        for row in sorted(self.rows, key=lambda r: (r.name, r.jurisdiction, r.first_day)):
            self._by_key.setdefault((row.name, row.jurisdiction), []).append(row)
        self._starts = {k: [r.first_day for r in rows] for k, rows in self._by_key.items()}

    # -------------------------------------------------------------------- look-ups

    def names(self, jurisdiction: str | None = None) -> list[str]:
        return sorted({n for n, j in self._by_key if jurisdiction in (None, j)})

    def definitions(self) -> list[LimitDefinition]:
        return [rows[0].definition for _, rows in sorted(self._by_key.items())]

    def definition(self, name: str, jurisdiction: str = C.DEFAULT_JURISDICTION) -> LimitDefinition:
        return self._rows(name, jurisdiction)[0].definition

    def history(self, name: str, jurisdiction: str = C.DEFAULT_JURISDICTION) -> list[LimitRow]:
        """Every value of one limit, oldest first."""
        return list(self._rows(name, jurisdiction))

    def as_at(
        self,
        name: str,
        when: date | None = None,
        jurisdiction: str = C.DEFAULT_JURISDICTION,
        *,
        today: date | None = None,
    ) -> LimitValue:
        """The value of ``name`` in force on ``when`` (default: today)."""
        today = today or date.today()
        when = when or today
        name = canonical_name(name)
        rows = self._rows(name, jurisdiction)
        i = bisect.bisect_right(self._starts[(name, jurisdiction)], when) - 1
        if i >= 0 and rows[i].covers(when):
            return LimitValue(rows[i], when, rows[i].status(today), self.version)
        raise NoValueInForce(_no_value(rows, i, when))

    def at(
        self,
        when: date | None = None,
        jurisdiction: str | None = None,
        *,
        today: date | None = None,
    ) -> list[LimitValue]:
        """Every limit's value in force on ``when`` (default: today); limits with no value
        on that date are left out."""
        today = today or date.today()
        when = when or today
        found = []
        for (_, where), rows in sorted(self._by_key.items()):
            if jurisdiction in (None, where):
                row = next((r for r in rows if r.covers(when)), None)
                if row is not None:
                    found.append(LimitValue(row, when, row.status(today), self.version))
        return found

    def current(
        self, jurisdiction: str | None = None, *, today: date | None = None
    ) -> list[LimitValue]:
        """Every limit's value in force today."""
        return self.at(None, jurisdiction, today=today)

    def seen_today(self, row: LimitRow, today: date | None = None) -> LimitValue:
        """A row as a value, dated so its statement reads right today."""
        today = today or date.today()
        when = min(max(today, row.first_day), row.last_day or today)
        return LimitValue(row, when, row.status(today), self.version)

    # ---------------------------------------------------------------------- diffs

    def changes_between(
        self, first: date, second: date, jurisdiction: str | None = None
    ) -> list[ValueChange]:
        """Limits whose value in force on ``first`` differs from that on ``second``."""
        out = []
        for (name, where), rows in sorted(self._by_key.items()):
            if jurisdiction not in (None, where):
                continue
            before = next((r for r in rows if r.covers(first)), None)
            after = next((r for r in rows if r.covers(second)), None)
            if before is not after:
                out.append(ValueChange(name, where, before, after))
        return out

    def diff(self, other: LimitTable) -> list[ValueChange]:
        """Rows of this table that ``other`` lacks or has differently, row by row (a table
        version against another: the shipped table against the effective one)."""

        def keyed(table: LimitTable) -> dict[tuple[str, str, str], LimitRow]:
            return {(r.name, r.jurisdiction, r.key): r for r in table.rows}

        mine, theirs = keyed(self), keyed(other)
        out = []
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key), theirs.get(key)
            if a is None or b is None or a.facts() != b.facts():
                out.append(ValueChange(key[0], key[1], a, b))
        return out

    def _rows(self, name: str, jurisdiction: str) -> list[LimitRow]:
        name = canonical_name(name)
        rows = self._by_key.get((name, jurisdiction))
        if rows is not None:
            return rows
        if jurisdiction not in self.jurisdictions:
            known = ", ".join(sorted(self.jurisdictions))
            raise UnknownLimit(
                f"no limits are recorded for jurisdiction {jurisdiction!r}; known: {known}"
            )
        names = self.names(jurisdiction)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownLimit(f"unknown limit {name!r}{hint}; known limits: {', '.join(names)}")

    def as_dict(self, *, today: date | None = None) -> dict[str, Any]:
        return {
            "version": self.version,
            "date": self.released.isoformat(),
            "approved_changes": list(self.approved_changes),
            "warnings": self.warnings,
            "limits": [self.seen_today(r, today).as_dict() for r in self.sorted_rows()],
        }

    def sorted_rows(self) -> list[LimitRow]:
        return [r for _, rows in sorted(self._by_key.items()) for r in rows]


def _no_value(rows: list[LimitRow], i: int, when: date) -> str:
    name = rows[0].name
    head = f"no value of {name} in force on {format_date(when)}"
    if i < 0:
        first = rows[0]
        if first.effective_from is None:
            known = format_date(first.first_day)
            return f"{head}: the first value's start is not recorded; it is in force from {known}"
        return f"{head}: the earliest recorded value is from {format_date(first.first_day)}"
    row = rows[i]
    if i + 1 < len(rows) and rows[i + 1].gap_before:
        return f"{head}: {rows[i + 1].gap_before}"
    if row.to_unknown:
        return f"{head}: the value from {format_date(row.first_day)} ended on a date not recorded"
    return f"{head}: no value is recorded after {format_date(row.last_day or when)}"


# -------------------------------------------------------------------------- validation


def validate(rows: Iterable[LimitRow], jurisdictions: Mapping[str, str]) -> list[str]:
    """Every reason these rows cannot be trusted as a table; empty when they can."""
    problems: list[str] = []
    groups: dict[tuple[str, str], list[LimitRow]] = {}
    for row in rows:
        groups.setdefault((row.name, row.jurisdiction), []).append(row)
    for (name, where), group in sorted(groups.items()):
        problems.extend(f"{name} ({where}): {p}" for p in _validate_limit(group, jurisdictions))
    if not problems:  # sums are checked on rows that are sound on their own
        problems.extend(_validate_sums(groups))
    return problems


def _validate_limit(rows: list[LimitRow], jurisdictions: Mapping[str, str]) -> list[str]:
    problems = []
    definition = rows[0].definition
    if definition.jurisdiction not in jurisdictions:
        problems.append(f"unknown jurisdiction; known: {', '.join(sorted(jurisdictions))}")
    if definition.unit not in UNITS:
        problems.append(f"unknown unit {definition.unit!r}; known: {', '.join(UNITS)}")
    if definition.comparison not in COMPARISONS:
        problems.append(f"unknown comparison {definition.comparison!r}")
    if not definition.label.strip():
        problems.append("no label")
    if any(r.definition != definition for r in rows):
        problems.append("rows disagree on the label, unit or comparison")
    undated = [r for r in rows if r.effective_from is None and r.known_from is None]
    problems.extend(
        f"value {r.display}: start not recorded and no known_from date" for r in undated
    )
    rows = [r for r in rows if r not in undated]
    for row in rows:
        where = f"value {row.display} {row.period()}"
        if row.value < 0:
            problems.append(f"{where}: negative")
        if row.effective_from is not None and row.known_from is not None:
            problems.append(f"{where}: known_from is only for a start that is not recorded")
        if row.to_unknown and row.known_to is None:
            problems.append(f"{where}: end not recorded and no known_to date")
        if row.last_day is not None and row.last_day < row.first_day:
            problems.append(f"{where}: ends before it starts")
        if not row.source.strip():
            problems.append(f"{where}: no source")
        if (row.effective_from is None or row.to_unknown) and not row.notes.strip():
            problems.append(f"{where}: a date is not recorded, and the notes do not say why")
    ordered = sorted(rows, key=lambda r: r.first_day)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.last_day is None or earlier.last_day >= later.first_day:
            problems.append(
                f"{earlier.display} {earlier.period()} overlaps {later.display} {later.period()}"
            )
        elif earlier.last_day + timedelta(days=1) != later.first_day and not later.gap_before:
            problems.append(
                f"no value from {format_date(earlier.last_day + timedelta(days=1))} to "
                f"{format_date(later.first_day - timedelta(days=1))}, and no gap_before explains it"
            )
        if later.effective_from is None:
            problems.append(f"{later.display}: only the first value may have an unrecorded start")
        if earlier.to_unknown:
            problems.append(f"{earlier.display}: only the last value may have an unrecorded end")
    return problems


def _validate_sums(groups: dict[tuple[str, str], list[LimitRow]]) -> list[str]:
    """A limit declared as the sum of others equals their sum on every day any of them
    changes (the bankruptcy application fee is the adjudicator's fee plus the deposit)."""
    problems = []
    for (name, where), rows in sorted(groups.items()):
        parts = rows[0].definition.sum_of
        if not parts:
            continue
        missing = [p for p in parts if (p, where) not in groups]
        if missing:
            problems.append(f"{name} ({where}): sum_of names unknown limits {missing}")
            continue
        every = rows + [r for p in parts for r in groups[(p, where)]]
        for day in sorted({r.first_day for r in every}):
            total = next((r for r in rows if r.covers(day)), None)
            found = [next((r for r in groups[(p, where)] if r.covers(day)), None) for p in parts]
            if total is None and not any(found):
                continue
            if total is None or not all(found):
                problems.append(
                    f"{name} ({where}): on {format_date(day)} the total and its parts are not "
                    "all in force"
                )
            elif total.value != sum((f.value for f in found if f), Decimal(0)):
                shown = " + ".join(f.display for f in found if f)
                problems.append(
                    f"{name} ({where}): on {format_date(day)} {total.display} is not {shown}"
                )
    return problems


# ----------------------------------------------------------------------------- loading


def parse_table(text: str, where: str = "the limits table") -> LimitTable:
    """A table from TOML text in the shipped format; every problem reported at once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LimitTableError([str(exc)], where) from None
    problems: list[str] = []
    unknown = set(data) - {"version", "date", "jurisdictions", "limit"}
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    version, when = data.get("version"), data.get("date")
    if not isinstance(version, str) or not version:
        problems.append("version: a non-empty string is required")
    if not isinstance(when, date):
        problems.append("date: a date (YYYY-MM-DD) is required")
    jurisdictions = data.get("jurisdictions")
    if not isinstance(jurisdictions, dict) or not jurisdictions:
        problems.append("[jurisdictions]: at least one is required")
        jurisdictions = {}
    rows: list[LimitRow] = []
    seen: set[tuple[str, str]] = set()
    for n, spec in enumerate(data.get("limit", []), 1):
        rows.extend(_parse_limit(spec, n, seen, problems))
    if problems:
        raise LimitTableError(problems, where)
    try:
        return LimitTable(rows, str(version), when, dict(jurisdictions))  # type: ignore[arg-type]
    except LimitTableError as exc:
        raise LimitTableError(exc.problems, where) from None


_LIMIT_KEYS = {
    "name",
    "jurisdiction",
    "label",
    "description",
    "unit",
    "comparison",
    "sum_of",
    "value",
}
_VALUE_KEYS = {"value", "from", "to", "known_from", "known_to", "source", "notes", "gap_before"}


def _parse_limit(
    spec: dict[str, Any], n: int, seen: set[tuple[str, str]], problems: list[str]
) -> list[LimitRow]:
    name = spec.get("name")
    where = f"limit {n} ({name})" if name else f"limit {n}"
    if set(spec) - _LIMIT_KEYS:
        problems.append(f"{where}: unknown keys {sorted(set(spec) - _LIMIT_KEYS)}")
    for key in ("name", "jurisdiction", "label", "unit", "comparison"):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            problems.append(f"{where}: {key} is required")
    if problems and any(p.startswith(where) for p in problems):
        return []
    if spec["unit"] not in UNITS:
        problems.append(f"{where}: unknown unit {spec['unit']!r}; known: {', '.join(UNITS)}")
    if spec["comparison"] not in COMPARISONS:
        problems.append(
            f"{where}: unknown comparison {spec['comparison']!r}; known: {', '.join(COMPARISONS)}"
        )
    identity = (spec["name"], spec["jurisdiction"])
    if identity in seen:
        problems.append(f"{where}: {spec['name']} ({spec['jurisdiction']}) is defined twice")
    seen.add(identity)
    definition = LimitDefinition(
        spec["name"], spec["jurisdiction"], spec["label"], spec.get("description", ""),
        spec["unit"], spec["comparison"], tuple(spec.get("sum_of", ())),
    )  # fmt: skip
    values = spec.get("value", [])
    if not values:
        problems.append(f"{where}: no values")
    rows = []
    for i, item in enumerate(values, 1):
        row = _parse_value(definition, item, f"{where}, value {i}", problems)
        if row is not None:
            rows.append(row)
    return rows


def _parse_value(
    definition: LimitDefinition, item: dict[str, Any], where: str, problems: list[str]
) -> LimitRow | None:
    found = len(problems)
    if set(item) - _VALUE_KEYS:
        problems.append(f"{where}: unknown keys {sorted(set(item) - _VALUE_KEYS)}")
    raw = item.get("value")
    value = None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        problems.append(f"{where}: value must be a whole number or a quoted decimal, not {raw!r}")
    else:
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            problems.append(f"{where}: value {raw!r} is not a number")
    start, end = item.get("from"), item.get("to")
    if not (isinstance(start, date) or start == "unknown"):
        problems.append(f'{where}: from must be a date or "unknown"')
    if not (end is None or isinstance(end, date) or end == "unknown"):
        problems.append(f'{where}: to must be a date, "unknown" or left out')
    for key in ("known_from", "known_to"):
        if key in item and not isinstance(item[key], date):
            problems.append(f"{where}: {key} must be a date")
    if len(problems) > found or value is None:
        return None
    return LimitRow(
        definition=definition,
        value=value,
        effective_from=start if isinstance(start, date) else None,
        effective_to=end if isinstance(end, date) else None,
        source=str(item.get("source", "")),
        notes=str(item.get("notes", "")),
        known_from=item.get("known_from"),
        to_unknown=end == "unknown",
        known_to=item.get("known_to"),
        gap_before=str(item.get("gap_before", "")),
    )


def load_table(path: Path) -> LimitTable:
    return parse_table(path.read_text(encoding="utf-8"), str(path.name))


@lru_cache(maxsize=1)
def shipped_table() -> LimitTable:
    """The table that ships with this version of RMA (validated once per process)."""
    return load_table(SHIPPED)


def with_rows(
    table: LimitTable, rows: list[LimitRow], approved: tuple[int, ...], warnings: list[str]
) -> LimitTable:
    """A table like ``table`` with other rows (validated again)."""
    return LimitTable(rows, table.version, table.released, table.jurisdictions, approved, warnings)


__all__ = [
    "RENAMED",
    "LimitDefinition",
    "LimitRow",
    "LimitTable",
    "LimitTableError",
    "LimitValue",
    "NoValueInForce",
    "UnknownLimit",
    "ValueChange",
    "canonical_name",
    "display_value",
    "load_table",
    "parse_table",
    "shipped_table",
]
