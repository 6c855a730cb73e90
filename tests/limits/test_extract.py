"""Reading limits from manuals' sentences, judged by hand-written expectations.

The sentences here are new: written for this test in the styles advisers meet (official
guidance, handbooks, bulletins, case notes), not copied from the corpus the reader was
tuned on, so they check that the rules carry over. Each expectation is what a careful
adviser would conclude as at 30 November 2026: which limit a figure states (or that it is
a client's figure, or something else), and whether it agrees with the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from rma.limits.conflicts import Candidate, classify_one
from rma.limits.extract import candidates, find_figures, read_sentence
from rma.limits.table import shipped_table

TODAY = date(2026, 11, 30)


def verdicts(sentence: str, around: set[str]) -> list[tuple[str, str | None, str]]:
    """(figure, limit, verdict or role) for each figure of a sentence."""
    table = shipped_table()
    out = []
    for r in read_sentence(sentence, around):
        if r.role == "limit" and r.name:
            out.append(
                (r.figure.text, r.name, classify_one(r.candidate(), table, today=TODAY).verdict)
            )
        else:
            out.append((r.figure.text, None, r.role))
    return out


DRO, BANKRUPTCY, BS, IVA = {"dro"}, {"bankruptcy"}, {"breathing_space"}, {"iva"}
CASES = [
    ("You can apply for a debt relief order if you owe £50,000 or less.", set(),
     [("£50,000", "dro.max_debt", "supports")]),
    ("You may get a DRO if you have £75 or less a month spare after paying household costs.",
     set(), [("£75", "dro.surplus_income", "supports")]),
    ("From 28 June 2024 the debt limit went up from £30,000 to £50,000.", DRO,
     [("£30,000", "dro.max_debt", "supports"), ("£50,000", "dro.max_debt", "supports")]),
    ("Your debts must be no more than £30,000 (£50,000 with effect from 28 June 2024).", DRO,
     [("£30,000", "dro.max_debt", "supports"), ("£50,000", "dro.max_debt", "supports")]),
    ("The DRO debt limit is £30,000.", set(), [("£30,000", "dro.max_debt", "stale")]),
    ("From 1 January 2026 the DRO debt limit is £900,000.", set(),
     [("£900,000", "dro.max_debt", "unknown_value")]),
    ("It costs £680 to apply for bankruptcy: a £130 adjudicator fee and a £550 deposit.", set(),
     [("£680", "bankruptcy.application_fee", "supports"),
      ("£130", "bankruptcy.adjudicator_fee", "supports"),
      ("£550", "bankruptcy.deposit", "supports")]),
    ("A creditor can only make you bankrupt if you owe them at least £5,000.", set(),
     [("£5,000", "bankruptcy.creditor_petition_min", "supports")]),
    ("The petitioning creditor must also pay a deposit of £990.", BANKRUPTCY,
     [("£990", "bankruptcy.petition_deposit", "stale")]),
    ("The official receiver's general fee of £2,390 comes out of the estate.", BANKRUPTCY,
     [("£2,390", None, "other")]),
    ("A standard breathing space lasts for 60 days.", set(),
     [("60 days", "breathing_space.standard_days", "supports")]),
    ("A mental health crisis breathing space lasts for the treatment, plus 30 days.", set(),
     [("30 days", "breathing_space.mental_health_extra_days", "supports")]),
    ("The proposal is approved if 75% of the creditors who vote, by value, agree.", IVA,
     [("75%", "iva.approval_share", "supports")]),
    ("Kim owes £12,500 on catalogues and cards.", DRO, [("£12,500", None, "example")]),
    ("The car is worth £3,200, which is under the £4,000 limit.", DRO,
     [("£3,200", None, "example"), ("£4,000", "dro.vehicle", "supports")]),
    ("Before 29 June 2021 the assets limit was £1,000.", DRO,
     [("£1,000", "dro.assets", "supports")]),
    ("There is no fee to apply for a DRO.", set(), [("no fee", "dro.fee", "supports")]),
    ("The DRO application fee is £90.", set(), [("£90", "dro.fee", "stale")]),
    ("Clients must not have had a DRO in the last 6 years.", set(),
     [("6 years", "dro.previous_dro_years", "supports")]),
    ("Most people are discharged from bankruptcy after one year.", set(),
     [("one year", "bankruptcy.discharge_months", "supports")]),
    ("The £75 compliance fee is charged when a case goes to enforcement agents.", DRO,
     [("£75", None, "other")]),
    ("Please put the account on hold for 30 days.", BS, [("30 days", None, "other")]),
]  # fmt: skip


def _id(sentence: str) -> str:
    """A test id in plain ASCII ("£75" as "GBP75"), so it can be named on a command line."""
    return sentence[:50].replace("£", "GBP").encode("ascii", "replace").decode()


@pytest.mark.parametrize(("sentence", "around", "expected"), CASES, ids=[_id(c[0]) for c in CASES])
def test_each_sentence_is_read_as_an_adviser_would(
    sentence: str, around: set[str], expected: list[tuple[str, str | None, str]]
) -> None:
    got = verdicts(sentence, around)
    # an example or another thing is judged by its role; the limit it was compared with
    # does not matter
    got = [(f, n if v not in ("example", "other") else None, v) for f, n, v in got]
    assert got == expected


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    document_id: str
    document: str
    title: str
    page: int | None
    heading_path: tuple[str, ...]
    text: str


def test_a_passage_is_read_with_the_sentences_before_it() -> None:
    """ "It was raised to ..." and "the limit" refer back; "before that date" looks back
    for the date; the title says which scheme the figures are about."""
    text = (
        "When DROs were introduced on 6 April 2009 the debt limit was £15,000. "
        "It was raised to £20,000 on 1 October 2015. "
        "The £50,000 limit has applied since 28 June 2024; before that date it was £30,000."
    )
    chunk = Chunk("g:1", "g", "guide.pdf", "Debt relief orders", 3, ("Debt relief orders",), text)
    found = candidates([chunk])
    assert [(c.name, c.value) for c in found] == [
        ("dro.max_debt", Decimal(15000)),
        ("dro.max_debt", Decimal(20000)),
        ("dro.max_debt", Decimal(50000)),
        ("dro.max_debt", Decimal(30000)),
    ]
    table = shipped_table()
    assert [classify_one(c, table, today=TODAY).verdict for c in found] == ["supports"] * 4
    thirty = found[-1]
    assert (thirty.effective_to, thirty.past) == (date(2024, 6, 27), True)
    assert thirty.document == "guide.pdf" and thirty.page == 3 and thirty.chunk_id == "g:1"
    assert thirty.quote in text and "£30,000" in thirty.quote
    assert str(thirty.value) == "30000"  # as the table writes it
    # the same passages give the same candidates
    assert candidates([chunk]) == found


def test_the_limit_under_a_heading_is_the_heading_s_limit() -> None:
    """A printout's headings are headings, not text: "the limit" in the first sentence
    under "4.3 The debt limit" is the debt limit, not the vehicle named just before it."""
    before = Chunk(
        "h:0", "h", "h.pdf", "Debt relief orders", 2, ("4.2 The conditions in brief",),
        "The client may keep one vehicle worth less than £4,000.",
    )  # fmt: skip
    under = Chunk(
        "h:1", "h", "h.pdf", "Debt relief orders", 2, ("4.3 The debt limit",),
        "From 28 June 2024 the limit went up from £30,000 to £50,000.",
    )  # fmt: skip
    found = candidates([before, under])
    assert [(c.name, int(c.value)) for c in found] == [
        ("dro.vehicle", 4000),
        ("dro.max_debt", 30000),
        ("dro.max_debt", 50000),
    ]


def test_a_candidate_survives_being_stored() -> None:
    chunk = Chunk("g:1", "g", "g.md", "DROs", None, (), "The DRO debt limit is £30,000.")
    [candidate] = candidates([chunk])
    assert Candidate.from_dict(candidate.as_dict()) == candidate


def test_figures_read_from_prose() -> None:
    found = [(f.text, f.value, f.unit) for f in find_figures(
        "£75 a month, 3.5k, 75 per cent, half, twelve months, a 12-month period, one year, "
        "no application fee and £680: the total"
    )]  # fmt: skip
    assert found == [
        ("£75 a month", Decimal(75), "GBP/month"),
        ("3.5k", Decimal(3500), "GBP"),
        ("75 per cent", Decimal(75), "percent"),
        ("half", Decimal(50), "percent"),
        ("twelve months", Decimal(12), "months"),
        ("12-month", Decimal(12), "months"),
        ("one year", Decimal(1), "years"),
        ("no application fee", Decimal(0), "GBP"),
        ("£680", Decimal(680), "GBP"),
    ]
