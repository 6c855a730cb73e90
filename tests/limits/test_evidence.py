"""Evidence: candidates held against a table become supporting passages or conflicts, and
a change of table (an approval) changes which."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rma.limits.changes import Proposal, apply_change
from rma.limits.conflicts import Candidate
from rma.limits.evidence import LimitEvidence
from rma.limits.table import shipped_table

TODAY = date(2026, 11, 30)


def cand(value: int, chunk: str, **extra: object) -> Candidate:
    return Candidate(
        "dro.max_debt", Decimal(value), "GBP", document=f"{chunk}.pdf", page=1,
        quote=f"the limit is £{value:,}", chunk_id=chunk, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_supporting_passages_and_conflicts() -> None:
    table = shipped_table()
    found = [
        cand(50000, "a"),
        cand(50000, "b", effective_from=date(2024, 6, 28)),
        cand(30000, "c"),
        cand(900000, "d", effective_from=date(2026, 1, 1)),
    ]
    evidence = LimitEvidence.build(found, table, today=TODAY)
    current = table.as_at("dro.max_debt", TODAY).row
    assert [f.candidate.chunk_id for f in evidence.supporting(current)] == ["a", "b"]
    # a dated passage is preferred, unless the question retrieved the other one
    assert evidence.best_support(current).candidate.chunk_id == "b"  # type: ignore[union-attr]
    assert evidence.best_support(current, prefer={"a"}).candidate.chunk_id == "a"  # type: ignore[union-attr]
    assert [(f.candidate.chunk_id, f.verdict) for f in evidence.conflicts()] == [
        ("c", "stale"),
        ("d", "unknown_value"),
    ]
    assert [f.candidate.chunk_id for f in evidence.in_chunks({"c", "d"})] == ["c", "d"]


def test_an_approved_change_turns_a_conflict_into_support() -> None:
    poisoned = cand(900000, "d", effective_from=date(2026, 1, 1))
    approved = apply_change(
        shipped_table(),
        Proposal("dro.max_debt", Decimal(900000), "a manual", "approved", date(2026, 1, 1)),
    )
    evidence = LimitEvidence.build([poisoned, cand(50000, "a")], approved, today=TODAY)
    row = approved.as_at("dro.max_debt", TODAY).row
    assert [f.candidate.chunk_id for f in evidence.supporting(row)] == ["d"]
    assert [(f.candidate.chunk_id, f.verdict) for f in evidence.conflicts()] == [("a", "stale")]


def test_a_candidate_for_a_limit_the_table_lacks_is_left_out() -> None:
    other = Candidate("map.max_debt", Decimal(50000), "GBP", jurisdiction="scotland")
    assert LimitEvidence.build([other], shipped_table(), today=TODAY).findings == ()
