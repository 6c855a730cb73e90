"""What code reads from notes for a letter: the glossary, the debts table, the advice.

The corpus keys measure these over 26 cases (tests/notes/test_letters_bar.py); these
pin the rules one at a time, on notes written for the purpose (not the corpus)."""

from __future__ import annotations

from decimal import Decimal

from rma.notes import glossary
from rma.notes.advice import read_advice
from rma.notes.debts import find_debts, is_priority_kind
from rma.notes.facts import KNOWN_CREDITORS
from tests.notes.conftest import sample


def test_cc_is_a_council_after_a_place_and_a_credit_card_after_a_lender() -> None:
    assert glossary.expand("Wigan CC ct arrs", KNOWN_CREDITORS) == (
        "Wigan City Council council tax arrears"
    )
    assert glossary.expand("Barclaycard CC £300", KNOWN_CREDITORS) == "Barclaycard credit card £300"


def test_letter_words_leave_no_shorthand_symbols() -> None:
    plain = glossary.plain_english("cl to send stmts x3 + open acct w/ diff bank, wages/UC", ())
    for mark in ("+", "w/", "/", " cl ", "acct", "stmts", "x3"):
        assert mark not in f" {plain} ", plain
    assert glossary.plain_english("Lowell (ex Very)", ()) == "Lowell (formerly Very)"
    assert glossary.plain_english("ask ex for half", ()) == "ask your former partner for half"
    assert glossary.plain_english("OR decides; or not", ()) == "Official Receiver decides; or not"
    assert glossary.plain_english("cleint recieved arreas letter", ()) == (
        "you received arrears letter"
    )


def test_the_glossary_file_is_the_one_source() -> None:
    g = glossary.glossary()
    assert g.meaning("DRO") == "Debt Relief Order" and g.meaning("OR") == "Official Receiver"
    assert g.meaning("or") is None  # an ordinary word in lower case
    for short in ("UC", "HB", "PIP", "CTR", "LA", "CCJ", "DN", "DCA", "EA", "OR", "SFS", "I&E"):
        assert g.meaning(short), short
    assert glossary.used_in("cl owes Leeds CC") == {"CC": "City Council", "cl": "client"}


def _debts(notes: str) -> list[tuple[str, Decimal | None, bool, str | None]]:
    return [
        (d.creditor, d.balance.value if d.balance else None, bool(d.priority), d.original_creditor)
        for d in find_debts(notes)
    ]


def test_debts_with_their_creditor_balance_and_priority() -> None:
    notes = (
        "Debts:\n- Wigan CC ct arrs £640\n- Aqua CC £1,020\n- Cabot (ex Vodafone) £215\n"
        "- Sunny (old payday) now w/ Lowell £300\n- Amex? no - Klarna £80\n"
        "total approx £2,255\nSFS surplus £40 pm\ncl to pay Wigan £20 by fri + offer £5 pm"
    )
    assert _debts(notes) == [
        ("Wigan City Council", Decimal("640.00"), True, None),
        ("Aqua", Decimal("1020.00"), False, None),
        ("Cabot", Decimal("215.00"), False, "Vodafone"),
        ("Lowell", Decimal("300.00"), False, None),  # "Sunny" is no lender code knows
        ("Klarna", Decimal("80.00"), False, None),
    ]


def test_debts_in_prose_and_two_debts_with_one_collector() -> None:
    prose = (
        "She owes £2,010 to Cabot Financial, which bought her Capital One card. "
        "Lowell x2 (ex Very £400, ex Three £95). Mortgage w/ Halifax, arrs £3,100."
    )
    assert _debts(prose) == [
        ("Cabot Financial", Decimal("2010.00"), False, None),
        ("Lowell", Decimal("400.00"), False, "Very"),
        ("Lowell", Decimal("95.00"), False, "Three"),
        ("Halifax", Decimal("3100.00"), True, None),
    ]


def test_a_priority_debt_named_by_kind_and_the_samples() -> None:
    assert _debts(sample("07"))[:2] == [
        ("Magistrates' court", Decimal("460.00"), True, None),
        ("HMRC", Decimal("3900.00"), True, None),
    ]
    assert _debts(sample("04"))[0] == ("Riverside", Decimal("2480.00"), True, None)
    # A sum with no creditor is no debt; water is not a priority debt.
    assert _debts("debts approx £22k, mainly cards") == []
    assert _debts("Thames Water £410") == [("Thames Water", Decimal("410.00"), False, None)]
    assert is_priority_kind("council tax arrears") and not is_priority_kind("credit card")


def test_advice_options_recommendation_and_reason() -> None:
    advice = read_advice(
        "Options disc: DMP, DRO (surplus too high), IVA\n"
        "Rec DMP via free provider - surplus covers offers to all, cl agrees\n"
    )
    assert advice.options == [
        "a debt management plan",
        "a Debt Relief Order",
        "an Individual Voluntary Arrangement",
    ]
    assert advice.recommended == "a debt management plan via free provider"
    assert advice.reason == "surplus covers offers to all"
    assert advice.solution == "a debt management plan"
    assert read_advice("Advised deal w/ LA direct").recommended == (
        "that you deal with local authority direct"
    )
    assert read_advice("no advice today").recommended is None


def test_advice_recommended_without_the_word() -> None:
    """An option after "so", paying priority debts first after "explained ... priority",
    each with the notes' reason; a recommended solution takes the notes' assessment of
    it when its own sentence gives no reason of money or assets, but never one against
    it."""
    crisis = read_advice(
        "disc MH crisis BS v std BS: cl in crisis tx so MHCBS - lasts as long as tx"
    )
    assert crisis.recommended == "mental health crisis breathing space"
    assert crisis.reason == "you in crisis treatment; lasts as long as treatment"
    priority = read_advice("Explained fine + TVL are priority - fine can mean bailiffs, or prison.")
    assert (
        priority.recommended == "that you deal with your priority debts first (fine and TV licence)"
    )
    assert priority.reason == "fine can mean bailiffs, or prison"
    assert priority.solution is None
    assert read_advice("Explained CC + o/d are non priority").recommended is None
    assert read_advice("Surplus £52 so ok").recommended is None
    dro = read_advice("DRO fits (< £50k, < £75 surplus, no assets) - rec DRO after Xmas")
    assert dro.recommended == "a Debt Relief Order after Xmas"
    assert dro.reason == "under £50k, under £75 surplus, no assets"
    assert read_advice("DRO (surplus too high)\nrec DRO").reason is None
    covers = read_advice("DRO? total £4.5k, surplus < £75 - yes\nRec: DRO - covers Cabot")
    assert covers.reason == "covers Cabot; total £4.5k, surplus under £75"
