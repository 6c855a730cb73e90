"""Code checks on a client letter: nothing invented, nothing dropped, plain English.

Each check compares the letter with what code read from the notes (:mod:`facts`),
never with the model's own account of them, and reports problems as warnings the
adviser sees before sending. The reading age is a formula (Flesch-Kincaid grade + 5),
with syllables counted here rather than by a dependency: the rule is a dozen lines
and its behaviour on debt-advice words is pinned by tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rma.notes import glossary
from rma.notes.facts import (
    NoteAction,
    NotesFacts,
    expand_abbreviations,
    known_creditors_in,
    words,
)
from rma.text import MONTHS, find_amounts, find_dates, format_date, format_money, iso_date

# A notes action counts as present when one line of the letter carries this share of
# its key words (after shorthand is spelt out): "send SFS" ~ "Send us your Standard
# Financial Statement".
ACTION_COVERAGE = 0.5


@dataclass(frozen=True)
class LetterWarning:
    """One problem the adviser should look at; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str


# ------------------------------------------------------------------- readability


def count_syllables(word: str) -> int:
    """Syllables in an English word by vowel groups, with silent-e and -ed/-es rules."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    # A silent e before a suffix ("enforcement", "safely") or at the end ("space").
    w = re.sub(r"([^aeiouy])e(ments?|ly|ful|less|ness)$", r"\1\2", w)
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", w)))


@dataclass(frozen=True)
class ReadingAge:
    """Flesch-Kincaid grade of a text and the reading age it implies (grade + 5)."""

    grade: float
    age: float
    words: int
    sentences: int
    syllables: int


_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


def reading_age(text: str) -> ReadingAge:
    """Reading age of ``text``. Every line ends a sentence: headings and list items
    are read as units, as a client reads them."""
    sentences = [s for s in re.split(r"[.!?]+(?:\s|$)|\n", text) if _WORD.search(s)]
    tokens = _WORD.findall(text)
    if not tokens:
        return ReadingAge(0.0, 5.0, 0, 0, 0)
    syllables = sum(count_syllables(t) for t in tokens)
    grade = 0.39 * len(tokens) / max(1, len(sentences)) + 11.8 * syllables / len(tokens) - 15.59
    grade = max(0.0, grade)
    return ReadingAge(round(grade, 1), round(grade + 5, 1), len(tokens), len(sentences), syllables)


def check_reading_age(measured: ReadingAge, target: float) -> list[LetterWarning]:
    if measured.age <= target:
        return []
    return [
        LetterWarning(
            "reading_age_above_target",
            f"the letter's reading age is {measured.age:g} (Flesch-Kincaid grade "
            f"{measured.grade:g} + 5); the target is {target:g}",
        )
    ]


# ------------------------------------------------------------ nothing invented


def invented_facts(
    text: str,
    facts: NotesFacts,
    *,
    creditors: Iterable[str] = (),
    allowed_dates: Iterable[date] = (),
    checked: dict[str, int] | None = None,
) -> list[LetterWarning]:
    """Amounts, dates and creditors in ``text`` that the notes do not contain. Counts
    of what was checked go into ``checked`` when given.

    ``creditors`` are names the letter states (its debts list); known creditor names
    anywhere in the text are checked too. ``allowed_dates`` are dates the letter may
    carry without the notes (its own date, the appointment date given by the caller)."""
    warnings: list[LetterWarning] = []
    allowed = set(allowed_dates)
    letter_dates = find_dates(text, facts.appointment)
    for found in letter_dates:
        if found.value in allowed and found.year_given:
            continue
        if not facts.has_date(found.value, year_given=found.year_given):
            warnings.append(
                LetterWarning(
                    "invented_date", f"the date {found.text!r} in the letter is not in the notes"
                )
            )
    for amount in find_amounts(text):
        if not facts.has_amount(amount.value):
            shown = format_money(amount.value) if amount.is_money else amount.text
            warnings.append(
                LetterWarning(
                    "invented_amount", f"the amount {shown} in the letter is not in the notes"
                )
            )
    named = {*creditors, *known_creditors_in(text)}
    if checked is not None:
        checked["amounts"] = len(find_amounts(text))
        checked["dates"] = len(letter_dates)
        checked["creditors"] = len(named)
    for name in sorted(named):
        if not facts.mentions(name):
            warnings.append(
                LetterWarning(
                    "invented_creditor", f"the creditor {name!r} in the letter is not in the notes"
                )
            )
    return warnings


# Words any letter sentence may use without the notes having them.
_LETTER_WORDS = frozenset(
    words(
        "a an the to and or of for by on in at with we i you your our us it is are was be "
        "this that these those will can could would should must may need about talk talked "
        "discuss discussed explain explained ask asked tell told help send sent get give "
        "make do did not no yes also any some all more if so as from up out what when how "
        "which who they them their there here has have had been being next now today "
        "client adviser appointment appt date notes case shorthand day days week weeks "
        "month months year years " + " ".join(MONTHS)
    )
)
# A model sentence must share this much of its content with the notes to be used.
GROUNDING = 0.34


def grounded(sentence: str, facts: NotesFacts) -> bool:
    """Whether a sentence is about these notes: enough of its content words (after
    shorthand is spelt out) occur in them. Filters a small model's drift ("Tour de
    France") that carries no amount, date or name for the other checks to catch."""
    content = [w for w in words(sentence) if w not in _LETTER_WORDS and not w.isdigit()]
    if not content:
        return False
    notes_words = set(words(facts.spelt_out))
    return sum(w in notes_words for w in content) / len(content) >= GROUNDING


# Capitalised words a model sentence may use that need not be in the notes.
_ORDINARY_CAPITALS = frozenset(
    words(
        "i mr mrs ms miss dr dear monday tuesday wednesday thursday friday saturday sunday "
        + " ".join(MONTHS)
    )
)
_SENTENCE_OPENERS = frozenset(words(glossary.ACTION_VERBS.replace("|", " "))) | _LETTER_WORDS
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9'’&.-]*[A-Za-z0-9]|\b[A-Z]\b")


def unknown_names(sentence: str, facts: NotesFacts) -> list[str]:
    """Names in ``sentence`` (runs of capitalised words) that the notes do not mention
    ("Capita Collections" where the notes never name Capita). A lone capitalised first
    word is the sentence's own capital, not a name, and is not checked."""
    found: list[str] = []
    run: list[tuple[int, str]] = []
    # The notes' words as written ("HMRC") and spelt out ("HM Revenue and Customs").
    in_notes = set(words(facts.text)) | set(words(facts.spelt_out))

    def close() -> None:
        starts_sentence = bool(run) and not sentence[: run[0][0]].strip(" -•*\"'“(")
        if starts_sentence and set(words(run[0][1])) <= _SENTENCE_OPENERS:
            del run[0]  # "Call HMRC": the verb has the sentence's capital
        kept = [w for _, w in run if not set(words(w)) <= _ORDINARY_CAPITALS | _LETTER_WORDS]
        if kept and not (starts_sentence and len(run) == 1):
            name = " ".join(kept)
            if not set(words(name)) <= in_notes and not facts.mentions(name):
                found.append(name)
        run.clear()

    previous_end = 0
    for match in _CAPITALISED.finditer(sentence):
        if run and sentence[previous_end : match.start()].strip():
            close()
        run.append((match.start(), match.group()))
        previous_end = match.end()
    close()
    return found


_OWES_NOTHING = re.compile(
    r"\b(?:do|does|did)\s*n[o']t\s+owe\b|\bno longer owe|\bnever owed?\b"
    r"|\bowes? (?:them )?nothing\b"
    r"|\b(?:has|have) been (?:written off|paid off|cleared|settled)\b|\bis (?:written off|paid off|"
    r"cleared|settled)\b",
    re.IGNORECASE,
)
# What a line of notes says when a debt it names is not owed after all.
_NOT_OWED_IN_NOTES = re.compile(
    r"\b(?:not (?:liable|owed|theirs|hers|his)|statute[- ]barred|s/?b|written off|paid off|"
    r"cleared|settled|disputed?)\b",
    re.IGNORECASE,
)


def debts_said_not_owed(sentence: str, facts: NotesFacts) -> list[str]:
    """Creditors ``sentence`` says are owed nothing ("You do not owe Lowell anything")
    where the notes list a debt to them and say nothing beside the name that would make it
    not owed ("Cabot £486 - statute barred")."""
    if not _OWES_NOTHING.search(sentence):
        return []
    # A debts line lists several: what is said of one is said beside it, before the next.
    parts = re.split(r"[\n,;]", facts.text)
    named = [c for c in facts.creditors if re.search(rf"\b{re.escape(c)}\b", sentence, re.I)]
    return [
        creditor
        for creditor in named
        if not any(
            re.search(rf"\b{re.escape(creditor)}\b", part, re.I) and _NOT_OWED_IN_NOTES.search(part)
            for part in parts
        )
    ]


_TIMING = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:week|weekend|month)|next (?:week|month|year)"
    r"|(?:within|in) (?:\d+|a|one|two|three|four) (?:days?|weeks?|months?)"
    r"|(?:by )?(?:the )?end of (?:the |this )?(?:week|month)|straight away|immediately)\b",
    re.IGNORECASE,
)


def invented_timing(sentence: str, facts: NotesFacts) -> list[str]:
    """When-phrases in ``sentence`` ("next week", "within 7 days") the notes do not have:
    a threat or a deadline moved in time carries no date for the date check to catch."""
    notes = " ".join(facts.spelt_out.lower().split())
    missing = []
    for match in _TIMING.finditer(sentence):
        phrase = " ".join(match.group().lower().split())
        core = re.sub(r"^(?:(?:within|in|by|the) )+", "", phrase)  # "by the end of ..."
        core = re.sub(r"^end of (?:the |this )?", "end of ", core)
        if core.rstrip("s") not in notes and phrase not in notes:
            missing.append(match.group())
    return missing


# ------------------------------------------------------------- nothing dropped


def _share(key_words: Iterable[str], present: set[str]) -> float:
    """How much of ``key_words`` is ``present``."""
    needed = set(key_words)
    return len(needed & present) / len(needed)


def is_carried(action: NoteAction, line: str) -> bool:
    """Whether ``line`` carries the notes action (enough of its key words)."""
    return _share(action.key_words, set(words(expand_abbreviations(line)))) >= ACTION_COVERAGE


_NEGATIONS = frozenset(words("not no never don't dont cannot can't won't mustn't"))


def says_part_of(action: NoteAction, line: str) -> bool:
    """Whether ``line`` says the notes action or one of the clauses joined into it
    ("Do not let the enforcement agent in" of "don't let EA in, speak thru letterbox"):
    enough to be something the notes say, not enough to carry the whole action."""
    present = set(words(expand_abbreviations(line)))
    negated = bool(present & _NEGATIONS)
    return _share(action.key_words, present) >= ACTION_COVERAGE or any(
        len(part) >= 2
        and _share(part, present) >= ACTION_COVERAGE
        and bool(set(part) & _NEGATIONS) == negated  # "let EA in" is not "don't let EA in"
        for part in action.clauses_key_words()
    )


def dropped_actions(
    letter: str, facts: NotesFacts, checked: dict[str, int] | None = None
) -> list[LetterWarning]:
    """Actions in the notes that no line of the letter carries, and deadlines lost."""
    if checked is not None:
        checked["actions"] = len(facts.actions)
        checked["deadlines"] = sum(a.due is not None for a in facts.actions)
    lines = [
        line
        for part in letter.splitlines()
        for line in re.split(r"(?<=[.!?])\s+", part)
        if line.strip()
    ]
    line_words = [set(words(expand_abbreviations(line))) for line in lines]
    warnings: list[LetterWarning] = []
    for action in facts.actions:
        best, best_share = -1, 0.0
        for i, present in enumerate(line_words):
            share = _share(action.key_words, present)
            if share > best_share:
                best, best_share = i, share
        who = "our action" if action.owner == "us" else "the client's action"
        if best_share < ACTION_COVERAGE:
            warnings.append(
                LetterWarning(
                    "dropped_action",
                    f"{who} in the notes {action.text!r} is not in the letter",
                )
            )
            continue
        if action.due is not None:
            dates = {d.value for d in find_dates(lines[best], facts.appointment)}
            if action.due not in dates:
                warnings.append(
                    LetterWarning(
                        "dropped_deadline",
                        f"{who} {action.text!r} is due by {format_date(action.due)} in the "
                        "notes, but the letter does not give that date",
                    )
                )
    return warnings


def dropped_debts(
    letter: str, debts: Iterable[tuple[str, str | None]], checked: dict[str, int] | None = None
) -> list[LetterWarning]:
    """Debts of the table (creditor, balance in pounds) that no line of the letter
    gives with its balance."""
    debts = list(debts)
    if checked is not None:
        checked["debts"] = len(debts)
    lines = letter.splitlines()
    warnings = []
    for creditor, amount in debts:
        wanted = Decimal(amount) if amount is not None else None
        if not any(
            creditor in line
            and (wanted is None or any(a.value == wanted for a in find_amounts(line)))
            for line in lines
        ):
            warnings.append(
                LetterWarning(
                    "dropped_debt",
                    f"the debt to {creditor}"
                    + (f" of {format_money(wanted)}" if wanted is not None else "")
                    + " is not in the letter",
                )
            )
    return warnings


def check_letter(
    letter: str,
    facts: NotesFacts,
    *,
    creditors: Iterable[str] = (),
    debts: Iterable[tuple[str, str | None]] = (),
    allowed_dates: Iterable[date] = (),
    reading_age_target: float | None = None,
    readable_text: str | None = None,
    checked: dict[str, int] | None = None,
) -> list[LetterWarning]:
    """Every check on a finished letter. ``readable_text`` is the part whose reading
    age is measured (the body, without address and signature); the whole letter if None.
    ``checked``, when given, receives how many amounts, dates, creditors and actions
    were checked, so a response can show the checks ran on this letter."""
    warnings = (
        invented_facts(
            letter, facts, creditors=creditors, allowed_dates=allowed_dates, checked=checked
        )
        + dropped_actions(letter, facts, checked)
        + dropped_debts(letter, debts, checked)
    )
    if reading_age_target is not None:
        measured = reading_age(letter if readable_text is None else readable_text)
        warnings += check_reading_age(measured, reading_age_target)
    return warnings


# ------------------------------------------------------------- an edited letter

# Where a letter's greeting and sign-off lines are: the reading age is of what lies between.
_GREETING = re.compile(r"^\s*Dear\b", re.IGNORECASE)
_SIGN_OFF = re.compile(r"^\s*(best wishes|yours sincerely|yours faithfully|kind regards)\b", re.I)


def readable_part(letter: str) -> str:
    """The part of a letter a client reads for meaning: after the greeting, before the
    sign-off (the whole text when it has neither)."""
    lines = letter.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if _GREETING.match(line)), 0)
    end = next((i for i in range(len(lines) - 1, start - 1, -1) if _SIGN_OFF.match(lines[i])),
               len(lines))  # fmt: skip
    return "\n".join(lines[start:end])


def check_edited_letter(
    letter: str,
    notes: str | None,
    written: dict[str, Any],
    *,
    client_name: str,
    letter_date: date,
    reading_age_target: float,
    checked: dict[str, int] | None = None,
) -> list[LetterWarning]:
    """The checks a written letter had, run again on text an adviser edited: nothing
    invented (against the ``notes`` it was written from), every action, deadline and debt
    of the notes still there, and the reading age. ``written``: what the notes service
    returned with the letter (its appointment date and debts). Without the notes, only
    the reading age can be checked, and a warning says so."""
    measured = reading_age(readable_part(letter))
    if not notes:
        return [
            LetterWarning(
                "not_checked_against_notes",
                "this letter was not written from notes on the case, so nothing in it could "
                "be checked against them",
            ),
            *check_reading_age(measured, reading_age_target),
        ]
    appointment = iso_date(written.get("appointment_date")) or letter_date
    facts = NotesFacts.read(notes, appointment, [client_name])
    debts = [
        (str(d["creditor"]), str(d["amount"]) if d.get("amount") else None)
        for d in written.get("debts", [])
        if isinstance(d, dict) and d.get("creditor")
    ]
    return check_letter(
        letter,
        facts,
        creditors=[creditor for creditor, _ in debts],
        debts=debts,
        allowed_dates={letter_date, appointment},
        reading_age_target=reading_age_target,
        readable_text=readable_part(letter),
        checked=checked,
    )
