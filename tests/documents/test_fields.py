"""Fields are checked in code; what fails a check is kept and flagged, never dropped."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from rma.config import Settings
from rma.documents.classify import DocType, classify, decide, wording_scores
from rma.documents.fields import extract_fields
from rma.llm.factory import build_router
from tests.conftest import OllamaDouble

LETTER = """Lakeside Finance Ltd
Date: 3 March 2025
Account number: 4455 6677
Your account is £120.00 in arrears.
Balance outstanding: £2,310.45
Please contact us within 14 days."""


async def test_code_fields_without_a_model() -> None:
    found = await extract_fields([(1, LETTER, 0.9)], None)
    values = {k: f.value for k, f in found.fields.items()}
    assert values == {
        "creditor": "Lakeside Finance Ltd",
        "account_reference": "4455 6677",
        "balance": "2310.45",
        "arrears": "120.00",
        "letter_date": "2025-03-03",
        "deadline": "2025-03-17",
    }
    deadline = found.fields["deadline"]
    assert deadline.verified is False and "letter date plus 14 days" in deadline.note
    assert found.fields["balance"].confidence == pytest.approx(0.95 * 0.9)


async def test_model_values_are_checked_and_nonsense_is_flagged(
    ollama_settings: Callable[..., Settings], ollama: OllamaDouble
) -> None:
    text = "Lakeside Finance Ltd\nDate: 3 March 2025\nPlease pay the amount shown overleaf."
    ollama.control(
        reply=json.dumps(
            {
                "creditor": "Lakeside Finance Ltd",
                "account_reference": None,
                "claim_number": None,
                "balance": "£9,999.99",  # not in the text
                "arrears": "lots",  # not an amount
                "letter_date": "3 March 2025",
                "deadline": "1 January 2025",  # before the letter date, and not in the text
            }
        )
    )
    router = build_router(ollama_settings())
    try:
        found = await extract_fields([(1, text, 0.9)], router)
    finally:
        await router.aclose()
    f = found.fields
    assert f["balance"].value == "£9,999.99" and not f["balance"].verified
    assert f["balance"].page is None and f["balance"].confidence == 0.3
    assert "does not occur in the text" in f["balance"].note
    assert not f["arrears"].verified and "not an amount" in f["arrears"].note
    assert f["letter_date"].verified and f["letter_date"].value == "2025-03-03"
    assert not f["deadline"].verified
    assert any(w.startswith("balance:") for w in found.warnings)
    assert any(w.startswith("arrears:") for w in found.warnings)
    assert any(w.startswith("deadline:") for w in found.warnings)
    assert found.provenance is not None and found.provenance["provider"] == "ollama"


async def test_deadline_before_letter_date_is_flagged() -> None:
    text = "Date: 10/04/2025\nPay by 1 April 2025."
    found = await extract_fields([(1, text, 1.0)], None)
    assert found.fields["deadline"].value == "2025-04-01"
    assert found.fields["deadline"].verified is False
    assert "not after the letter date" in found.fields["deadline"].note
    assert any("not after the letter date" in w for w in found.warnings)


async def test_arrears_over_balance_is_flagged() -> None:
    found = await extract_fields([(1, "Arrears: £500.00\nBalance: £50.00", 1.0)], None)
    assert any("more than the balance" in w for w in found.warnings)


def test_wording_overrules_an_unsupported_model_type() -> None:
    bill = "Your electricity bill. Meter reading 12345. 320 kWh at 24p. Standing charge 53p/day."
    chosen, warnings = decide(DocType.CCJ, wording_scores(bill))
    assert chosen.doc_type is DocType.UTILITY_BILL and chosen.method == "wording"
    assert "kWh" in chosen.evidence
    assert warnings and "does not support" in warnings[0]


def test_a_model_type_without_any_evidence_is_kept_but_flagged() -> None:
    chosen, warnings = decide(DocType.BANK_STATEMENT, wording_scores("Hello, see you soon."))
    assert chosen.doc_type is DocType.BANK_STATEMENT and chosen.confidence < 0.5
    assert warnings and "model alone" in warnings[0]


def test_agreement_is_high_confidence() -> None:
    chosen, warnings = decide(
        DocType.DEFAULT_NOTICE, wording_scores("DEFAULT NOTICE under section 87(1)")
    )
    assert (chosen.method, chosen.confidence, warnings) == ("agreed", 0.9, [])


async def test_classify_with_a_model_that_answers_nonsense(
    ollama_settings: Callable[..., Settings], ollama: OllamaDouble
) -> None:
    ollama.control(reply='{"doc_type": "ccj"}')
    router = build_router(ollama_settings())
    try:
        chosen, provenance, warnings = await classify(
            "Universal Credit statement for your assessment period", router
        )
    finally:
        await router.aclose()
    assert chosen.doc_type is DocType.UNIVERSAL_CREDIT_STATEMENT
    assert chosen.model_type is DocType.CCJ
    assert provenance is not None and warnings


def test_when_both_are_well_evidenced_the_model_pick_stands_with_a_note() -> None:
    text = (
        "DEFAULT NOTICE under section 87(1) of the Consumer Credit Act 1974: remedy the "
        "breach. Sent by our debt collection agency. Arrears overdue."
    )
    chosen, warnings = decide(DocType.DEBT_COLLECTION_LETTER, wording_scores(text))
    assert chosen.doc_type is DocType.DEBT_COLLECTION_LETTER and chosen.method == "model"
    assert warnings and "also fits default_notice" in warnings[0]
    weak, _ = decide(DocType.CREDITOR_LETTER, wording_scores(text))
    assert weak.doc_type is DocType.DEFAULT_NOTICE and weak.method == "wording"


async def test_an_amount_read_with_a_comma_for_the_point_is_kept_unverified() -> None:
    found = await extract_fields([(1, "Outstanding balance; £1,408,16", 0.9)], None)
    balance = found.fields["balance"]
    assert (balance.value, balance.verified, balance.source) == ("1408.16", False, "code")
    assert "£1,408,16" in balance.note
    assert any(w.startswith("balance:") for w in found.warnings)


def test_character_error_rate() -> None:
    from rma.documents.evaluate import character_error_rate

    assert character_error_rate("Balance: £10", "Balance:  £10") == 0
    assert character_error_rate("abcd", "abed") == 0.25
    assert character_error_rate("abcd", "") == 1.0


async def test_a_collectors_letterhead_is_not_taken_as_the_creditor() -> None:
    from rma.documents.fields import check_against_type

    letter = "Redwood Recoveries Ltd\nWe are collecting a debt you owe.\nBalance: £20.00"
    found = await extract_fields([(1, letter, 1.0)], None)
    assert found.fields["creditor"].verified is True  # as far as the words go
    warnings = check_against_type(found.fields, "debt_collection_letter")
    assert found.fields["creditor"].verified is False
    assert warnings and warnings[0].startswith("creditor:")
    labelled = await extract_fields(
        [(1, letter + "\nOriginal creditor: Brightphone Mobile", 1.0)], None
    )
    assert labelled.fields["creditor"].value == "Brightphone Mobile"
    assert check_against_type(labelled.fields, "debt_collection_letter") == []


async def test_a_reference_with_letters_ocr_confuses_with_digits_is_flagged() -> None:
    ocr = await extract_fields([(1, "Our reference: ENO0330766", 0.93)], None)
    assert ocr.fields["account_reference"].verified is False
    assert "O with 0" in ocr.fields["account_reference"].note
    exact = await extract_fields([(1, "Our reference: ENO0330766", 1.0)], None)
    assert exact.fields["account_reference"].verified is True  # a text layer is exact
    clear = await extract_fields([(1, "Claim number: K81QZ909", 0.93)], None)
    assert clear.fields["claim_number"].verified is True


def test_a_value_in_a_long_paragraph_is_quoted_with_its_sentence_only() -> None:
    from rma.documents.fields import QUOTE_MAX_CHARS, sentence_around

    paragraph = (
        "We have written to you before about the payments missed on this account. "
        "To avoid further action, please pay the amount in arrears by 01-Jul-2026. "
        "We want to help. If your circumstances have changed, please talk to us: we can "
        "look at your income and spending with you and agree an affordable plan."
    )
    assert len(paragraph) > QUOTE_MAX_CHARS
    start = paragraph.index("01-Jul-2026")
    assert sentence_around(paragraph, start, start + 11) == (
        "To avoid further action, please pay the amount in arrears by 01-Jul-2026."
    )
    first = paragraph.index("payments")
    assert sentence_around(paragraph, first, first + 8).startswith("We have written")
    last = paragraph.index("affordable")
    assert sentence_around(paragraph, last, last + 10).endswith("affordable plan.")
    short = "  Pay by 01-Jul-2026.  "
    assert sentence_around(short, 9, 20) == "Pay by 01-Jul-2026."
