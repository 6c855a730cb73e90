"""Ingestion throughput and memory on a folder of PDFs and on a copy of it N times over
(``rma bench ingest``).

Four runs, each in its own process so that each peak RSS is its own:

- **cold**: the corpus into an empty data directory. On a CPU the embedder is most of the
  time, so this is the rate a first ingest of new manuals gets.
- **embedder alone**: the same chunks, read and chunked first (not timed), embedded as
  ingestion embeds them (length-sorted batches, through the router) and nothing else: how
  much of the cold run the embedder is, and its rate in tokens a second.
- **1x** and **Nx**: the corpus, and N copies of it (each copy new documents), into empty
  stores that share the cold run's remembered embeddings. Every other part of ingestion
  runs in full (reading, cleaning, chunking, the vector store, the keyword index, threshold
  candidates); the ratio of their pages/s says whether the cost of a page grows with the
  index, and RSS sampled along the Nx run whether memory does.

Both sizes are measured in one run, side by side, because the machine may be shared.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.ocr import OcrReader
from rma.rag.library import IngestResult, ManualLibrary, manual_files
from rma.rag.manuals import chunk_manual, load_manual
from rma.rag.vectors import EmbeddingCache, embed_chunks


def _rss_mb() -> float:
    """This process's resident memory now, from /proc (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


async def ingest_once(corpus: Path, data_dir: Path) -> dict[str, Any]:
    """Ingest every file in ``corpus`` into a fresh embedded store under ``data_dir``."""
    settings = load_settings(RMA_DATA_DIR=str(data_dir), CHROMADB_HOST="")
    router = build_router(settings)
    try:
        library = await ManualLibrary.open(settings, router)
        files = manual_files(corpus)
        samples: list[tuple[int, float]] = []

        def progress(_: Path, __: IngestResult) -> None:
            samples.append((len(samples) + 1, _rss_mb()))

        started, cpu_started = time.perf_counter(), time.process_time()
        results = await library.ingest_paths(files, "manuals", progress=progress)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await library.close()
    finally:
        await router.aclose()
    pages = sum(r.pages for r in results)
    tenth = samples[max(0, len(samples) // 10 - 1)][1] if samples else 0.0
    return {
        "documents": len(results),
        "failed": sum(r.outcome == "failed" for r in results),
        "pages": pages,
        "chunks": sum(r.chunks for r in results),
        "reused_vectors": sum(r.reused_vectors for r in results),
        "seconds": round(seconds, 2),
        "pages_per_second": round(pages / seconds, 2),
        # CPU seconds of every thread: on a shared machine the steadier measure of work
        "cpu_seconds": round(cpu, 2),
        "pages_per_cpu_second": round(pages / cpu, 2),
        "rss_mb_after_first_tenth": tenth,
        "rss_mb_at_end": samples[-1][1] if samples else 0.0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def embed_only(corpus: Path) -> dict[str, Any]:
    """The corpus's chunks embedded as ingestion embeds them, and nothing else timed."""
    with tempfile.TemporaryDirectory() as data_dir:  # the router's, for as long as it runs
        router = build_router(load_settings(RMA_DATA_DIR=data_dir, CHROMADB_HOST=""))
        try:
            count = router.token_counter()
            texts = []
            for path in manual_files(corpus):
                manual = await load_manual(path.name, path.read_bytes(), OcrReader())
                texts += [c.embedding_text() for c in chunk_manual(manual, path.stem, count)]
            await embed_chunks(router, None, texts[:2])  # the model loaded, not timed
            started, cpu_started = time.perf_counter(), time.process_time()
            embedded = await embed_chunks(router, None, texts)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            await router.aclose()
    tokens = sum(count(t) for t in texts)
    return {
        "chunks": len(embedded.vectors),
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "tokens_per_second": round(tokens / seconds),
        "ms_per_chunk": round(1000 * seconds / len(texts), 1),
    }


def _child(corpus: Path, data_dir: Path | None) -> dict[str, Any]:
    """:func:`ingest_once` (or, with no data directory, :func:`embed_only`) in a new
    process: its own peak RSS, its own model."""
    done = subprocess.run(
        [sys.executable, "-m", "rma.bench.ingest", str(corpus)]
        + ([str(data_dir)] if data_dir else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the ingest run failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def copies(corpus: Path, target: Path, n: int) -> Path:
    """``n`` copies of the corpus's files in ``target``, each copy under new file names."""
    target.mkdir(parents=True, exist_ok=True)
    for path in manual_files(corpus):
        for i in range(n):
            shutil.copy(path, target / f"copy{i + 1:02d}-{path.name}")
    return target


def measure(corpus: Path, work: Path, n: int = 10) -> dict[str, Any]:
    """The cold run, then the corpus once and ``n`` times over with remembered embeddings."""
    cold = _child(corpus, work / "cold")
    embedder = _child(corpus, None)
    many = copies(corpus, work / "copies", n)
    runs = {}
    for label, folder in (("1x", corpus), (f"{n}x", many)):
        data = work / label
        (data / "rag").mkdir(parents=True)
        shutil.copy(work / "cold" / "rag" / EmbeddingCache.FILE, data / "rag" / EmbeddingCache.FILE)
        runs[label] = _child(folder, data)
    one, big = runs["1x"], runs[f"{n}x"]
    return {
        "corpus": corpus.name,
        "copies": n,
        "cold": cold,
        "embedder_alone": embedder,
        "embedder_share_of_cold": round(embedder["seconds"] / cold["seconds"], 2),
        "warm": runs,
        "rate_ratio": round(big["pages_per_second"] / one["pages_per_second"], 2),
        "cpu_rate_ratio": round(big["pages_per_cpu_second"] / one["pages_per_cpu_second"], 2),
        "peak_rss_ratio": round(big["peak_rss_mb"] / one["peak_rss_mb"], 2),
    }


def markdown(result: dict[str, Any]) -> str:
    n = result["copies"]
    rows = [("cold (new embeddings)", result["cold"])] + [
        (f"{label} (remembered embeddings)", run) for label, run in result["warm"].items()
    ]
    lines = [
        "| run | documents | pages | chunks | s | pages/s | CPU s | pages/CPU s "
        "| RSS after 1/10 MB | RSS at end MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['documents']} | {r['pages']} | {r['chunks']} | {r['seconds']} "
            f"| {r['pages_per_second']} | {r['cpu_seconds']} | {r['pages_per_cpu_second']} "
            f"| {r['rss_mb_after_first_tenth']} | {r['rss_mb_at_end']} "
            f"| {r['peak_rss_mb']} |"
        )
    e = result["embedder_alone"]
    lines += [
        "",
        f"The embedder alone on the same {e['chunks']} chunks ({e['tokens']} tokens): "
        f"{e['seconds']} s, {e['cpu_seconds']} CPU s, {e['tokens_per_second']} tokens/s, "
        f"{e['ms_per_chunk']} ms a chunk; {result['embedder_share_of_cold']} of the cold "
        "run's seconds.",
        "",
        f"{n}x against 1x: pages/s ratio {result['rate_ratio']}, pages/CPU s ratio "
        f"{result['cpu_rate_ratio']}, peak RSS ratio "
        f"{result['peak_rss_ratio']} (1.0: flat).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # one run, for measure(): prints its result as JSON
    corpus = Path(sys.argv[1])
    run = ingest_once(corpus, Path(sys.argv[2])) if len(sys.argv) > 2 else embed_only(corpus)
    print(json.dumps(asyncio.run(run)))
