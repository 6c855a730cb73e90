"""Which limits a question asks about, for when and where: phrasings written for this test
(the corpus's own questions are asked end to end in tests/rag)."""

from __future__ import annotations

from datetime import date

import pytest

from rma.limits.questions import read_question

TODAY = date(2026, 11, 30)
D = date.fromisoformat

CASES = [
    # question, limits, (first, last) day asked or "before now" or None, elsewhere
    ("What's the current DRO debt limit?", ["dro.max_debt"], None, None),
    ("what was the asset limit for a DRO on 1 March 2020?", ["dro.assets"],
     (D("2020-03-01"), D("2020-03-01")), None),
    ("DRO fee before april 2024", ["dro.fee"], (D("2024-03-31"), D("2024-03-31")), None),
    ("what did the vehicle limit used to be for DROs", ["dro.vehicle"], "before now", None),
    ("bankruptcy deposit for a creditor's petition in 2020",
     ["bankruptcy.petition_deposit"], (D("2020-01-01"), D("2020-12-31")), None),
    ("how much is the debt limit for a DRO in Scotland", ["dro.max_debt"], None, "scotland"),
    ("who supervises an IVA?", [], None, None),
    ("For a DRO: debts of £31,000 and a surplus of £80 a month. Does the client qualify?",
     ["dro.max_debt", "dro.surplus_income"], None, None),
    ("how many days does a standard BS give", ["breathing_space.standard_days"], None, None),
    ("creditor owed 4k, can they petition for bankruptcy?",
     ["bankruptcy.creditor_petition_min"], None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "names", "when", "elsewhere"), CASES, ids=[c[0] for c in CASES]
)
def test_a_question_names_its_limits_date_and_place(
    question: str, names: list[str], when: object, elsewhere: str | None
) -> None:
    asked = read_question(question, today=TODAY)
    assert asked.names == names
    if when is None:
        assert asked.when is None
    elif when == "before now":
        assert asked.when is not None and asked.when.before_now
    else:
        assert asked.when is not None and (asked.when.first, asked.when.last) == when
    assert asked.elsewhere == elsewhere


def test_this_year_is_today() -> None:
    assert read_question("DRO asset limit 2026", today=TODAY).when is None
