"""Which limits a question asks about, for which date, and where.

Advisers ask in shorthand ("whats the max debt for a dro now", "OR deposit for
bankruptcy?", "how long is a BS for someone in mental health crisis", "what was the DRO
limit in 2022?", "car allowance dro before the 2021 changes"). :func:`read_question` finds
the limits by code, the date or period asked about ("in 2022", "before June 2024", "in
March 2024", "before it was scrapped"), and a jurisdiction other than England and Wales
("in Scotland", "sequestration"), so an answer states the value in force then and there,
or says the table holds none, rather than today's English figure.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from rma.limits.extract import SCHEMES
from rma.text import find_dates

# Words that ask for a figure ("what is the ..." about a scheme alone does not).
_ASKS_FIGURE = re.compile(
    r"limit|max|min|how (?:much|many|long|often)|\bcost|\bfees?\b|deposit|%|per ?cent|"
    r"percent|how many days|\bdays\b|qualif|eligib|can (?:they|he|she|i|a client|my client|"
    r"someone|the client|a creditor|they)|still get|\bok\b|allowed|discharg|\blasts?\?|\brule\b|"
    r"ceiling|\bcap\b|threshold|worth|\bowe|\bowed|owing|payable|petition|another|\b2nd\b|"
    r"second|again|\bvote|allowance|disregard|what was|used to be|scrapped",
    re.I,
)
# A question's own spelling of the schemes (typos and abbreviations included).
_TOPICS: dict[str, re.Pattern[str]] = {
    **SCHEMES,
    "bankruptcy": re.compile(
        r"bankru?pc?\w*|petition|adjudicator|\bIPA\b|income payments|discharg", re.I
    ),
    "breathing_space": re.compile(
        r"breathing space|\bBS\b|debt respite|mental health crisis|moratorium", re.I
    ),
}


@dataclass(frozen=True)
class _Subject:
    name: str
    pattern: re.Pattern[str]
    shadows: tuple[str, ...] = ()  # limits a match of this one rules out


def _subject(name: str, pattern: str, *shadows: str) -> _Subject:
    return _Subject(name, re.compile(pattern, re.I), shadows)


# Per scheme, what each limit is called in a question.
SUBJECTS: dict[str, tuple[_Subject, ...]] = {
    "dro": (
        _subject("dro.max_debt", r"debt limit|max(?:imum)? debt|debt ceiling|\bowes?\b|\bowing\b|"
                 r"how much debt|total debts|\bdebts? of\b"),
        _subject("dro.surplus_income", r"surplus|spare|disposable|left over|a month|per month|"
                 r"monthly|income"),
        _subject("dro.assets", r"\bassets?\b|savings|\bown\b|in total"),
        _subject("dro.vehicle", r"vehicle|\bcar\b|\bvan\b|motor|disregard|allowance",
                 "dro.max_debt", "dro.assets"),
        _subject("dro.fee", r"\bfee\b|\bcost|payable|\bpay\b|charge"),
        _subject("dro.previous_dro_years", r"another|previous|again|second|\b2nd\b|had a dro"),
        _subject("dro.residence_years", r"moved|lived|living|resident|residence|abroad"),
        _subject("dro.duration_months", r"how long (?:does|is|will)|\blasts\b|length"),
    ),
    "bankruptcy": (
        _subject("bankruptcy.petition_deposit", r"deposit\b.*\b(?:petition|creditor)|"
                 r"(?:petition|creditor)\b.*\bdeposit",
                 "bankruptcy.deposit", "bankruptcy.creditor_petition_min"),
        _subject("bankruptcy.adjudicator_fee", r"adjudicator", "bankruptcy.application_fee"),
        _subject("bankruptcy.application_fee", r"total|\bcost|how much (?:is|does) it|"
                 r"to go bankrupt|\bfee\b|price", "bankruptcy.deposit"),
        _subject("bankruptcy.deposit", r"\bOR deposit|\bdeposit\b"),
        _subject("bankruptcy.creditor_petition_min", r"min(?:imum)? debt|make (?:someone|them|"
                 r"him|her|a client|my client|the client) bankrupt|\bpetition|\bowed\b"),
        _subject("bankruptcy.discharge_months", r"discharg"),
        _subject("bankruptcy.ipa_max_years", r"\bIPA\b|income payments?"),
    ),
    "breathing_space": (
        _subject("breathing_space.standard_days", r"how (?:long|many days)|\bdays\b|length|"
                 r"\blasts\b|standard"),
        _subject("breathing_space.mental_health_extra_days", r"mental health|crisis",
                 "breathing_space.standard_days"),
        _subject("breathing_space.standard_repeat_months", r"another|again|second|\b2nd\b|"
                 r"how often|this year|twice|repeat|more than one",
                 "breathing_space.standard_days"),
    ),
    "iva": (
        _subject("iva.approval_share", r"%|per ?cent|percent|\bvote|approv|majority|agree|"
                 r"needed|\brule\b"),
        _subject("iva.unconnected_against_max", r"unconnected|against", "iva.approval_share"),
    ),
}  # fmt: skip
# What a question about a scheme's "limit" means when it names nothing more precise.
DEFAULTS = {
    "dro": "dro.max_debt",
    "breathing_space": "breathing_space.standard_days",
    "iva": "iva.approval_share",
}
# Places whose limits the table does not hold, and procedures only they have.
ELSEWHERE: dict[str, re.Pattern[str]] = {
    "scotland": re.compile(
        r"\bin scotland\b|scottish|sequestration|\bMAP\b|minimal asset|trust deed|"
        r"debt arrangement scheme|\bDAS\b|\bDPP\b",
        re.I,
    ),
    "northern-ireland": re.compile(r"\b(?:in )?northern ireland\b|\bin NI\b", re.I),
    "ireland": re.compile(r"republic of ireland|\bin ireland\b", re.I),
}
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_BEFORE_YEAR = re.compile(rf"\bbefore (?:the )?{_YEAR}\b", re.I)
_IN_YEAR = re.compile(rf"(?:\bin |\bback in |\bduring |^|\s){_YEAR}\b", re.I)
_BEFORE = re.compile(r"\b(?:before|prior to|until)\s*$", re.I)
# "before it was scrapped", "the old limit": the value before the one in force now.
_BEFORE_NOW = re.compile(
    r"before (?:it|they|the fee|the limit) (?:was|were|went|changed|got)|\bused to be\b|"
    r"\bold (?:limit|fee|figure)|\bprevious (?:limit|fee|figure)|\bbefore the (?:change|rise|"
    r"increase)s?\b",
    re.I,
)


@dataclass(frozen=True)
class AskedWhen:
    """The days a question asks about ("in 2022": the year; "before June 2024": 31 May
    2024), or the value before the current one ("before it was scrapped")."""

    first: date | None
    last: date | None
    words: str
    before_now: bool = False


@dataclass(frozen=True)
class LimitQuestion:
    """The limits a question asks about, when, and where (None: England and Wales)."""

    names: list[str] = field(default_factory=list)
    when: AskedWhen | None = None
    elsewhere: str | None = None


def read_question(question: str, *, today: date | None = None) -> LimitQuestion:
    """What ``question`` asks about the limits, read by code."""
    today = today or date.today()
    elsewhere = next((place for place, rx in ELSEWHERE.items() if rx.search(question)), None)
    return LimitQuestion(limits_in_question(question), when_asked(question, today), elsewhere)


def limits_in_question(question: str) -> list[str]:
    """The canonical names of the limits ``question`` asks about (none when it asks for no
    figure), in the order of the schemes it names."""
    from rma.limits.extract import find_figures  # the same reader of figures

    if not (_ASKS_FIGURE.search(question) or find_figures(question)):
        return []
    names: list[str] = []
    for scheme, subjects in SUBJECTS.items():
        if not _TOPICS[scheme].search(question):
            continue
        matched = [s for s in subjects if s.pattern.search(question)]
        shadowed = {n for s in matched for n in s.shadows}
        found = [s.name for s in matched if s.name not in shadowed]
        names.extend(found or ([DEFAULTS[scheme]] if scheme in DEFAULTS else []))
    return list(dict.fromkeys(names))


def when_asked(question: str, today: date) -> AskedWhen | None:
    """The date or period a question asks about; None for today."""
    for found in find_dates(question, months=True):
        if not found.year_given:
            continue
        lead = question[: found.start]
        if found.precision == "day":
            day = found.value - timedelta(days=1) if _BEFORE.search(lead) else found.value
            return AskedWhen(day, day, found.text)
        if _BEFORE.search(lead):
            day = found.value - timedelta(days=1)
            return AskedWhen(day, day, f"before {found.text}")
        end = found.value.replace(day=calendar.monthrange(found.value.year, found.value.month)[1])
        return AskedWhen(found.value, end, found.text)
    before = _BEFORE_YEAR.search(question)
    if before:
        day = date(int(before.group("year")) - 1, 12, 31)
        return AskedWhen(day, day, before.group(0))
    year = _IN_YEAR.search(question)
    if year:
        first, last = date(int(year.group("year")), 1, 1), date(int(year.group("year")), 12, 31)
        if first <= today <= last:
            return None  # this year: today's value
        return AskedWhen(first, last, year.group(0).strip())
    if _BEFORE_NOW.search(question):
        return AskedWhen(None, None, _BEFORE_NOW.search(question).group(0), before_now=True)  # type: ignore[union-attr]
    return None
