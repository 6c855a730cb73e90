"""Named limits (the DRO debt limit, the bankruptcy fee...) read from the manuals, with dates.

Manuals mix current and historical figures in one paragraph. The :class:`ThresholdExtractor`
works in three steps, and only the middle one may involve a model:

1. **Candidates, by code.** Each sentence with a figure is matched against the named
   limits in :data:`SPECS` (topic, subject and unit) and its dates are read: "from 28 June
   2024", "before 28 June 2024", "between October 2015 and June 2021".
2. **Classification.** By rules (the default: deterministic), or by the model with
   structured output. A model label is kept only if code can confirm it: the name must be
   one the sentence matched and the date must appear in the quote.
3. **Verification and resolution, by code.** The value must occur in the quote and the
   quote in the stored chunk. Conflicting values for one limit are settled by effective
   date, never by which was read first: the latest date in force is current, earlier ones
   are historical, worked examples are marked as examples.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, create_model, field_serializer

from rma.errors import RMAError
from rma.limits.table import display_value
from rma.llm.router import ProviderRouter
from rma.llm.types import Message
from rma.rag.manuals import ManualChunk, split_sentences
from rma.text import find_dates, find_money, format_date, read_period

# "upcoming": stated with a start date after today (a change announced in advance).
Status = Literal["current", "upcoming", "historical", "example"]
Unit = Literal["GBP", "GBP/month", "days", "percent"]
JURISDICTION = "England and Wales"
MODEL_CONCURRENCY = 8


@dataclass(frozen=True)
class ThresholdSpec:
    """A named limit and how to recognise a sentence about it."""

    name: str
    label: str
    unit: Unit
    topic: str
    subject: str
    exclude: str = ""
    # how a client's figure is compared with the limit ("" when it is not a cap or floor)
    rule: Literal["", "at_most", "less_than", "at_least"] = ""

    def about(self, clause: str, sentence: str, context: str, section: str) -> bool:
        """Does this figure's clause state this limit? The topic may come from the title
        and headings (``context``); the subject from the clause or its own section title."""
        if not re.search(self.topic, f"{sentence} {context}", re.I):
            return False
        if self.exclude and re.search(self.exclude, clause, re.I):
            return False
        return bool(re.search(self.subject, clause, re.I) or re.search(self.subject, section, re.I))


SPECS: tuple[ThresholdSpec, ...] = (
    ThresholdSpec(
        "dro.max_debt",
        "the DRO debt limit (total qualifying debts)",
        "GBP",
        r"\bDROs?\b|debt relief order",
        r"\bdebts?\b|\bowes?\b",
        r"asset|income|vehicle|\bcar\b|fee|deposit|surplus|petition",
        rule="at_most",
    ),
    ThresholdSpec(
        "dro.max_surplus_income",
        "the DRO surplus income limit",
        "GBP/month",
        r"\bDROs?\b|debt relief order",
        r"surplus|disposable income",
        r"asset|vehicle|\bcar\b|fee",
        rule="at_most",
    ),
    ThresholdSpec(
        "dro.max_assets",
        "the DRO assets limit",
        "GBP",
        r"\bDROs?\b|debt relief order",
        r"\bassets?\b",
        r"vehicle|\bcar\b|motor|income|fee",
        rule="at_most",
    ),
    ThresholdSpec(
        "dro.vehicle_disregard",
        "the DRO motor vehicle disregard (vehicle worth less than)",
        "GBP",
        r"\bDROs?\b|debt relief order",
        r"vehicle|\bcar\b|motor",
        r"income|fee",
        rule="less_than",
    ),
    ThresholdSpec(
        "bankruptcy.application_fee",
        "the cost of a bankruptcy application (debtor's own)",
        "GBP",
        r"bankrupt",
        r"appl(y|ies|ication)|costs?\b|in total",
        r"adjudicator's fee|adjudicator fee|\bdeposit\b|petition",
    ),
    ThresholdSpec(
        "bankruptcy.creditor_petition_min",
        "the minimum debt for a creditor's bankruptcy petition",
        "GBP",
        r"bankrupt|petition",
        r"petition",
        r"deposit|fee",
        rule="at_least",
    ),
    ThresholdSpec(
        "bankruptcy.creditor_petition_deposit",
        "the creditor's bankruptcy petition deposit",
        "GBP",
        r"bankrupt|petition",
        r"petition deposit|\bdeposit\b",
        r"adjudicator|£550|\bown bankruptcy\b",
    ),
    ThresholdSpec(
        "breathing_space.standard_days",
        "the length of a standard breathing space",
        "days",
        r"breathing space|debt respite",
        r"standard|lasts",
        r"mental health|crisis|\bday of\b|review",
    ),
    ThresholdSpec(
        "iva.approval_majority",
        "the share of creditors (by value of those voting) needed to approve an IVA",
        "percent",
        r"\bIVAs?\b|individual voluntary arrangement",
        r"approv|agree",
        r"against|unconnected",
    ),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}

EXAMPLE_RE = re.compile(
    r"\bfor example\b|\be\.g\.|\bfor instance\b|\bsuppose\b|\bimagine\b|\binvented\b", re.I
)
OLD_RE = re.compile(r"\b(old|previous|former|earlier( still)?|used to be)\b", re.I)
DAYS_RE = re.compile(r"\b(\d{1,3})\s+days\b", re.I)
PERCENT_RE = re.compile(r"\b(\d{1,3}(?:\.\d+)?)\s?%")
MONTHLY_RE = re.compile(r"\ba month\b|\bper month\b|\bmonthly\b|\beach month\b", re.I)
_CLAUSE_SPLIT = re.compile(
    r";|\(|\)|,\s+(?=(?:and|but|which|while|a figure)\b)|,\s+(?=has\b)"
    r"|\s+and\s+(?=(?:the|a|an|it)\s)"
)


@dataclass(frozen=True)
class Figure:
    value: Decimal
    unit: Unit
    text: str
    start: int
    end: int


@dataclass
class Candidate:
    """A figure in a sentence that may state a named limit (found by code)."""

    names: list[str]
    figure: Figure
    quote: str
    chunk: ManualChunk
    effective_from: date | None
    effective_until: date | None
    from_precision: Literal["day", "month", "none"]
    example: bool
    marked_old: bool
    dates_in_quote: list[date]


class ThresholdSource(BaseModel):
    """Where a threshold was read: the manual, page, heading and the quote itself."""

    document_id: str
    document: str
    page: int | None
    heading: str
    quote: str
    chunk_id: str


class LimitCheckRecord(BaseModel):
    """A figure from a question compared, by code, with the current value of a limit."""

    threshold: str
    figure: str
    limit: str
    rule: str
    passes: bool
    statement: str


class Threshold(BaseModel):
    """A named limit as read from the manuals: value, unit, dates, status and source.

    The value is exact (``Decimal``); it is published as a number, beside ``display``."""

    name: str
    label: str
    value: Decimal
    unit: Unit
    effective_from: date | None
    effective_until: date | None
    status: Status
    jurisdiction: str
    source: ThresholdSource
    classified_by: str = "rules"
    also_stated_in: list[str] = Field(default_factory=list)
    # said to be an old value ("the old limit of ...") without dates: never current
    superseded: bool = Field(default=False, exclude=True)

    @field_serializer("value")
    def _number(self, value: Decimal) -> int | float:
        return float(value) if value % 1 else int(value)

    @computed_field(description="The value as answers state it, e.g. '£50,000'.")  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        return display_value(self.value, self.unit)

    @property
    def display_value(self) -> str:
        return self.display

    def as_at_statement(self) -> str:
        """The sentence an answer uses to state this limit: current value, with its date."""
        when = f"As at {format_date(self.effective_from)}" if self.effective_from else "Currently"
        return f"{when}, {self.label} is {self.display_value}"


class ThresholdBook(BaseModel):
    """Every verified threshold, with current, historical and example values (also what
    ``GET /thresholds`` gives, and what is saved beside the indexes)."""

    thresholds: list[Threshold] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    fingerprint: str = ""

    def current(self, name: str) -> Threshold | None:
        return next((t for t in self.thresholds if t.name == name and t.status == "current"), None)

    def values(self, name: str) -> list[Threshold]:
        return [t for t in self.thresholds if t.name == name]

    def only(self, status: Status | None) -> ThresholdBook:
        """The book with only the values of ``status`` (all of them for None)."""
        kept = [t for t in self.thresholds if status in (None, t.status)]
        return self.model_copy(update={"thresholds": kept})


# ---------------------------------------------------------------------------- figures


def find_figures(text: str) -> list[Figure]:
    """Money, day counts and percentages in ``text``, as exact values."""
    found: list[Figure] = []
    for money in find_money(text):
        after = text[money.end : money.end + 16]
        unit: Unit = "GBP/month" if MONTHLY_RE.search(after) else "GBP"
        found.append(Figure(money.value, unit, money.text, money.start, money.end))
    for m in DAYS_RE.finditer(text):
        found.append(Figure(Decimal(m.group(1)), "days", m.group(0), m.start(), m.end()))
    for m in PERCENT_RE.finditer(text):
        found.append(Figure(Decimal(m.group(1)), "percent", m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def figure_in_text(value: Decimal, unit: str, text: str) -> bool:
    """Does ``text`` state this value in this unit? (the code check behind every figure)"""
    kinds = ("GBP", "GBP/month") if unit in ("GBP", "GBP/month") else (unit,)
    return any(f.value == value and f.unit in kinds for f in find_figures(text))


# --------------------------------------------------------------------------- extractor


class ThresholdLabelBase(BaseModel):
    """What the model is asked for: which limit, which status, from when."""

    status: Literal["current", "historical", "example"]
    effective_from: str | None = Field(None, description="YYYY-MM-DD, or null")


class ThresholdExtractor:
    """Finds, classifies, verifies and dates the named limits in a set of chunks."""

    def __init__(
        self,
        router: ProviderRouter | None = None,
        *,
        classifier: Literal["rules", "model"] = "rules",
        today: date | None = None,
    ) -> None:
        if classifier == "model" and router is None:
            raise ValueError("the model classifier needs the provider router")
        self.router = router
        self.classifier = classifier
        self.today = today

    def candidates(self, chunks: list[ManualChunk]) -> list[Candidate]:
        """Every figure that code can tie to a named limit, with its dates."""
        out: list[Candidate] = []
        for chunk in chunks:
            context = f"{chunk.title} > {chunk.heading}"
            section = chunk.heading_path[-1] if len(chunk.heading_path) > 1 else ""
            heading = read_period(chunk.heading)
            sentences = split_sentences(chunk.text)
            for i, sentence in enumerate(sentences):
                figures = find_figures(sentence)
                for figure in figures:
                    clause = _clause(sentence, figure)
                    names = [
                        s.name
                        for s in SPECS
                        if _unit_fits(s.unit, figure.unit)
                        and s.about(clause, sentence, context, section)
                    ]
                    if not names:
                        continue
                    quote = sentence
                    period = read_period(clause)
                    every = period.dates
                    if period.start is None and period.until is None:
                        # A date in a figure-free clause or the next sentence ("This limit
                        # applies from ...") belongs to this figure when it is the only one.
                        rest = [c for c in _clauses(sentence) if not find_figures(c)]
                        period = read_period(" ".join(rest))
                        follow = sentences[i + 1] if i + 1 < len(sentences) else ""
                        if not (period.start or period.until) and _only_figure(follow, figure):
                            period = read_period(follow)
                            if period.start or period.until:
                                quote = f"{sentence} {follow}"
                        if not (period.start or period.until) and heading.start and figures:
                            period = replace(
                                period, start=heading.start, precision=heading.precision
                            )
                        every = read_period(quote).dates
                    out.append(
                        Candidate(
                            names=names,
                            figure=figure,
                            quote=quote,
                            chunk=chunk,
                            effective_from=period.start,
                            effective_until=period.until,
                            from_precision=period.precision,
                            example=bool(EXAMPLE_RE.search(sentence))
                            or bool(re.search(r"case stud|example", context, re.I)),
                            marked_old=bool(OLD_RE.search(clause)),
                            dates_in_quote=every,
                        )
                    )
        return out

    async def extract(self, chunks: list[ManualChunk], fingerprint: str = "") -> ThresholdBook:
        # Reading and checking the figures is CPU work of seconds for a large library:
        # off the event loop, which other requests wait on.
        found = await asyncio.to_thread(self.candidates, chunks)
        warnings: list[str] = []
        labels: list[tuple[str, bool, str]] = [
            (c.names[0], c.example, "rules") for c in found
        ]  # (name, is example, classified by)
        if self.classifier == "model" and found:
            labels, notes = await self._classify_with_model(found, labels)
            warnings.extend(notes)
        today = self.today or date.today()
        thresholds = await asyncio.to_thread(_verified_and_resolved, found, labels, today, warnings)
        book = ThresholdBook(thresholds=thresholds, warnings=warnings)
        book.fingerprint = fingerprint
        return book

    async def _classify_with_model(
        self, found: list[Candidate], rules: list[tuple[str, bool, str]]
    ) -> tuple[list[tuple[str, bool, str]], list[str]]:
        assert self.router is not None
        router = self.router
        slots = asyncio.Semaphore(MODEL_CONCURRENCY)
        notes: list[str] = []

        async def one(cand: Candidate, fallback: tuple[str, bool, str]) -> tuple[str, bool, str]:
            names: Any = Literal[tuple(cand.names)]  # the names code matched, and only those
            schema = create_model("ThresholdLabel", __base__=ThresholdLabelBase, name=(names, ...))
            prompt = (
                f'A UK debt-advice manual says: "{cand.quote}"\n'
                f"Section: {cand.chunk.heading}\n"
                f"Which limit does the figure {cand.figure.text} state? Choose from "
                f"{', '.join(cand.names)}. Is it the current value, a historical value, or a "
                f"worked example? Give the date it took effect, if the text gives one."
            )
            try:
                async with slots:
                    out = await router.structured([Message.user(prompt)], schema, max_tokens=96)
            except RMAError as exc:
                notes.append(f"model classification failed ({type(exc).__name__}); rules used")
                return fallback
            label = out.value
            claimed = _iso_or_none(label.effective_from)  # type: ignore[attr-defined]
            if (
                claimed is not None
                and claimed not in cand.dates_in_quote
                and claimed != cand.effective_from
            ):
                notes.append(
                    f"model gave {claimed} for {cand.figure.text}, which is not in the quote; "
                    f"rules used"
                )
                return fallback
            return label.name, label.status == "example" or cand.example, "model"  # type: ignore[attr-defined]

        results = await asyncio.gather(*(one(c, r) for c, r in zip(found, rules, strict=True)))
        return list(results), notes


def _iso_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _only_figure(sentence: str, figure: Figure) -> bool:
    """True when ``sentence`` names no figure other than ``figure`` ("The £75 limit has
    applied since ..."), so its dates can be read as this figure's."""
    return bool(sentence) and all(f.value == figure.value for f in find_figures(sentence))


def _unit_fits(spec_unit: str, figure_unit: str) -> bool:
    if spec_unit == "GBP/month":
        return figure_unit == "GBP/month"
    if spec_unit == "GBP":
        return figure_unit in ("GBP", "GBP/month")
    return spec_unit == figure_unit


def _clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_SPLIT.split(sentence) if c.strip()]


def _clause(sentence: str, figure: Figure) -> str:
    """The clause of ``sentence`` that holds ``figure``, so each figure gets its own dates."""
    pos = 0
    for part in _CLAUSE_SPLIT.split(sentence):
        at = sentence.find(part, pos)
        if at <= figure.start < at + len(part):
            # a date range in brackets right after the figure belongs to it
            tail = sentence[at + len(part) :]
            bracket = re.match(r"\s*\(([^)]*)\)", tail)
            if bracket and find_dates(bracket.group(1), months=True):
                return f"{part} {bracket.group(1)}"
            return part
        pos = at + len(part)
    return sentence


def _verify(cand: Candidate) -> str:
    """Empty when the value is in the quote and the quote is in the stored chunk."""
    if not figure_in_text(cand.figure.value, cand.figure.unit, cand.quote):
        return f"{cand.figure.text} does not occur in the quote"
    if cand.quote not in " ".join(split_sentences(cand.chunk.text)) and cand.quote not in (
        cand.chunk.text
    ):
        return "the quote does not occur in the source text"
    return ""


def _verified_and_resolved(
    found: list[Candidate],
    labels: list[tuple[str, bool, str]],
    today: date,
    warnings: list[str],
) -> list[Threshold]:
    """The candidates that pass :func:`_verify`, resolved by date (``warnings`` gains a
    line for each one dropped)."""
    verified: list[tuple[Candidate, str, bool, str]] = []
    for cand, (name, example, by) in zip(found, labels, strict=True):
        problem = _verify(cand)
        if problem:
            warnings.append(f"{name}: dropped a candidate from {cand.chunk.document}: {problem}")
            continue
        verified.append((cand, name, example, by))
    return _resolve(verified, today, warnings)


def _resolve(
    verified: list[tuple[Candidate, str, bool, str]], today: date, warnings: list[str]
) -> list[Threshold]:
    """Settle each limit's values by effective date: one current, the rest historical."""
    out: list[Threshold] = []
    by_name: dict[str, list[tuple[Candidate, bool, str]]] = {}
    for cand, name, example, by in verified:
        by_name.setdefault(name, []).append((cand, example, by))
    for spec in SPECS:
        entries = by_name.get(spec.name, [])
        # One record per value: several manuals may state the same figure.
        groups: dict[Decimal, list[tuple[Candidate, str]]] = {}
        for cand, example, by in entries:
            if not example:
                groups.setdefault(cand.figure.value, []).append((cand, by))
        records = [_merge(spec, group) for group in groups.values()]
        _settle(spec, records, today, warnings)
        records.sort(key=lambda r: (_STATUS_ORDER[r.status], -_ordinal(r.effective_from)))
        out.extend(records)
        out.extend(_threshold(spec, c, "example", by) for c, example, by in entries if example)
    return out


_STATUS_ORDER = {"current": 0, "upcoming": 1, "historical": 2, "example": 3}


def _ordinal(value: date | None) -> int:
    return value.toordinal() if value else 0


def _merge(spec: ThresholdSpec, group: list[tuple[Candidate, str]]) -> Threshold:
    """One record for a value stated in several places: the most precise start date wins
    (a day beats "June 2021"), the latest end date is kept."""
    cands = [c for c, _ in group]
    dated = [c for c in cands if c.effective_from is not None]
    precise = [c for c in dated if c.from_precision == "day"] or dated
    lead = (
        min(precise, key=lambda c: _ordinal(c.effective_from))
        if precise
        else next((c for c in cands if c.effective_until), cands[0])
    )
    record = _threshold(spec, lead, "historical", group[cands.index(lead)][1])
    untils = [c.effective_until for c in cands if c.effective_until is not None]
    record.effective_until = max(untils) if untils else None
    record.superseded = any(c.marked_old for c in cands)  # "the old limit of £20,000"
    record.also_stated_in = sorted({c.chunk.document for c in cands if c is not lead})
    return record


def _settle(
    spec: ThresholdSpec, records: list[Threshold], today: date, warnings: list[str]
) -> None:
    """Mark the value in force today as current: the latest start date not after today and
    not ended. Undated values count only when nothing is dated and they agree."""

    def in_force(r: Threshold) -> bool:
        return (
            r.effective_from is not None
            and r.effective_from <= today
            and (r.effective_until is None or r.effective_until >= today)
            and not r.superseded
        )

    candidates = [r for r in records if in_force(r)]
    current: Threshold | None = None
    if candidates:
        current = max(candidates, key=lambda r: _ordinal(r.effective_from))
    else:
        undated = [
            r
            for r in records
            if r.effective_from is None and r.effective_until is None and not r.superseded
        ]
        if len(undated) == 1 and len(records) == 1:
            current = undated[0]
            warnings.append(f"{spec.name}: the manuals give no effective date for its value")
        elif records:
            warnings.append(f"{spec.name}: no value could be dated as in force today")
    for r in records:
        if r is current:
            r.status = "current"
        elif r.effective_from is not None and r.effective_from > today:
            r.status = "upcoming"
            warnings.append(
                f"{spec.name}: {r.display_value} takes effect on {format_date(r.effective_from)}"
            )
        else:
            r.status = "historical"
            if current is None:
                continue
            if r.effective_from is None and r.effective_until is None and not r.superseded:
                warnings.append(
                    f"{spec.name}: {r.display_value} in {r.source.document} has no date and "
                    f"differs from the current {current.display_value}; treated as historical"
                )
            start = current.effective_from
            if (
                start
                and r.effective_from
                and r.effective_from < start
                and (r.effective_until is None or r.effective_until >= start)
            ):
                r.effective_until = start - timedelta(days=1)  # ended when the next began


def _threshold(spec: ThresholdSpec, cand: Candidate, status: Status, by: str) -> Threshold:
    return Threshold(
        name=spec.name,
        label=spec.label,
        value=cand.figure.value,
        unit=spec.unit,
        effective_from=cand.effective_from,
        effective_until=cand.effective_until,
        status=status,
        jurisdiction=JURISDICTION,
        source=ThresholdSource(
            document_id=cand.chunk.document_id,
            document=cand.chunk.document,
            page=cand.chunk.page,
            heading=cand.chunk.heading,
            quote=cand.quote,
            chunk_id=cand.chunk.chunk_id,
        ),
        classified_by=by,
    )


def thresholds_in_question(question: str) -> list[str]:
    """Named limits a question asks about, found by the same rules as in the manuals."""
    names = []
    asks_limit = find_figures(question) or re.search(
        r"limit|maximum|max\b|most|how much|how many|how long|minimum|least|fee|cost|deposit|"
        r"days|threshold|qualify|eligib|percent|majority|%|get an?\b|apply|owe|owing|worth",
        question,
        re.I,
    )
    if not asks_limit:
        return []
    clauses = _clauses(question)
    for spec in SPECS:
        if not re.search(spec.topic, question, re.I):
            continue
        # the subject must appear in a clause that does not also name another limit
        if any(
            re.search(spec.subject, clause, re.I)
            and not (spec.exclude and re.search(spec.exclude, clause, re.I))
            for clause in clauses
        ):
            names.append(spec.name)
    return names


@dataclass
class LimitCheck:
    """A figure from the question compared, by code, with the current value of a limit."""

    threshold: Threshold
    figure: Figure
    passes: bool

    def statement(self) -> str:
        t = self.threshold
        words = {
            ("at_most", True): "is within",
            ("at_most", False): "is over",
            ("less_than", True): "is under",
            ("less_than", False): "is not under",
            ("at_least", True): "meets",
            ("at_least", False): "is below",
        }[(SPEC_BY_NAME[t.name].rule, self.passes)]
        when = f" as at {format_date(t.effective_from)}" if t.effective_from else ""
        return f"{self.figure.text} {words} {t.label}, which is {t.display_value}{when}"

    def record(self) -> LimitCheckRecord:
        return LimitCheckRecord(
            threshold=self.threshold.name,
            figure=self.figure.text,
            limit=self.threshold.display_value,
            rule=SPEC_BY_NAME[self.threshold.name].rule,
            passes=self.passes,
            statement=self.statement(),
        )


def check_against_limits(question: str, current: list[Threshold]) -> list[LimitCheck]:
    """Compare each amount in the question with the limit it is about (same unit, and the
    limit's subject in the amount's clause, unless only one limit is in play)."""
    checks: list[LimitCheck] = []
    for figure in find_figures(question):
        clause = _clause(question, figure)
        for t in current:
            spec = SPEC_BY_NAME[t.name]
            if not spec.rule or figure.unit != t.unit:
                continue
            if len(current) > 1 and not re.search(spec.subject, clause, re.I):
                continue
            passes = {
                "at_most": figure.value <= t.value,
                "less_than": figure.value < t.value,
                "at_least": figure.value >= t.value,
            }[spec.rule]
            checks.append(LimitCheck(t, figure, passes))
    return checks
