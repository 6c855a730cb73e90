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
from functools import cached_property
from typing import Literal

from rma.notes import glossary
from rma.text import MONTHS, WEEKDAYS, Amount, FoundDate, find_amounts, find_dates

# ---------------------------------------------------------------- abbreviations


def expand_abbreviations(text: str) -> str:
    """``text`` with adviser shorthand spelled out (for matching, not for the letter)."""
    return glossary.expand(text, KNOWN_CREDITORS)


def abbreviations_used(text: str) -> dict[str, str]:
    """The shorthand that ``text`` uses, as written, with its meaning."""
    return glossary.used_in(text)


# ------------------------------------------------------------------ appointment

_APPOINTMENT_WORD = re.compile(
    r"\b(?:date|appt|appointment|seen|interview|f2f|tel)\b", re.IGNORECASE
)


def appointment_date(notes: str, today: date) -> date | None:
    """The date the notes say the appointment was: the first date on one of the first
    lines that names it ("Date: 5/3/25", "Appt 14/01/2025") or starts with it."""
    for line in notes.strip().splitlines()[:3]:
        # "w/c 11/11/24 - seen Weds 13/11": a week commencing is not the day, but its
        # year is the year of a day written without one.
        with_year = [d.value for d in find_dates(line, today) if d.year_given]
        dates = [
            d
            for d in find_dates(line, with_year[0] if with_year else today)
            if not line[: d.start].rstrip().lower().endswith("w/c")
        ]
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
    "Loans 2 Go",
    "Lending Stream",
    "Moneyboat",
    "Drafty",
    "Likely Loans",
    "Cabot Financial",
    "Hoist Finance",
    "NewDay",
    "American Express",
    "Amex",
    "PayPal Credit",
    "Nat West",
    "Monzo Flex",
    "Places for People",
    "Clarion",
    "Peabody",
    "Sanctuary",
    "Child Maintenance Service",
    "Rossendales",
    "Drafty",
    "Everyday Loans",
    "Bamboo",
    "Lendable",
    "Creation",
    "Jaja",
    "Zable",
    "Tymit",
    "Ocean Finance",
    "Shop Direct",
    "Freemans",
    "Simply Be",
    "Argos",
    "Ford Credit",
    "Black Horse",
    "Santander Consumer",
    "Motonovo",
    "Blue Motor Finance",
    "Water Plus",
    "Welsh Water",
    "Northumbrian Water",
    "South West Water",
    "Wessex Water",
)


MONTHS_AND_DAYS = frozenset(MONTHS) | frozenset(WEEKDAYS)


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

ACTION_VERBS = glossary.ACTION_VERBS
_VERB = rf"(?:{ACTION_VERBS})"
_OUR_SUBJECT = (
    r"(?:we|i|adv|adviser|advisor|rma|org)\s+(?:to|will|shall|would|agreed to|can)\b"
    r"|we'll\b|we’ll\b|i'll\b|i’ll\b|we are to\b"
)
_CLIENT_WORD = r"(?:cl|clt|cleint|client|clients|c|she|he|they|you|both)"
_CLIENT_SUBJECT = (
    rf"{_CLIENT_WORD}\s+(?:also\s+)?(?:to|will|agreed to|needs? to|must|should|is to|"
    rf"said (?:she|he|they)(?:'d| would))\b|agreed to\b|(?:cl|client) agreed\b|"
    rf"(?:cl|clt|client)\s+(?={_VERB}s\b)|told (?:cl|clt|client|her|him|them)\b\s*:?"
)
# Another person of the household by name ("Dev to pay", "Anna to bring"): a capitalised
# word, then "to"/"will", then an action verb. All-capital words are roles ("CPN to ask").
_NAMED_SUBJECT = re.compile(
    rf"(?<![\w'])(?P<name>[A-Z][a-z]{{2,}})(?:\s+(?:and|&|\+)\s+[A-Z][a-z]{{2,}})?\s+"
    rf"(?:also\s+)?(?:to|will|should|agreed to)\s+(?={_VERB}\b)"
)
_NOT_NAMES = _wordset(
    "agreed explained advised told need needs must also then next the this that they she he "
    "and but will may can cannot could would should client clients both adviser"
)
_LEAD_IN = r"(?:(?:agreed|also|then|so|plus)\s*:?\s+)?"
_OUR_MARKERS = re.compile(rf"^\s*{_LEAD_IN}(?:{_OUR_SUBJECT})", re.IGNORECASE)
_CLIENT_MARKERS = re.compile(rf"^\s*{_LEAD_IN}(?:{_CLIENT_SUBJECT})", re.IGNORECASE)
_HEADING = re.compile(
    r"^\s*(?P<who>our|we|adv(?:iser)?|org|cl(?:ient)?|clt|your?)?\s*(?:'s\s*)?"
    r"(?:actions?|to do|todo|next steps?)\s*(?:\((?P<who2>[^)]*)\))?\s*:\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_NONE = re.compile(r"^\s*(?:(?:none|n/?a|nil|nothing)\b.*|-+\.?\s*)$", re.IGNORECASE)
# A statement about someone else, after an instruction: "..., EA can't force entry".
_STATEMENT = r"(?-i:[A-Z]{2,5})\s+(?:can't|cannot|can|won't|will not|must not|mustn't)\s"
# What the client was told, as the instruction itself: "told cl: don't let EA in".
_TOLD = re.compile(r"^\s*told\s+(?:cl|clt|client|her|him|them)\b\s*:?\s*", re.IGNORECASE)
# Sentences: a line, ";" or a full stop before a space (not in "approx." or "s.2").
_SENTENCE_SPLIT = re.compile(r"\n|;\s*|(?<![A-Z])(?<!\b[a-z])(?<!approx)(?<!\bno)\.\s+")
# Inside a sentence, a new clause starts where a separator is followed by a subject or
# an action verb: "cl to open acct + move wages", "I will call X, cl posts to court".
_CLAUSE_START = re.compile(
    rf"(?:,\s*(?:\+\s*|and\s+)?|\s+-+\s+|\s*\+\s*|\s+&\s+|:\s+|\s+and\s+(?:then\s+)?)"
    rf"(?=(?:{_OUR_SUBJECT}|{_CLIENT_SUBJECT}|(?:to\s+)?{_VERB}\b|"
    rf"[A-Z][a-z]{{2,}}\s+(?:to|will|should)\s+{_VERB}\b|{_STATEMENT}))",
    re.IGNORECASE,
)
# A clause that holds an action back: a standing offer, something on hold, a condition.
_NOT_YET = re.compile(
    r"\b(?:on hold|hold for now|if (?:cl |she |he |they )?wants?|if things change|"
    r"decided not)\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"\b(?:once|when|after|if|until)\b", re.IGNORECASE)
_NEXT_APPOINTMENT = re.compile(
    r"\b(?:next|review|full|follow-?up)\s+(?:tel\s+|f2f\s+)?(?:appt|appointment|visit|"
    r"apointment|review)\b|^\s*next\s*:",
    re.IGNORECASE,
)
_AT_NEXT_APPOINTMENT = re.compile(
    r"\b(?:at|to|by|before)?\s*(?:the\s+)?next\s+(?:appt|appointment|visit|wk|week)\b",
    re.IGNORECASE,
)


@dataclass
class NoteAction:
    """An action code found in the notes: who does it, the clause, and any deadline.
    ``person`` names someone of the household other than the client ("Dev")."""

    owner: Owner
    text: str
    due: date | None = None
    key_words: list[str] = field(default_factory=list)
    person: str | None = None
    due_text: str | None = None
    # The key words of each clause joined into this action ("don't let EA in" and "speak
    # thru letterbox"): a sentence saying one of them says something the notes say.
    parts: list[list[str]] = field(default_factory=list)

    def clauses_key_words(self) -> list[list[str]]:
        return self.parts or [self.key_words]


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


def next_appointment(notes: str, reference: date) -> date | None:
    """The date of the next appointment the notes name ("next appt 20/2 2pm")."""
    for sentence in _SENTENCE_SPLIT.split(notes):
        m = _NEXT_APPOINTMENT.search(sentence)
        if m is None:
            continue
        dates = find_dates(sentence[m.start() :], reference, relative=True)
        later = [d.value for d in dates if d.value > reference]
        if later:
            return later[0]
    return None


def _named(clause: str) -> str | None:
    m = _NAMED_SUBJECT.match(clause.strip())
    if m is None or m.group("name").lower() in _NOT_NAMES:
        return None
    if m.group("name") in KNOWN_CREDITORS or m.group("name").lower() in MONTHS_AND_DAYS:
        return None
    return m.group("name")


def _clauses(sentence: str) -> list[str]:
    parts, start = [], 0
    for m in _CLAUSE_START.finditer(sentence):
        parts.append(sentence[start : m.start()])
        start = m.end()
    parts.append(sentence[start:])
    return [p.strip(" .,;:-") for p in parts if p.strip(" .,;:-")]


_PRONOUN_OBJECT = re.compile(rf"^(?:to\s+)?{_VERB}\s+(?:them|it|him|her|this|that)\b", re.I)


def _joined(
    found: list[NoteAction], inherit: list[bool], groups: list[int]
) -> tuple[list[NoteAction], list[bool], list[int]]:
    """One action where a split would lose its meaning: "cl to call Klarna + set up plan
    by 22/11" (the first part has no deadline of its own), "+ give them our letter" (its
    object is in the part before), "... cl posts to court by 14/10" (too short alone)."""
    out: list[tuple[NoteAction, bool, int]] = []
    for action, may_inherit, group in zip(found, inherit, groups, strict=True):
        mine = [i for i, (a, _, _) in enumerate(out) if a.owner == action.owner]
        if mine:
            at = mine[-1]
            last, last_inherit, last_group = out[at]
            same = last_group == group and at == len(out) - 1
            short = len(action.key_words) <= 2
            joins = same and (last.due is None or _PRONOUN_OBJECT.match(action.text))
            if (joins or short) and (last.due is None or action.due in (None, last.due)):
                merged = NoteAction(
                    last.owner,
                    last.text + " and " + _bare(action.text),
                    last.due or action.due,
                    last.key_words + [w for w in action.key_words if w not in last.key_words],
                    last.person,
                    last.due_text or action.due_text,
                    last.clauses_key_words() + action.clauses_key_words(),
                )
                out[at] = (merged, last_inherit and may_inherit, last_group)
                continue
        out.append((action, may_inherit, group))
    return [a for a, _, _ in out], [i for _, i, _ in out], [g for _, _, g in out]


def _bare(clause: str) -> str:
    """A joined clause without its subject: "cl posts to court" -> "post to court"."""
    m = re.match(rf"^\s*(?:cl|clt|client)\s+(?P<verb>{_VERB})e?s\b", clause, re.I)
    if m:
        return m.group("verb") + clause[m.end() :]
    return re.sub(rf"^\s*{_LEAD_IN}(?:{_CLIENT_SUBJECT})\s*", "", clause, flags=re.I)


def find_actions(notes: str, reference: date, client_names: Iterable[str] = ()) -> list[NoteAction]:
    """Actions in the notes: clauses with "we to"/"cl to"/"agreed to"/"Dev to", and
    lines under an "Our actions:" / "Client actions:" heading. A clause split off by a
    verb ("..., + move wages before 9/12") shares its neighbour's deadline; "today",
    "by fri", "next wk" (the next appointment) are deadlines too. "None" under a
    heading, a standing offer ("call back if wants") and a task on hold are no action.
    ``client_names`` are the client's own names: "Piotr to call" is the client's."""
    mine = {n.lower() for name in client_names for n in name.split()}
    following = next_appointment(notes, reference)
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
        for sentence in _SENTENCE_SPLIT.split(line):
            actions += _sentence_actions(sentence, section, reference, following, mine)
    return actions


def _sentence_actions(
    sentence: str,
    section: Owner | None,
    reference: date,
    following: date | None,
    client_names: set[str],
) -> list[NoteAction]:
    found: list[NoteAction] = []
    owner: Owner | None = None
    person: str | None = None
    inherit: list[bool] = []  # whether each action may take a neighbour's deadline
    groups: list[int] = []  # clauses of one subject: "cl to X + Y by 9/12" is one group
    group = 0
    for clause in _clauses(sentence):
        if len(clause) < 4 or _NONE.match(clause):
            continue
        name = _named(clause)
        if _OUR_MARKERS.search(clause):
            owner, person, group = "us", None, group + 1
        elif _CLIENT_MARKERS.search(clause):
            owner, person, group = "client", None, group + 1
            clause = _TOLD.sub("", clause)
        elif name is not None:
            owner, group = "client", group + 1
            person = None if name.lower() in client_names else name
        elif section is not None and owner is None:
            owner = section
        elif owner is None or not re.match(rf"^(?:to\s+)?{_VERB}\b", clause, re.IGNORECASE):
            owner = None if section is None else owner
            continue
        if _NEXT_APPOINTMENT.search(clause) and not re.search(_VERB, clause, re.IGNORECASE):
            continue
        if _NOT_YET.search(clause):
            continue
        dates = find_dates(clause, reference, relative=True)
        # A date after "on" is when something happens ("attend hearing on 3/9"), and
        # stays in the sentence; it is the deadline only in the reader's eyes.
        dates = [d for d in dates if not re.search(r"\bon\s*$", clause[: d.start], re.I)]
        due = dates[0].value if dates else None
        due_text = dates[0].text if dates else None
        if due is None and following is not None:
            at_next = _AT_NEXT_APPOINTMENT.search(clause)
            if at_next:
                due, due_text = following, at_next.group(0).strip()
        undated = clause
        for d in reversed(dates):
            undated = undated[: d.start] + " " * len(d.text) + undated[d.end :]
        key = [
            w
            for w in words(expand_abbreviations(undated))
            if w not in _ACTION_STOP_STEMS and not w.isdigit() and len(w) > 1
        ]
        if key:
            found.append(NoteAction(owner, clause, due, key, person, due_text))
            inherit.append(due is None and not _CONDITION.search(clause))
            groups.append(group)
    found, inherit, groups = _joined(found, inherit, groups)
    # "send payslips + bank stmts by 9/12": a deadline covers the clauses of its group
    # before it that have none, then any after it ("& send us crime ref").
    for i, action in enumerate(found):
        if not inherit[i]:
            continue
        same = [j for j in range(len(found)) if groups[j] == groups[i] and found[j].due]
        later = [found[j] for j in same if j > i]
        earlier = [found[j] for j in same if j < i]
        source = later[0] if later else earlier[-1] if earlier else None
        if source is not None:
            action.due, action.due_text = source.due, source.due_text
    return found


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
    def read(cls, notes: str, appointment: date, client_names: Iterable[str] = ()) -> NotesFacts:
        return cls(
            text=notes,
            appointment=appointment,
            amounts=find_amounts(notes),
            dates=find_dates(notes, appointment, relative=True),
            creditors=known_creditors_in(notes),
            actions=find_actions(notes, appointment, client_names),
        )

    def has_amount(self, value: Decimal) -> bool:
        return any(a.value == value for a in self.amounts)

    def has_date(self, value: date, *, year_given: bool = True) -> bool:
        if year_given:
            return any(d.value == value for d in self.dates)
        return any((d.value.day, d.value.month) == (value.day, value.month) for d in self.dates)

    def mentions(self, creditor: str) -> bool:
        return name_in_text(creditor, self.text)

    @cached_property
    def spelt_out(self) -> str:
        """The notes with their shorthand spelt out (for matching, not for a letter)."""
        return expand_abbreviations(self.text)
