"""Rows and cells rebuilt from word boxes: a PDF's text layer and Tesseract's words.

Judged against the labelled set's answer key (what the generator printed on each row),
not against the layout code's own idea of a row.
"""

from __future__ import annotations

import asyncio

import pytest

from rma.documents.corpus import build_corpus
from rma.documents.corpus.photo import render
from rma.documents.pipeline import DocumentProcessor
from rma.ocr.layout import page_layout, rows_from_text
from rma.ocr.words import Word, words_from_chars


def _rows(doc_id: str, variant: str) -> list[list[str]]:
    doc = build_corpus(18).by_id(doc_id)
    rendered = render(doc, variant, 18)
    _, pages = asyncio.run(DocumentProcessor(None).read_pages(rendered.data, rendered.filename))
    return [[c.text for c in r.cells] for p in pages for r in page_layout(p.words, p.size).rows]


def test_a_text_layer_statement_reads_one_row_per_transaction() -> None:
    doc = build_corpus(18).by_id("bank-statement-02")
    rows = _rows("bank-statement-02", "pdf")
    for t in doc.transactions:
        # Every printed cell of the key's row sits in one row of the layout, in order.
        printed = [p for p in t.printed if p]
        assert any([c for c in row if c in printed] == printed for row in rows), (
            f"no row holds {printed}"
        )


@pytest.mark.slow
def test_a_crooked_scan_keeps_labels_beside_their_values() -> None:
    rows = _rows("bank-statement-02", "skew")
    joined = [" | ".join(r) for r in rows]
    assert any(r.startswith("Money in |") for r in joined), joined[:20]
    assert any(r.startswith("Money out |") for r in joined), joined[:20]


def test_words_from_pdf_characters_split_at_spaces_and_gaps() -> None:
    # (char, left, bottom, right, top) in points, page 100 high
    chars = [("A", 0, 10, 5, 20), ("b", 5, 10, 10, 20), (" ", 10, 10, 12, 20)]
    chars += [("c", 12, 10, 17, 20), ("d", 40, 10, 45, 20)]
    words = words_from_chars(chars, 100)
    assert [w.text for w in words] == ["Ab", "c", "d"]
    assert (words[0].top, words[0].bottom) == (80, 90)


def test_far_apart_words_on_one_line_are_two_cells_of_one_row() -> None:
    words = [
        Word("Balance", 0, 0, 50, 10, line=0),
        Word("due", 55, 0, 75, 10, line=0),
        Word("£12.00", 300, 1, 340, 11, line=1),
        Word("Next", 0, 30, 30, 40, line=2),
    ]
    rows = page_layout(words).rows
    assert [[c.text for c in r.cells] for r in rows] == [["Balance due", "£12.00"], ["Next"]]


def test_plain_text_rows_split_on_wide_spaces() -> None:
    layout = rows_from_text("Total due      £45.00\nThanks")
    assert [[c.text for c in r.cells] for r in layout.rows] == [["Total due", "£45.00"], ["Thanks"]]
