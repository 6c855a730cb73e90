"""The labelled set: which documents, how many of each, and the bundles.

Each document draws from its own random stream, named by the seed and its id, so a
seed gives the same set on every machine and adding a document changes no other.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from rma.documents.corpus import bills, court, letters, notclient, statements
from rma.documents.corpus.document import BundlePart, CorpusDocument
from rma.documents.schema import BUNDLE

DEFAULT_SEED = 18

Make = Callable[[random.Random, str], CorpusDocument]


def _recipe() -> list[tuple[str, Make]]:
    """(id prefix, generator) for every single document, in order."""
    out: list[tuple[str, Make]] = []

    def add(prefix: str, make: Make, times: int = 1) -> None:
        out.extend((prefix, make) for _ in range(times))

    for case, times in (("arrears", 3), ("missed", 2), ("agency", 2), ("overdue", 2)):
        add("creditor-letter", partial(letters.creditor_letter, case=case), times)
    add("collector-letter", partial(letters.collector_letter, case="on_behalf"), 4)
    add("collector-letter", partial(letters.collector_letter, case="sold"), 3)
    add("default-notice", partial(letters.default_notice, two_pages=False), 3)
    add("default-notice", partial(letters.default_notice, two_pages=True), 3)
    statement = statements.bank_statement
    for make in (
        partial(statement),
        partial(statement, long=True),
        partial(statement),
        partial(statement, set_off=True),
        partial(statement, set_off=True, long=True),
        partial(statement, plant="running_balance"),
        partial(statement, plant="running_balance", long=True),
        partial(statement, plant="closing_balance"),
        partial(statement, set_off=True, plant="closing_balance"),
    ):
        add("bank-statement", make)
    add("uc-statement", statements.uc_statement, 6)
    for notice in ("bill", "reminder", "final_notice", "summons"):
        add("council-tax", partial(bills.council_tax, notice=notice), 2)
    add("claim-form", court.claim_form, 5)
    add("judgment", court.judgment, 4)
    for stage in ("compliance", "enforcement"):
        add("enforcement", partial(court.enforcement_notice, stage=stage), 3)
    for fuel in ("electricity", "gas", "dual_fuel", "dual_fuel", "water", "water"):
        add("utility-bill", partial(bills.utility_bill, fuel=fuel))
    add("manual", partial(notclient.manual, topic="dro"))
    add("manual", partial(notclient.manual, topic="dro", pages=3))
    for topic in ("bankruptcy", "priority", "breathing_space"):
        add("manual", partial(notclient.manual, topic=topic))
    add("training", notclient.training_exercise)
    add("book-page", notclient.book_page)
    add("blank-page", partial(notclient.blank_page, note=False))
    add("blank-page", partial(notclient.blank_page, note=True))
    return out


# A client's scanned pile: the documents in each bundle, in page order.
BUNDLES: tuple[tuple[Make, ...], ...] = (
    (
        partial(letters.creditor_letter, case="arrears"),
        statements.bank_statement,
        partial(bills.council_tax, notice="reminder"),
    ),
    (
        court.claim_form,
        partial(letters.collector_letter, case="on_behalf"),
        partial(bills.utility_bill, fuel="gas"),
    ),
    (
        statements.uc_statement,
        partial(court.enforcement_notice, stage="compliance"),
        partial(letters.default_notice, two_pages=True),
        partial(notclient.blank_page, note=False),
    ),
    (
        partial(notclient.manual, topic="priority"),
        court.judgment,
        partial(letters.creditor_letter, case="agency"),
        partial(bills.council_tax, notice="summons"),
    ),
)


@dataclass
class Corpus:
    seed: int
    documents: list[CorpusDocument]

    def by_id(self, doc_id: str) -> CorpusDocument:
        return next(d for d in self.documents if d.id == doc_id)

    def keys(self) -> list[dict[str, object]]:
        return [d.key() for d in self.documents]


def _stream(seed: int, doc_id: str) -> random.Random:
    return random.Random(f"{seed}/{doc_id}")


def build_corpus(seed: int = DEFAULT_SEED) -> Corpus:
    """Every labelled document and bundle for ``seed``, with its answer key."""
    documents: list[CorpusDocument] = []
    counts: dict[str, int] = {}
    for prefix, make in _recipe():
        counts[prefix] = counts.get(prefix, 0) + 1
        doc_id = f"{prefix}-{counts[prefix]:02d}"
        documents.append(make(_stream(seed, doc_id), doc_id))
    for number, makers in enumerate(BUNDLES, start=1):
        documents.append(bundle(seed, f"bundle-{number:02d}", makers))
    return Corpus(seed, documents)


def bundle(seed: int, bundle_id: str, makers: tuple[Make, ...]) -> CorpusDocument:
    """Several documents scanned into one PDF; the key gives each one's pages."""
    parts: list[BundlePart] = []
    page = 1
    for n, make in enumerate(makers, start=1):
        part_id = f"{bundle_id}.{n}"
        doc = make(_stream(seed, part_id), part_id)
        parts.append(BundlePart(page, page + doc.page_count - 1, doc))
        page += doc.page_count
    # A bundle has no style or pages of its own: each part is drawn in its own.
    return CorpusDocument(
        bundle_id,
        BUNDLE,
        parts[0].document.style,
        pages=[],
        labels=[f"bundle of {len(parts)} documents, {page - 1} pages"],
        parts=parts,
    )
