"""The code checks, on hand-made letters: each broken letter must raise its warning."""

from __future__ import annotations

from datetime import date

import pytest

from rma.notes.checks import (
    check_edited_letter,
    check_letter,
    count_syllables,
    debts_said_not_owed,
    dropped_actions,
    grounded,
    invented_facts,
    invented_timing,
    readable_part,
    reading_age,
    says_part_of,
    unknown_names,
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
    assert not grounded("Lowell enjoys sunny beaches.", facts)  # 1 of 4 content words
    assert not grounded("We will send it to you and to us.", facts)  # no content at all


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


# ------------------------------------------- what a model sentence may not add

TOLD = """\
4/3/25 tel - Sam
Debts: Lowell (ex Vanquis) £4,230, Cabot £486 - statute barred (last pmt 2017), HMRC SA £900
Explained Lowell can go to court if no pmt. UC claim in place.
cl to send SFS by 14/3
"""


@pytest.fixture
def told() -> NotesFacts:
    return NotesFacts.read(TOLD, date(2025, 3, 4))


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ("Lowell passed your Vanquis debt to Capita Collections.", ["Capita Collections"]),
        ("We will ask Moorcroft to stop calling you.", ["Moorcroft"]),
        ("Speak to Citizens Advice about your rent.", ["Citizens Advice"]),
        # what the notes name, as written or spelt out, and ordinary capitals
        ("Lowell can take you to court for the Vanquis debt.", []),
        ("Call HMRC's Self Assessment helpline on Monday.", []),
        ("Your Universal Credit claim is in place.", []),
        ("HM Revenue and Customs can wait until March.", []),
        ("Send us your Standard Financial Statement.", []),
        ("Court action is possible.", []),  # a sentence's own capital
    ],
)
def test_unknown_names_are_the_names_the_notes_never_give(
    told: NotesFacts, sentence: str, names: list[str]
) -> None:
    assert unknown_names(sentence, told) == names


@pytest.mark.parametrize(
    ("sentence", "creditors"),
    [
        ("You do not owe Lowell anything.", ["Lowell"]),
        ("You don't owe Lowell any money now.", ["Lowell"]),
        ("The Lowell debt has been written off.", ["Lowell"]),
        # the notes say Cabot's debt is statute barred: saying so is theirs
        ("You do not owe Cabot anything you have to pay.", []),
        ("You owe Lowell £4,230.", []),
        ("You do not need to call Lowell.", []),
    ],
)
def test_a_listed_debt_said_to_be_owed_nothing(
    told: NotesFacts, sentence: str, creditors: list[str]
) -> None:
    assert debts_said_not_owed(sentence, told) == creditors


@pytest.mark.parametrize(
    ("sentence", "timing"),
    [
        ("Lowell will take you to court next week.", ["next week"]),
        ("Send us your Standard Financial Statement within 7 days.", ["within 7 days"]),
        ("Call Lowell today.", ["today"]),
        ("Lowell can take you to court.", []),
        ("Send us your Standard Financial Statement by 14 March.", []),
    ],
)
def test_a_when_the_notes_do_not_give(told: NotesFacts, sentence: str, timing: list[str]) -> None:
    assert invented_timing(sentence, told) == timing


@pytest.mark.parametrize(
    ("sentence", "timing"),
    [
        # the notes' "14 days" and "end of month", written as a letter writes them
        ("Pay the arrears within 14 days.", []),
        ("Apply for WaterSure by the end of the month.", []),
        ("Apply for WaterSure by the end of this month.", []),
        ("Pay the arrears within 7 days.", ["within 7 days"]),
        ("Apply for WaterSure by the end of the week.", ["by the end of the week"]),
    ],
)
def test_a_when_the_notes_give_passes_however_it_is_written(
    sentence: str, timing: list[str]
) -> None:
    notes = "22/7/25 Zopa DN - 14 days to pay arrs. cl to apply for WaterSure by end of month"
    assert invented_timing(sentence, NotesFacts.read(notes, date(2025, 7, 22))) == timing


def test_the_answer_keys_own_wording_passes_the_sentence_checks() -> None:
    """The key's actions, written by hand from the notes, add no name, debt or timing."""
    from tests.notes.test_corpus import CASES

    flagged = []
    for case in CASES:
        facts = NotesFacts.read(case.notes, case.key.appointment_date)
        for action in case.key.client_actions + case.key.adviser_actions:
            found = (
                unknown_names(action.action, facts)
                + debts_said_not_owed(action.action, facts)
                + invented_timing(action.action, facts)
            )
            if found:
                flagged.append((case.name, action.action, found))
    assert not flagged


INSTRUCTION = """\
URGENT tel 26/2/25
EA at door yesterday for council tax.
told cl: don't let EA in, speak thru letterbox/ door closed, EA can't force entry for CT
"""


@pytest.mark.parametrize(
    ("sentence", "says"),
    [
        ("Do not let the enforcement agent in.", True),
        ("Keep the door closed and speak through the letterbox.", True),  # all of it
        ("Speak to them through the letterbox.", True),  # 3 of the second clause's 5 words
        ("Never let the agent in.", True),  # half the first clause's words, and its "not"
        ("Let the enforcement agent in when they come back.", False),  # the "not" lost
        ("Pay the enforcement agent.", False),
        ("Speak to Lowell about the debt.", False),  # 1 word of 5
    ],
)
def test_a_sentence_may_say_one_clause_of_an_instruction_with_its_polarity(
    sentence: str, says: bool
) -> None:
    facts = NotesFacts.read(INSTRUCTION, date(2025, 2, 26))
    (action,) = facts.actions
    assert action.owner == "client"
    # the instruction itself: not "told cl:", not what the EA can't do
    assert action.text == "don't let EA in and speak thru letterbox/ door closed"
    assert says_part_of(action, sentence) is says


def test_an_edited_letter_says_what_was_checked_and_which_debt_went() -> None:
    """The counts a response shows (so an adviser sees the checks ran on this letter),
    worked out by hand from GOOD_LETTER and sample 01, and a dropped debt named with its
    balance."""
    checked: dict[str, int] = {}
    warnings = check_edited_letter(
        GOOD_LETTER.replace("£4,230", "£4,203"),  # the balance in the debts list changed
        sample("01"),
        WRITTEN,
        client_name="Jo Bloggs",
        letter_date=LETTER_DATE,
        reading_age_target=11,
        checked=checked,
    )
    assert checked == {
        "amounts": 1,  # £4,203
        "dates": 3,  # 6 March, 5 March, 12 March 2025
        "creditors": 2,  # Lowell, Vanquis
        "actions": 2,  # send SFS, request breathing space
        "deadlines": 1,  # 12/3
        "debts": 1,  # Lowell's £4,230
    }
    assert [(w.code, w.message) for w in warnings] == [
        ("invented_amount", "the amount £4,203 in the letter is not in the notes"),
        ("dropped_debt", "the debt to Lowell of £4,230 is not in the letter"),
    ]
