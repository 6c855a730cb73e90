"""The labelled document set, built once per session, and a perfect reader of its key
(what a pipeline that got everything right would return), for testing the scorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rma.documents.corpus import DEFAULT_SEED, Corpus, build_corpus
from rma.documents.corpus.document import CorpusDocument, KeyField
from rma.documents.corpus.score import PredictedField, PredictedPart, Prediction


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return build_corpus(DEFAULT_SEED)


def _value(key: KeyField | list[KeyField]) -> Any:
    return [item.value for item in key] if isinstance(key, list) else key.value


def _page(key: KeyField | list[KeyField]) -> int:
    return key[0].page if isinstance(key, list) else key.page


def perfect(doc: CorpusDocument, page_map: Sequence[int]) -> Prediction:
    """Every key value, verified, on its page of the file; a bundle split exactly."""
    if doc.parts:
        parts = [
            PredictedPart(
                page_map[p.first_page - 1],
                page_map[p.last_page - 1],
                perfect(p.document, page_map[p.first_page - 1 : p.last_page]),
            )
            for p in doc.parts
        ]
        return Prediction("bundle", {}, None, parts)
    fields = {
        name: PredictedField(_value(key), True, page_map[_page(key) - 1])
        for name, key in doc.fields.items()
    }
    rows = [t.as_dict() for t in doc.transactions] if doc.transactions else None
    return Prediction(doc.doc_type, fields, rows)
