"""The answer-key corpus (corpora/notes): every key agrees with its notes and with
itself, a letter written from a key scores full marks, and one planted mistake in any
case's letter is caught. Written without RMA's letter code: the keys are the judge."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rma import constants as C
from rma.notes.evaluate import (
    AnswerKey,
    CorpusCase,
    carries,
    load_corpus,
    names_match,
    score_letter,
    summary,
    totals,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / C.NOTES_CORPUS
CASES = load_corpus(CORPUS)
BY_NAME = {case.name: case for case in CASES}
WRITTEN_ON = date(2026, 4, 1)


def _ids(cases: list[CorpusCase]) -> list[str]:
    return [case.name[:2] for case in cases]


# ------------------------------------------------------------ the corpus as a whole


def test_the_corpus_has_the_size_and_mix_the_letters_issue_needs() -> None:
    assert len(CASES) >= 24
    styles = Counter(style for case in CASES for style in case.key.style)
    for style in ("terse bullets", "run-on paragraph", "dictated prose", "typos"):
        assert styles[style] >= 1, style
    assert sum(len(case.key.debts) >= 6 for case in CASES) >= 4
    assert any(case.key.interpreter for case in CASES)
    assert any(not case.key.client_actions for case in CASES), "an info-only appointment"
    years = {case.key.appointment_date.year for case in CASES}
    assert {2024, 2025, 2026} <= years


def test_the_year_boundaries_the_issue_names_are_in_the_corpus() -> None:
    """A November 2025 appointment whose '9/12' is 9 December 2025, and December
    appointments whose January dates fall in the next year."""
    november = BY_NAME["01_terse_six_creditors"]
    assert november.key.appointment_date == date(2025, 11, 20) and "9/12" in november.notes
    assert date(2025, 12, 9) in {a.deadline for a in november.key.client_actions}
    for name, january in (
        ("02_runon_december_to_january", date(2026, 1, 3)),
        ("24_december_2024_pensioner", date(2025, 1, 3)),
    ):
        case = BY_NAME[name]
        assert case.key.appointment_date.month == 12 and "3/1" in case.notes
        assert january in {a.deadline for a in case.key.client_actions}


def test_shorthand_the_issue_lists_is_used_in_the_notes() -> None:
    used = {entry.short.lower() for case in CASES for entry in case.key.shorthand}
    wanted = (
        "cl cc + w/ re acct uc hb pip ctr la ccj dn dca ea or sfs i&e dmp dro iva ap f&f n1 n244"
    )
    assert not set(wanted.split()) - used


# --------------------------------------------------------------- each key


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_every_key_quotes_its_notes(case: CorpusCase) -> None:
    key, notes = case.key, case.notes
    quoted: list[str] = [a.from_notes for a in [*key.client_actions, *key.adviser_actions]]
    quoted += [n.text for n in key.not_client_actions]
    quoted += [d.balance_as_written for d in key.debts if d.balance_as_written]
    quoted += [key.total.as_written] if key.total else []
    missing = [q for q in quoted if q not in notes]
    assert not missing, f"not in the notes: {missing}"
    for entry in key.shorthand:
        pattern = r"(?<![A-Za-z])" + re.escape(entry.short) + r"(?![A-Za-z])"
        assert re.search(pattern, notes), f"shorthand {entry.short!r} is not in the notes"
    for typo in key.typos:
        assert typo in notes, f"typo {typo!r} is not in the notes"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_every_key_adds_up(case: CorpusCase) -> None:
    key = case.key
    for debt in key.debts:
        assert (debt.balance_pence is None) == (debt.balance_as_written is None), debt.creditor
        assert names_match(debt.creditor, debt.creditor)
    if key.total is not None and key.total.covers == "all the debts listed":
        assert key.total.pence == sum(d.balance_pence or 0 for d in key.debts)
    assert key.appointment_date in key.dates
    for action in [*key.client_actions, *key.adviser_actions]:
        if action.deadline is not None:
            assert action.deadline in key.dates, action.action
            assert action.deadline >= key.appointment_date, action.action
    assert key.advice.recommended is None or key.advice.options_discussed


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_every_key_is_carried_by_its_own_words(case: CorpusCase) -> None:
    """Each plain-English action and option in a key has the words its match asks
    for, so a letter phrased like the key is found."""
    key = case.key
    for action in [*key.client_actions, *key.adviser_actions]:
        assert carries(action.match, action.action), action.action
    for item in key.not_client_actions:
        assert carries(item.match, item.text), item.text
    options = [*key.advice.options_discussed]
    options += [key.advice.recommended] if key.advice.recommended else []
    for option in options:
        assert carries([option.match], option.option), option.option
    if key.advice.reason_match:
        assert key.advice.reason and carries(key.advice.reason_match, key.advice.reason)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_an_adviser_action_never_passes_for_a_client_action(case: CorpusCase) -> None:
    """Otherwise an adviser's task listed as the client's would score as right."""
    for ours in case.key.adviser_actions:
        wrongly = [a.action for a in case.key.client_actions if carries(a.match, ours.action)]
        assert not wrongly, f"{ours.action!r} reads as the client's {wrongly}"
        assert any(carries(n.match, ours.action) for n in case.key.not_client_actions) or ours.done


# --------------------------------------------------- letters written from the key


def letter_from_key(key: AnswerKey) -> dict[str, Any]:
    """The response a perfect letter would give, written from the key alone."""
    debts = [
        {
            "creditor": d.creditor,
            "amount": None if d.balance_pence is None else f"{d.balance_pence / 100:.2f}",
            "priority": "priority" if d.priority else None,
        }
        for d in key.debts
    ]
    yours = [
        {"action": a.action, "due": a.deadline.isoformat() if a.deadline else None}
        for a in key.client_actions
    ]
    ours = [{"action": a.action, "due": None} for a in key.adviser_actions]
    advice = key.advice
    text = [f"Dear {key.client_first_name},"]
    text += [f"{d['creditor']}: {d['kind']}." for d in (x.model_dump() for x in key.debts)]
    text += ["We talked about " + "; ".join(o.option for o in advice.options_discussed) + "."]
    if advice.recommended:
        text.append(f"We recommend {advice.recommended.option}.")
    if advice.reason:
        text.append(advice.reason)
    text += [a["action"] + "." for a in [*ours, *yours]]
    return {
        "appointment_date": key.appointment_date.isoformat(),
        "debts": debts,
        "your_actions": yours,
        "our_actions": ours,
        "letter": "\n".join(text),
    }


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_letter_written_from_the_key_scores_full_marks(case: CorpusCase) -> None:
    score = score_letter(letter_from_key(case.key), case.key, written_on=WRITTEN_ON)
    assert score.problems == [] and score.leaks == [] and score.invented == 0
    ratios = {k: v for k, v in summary(totals([score])).items() if isinstance(v, float)}
    assert all(v == 1.0 for v in ratios.values()), ratios


# Every case but the information-only call has a debt and a deadline to get wrong.
PLANTABLE = [c for c in CASES if c.key.debts and any(a.deadline for a in c.key.client_actions)]


@pytest.mark.parametrize("case", PLANTABLE, ids=_ids(PLANTABLE))
def test_a_planted_mistake_in_any_case_is_caught(case: CorpusCase) -> None:
    right = letter_from_key(case.key)
    dropped = {**right, "debts": right["debts"][1:]}
    assert score_letter(dropped, case.key).debts_matched == len(case.key.debts) - 1
    i = next(i for i, a in enumerate(right["your_actions"]) if a["due"])
    wrong_year = [dict(a) for a in right["your_actions"]]
    due = date.fromisoformat(wrong_year[i]["due"])
    wrong_year[i]["due"] = due.replace(year=due.year + 1).isoformat()
    score = score_letter({**right, "your_actions": wrong_year}, case.key)
    assert score.deadlines_right == score.deadlines_listed - 1
    assert score.invented >= 1
