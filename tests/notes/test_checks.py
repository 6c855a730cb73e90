"""The code checks, on hand-made letters: each broken letter must raise its warning."""

from __future__ import annotations

from datetime import date

import pytest

from rma.notes.checks import (
    check_edited_letter,
    check_letter,
    count_syllables,
    dropped_actions,
    grounded,
    invented_facts,
    readable_part,
    reading_age,
)
from rma.notes.facts import NotesFacts
from tests.notes.conftest import sample

APPOINTMENT = date(2025, 3, 5)
LETTER_DATE = date(2025, 3, 6)
ALLOWED = {APPOINTMENT, LETTER_DATE}

GOOD_LETTER = """\
Riverside Money Advice
6 March 2025

Dear Jo Bloggs,

Confirmation of your advice

Thank you for talking to us on 5 March 2025. This letter sets out what we talked about.

What we talked about
- You owe £4,230 to Lowell for an old Vanquis card.
- Lowell could take you to court for a County Court Judgment.

What we will do
- Ask for breathing space for you.

What you need to do
- Send us your Standard Financial Statement by 12 March 2025.

Best wishes,
Sam Patel
"""


@pytest.fixture
def facts() -> NotesFacts:
    return NotesFacts.read(sample("01"), APPOINTMENT)


def codes(warnings: list) -> list[str]:
    return [w.code for w in warnings]


def test_a_faithful_letter_has_no_warnings(facts: NotesFacts) -> None:
    assert check_letter(GOOD_LETTER, facts, allowed_dates=ALLOWED, reading_age_target=11) == []


def test_an_invented_amount_is_caught(facts: NotesFacts) -> None:
    letter = GOOD_LETTER.replace("£4,230", "£4,320")
    warnings = check_letter(letter, facts, allowed_dates=ALLOWED)
    assert codes(warnings) == ["invented_amount"]
    assert "£4,320" in warnings[0].message


def test_the_same_amount_written_differently_is_not_invented(facts: NotesFacts) -> None:
    for written in ("£4.23k", "4230 pounds", "£4,230.00"):
        letter = GOOD_LETTER.replace("£4,230", written)
        assert check_letter(letter, facts, allowed_dates=ALLOWED) == [], written


def test_a_dropped_action_is_caught(facts: NotesFacts) -> None:
    letter = GOOD_LETTER.replace("- Ask for breathing space for you.\n", "")
    warnings = check_letter(letter, facts, allowed_dates=ALLOWED)
    assert codes(warnings) == ["dropped_action"]
    assert "we to request breathing space" in warnings[0].message


def test_a_dropped_deadline_is_caught(facts: NotesFacts) -> None:
    letter = GOOD_LETTER.replace(" by 12 March 2025", "")
    assert codes(dropped_actions(letter, facts)) == ["dropped_deadline"]


def test_a_wrong_year_is_an_invented_date(facts: NotesFacts) -> None:
    letter = GOOD_LETTER.replace("12 March 2025", "12 March 2026")
    assert codes(check_letter(letter, facts, allowed_dates=ALLOWED)) == [
        "invented_date",
        "dropped_deadline",
    ]


def test_the_letter_date_needs_allowing(facts: NotesFacts) -> None:
    warnings = check_letter(GOOD_LETTER, facts)
    assert codes(warnings) == ["invented_date"]
    assert "6 March 2025" in warnings[0].message


def test_an_invented_creditor_is_caught(facts: NotesFacts) -> None:
    letter = GOOD_LETTER.replace("for an old Vanquis card", "for an old Cabot loan")
    warnings = check_letter(letter, facts, allowed_dates=ALLOWED)
    assert codes(warnings) == ["invented_creditor"]
    assert "Cabot" in warnings[0].message
    # Names the letter lists as debts are checked even if no list of creditors knows them.
    warnings = invented_facts(GOOD_LETTER, facts, creditors=["Acme Lending"], allowed_dates=ALLOWED)
    assert codes(warnings) == ["invented_creditor"]


def test_a_letter_above_the_reading_age_target_is_caught(facts: NotesFacts) -> None:
    dense = GOOD_LETTER.replace(
        "- Ask for breathing space for you.",
        "- Ask for breathing space for you, facilitating comprehensive consideration of "
        "your circumstances, notwithstanding creditors' contemporaneous enforcement "
        "activities and administrative communications regarding outstanding liabilities.",
    )
    warnings = check_letter(dense, facts, allowed_dates=ALLOWED, reading_age_target=11)
    assert codes(warnings) == ["reading_age_above_target"]
    assert "target is 11" in warnings[0].message
    assert check_letter(dense, facts, allowed_dates=ALLOWED, reading_age_target=25) == []


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("debt", 1),
        ("space", 1),
        ("breathing", 2),
        ("table", 2),
        ("letter", 2),
        ("council", 2),
        ("arrears", 2),
        ("agreed", 2),
        ("financial", 3),
        ("enforcement", 3),
        ("statement", 2),
        ("administrative", 5),
        ("you", 1),
    ],
)
def test_syllables(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_reading_age_formula() -> None:
    simple = reading_age("We will call you. Send us your bills. Pay the rent first.")
    assert simple.words == 12 and simple.sentences == 3
    # 0.39 * 12/3 + 11.8 * 13/12 - 15.59, floored at grade 0: reading age 5.
    assert simple.grade == 0.0 and simple.age == 5.0
    hard = reading_age(
        "Notwithstanding contemporaneous administrative communications, comprehensive "
        "consideration of outstanding liabilities necessitates documentation."
    )
    assert hard.age > 20


def test_model_drift_is_not_grounded(facts: NotesFacts) -> None:
    assert grounded("We will ask for breathing space for you.", facts)
    assert not grounded("Tour de France.", facts)
    assert not grounded("12:00:00.", facts)


# ------------------------------------------------------------- an edited letter

WRITTEN = {"appointment_date": APPOINTMENT.isoformat(),
           "debts": [{"creditor": "Lowell", "amount": "4230.00"}]}  # fmt: skip


def edited(letter: str, notes: str | None = None) -> list[str]:
    return codes(
        check_edited_letter(
            letter,
            sample("01") if notes is None else notes,
            WRITTEN,
            client_name="Jo Bloggs",
            letter_date=LETTER_DATE,
            reading_age_target=11,
        )
    )


def test_an_edited_letter_is_checked_against_its_notes_and_its_debts() -> None:
    assert edited(GOOD_LETTER.replace("Lowell for", "Lowell (£4,230) for")) == []
    dropped = GOOD_LETTER.replace("- You owe £4,230 to Lowell for an old Vanquis card.\n", "")
    assert "dropped_debt" in edited(dropped)
    assert edited(GOOD_LETTER.replace("12 March 2025", "19 March 2025")) == [
        "invented_date", "dropped_deadline",
    ]  # fmt: skip
    assert edited(GOOD_LETTER, notes="") == ["not_checked_against_notes"]


def test_the_reading_age_of_an_edited_letter_leaves_out_its_address_and_sign_off() -> None:
    part = readable_part(GOOD_LETTER)
    assert part.startswith("\nConfirmation of your advice") and "Riverside" not in part
    assert part.rstrip().endswith("by 12 March 2025.") and "Sam Patel" not in part
    assert readable_part("No greeting, no sign-off.") == "No greeting, no sign-off."
