"""The scorer judged on predictions whose mistakes are known: a perfect reading scores
full marks, and each planted mistake lands in the count it belongs to."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from rma.documents.corpus import Corpus
from rma.documents.corpus.document import CorpusDocument
from rma.documents.corpus.score import (
    NOT_SPLIT,
    ItemResult,
    PredictedField,
    Prediction,
    Scoreboard,
    confusion_matrix,
    plan,
    report,
    score_bundle,
    score_document,
)
from tests.documents.corpus.conftest import perfect


def pick(corpus: Corpus, test: Callable[[CorpusDocument], bool]) -> CorpusDocument:
    return next(d for d in corpus.documents if test(d))


def one_page(doc: CorpusDocument) -> list[int]:
    return list(range(1, doc.page_count + 1))


def outcomes(item: ItemResult) -> dict[str, str]:
    return {f.field: f.outcome for f in item.fields}


def test_a_perfect_reading_scores_full_marks(corpus: Corpus) -> None:
    board = Scoreboard()
    for doc in corpus.documents:
        pages = one_page(doc)
        if doc.parts:
            board.items.append(score_bundle(doc, "pdf", perfect(doc, pages), pages))
        else:
            board.items.append(score_document(doc, "pdf", perfect(doc, pages), pages))
    fields = list(board.field_results(with_bundle_parts=True))
    assert fields and all(f.outcome == "right" and f.page_right for f in fields)
    assert board.verified_wrong() == []
    assert all(i.predicted_type == i.doc_type for i in board.singles())
    assert all(i.split_right for i in board.bundles())
    assert all(i.rows_right == i.rows_expected for i in board.singles())
    text = report(board)
    assert "- verified but wrong: 0" in text
    assert "planted faults flagged 4/4 (100.0%)" in text  # 4 planted statements in the set
    assert "statements that add up flagged anyway 0 of 5" in text
    assert "split right (every document's page range): 4/4 (100.0%)" in text


def test_a_wrong_verified_amount_is_counted_as_verified_but_wrong(corpus: Corpus) -> None:
    doc = pick(corpus, lambda d: d.doc_type == "creditor_letter")
    prediction = perfect(doc, [1])
    true_balance = prediction.fields["balance"].value
    prediction.fields["balance"] = PredictedField(f"{true_balance / 100 + 10:.2f}", True, 1)
    prediction.fields["arrears"].verified = False
    prediction.fields["arrears"].value = 1
    del prediction.fields["deadline"]
    item = score_document(doc, "pdf", prediction, [1])
    o = outcomes(item)
    assert (o["balance"], o["arrears"], o["deadline"]) == ("wrong", "wrong", "missing")
    board = Scoreboard([item])
    assert [f.field for f in board.verified_wrong()] == ["balance"]  # arrears was not verified
    assert "- verified but wrong: 1" in report(board)


def test_money_in_pounds_or_pence_but_not_as_printed(corpus: Corpus) -> None:
    doc = pick(corpus, lambda d: d.doc_type == "creditor_letter")
    pence = doc.fields["balance"].value  # type: ignore[union-attr]
    for value, outcome in (
        (f"{pence / 100:.2f}", "right"),
        (pence, "right"),
        (f"£{pence / 100:,.2f}", "wrong"),
    ):
        prediction = perfect(doc, [1])
        prediction.fields["balance"] = PredictedField(value, True, 1)
        assert outcomes(score_document(doc, "pdf", prediction, [1]))["balance"] == outcome, value


def test_a_value_the_page_does_not_state_is_wrong(corpus: Corpus) -> None:
    letter = pick(corpus, lambda d: d.doc_type == "creditor_letter" and "collector" not in d.fields)
    prediction = perfect(letter, [1])
    prediction.fields["collector"] = PredictedField("Lowell Financial Ltd", True, 1)
    item = score_document(letter, "pdf", prediction, [1])
    assert outcomes(item)["collector"] == "extra"
    assert Scoreboard([item]).verified_wrong()[0].field == "collector"


def test_any_verified_value_on_a_manual_page_is_wrong(corpus: Corpus) -> None:
    manual = pick(corpus, lambda d: d.id.startswith("manual"))
    prediction = Prediction(
        "bank_statement",
        {
            "balance": PredictedField("30000.00", True, 1),
            "arrears": PredictedField("75.00", False, 1),
        },
    )
    item = score_document(manual, "pdf", prediction, one_page(manual))
    assert outcomes(item) == {"balance": "extra", "arrears": "extra"}
    assert [f.field for f in Scoreboard([item]).verified_wrong()] == ["balance"]
    matrix = confusion_matrix([item])
    assert "| not_a_client_document | 1 | 0/1 (0.0%) |" in matrix
    assert "c1 = bank_statement" in matrix


def test_names_the_key_does_not_define_are_unscored_not_wrong(corpus: Corpus) -> None:
    statement = pick(corpus, lambda d: d.doc_type == "bank_statement")
    prediction = perfect(statement, one_page(statement))
    prediction.fields["claim_number"] = PredictedField("K1QZ0000", True, 1)
    item = score_document(statement, "pdf", prediction, one_page(statement))
    assert outcomes(item)["claim_number"] == "unscored"
    assert Scoreboard([item]).verified_wrong() == []


def test_a_value_on_the_wrong_page(corpus: Corpus) -> None:
    doc = pick(corpus, lambda d: d.page_count == 2 and d.doc_type == "county_court_claim")
    prediction = perfect(doc, [1, 2])
    prediction.fields["claimant"].page = 2
    item = score_document(doc, "pdf", prediction, [1, 2])
    result = next(f for f in item.fields if f.field == "claimant")
    assert result.outcome == "right" and result.page_right is False
    # Two pages photographed in one image: every page-1 and page-2 value is on file page 1.
    twin = score_document(doc, "two_up", perfect(doc, [1, 1]), [1, 1])
    assert all(f.page_right for f in twin.fields)


def test_lists_match_in_any_order_but_not_with_an_item_missing(corpus: Corpus) -> None:
    doc = pick(corpus, lambda d: d.doc_type == "council_tax_bill" and "instalments" in d.fields)
    prediction = perfect(doc, [1])
    items = prediction.fields["instalments"].value
    prediction.fields["instalments"].value = list(reversed(items))
    assert outcomes(score_document(doc, "pdf", prediction, [1]))["instalments"] == "right"
    prediction.fields["instalments"].value = items[1:]
    assert outcomes(score_document(doc, "pdf", prediction, [1]))["instalments"] == "wrong"


def test_a_missed_sums_fault_and_a_false_alarm(corpus: Corpus) -> None:
    statements = [d for d in corpus.documents if d.doc_type == "bank_statement"]
    planted = next(d for d in statements if d.fields["sums_add_up"].value is False)  # type: ignore[union-attr]
    clean = next(d for d in statements if d.fields["sums_add_up"].value is True)  # type: ignore[union-attr]
    missed = perfect(planted, one_page(planted))
    missed.fields["sums_add_up"].value = True
    alarm = perfect(clean, one_page(clean))
    alarm.fields["sums_add_up"].value = "no"
    board = Scoreboard(
        [
            score_document(planted, "pdf", missed, one_page(planted)),
            score_document(clean, "pdf", alarm, one_page(clean)),
        ]
    )
    text = report(board)
    assert "planted faults flagged 0/1 (0.0%)" in text
    assert "statements that add up flagged anyway 1 of 1" in text


def test_statement_rows_are_counted_row_by_row(corpus: Corpus) -> None:
    doc = pick(corpus, lambda d: d.doc_type == "bank_statement")
    prediction = perfect(doc, one_page(doc))
    assert prediction.transactions is not None
    prediction.transactions[0] = {**prediction.transactions[0], "balance": 1}
    item = score_document(doc, "pdf", prediction, one_page(doc))
    assert item.rows_right == item.rows_expected - 1
    prediction.transactions = None  # a pipeline that does not read tables
    assert score_document(doc, "pdf", prediction, one_page(doc)).rows_right == 0


def test_an_unsplit_bundle_scores_no_split_and_no_parts(corpus: Corpus) -> None:
    bundle = pick(corpus, lambda d: bool(d.parts))
    pages = one_page(bundle)
    whole = Prediction("creditor_letter", {"balance": PredictedField("12.00", True, 1)})
    item = score_bundle(bundle, "pdf", whole, pages)
    assert item.split_right is False
    assert all(p.predicted_type == NOT_SPLIT for p in item.parts)
    assert {f.outcome for p in item.parts for f in p.fields} == {"missing"}
    # One part's boundary one page off: the split is wrong and that part is not found.
    off = perfect(bundle, pages)
    assert off.parts is not None
    off.parts[0].last_page += 1
    off.parts[1].first_page += 1
    shifted = score_bundle(bundle, "pdf", off, pages)
    assert shifted.split_right is False
    assert [p.predicted_type == p.doc_type for p in shifted.parts][:2] == [False, False]
    assert all(p.predicted_type == p.doc_type for p in shifted.parts[2:])


def test_plan_covers_the_variants_asked_for(corpus: Corpus) -> None:
    standard = plan(corpus)
    assert len(standard) == 2 * len(corpus.documents)
    assert {v for _, v in plan(corpus, "pdf")} == {"pdf"}
    every = plan(corpus, "all")
    assert all(d.page_count == 2 and not d.parts for d, v in every if v == "two_up")
    assert len(plan(corpus, ["skew"])) == len(corpus.documents)


@pytest.mark.parametrize("wrong_type", ["other", "debt_collection_letter"])
def test_a_wrong_type_is_in_the_confusion_matrix(corpus: Corpus, wrong_type: str) -> None:
    doc = pick(corpus, lambda d: d.doc_type == "creditor_letter")
    prediction = copy.deepcopy(perfect(doc, [1]))
    prediction.doc_type = wrong_type
    item = score_document(doc, "pdf", prediction, [1])
    matrix = confusion_matrix([item])
    assert "| creditor_letter | 1 | 0/1 (0.0%) |" in matrix
    assert f"c1 = {wrong_type}" in matrix


def test_todays_generic_names_are_read_as_the_key_types_fields(corpus: Corpus) -> None:
    """Today's pipeline calls a council the creditor and a remedy date the deadline."""
    bill = pick(corpus, lambda d: d.doc_type == "council_tax_bill")
    council = bill.fields["council"].value  # type: ignore[union-attr]
    generic = Prediction("other", {"creditor": PredictedField(council, True, 1)})
    item = score_document(bill, "pdf", generic, [1])
    assert outcomes(item)["council"] == "right"
    assert "creditor" not in outcomes(item)  # read as the council, not also left over
    notice = pick(corpus, lambda d: d.doc_type == "default_notice")
    remedy = notice.fields["remedy_date"].value  # type: ignore[union-attr]
    pages = one_page(notice)
    generic = Prediction("default_notice", {"deadline": PredictedField(remedy, True, 1)})
    o = outcomes(score_document(notice, "pdf", generic, pages))
    assert o["deadline"] == o["remedy_date"] == "right"
    # The type's own name wins over a generic one standing for it.
    own = Prediction(
        "default_notice",
        {
            "deadline": PredictedField("2001-01-01", True, 1),
            "remedy_date": PredictedField(remedy, True, 1),
        },
    )
    o = outcomes(score_document(notice, "pdf", own, pages))
    assert (o["deadline"], o["remedy_date"]) == ("wrong", "right")
