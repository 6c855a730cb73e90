"""Candidates from a manual: each figure a passage states for a named limit, read by code.

:func:`candidates` is a pure function of one document's passages (its chunks), so ingestion
can run it per document and keep the result with that document. It proposes; it never
decides what RMA states: every candidate is then held against the effective table by
:func:`rma.limits.conflicts.classify` (a match is evidence, a mismatch a conflict).

How a figure is read, one sentence at a time (a table's cells come out as one long
"sentence" of rows, label then values, and are read the same way):

1. **Figures**: sums of money (``£50,000``, ``3.5k``, "£75 a month"), percentages ("75 per
   cent", "half"), periods ("60 days", "twelve months", "a 12-month period", "one year")
   and "no fee" / a table's "None" for a fee.
2. **Which limit**: the nearest *cue* in the figure's own stretch of text (from the figure
   before it to the figure after it, never across a bracket or a semicolon): "debt limit",
   "surplus", "vehicle", "adjudicator fee", "petition deposit"... among the limits of the
   schemes the sentence, its headings or its title name (a DRO, bankruptcy, breathing
   space, an IVA), in the figure's unit. Cues of other things win as well ("compliance
   fee", "fee threshold", "30 days to reply"): the figure is then not a limit. A figure
   with no cue of its own takes the limit of the figure before it when only dates and
   connectives lie between ("from £20,000 to £30,000", "£50,000 28 June 2024 £30,000",
   "£30,000 or less (£50,000 with effect from 28 June 2024)").
3. **Worked examples** are told from limits by how the figure is framed: a client's own
   figure ("Sam owes £18,400", "has £80 a month left", "which is 83 per cent", "a car
   worth 3.5k is less than £4,000") is an example; a limit is framed as one ("£50,000 or
   less", "at least £5,000", "the £75 limit", "limit of £30,000").
4. **Dates and the past**: the dates beside the figure ("£30,000 29 June 2021 to 27 June
   2024", "with effect from", "until", "before that date"), a date that opens the sentence
   ("From 28 June 2024 the limit went up from £30,000 to £50,000": the old figure ends the
   day before, the new one starts), and words that put a figure in the past ("was £15,000",
   "the old limit of", "rose from", "has been removed", "(£750 before)"). Values of one limit
   in one passage end the day before the next one starts.

What it refuses: it never uses the table's values to decide what a figure is about (a
manual quoting £900,000 is read as the DRO debt limit, and so becomes a conflict).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from rma.limits.conflicts import Candidate, Precision
from rma.text import Period, find_dates, find_money, read_period, split_sentences

Unit = Literal["GBP", "GBP/month", "days", "months", "years", "percent"]
Role = Literal["limit", "example", "other"]
OTHER = "other"


class Passage(Protocol):
    """What the reader needs of a chunk of a manual (``rma.rag.manuals.ManualChunk`` is one)."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def document_id(self) -> str: ...
    @property
    def document(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def heading_path(self) -> tuple[str, ...]: ...
    @property
    def text(self) -> str: ...


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """A figure as written, its exact value and unit, and where it is in the text."""

    value: Decimal
    unit: Unit
    text: str
    start: int
    end: int


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18,
    "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip
_PERIOD = re.compile(
    r"(?<![\w£.,])(?P<n>\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")(?:\s+|-)"
    r"(?P<unit>days?|months?|mths?|years?|yrs?)\b",
    re.I,
)
_PERIOD_UNITS: dict[str, Unit] = {"d": "days", "m": "months", "y": "years"}
_PERCENT = re.compile(r"(?<![\w.,£])(?P<n>\d{1,3}(?:\.\d+)?)\s?(?:%|per\s?cent\b|percent\b)", re.I)
_HALF = re.compile(r"\bhalf\b(?![-\w])", re.I)
_NO_FEE = re.compile(r"\bno (?:application )?fee\b|\bfee\s+(?P<none>None)\b", re.I)
_MONTHLY = re.compile(
    r"\s*(?P<frame>or (?:less|more)\s+)?(?:(?:a|per|each|every) month\b|monthly\b)", re.I
)


def find_figures(text: str) -> list[Figure]:
    """Money, percentages and periods in ``text``, as exact values, in order."""
    found: list[Figure] = []
    for money in find_money(text):
        monthly = _MONTHLY.match(text, money.end, money.end + 24)
        if monthly is None:
            found.append(Figure(money.value, "GBP", money.text, money.start, money.end))
            continue
        # "£75 a month" is one figure; "£75 or less a month" keeps its "or less" outside
        end = money.end if monthly.group("frame") else monthly.end()
        found.append(Figure(money.value, "GBP/month", text[money.start : end], money.start, end))
    for m in _PERCENT.finditer(text):
        found.append(Figure(Decimal(m.group("n")), "percent", m.group(0), m.start(), m.end()))
    for m in _HALF.finditer(text):
        found.append(Figure(Decimal(50), "percent", m.group(0), m.start(), m.end()))
    for m in _PERIOD.finditer(text):
        n = m.group("n").lower()
        value = Decimal(_NUMBER_WORDS[n]) if n in _NUMBER_WORDS else Decimal(n)
        unit = _PERIOD_UNITS[m.group("unit")[0].lower()]
        found.append(Figure(value, unit, m.group(0), m.start(), m.end()))
    for m in _NO_FEE.finditer(text):
        start = m.start("none") if m.group("none") else m.start()
        found.append(Figure(Decimal(0), "GBP", text[start : m.end()], start, m.end()))
    found.sort(key=lambda f: (f.start, -f.end))
    out: list[Figure] = []
    for figure in found:  # one reading per stretch of text ("£75 a month" is not also "a month")
        if not out or figure.start >= out[-1].end:
            out.append(figure)
    return out


def figure_in_text(value: Decimal, unit: str, text: str) -> bool:
    """Does ``text`` state this value in this unit? (money in either money unit)"""
    kinds = ("GBP", "GBP/month") if unit in ("GBP", "GBP/month") else (unit,)
    return any(f.value == value and f.unit in kinds for f in find_figures(text))


# ------------------------------------------------------------------------------ cues

# Each scheme by name, and by words only it uses ("surplus income", "unconnected creditors").
SCHEMES: dict[str, re.Pattern[str]] = {
    "dro": re.compile(r"\bDROs?\b|debt relief orders?", re.I),
    "bankruptcy": re.compile(r"bankrupt|adjudicator|petition|income payments", re.I),
    "breathing_space": re.compile(r"breathing space|debt respite|\bBS\b", re.I),
    "iva": re.compile(r"\bIVAs?\b|individual voluntary arrangements?", re.I),
}
SCHEME_WORDS: dict[str, re.Pattern[str]] = {
    "dro": re.compile(r"surplus income|qualifying debts|vehicle disregard|debt limit", re.I),
    "breathing_space": re.compile(r"mental health crisis|crisis treatment", re.I),
    "iva": re.compile(
        r"unconnected creditors|creditors who vote|\bvotes? (?:for|cast|against)\b", re.I
    ),
}
# Procedures with limits the table does not hold: a sentence about one alone is not read
# as about the schemes around it.
_UNTRACKED = re.compile(r"administration orders?|debt management plans?|\bDMPs?\b", re.I)
_MONEY: tuple[Unit, ...] = ("GBP", "GBP/month")
_ALL_UNITS: tuple[Unit, ...] = ("GBP", "GBP/month", "days", "months", "years", "percent")
# A word that refers back to a limit already named: "the £50,000 limit", "It was raised to".
THIS = "this"
Side = Literal["both", "before", "after"]


@dataclass(frozen=True)
class Cue:
    """Words that say which limit a nearby figure states (or that it states something else,
    or refer back to a limit already named). ``side``: where the words must stand."""

    name: str
    pattern: re.Pattern[str]
    units: tuple[Unit, ...]
    side: Side = "both"

    @property
    def scheme(self) -> str | None:
        return None if self.name in (OTHER, THIS) else self.name.split(".")[0]


def _cues(name: str, units: tuple[Unit, ...], *patterns: str, side: Side = "both") -> list[Cue]:
    return [Cue(name, re.compile(p, re.I), units, side) for p in patterns]


CUES: tuple[Cue, ...] = (
    *_cues(
        "dro.max_debt", ("GBP",),
        r"debt limit", r"qualifying debts?",
        r"(?:maximum|max|total) (?:total )?(?:qualifying )?debts?",
        r"\bdebts?\b", r"\bow(?:e|es|ed|ing)\b", r"debt ceiling", r"qualifying total",
    ),
    *_cues(
        "dro.surplus_income", _MONEY,
        r"surplus(?: income)?(?: limit)?", r"\bspare\b", r"left over", r"disposable income",
    ),
    *_cues(
        "dro.assets", ("GBP",),
        r"\bassets?\b(?: limit)?", r"\bown(?:s)?\b", r"things worth", r"worth of things",
    ),
    *_cues(
        "dro.vehicle", ("GBP",),
        r"vehicles?", r"\bcars?\b", r"\bvans?\b", r"\bmotor\b", r"disregard(?:ed)?",
        r"left out of the assets",
    ),
    *_cues("dro.fee", ("GBP",), r"(?:application )?fee\b", r"\bpay\b"),
    *_cues(
        "dro.residence_years", ("years",),
        r"\blived\b", r"had a home", r"carried on business", r"\bworked\b",
        r"England (?:or|and) Wales", r"connection with",
    ),
    *_cues(
        "dro.previous_dro_years", ("years",),
        r"\bDRO(?: made)? (?:in|within) the last", r"(?:previous|earlier|another|had a) DRO",
        r"\bDRO within",
    ),
    *_cues(
        "dro.duration_months", ("months", "years"),
        r"order lasts", r"\blasts\b(?: for)?", r"moratorium(?: period)?", r"written off",
    ),
    *_cues("dro.duration_months", ("months",), r"\bduring the\b", r"\bfor the\b", side="before"),
    *_cues(
        "bankruptcy.application_fee", ("GBP",),
        r"total fee", r"fee in total", r"\bin (?:all|total)\b", r"total (?:payable|cost)",
        r"\bcosts?\b", r"(?:bankruptcy|debtor's|own) application", r"go bankrupt",
        r"\bsave\b", r"\btotal\b",
    ),
    *_cues(
        "bankruptcy.adjudicator_fee", ("GBP",),
        r"adjudicator(?:'s)? fee", r"fee (?:to|for) the adjudicator",
    ),
    *_cues("bankruptcy.deposit", ("GBP",), r"(?:official receiver's )?deposit\b"),
    *_cues(
        "bankruptcy.petition_deposit", ("GBP",),
        r"petition deposit", r"deposit (?:a|the) creditor", r"petition: deposit",
    ),
    *_cues(
        "bankruptcy.creditor_petition_min", ("GBP",),
        r"minimum debt", r"\bminimum\b", r"owed at least", r"\bow(?:e|es|ed|ing)\b",
        r"debts? (?:add up|together|reach)", r"debt of at least", r"(?:can|may|to) petition",
        r"petition (?:for|the court)", r"creditor's petition",
    ),
    *_cues(
        "bankruptcy.discharge_months", ("months", "years"),
        r"discharged?\b", r"(?:bankruptcy|it)(?: itself)?(?: usually)? ends", r"ends after",
        side="before",
    ),
    *_cues(
        "bankruptcy.ipa_max_years", ("years", "months"),
        r"income payments?(?: agreements?| orders?)?", r"\bIPA\b", r"\bIPO\b",
    ),
    *_cues(
        "breathing_space.standard_days", ("days",),
        r"standard breathing space", r"\bstandard\b", r"\blasts\b", r"protection",
        r"how long", r"\bduring\b",
    ),
    *_cues("breathing_space.mental_health_extra_days", ("days",), r"\bplus\b", side="before"),
    *_cues(
        "breathing_space.mental_health_extra_days", ("days",),
        r"\bafter(?:wards)?\b", r"\badded\b", side="after",
    ),
    *_cues("breathing_space.mental_health_extra_days", ("days",), r"runs on(?: for)?"),
    *_cues(
        "breathing_space.standard_repeat_months", ("months", "years"),
        r"once in any", r"\bonce\b", r"month period", r"in the (?:last|previous)", r"have passed",
    ),
    *_cues("breathing_space.standard_repeat_months", ("months",), r"\bperiod\b", side="after"),
    *_cues(
        "iva.approval_share", ("percent",),
        r"in favour", r"\bapproval\b", r"(?<!not )approved (?:if|when)", r"by value",
        r"\bagree", r"creditors holding",
        r"\bvot(?:e|es|ing) (?:yes|for)", r"\bsupport\b", r"\bneeded\b", r"\btest\b",
        r"\brule\b",
    ),
    *_cues("iva.unconnected_against_max", ("percent",), r"unconnected", r"\bagainst\b"),
    # Figures for other things, that a careless reader could take for a limit.
    *_cues(
        OTHER, _ALL_UNITS,
        r"compliance (?:fee|stage)", r"enforcement (?:fee|agents?)", r"fee threshold",
        r"general fee", r"court fee", r"administration orders?", r"small claims",
        r"judgment", r"\binterest\b", r"discount", r"settlements?", r"of the balance",
        r"on hold", r"\bhold\b(?! more)", r"to (?:reply|respond)", r"credit file", r"credit of",
        r"\bwithin\b", r"\bevery\b", r"letter of claim", r"deductions?", r"sale or disposal",
        r"\bdecide\b", r"\bcredit\b", r"trustee", r"register\b", r"\bwrong\b", r"contact",
        r"checks?\b", r"spread over", r"restrictions", r"reviewed in",
    ),
    *_cues(THIS, _ALL_UNITS, r"\blimits?\b", r"\bfigure\b"),
    *_cues(
        THIS, _ALL_UNITS,
        r"(?:^|(?<=[;:] ))(?:it|this|these|those|either|they)\b",
        r"\b(?:it|they) (?:was|were|is|are|has been|had been|remains?|stays?)(?= (?:only |then "
        r"|still )?(?:£|\d))",
        side="before",
    ),
)  # fmt: skip
# When a limit has the only cue-less reading of a unit in its scheme.
DEFAULTS: dict[tuple[str, Unit], str] = {
    ("dro", "GBP/month"): "dro.surplus_income",
    ("breathing_space", "days"): "breathing_space.standard_days",
}
UNITS: dict[str, Unit] = {c.name: c.units[0] for c in CUES if c.scheme}
# "worth less than £4,000": a thing's value (in a DRO, the vehicle's).
_WORTH = re.compile(r"\bworth (?:less than|more than|under|over)?\s*$", re.I)
# A deposit in the same stretch as a creditor's petition is the petition deposit.
_PETITION = re.compile(r"petition|creditor", re.I)
# "X has nothing to do with Y", "do not confuse X with Y": X is something else.
_NOT_THIS_AFTER = re.compile(r"nothing to do with|\bis not the\b|not to be confused", re.I)
_NOT_THIS_BEFORE = re.compile(r"\bconfuse (?:this|that|the)\s*$", re.I)

# ------------------------------------------------------------------ framing of a figure

# A figure framed as a limit: "£50,000 or less", "at least £5,000", "the £75 limit".
_LIMIT_BEFORE = re.compile(
    r"(?:at least|at most|no more than|not more than|less than|more than|under|over|above|"
    r"below|(?<!add )(?<!adds )up to|exceed(?:s|ing)?|limit (?:of|is|was)|threshold of|"
    r"maximum(?: of)?|minimum(?: of)?|the|this|that|its)\s*$",
    re.I,
)
_STRONG_FRAME_BEFORE = re.compile(
    r"(?:at least|at most|no more than|not more than|less than|more than|under|over|above|"
    r"below|up to|exceed(?:s|ing)?)\s+(?:the\s+)?$",
    re.I,
)
_LIMIT_AFTER = re.compile(
    r"^\s*(?:a month\s+)?(?:or (?:less|more|under|over)|limit|minimum|maximum|threshold|cap|"
    r"test|rule|needed)\b",
    re.I,
)
# A client's own figure: "Sam owes £18,400", "has £80 a month left", "which is 83 per cent".
_EXAMPLE_BEFORE = re.compile(
    r"(?:\b(?:owes?|owed|owing|has|have|had|owns?|saved|earns?|left|leaving|"
    r"worth(?: about| around)?|about|around|exactly|down to|which is|adds? up to|"
    r"(?:come|comes|came) to|(?:limit|it|them) by|values? [\w' ]{1,30} at)\s+"
    r"(?:a |an |her |his |their |only |just )?$)|"
    r"(?:\b(?!the\b|a\b|its\b)\w+ (?:total|totals|totalled)\s+$)|"
    r"(?:(?:^|[,;]\s*)(?:with|at)\s+$)|"
    r"(?:for example|for instance|e\.g\.|suppose|say),?\s*$",
    re.I,
)
# "Her surplus of £140", "Dana's qualifying debts are £47,200" (a name is capitalised)
_THEIRS_BEFORE = re.compile(
    r"\b(?:[Hh]is|[Hh]er|[Tt]heir|[A-Z][a-z]+'s)\s+[\w\s']{0,30}?\b(?:of|is|are|was|were)\s+$"
)
# A sentence or section of examples: its figures are examples unless framed as limits.
_EXAMPLE_SENTENCE = re.compile(r"^\W*(?:for example|for instance|e\.g\.|suppose|imagine)\b", re.I)
_EXAMPLE_SECTION = re.compile(r"\b(?:worked example|case study|exercise)\b", re.I)
_NOT_POSSESSION = re.compile(r"\b(?:has|have|had) been\s*$|\bhad to (?:pay|find)\s*$", re.I)
_COMPARED = re.compile(
    r"^\s*,?\s*(?:a month\s+)?(?:which\s+)?(?:\w+\s+)??(?:is|are|was)?\s*"
    r"(?:well |just |only |still |comfortably )?"
    r"(?:under|over|below|above|within|less than|more than|in favour)\b",
    re.I,
)

# ------------------------------------------------------------------------- the past

_PAST_BEFORE = re.compile(
    r"(?:\b(?:was|were)\s+(?:only\s+|then\s+|still\s+)?|\bused to be\s+|"
    r"\b(?:old|previous|former|earlier)\s+(?:\w+\s+){0,3}?(?:of|was|were|is|at)\s+|"
    r"\bhad to (?:pay|find)\s+|\bwould have\b[^.;]{0,80}?|"
    r"\b(?:went up|rose|increased|raised|up|changed|fell) from\s+)$",
    re.I,
)
_PAST_AFTER = re.compile(
    r"^[^.;]{0,40}?\b(?:has been|was|were|have been) (?:removed|abolished|scrapped)|"
    r"^[^.;]{0,40}?\bhas gone\b|^\s*\)?\s*before\s*(?:\)|$|that\b|then\b|[.,;])",
    re.I,
)
# "before that date", "until then": the date is the last one written before.
_THAT_DATE = re.compile(
    r"(?:^\s*\)?\s*|\b)(?:before|until|up to) (?:that date|then|this date)\b", re.I
)
_SINCE_THEN = re.compile(r"\b(?:from|since|after) (?:that date|then|this date)\b", re.I)

# ------------------------------------------------------------------- reading the text

_CONNECTIVES = re.compile(
    r"\b(?:to|from|and|or|less|more|then|before|after|until|with|effect|since|on|in|force|"
    r"the|a|month|an|applies|apply|applied|between|per|each|plus|up|rising|rise|rose|went|"
    r"increased|raised|it|was|is|now|of|only|limit|when|has|been)\b|[-–—(),;:]",
    re.I,
)
# Words left out when counting how far a cue is from its figure.
_FILLER = re.compile(
    r"\b(?:the|a|an|of|is|are|was|were|be|or less|or more|a month|per month|its|their|"
    r"this|that|less than|more than|up to|at least|no more than|worth)\b",
    re.I,
)
# Text a cue may not be read across (a bracket or a semicolon starts another thought).
_HARD_BREAK = re.compile(r"[;()]")
# After a figure, a cue may not be read across a comma or a new item.
_SOFT_BREAK = re.compile(
    r",|\band\b|\bor\b(?! (?:less|more))|\bbut\b|\bwhile\b|\bso\b|\s[-–—]\s", re.I
)
_PREVIOUS_COLUMN = re.compile(r"previous (?:limit|figure)", re.I)
# Text recovered for reading only (the quote keeps the manual's own characters).
_SOFT_HYPHEN = re.compile("\u2010\\s+")
_LIGATURE_WORDS = (
    "effect", "effective", "official", "officer", "first", "fifty", "fifteen", "five",
    "financial", "final", "offer", "office", "figure", "figures", "benefit", "benefits",
    "file", "files", "fine", "fines", "qualify", "affect", "difficult", "sufficient",
)  # fmt: skip
_LIGATURES = ("ffi", "ffl", "ff", "fi", "fl")


def readable(text: str) -> str:
    """The text as the reader sees it: a line-end hyphen (U+2010) joined, a lost f-ligature
    (U+FFFD) restored where one word fits, spaces made single."""
    text = _SOFT_HYPHEN.sub("", text).replace("\ufffe", "-")
    if "\ufffd" in text:
        text = re.sub(r"[\w\ufffd]*\ufffd[\w\ufffd]*", _restore_ligature, text)
    return re.sub(r"\s+", " ", text).strip()


def _restore_ligature(match: re.Match[str]) -> str:
    word = match.group(0)
    for letters in _LIGATURES:
        guess = word.replace("\ufffd", letters)
        if guess.lower() in _LIGATURE_WORDS:
            return guess
    return word


@dataclass
class Reading:
    """One figure in a sentence and what the text makes of it."""

    figure: Figure
    sentence: str  # as the reader saw it
    quote: str  # as the manual has it
    name: str | None = None
    role: Role = "limit"
    past: bool = False
    effective_from: date | None = None
    effective_to: date | None = None
    from_precision: Precision = "day"
    to_precision: Precision = "day"
    inherited: bool = False
    change_from: bool = False  # the "£X" of "from £X to £Y"
    passage: Passage | None = field(default=None, repr=False)

    @property
    def unit(self) -> Unit:
        """The figure's unit in the limit's terms (a year of a limit kept in months is 12)."""
        return UNITS.get(self.name or "", self.figure.unit)

    @property
    def value(self) -> Decimal:
        want, have = self.unit, self.figure.unit
        if have == "years" and want == "months":
            return self.figure.value * 12
        if have == "months" and want == "years":
            return self.figure.value / 12
        return self.figure.value

    def candidate(self) -> Candidate:
        """The reading as a candidate for its limit, tied to its passage."""
        assert self.name is not None
        p = self.passage
        return Candidate(
            name=self.name,
            value=Decimal(f"{self.value.normalize():f}"),  # £30,000.00 is 30000
            unit=self.unit,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            from_precision=self.from_precision,
            to_precision=self.to_precision,
            document=p.document if p else "",
            page=p.page if p else None,
            quote=self.quote,
            past=self.past,
            figure=self.figure.text,
            document_id=p.document_id if p else "",
            chunk_id=p.chunk_id if p else "",
            heading=" > ".join(p.heading_path) if p else "",
        )


def candidates(passages: Iterable[Passage]) -> list[Candidate]:
    """Every figure the passages state for a named limit, with its dates and passage, in
    order. Pure: the same passages give the same candidates. Give one document's passages
    in their order: a sentence is read with the ones before it."""
    return [
        r.candidate()
        for r in read_passages(passages)
        if r.role == "limit" and r.name and r.passage is not None
    ]


def read_passages(passages: Iterable[Passage]) -> list[Reading]:
    """Every figure in the passages and how it was read (limit, example or other)."""
    out: list[Reading] = []
    context: _Context | None = None
    for passage in passages:
        if context is None or context.document_id != passage.document_id:
            context = _Context(passage.document_id)
        out.extend(_read_passage(passage, context))
    return out


def read_passage(passage: Passage) -> list[Reading]:
    """The figures of one passage, read on its own."""
    return _read_passage(passage, _Context(passage.document_id))


@dataclass
class _Context:
    """What the reader remembers of a document while reading it: the last sentences (for
    the scheme they are about and "before that date"), the last limit named, and the
    section's own heading ("4.3 The debt limit": what "the limit" under it is)."""

    document_id: str
    recent: list[str] = field(default_factory=list)
    named: list[Reading] = field(default_factory=list)
    heading: str = ""
    new_section: bool = False  # no sentence read yet under this heading

    def enter(self, heading: str) -> None:
        if heading != self.heading:
            self.heading, self.new_section = heading, True

    def remember(self, sentence: str, readings: list[Reading]) -> None:
        self.new_section = False
        self.recent = [*self.recent[-2:], sentence]
        self.named.extend(r for r in readings if r.name and r.role != "other")
        self.named = self.named[-8:]


def _read_passage(passage: Passage, context: _Context) -> list[Reading]:
    # the schemes the headings name; failing those, the ones the text around names
    around = _schemes(" ".join((passage.title, *passage.heading_path)))
    nearby = _schemes(" ".join((*context.recent, passage.text)))
    table = bool(_PREVIOUS_COLUMN.search(passage.text))
    examples = bool(_EXAMPLE_SECTION.search(" ".join(passage.heading_path)))
    context.enter(passage.heading_path[-1] if passage.heading_path else "")
    readings: list[Reading] = []
    for original in split_sentences(passage.text):
        sentence = readable(original)
        found = _read_sentence(
            sentence, around, context, table=table, nearby=nearby, examples=examples
        )
        for reading in found:
            reading.quote, reading.passage = original, passage
        readings.extend(found)
        context.remember(sentence, found)
    _chain(readings)
    return readings


def read_sentence(sentence: str, around: set[str] | None = None) -> list[Reading]:
    """The figures of one sentence on its own; ``around`` holds the schemes its headings
    name (a DRO, bankruptcy, breathing space, an IVA)."""
    return _read_sentence(readable(sentence), around or set(), _Context(""), table=False)


def _read_sentence(
    sentence: str,
    around: set[str],
    context: _Context,
    *,
    table: bool,
    nearby: set[str] = frozenset(),  # type: ignore[assignment]
    examples: bool = False,
) -> list[Reading]:
    figures = find_figures(sentence)
    if not figures:
        return []
    named = _schemes(sentence)
    schemes = named | (around or set(nearby))
    if _UNTRACKED.search(sentence) and not _schemes(sentence, by_name=True):
        # about another procedure: "administration orders ... the £5,000 debt limit"
        schemes = set()
    text = _Sentence(sentence, figures, _cue_matches(sentence, schemes), named)
    text.examples = examples or bool(_EXAMPLE_SENTENCE.search(sentence))
    # the first sentence under a heading looks back to the heading, not over it
    previous = context.heading if context.new_section else (context.recent or [""])[-1]
    readings: list[Reading] = []
    for i, figure in enumerate(figures):
        reading = Reading(figure, sentence, sentence)
        _name(reading, text, i, schemes, readings)
        _frame(reading, text, i, readings)
        if reading.name == THIS:
            reading.name = _referent(figure, text, readings, context, previous, schemes)
            if reading.name is None:
                reading.role = "other"
        readings.append(reading)
    _dates(readings, text, " ".join(context.recent), table)
    return readings


@dataclass
class _Sentence:
    """A sentence being read: its figures, the cues in it, the schemes it names itself,
    and where its thoughts break (a semicolon; a bracket, unless it holds only dates or
    only a figure: "(from 29 June 2021)", "(£75 a month)")."""

    text: str
    figures: list[Figure]
    cues: list[_CueMatch]
    schemes: set[str]
    breaks: list[int] = field(default_factory=list)
    examples: bool = False  # a worked example: figures not framed as limits are examples

    def __post_init__(self) -> None:
        self.breaks = [m.start() for m in _HARD_BREAK.finditer(self.text)]
        for m in re.finditer(r"\(([^()]*)\)", self.text):
            inside = m.group(1)
            for f in find_figures(inside):
                inside = inside.replace(f.text, " ")
            if _only_connectives(inside):
                self.breaks = [b for b in self.breaks if b not in (m.start(), m.end() - 1)]

    def before_at(self, i: int) -> int:
        return self.figures[i - 1].end if i else 0

    def after_at(self, i: int) -> int:
        return self.figures[i + 1].start if i + 1 < len(self.figures) else len(self.text)

    def last_break(self, floor: int, at: int) -> int:
        """Where the thought holding position ``at`` starts (not before ``floor``)."""
        return max([b + 1 for b in self.breaks if floor <= b < at], default=floor)

    def first_break(self, at: int, ceiling: int) -> int:
        """Where the words after a figure stop belonging to it."""
        hard = [b for b in self.breaks if at <= b < ceiling]
        soft = _SOFT_BREAK.search(self.text, at, ceiling)
        return min([*hard, *([soft.start()] if soft else [])], default=ceiling)


# ------------------------------------------------------------------------- which limit


@dataclass(frozen=True)
class _CueMatch:
    cue: Cue
    start: int
    end: int


def _schemes(text: str, *, by_name: bool = False) -> set[str]:
    """The schemes a text is about: by name, or (unless ``by_name``) by their own words."""
    found = {name for name, pattern in SCHEMES.items() if pattern.search(text)}
    if not by_name:
        found |= {name for name, pattern in SCHEME_WORDS.items() if pattern.search(text)}
    return found


def _cue_matches(sentence: str, schemes: set[str]) -> list[_CueMatch]:
    found = [
        _CueMatch(cue, m.start(), m.end())
        for cue in CUES
        if cue.scheme is None or cue.scheme in schemes
        for m in cue.pattern.finditer(sentence)
    ]
    # "the small claims limit", "the debt limit": the words before "limit" say which
    named = [c for c in found if c.cue.name != THIS]
    return [
        c
        for c in found
        if c.cue.name != THIS
        or not any(0 <= c.start - n.end <= 2 and n.end <= c.start for n in named)
    ]


def _words_between(text: str) -> int:
    return len(re.findall(r"[\w£']+", _FILLER.sub(" ", text)))


def _name(
    reading: Reading, text: _Sentence, i: int, schemes: set[str], earlier: list[Reading]
) -> None:
    sentence, figure = text.text, reading.figure
    before_at, after_at = text.before_at(i), text.after_at(i)
    start = text.last_break(before_at, figure.start)
    end = text.first_break(figure.end, after_at)
    if _NOT_THIS_BEFORE.search(sentence[start : figure.start]):
        reading.name, reading.role = OTHER, "other"
        return
    if figure.value == 0 and _NO_FEE.match(sentence, figure.start):
        reading.name = "dro.fee" if "dro" in schemes else None
        reading.role = "limit" if reading.name else "other"
        return
    best = _nearest_cue(figure, text, start, end)
    between = sentence[before_at : figure.start]
    previous = earlier[-1] if earlier else None
    joined = previous is not None and _only_connectives(between)
    dated_join = joined and bool(find_dates(between, months=True))
    # "£19,040 is well under the £50,000 limit": the limit the example is held against
    compared = (
        previous is not None
        and previous.role == "example"
        and bool(
            _COMPARED.match(between)
            or re.fullmatch(r"\W*(?:well |just )?(?:under|over|below|above)\W*", between)
        )
    )
    same_row = (
        previous is not None
        and previous.role == "limit"
        and (dated_join or (joined and best is None))
    )
    if (
        previous is not None
        and previous.name
        and previous.name != OTHER
        and (same_row or (compared and best is None))
        and _unit_fits(figure.unit, previous.name)
    ):
        reading.name, reading.inherited = previous.name, True
        return
    if best is None:
        default = next(
            (DEFAULTS[(s, figure.unit)] for s in sorted(schemes) if (s, figure.unit) in DEFAULTS),
            None,
        )
        framed = _STRONG_FRAME_BEFORE.search(sentence[start : figure.start]) or _LIMIT_AFTER.match(
            sentence, figure.end
        )
        reading.name = default or (THIS if framed else None)
        if reading.name is None:
            reading.role = "other"
        return
    name = best.cue.name
    if name == "bankruptcy.deposit" and _PETITION.search(sentence[start:end]):
        name = "bankruptcy.petition_deposit"
    # "one vehicle is disregarded when assets are counted if it is worth less than £4,000":
    # what is worth the figure is the vehicle
    vehicle = any(
        c.cue.name == "dro.vehicle" and start <= c.start < figure.start for c in text.cues
    )
    if name == "dro.assets" and vehicle and _WORTH.search(sentence, start, figure.start):
        name = "dro.vehicle"
    reading.name = name
    if name == OTHER:
        reading.role = "other"


def _nearest_cue(figure: Figure, text: _Sentence, start: int, end: int) -> _CueMatch | None:
    """The cue nearest the figure in its own stretch of text: the one before on a tie, then
    the longer ("petition deposit" over "deposit"), then one of a scheme the sentence
    itself names ("owed" in a sentence about a bankruptcy petition)."""
    sentence = text.text
    best: tuple[int, int, int, int, _CueMatch] | None = None
    for c in text.cues:
        if not (figure.unit in c.cue.units or _money_fits(figure, c.cue)):
            continue
        if start <= c.start and c.end <= figure.start and c.cue.side != "after":
            rank = (_words_between(sentence[c.end : figure.start]), 0)
        elif figure.end <= c.start and c.end <= end and c.cue.side != "before":
            gap = sentence[figure.end : c.start]
            if _NOT_THIS_AFTER.search(gap):
                continue
            rank = (_words_between(gap), 1)
        else:
            continue
        own = 0 if c.cue.scheme in text.schemes else 1
        key = (*rank, -(c.end - c.start), own, c)
        if best is None or key[:4] < best[:4]:
            best = key
    return best[4] if best else None


def _referent(
    figure: Figure,
    text: _Sentence,
    readings: list[Reading],
    context: _Context,
    previous: str,
    schemes: set[str],
) -> str | None:
    """The limit "the limit", "it" or "this figure" refers to: the last one named before it
    in the sentence, or by the sentence before (or the heading above the first one), or by
    the section's heading, or by the sentences before that."""

    def fits(name: str | None) -> bool:
        return bool(name) and name not in (OTHER, THIS) and _unit_fits(figure.unit, str(name))

    for r in reversed(readings):
        if fits(r.name):
            return r.name
    earlier = [c for c in text.cues if c.end <= figure.start and c.cue.scheme]
    previous_cues = [c for c in _cue_matches(previous, schemes) if c.cue.scheme]
    heading_cues = [c for c in _cue_matches(context.heading, schemes) if c.cue.scheme]
    for c in [*reversed(earlier), *reversed(previous_cues), *reversed(heading_cues)]:
        if figure.unit in c.cue.units or _money_fits(figure, c.cue):
            return c.cue.name
    for r in reversed(context.named):
        if fits(r.name):
            return r.name
    return None


def _money_fits(figure: Figure, cue: Cue) -> bool:
    # a table often leaves "a month" to its heading: £75 against the monthly limit
    return figure.unit == "GBP" and "GBP/month" in cue.units


def _unit_fits(unit: Unit, name: str) -> bool:
    cue = next(c for c in CUES if c.name == name)
    return unit in cue.units or (unit == "GBP" and "GBP/month" in cue.units)


def _only_connectives(text: str) -> bool:
    """Only dates, brackets and small words: "to", " or less (", " 28 June 2024 "."""
    left = text
    for d in find_dates(text, months=True):
        left = left.replace(d.text, " ")
    left = _CONNECTIVES.sub(" ", left)
    return not re.search(r"[A-Za-z£0-9]", left)


# ---------------------------------------------------------------- example or limit, past


def _frame(reading: Reading, text: _Sentence, i: int, earlier: list[Reading]) -> None:
    """Example or limit, and whether the text puts the figure in the past."""
    sentence, figure = text.text, reading.figure
    before_at, after_at = text.before_at(i), text.after_at(i)
    before = sentence[max(before_at, figure.start - 60) : figure.start]
    after = sentence[figure.end : after_at]
    framed = bool(_LIMIT_BEFORE.search(before) or _LIMIT_AFTER.match(after))
    compared = bool(_COMPARED.match(after) and re.search(r"£|\d|half|\bit\b", after))
    if reading.role == "limit" and reading.inherited and compared:
        reading.role = "example"  # "£75 a month or less, and £76 is over it"
    if reading.role == "limit" and not reading.inherited:
        possession = (
            _EXAMPLE_BEFORE.search(before) or _THEIRS_BEFORE.search(before)
        ) and not _NOT_POSSESSION.search(before)
        # "and £3,900 in student loans" after "Dana owes £47,200": more of the same example
        listed = (
            bool(earlier)
            and earlier[-1].role == "example"
            and bool(
                re.fullmatch(r"[\w\s']*?\b(?:and|plus)\s*", sentence[before_at : figure.start])
            )
        )
        increment = re.match(r"^\s*(?:more|less|extra|short)\b(?! than)", after)
        # in a worked example, a sum not framed as a limit is the client's
        unframed = not framed and text.examples and figure.unit in _MONEY
        client = (possession or listed) and not framed
        if client or compared or increment or unframed:
            reading.role = "example"
    past = _PAST_BEFORE.search(before)
    if past or _PAST_AFTER.search(after):
        reading.past = True
    # "from £30,000 to £50,000", "went up from £990": the old value of a change
    if past and re.search(r"\bfrom\s+$", before, re.I):
        reading.change_from = True
    elif re.search(r"\bfrom\s+$", before, re.I) and re.match(r"^\s*to\b", after):
        reading.past = reading.change_from = True


# ------------------------------------------------------------------------------ dates


def _dates(readings: list[Reading], text: _Sentence, earlier: str, table: bool) -> None:
    """Give each figure the dates the sentence states for it."""
    sentence, figures = text.text, text.figures
    for i, reading in enumerate(readings):
        figure = reading.figure
        after_at = text.after_at(i)
        own = _dates_after(sentence[figure.end : after_at])
        if own is None:
            clause_at = text.last_break(0, figure.start)
            before_at = max(text.before_at(i), clause_at)
            before = sentence[before_at : figure.start]
            first_in_clause = not i or figures[i - 1].end <= clause_at
            # a date between two figures is this one's when the words say so ("and before
            # October 2015 it was £15,000"); a bare one belongs to the figure before it
            if first_in_clause or _dates_after(sentence[figures[i - 1].end : figure.start]) is None:
                own = _dates_before(before, point=first_in_clause)
            if own is None:  # a date that opens the clause: "From 28 June 2024 the limit ..."
                first = next(f for f in figures if f.start >= clause_at)
                own = _dates_before(sentence[clause_at : first.start])
        if own is not None:
            _apply(reading, own)
        lead = sentence[text.last_break(0, figure.start) : figure.start]
        tail = sentence[figure.end : after_at]
        if _THAT_DATE.search(lead) or _THAT_DATE.match(tail):
            last = find_dates(f"{earlier} {sentence[: figure.start]}", months=True)
            if last:
                reading.effective_from = None
                reading.effective_to = last[-1].value - timedelta(days=1)
                reading.past = True
        elif _SINCE_THEN.search(lead) and reading.effective_from is None:
            last = find_dates(f"{earlier} {sentence[: figure.start]}", months=True)
            if last:
                reading.effective_from = last[-1].value
    _changes(readings)
    _updates(readings, sentence)
    _before_marks(readings, sentence)
    if table:
        _previous_column(readings)


def _dates_after(after: str) -> Period | None:
    """Dates right after a figure belong to it: "£4,000 28 June 2024" (a table's "in force
    from" column), "£30,000 29 June 2021 to 27 June 2024", "on 1 October 2015"."""
    head = re.split(r";|\.\s", after, maxsplit=1)[0]
    found = find_dates(head, months=True)
    if not found:
        return None
    lead = _INCLUSIVE_WORDS.sub(" before ", head[: found[0].start])  # "or" there joins no clause
    if _SOFT_BREAK.search(lead):
        return None  # ", and before October 2015 it was £15,000": the next figure's date
    cue = re.search(r"(?:from|since|until|till|before|after|on|in)\s*$", lead, re.I)
    if _words_between(_CONNECTIVES.sub(" ", lead)) > 3 and not cue:
        return None
    if len(re.findall(r"[\w£']+", lead)) > 8:
        return None
    period = _read_period(head)
    if period.start or period.until:
        return period
    first = found[0]
    if re.fullmatch(r"[\s(]*(?:(?:or (?:less|more)|a month)\s*)*(?:on\s*)?", lead, re.I):
        return _period_from(first.value, first.precision)
    return None


def _dates_before(before: str, *, point: bool = True) -> Period | None:
    found = find_dates(before, months=True)
    if not found:
        return None
    period = _read_period(before)
    if period.start or period.until:
        return period
    last = found[-1]
    lead = before[: last.start]
    if re.search(
        r"\b(?:began|begun|started|introduced|came into force)\s+(?:on|in)\s*$", lead, re.I
    ):
        return _period_from(last.value, last.precision)
    if point and re.search(r"\bon\s*$", lead, re.I) and last.precision == "day":
        return Period(last.value, last.value, "day", [last.value])  # in force on that day
    return None


# "on or before 27 June 2024", "up to and including 27 June 2024", "until 27 June 2024
# inclusive": that day is the last one (a plain "before" or "until" ends the day before).
_INCLUSIVE_WORDS = re.compile(r"\b(?:on or before|(?:up )?to and including)\b", re.I)
_INCLUSIVE_AFTER = re.compile(r"\d{4}\s*\(?inclusive\b", re.I)


def _read_period(text: str) -> Period:
    """:func:`rma.text.read_period`, with an inclusive end (see ``_INCLUSIVE_WORDS``)
    ending on its own day."""
    period = read_period(_INCLUSIVE_WORDS.sub("before", text))
    inclusive = _INCLUSIVE_WORDS.search(text) or _INCLUSIVE_AFTER.search(text)
    if inclusive and period.until is not None:
        period = replace(period, until=period.until + timedelta(days=1))
    return period


def _period_from(day: date, precision: str) -> Period:
    return Period(day, None, "month" if precision == "month" else "day", [day])


def _apply(reading: Reading, period: Period) -> None:
    if period.start:
        reading.effective_from = period.start
        reading.from_precision = "month" if period.precision == "month" else "day"
    if period.until:
        reading.effective_to = period.until
        # "until June 2021", "before October 2015": the end is known to the month
        month_end = (period.until + timedelta(days=1)).day == 1
        reading.to_precision = "month" if month_end and period.until not in period.dates else "day"


def _changes(readings: list[Reading]) -> None:
    """The old value of a change ("from £30,000 to £50,000", "went up from £990") ends the
    day before the new value of the same limit in the sentence starts."""
    for old in readings:
        if not old.change_from:
            continue
        new = next(
            (r for r in readings if r is not old and r.name == old.name and not r.change_from),
            None,
        )
        if new is None:
            continue
        day = new.effective_from or old.effective_from
        if day is None:
            continue
        if new.effective_to == day:  # "On 29 June 2021 ... rose to £30,000": from that day
            new.effective_to = None
        old.effective_from = None
        old.effective_to = day - timedelta(days=1)
        old.to_precision = new.from_precision
        new.effective_from = day


def _updates(readings: list[Reading], sentence: str) -> None:
    """ "£30,000 or less (£50,000 with effect from 28 June 2024)": the value before the
    bracket ends the day before the one in it starts."""
    for old, new in itertools.pairwise(readings):
        between = sentence[old.figure.end : new.figure.start]
        if (
            new.inherited
            and new.name == old.name
            and "(" in between
            and new.effective_from
            and old.effective_from is None
            and old.effective_to is None
        ):
            old.effective_to = new.effective_from - timedelta(days=1)
            old.past = True


def _before_marks(readings: list[Reading], sentence: str) -> None:
    """ "£5,000 From 1 October 2015 (£750 before)": the bracketed value ends the day before
    the one it follows starts."""
    for new, old in itertools.pairwise(readings):
        after = sentence[old.figure.end : old.figure.end + 12]
        if old.name == new.name and new.effective_from and re.match(r"\s*before\s*\)", after, re.I):
            old.effective_from = None
            old.effective_to = new.effective_from - timedelta(days=1)
            old.past = True


def _previous_column(readings: list[Reading]) -> None:
    """In a table with a "previous" column, an undated value after a dated one of the same
    limit is the value it replaced."""
    for current, previous in itertools.pairwise(readings):
        if (
            previous.inherited
            and previous.name == current.name
            and current.effective_from
            and previous.effective_from is None
            and previous.effective_to is None
        ):
            previous.effective_to = current.effective_from - timedelta(days=1)
            previous.past = True


def _chain(readings: Sequence[Reading]) -> None:
    """Values of one limit that a passage dates from a start: each but the latest is past
    ("£20,000 on 1 October 2015 and £30,000 from 29 June 2021"). It ended by the next start
    the passage gives, not necessarily on it, so no end date is made up."""
    by_name: dict[str, list[Reading]] = {}
    for r in readings:
        if r.role == "limit" and r.name and r.effective_from:
            by_name.setdefault(r.name, []).append(r)
    for group in by_name.values():
        latest = max(r.effective_from for r in group if r.effective_from)
        for r in group:
            if r.effective_from and r.effective_from < latest and r.effective_to is None:
                r.past = True


__all__ = [
    "CUES",
    "Figure",
    "Passage",
    "Reading",
    "candidates",
    "figure_in_text",
    "find_figures",
    "read_passage",
    "read_passages",
    "read_sentence",
    "readable",
]
