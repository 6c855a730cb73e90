"""What manuals state, held against the table: a table of cases, each with the verdict a
debt adviser would give it, including the awkward ones real handbooks contain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rma.limits.conflicts import Candidate, classify, classify_one
from rma.limits.table import shipped_table

TODAY = date(2026, 11, 30)
D = date.fromisoformat


def cand(name: str, value: int | str, unit: str = "GBP", **dates: object) -> Candidate:
    return Candidate(
        name,
        Decimal(str(value)),
        unit,
        document="Advice Handbook 2023",
        page=14,
        **dates,  # type: ignore[arg-type]
    )


# (what the manual says, candidate, verdict, conflict)
CASES = [
    ("£50,000 or less (no dates)", cand("dro.max_debt", 50000), "supports", False),
    ("£30,000 or less (no dates: an old manual)", cand("dro.max_debt", 30000), "stale", True),
    ("£900,000 from 1 January 2026 (poisoned upload)",
     cand("dro.max_debt", 900000, effective_from=D("2026-01-01")), "unknown_value", True),
    ("£900,000 (no dates)", cand("dro.max_debt", 900000), "unknown_value", True),
    # "£30,000 or less (£50,000 with effect from 28 June 2024)" gives two candidates:
    ("£30,000 until 27 June 2024",
     cand("dro.max_debt", 30000, effective_to=D("2024-06-27")), "supports", False),
    ("£50,000 with effect from 28 June 2024",
     cand("dro.max_debt", 50000, effective_from=D("2024-06-28")), "supports", False),
    ("£30,000 from 28 June 2024 (the old figure given the new date)",
     cand("dro.max_debt", 30000, effective_from=D("2024-06-28")), "stale", True),
    ("£20,000 between October 2015 and June 2021 (month precision)",
     cand("dro.max_debt", 20000, effective_from=D("2015-10-01"), effective_to=D("2021-06-01"),
          from_precision="month", to_precision="month"), "supports", False),
    ("£20,000 from 2015 to 2021 (year precision)",
     cand("dro.max_debt", 20000, effective_from=D("2015-01-01"), effective_to=D("2021-01-01"),
          from_precision="year", to_precision="year"), "supports", False),
    ("£15,000 from 2015 (wrong: it rose that year)",
     cand("dro.max_debt", 15000, effective_from=D("2016-01-01")), "stale", True),
    ("£75 a month", cand("dro.surplus_income", 75, "GBP/month"), "supports", False),
    ("£75 (the 'a month' left to the table)", cand("dro.surplus_income", 75), "supports", False),
    ("£50 a month before June 2021",
     cand("dro.surplus_income", 50, "GBP/month", effective_to=D("2021-06-28")), "supports", False),
    ("£90 fee (abolished)", cand("dro.fee", 90), "stale", True),
    ("no fee from 6 April 2024",
     cand("dro.fee", 0, effective_from=D("2024-04-06")), "supports", False),
    ("75 per cent", cand("iva.approval_share", 75, "percent"), "supports", False),
    ("60 days", cand("breathing_space.standard_days", 60, "days"), "supports", False),
    ("60 percent for breathing space (wrong unit)",
     cand("breathing_space.standard_days", 60, "percent"), "unknown_value", True),
    ("£990 petition deposit (old)", cand("bankruptcy.petition_deposit", 990), "stale", True),
    ("£2,390 for a creditor's petition minimum (a receiver's fee, misread)",
     cand("bankruptcy.creditor_petition_min", 2390), "unknown_value", True),
    ("£750 before October 2015",
     cand("bankruptcy.creditor_petition_min", 750, effective_to=D("2015-09-30")),
     "supports", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("said", "candidate", "verdict", "conflict"), CASES, ids=[c[0] for c in CASES]
)
def test_each_case_gets_the_verdict_an_adviser_would_give(
    said: str, candidate: Candidate, verdict: str, conflict: bool
) -> None:
    finding = classify_one(candidate, shipped_table(), today=TODAY)
    assert (finding.verdict, finding.conflict) == (verdict, conflict), finding.message


def test_the_messages_say_what_is_wrong_and_where() -> None:
    table = shipped_table()
    stale = classify_one(cand("dro.max_debt", 30000), table, today=TODAY)
    assert stale.message == (
        "Advice Handbook 2023, page 14 quotes £30,000, the limit until 27 June 2024; "
        "it is now £50,000"
    )
    poisoned = classify_one(cand("dro.max_debt", 900000), table, today=TODAY)
    assert "quotes £900,000, which matches no known value of the DRO debt limit" in poisoned.message
    assert stale.in_force is not None and stale.in_force.value == 50000


def test_announced_values_agree_only_with_their_date() -> None:
    from rma.limits.changes import Proposal, apply_change

    table = apply_change(
        shipped_table(),
        Proposal("dro.max_debt", Decimal(60000), "an order", "announced", D("2027-04-01")),
    )
    dated = classify_one(
        cand("dro.max_debt", 60000, effective_from=D("2027-04-01")), table, today=TODAY
    )
    assert (dated.verdict, dated.conflict) == ("upcoming", False)
    undated = classify_one(cand("dro.max_debt", 60000), table, today=TODAY)
    assert (undated.verdict, undated.conflict) == ("upcoming", True)
    assert "not yet in force" in undated.message
    early = classify_one(
        cand("dro.max_debt", 60000, effective_from=D("2026-01-01")), table, today=TODAY
    )
    assert (early.verdict, early.conflict) == ("upcoming", True)


def test_classify_keeps_the_order_and_never_changes_the_table() -> None:
    table = shipped_table()
    before = [r.as_dict() for r in table.rows]
    findings = classify([c for _, c, _, _ in CASES], table, today=TODAY)
    assert [f.candidate for f in findings] == [c for _, c, _, _ in CASES]
    assert [r.as_dict() for r in table.rows] == before
    assert table.as_at("dro.max_debt", TODAY).value == 50000
