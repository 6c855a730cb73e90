"""The limit reader's parts that the sentence table in test_extract.py does not reach,
written for the mutants that survived it (docs/testing.md): a lost f-ligature restored,
a month given without a day, money in either money unit, and a passage read with its
document, page and headings ("It was raised to ..." naming the limit before it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from rma.limits.extract import figure_in_text, read_passage, read_sentence, readable


@dataclass(frozen=True)
class Passage:
    text: str
    heading_path: tuple[str, ...] = ("Debt relief orders",)
    chunk_id: str = "handbook:0001"
    document_id: str = "handbook"
    document: str = "handbook.pdf"
    title: str = "Money advice handbook"
    page: int | None = 12


def test_a_lost_f_ligature_is_restored_where_one_word_fits_and_kept_where_none_does() -> None:
    printed = (
        "The o\ufffdcial receiver takes \ufffdve days; bene\ufffdts count; the e\ufffdect is "
        "\ufffdnal.  x\ufffdy stays."
    )
    assert readable(printed) == (
        "The official receiver takes five days; benefits count; the effect is final. "
        "x\ufffdy stays."
    )
    assert readable("A line-end hyphen\u2010 joined") == "A line-end hyphenjoined"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("From June 2021 the DRO assets limit was £2,000.",
         [("£2,000", "dro.assets", date(2021, 6, 1), "month", None)]),
        ("The DRO debt limit is £30,000 until June 2024.",
         [("£30,000", "dro.max_debt", None, "day", date(2024, 5, 31))]),
        ("The DRO debt limit was £30,000 and from June 2024 it is £50,000.",
         [("£30,000", "dro.max_debt", None, "day", None),
          ("£50,000", "dro.max_debt", date(2024, 6, 1), "month", None)]),
    ],
)  # fmt: skip
def test_a_month_without_a_day_dates_a_limit_from_its_first_or_to_its_last_day(
    sentence: str, expected: list[tuple[str, str, date | None, str, date | None]]
) -> None:
    got = [
        (r.figure.text, r.name, r.effective_from, r.from_precision, r.effective_to)
        for r in read_sentence(sentence)
    ]
    assert got == expected


def test_money_is_found_in_either_money_unit_and_nothing_else() -> None:
    spare = "You may have £75 a month spare."
    assert figure_in_text(Decimal(75), "GBP/month", spare)
    assert figure_in_text(Decimal(75), "GBP", spare)
    assert figure_in_text(Decimal(75), "percent", "75% of the creditors who vote")
    assert not figure_in_text(Decimal(75), "GBP", "75% of the creditors who vote")
    assert not figure_in_text(Decimal(75), "GBP/month", "A breathing space lasts 75 days.")
    assert not figure_in_text(Decimal(76), "GBP", spare)


def test_a_passage_is_read_with_its_document_page_and_headings() -> None:
    passage = Passage("The DRO debt limit was £30,000. It was raised to £50,000 on 28 June 2024.")
    readings = read_passage(passage)
    assert [(r.figure.text, r.name, r.role) for r in readings] == [
        ("£30,000", "dro.max_debt", "limit"),
        ("£50,000", "dro.max_debt", "limit"),  # "It" is the limit the sentence before named
    ]
    old, new = (r.candidate() for r in readings)
    assert old.past and old.effective_from is None
    assert not new.past and new.effective_from == date(2024, 6, 28)
    assert new.quote == "It was raised to £50,000 on 28 June 2024."
    assert (new.document, new.document_id, new.chunk_id, new.page, new.heading) == (
        "handbook.pdf", "handbook", "handbook:0001", 12, "Debt relief orders",
    )  # fmt: skip


def test_the_limit_under_a_heading_is_the_one_the_heading_names() -> None:
    passage = Passage("The limit is £50,000.", ("Debt relief orders", "The debt limit"))
    [reading] = read_passage(passage)
    assert (reading.name, reading.role) == ("dro.max_debt", "limit")
    assert reading.candidate().heading == "Debt relief orders > The debt limit"
    alone = read_sentence("The limit is £50,000.")  # no heading: no limit to name
    assert [r.name for r in alone] != ["dro.max_debt"]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # a monthly limit stated without "a month" is still that limit
        ("A DRO needs surplus income of £75 or less.",
         [("£75", "dro.surplus_income", None, None, False)]),
        # "(£X before)": the old figure, to the day before the new one took effect
        ("The DRO debt limit is £50,000 from 28 June 2024 (£30,000 before).",
         [("£50,000", "dro.max_debt", date(2024, 6, 28), None, False),
          ("£30,000", "dro.max_debt", None, date(2024, 6, 27), True)]),
        ("The DRO debt limit is £50,000 (£30,000 before).",
         [("£50,000", "dro.max_debt", None, None, False),
          ("£30,000", "dro.max_debt", None, None, True)]),
    ],
)  # fmt: skip
def test_a_figures_limit_and_dates_from_the_words_around_it(
    sentence: str, expected: list[tuple[str, str, date | None, date | None, bool]]
) -> None:
    got = [
        (r.figure.text, r.name, r.effective_from, r.effective_to, r.past)
        for r in read_sentence(sentence)
    ]
    assert got == expected


def test_a_date_the_sentence_before_gave_dates_the_limit_after_it() -> None:
    passage = Passage("The law changed on 28 June 2024. From then the DRO debt limit is £50,000.")
    [reading] = read_passage(passage)
    assert (reading.name, reading.effective_from) == ("dro.max_debt", date(2024, 6, 28))
    alone = read_sentence("From then the DRO debt limit is £50,000.")
    assert [r.effective_from for r in alone] == [None]


@pytest.mark.parametrize(
    ("sentence", "last_day"),
    [
        ("The DRO debt limit was £30,000 on or before 27 June 2024.", date(2024, 6, 27)),
        ("The DRO debt limit was £30,000 up to and including 27 June 2024.", date(2024, 6, 27)),
        ("The DRO debt limit was £30,000 until 27 June 2024 inclusive.", date(2024, 6, 27)),
        ("Up to and including 27 June 2024 the DRO debt limit was £30,000.", date(2024, 6, 27)),
        ("The DRO debt limit was £30,000 until 27 June 2024.", date(2024, 6, 26)),
        ("The DRO debt limit was £30,000 before 28 June 2024.", date(2024, 6, 27)),
    ],
)
def test_an_inclusive_end_is_the_last_day_and_until_or_before_the_day_before(
    sentence: str, last_day: date
) -> None:
    [reading] = read_sentence(sentence)
    assert (reading.name, reading.effective_to) == ("dro.max_debt", last_day)
