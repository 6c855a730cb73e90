"""Reading the manuals' limit candidates (at ingest and on refresh) and holding them against
the table (the evidence) is CPU work of seconds for a large library: it must not hold the
event loop the service's other requests wait on.

Measured as another request sees it: the longest gap between the loop's ticks while the
work runs, against the time the same work takes done inline (what the loop would be held
for if it ran there). A full garbage collection stops every thread alike, and its pause
grows with everything the test session holds (models, Chroma): that heap is frozen while
measuring (:func:`gc.freeze`), so what is measured is where the work runs."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from itertools import groupby
from pathlib import Path

from rma.config import load_settings
from rma.limits.evidence import LimitEvidence
from rma.limits.extract import candidates as read_candidates
from rma.limits.table import shipped_table
from rma.llm.router import ProviderRouter
from rma.rag.library import ManualLibrary
from rma.rag.limits import ManualLimits
from rma.rag.manuals import LoadedManual, ManualChunk
from rma.rag.store import ManualStore

LIBRARY_CHUNKS = 1500  # a library's worth
VECTOR = [1.0] + [0.0] * 7  # what the chunks are found by does not matter here


@asynccontextmanager
async def loop_gaps() -> AsyncIterator[list[float]]:
    """The gaps between the loop's ticks (every 2 ms when it is free) while inside."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield gaps
    finally:
        done.set()
        await ticker


@contextmanager
def heap_frozen() -> Iterator[None]:
    """What is alive now left out of garbage collection's full passes while inside."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def longest_gap(work: Callable[[], Awaitable[object]]) -> float:
    async with loop_gaps() as gaps:
        await work()
    return max(gaps)


def copies(chunks: list[ManualChunk], wanted: int) -> list[list[ManualChunk]]:
    """The sample manuals again and again, each copy a document of its own, until there
    are ``wanted`` chunks: one list of chunks per document."""
    documents = [list(g) for _, g in groupby(chunks, key=lambda c: c.document_id)]
    out: list[list[ManualChunk]] = []
    while sum(map(len, out)) < wanted:
        copy = len(out) // len(documents)
        source = documents[len(out) % len(documents)]
        document_id = f"{source[0].document_id}-{copy}"
        out.append(
            [
                dataclasses.replace(c, document_id=document_id, chunk_id=f"{document_id}:{c.index}")
                for c in source
            ]
        )
    return out


async def test_reading_the_limits_leaves_the_event_loop_free(
    manual_chunks: list[ManualChunk], clean_env: Path, router: ProviderRouter
) -> None:
    documents = copies(manual_chunks, LIBRARY_CHUNKS)
    store = await asyncio.to_thread(ManualStore.open, load_settings(), "loop")
    for chunks in documents:
        manual = LoadedManual(chunks[0].document, "markdown", chunks[0].title, 1, [])
        digest = hashlib.sha256(chunks[0].document_id.encode()).hexdigest()
        await asyncio.to_thread(
            store.replace_document, manual, digest, "upload", chunks, [VECTOR] * len(chunks)
        )
    library = ManualLibrary(store, router, clean_env / "data")
    with heap_frozen():
        # Reading the candidates, as an ingest or a refresh does: each document's chunks as
        # the store holds them.
        stored = sorted((c for _, c in store.all_chunks()), key=lambda c: (c.document_id, c.index))
        started = time.perf_counter()
        found = {
            d: read_candidates(list(g)) for d, g in groupby(stored, key=lambda c: c.document_id)
        }
        inline = time.perf_counter() - started
        gap = await longest_gap(library.load_indexes)
        assert library.limit_candidates == found  # the same work, done off the loop
        print(f"{len(stored)} chunks read: {inline * 1000:.0f} ms inline; longest loop gap "
              f"{gap * 1000:.0f} ms while the indexes were brought up to date")  # fmt: skip
        assert inline > 0.3, "too little work to tell"
        assert gap < inline / 10

        # The evidence: every candidate held against the table (enough of them to tell).
        every = library.candidates()[1]
        many = every * (24000 // len(every) + 1)
        table = shipped_table()
        started = time.perf_counter()
        expected = LimitEvidence.build(many, table)
        inline = time.perf_counter() - started
        limits = ManualLimits(lambda: (1, many), table=table)
        gap = await longest_gap(limits.evidence)
        assert (await limits.evidence()).findings == expected.findings
        print(f"{len(many)} candidates held against the table: {inline * 1000:.0f} ms inline; "
              f"longest loop gap {gap * 1000:.0f} ms")  # fmt: skip
        assert inline > 0.15, "too little work to tell"
        assert gap < inline / 5
