"""Legal limits in Ask the Manuals: the approved table states them, the manuals are evidence.

- :class:`ManualLimits` joins the effective table (:class:`rma.limits.LimitRegister`,
  rebuilt only when a decision is recorded) with the candidates read from each ingested
  manual (:func:`rma.limits.extract.candidates`), and keeps the evidence built from both
  until either changes: which passages support each value, which conflict.
- :func:`values_asked` turns a question's limits and date into the values to state, each
  with its instrument and (when a manual supports it) a passage to cite;
  :func:`check_against_limits` compares the question's own figures with them in code.
- The response models of the ``/limits`` routes, and of ``/thresholds`` in its old shape.

What it refuses: a figure read from a manual is never stated as a limit. A manual that
contradicts the table shows up as a conflict (and as a warning on answers that use it);
only an approval through the register changes what is stated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_serializer

from rma.config import Settings
from rma.db import Database, ensure_current
from rma.limits.changes import LimitRegister
from rma.limits.conflicts import Candidate, Finding
from rma.limits.evidence import LimitEvidence
from rma.limits.extract import Figure, find_figures, read_sentence
from rma.limits.questions import SCHEMES, LimitQuestion
from rma.limits.table import LimitRow, LimitTable, LimitValue, NoValueInForce, shipped_table
from rma.text import format_date

Status = Literal["current", "historical", "upcoming"]

# -------------------------------------------------------------------------- the state


class ManualLimits:
    """The effective table and the manuals' candidates, and the evidence they make.

    ``await evidence()`` checks the register for a new decision (one indexed query) and
    rebuilds the evidence only when the table, the manuals or the date has changed."""

    def __init__(
        self,
        candidates: Callable[[], tuple[int, list[Candidate]]],
        register: LimitRegister | None = None,
        *,
        table: LimitTable | None = None,
    ) -> None:
        self.register = register
        self._table = table or (register.shipped if register else shipped_table())
        self._candidates = candidates
        self._evidence: LimitEvidence | None = None
        self._built_for: tuple[int, int, date] | None = None

    async def table(self) -> LimitTable:
        return await self.register.table() if self.register else self._table

    async def evidence(self) -> LimitEvidence:
        table = await self.table()
        version, found = self._candidates()
        key = (id(table), version, date.today())
        if self._evidence is None or key != self._built_for:
            self._evidence = await asyncio.to_thread(LimitEvidence.build, found, table)
            self._built_for = key
        return self._evidence


async def open_register(settings: Settings) -> tuple[LimitRegister, Database]:
    """The register of approved changes, on the configured database (upgraded to the
    current schema if it is new or behind, unless auto-upgrade is off)."""
    database = Database.from_settings(settings)
    await asyncio.to_thread(
        ensure_current, database.urls, auto_upgrade=settings.rma_database_auto_upgrade
    )
    return LimitRegister(database), database


# ----------------------------------------------------------------- response models


class PassageRecord(BaseModel):
    """A passage of a manual: where it is and the words that state the figure."""

    document_id: str
    document: str
    page: int | None
    heading: str
    quote: str
    chunk_id: str


class ConflictRecord(BaseModel):
    """A figure a manual states that the table does not hold for those dates."""

    name: str
    jurisdiction: str
    value: str
    display: str
    verdict: Literal["stale", "unknown_value", "upcoming"]
    message: str
    stated_from: date | None
    stated_to: date | None
    passage: PassageRecord
    in_force: str | None = Field(description="The table's value on the date in question.")


class LimitRecord(BaseModel):
    """One value of a limit from the approved table, with its dates, status, instrument and
    the passages of the manuals that support it."""

    name: str
    jurisdiction: str
    label: str
    unit: str
    value: str = Field(description="Exact, as a decimal string.")
    display: str
    effective_from: date | None
    effective_to: date | None
    start_recorded: bool
    known_from: date | None
    status: Status
    as_at: date
    statement: str
    source: str = Field(description="The instrument or official source in the table.")
    notes: str
    origin: Literal["shipped", "approved"]
    change_id: int | None
    supporting: list[PassageRecord]


class NoValueRecord(BaseModel):
    name: str
    message: str


class LimitsResponse(BaseModel):
    """Every limit in force on a date (``GET /limits``)."""

    as_at: date
    table_version: str
    table_date: date
    approved_changes: list[int]
    warnings: list[str]
    limits: list[LimitRecord]
    no_value: list[NoValueRecord]
    conflicts: list[ConflictRecord]


class LimitHistoryResponse(BaseModel):
    """One limit: every value it has had, and what the manuals say against it."""

    name: str
    jurisdiction: str
    label: str
    description: str
    unit: str
    comparison: str
    table_version: str
    value: LimitRecord | None = Field(description="The value on ``as_at``, when asked.")
    history: list[LimitRecord]
    conflicts: list[ConflictRecord]


class ConflictsResponse(BaseModel):
    """Open conflicts between the manuals and the table (``GET /limits/conflicts``)."""

    count: int
    conflicts: list[ConflictRecord]


class StatedLimit(LimitRecord):
    """A limit an answer states: the value, the sentence, and the source number it cites
    (None when no passage of the manuals supports it; the instrument is always named)."""

    citation: int | None = None
    passage: PassageRecord | None = None


class LimitCheckRecord(BaseModel):
    """A figure from the question compared, by code, with a limit's value."""

    name: str
    figure: str
    limit: str
    comparison: str
    passes: bool
    as_at: date
    statement: str


def passage_record(candidate: Candidate) -> PassageRecord:
    return PassageRecord(
        document_id=candidate.document_id,
        document=candidate.document,
        page=candidate.page,
        heading=candidate.heading,
        quote=candidate.quote,
        chunk_id=candidate.chunk_id,
    )


def conflict_record(finding: Finding) -> ConflictRecord:
    c = finding.candidate
    return ConflictRecord(
        name=c.name,
        jurisdiction=c.jurisdiction,
        value=str(c.value),
        display=c.display,
        verdict=finding.verdict,  # type: ignore[arg-type]
        message=finding.message,
        stated_from=c.effective_from,
        stated_to=c.effective_to,
        passage=passage_record(c),
        in_force=finding.in_force.display if finding.in_force else None,
    )


def limit_record(value: LimitValue, evidence: LimitEvidence) -> LimitRecord:
    row = value.row
    return LimitRecord(
        name=row.name,
        jurisdiction=row.jurisdiction,
        label=row.label,
        unit=row.unit,
        value=str(row.value),
        display=row.display,
        effective_from=row.effective_from,
        effective_to=row.last_day,
        start_recorded=row.effective_from is not None,
        known_from=row.known_from,
        status=value.status,
        as_at=value.as_at,
        statement=value.statement(),
        source=row.source,
        notes=row.notes,
        origin=row.origin,
        change_id=row.change_id,
        supporting=[passage_record(f.candidate) for f in evidence.supporting(row)],
    )


def limits_on(evidence: LimitEvidence, when: date, jurisdiction: str | None) -> LimitsResponse:
    """Every limit's value on ``when`` (``GET /limits``), with the conflicts open."""
    table = evidence.table
    values, missing = [], []
    for definition in table.definitions():
        if jurisdiction not in (None, definition.jurisdiction):
            continue
        try:
            values.append(table.as_at(definition.name, when, definition.jurisdiction))
        except NoValueInForce as exc:
            missing.append(NoValueRecord(name=definition.name, message=str(exc)))
    return LimitsResponse(
        as_at=when,
        table_version=table.version,
        table_date=table.released,
        approved_changes=list(table.approved_changes),
        warnings=table.warnings,
        limits=[limit_record(v, evidence) for v in values],
        no_value=missing,
        conflicts=[conflict_record(f) for f in evidence.conflicts(jurisdiction=jurisdiction)],
    )


def limit_history(
    evidence: LimitEvidence, name: str, when: date | None, jurisdiction: str
) -> LimitHistoryResponse:
    """One limit's history (``GET /limits/{name}``); UnknownLimit and NoValueInForce are
    404s that say what is known."""
    table = evidence.table
    rows = table.history(name, jurisdiction)
    definition = rows[0].definition
    value = table.as_at(name, when, jurisdiction) if when else None
    return LimitHistoryResponse(
        name=definition.name,
        jurisdiction=definition.jurisdiction,
        label=definition.label,
        description=definition.description,
        unit=definition.unit,
        comparison=definition.comparison,
        table_version=table.version,
        value=limit_record(value, evidence) if value else None,
        history=[limit_record(table.seen_today(r), evidence) for r in rows],
        conflicts=[conflict_record(f) for f in evidence.conflicts(definition.name, jurisdiction)],
    )


# ------------------------------------------------------------- what a question asks


@dataclass
class AskedValue:
    """A value to state for a question, the passage that supports it (if any), and the
    value in force today when this one is not it."""

    value: LimitValue
    support: Finding | None
    current: LimitRow | None
    evidence: LimitEvidence

    def sentence(self, citation: int | None) -> str:
        """The sentence an answer states, built by code: the value, its dates, the
        instrument, and the passage that supports it."""
        row = self.value.row
        text = self.value.statement()
        if self.value.status == "current" and row.effective_from:
            text += f", in force from {format_date(row.effective_from)}"
        text += f" (source: {row.source})"
        if citation is not None:
            text += f" [{citation}]"
        text += "."
        if self.current is not None and self.current is not row:
            today = format_date(self.evidence.today)
            text += f" As at {today}, {row.label} is {self.current.display}."
        return text

    def record(self, citation: int | None) -> StatedLimit:
        base = limit_record(self.value, self.evidence).model_dump()
        base["statement"] = self.sentence(citation)
        passage = passage_record(self.support.candidate) if self.support else None
        return StatedLimit(**base, citation=citation, passage=passage)


def values_asked(
    asked: LimitQuestion, evidence: LimitEvidence, prefer: Iterable[str] = ()
) -> tuple[list[AskedValue], list[str]]:
    """The values to state for a question, and warnings for what cannot be stated (a
    place the table holds nothing for, a date with no value in force)."""
    table, today = evidence.table, evidence.today
    preferred = set(prefer)
    out: list[AskedValue] = []
    warnings: list[str] = []
    if asked.elsewhere and asked.names:
        warnings.append(
            f"RMA's limits table holds figures for England and Wales only; it has none for "
            f"{asked.elsewhere.replace('-', ' ').title()}, so no limit is stated"
        )
        return [], warnings
    for name in asked.names:
        rows = table.history(name)
        current = next((r for r in rows if r.covers(today)), None)
        when = asked.when
        if when is None:
            chosen = [table.as_at(name, today)] if current else []
            if not chosen:
                warnings.append(str(_no_value(table, name, today)))
        elif when.before_now:
            earlier = [r for r in rows if current and r.first_day < current.first_day]
            chosen = [table.seen_today(earlier[-1])] if earlier else []
            if not chosen:
                warnings.append(f"no value of {name} is recorded before the current one")
        else:
            assert when.first and when.last
            last = min(when.last, today) if when.first <= today else when.last
            overlapping = [
                r
                for r in rows
                if r.first_day <= last and (r.last_day is None or r.last_day >= when.first)
            ]
            chosen = [
                table.as_at(name, min(max(when.first, r.first_day), r.last_day or last))
                for r in overlapping
            ]
            if not chosen:
                warnings.append(str(_no_value(table, name, when.first)))
        for value in chosen:
            support = evidence.best_support(value.row, preferred)
            out.append(AskedValue(value, support, current, evidence))
    return out, warnings


def _no_value(table: LimitTable, name: str, when: date) -> NoValueInForce:
    try:
        table.as_at(name, when)
    except NoValueInForce as exc:
        return exc
    return NoValueInForce(f"no value of {name} in force on {format_date(when)}")


# ------------------------------------------------------------------- limit checks


@dataclass
class LimitCheck:
    """A figure from the question compared, by code, with a limit's value on a date."""

    value: LimitValue
    figure: Figure
    passes: bool

    def statement(self) -> str:
        words = {
            ("at_most", True): "is within",
            ("at_most", False): "is over",
            ("less_than", True): "is under",
            ("less_than", False): "is not under",
            ("at_least", True): "meets",
            ("at_least", False): "is below",
        }[(self.value.row.definition.comparison, self.passes)]
        return (
            f"{self.figure.text} {words} {self.value.label}, which is {self.value.display} "
            f"as at {format_date(self.value.as_at)}"
        )

    def sentence(self, citation: int | None) -> str:
        """The statement as an answer gives it, citing the passage of its limit (if any)."""
        return f"{self.statement()}" + (f" [{citation}]." if citation is not None else ".")

    def record(self) -> LimitCheckRecord:
        return LimitCheckRecord(
            name=self.value.name,
            figure=self.figure.text,
            limit=self.value.display,
            comparison=self.value.row.definition.comparison,
            passes=self.passes,
            as_at=self.value.as_at,
            statement=self.statement(),
        )


def check_against_limits(question: str, values: list[LimitValue]) -> list[LimitCheck]:
    """Compare each figure in the question with the limit it is about: the one the
    figure's own words name ("debts of £31,000", "a car worth 3.5k"), or the only limit in
    play in its unit. Limits that are not a cap or a floor are not compared."""
    schemes = {name for name, rx in SCHEMES.items() if rx.search(question)}
    readings = {r.figure.start: r for r in read_sentence(question, schemes)}
    checks = []
    for figure in find_figures(question):
        named = readings.get(figure.start)
        for value in values:
            rule = value.row.definition.comparison
            if rule == "none" or not _same_kind(figure.unit, value.unit):
                continue
            if named and named.name and named.name != value.name and len(values) > 1:
                continue
            in_months = (figure.unit, value.unit) == ("years", "months")
            amount = figure.value * 12 if in_months else figure.value
            passes = {
                "at_most": amount <= value.value,
                "less_than": amount < value.value,
                "at_least": amount >= value.value,
            }[rule]
            checks.append(LimitCheck(value, figure, passes))
    return checks


def _same_kind(a: str, b: str) -> bool:
    money = ("GBP", "GBP/month")
    return a == b or (a in money and b in money) or {a, b} == {"years", "months"}


# ---------------------------------------------------------- /thresholds, old shape


class ThresholdSource(BaseModel):
    """Where a value is stated in the manuals (empty when no manual supports it)."""

    document_id: str = ""
    document: str = ""
    page: int | None = None
    heading: str = ""
    quote: str = ""
    chunk_id: str = ""


class Threshold(BaseModel):
    """A limit's value in the shape ``GET /thresholds`` has always had; the value now
    comes from the approved table and ``source`` is a passage that supports it."""

    name: str
    label: str
    value: Decimal
    unit: str
    display: str
    effective_from: date | None
    effective_until: date | None
    status: Status
    jurisdiction: str
    source: ThresholdSource
    instrument: str
    also_stated_in: list[str] = Field(default_factory=list)

    @field_serializer("value")
    def _number(self, value: Decimal) -> int | float:
        return float(value) if value % 1 else int(value)


class ThresholdBook(BaseModel):
    """``GET /thresholds``: every value of every limit, as the table has them."""

    thresholds: list[Threshold]
    warnings: list[str]
    moved_to: str = "/limits"


def threshold_book(evidence: LimitEvidence, status: Status | None = None) -> ThresholdBook:
    table = evidence.table
    out = []
    for row in table.sorted_rows():
        value = table.seen_today(row)
        if status not in (None, value.status):
            continue
        found = evidence.supporting(row)
        best = evidence.best_support(row)
        out.append(
            Threshold(
                name=row.name,
                label=row.label,
                value=row.value,
                unit=row.unit,
                display=row.display,
                effective_from=row.effective_from,
                effective_until=row.last_day,
                status=value.status,
                jurisdiction=table.jurisdictions.get(row.jurisdiction, row.jurisdiction),
                source=ThresholdSource(**passage_record(best.candidate).model_dump())
                if best
                else ThresholdSource(),
                instrument=row.source,
                also_stated_in=sorted(
                    {f.candidate.document for f in found}
                    - {best.candidate.document if best else ""}
                ),
            )
        )
    return ThresholdBook(thresholds=out, warnings=table.warnings)


__all__ = [
    "AskedValue",
    "ConflictRecord",
    "LimitCheck",
    "LimitRecord",
    "ManualLimits",
    "StatedLimit",
    "check_against_limits",
    "limit_history",
    "limits_on",
    "open_register",
    "threshold_book",
    "values_asked",
]
