"""Ingestion pages per second and retrieval latency by corpus size (``rma bench retrieval``).

Retrieval stores are filled with the sample manuals' chunks repeated (each copy a new
document) and, by default, their real embeddings with a little noise so copies differ;
the question is embedded for real, so latency covers embed + vector search + BM25 + fusion.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rma.config import load_settings
from rma.llm.router import ProviderRouter
from rma.rag.library import ManualLibrary
from rma.rag.manuals import LoadedManual
from rma.rag.retrieval import HybridRetriever
from rma.rag.store import ManualStore

QUESTIONS = (
    "What is the DRO debt limit?",
    "How long does a standard breathing space last?",
    "How much does a bankruptcy application cost?",
    "Which debts are priority debts?",
    "How many creditors must agree to an IVA?",
)


async def measure_ingestion(
    router: ProviderRouter, manuals: Path, data_dir: Path
) -> dict[str, Any]:
    """Ingest a folder into a fresh embedded store; pages and chunks per second."""
    settings = load_settings(RMA_DATA_DIR=str(data_dir), CHROMADB_HOST="")
    store = await asyncio.to_thread(ManualStore.open, settings, "bench_ingest")
    library = ManualLibrary(store, router, data_dir)
    started = time.perf_counter()
    results = await library.ingest_folder(manuals)
    seconds = time.perf_counter() - started
    pages = sum(r.pages for r in results)
    chunks = sum(r.chunks for r in results)
    return {
        "documents": len(results),
        "pages": pages,
        "chunks": chunks,
        "seconds": round(seconds, 3),
        "pages_per_second": round(pages / seconds, 2),
        "chunks_per_second": round(chunks / seconds, 2),
    }


async def measure_retrieval(
    router: ProviderRouter,
    data_dir: Path,
    manuals: Path,
    sizes: tuple[int, ...] = (1_000, 10_000),
    queries: int = 100,
) -> list[dict[str, Any]]:
    """p50/p99 retrieval latency (ms) at each corpus size (chunks)."""
    settings = load_settings(RMA_DATA_DIR=str(data_dir), CHROMADB_HOST="")
    seed_store = await asyncio.to_thread(ManualStore.open, settings, "bench_seed")
    seed = ManualLibrary(seed_store, router, data_dir / "seed")
    await seed.ingest_folder(manuals)
    rows = await asyncio.to_thread(seed_store.all_chunks)
    texts = [c.embedding_text() for _, c in rows]
    base = np.array((await router.embed(texts)).vectors, dtype=np.float32)
    rng = np.random.default_rng(7)
    out = []
    for size in sizes:
        store = await asyncio.to_thread(ManualStore.open, settings, f"bench_{size}")
        library = ManualLibrary(store, router, data_dir / f"size-{size}")
        copies = -(-size // len(rows))
        for copy in range(copies):
            take = min(len(rows), size - copy * len(rows))
            chunks = [
                replace(c, document_id=f"copy{copy}", index=j)
                for j, (_, c) in enumerate(rows[:take])
            ]
            noise = rng.normal(0, 0.02, (take, base.shape[1])).astype(np.float32)
            vectors = base[:take] + noise
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            manual = LoadedManual(f"copy{copy}.md", "markdown", "copy", 1, [])
            await asyncio.to_thread(
                store.replace_document, manual, f"{copy:064d}", "bench", chunks, vectors.tolist()
            )
        await library.sync_indexes()
        retriever = HybridRetriever(store, library.keywords, router)
        timings = []
        for i in range(queries):
            started = time.perf_counter()
            await retriever.retrieve(QUESTIONS[i % len(QUESTIONS)], 5)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        out.append(
            {
                "chunks": await asyncio.to_thread(store.count),
                "queries": queries,
                "p50_ms": round(statistics.median(timings), 2),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
            }
        )
    return out


def markdown(result: dict[str, Any]) -> str:
    """The measurements as a Markdown table."""
    ingest = result["ingestion"]
    lines = [
        f"Ingestion: {ingest['documents']} documents, {ingest['pages']} pages, "
        f"{ingest['chunks']} chunks in {ingest['seconds']} s "
        f"({ingest['pages_per_second']} pages/s, {ingest['chunks_per_second']} chunks/s)",
        "",
        "| chunks | queries | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['chunks']:,} | {r['queries']} | {r['p50_ms']} | {r['p99_ms']} |"
        for r in result["retrieval"]
    ]
    return "\n".join(lines)
