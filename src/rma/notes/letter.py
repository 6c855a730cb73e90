"""Compose the Confirmation of Advice letter from checked content.

The letter is assembled by code: the headings, greeting, closing and every amount,
date and creditor come from here; the model contributes only the plain-English
sentences for matters and actions, which have been checked against the notes before
they arrive. The result is plain text (a Word copy is made from the same parts).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rma.notes import glossary
from rma.notes.advice import Advice, advice_lines
from rma.notes.facts import ACTION_VERBS, KNOWN_CREDITORS
from rma.notes.schema import Action, Debt, Tone
from rma.text import find_amounts, find_dates, format_date, format_money

TITLE = "Confirmation of your advice"
HEADINGS = {
    "matters": "What we talked about",
    "debts": "Your debts",
    "advice": "Our advice",
    "ours": "What we will do",
    "yours": "What you need to do",
}
EMPTY = {
    "matters": "We did not note any other topics.",
    "ours": "We do not have anything more to do for you at the moment.",
    "yours": "You do not need to do anything at the moment.",
}
PRIORITY_NOTE = (
    "Some of these are priority debts. Not paying them can lead to serious problems, "
    "so we will deal with them first."
)
CLOSING_LINE = (
    "If anything in this letter is wrong, or if things change for you, please contact us "
    "as soon as you can."
)


def plain_sentence(text: str, reference: date) -> str:
    """A model-written phrase made fit for a letter: one line, no list marks or markup,
    shorthand spelt out, amounts and dates written the letter's way by code, a capital
    at the start and a full stop at the end."""
    text = standard_figures(text, reference)
    # Control and format characters cannot go into a letter (nor into a Word file).
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"[\s]+", " ", text).strip()
    text = re.sub(r"^(?:[-*•]+|\d+[.)])\s*", "", text)
    text = re.sub(r"[`*_#|<>{}\[\]\\]", "", text)
    text = glossary.plain_english(text, KNOWN_CREDITORS).strip(" ,;:")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def standard_figures(text: str, reference: date) -> str:
    """``text`` with each date written as ``12 March 2025`` and each sum of money as
    ``£4,230`` (values resolved by code, so "12/3" and "£4.2k" read plainly)."""
    for found in reversed(find_dates(text, reference, relative=True)):
        text = text[: found.start] + format_date(found.value) + text[found.end :]
    for amount in reversed(find_amounts(text)):
        if amount.is_money:
            text = text[: amount.start] + format_money(amount.value) + text[amount.end :]
    return text


_DEADLINE_BEFORE = r"\s*\b(?:by|before|on|until|no later than|at|to|starting|from)?\s*(?:the\s+)?$"


def without_dates(text: str, reference: date, also: str | None = None) -> str:
    """``text`` with its dates (and a "by" before them) removed: code adds the deadline.
    ``also`` is another deadline phrase to remove ("at next appt")."""
    if also and also in text:
        at = text.index(also)
        text = re.sub(_DEADLINE_BEFORE, " ", text[:at]) + text[at + len(also) :]
    for found in reversed(find_dates(text, reference, relative=True)):
        if re.search(r"\bon\s*$", text[: found.start], re.I):
            continue  # "attend hearing on 3/9": when it happens, not a deadline
        before = re.sub(_DEADLINE_BEFORE, "", text[: found.start])
        text = before + " " + text[found.end :]
    text = re.sub(r"\(\s*(?:w/c)?\s*\)", "", text)
    return re.sub(r"\s+([.,;)])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" -,")


_OUR_LEAD = re.compile(
    r"^\s*(?:(?:we|i|adv|adviser|advisor)\s+(?:agreed to|to|will|shall)|we'll|we’ll|i'll|i’ll)"
    r"\s+",
    re.IGNORECASE,
)
_CLIENT_LEAD = re.compile(
    r"^\s*(?:(?:agreed|also|then|so|plus)\s*:?\s+)?"
    r"(?:(?:cl|clt|cleint|client|clients|c|she|he|they|you|both|(?-i:[A-Z][a-z]+"
    r"(?:\s+(?:and|&|\+)\s+[A-Z][a-z]+)?))\s+(?:also\s+)?(?:agreed to|to|will|needs? to|must|"
    r"should|has to|is to)|agreed to)\s+(?:also\s+)?",
    re.IGNORECASE,
)
# "cl posts to court": the client and a verb in the third person.
_CLIENT_DOES = re.compile(r"^\s*(?:cl|clt|client)\s+(?P<verb>[a-z]+?)e?s\b", re.IGNORECASE)


def sentence_from_notes(
    clause: str,
    owner: str,
    reference: date,
    *,
    due_text: str | None = None,
    person: str | None = None,
) -> str:
    """An action in the notes' own words, made readable by code (its deadline, found
    by :func:`rma.notes.facts.find_actions`, is removed: code adds it after the
    sentence): "we to request BS" becomes "We will request breathing space.", "cl to
    send SFS by 12/3" becomes "Send Standard Financial Statement.", "Anna to bring
    MATB1 form" becomes "Anna will bring maternity certificate form."."""
    clause = without_dates(clause, reference, due_text)
    if owner == "us":
        text = _OUR_LEAD.sub("", clause)
        text = "We will " + text[:1].lower() + text[1:]
    else:
        does = _CLIENT_DOES.match(clause)
        if does and re.fullmatch(ACTION_VERBS, does.group("verb"), re.IGNORECASE):
            text = does.group("verb") + clause[does.end() :]
        else:
            text = _CLIENT_LEAD.sub("", clause)
        if person:
            text = f"{person} will " + text[:1].lower() + text[1:]
    return plain_sentence(text, reference)


@dataclass
class LetterContent:
    """Everything a letter says, already checked against the notes."""

    client_name: str
    letter_date: date
    appointment: date
    matters: list[str] = field(default_factory=list)
    our_actions: list[Action] = field(default_factory=list)
    your_actions: list[Action] = field(default_factory=list)
    debts: list[Debt] = field(default_factory=list)
    advice: Advice | None = None
    adviser_name: str | None = None
    organisation: str | None = None
    tone: Tone = "warm"
    # "she" or "he" when the notes speak of the client so: the letter says "you" instead
    client_pronoun: str | None = None


@dataclass
class Section:
    heading: str
    items: list[str]
    note: str = ""  # a paragraph after the list, or instead of it when it is empty


@dataclass
class ComposedLetter:
    """The letter as text, and as parts (for the Word copy and the readability check)."""

    text: str
    body: str  # the part a client reads for meaning: used for the reading age
    header: list[str]
    greeting: str
    title: str
    opening: str
    sections: list[Section]
    closing: str
    sign_off: list[str]


def action_line(action: Action) -> str:
    line = action.action
    if action.due is not None:
        line = line.rstrip(".") + f" by {format_date(action.due)}."
    return line


def in_order(actions: list[Action]) -> list[Action]:
    """Actions in the order they fall due; those without a deadline after, as given."""
    dated = sorted((a for a in actions if a.due is not None), key=lambda a: a.due or date.max)
    return dated + [a for a in actions if a.due is None]


def debt_line(debt: Debt) -> str:
    line = debt.creditor
    if debt.original_creditor:
        line += f" (the debt was with {debt.original_creditor})"
    if debt.amount is not None:
        line += f": {format_money(Decimal(debt.amount))}"
    if debt.kind:
        line += f", {debt.kind}"
    if debt.priority:
        line += ". This is a priority debt"
    line += "."
    if debt.next:
        line += " " + debt.next
    return line


def compose(content: LetterContent) -> ComposedLetter:
    """The Confirmation of Advice letter for ``content``."""

    def to_client(lines: list[str]) -> list[str]:
        return [glossary.second_person(line, content.client_pronoun) for line in lines]

    header = [content.organisation] if content.organisation else []
    header.append(format_date(content.letter_date))
    greeting = f"Dear {content.client_name},"
    when = (
        "today"
        if content.appointment == content.letter_date
        else f"on {format_date(content.appointment)}"
    )
    talked = "talking to us" if content.tone == "warm" else "meeting us"
    opening = (
        f"Thank you for {talked} {when}. This letter sets out what we talked about, "
        "what we will do and what you need to do. Please keep it safe."
    )
    sections = [
        Section(
            HEADINGS["matters"],
            to_client(content.matters),
            "" if content.matters else EMPTY["matters"],
        )
    ]
    if content.debts:
        has_priority = any(d.priority for d in content.debts)
        sections.append(
            Section(
                HEADINGS["debts"],
                [debt_line(d) for d in content.debts],
                PRIORITY_NOTE if has_priority else "",
            )
        )
    advice = to_client(advice_lines(content.advice)) if content.advice else []
    if advice:
        sections.append(Section(HEADINGS["advice"], advice))
    sections.append(
        Section(
            HEADINGS["ours"],
            to_client([action_line(a) for a in content.our_actions]),
            "" if content.our_actions else EMPTY["ours"],
        )
    )
    sections.append(
        Section(
            HEADINGS["yours"],
            to_client([action_line(a) for a in in_order(content.your_actions)]),
            "" if content.your_actions else EMPTY["yours"],
        )
    )
    closing = CLOSING_LINE
    valediction = "Best wishes," if content.tone == "warm" else "Yours sincerely,"
    sign_off = [valediction]
    if content.adviser_name:
        sign_off.append(content.adviser_name)
    if content.organisation:
        sign_off.append(content.organisation)

    body_parts = [TITLE, opening]
    for section in sections:
        body_parts.append(section.heading)
        body_parts.extend(f"- {item}" for item in section.items)
        if section.note:
            body_parts.append(section.note)
    body_parts.append(closing)
    body = "\n".join(body_parts)
    text = "\n".join(header) + "\n\n" + greeting + "\n\n"
    text += TITLE + "\n\n" + opening + "\n\n"
    for section in sections:
        text += section.heading + "\n"
        text += "".join(f"- {item}\n" for item in section.items)
        if section.note:
            text += section.note + "\n"
        text += "\n"
    text += closing + "\n\n" + "\n".join(sign_off) + "\n"
    return ComposedLetter(text, body, header, greeting, TITLE, opening, sections, closing, sign_off)
