"""Threshold extraction reads every chunk of the library with regular expressions: CPU
work that must not hold the event loop the service's other requests wait on."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from rma.rag.manuals import ManualChunk
from rma.rag.thresholds import ThresholdExtractor


async def test_extraction_leaves_the_event_loop_free(manual_chunks: list[ManualChunk]) -> None:
    chunks = manual_chunks * (1500 // len(manual_chunks) + 1)  # a library's worth
    extractor = ThresholdExtractor(today=date(2026, 1, 1))
    started = time.perf_counter()
    extractor.candidates(chunks)  # what the loop would be held for, done inline
    inline = time.perf_counter() - started

    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:  # what another request sees: how long the loop is away
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    book = await extractor.extract(chunks)
    done.set()
    await ticker
    assert book.current("dro.max_debt") is not None
    print(f"{len(chunks)} chunks: {inline * 1000:.0f} ms inline; longest loop gap "
          f"{max(gaps) * 1000:.0f} ms over {len(gaps)} ticks")  # fmt: skip
    assert inline > 0.1, "too little work to tell"
    assert max(gaps) < inline / 10  # checking the candidates alone is a seventh of it
