"""Hybrid retrieval: vector neighbours and BM25 hits, fused by reciprocal rank.

Reciprocal-rank fusion needs no score calibration between the two lists: a chunk's
fused score is the sum of 1 / (k + rank) over the lists it appears in. A reranker, when
one is configured, reorders the fused candidates before the top ones are kept.

Relevance is judged on the vector similarity of the best candidate: keyword overlap on
a word such as "limit" alone does not make a question one the manuals answer, and a
question naming something no passage names is not one either (``rma.rag.coverage``).
The question is embedded with its abbreviations spelled out (``rma.rag.vocabulary``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from rma.errors import NothingIngested
from rma.llm.router import ProviderRouter
from rma.rag.bm25 import KeywordIndex
from rma.rag.coverage import unknown_terms
from rma.rag.manuals import ManualChunk
from rma.rag.store import ManualStore
from rma.rag.vocabulary import expand_question

RRF_K = 60
# How many hits each list gives to the fusion: a passage only one list reaches within this
# gets one list's score (20 lost a question of the handbook key that 40 to 100 find).
CANDIDATES = 50
# Cosine similarity (all-MiniLM-L6-v2) below which no chunk is taken to answer a question.
MIN_RELEVANCE = 0.35
# From this similarity up, a question's words the manuals never use (a paraphrase) do not
# make it off the map; below it they do (``rma.rag.coverage``).
STRONG_SIMILARITY = 0.6


@dataclass
class RetrievedChunk:
    chunk: ManualChunk
    score: float
    similarity: float | None
    keyword_score: float | None


@dataclass
class Retrieval:
    hits: list[RetrievedChunk]
    best_similarity: float
    relevant: bool
    embed_provenance: dict[str, object]
    # Terms of the question no passage holds: the question is not about these manuals.
    unknown_terms: list[str] = field(default_factory=list)


class Reranker(Protocol):
    """Reorders fused candidates (e.g. a cross-encoder); must not add or drop any."""

    async def rerank(self, question: str, hits: list[RetrievedChunk]) -> list[RetrievedChunk]: ...


class HybridRetriever:
    def __init__(
        self,
        store: ManualStore,
        keywords: KeywordIndex,
        router: ProviderRouter,
        *,
        reranker: Reranker | None = None,
        candidates: int = CANDIDATES,
        min_relevance: float = MIN_RELEVANCE,
        check_coverage: bool = True,
    ) -> None:
        self.store = store
        self.keywords = keywords
        self.router = router
        self.reranker = reranker
        self.candidates = candidates
        self.min_relevance = min_relevance
        # Whether a question naming what no passage names is off the map (the manuals' rule,
        # rma.rag.coverage); a client's few documents are searched by similarity alone.
        self.check_coverage = check_coverage

    async def retrieve(self, question: str, top_k: int) -> Retrieval:
        """The best ``top_k`` live chunks for a question. Raises NothingIngested when the
        library is empty: "the manuals do not cover this" would then be untrue."""
        if not await asyncio.to_thread(self.store.live):
            raise NothingIngested(
                f"nothing ingested in {self.store.location}: ingest manuals first "
                f"(rma ingest FOLDER, or POST /ingest-jobs)"
            )
        embedded = await self.router.embed([expand_question(question)])
        vector_hits, keyword_hits = await asyncio.gather(
            asyncio.to_thread(self.store.nearest, embedded.vectors[0], self.candidates),
            asyncio.to_thread(self.keywords.search, question, self.candidates),
        )
        fused: dict[str, float] = {}
        for ranked in (vector_hits, keyword_hits):
            for rank, (row_id, _) in enumerate(ranked, start=1):
                fused[row_id] = fused.get(row_id, 0.0) + 1.0 / (RRF_K + rank)
        similarity = dict(vector_hits)
        keyword = dict(keyword_hits)
        order = sorted(fused, key=lambda i: fused[i], reverse=True)
        pool = order[: max(top_k * 2, top_k) if self.reranker else top_k]
        chunks = await asyncio.to_thread(self.store.chunks, pool)
        hits = [
            RetrievedChunk(chunks[i], fused[i], similarity.get(i), keyword.get(i))
            for i in pool
            if i in chunks  # a chunk removed by a concurrent ingest is skipped
        ]
        if self.reranker is not None:
            hits = await self.reranker.rerank(question, hits)
        best = max((s for _, s in vector_hits), default=0.0)
        unknown = (
            await asyncio.to_thread(
                unknown_terms, question, self.keywords, words=best < STRONG_SIMILARITY
            )
            if self.check_coverage
            else []
        )
        return Retrieval(
            hits[:top_k],
            best,
            best >= self.min_relevance and not unknown,
            embedded.provenance.model_dump(),
            unknown,
        )
