"""The labelled set: reproducible per seed, big and varied enough, and every key value
really printed on the page the key names (read back from the PDF's text layer)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pypdfium2 as pdfium
import pytest

from rma.documents.corpus import DEFAULT_SEED, Corpus, build_corpus
from rma.documents.corpus.document import CorpusDocument, Gap, HouseStyle, KeyField, Sheet, Text
from rma.documents.corpus.pdf import LayoutOverflow, documents_of, render_pdf
from rma.documents.schema import (
    BUNDLE,
    CLIENT_TYPES,
    NOT_A_CLIENT_DOCUMENT,
    SCHEMA,
    Kind,
    spec,
)

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text layer, whitespace collapsed, ligatures undone."""
    doc = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in doc:
            text = page.get_textpage().get_text_bounded()
            text = text.replace("\ufb01", "fi").replace("\ufb02", "fl")
            texts.append(" ".join(text.split()))
        return texts
    finally:
        doc.close()


def squash(text: str) -> str:
    return " ".join(text.split())


def test_same_seed_same_set_and_same_bytes(corpus: Corpus) -> None:
    again = build_corpus(DEFAULT_SEED)
    assert again.keys() == corpus.keys()
    for doc, twin in zip(corpus.documents[::7], again.documents[::7], strict=True):
        assert render_pdf(doc) == render_pdf(twin), doc.id


def test_another_seed_another_set(corpus: Corpus) -> None:
    other = build_corpus(DEFAULT_SEED + 1)
    assert [d.id for d in other.documents] == [d.id for d in corpus.documents]
    differing = sum(
        a.key() != b.key() or render_pdf(a) != render_pdf(b)
        for a, b in zip(other.documents, corpus.documents, strict=True)
    )
    # A blank page may come out the same; everything else must differ.
    assert differing >= len(corpus.documents) - 2


def test_at_least_70_documents_of_every_type(corpus: Corpus) -> None:
    assert len(corpus.documents) >= 70
    types = Counter(d.doc_type for d in corpus.documents)
    for doc_type in (*CLIENT_TYPES, NOT_A_CLIENT_DOCUMENT):
        assert types[doc_type] >= 4, doc_type
    assert types[BUNDLE] >= 3
    assert len({d.id for d in corpus.documents}) == len(corpus.documents)


def test_the_hard_cases_are_in_the_set(corpus: Corpus) -> None:
    labels = " | ".join(
        label
        for d in corpus.documents
        for p in {d.id: d, **{q.id: q for q in documents_of(d)}}.values()
        for label in p.labels
    )
    for case in (
        "passing the debt to a collection agency",
        "overdue amount printed apart from the balance",
        "planted: row",
        "planted: the closing balance",
        "set-off",
        "debt sold",
        "training manual",
        "blank page",
        "bundle of",
    ):
        assert case in labels, case


def test_every_key_value_is_printed_on_its_page(corpus: Corpus) -> None:
    checked = 0
    for doc in corpus.documents:
        texts = page_texts(render_pdf(doc))
        assert len(texts) == doc.page_count, doc.id
        offset = 0
        for part in documents_of(doc):
            for name, key in part.fields.items():
                for item in key if isinstance(key, list) else [key]:
                    for printed in item.printed:
                        assert squash(printed) in texts[offset + item.page - 1], (
                            f"{part.id}: {name} {printed!r} is not on page {item.page}"
                        )
                        checked += 1
            for row in part.transactions:
                for printed in row.printed:
                    assert squash(printed) in texts[offset + row.page - 1], (part.id, printed)
            offset += part.page_count
    assert checked > 1000


def _says_money(printed: str, pence: int) -> bool:
    return int(re.sub(r"\D", "", printed)) == abs(pence)


def _says_date(printed: str, iso: str) -> bool:
    d = date.fromisoformat(iso)
    low = printed.lower()
    day = re.search(rf"(?<!\d)0?{d.day}(?!\d)", low)
    month = MONTHS[d.month - 1] in low or re.search(rf"[/.\-]0?{d.month}[/.\-]", low)
    year = str(d.year) in low or re.search(rf"[/.\-]{d.year % 100:02d}$", low)
    return bool(day and month and year)


def test_printed_text_states_the_key_value(corpus: Corpus) -> None:
    """Read independently of the pipeline: the digits of an amount are its pence, a date's
    text has its day, month and year, a name or reference is printed as it is."""
    for doc in corpus.documents:
        for part in documents_of(doc):
            for name, key in part.fields.items():
                if isinstance(key, list) or not key.printed:
                    continue
                kind = spec(part.doc_type, name).kind  # type: ignore[union-attr]
                first = key.printed[0]
                if kind is Kind.MONEY:
                    assert _says_money(first, key.value), (part.id, name, first, key.value)
                elif kind is Kind.DATE:
                    assert _says_date(first, key.value), (part.id, name, first, key.value)
                elif kind in (Kind.TEXT, Kind.REFERENCE):
                    assert str(key.value) in first, (part.id, name, first, key.value)


def test_key_values_are_normalised_and_named_by_the_schema(corpus: Corpus) -> None:
    for doc in corpus.documents:
        for part in documents_of(doc):
            for name, key in part.fields.items():
                field = spec(part.doc_type, name)
                assert field is not None, f"{part.id}: {name} is not a {part.doc_type} field"
                if field.kind is Kind.LIST:
                    assert isinstance(key, list) and key
                    for item in key:
                        assert set(item.value) == {p.name for p in field.parts}, (part.id, name)
                        for p in field.parts:
                            _check_kind(p.kind, item.value[p.name], p.choices)
                else:
                    assert isinstance(key, KeyField)
                    _check_kind(field.kind, key.value, field.choices)


def _check_kind(kind: Kind, value: object, choices: tuple[str, ...]) -> None:
    if kind is Kind.MONEY:
        assert isinstance(value, int) and not isinstance(value, bool)
    elif kind is Kind.DATE:
        assert isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    elif kind is Kind.CHOICE:
        assert value in choices
    elif kind is Kind.FLAG:
        assert isinstance(value, bool)
    else:
        assert isinstance(value, str) and value.strip() == value and value


def test_not_client_documents_have_no_fields(corpus: Corpus) -> None:
    for doc in corpus.documents:
        for part in documents_of(doc):
            if part.doc_type == NOT_A_CLIENT_DOCUMENT:
                assert part.fields == {} and SCHEMA[part.doc_type] == ()


def test_statement_labels_agree_with_their_own_sums(corpus: Corpus) -> None:
    """Recomputed from the key's rows: the planted faults are there, and only there."""
    statements = [
        part
        for doc in corpus.documents
        for part in documents_of(doc)
        if part.doc_type == "bank_statement"
    ]
    assert sum(not s.fields["sums_add_up"].value for s in statements) >= 3  # type: ignore[union-attr]
    for s in statements:
        value = {name: key.value for name, key in s.fields.items() if isinstance(key, KeyField)}
        balance = value["opening_balance"]
        rows_add_up = True
        for row in s.transactions:
            balance += (row.money_in or 0) - (row.money_out or 0)
            if row.balance is not None and row.balance != balance:
                rows_add_up = False
        adds_up = rows_add_up and balance == value["closing_balance"]
        assert adds_up is value["sums_add_up"], s.id
        assert value["total_in"] == sum(r.money_in or 0 for r in s.transactions)
        assert value["total_out"] == sum(r.money_out or 0 for r in s.transactions)


def test_bundle_parts_cover_every_page_once(corpus: Corpus) -> None:
    bundles = [d for d in corpus.documents if d.parts]
    for b in bundles:
        pages = [p for part in b.parts for p in range(part.first_page, part.last_page + 1)]
        assert pages == list(range(1, b.page_count + 1))
        assert len(page_texts(render_pdf(b))) == b.page_count
        assert len({part.document.doc_type for part in b.parts}) == len(b.parts)
    assert any(part.last_page > part.first_page for b in bundles for part in b.parts)


def test_text_that_does_not_fit_its_page_is_refused() -> None:
    style = HouseStyle("helvetica", 10, 56, "none", (0, 0, 0))
    sheet = Sheet("too-long", NOT_A_CLIENT_DOCUMENT, style)
    sheet.add(*[Text(f"line {n}") for n in range(80)], Gap(1))
    with pytest.raises(LayoutOverflow, match="page 1 overflows"):
        render_pdf(sheet.done())
    sheet = Sheet("too-wide", NOT_A_CLIENT_DOCUMENT, style)
    sheet.add(Text("x"))
    doc: CorpusDocument = sheet.done()
    doc.footer = ("a footer far too wide for any page " * 6,)
    with pytest.raises(LayoutOverflow, match="wider than its space"):
        render_pdf(doc)


def test_the_field_tables_in_the_docs_are_the_schema() -> None:
    from pathlib import Path

    from rma.documents.schema import schema_markdown

    docs = Path(__file__).resolve().parents[3] / "docs" / "document-corpus.md"
    assert schema_markdown().strip() in docs.read_text()  # regenerate the section if not
