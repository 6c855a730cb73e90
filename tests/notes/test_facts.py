"""What code reads from notes: amounts, UK dates, creditors, actions, shorthand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rma.notes.facts import (
    NotesFacts,
    appointment_date,
    expand_abbreviations,
    find_actions,
    find_amounts,
    find_dates,
    format_date,
    format_pounds,
    known_creditors_in,
    name_in_text,
    priority_kind,
    resolve_year,
)
from tests.notes.conftest import all_samples, sample


@pytest.mark.parametrize(
    ("written", "pounds"),
    [
        ("£4,230", "4230.00"),
        ("4230", "4230.00"),
        ("£4.2k", "4200.00"),
        ("4.2k", "4200.00"),
        ("£1,250.50", "1250.50"),
        ("£ 75", "75.00"),
        ("680 pounds", "680.00"),
        ("£50k", "50000.00"),
    ],
)
def test_amounts_are_normalised(written: str, pounds: str) -> None:
    (amount,) = find_amounts(f"cl owes {written} to Lowell")
    assert amount.value == Decimal(pounds)


def test_money_and_bare_numbers_are_told_apart() -> None:
    found = {a.text: a.is_money for a in find_amounts("£4.2k and 3 kids, 4230 and 680 pounds")}
    assert found == {"£4.2k": True, "3": False, "4230": False, "680 pounds": True}


def test_a_long_run_of_digits_is_kept_exact() -> None:
    (amount,) = find_amounts("ref 123456789012345678901234567890")
    assert amount.value == Decimal("123456789012345678901234567890")
    assert not amount.is_money


def test_dates_are_not_amounts() -> None:
    assert find_amounts("send SFS by 12/3 and call on 14/01/2025") == []


def test_uk_dates_resolve_against_the_appointment() -> None:
    march = date(2025, 3, 5)
    (d,) = find_dates("send SFS by 12/3", march)
    assert d.value == date(2025, 3, 12)  # 12/3 is 12 March, not 3 December
    assert not d.year_given
    # A deadline in January written in December is next year's January.
    (d,) = find_dates("agreed to send docs by 10/1", date(2025, 12, 20))
    assert d.value == date(2026, 1, 10)
    # A past event without a deadline word takes the nearest date.
    (d,) = find_dates("EA letter rec 3/2", march)
    assert d.value == date(2025, 2, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date: 05/03/2025", date(2025, 3, 5)),
        ("on 5.3.25", date(2025, 3, 5)),
        ("by 12th March", date(2025, 3, 12)),
        ("hearing 3 Sept 2025", date(2025, 9, 3)),
        ("due March 31st", date(2025, 3, 31)),
        ("2025-04-01", date(2025, 4, 1)),
    ],
)
def test_date_forms(text: str, expected: date) -> None:
    (d,) = find_dates(text, date(2025, 3, 5))
    assert d.value == expected


def test_impossible_dates_are_not_dates() -> None:
    assert find_dates("ref 31/2 and 45/13", date(2025, 3, 5)) == []
    assert resolve_year(29, 2, date(2025, 3, 1), future=True) == date(2024, 2, 29)


def test_appointment_date_from_the_notes() -> None:
    assert appointment_date(sample("01"), date(2026, 1, 1)) == date(2025, 3, 5)
    assert appointment_date(sample("08"), date(2026, 1, 1)) == date(2025, 2, 14)
    assert appointment_date("cl owes £40 to BT", date(2026, 1, 1)) is None


def test_shorthand_is_spelt_out() -> None:
    assert expand_abbreviations("cl to send SFS re CT arrs") == (
        "client to send Standard Financial Statement about council tax arrears"
    )
    # Inside words and names nothing changes.
    assert expand_abbreviations("Octopus, Cabot, recent") == "Octopus, Cabot, recent"


def test_actions_with_owner_and_deadline() -> None:
    actions = find_actions(sample("01"), date(2025, 3, 5))
    assert [(a.owner, a.due) for a in actions] == [
        ("client", date(2025, 3, 12)),
        ("us", None),
    ]
    assert "standard" in actions[0].key_words  # SFS spelt out
    assert "breath" in actions[1].key_words


def test_actions_under_headings_and_an_empty_section() -> None:
    actions = find_actions(sample("03"), date(2025, 6, 2))
    owners = [a.owner for a in actions]
    assert owners == ["us", "us", "client", "client"]
    assert actions[2].due == date(2025, 6, 16)
    # "Our actions: none" is no action; the client's line still is one.
    actions = find_actions(sample("06"), date(2025, 11, 3))
    assert [a.owner for a in actions] == ["client"]


def test_creditors_and_priority_debts() -> None:
    assert set(known_creditors_in(sample("08"))) >= {"Cabot", "PRA Group", "Moorcroft"}
    assert "EE" not in known_creditors_in("we need to see the fees")  # case matters for short names
    assert priority_kind("CT arrs £1,250.50") == "council tax"
    assert priority_kind("Mags court fine £460") == "a magistrates' court fine"
    assert priority_kind("Barclaycard £2,100") is None
    assert name_in_text("Leeds City Council", sample("02"))
    assert not name_in_text("Cabot Financial", sample("01"))


def test_every_sample_reads() -> None:
    samples = all_samples()
    assert len(samples) >= 8
    for name, notes in samples.items():
        appointment = appointment_date(notes, date(2026, 1, 1))
        assert appointment is not None, name
        facts = NotesFacts.read(notes, appointment)
        assert facts.amounts or name.startswith("06"), name  # 06 has no figures at all


def test_letter_formats() -> None:
    assert format_pounds(Decimal("4230.00")) == "£4,230"
    assert format_pounds(Decimal("1250.5")) == "£1,250.50"
    assert format_date(date(2025, 3, 12)) == "12 March 2025"
