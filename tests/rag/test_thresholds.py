"""Thresholds read from the sample manuals: values, dates and statuses, all verified in code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rma.rag.manuals import ManualChunk
from rma.rag.thresholds import (
    ThresholdExtractor,
    check_against_limits,
    figure_in_text,
    thresholds_in_question,
)


async def book_for(chunks: list[ManualChunk], today: date = date(2026, 1, 1)):  # type: ignore[no-untyped-def]
    return await ThresholdExtractor(today=today).extract(chunks)


async def test_dro_debt_limit_is_50000_from_28_june_2024_and_30000_is_historical(
    manual_chunks: list[ManualChunk],
) -> None:
    book = await book_for(manual_chunks)
    current = book.current("dro.max_debt")
    assert current is not None
    assert current.value == Decimal(50000)
    assert current.effective_from == date(2024, 6, 28)
    assert current.unit == "GBP"
    assert current.source.document == "debt-relief-orders.md"
    quote = current.source.quote
    assert "£50,000" in quote and quote in _chunk(manual_chunks, current.source.chunk_id)
    old = {t.value: t for t in book.values("dro.max_debt") if t.status == "historical"}
    assert Decimal(30000) in old
    assert old[Decimal(30000)].effective_until == date(2024, 6, 27)
    assert {Decimal(20000), Decimal(15000)} <= set(old)
    examples = [t for t in book.values("dro.max_debt") if t.status == "example"]
    assert [t.value for t in examples] == [Decimal(18400)]


async def test_other_named_limits(manual_chunks: list[ManualChunk]) -> None:
    book = await book_for(manual_chunks)
    expected = {
        "bankruptcy.application_fee": Decimal(680),
        "breathing_space.standard_days": Decimal(60),
        "dro.max_surplus_income": Decimal(75),
        "dro.max_assets": Decimal(2000),
        "dro.vehicle_disregard": Decimal(4000),
        "bankruptcy.creditor_petition_min": Decimal(5000),
        "bankruptcy.creditor_petition_deposit": Decimal(1500),
        "iva.approval_majority": Decimal(75),
    }
    for name, value in expected.items():
        current = book.current(name)
        assert current is not None, name
        assert current.value == value, name
        assert figure_in_text(current.value, current.unit, current.source.quote), name
    assert book.current("breathing_space.standard_days").unit == "days"  # type: ignore[union-attr]
    assert book.current("bankruptcy.application_fee").source.page == 2  # type: ignore[union-attr]


async def test_conflicts_are_settled_by_date_not_by_reading_order(
    manual_chunks: list[ManualChunk],
) -> None:
    forwards = await book_for(manual_chunks)
    backwards = await book_for(list(reversed(manual_chunks)))
    for name in ("dro.max_debt", "dro.vehicle_disregard", "dro.max_assets"):
        assert forwards.current(name).value == backwards.current(name).value  # type: ignore[union-attr]


async def test_the_2021_limit_was_current_before_june_2024(
    manual_chunks: list[ManualChunk],
) -> None:
    book = await book_for(manual_chunks, today=date(2023, 1, 1))
    assert book.current("dro.max_debt").value == Decimal(30000)  # type: ignore[union-attr]


def test_questions_name_their_limit() -> None:
    assert thresholds_in_question("What is the DRO debt limit?") == ["dro.max_debt"]
    assert "breathing_space.standard_days" in thresholds_in_question(
        "How long does a standard breathing space last?"
    )
    assert thresholds_in_question("Who supervises an IVA?") == []


def _chunk(chunks: list[ManualChunk], chunk_id: str) -> str:
    return next(c.text for c in chunks if c.chunk_id == chunk_id)


async def test_amounts_in_a_question_are_checked_against_the_current_limit(
    manual_chunks: list[ManualChunk],
) -> None:
    book = await book_for(manual_chunks)

    def checks(question: str) -> list[tuple[str, bool]]:
        limits = [t for t in (book.current(n) for n in thresholds_in_question(question)) if t]
        return [(c.threshold.name, c.passes) for c in check_against_limits(question, limits)]

    assert checks("My client owes £45,000. Can they get a DRO?") == [("dro.max_debt", True)]
    assert checks("Can a client with debts of £50,001 get a DRO?") == [("dro.max_debt", False)]
    assert checks("Is a car worth £4,000 disregarded for a DRO?") == [
        ("dro.vehicle_disregard", False)
    ]
    assert checks("Can a creditor petition for bankruptcy over a debt of £4,999?") == [
        ("bankruptcy.creditor_petition_min", False)
    ]
    mixed = "For a DRO: debts of £31,000 and a surplus of £80 a month. Does the client qualify?"
    assert sorted(checks(mixed)) == [("dro.max_debt", True), ("dro.max_surplus_income", False)]
