"""The parts every scheme's rules are made of, and the shape of their results.

A rule is data (which limit, what question) plus a small function that measures the
client. A measurement is a range, ``low`` to ``high``: exact when everything is known,
wide when something is not (a debt of unknown kind may or may not count; an asset list
not yet complete may grow). The outcome follows from the range alone:

- **pass** when even the least favourable value in the range meets the limit;
- **fail** when even the most favourable value breaks it;
- **unknown** otherwise, naming what is missing.

So missing data can never make a client pass, and more debt (or surplus, or assets) can
never turn a fail into a pass: both follow from the comparison, not from care in each
rule. The limits come from the governed table as at the assessment date, and each
criterion carries the value, dates and source it was judged against.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from rma import constants as C
from rma.eligibility.facts import ClientFacts
from rma.limits.table import LimitTable, LimitValue, NoValueInForce, display_value
from rma.text import format_date, format_pence

Outcome = Literal["pass", "fail", "unknown"]


@dataclass(frozen=True)
class Context:
    """What a rule may consult besides the facts: the date and the limits."""

    as_at: date
    table: LimitTable
    jurisdiction: str = C.DEFAULT_JURISDICTION
    today: date | None = None

    def limit(self, name: str) -> LimitValue:
        return self.table.as_at(name, self.as_at, self.jurisdiction, today=self.today)


@dataclass
class Criterion:
    """One condition of a scheme, judged."""

    key: str
    question: str
    outcome: Outcome
    client_value: str | None = None
    limit: LimitValue | None = None
    citation: str = ""
    margin: str | None = None
    near_miss: bool = False
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # False: shown for the adviser, its effect already counted in another criterion (a
    # vehicle that is not disregarded is counted in the assets).
    decides: bool = True

    def as_dict(self) -> dict[str, Any]:
        limit = None
        if self.limit is not None:
            definition = self.limit.row.definition
            limit = {**self.limit.as_dict(), "comparison": definition.comparison}
        return {
            "key": self.key,
            "question": self.question,
            "outcome": self.outcome,
            "client_value": self.client_value,
            "limit": limit,
            "citation": self.citation or (self.limit.source if self.limit else ""),
            "margin": self.margin,
            "near_miss": self.near_miss,
            "missing": self.missing,
            "notes": self.notes,
            "decides": self.decides,
        }


@dataclass
class SchemeResult:
    scheme: str
    title: str
    criteria: list[Criterion]
    notes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        outcomes = {c.outcome for c in self.criteria if c.decides}
        if "fail" in outcomes:
            return "fail"
        return "unknown" if "unknown" in outcomes or not outcomes else "pass"

    @property
    def missing(self) -> list[str]:
        return list(dict.fromkeys(m for c in self.criteria if c.decides for m in c.missing))

    @property
    def near_misses(self) -> list[str]:
        return [f"{c.question}: {c.margin}" for c in self.criteria if c.near_miss and c.margin]

    def summary(self) -> str:
        if self.outcome == "pass":
            return f"{self.title}: every condition is met"
        failed = [c for c in self.criteria if c.decides and c.outcome == "fail"]
        if failed:
            reasons = "; ".join(f"{c.question} ({c.margin or c.client_value})" for c in failed)
            return f"{self.title}: not met: {reasons}"
        return f"{self.title}: cannot tell yet: {'; '.join(self.missing) or 'see the criteria'}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "title": self.title,
            "outcome": self.outcome,
            "summary": self.summary(),
            "criteria": [c.as_dict() for c in self.criteria],
            "near_misses": self.near_misses,
            "missing": self.missing,
            "notes": self.notes,
        }


# ------------------------------------------------------------------ measured against a limit


@dataclass(frozen=True)
class Measured:
    """The client's figure as a range (``None``: unbounded on that side)."""

    low: int | Fraction | None
    high: int | Fraction | None
    shown: str
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def exactly(cls, value: int | Fraction, shown: str, notes: tuple[str, ...] = ()) -> Measured:
        return cls(value, value, shown, (), notes)

    @classmethod
    def unknown(cls, *missing: str) -> Measured:
        return cls(None, None, "not known", tuple(missing))


Measure = Callable[[ClientFacts, Context], Measured]
# A rule: data (a limit, a question) and the function that judges the client by it.
Rule = Callable[[ClientFacts, Context], Criterion]


def judge(rules: tuple[Rule, ...], facts: ClientFacts, context: Context) -> list[Criterion]:
    return [rule(facts, context) for rule in rules]


@dataclass(frozen=True)
class LimitRule:
    """The client's figure (pence, or a percentage) against a limit in the table, compared
    the way the table says (at most, less than, at least)."""

    key: str
    limit: str
    question: str
    measure: Measure

    def __call__(self, facts: ClientFacts, context: Context) -> Criterion:
        try:
            limit = context.limit(self.limit)
        except NoValueInForce as exc:
            return Criterion(self.key, self.question, "unknown", notes=[str(exc)])
        measured = self.measure(facts, context)
        comparison = limit.row.definition.comparison
        bound = limit_units(limit)
        worst, best = (
            (measured.high, measured.low)
            if comparison in ("at_most", "less_than")
            else (measured.low, measured.high)
        )
        if worst is not None and meets(worst, bound, comparison):
            outcome: Outcome = "pass"
        elif best is not None and not meets(best, bound, comparison):
            outcome = "fail"
        else:
            outcome = "unknown"
        exact = measured.low if measured.low == measured.high else None
        margin = near = None
        if exact is not None:
            margin = margin_words(exact, bound, limit)
            near = is_near(exact, bound)
        return Criterion(
            self.key,
            self.question,
            outcome,
            measured.shown,
            limit,
            margin=margin,
            near_miss=bool(near),
            missing=list(measured.missing),
            notes=list(measured.notes),
        )


def limit_units(limit: LimitValue) -> Fraction:
    """The limit in the units rules measure in: pence for money, else the value itself."""
    if limit.unit in ("GBP", "GBP/month"):
        return Fraction(limit.value * 100)
    return Fraction(limit.value)


def meets(value: int | Fraction, bound: Fraction, comparison: str) -> bool:
    if comparison == "at_most":
        return value <= bound
    if comparison == "less_than":
        return value < bound
    if comparison == "at_least":
        return value >= bound
    raise ValueError(f"{comparison!r} is not a comparison a rule can judge")


def is_near(value: int | Fraction, bound: Fraction) -> bool:
    """Within the near-miss share of the limit, either side of it."""
    return bound > 0 and abs(Fraction(value) - bound) <= bound * Fraction(C.NEAR_MISS_SHARE)


def _units(amount: Fraction, limit: LimitValue) -> str:
    if limit.unit in ("GBP", "GBP/month"):
        money = format_pence(round(amount))
        return f"{money} a month" if limit.unit == "GBP/month" else money
    if limit.unit == "percent":
        return f"{float(amount):.1f} percentage points"
    return display_value(Decimal(float(amount)), limit.unit)


def margin_words(value: int | Fraction, bound: Fraction, limit: LimitValue) -> str:
    """ "£2,100 over the £50,000 limit", "£1,250 under ...", "exactly at ..."."""
    what = f"the {limit.display} limit"
    if value == bound:
        if limit.row.definition.comparison == "less_than":
            return f"exactly at {what}: it must be less"
        return f"exactly at {what}"
    direction = "over" if value > bound else "under"
    return f"{_units(abs(Fraction(value) - bound), limit)} {direction} {what}"


# ------------------------------------------------------------------ yes/no conditions


@dataclass(frozen=True)
class FactRule:
    """A condition a fact answers yes or no (``passes``: the answer that meets it). The
    limit, when named, is cited for the period the question covers (3 years, 6 years)."""

    key: str
    question: str
    fact: str
    passes: bool
    missing: str
    citation: str = ""
    limit: str | None = None

    def __call__(self, facts: ClientFacts, context: Context) -> Criterion:
        limit = None
        if self.limit is not None:
            try:
                limit = context.limit(self.limit)
            except NoValueInForce as exc:
                return Criterion(self.key, self.question, "unknown", notes=[str(exc)])
        answer = getattr(facts, self.fact)
        if answer is None:
            return Criterion(
                self.key, self.question, "unknown", "not known", limit, self.citation,
                missing=[self.missing],
            )  # fmt: skip
        outcome: Outcome = "pass" if answer == self.passes else "fail"
        return Criterion(
            self.key, self.question, outcome, "yes" if answer else "no", limit, self.citation
        )


def all_of(
    key: str, question: str, citation: str, *parts: tuple[str, bool | None, str]
) -> Criterion:
    """A condition met when every part is (``(what, met, missing)``; ``met`` None: unknown)."""
    failed = [what for what, met, _ in parts if met is False]
    unknown = [missing for _, met, missing in parts if met is None]
    if failed:
        return Criterion(key, question, "fail", "; ".join(failed), citation=citation)
    if unknown:
        return Criterion(key, question, "unknown", "not known", citation=citation, missing=unknown)
    return Criterion(key, question, "pass", "none of these", citation=citation)


def statements(context: Context, *names: str) -> list[str]:
    """Each named limit as at the date, in a sentence with its source (for notes)."""
    found = []
    for name in names:
        try:
            limit = context.limit(name)
        except NoValueInForce:
            continue
        found.append(f"{limit.statement()} ({limit.source}).")
    return found


# ------------------------------------------------------------------ dates


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day where it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_in(limit: LimitValue) -> int:
    """A period limit (years or months) in whole months."""
    per = {"years": 12, "months": 1}.get(limit.unit)
    if per is None or (limit.value * per) % 1:
        raise ValueError(f"{limit.name} is not a whole number of months or years")
    return int(limit.value * per)


@dataclass(frozen=True)
class SinceRule:
    """No event (a DRO, a breathing space) in the period a limit names, before the date of
    the assessment: met when there was none, or the last was at least that long before."""

    key: str
    question: str
    limit: str
    had: str  # the yes/no fact
    on: str  # its date
    event: str  # "a DRO"

    def __call__(self, facts: ClientFacts, context: Context) -> Criterion:
        try:
            limit = context.limit(self.limit)
        except NoValueInForce as exc:
            return Criterion(self.key, self.question, "unknown", notes=[str(exc)])
        had, on = getattr(facts, self.had), getattr(facts, self.on)
        if had is False:
            return Criterion(self.key, self.question, "pass", "none", limit)
        if had is None or on is None:
            what = f"whether the client has had {self.event}, and when"
            return Criterion(self.key, self.question, "unknown", "not known", limit, missing=[what])
        free_from = add_months(on, months_in(limit))
        shown = f"{self.event} on {format_date(on)}"
        if free_from <= context.as_at:
            margin = f"{limit.display} had passed on {format_date(free_from)}"
            return Criterion(self.key, self.question, "pass", shown, limit, margin=margin)
        days = (free_from - context.as_at).days
        margin = f"{days} days short of {limit.display}, which pass on {format_date(free_from)}"
        near = days <= C.NEAR_MISS_DAYS
        return Criterion(
            self.key, self.question, "fail", shown, limit, margin=margin, near_miss=near
        )
