"""What code reads from an adviser's case notes: amounts, dates, creditors, actions.

These readings are the ground truth the letter is checked against, so they are made
by code, never by the model. Notes are terse ("cl owes £4.2k to Lowell, agreed to
send SFS by 12/3"): amounts and dates are read by :mod:`rma.text` (dates without a
year resolved against the appointment date), and common adviser abbreviations are
expanded so a letter's plain words can be matched against them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from rma.text import Amount, FoundDate, find_amounts, find_dates

# ---------------------------------------------------------------- abbreviations

# Adviser shorthand -> plain words. Used to match letters against notes, and to give
# the model a glossary of the abbreviations a set of notes actually uses.
ABBREVIATIONS: dict[str, str] = {
    "cl": "client",
    "clt": "client",
    "adv": "adviser",
    "sfs": "Standard Financial Statement",
    "i&e": "income and spending",
    "ccj": "County Court Judgment",
    "ct": "council tax",
    "ctr": "council tax reduction",
    "dro": "Debt Relief Order",
    "iva": "Individual Voluntary Arrangement",
    "dmp": "debt management plan",
    "bs": "breathing space",
    "uc": "Universal Credit",
    "hb": "Housing Benefit",
    "pip": "Personal Independence Payment",
    "esa": "Employment and Support Allowance",
    "ea": "enforcement agent",
    "eas": "enforcement agents",
    "ho": "holding letter",
    "f&f": "full and final settlement",
    "lbc": "London Borough Council",
    "arrs": "arrears",
    "arr": "arrears",
    "o/s": "outstanding",
    "bal": "balance",
    "stmts": "statements",
    "stmt": "statement",
    "docs": "documents",
    "appt": "appointment",
    "f2f": "face-to-face",
    "tel": "telephone",
    "re": "about",
    "w/": "with",
    "pm": "a month",
    "pw": "a week",
    "asap": "as soon as possible",
    "tbc": "to be confirmed",
    "n1": "claim form",
    "n9": "reply form",
    "hmrc": "HM Revenue and Customs",
    "dwp": "Department for Work and Pensions",
    "tvl": "TV licence",
    "hp": "hire purchase",
    "mags": "magistrates",
    "pcn": "parking penalty",
    "ni": "National Insurance",
}


def whole_words(words: Iterable[str]) -> re.Pattern[str]:
    """Any of ``words`` standing alone (longest first), ignoring case."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![\w&/])(" + alternatives + r")(?![\w&/])", re.IGNORECASE)


_ABBREVIATION = whole_words(ABBREVIATIONS)


def expand_abbreviations(text: str) -> str:
    """``text`` with adviser shorthand spelled out (for matching, not for the letter)."""
    return _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)


def abbreviations_used(text: str) -> dict[str, str]:
    """The shorthand that ``text`` uses, as written, with its meaning."""
    found: dict[str, str] = {}
    for m in _ABBREVIATION.finditer(text):
        found.setdefault(m.group(1), ABBREVIATIONS[m.group(1).lower()])
    return found


# ------------------------------------------------------------------ appointment

_APPOINTMENT_WORD = re.compile(
    r"\b(?:date|appt|appointment|seen|interview|f2f|tel)\b", re.IGNORECASE
)


def appointment_date(notes: str, today: date) -> date | None:
    """The date the notes say the appointment was: the first date on one of the first
    lines that names it ("Date: 5/3/25", "Appt 14/01/2025") or starts with it."""
    for line in notes.strip().splitlines()[:3]:
        dates = find_dates(line, today)
        starts_with_date = dates and dates[0].start == len(line) - len(line.lstrip())
        if dates and (_APPOINTMENT_WORD.search(line) or starts_with_date):
            return dates[0].value
    return None


# -------------------------------------------------------------------- creditors

# Creditors and collectors advisers meet often; used to spot a creditor a letter names
# that the notes never mention. Names the model extracts are checked as well.
KNOWN_CREDITORS: tuple[str, ...] = (
    "Lowell",
    "Cabot",
    "Intrum",
    "PRA Group",
    "Arrow Global",
    "Moorcroft",
    "Link Financial",
    "Hoist",
    "Capquest",
    "Marlin",
    "Vanquis",
    "Capital One",
    "Barclaycard",
    "Barclays",
    "Aqua",
    "Marbles",
    "Fluid",
    "Tesco Bank",
    "Sainsbury's Bank",
    "MBNA",
    "Halifax",
    "Lloyds",
    "HSBC",
    "NatWest",
    "Santander",
    "Nationwide",
    "Monzo",
    "Starling",
    "Virgin Money",
    "Very",
    "Littlewoods",
    "JD Williams",
    "Studio",
    "Klarna",
    "Clearpay",
    "PayPal",
    "Amigo",
    "Provident",
    "Morses Club",
    "Everyday Loans",
    "Oakbrook",
    "118 118 Money",
    "Zopa",
    "Hitachi",
    "Close Brothers",
    "Moneybarn",
    "BrightHouse",
    "British Gas",
    "EDF",
    "E.ON",
    "Octopus",
    "OVO",
    "Scottish Power",
    "Octopus Energy",
    "Thames Water",
    "Yorkshire Water",
    "Severn Trent",
    "United Utilities",
    "Anglian Water",
    "Southern Water",
    "BT",
    "Sky",
    "Virgin Media",
    "Vodafone",
    "EE",
    "O2",
    "Three",
    "HMRC",
    "DWP",
    "TV Licensing",
    "Marston",
    "Bristow & Sutor",
    "Jacobs",
    "Equita",
    "Rossendales",
    "Newlyn",
    "Student Loans Company",
)


# Words that say what kind of body a creditor is, not which one.
def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GENERIC_NAME_WORDS = _wordset(
    "ltd limited plc uk group financial finance bank services service city borough district "
    "county council metropolitan the of and co company card credit loans loan energy water "
    "collections collection debt recovery solutions"
)

PRIORITY_WORDS: dict[str, str] = {
    "council tax": "council tax",
    "rent": "rent arrears",
    "mortgage": "mortgage arrears",
    "gas": "gas",
    "electric": "electricity",
    "energy": "gas or electricity",
    "british gas": "gas",
    "edf": "gas or electricity",
    "octopus": "gas or electricity",
    "ovo": "gas or electricity",
    "e.on": "gas or electricity",
    "scottish power": "gas or electricity",
    "magistrates": "a magistrates' court fine",
    "court fine": "a magistrates' court fine",
    "child maintenance": "child maintenance",
    "cms": "child maintenance",
    "income tax": "income tax",
    "hmrc": "tax owed to HMRC",
    "vat": "VAT",
    "national insurance": "National Insurance",
    "tv licen": "TV licence",
    "hire purchase": "hire purchase",
}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Lower-case word stems, for loose matching of plain words against shorthand."""
    plain = re.sub(r"'s\b", "", text.lower().replace("’", "'"))
    return [_stem(w.strip("'")) for w in re.findall(r"[a-z0-9']+", plain) if w.strip("'")]


def name_in_text(name: str, text: str) -> bool:
    """Whether creditor ``name`` is mentioned in ``text`` (case-insensitive; a body's
    own name must appear, generic words like "City Council" may be spelt out)."""
    haystack = set(words(expand_abbreviations(text)))
    tokens = [w for w in words(name) if w]
    specific = [w for w in tokens if w not in {_stem(g) for g in _GENERIC_NAME_WORDS}]
    needed = specific or tokens
    if not needed:
        return False
    if all(w in haystack for w in needed):
        return True
    # Names with punctuation or digits ("E.ON", "118 118 Money") as written.
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.IGNORECASE) is not None


def known_creditors_in(text: str) -> list[str]:
    """Known creditor names mentioned in ``text`` (longest names first win)."""
    found: list[str] = []
    for name in sorted(KNOWN_CREDITORS, key=len, reverse=True):
        pattern = r"(?<![\w])" + re.escape(name) + r"(?![\w])"
        flags = 0 if len(name) <= 4 or name in {"Very", "Three", "Studio", "Fluid"} else re.I
        if re.search(pattern, text, flags) and not any(name in f for f in found):
            found.append(name)
    return found


def priority_kind(text: str) -> str | None:
    """What makes a debt described by ``text`` a priority debt, if anything does."""
    plain = expand_abbreviations(text).lower()
    for word, kind in PRIORITY_WORDS.items():
        if re.search(r"(?<![a-z])" + re.escape(word), plain):
            return kind
    return None


# ---------------------------------------------------------------------- actions

Owner = Literal["us", "client"]

_OUR_MARKERS = re.compile(
    r"\b(?:we|i|adv|adviser|advisor|rma|org)\s+(?:to|will|shall|would|agreed to|can)\b"
    r"|\bwe'll\b|\bwe’ll\b|\bi'll\b|\bwe are to\b",
    re.IGNORECASE,
)
_CLIENT_MARKERS = re.compile(
    r"\b(?:cl|clt|client|c|she|he|they|you)\s+(?:to|will|agreed to|needs? to|must|should|"
    r"has to|is to|said (?:she|he|they)(?:'d| would))\b|\bagreed to\b|\b(?:cl|client) agreed\b",
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^\s*(?P<who>our|we|adv(?:iser)?|org|cl(?:ient)?|clt|your?)?\s*(?:'s\s*)?"
    r"(?:actions?|to do|todo|next steps?)\s*(?:\((?P<who2>[^)]*)\))?\s*:\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_NONE = re.compile(r"^\s*(?:(?:none|n/?a|nil|nothing)\b.*|-+\.?\s*)$", re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r"(?:\n|;|\.\s+|,\s+(?=\D)|\s+-\s+|\s+&\s+(?=(?:we|cl|client)\b))")


# Verbs that start an action clause with its subject left out ("..., send to court").
_ACTION_VERB = re.compile(
    r"^(?:send|call|ring|phone|write|email|apply|ask|check|get|pay|bring|sign|return|"
    r"attend|draft|complete|fill in|post|contact|chase|request|provide|make|book|cancel)\b",
    re.IGNORECASE,
)


@dataclass
class NoteAction:
    """An action code found in the notes: who does it, the clause, and any deadline."""

    owner: Owner
    text: str
    due: date | None = None
    key_words: list[str] = field(default_factory=list)


_ACTION_STOP = _wordset(
    "a an the to and or of for by on in at with we i you your our us client adviser cl clt "
    "will agreed agree shall should must need needs has is are be it this that their them "
    "she he they her his asap about re as if from all so"
)
_ACTION_STOP_STEMS = frozenset(_stem(w) for w in _ACTION_STOP)


def _owner_of_heading(line: str) -> tuple[Owner | None, str] | None:
    m = _HEADING.match(line)
    if not m:
        return None
    who = (m.group("who") or m.group("who2") or "").lower()
    if who in ("our", "we", "adv", "adviser", "org") or who.startswith(("we", "adv", "our")):
        return "us", m.group("rest")
    if who:
        return "client", m.group("rest")
    return None, m.group("rest")


def find_actions(notes: str, reference: date) -> list[NoteAction]:
    """Actions in the notes: clauses with "we to"/"cl to"/"agreed to", and lines under
    an "Our actions:" / "Client actions:" heading. "None" under a heading is no action."""
    actions: list[NoteAction] = []
    section: Owner | None = None
    for raw_line in notes.splitlines():
        line = raw_line.strip()
        if not line:
            section = None
            continue
        heading = _owner_of_heading(line)
        if heading is not None:
            section, line = heading
            if not line.strip() or _NONE.match(line):
                continue
        elif re.match(r"^[A-Za-z ]{2,30}:\s*$", line):
            section = None  # another heading ends an actions list
            continue
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line)
        line_owner: Owner | None = None
        for clause in _CLAUSE_SPLIT.split(line):
            clause = clause.strip(" .,;")
            if len(clause) < 4 or _NONE.match(clause):
                continue
            owner: Owner | None = None
            if _OUR_MARKERS.search(clause):
                owner = "us"
            elif _CLIENT_MARKERS.search(clause):
                owner = "client"
            elif section is not None:
                owner = section
            elif line_owner is not None and _ACTION_VERB.match(clause):
                owner = line_owner  # "we to draft defence, send to court by 29/8"
            if owner is None:
                continue
            line_owner = owner
            dates = find_dates(clause, reference)
            undated = clause
            for d in reversed(dates):
                undated = undated[: d.start] + " " * len(d.text) + undated[d.end :]
            plain = expand_abbreviations(undated)
            key = [
                w
                for w in words(plain)
                if w not in _ACTION_STOP_STEMS and not w.isdigit() and len(w) > 1
            ]
            if key:
                actions.append(NoteAction(owner, clause, dates[0].value if dates else None, key))
    return actions


# -------------------------------------------------------------------- the notes


@dataclass
class NotesFacts:
    """Everything code reads from one set of notes, resolved against the appointment date."""

    text: str
    appointment: date
    amounts: list[Amount]
    dates: list[FoundDate]
    creditors: list[str]
    actions: list[NoteAction]

    @classmethod
    def read(cls, notes: str, appointment: date) -> NotesFacts:
        return cls(
            text=notes,
            appointment=appointment,
            amounts=find_amounts(notes),
            dates=find_dates(notes, appointment),
            creditors=known_creditors_in(notes),
            actions=find_actions(notes, appointment),
        )

    def has_amount(self, value: Decimal) -> bool:
        return any(a.value == value for a in self.amounts)

    def has_date(self, value: date, *, year_given: bool = True) -> bool:
        if year_given:
            return any(d.value == value for d in self.dates)
        return any((d.value.day, d.value.month) == (value.day, value.month) for d in self.dates)

    def mentions(self, creditor: str) -> bool:
        return name_in_text(creditor, self.text)
