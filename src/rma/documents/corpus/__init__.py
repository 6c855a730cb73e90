"""A labelled set of the papers advisers really get, generated and rendered in code.

Creditor and collector letters, default notices, bank statements, Universal Credit
statements, council tax papers, claim forms and judgments, enforcement agents' notices,
utility bills, and papers that are not a client's documents at all; a few scanned
bundles of several documents. Each comes with an answer key written from the values the
generator put on the page (never read back from it), as a PDF with a text layer and as
labelled photographed variants. ``score`` runs the real document pipeline over the set.

    python -m rma.documents.corpus write --out build/corpus
    python -m rma.documents.corpus evaluate
"""

from rma.documents.corpus.build import DEFAULT_SEED, Corpus, build_corpus
from rma.documents.corpus.photo import VARIANTS, RenderedFile, render, variants_for

__all__ = [
    "DEFAULT_SEED",
    "VARIANTS",
    "Corpus",
    "RenderedFile",
    "build_corpus",
    "render",
    "variants_for",
]
