"""Retrieval measured against an answer key: recall@k and the "not covered" gate.

The key is a question file like the realistic handbook corpus's ``answers/questions.json``:
each question has a ``kind`` and the passages that answer it (document, page, quote).
A question is found when any of its passages is in the top ``k`` retrieved chunks; a
passage is in a chunk when the chunk, from the same document, holds the quote, or, for a
quote a chunk boundary cuts, the larger part of it at the chunk's start or end. Quotes
are compared on letters and digits only (the key keeps pdfium's spacing and an
unreadable ligature as U+FFFD, which matches any f-ligature or the cleaner's marker).

Questions of kind ``not-in-manuals`` must come back not covered; the others covered. The
answerer's own ``prepare`` decides (retrieval, limits, the relevance gate), without a
model call, so the measurement is the product's decision, not a copy of it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from rma.config import load_settings
from rma.llm.router import ProviderRouter
from rma.rag.answer import ManualsAnswerer
from rma.rag.library import ManualLibrary
from rma.rag.limits import ManualLimits
from rma.rag.manuals import ManualChunk

UNANSWERABLE = "not-in-manuals"
_LIGATURE = "\ufffd"
# The share of a quote a chunk must hold when a chunk boundary cuts the quote.
PARTIAL = 0.5


def _letters(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("[?]", _LIGATURE)
    return re.sub(rf"[^a-z0-9£{_LIGATURE}]+", "", text)


def holds(chunk: ManualChunk, passage: dict[str, Any]) -> bool:
    """Does ``chunk`` hold the key's ``passage`` (whole, or most of a cut one)?"""
    if chunk.document != passage["document"]:
        return False
    quote, text = _letters(passage["quote"]), _letters(chunk.text)
    pattern = "(?:ffi|ffl|ff|fi|fl|\ufffd)".join(re.escape(p) for p in quote.split(_LIGATURE))
    if re.search(pattern, text):
        return True
    plain = quote.replace(_LIGATURE, "")
    match = SequenceMatcher(None, plain, text, autojunk=False).find_longest_match()
    # a cut quote: its start ends the chunk, or its end starts the chunk
    runs_past_end = match.a == 0 and match.b + match.size == len(text)
    runs_from_start = match.a + match.size == len(plain) and match.b == 0
    return match.size >= PARTIAL * len(plain) and (runs_past_end or runs_from_start)


@dataclass
class QuestionResult:
    id: str
    question: str
    kind: str
    covered: bool
    found_at: int | None  # 1-based rank of the first chunk holding a passage
    similarity: float  # the best vector similarity retrieval saw

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "kind": self.kind,
            "covered": self.covered,
            "found_at": self.found_at,
            "similarity": round(self.similarity, 3),
        }


def load_questions(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["questions"] if isinstance(data, dict) else data)


async def evaluate(
    answerer: ManualsAnswerer, questions: list[dict[str, Any]], k: int = 5
) -> dict[str, Any]:
    """recall@k over the answerable questions, and how the covered gate decided each
    question (answerable ones should be covered, unanswerable ones not)."""
    results = []
    for q in questions:
        prepared = await answerer.prepare(q["question"], top_k=k)
        hits = [h.chunk for h in prepared.retrieval.hits] if prepared.retrieval else []
        found = next(
            (n for n, c in enumerate(hits, 1) if any(holds(c, p) for p in q["passages"])), None
        )
        best = prepared.retrieval.best_similarity if prepared.retrieval else 0.0
        results.append(
            QuestionResult(q["id"], q["question"], q["kind"], prepared.covered, found, best)
        )
    answerable = [r for r in results if r.kind != UNANSWERABLE]
    unanswerable = [r for r in results if r.kind == UNANSWERABLE]
    ranks = [r.found_at for r in answerable if r.found_at is not None]
    return {
        "k": k,
        "answerable": len(answerable),
        "found": len(ranks),
        "recall": round(len(ranks) / len(answerable), 4) if answerable else 0.0,
        "mrr": round(sum(1 / n for n in ranks) / len(answerable), 4) if answerable else 0.0,
        "answerable_covered": sum(r.covered for r in answerable),
        "unanswerable": len(unanswerable),
        "unanswerable_not_covered": sum(not r.covered for r in unanswerable),
        "missed": [r.row() for r in answerable if r.found_at is None],
        "wrongly_covered": [r.row() for r in unanswerable if r.covered],
        "questions": [r.row() for r in results],
    }


async def measure(
    router: ProviderRouter, corpus: Path, questions: Path, data_dir: Path, k: int = 5
) -> dict[str, Any]:
    """Ingest ``corpus`` into a fresh embedded store under ``data_dir``, then
    :func:`evaluate` the questions of ``questions`` against it."""
    settings = load_settings(RMA_DATA_DIR=str(data_dir), CHROMADB_HOST="")
    library = await ManualLibrary.open(settings, router)
    try:
        ingested = await library.ingest_folder(corpus, remove_missing=False)
        failed = [r.filename for r in ingested if r.outcome == "failed"]
        answerer = ManualsAnswerer.for_library(library, ManualLimits(library.candidates))
        result = await evaluate(answerer, load_questions(questions), k)
    finally:
        await library.close()
    return {
        "corpus": corpus.name,
        "documents": len(ingested),
        "chunks": sum(r.chunks for r in ingested),
        "failed": failed,
        **result,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"recall@{result['k']}: {result['recall']:.3f} ({result['found']} of "
        f"{result['answerable']} answerable questions), MRR {result['mrr']:.3f}",
        f"covered: {result['answerable_covered']} of {result['answerable']} answerable; "
        f"not covered: {result['unanswerable_not_covered']} of {result['unanswerable']} "
        f"unanswerable",
    ]
    if result["missed"]:
        lines += ["", "| missed | question |", "|---|---|"]
        lines += [f"| {r['id']} | {r['question']} |" for r in result["missed"]]
    if result["wrongly_covered"]:
        lines += ["", "| covered, but not in the manuals | question |", "|---|---|"]
        lines += [f"| {r['id']} | {r['question']} |" for r in result["wrongly_covered"]]
    return "\n".join(lines)
