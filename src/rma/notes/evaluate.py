"""The independent judge of letters: a letter scored against a hand-written answer key.

Each set of case notes in the corpus (``corpora/notes``) has a key written by a person
from the notes alone: the debts with their balances, the client's actions with their
deadlines, the adviser's actions, the advice, what must not appear as a client action,
every date and the shorthand used. :func:`score_letter` compares the JSON that
``POST /convert`` returns with that key and reports recall and precision for debts,
amounts, actions and deadlines, whether the advice is there, shorthand that leaked into
the letter, and things wrongly given to the client to do.

This module judges the letter checks, so it shares none of their logic: it imports
nothing from ``checks``, ``facts``, ``content`` or ``letter``, and it reads only the
letter's own finished form (structured fields and full dates such as ``9 December
2025``), never the notes. What it knows about the notes comes from the key.

    python -m rma.notes.evaluate                 # the corpus on the configured model
    python -m rma.notes.evaluate --only 01,02 --json scores.json
    python -m rma.notes.evaluate --code-only    # the letters code builds with no model
"""

from __future__ import annotations

import asyncio
import calendar
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
import httpx
from pydantic import BaseModel, ConfigDict, Field

from rma import constants as C
from rma.errors import RMAError

# ------------------------------------------------------------------ the key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyDebt(_Strict):
    """One debt as the letter should list it."""

    creditor: str
    aliases: list[str] = Field(
        default_factory=list,
        description="Other names the letter may use for this debt (a collector, a short name).",
    )
    original_creditor: str | None = Field(
        None, description="Who lent the money first; listing it as its own debt is wrong."
    )
    kind: str
    balance_pence: int | None
    balance_as_written: str | None = Field(description="The balance exactly as in the notes.")
    priority: bool
    next: str = Field(description="What happens next with this debt, in plain words.")


class KeyTotal(_Strict):
    as_written: str
    pence: int
    covers: str = "all the debts listed"


class NotADebt(_Strict):
    name: str
    why: str


class KeyAction(_Strict):
    """An action and the words that show a letter carries it.

    ``match`` is a list of groups; a sentence carries the action when every group has
    one of its ``|``-separated phrases in it (words compared after lower-casing and
    dropping plural endings)."""

    action: str
    deadline: date | None
    accept_deadlines: list[date] = Field(
        default_factory=list, description="Other dates a careful reader could take as right."
    )
    deadline_as_written: str | None = None
    from_notes: str = Field(description="The words in the notes it comes from (verbatim).")
    match: list[str]
    optional: bool = Field(
        False, description="Advice restated as a step: not needed, not wrong if listed."
    )
    done: bool = Field(False, description="Already done at the appointment.")


class KeyOption(_Strict):
    option: str
    match: str


class KeyAdvice(_Strict):
    options_discussed: list[KeyOption]
    recommended: KeyOption | None
    reason: str | None
    reason_match: list[str] = Field(default_factory=list)


class NotAnAction(_Strict):
    text: str = Field(description="The words in the notes (verbatim).")
    why: str
    match: list[str]


class Shorthand(_Strict):
    short: str
    meaning: str
    context: str | None = None


class AnswerKey(_Strict):
    """What a correct Confirmation of Advice for one set of notes contains."""

    style: list[str]
    features: list[str]
    appointment_date: date
    client_first_name: str
    client_name: str
    interpreter: str | None = None
    debts: list[KeyDebt]
    total: KeyTotal | None = None
    not_debts: list[NotADebt] = Field(default_factory=list)
    client_actions: list[KeyAction]
    adviser_actions: list[KeyAction]
    advice: KeyAdvice
    not_client_actions: list[NotAnAction]
    dates: dict[date, str] = Field(description="Every date in the notes, resolved by hand.")
    shorthand: list[Shorthand]
    typos: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class CorpusCase:
    name: str
    notes: str
    key: AnswerKey


def load_corpus(folder: Path, only: Iterable[str] = ()) -> list[CorpusCase]:
    """The cases in ``folder/cases``: each ``NAME.txt`` with its ``NAME.key.json``.
    ``only`` keeps the cases whose names start with one of its prefixes."""
    cases_dir = folder / "cases"
    if not cases_dir.is_dir():
        raise click.ClickException(f"{cases_dir} is not a folder of case notes")
    prefixes = tuple(only)
    cases = []
    for notes_path in sorted(cases_dir.glob("*.txt")):
        name = notes_path.stem
        if prefixes and not name.startswith(prefixes):
            continue
        key_path = notes_path.with_name(f"{name}.key.json")
        if not key_path.is_file():
            raise click.ClickException(f"{notes_path.name} has no answer key ({key_path.name})")
        key = AnswerKey.model_validate_json(key_path.read_text(encoding="utf-8"))
        cases.append(CorpusCase(name, notes_path.read_text(encoding="utf-8"), key))
    return cases


# ------------------------------------------------------------ reading a letter


def tokens(text: str) -> list[str]:
    """Lower-case words with plural endings dropped; ``£50,000`` reads as ``50000``."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"'s\b", "", text).replace("'", "")
    return [_singular(w) for w in re.findall(r"[a-z0-9]+", text)]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _has_phrase(phrase: Sequence[str], words: Sequence[str]) -> int | None:
    """Where ``phrase`` starts in ``words``, or None."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if list(words[i : i + n]) == list(phrase):
            return i
    return None


def has_any(alternatives: str, words: Sequence[str]) -> bool:
    """Whether one of the ``|``-separated phrases occurs in ``words``."""
    return any(_has_phrase(tokens(p), words) is not None for p in alternatives.split("|"))


def carries(groups: Sequence[str], text: str) -> bool:
    """Whether ``text`` has a phrase from every group (how a key names an action)."""
    words = tokens(text)
    return bool(groups) and all(has_any(group, words) for group in groups)


_MONTH_NUMBER = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTH_WORD = (
    r"(?P<mon>"
    + "|".join(calendar.month_name[1:])
    + r"|"
    + "|".join(calendar.month_abbr[1:])
    + r")\.?"
)
_FULL_DATES = [
    re.compile(
        r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_WORD + r",?\s+(?P<y>\d{4})\b",
        re.I,
    ),
    re.compile(r"\b" + _MONTH_WORD + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})\b", re.I),
    re.compile(r"(?<![\d/])(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})(?![\d/])"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]


def full_dates(text: str) -> list[tuple[str, date]]:
    """Dates written with their year (``9 December 2025``, ``09/12/2025``, ISO), as a
    letter gives them. Dates without a year are shorthand, counted as leaks."""
    found: list[tuple[int, str, date]] = []
    taken: list[range] = []
    for pattern in _FULL_DATES:
        for m in pattern.finditer(text):
            if any(m.start() in span for span in taken):
                continue
            parts = m.groupdict()
            month = _MONTH_NUMBER[parts["mon"].lower()] if parts.get("mon") else int(parts["m"])
            try:
                value = date(int(parts["y"]), month, int(parts["d"]))
            except ValueError:
                continue
            taken.append(range(m.start(), m.end()))
            found.append((m.start(), m.group(0), value))
    return [(written, value) for _, written, value in sorted(found)]


def _pence(amount: Any) -> int | None:
    """The response's amount (pounds as a string, e.g. ``"4230.00"``) in pence."""
    if amount is None:
        return None
    try:
        return int((Decimal(str(amount).replace(",", "").lstrip("£")) * 100).to_integral_value())
    except InvalidOperation:
        return None


# Generic creditor words: "Cabot Financial" and "Cabot" are one creditor.
_NAME_NOISE = frozenset(
    tokens("the ltd limited plc uk group holdings financial finance bank services co company")
)


def _name_words(name: str) -> set[str]:
    words = tokens(name.replace("&", " and "))
    specific = {w for w in words if w not in _NAME_NOISE}
    return specific or set(words)


def names_match(key_name: str, letter_name: str) -> bool:
    """Whether the letter's creditor is ``key_name``: every specific word of the key's
    name is in the letter's name ("Cabot Financial" ~ "Cabot (was MBNA)")."""
    return _name_words(key_name) <= set(tokens(letter_name.replace("&", " and ")))


# Shorthand that must never reach a client's letter, whatever the notes were.
_LEAK_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\+"), "'+' for 'and'"),
    (re.compile(r"(?<![\w/])w/c?(?![\w/])|(?<![\w/])w/(?=\w)", re.I), "'w/' for 'with'"),
    (re.compile(r"(?<![\w/])o/[sdp](?![\w/])", re.I), "o/s, o/d or o/p"),
    (re.compile(r"->|~"), "arrows and '~'"),
    (
        re.compile(
            r"(?<![\w-])(?:cl|clt|acct|accts|arrs|stmts?|pmts?|appt|approx|asap|tbc|poss|"
            r"disc|rec'd|re(?!:))(?![\w-])",
            re.I,
        ),
        "adviser shorthand",
    ),
    (re.compile(r"£[\d,.]+\s?(?:pm|pw|pcm|pa)\b", re.I), "'pm'/'pw' after an amount"),
    (re.compile(r"£\d+(?:\.\d+)?k\b", re.I), "'k' for thousands"),
    (
        re.compile(
            r"(?<!of )\byou (?:sends|needs|has|is|was|agrees|wants|gets|pays|calls|rings|"
            r"brings|says|thinks|does|owes|lives|works)\b",
            re.I,
        ),
        "'cl' turned into 'you' without the verb changed",
    ),
    (re.compile(r"(?<![\d/.£])\d{1,2}/\d{1,2}(?![\d/])"), "a date without its year"),
]


def _standing_alone(variants: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + alternatives + r")(?![\w-])")


def _as_written(short: str) -> set[str]:
    """How a piece of shorthand appears: as written, and capitalised at a sentence start."""
    return {short, short[:1].upper() + short[1:]} if short.islower() else {short}


def spelt_out(text: str, key: AnswerKey) -> str:
    """``text`` with the key's shorthand replaced by its meaning(s), so a line written in
    shorthand still carries its action; the shorthand itself counts as a leak."""
    meanings: dict[str, list[str]] = {}
    for entry in key.shorthand:
        for variant in _as_written(entry.short):
            meanings.setdefault(variant, []).append(entry.meaning)
    if not meanings:
        return text
    return _standing_alone(meanings).sub(lambda m: " or ".join(meanings[m.group(0)]), text)


def shorthand_leaks(letter: str, key: AnswerKey) -> list[str]:
    """Shorthand and typos from the notes that appear in the letter, each once. An
    acronym or form name ("DRO", "N9A") counts only when its meaning is not spelt out
    anywhere in the letter."""
    found: dict[str, str] = {}  # what the letter says -> why it is shorthand
    for pattern, what in _LEAK_PATTERNS:
        for m in pattern.finditer(letter):
            found.setdefault(m.group(0).strip(), what)
    lowered = letter.lower()
    for entry in key.shorthand:
        short = entry.short
        used = _standing_alone(_as_written(short)).search(letter)
        if used is None:
            continue
        meanings = [e.meaning.lower() for e in key.shorthand if e.short == short]
        if short.isupper() and any(meaning in lowered for meaning in meanings):
            continue
        found.setdefault(used.group(0), entry.meaning)
    for typo, right in key.typos.items():
        copied = re.search(r"(?<!\w)" + re.escape(typo) + r"(?!\w)", letter, re.I)
        if copied is not None:
            found.setdefault(copied.group(0), f"a typo for {right!r}")
    return [f"{text!r} ({why})" for text, why in found.items()]


_NEGATION = frozenset(tokens("not cannot cant isnt wont dont unsuitable never"))
# Words that make a sentence advice rather than a list of what was talked about.
_ADVISING = (
    "recommend|recommended|recommendation|advise|advised|our advice|suggest|suggested|best|"
    "suitable|right for you|should|agreed|go ahead|way forward"
)


def recommended_in(alternatives: str, text: str) -> bool:
    """Whether a sentence of ``text`` advises one of the phrases: it names it with an
    advising word ("we recommend", "is the best option") and no negation near it ("a
    DRO is not suitable" is advice against, "we talked about a DRO" is no advice)."""
    for sentence in re.split(r"[.!?\n]+", text):
        words = tokens(sentence)
        if not has_any(_ADVISING, words):
            continue
        for phrase in alternatives.split("|"):
            wanted = tokens(phrase)
            at = _has_phrase(wanted, words)
            if at is None:
                continue
            window = words[max(0, at - 4) : at + len(wanted) + 4]
            if not _NEGATION & set(window):
                return True
    return False


# ------------------------------------------------------------------ the score


@dataclass
class LetterScore:
    """How one letter compares with its key; counts add up across a corpus."""

    case: str
    letters: int = 1
    debts_expected: int = 0
    debts_listed: int = 0
    debts_matched: int = 0
    amounts_expected: int = 0
    amounts_listed: int = 0
    amounts_right: int = 0
    priority_checked: int = 0
    priority_right: int = 0
    actions_expected: int = 0
    actions_found: int = 0
    actions_listed: int = 0
    actions_right: int = 0
    deadlines_expected: int = 0
    deadlines_found: int = 0
    deadlines_listed: int = 0
    deadlines_right: int = 0
    adviser_expected: int = 0
    adviser_found: int = 0
    recommendation_expected: int = 0
    recommendation_named: int = 0
    reason_expected: int = 0
    reason_given: int = 0
    options_expected: int = 0
    options_named: int = 0
    appointment_right: int = 0
    leaks: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    dates_not_in_notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def invented(self) -> int:
        """Things the letter states that the notes do not support."""
        return (
            (self.debts_listed - self.debts_matched)
            + (self.amounts_listed - self.amounts_right)
            + (self.deadlines_listed - self.deadlines_right)
            + len(self.dates_not_in_notes)
            + len(self.misplaced)
        )

    def add(self, other: LetterScore) -> None:
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, int):
                setattr(self, f.name, mine + getattr(other, f.name))
            elif isinstance(mine, list):
                mine.extend(f"{other.case}: {item}" for item in getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"invented": self.invented}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _debts(listed: list[Mapping[str, Any]], key: AnswerKey, score: LetterScore) -> None:
    """One-to-one: each key debt is matched by name at most once, preferring a letter
    entry with the same balance (a client may owe one collector twice)."""
    score.debts_expected = len(key.debts)
    score.amounts_expected = sum(d.balance_pence is not None for d in key.debts)
    score.debts_listed = len(listed)
    taken: dict[int, int] = {}  # letter entry -> key debt

    def by_name(entry: Mapping[str, Any], debt: KeyDebt) -> bool:
        name = str(entry.get("creditor") or "")
        return any(names_match(n, name) for n in [debt.creditor, *debt.aliases])

    for same_amount in (True, False):
        for i, entry in enumerate(listed):
            if i in taken:
                continue
            for j, debt in enumerate(key.debts):
                if j in taken.values() or not by_name(entry, debt):
                    continue
                if same_amount and _pence(entry.get("amount")) != debt.balance_pence:
                    continue
                taken[i] = j
                break
    score.debts_matched = len(taken)
    for j, debt in enumerate(key.debts):
        if j not in taken.values():
            score.problems.append(f"debt missing: {debt.creditor}")
    for i, entry in enumerate(listed):
        if i not in taken:
            score.problems.append(f"debt not in the key: {entry.get('creditor')!r}")
            continue
        debt = key.debts[taken[i]]
        amount = _pence(entry.get("amount"))
        if amount is not None:
            score.amounts_listed += 1
            if amount == debt.balance_pence:
                score.amounts_right += 1
            else:
                score.problems.append(
                    f"wrong balance for {debt.creditor}: {entry.get('amount')} "
                    f"(key: {debt.balance_as_written})"
                )
        elif debt.balance_pence is not None:
            score.problems.append(f"balance missing for {debt.creditor}")
        score.priority_checked += 1
        if bool(entry.get("priority")) == debt.priority:
            score.priority_right += 1
        else:
            score.problems.append(
                f"{debt.creditor} {'is' if debt.priority else 'is not'} a priority debt"
            )


def _due(entry: Mapping[str, Any]) -> date | None:
    value = entry.get("due")
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _deadlines(action: KeyAction) -> set[date]:
    return {d for d in [action.deadline, *action.accept_deadlines] if d is not None}


def _client_actions(listed: list[Mapping[str, Any]], key: AnswerKey, score: LetterScore) -> None:
    """Many-to-many: one letter line may carry two key actions ("payslips and bank
    statements"), and two lines may carry one."""
    texts = [str(entry.get("action") or "") for entry in listed]
    plain = [spelt_out(t, key) for t in texts]
    carried = [[a for a in key.client_actions if carries(a.match, t)] for t in plain]
    needed = [a for a in key.client_actions if not a.optional]
    score.actions_expected = len(needed)
    score.actions_listed = len(listed)
    score.actions_right = sum(bool(c) for c in carried)
    for action in needed:
        lines = [i for i, c in enumerate(carried) if action in c]
        score.deadlines_expected += action.deadline is not None
        if not lines:
            score.problems.append(f"client action missing: {action.action}")
            continue
        score.actions_found += 1
        if action.deadline is None:
            continue
        wanted = _deadlines(action)
        if any(
            _due(listed[i]) in wanted or wanted & {d for _, d in full_dates(texts[i])}
            for i in lines
        ):
            score.deadlines_found += 1
        else:
            score.problems.append(
                f"deadline missing or wrong: {action.action} by {action.deadline.isoformat()}"
            )
    for entry, text, line, actions in zip(listed, texts, plain, carried, strict=True):
        due = _due(entry)
        if due is not None:
            score.deadlines_listed += 1
            if any(due in _deadlines(a) for a in actions):
                score.deadlines_right += 1
            else:
                score.problems.append(f"deadline not in the notes: {text!r} by {due.isoformat()}")
        if actions:
            continue
        wrong = [n.why for n in key.not_client_actions if carries(n.match, line)]
        wrong += ["the adviser's action" for a in key.adviser_actions if carries(a.match, line)]
        if wrong:
            score.misplaced.append(f"{text!r} ({wrong[0]})")
        else:
            score.problems.append(f"client action not in the key: {text!r}")


def _advice(letter: str, key: AnswerKey, score: LetterScore) -> None:
    words = tokens(letter)
    advice = key.advice
    score.options_expected = len(advice.options_discussed)
    for option in advice.options_discussed:
        if has_any(option.match, words):
            score.options_named += 1
        else:
            score.problems.append(f"option discussed not in the letter: {option.option}")
    if advice.recommended is not None:
        score.recommendation_expected = 1
        if recommended_in(advice.recommended.match, letter):
            score.recommendation_named = 1
        else:
            score.problems.append(f"recommendation missing: {advice.recommended.option}")
    if advice.reason_match:
        score.reason_expected = 1
        # A reason counts only beside the advice it explains: "priority" in a letter
        # that recommends nothing is no reason for anything.
        advised = advice.recommended is None or score.recommendation_named
        if advised and all(has_any(group, words) for group in advice.reason_match):
            score.reason_given = 1
        else:
            score.problems.append(f"reason missing: {advice.reason}")


def score_letter(
    response: Mapping[str, Any], key: AnswerKey, *, case: str = "", written_on: date | None = None
) -> LetterScore:
    """Score one ``POST /convert`` response against its key. ``written_on`` is the
    letter's own date (allowed in the letter although the notes cannot contain it)."""
    score = LetterScore(case)
    letter = str(response.get("letter") or "")
    _debts(list(response.get("debts") or []), key, score)
    _client_actions(list(response.get("your_actions") or []), key, score)
    ours = [spelt_out(str(a.get("action") or ""), key) for a in response.get("our_actions") or []]
    for action in key.adviser_actions:
        score.adviser_expected += 1
        if any(carries(action.match, line) for line in ours):
            score.adviser_found += 1
        else:
            score.problems.append(f"adviser action missing: {action.action}")
    _advice(spelt_out(letter, key), key, score)
    score.appointment_right = int(
        response.get("appointment_date") == key.appointment_date.isoformat()
    )
    if not score.appointment_right:
        score.problems.append(
            f"appointment date {response.get('appointment_date')} "
            f"(key: {key.appointment_date.isoformat()})"
        )
    allowed = set(key.dates) | {key.appointment_date} | ({written_on} if written_on else set())
    score.dates_not_in_notes = [w for w, value in full_dates(letter) if value not in allowed]
    score.leaks = shorthand_leaks(letter, key)
    return score


# ------------------------------------------------------------------ the report


def totals(scores: Iterable[LetterScore]) -> LetterScore:
    total = LetterScore("all", letters=0)
    for score in scores:
        total.add(score)
    return total


def summary(total: LetterScore) -> dict[str, float | int | None]:
    """Recall and precision over the whole corpus (counts pooled, not averaged)."""
    return {
        "debts_recall": _ratio(total.debts_matched, total.debts_expected),
        "debts_precision": _ratio(total.debts_matched, total.debts_listed),
        "amounts_recall": _ratio(total.amounts_right, total.amounts_expected),
        "amounts_precision": _ratio(total.amounts_right, total.amounts_listed),
        "priority_right": _ratio(total.priority_right, total.priority_checked),
        "actions_recall": _ratio(total.actions_found, total.actions_expected),
        "actions_precision": _ratio(total.actions_right, total.actions_listed),
        "deadlines_recall": _ratio(total.deadlines_found, total.deadlines_expected),
        "deadlines_precision": _ratio(total.deadlines_right, total.deadlines_listed),
        "adviser_actions_recall": _ratio(total.adviser_found, total.adviser_expected),
        "recommendation_named": _ratio(total.recommendation_named, total.recommendation_expected),
        "reason_given": _ratio(total.reason_given, total.reason_expected),
        "options_named": _ratio(total.options_named, total.options_expected),
        "appointment_date_right": _ratio(total.appointment_right, total.letters),
        "shorthand_leaks": len(total.leaks),
        "misplaced_actions": len(total.misplaced),
        "dates_not_in_notes": len(total.dates_not_in_notes),
        "invented": total.invented,
    }


def _cell(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def table(scores: Sequence[LetterScore]) -> str:
    """A Markdown table: one row per case and the pooled totals."""
    rows = [
        "| case | debts found | debts right | amounts found | amounts right | actions found "
        "| actions right | deadlines found | deadlines right | adviser | advice | leaks "
        "| misplaced | invented |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in [*scores, totals(scores)]:
        advice = _cell(
            s.recommendation_named + s.reason_given, s.recommendation_expected + s.reason_expected
        )
        name = s.case if s.error is None else f"{s.case} (error)"
        rows.append(
            f"| {name} | {_cell(s.debts_matched, s.debts_expected)} "
            f"| {_cell(s.debts_matched, s.debts_listed)} "
            f"| {_cell(s.amounts_right, s.amounts_expected)} "
            f"| {_cell(s.amounts_right, s.amounts_listed)} "
            f"| {_cell(s.actions_found, s.actions_expected)} "
            f"| {_cell(s.actions_right, s.actions_listed)} "
            f"| {_cell(s.deadlines_found, s.deadlines_expected)} "
            f"| {_cell(s.deadlines_right, s.deadlines_listed)} "
            f"| {_cell(s.adviser_found, s.adviser_expected)} | {advice} | {len(s.leaks)} "
            f"| {len(s.misplaced)} | {s.invented} |"
        )
    return "\n".join(rows)


# ------------------------------------------------------------------ the run

Convert = Callable[[CorpusCase], Awaitable[dict[str, Any]]]


@dataclass
class CaseResult:
    score: LetterScore
    seconds: float
    response: dict[str, Any] | None


async def evaluate(
    cases: Sequence[CorpusCase],
    convert_one: Convert,
    written_on: date,
    progress: Callable[[str], None] = lambda _: None,
) -> list[CaseResult]:
    """Convert each case's notes and score the letter; a failed conversion is scored
    as an empty letter and keeps its error, so one failure never hides the rest."""
    results = []
    for case in cases:
        started = time.monotonic()
        try:
            response: dict[str, Any] | None = await convert_one(case)
        except (RMAError, httpx.HTTPError) as exc:
            response = None
            score = score_letter({}, case.key, case=case.name)
            score.error = f"{type(exc).__name__}: {exc}"
        else:
            score = score_letter(response or {}, case.key, case=case.name, written_on=written_on)
        seconds = time.monotonic() - started
        results.append(CaseResult(score, seconds, response))
        progress(f"{case.name:<42} {seconds:6.1f} s" + (f"  {score.error}" if score.error else ""))
    return results


def _request_body(case: CorpusCase, with_date: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"notes": case.notes, "client_name": case.key.client_name}
    if with_date:
        body["appointment_date"] = case.key.appointment_date.isoformat()
    return body


@asynccontextmanager
async def in_process(with_date: bool, today: date) -> AsyncIterator[Convert]:
    """Letters from the notes pipeline in this process, on the configured backends."""
    from rma.config import load_settings
    from rma.llm.factory import build_router
    from rma.notes.convert import convert
    from rma.notes.schema import ConvertRequest

    settings = load_settings()
    router = build_router(settings)

    async def one(case: CorpusCase) -> dict[str, Any]:
        request = ConvertRequest.model_validate(_request_body(case, with_date))
        conversion = await convert(router, request, settings, today)
        return conversion.response().model_dump(mode="json")

    try:
        yield one
    finally:
        await router.aclose()


@asynccontextmanager
async def code_only_letters(with_date: bool, today: date) -> AsyncIterator[Convert]:
    """The letters code builds alone, with no model: the floor every letter keeps."""
    from rma.config import load_settings
    from rma.notes.convert import code_built
    from rma.notes.schema import ConvertRequest

    settings = load_settings()

    async def one(case: CorpusCase) -> dict[str, Any]:
        request = ConvertRequest.model_validate(_request_body(case, with_date))
        conversion = await code_built(request, settings, today)
        return conversion.response().model_dump(mode="json")

    yield one


@asynccontextmanager
async def over_http(url: str, with_date: bool) -> AsyncIterator[Convert]:
    """Letters from a running notes service (``POST {url}/convert``)."""
    from rma.config import load_settings

    keys = load_settings().rma_api_keys
    headers = {C.API_KEY_HEADER: keys[0].get_secret_value()} if keys else {}
    timeout = httpx.Timeout(C.NOTES_EVALUATE_TIMEOUT, connect=10.0)
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, timeout=timeout
    ) as http:

        async def one(case: CorpusCase) -> dict[str, Any]:
            response = await http.post("/convert", json=_request_body(case, with_date))
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        yield one


def kept_responses(report: Mapping[str, Any], cases: Sequence[CorpusCase]) -> Convert:
    """The responses kept in an earlier ``--json`` report, to score them again (after a
    change to a key or to the scorer) without running the model."""
    kept = {entry["case"]: entry for entry in report.get("cases", [])}
    missing = [case.name for case in cases if case.name not in kept]
    if missing:
        raise click.ClickException(f"the report has no response for {', '.join(missing)}")

    async def one(case: CorpusCase) -> dict[str, Any]:
        entry = kept[case.name]
        if entry.get("response") is None:
            raise RMAError(f"no letter in the earlier run: {entry.get('error')}")
        response: dict[str, Any] = entry["response"]
        return response

    return one


def _models(results: Sequence[CaseResult]) -> list[str]:
    seen: dict[str, None] = {}
    for result in results:
        for step in (result.response or {}).get("provenance", []):
            seen[f"{step.get('provider')}/{step.get('model')}"] = None
    return list(seen)


def _command_line(ctx: click.Context) -> str:
    """The command as run (its options that differ from their defaults), for the record."""
    parts = ["python -m rma.notes.evaluate"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value in (None, False, "") or str(value) == str(param.default):
            continue
        parts.append(param.opts[0] if value is True else f"{param.opts[0]} {value}")
    return " ".join(parts)


@click.command("evaluate")
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=C.NOTES_CORPUS,
    show_default=True,
    help="Folder with cases/NAME.txt and NAME.key.json.",
)
@click.option("--only", default="", help="Comma-separated case name prefixes (e.g. 01,02).")
@click.option("--url", default=None, help="Score a running notes service instead of this process.")
@click.option(
    "--responses",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Score again the responses kept in an earlier --json report (no model is run).",
)
@click.option(
    "--code-only",
    is_flag=True,
    help="Score the letters code builds alone (no model: as when its reply is unusable).",
)
@click.option(
    "--with-date",
    is_flag=True,
    help="Send each case's appointment date (default: the service reads it from the notes).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the scores, the letters and the summary here.",
)
def evaluate_cmd(
    corpus: Path,
    only: str,
    url: str | None,
    responses: Path | None,
    code_only: bool,
    with_date: bool,
    json_path: Path | None,
) -> None:
    """Score letters for the answer-key corpus: recall and precision for debts, amounts,
    client actions and deadlines; advice; shorthand leaked; things invented."""
    cases = load_corpus(corpus, [p.strip() for p in only.split(",") if p.strip()])
    if not cases:
        raise click.ClickException(f"no cases in {corpus} match {only!r}")
    today = date.today()
    earlier: dict[str, Any] = {}
    if responses is not None:
        earlier = json.loads(responses.read_text(encoding="utf-8"))
        today = date.fromisoformat(earlier["written_on"])  # the day those letters were dated
        with_date = bool(earlier.get("with_date"))

    def progress(line: str) -> None:
        click.echo(line, err=True)

    async def run() -> list[CaseResult]:
        if earlier:
            return await evaluate(cases, kept_responses(earlier, cases), today, progress)
        if code_only:
            source = code_only_letters(with_date, today)
        elif url:
            source = over_http(url, with_date)
        else:
            source = in_process(with_date, today)
        async with source as convert_one:
            return await evaluate(cases, convert_one, today, progress)

    try:
        results = asyncio.run(run())
    except RMAError as exc:
        raise click.ClickException(str(exc)) from None
    if earlier:  # the time each letter took when it was made
        took = {entry["case"]: entry.get("seconds", 0.0) for entry in earlier["cases"]}
        for result in results:
            result.seconds = took[result.score.case]
    scores = [r.score for r in results]
    overall = summary(totals(scores))
    click.echo(table(scores))
    click.echo()
    for name, value in overall.items():
        shown = f"{value:.0%}" if isinstance(value, float) else "-" if value is None else value
        click.echo(f"{name:<24} {shown}")
    if json_path is not None:
        command = _command_line(click.get_current_context())
        report = {
            "command": earlier.get("command") or command,
            "scored_again": command if earlier else None,
            "written_on": today.isoformat(),
            "with_date": with_date,
            "models": _models(results),
            "summary": overall,
            "cases": [
                {"case": r.score.case, "seconds": round(r.seconds, 1)}
                | r.score.as_dict()
                | {"response": r.response}
                for r in results
            ],
        }
        json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
        click.echo(f"-- written to {json_path}", err=True)


if __name__ == "__main__":
    evaluate_cmd()
