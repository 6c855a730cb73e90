"""What of the model's reply a letter may use, decided by code against the notes.

Each sentence is made letter-ready and kept only if the notes support it: no amount,
date or creditor the notes lack, about something in the notes, not cut off. Who does
an action and by when come from the notes; actions the reply missed are written from
the notes' own words. Every decision is a warning the adviser sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from rma.notes import glossary
from rma.notes.advice import Advice, read_advice
from rma.notes.checks import (
    LetterWarning,
    debts_said_not_owed,
    grounded,
    invented_facts,
    invented_timing,
    is_carried,
    says_part_of,
    unknown_names,
)
from rma.notes.debts import NoteDebt, find_debts, is_priority_kind
from rma.notes.facts import (
    NoteAction,
    NotesFacts,
    Owner,
    expand_abbreviations,
    name_in_text,
    words,
)
from rma.notes.letter import (
    LetterContent,
    plain_sentence,
    sentence_from_notes,
    standard_figures,
    without_dates,
)
from rma.notes.schema import (
    MAX_PHRASE,
    Action,
    ConvertRequest,
    Debt,
    ExtractedAction,
    NotesExtraction,
)
from rma.text import MONTHS, Amount, find_amounts, find_dates, format_date, format_money


def _checked_sentence(
    raw: str, facts: NotesFacts, what: str, warnings: list[LetterWarning], *, undated: bool
) -> str | None:
    """A model sentence fit for the letter, or None (with a warning saying why)."""
    if len(raw) >= MAX_PHRASE:
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"{what} {raw[:60]!r}... was cut off by its length limit and left out",
            )
        )
        return None
    text = without_dates(raw, facts.appointment) if undated else raw
    sentence = plain_sentence(text, facts.appointment)
    if not sentence:
        return None
    reasons = [p.message.replace(" in the letter", "") for p in invented_facts(sentence, facts)]
    reasons += [f"the name {name!r} is not in the notes" for name in unknown_names(sentence, facts)]
    reasons += [
        f"it says {creditor} is owed nothing, but the notes list a debt to {creditor}"
        for creditor in debts_said_not_owed(sentence, facts)
    ]
    reasons += [
        f"the timing {when!r} is not in the notes" for when in invented_timing(sentence, facts)
    ]
    if reasons:
        warnings.append(
            LetterWarning(
                "left_out_unsupported", f"{what} {sentence!r} was left out: {'; '.join(reasons)}"
            )
        )
        return None
    if not grounded(sentence, facts):
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"{what} {sentence!r} was left out: it is not about anything in the notes",
            )
        )
        return None
    return sentence


def _checked_action(
    item: ExtractedAction, facts: NotesFacts, owner: str, warnings: list[LetterWarning]
) -> Action | None:
    sentence = _checked_sentence(item.action, facts, owner, warnings, undated=True)
    if sentence is None:
        return None
    due_text = (item.due or "").strip() or None
    # Read as the notes are read: "end of month", "today" resolve against the appointment.
    written = find_dates(due_text, facts.appointment, relative=True) if due_text else []
    if not written:
        # The model may have left the deadline in the sentence instead.
        written = find_dates(item.action, facts.appointment)
        due_text = written[0].text if written else due_text
    due = None
    if written:
        # A deadline the notes also give resolves as the notes' own reading does.
        same = [d.value for d in facts.dates if d.text == written[0].text]
        due = same[0] if same else written[0].value
        if not facts.has_date(due, year_given=written[0].year_given):
            warnings.append(
                LetterWarning(
                    "left_out_unsupported",
                    f"the deadline {due_text!r} for {owner} {sentence!r} is not in the notes "
                    "and was left out",
                )
            )
            due = None
    elif due_text and due_text.lower() not in ("null", "none", "n/a", "-"):
        warnings.append(
            LetterWarning(
                "deadline_not_a_date",
                f"the deadline {due_text!r} for {owner} {sentence!r} is not a date; "
                "it was left out",
            )
        )
    return Action(action=sentence, due=due, due_as_written=due_text if due else None)


def _align_with_notes(
    ours: list[Action], yours: list[Action], facts: NotesFacts, warnings: list[LetterWarning]
) -> tuple[list[Action], list[Action]]:
    """Who does an action, and by when, as the notes say (read by code): an item the
    model put under the wrong heading moves; its deadline is the notes' deadline."""
    deadlines = {a.due for a in facts.actions if a.due is not None}
    out: dict[str, list[Action]] = {"us": [], "client": []}
    for owner, items in (("us", ours), ("client", yours)):
        for item in items:
            carried = [a for a in facts.actions if is_carried(a, item.action)]
            if not carried:
                out[owner].append(item)
                continue
            best = next((a for a in carried if a.owner == owner), carried[0])
            if best.owner != owner:
                warnings.append(
                    LetterWarning(
                        "action_moved",
                        f"{item.action!r} is {'our' if best.owner == 'us' else 'your'} action "
                        "in the notes and is listed there",
                    )
                )
            in_text = {d.value for d in find_dates(item.action, facts.appointment)}
            if best.due is not None and item.due != best.due and best.due not in in_text:
                if item.due is not None:
                    warnings.append(
                        LetterWarning(
                            "deadline_from_notes",
                            f"the deadline for {item.action!r} is {format_date(best.due)} in "
                            f"the notes, not {format_date(item.due)}; the notes' date is used",
                        )
                    )
                item = item.model_copy(update={"due": best.due})
            elif best.due is None and item.due in deadlines:
                # The model gave this action another action's deadline.
                warnings.append(
                    LetterWarning(
                        "deadline_from_notes",
                        f"the notes give no deadline for {item.action!r}; the date "
                        f"{format_date(item.due)} belongs to another action and is not used",
                    )
                )
                item = item.model_copy(update={"due": None, "due_as_written": None})
            out[best.owner].append(item)
    return out["us"], out["client"]


def _creditor_name(raw: str, facts: NotesFacts, warnings: list[LetterWarning]) -> str | None:
    name = re.sub(r"\s+", " ", re.sub(r"[`*_#|<>{}\[\]\\]", "", raw)).strip(" .,;:")
    if not name:
        return None
    # A sum or a date given as a name; a bare number inside a name ("Loans 2 Go") is not.
    is_figure = bool(
        find_dates(name, facts.appointment) or any(a.is_money for a in find_amounts(name))
    )
    has_word = any(len(w) >= 2 and w.lower() not in MONTHS for w in re.findall(r"[A-Za-z&]+", name))
    if is_figure or not has_word or not facts.mentions(name):
        warnings.append(
            LetterWarning(
                "left_out_unsupported",
                f"the creditor {name!r} is not a creditor named in the notes and was left out",
            )
        )
        return None
    return name


def _unique(items: list[Any], key: Any, what: str, warnings: list[LetterWarning]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        k = key(item).lower()
        if k not in seen:
            seen.add(k)
            out.append(item)
    if len(out) < len(items):
        warnings.append(
            LetterWarning("repeats_merged", f"the model repeated some {what}; each is listed once")
        )
    return out


def checked_content(
    extraction: NotesExtraction | None,
    facts: NotesFacts,
    request: ConvertRequest,
    letter_date: date,
) -> tuple[LetterContent, list[LetterWarning]]:
    """Keep what the notes support, normalise amounts and dates, note what was left out.
    The debts, the advice and the actions are the notes', read by code. With no
    extraction (the model's reply was unusable) every sentence is code's: the actions
    in the notes' words, the matters named from the debts and advice code found."""
    warnings: list[LetterWarning] = []
    advice = read_advice(facts.text)
    # The notes' figures written the letter's way ("< £50k" is "under £50,000").
    if advice.recommended:
        advice.recommended = standard_figures(advice.recommended, facts.appointment)
    if advice.reason:
        advice.reason = standard_figures(advice.reason, facts.appointment)
    from_model = extraction is not None
    if extraction is None:
        extraction = NotesExtraction(
            matters_discussed=[], our_actions=[], your_actions=[], debts=[]
        )
    matters = [
        _checked_sentence(m, facts, "the matter", warnings, undated=False)
        for m in extraction.matters_discussed
    ]
    ours = [_checked_action(a, facts, "our action", warnings) for a in extraction.our_actions]
    yours = [_checked_action(a, facts, "your action", warnings) for a in extraction.your_actions]
    debts = debts_table(facts, request, advice)
    _compare_debts(extraction, debts, facts, warnings)
    our_list, your_list = _align_with_notes(
        [a for a in ours if a is not None], [a for a in yours if a is not None], facts, warnings
    )
    # Every action comes from the notes, in the notes' words, with the notes' deadline:
    # the model's wording is not trusted to keep what matters ("send payslips AND bank
    # statements", "do NOT let them in"). A model item no notes action carries is left
    # out (an appointment, the adviser's own task, someone else's), and said so.
    # Without a model reply, "missing from the model's reply" would be said of every
    # action: the one model_output_unusable warning says it instead.
    told = warnings if from_model else []
    our_list = _from_notes("us", our_list, facts, told)
    your_list = _from_notes("client", your_list, facts, told)
    if not from_model:
        matters = list(matters_from_code(debts, advice))
    if not any(matters):
        warnings.append(
            LetterWarning(
                "no_matters",
                "the letter lists nothing under what we talked about; add what the notes "
                "record before sending",
            )
        )
    content = LetterContent(
        client_name=request.client_name,
        letter_date=letter_date,
        appointment=facts.appointment,
        matters=_unique([m for m in matters if m], str, "matters", warnings),
        our_actions=_unique(our_list, _action_key, "actions", warnings),
        your_actions=_unique(your_list, _action_key, "actions", warnings),
        debts=debts,
        advice=advice,
        adviser_name=request.adviser_name,
        organisation=request.organisation,
        tone=request.tone,
        client_pronoun=glossary.client_pronoun(facts.text, request.client_name),
    )
    return content, warnings


def matters_from_code(debts: list[Debt], advice: Advice) -> Iterator[str]:
    """What was talked about, as far as code can say it: the debts and the options
    (their details are in the letter's own sections)."""
    if debts:
        first = " and which of them come first" if any(d.priority for d in debts) else ""
        yield f"The debts you owe{first}."
    if advice.options:
        yield "The ways you could deal with your debts."


def debts_table(facts: NotesFacts, request: ConvertRequest, advice: Advice) -> list[Debt]:
    """The letter's debts: the case's confirmed debts when the request carries them,
    else the debts code reads from the notes."""
    solution = advice.solution if advice.solution in _SOLUTIONS else None
    if request.debts is not None:
        found = [
            NoteDebt(
                creditor=d.creditor,
                kind=d.kind or "debt",
                balance=Amount(format_money(d.balance), d.balance, True) if d.balance else None,
                priority=(d.kind or "priority debt")
                if (d.priority if d.priority is not None else is_priority_kind(d.kind or ""))
                else None,
            )
            for d in request.debts
        ]
        source = "case"
    else:
        found, source = find_debts(facts.text), "notes"
    origin: Literal["notes", "case"] = "case" if source == "case" else "notes"
    return [
        Debt(
            creditor=d.creditor,
            amount=str(d.balance.value) if d.balance else None,
            amount_as_written=d.balance.text if d.balance else None,
            priority=d.priority,
            kind=d.kind,
            original_creditor=d.original_creditor,
            next=d.next_step(solution),
            source=origin,
        )
        for d in found
    ]


# Debt solutions that take in every non-priority debt.
_SOLUTIONS = frozenset(
    {
        "a debt management plan",
        "a Debt Relief Order",
        "an Individual Voluntary Arrangement",
        "bankruptcy",
    }
)


def _compare_debts(
    extraction: NotesExtraction,
    debts: list[Debt],
    facts: NotesFacts,
    warnings: list[LetterWarning],
) -> None:
    """The model's debts are not listed (code reads them); one the table lacks, or a
    creditor the notes name that is in no debt, is for the adviser to look at."""
    for item in extraction.debts:
        name = _creditor_name(item.creditor, facts, warnings)
        if name is None:
            continue
        if not any(name_in_text(name, f"{d.creditor} {d.original_creditor or ''}") for d in debts):
            warnings.append(
                LetterWarning(
                    "debt_not_in_table",
                    f"the model read a debt to {name} that code did not find with a balance "
                    "in the notes; it is not listed: check the notes",
                )
            )
    for name in facts.creditors:
        if not any(name_in_text(name, f"{d.creditor} {d.original_creditor or ''}") for d in debts):
            warnings.append(
                LetterWarning(
                    "creditor_not_in_letter",
                    f"the notes mention {name}, which is not in the letter's list of debts "
                    "(fine if it is only the original lender of a debt listed)",
                )
            )


def _from_notes(
    owner: Owner, listed: list[Action], facts: NotesFacts, warnings: list[LetterWarning]
) -> list[Action]:
    out: list[Action] = []
    for item in listed:
        if not any(a.owner == owner and says_part_of(a, item.action) for a in facts.actions):
            whose = "the client's" if owner == "client" else "ours"
            warnings.append(
                LetterWarning(
                    "left_out_unsupported",
                    f"{item.action!r} is not an action the notes give as {whose}; it was left out",
                )
            )
    for action in facts.actions:
        if action.owner != owner:
            continue
        worded = [item.action for item in listed if _words_it(action, item.action)]
        if worded:  # the model's wording, where it keeps every word the notes give
            out.append(Action(action=worded[0], due=action.due, due_as_written=action.due_text))
            continue
        if not any(is_carried(action, item.action) for item in listed):
            partly = any(says_part_of(action, item.action) for item in listed)
            warnings.append(
                LetterWarning(
                    "action_from_notes",
                    f"{'our' if owner == 'us' else 'your'} action {action.text!r} was "
                    f"{'only partly in' if partly else 'missing from'} the model's reply; the "
                    "letter uses the notes' own words: check the phrasing",
                )
            )
        sentence = sentence_from_notes(
            action.text,
            owner,
            facts.appointment,
            due_text=action.due_text,
            person=action.person,
        )
        if sentence:
            out.append(Action(action=sentence, due=action.due, due_as_written=action.due_text))
    return out


_NEGATION = re.compile(r"\b(?:not|no|never|don't|do not|dont|stop|cannot|can't)\b", re.I)


def _words_it(action: NoteAction, sentence: str) -> bool:
    """Whether a model's sentence says the notes action: every key word of it, and no
    "not" the notes do not have ("Do not apply for breathing space")."""
    present = set(words(expand_abbreviations(sentence)))
    if not set(action.key_words) <= present:
        return False
    return bool(_NEGATION.search(action.text)) == bool(_NEGATION.search(sentence))


def _action_key(action: Action) -> str:
    return action.action


def apply_rewording(
    content: LetterContent, new: dict[str, list[str]], facts: NotesFacts
) -> tuple[LetterContent, list[LetterWarning]]:
    """``content`` with each sentence replaced by its rewording where that passes the
    same checks as the original; otherwise the original stays."""
    warnings: list[LetterWarning] = []

    def better(old: str, proposed: str, *, undated: bool) -> str:
        what = "a reworded sentence"
        sentence = _checked_sentence(proposed, facts, what, warnings, undated=undated)
        return sentence or old

    action_words = {w for a in facts.actions for w in a.key_words}

    def action(a: Action, proposed: str) -> Action:
        # A deadline is added by code after the sentence; any other date stays in it.
        new = better(a.action, proposed, undated=a.due is not None)
        # Simpler words for an action must keep every word of it the notes give:
        # "send payslips and bank statements" may not become "send your papers".
        needed = action_words & set(words(expand_abbreviations(a.action)))
        if not needed <= set(words(expand_abbreviations(new))):
            new = a.action
        return a.model_copy(update={"action": new})

    pairs = zip(content.matters, new["matters_discussed"], strict=True)
    matters = [better(old, proposed, undated=False) for old, proposed in pairs]
    ours = [action(a, n) for a, n in zip(content.our_actions, new["our_actions"], strict=True)]
    yours = [action(a, n) for a, n in zip(content.your_actions, new["your_actions"], strict=True)]
    reworded = LetterContent(
        **{**content.__dict__, "matters": matters, "our_actions": ours, "your_actions": yours}
    )
    return reworded, warnings
