"""Every passage of every printout in the handbook corpus is found again on its page.

A citation opens the cited page with the passage highlighted (rma.ocr.locate): here every
passage the chunker makes from the corpus's 16 PDFs (columns, ligatures, lost ligatures,
hyphenated line ends, running headers) is looked for on its page's text layer. The boxes
themselves are checked against pypdf's reading of a page in tests/rag/test_manual_pages.py.
"""

from __future__ import annotations

import asyncio

from corpora.handbook.build import BuildResult

from rma.ocr import OcrReader
from rma.ocr.locate import locate
from rma.ocr.pdf import pdf_page_text_layer
from rma.rag.manuals import chunk_manual, document_id_for, load_manual


def test_every_passage_of_the_corpus_is_located_on_its_page(handbook: BuildResult) -> None:
    coverage: dict[str, float] = {}
    for name, path in sorted(handbook.pdfs.items()):
        data = path.read_bytes()
        manual = asyncio.run(load_manual(name, data, OcrReader()))
        layers = {}
        for chunk in chunk_manual(manual, document_id_for(name)):
            assert chunk.page is not None
            if chunk.page not in layers:
                layers[chunk.page] = pdf_page_text_layer(data, chunk.page - 1)
            place = locate(layers[chunk.page].words, chunk.text)
            assert place.located, (name, chunk.index, place.found, place.words)
            coverage[f"{name}#{chunk.index}"] = place.coverage
    assert len(coverage) > 400
    assert min(coverage.values()) >= 0.9  # the lost ligatures of the 2021 edition included
    assert sum(coverage.values()) / len(coverage) >= 0.99
