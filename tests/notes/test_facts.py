"""What code reads from notes: the appointment, creditors, actions, shorthand (amounts and
dates are rma.text's, tested in tests/test_text.py)."""

from __future__ import annotations

from datetime import date

from rma.notes.facts import (
    NotesFacts,
    appointment_date,
    expand_abbreviations,
    find_actions,
    known_creditors_in,
    name_in_text,
    priority_kind,
)
from tests.notes.conftest import all_samples, sample


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
    # "Our actions: none" is no action, and neither is a standing offer ("call back if
    # wants full advice appt"): nothing was agreed.
    assert find_actions(sample("06"), date(2025, 11, 3)) == []
    # The same sentence with an agreed action in it still gives that action.
    agreed = sample("06").replace("if wants full advice appt", "by 10/11")
    assert [(a.owner, a.due) for a in find_actions(agreed, date(2025, 11, 3))] == [
        ("client", date(2025, 11, 10))
    ]


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
