"""The document workers: a file that needs too much memory, takes too long or crashes
the reader costs that call a 413 or 422 and a fresh worker, never the caller's process;
workers are reused between calls. Real worker processes, real limits."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from rma.errors import InputError, InputTooLarge, UnsupportedMediaType
from rma.ocr.workers import DocumentTimeout, DocumentWorkers, WorkerLimits, document_budget


def hog(megabytes: int) -> int:
    """Allocate and touch ``megabytes`` (in a worker)."""
    block = bytearray(megabytes * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])
    return len(block)


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def refuse() -> None:
    raise UnsupportedMediaType("not a document we read")


def broken() -> None:
    raise KeyError("an unexpected parser error")


@pytest.fixture
def pool() -> Iterator[DocumentWorkers]:
    workers = DocumentWorkers(WorkerLimits(workers=1, memory_mb=512, seconds=20))
    try:
        yield workers
    finally:
        workers.close()


async def test_a_worker_is_reused_between_calls(pool: DocumentWorkers) -> None:
    first = await pool.run(nap, 0)
    assert await pool.run(nap, 0) == first != os.getpid()
    assert pool.replaced == 0


async def test_running_out_of_memory_is_a_413_and_a_fresh_worker(pool: DocumentWorkers) -> None:
    before = await pool.run(nap, 0)
    assert await pool.run(hog, 64) == 64 * 1024 * 1024  # within the limit: fine
    with pytest.raises(InputTooLarge, match="more than 512 MB of memory"):
        await pool.run(hog, 2048)
    assert pool.replaced == 1
    assert await pool.run(nap, 0) != before  # served by the new worker


async def test_a_document_over_its_time_budget_is_a_422_and_the_worker_is_killed(
    pool: DocumentWorkers,
) -> None:
    stuck = await pool.run(nap, 0)
    started = time.monotonic()
    with document_budget(1.0), pytest.raises(DocumentTimeout, match="longer than 1 s"):
        await pool.run(nap, 30)
    assert time.monotonic() - started < 10
    assert pool.replaced == 1
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)  # the stuck worker is gone, not left running
    assert isinstance(DocumentTimeout("x"), InputError)


async def test_the_budget_is_shared_by_every_call_of_a_document(pool: DocumentWorkers) -> None:
    pool.warm()
    await pool.run(nap, 0)  # started: a worker's start is not a document's time
    with document_budget(1.5):
        await pool.run(nap, 1.0)
        with pytest.raises(DocumentTimeout):
            await pool.run(nap, 1.0)  # 1 s more would pass 1.5 s in all


async def test_a_crash_is_a_422_and_the_next_call_works(pool: DocumentWorkers) -> None:
    with pytest.raises(InputError, match="stopped the reader"):
        await pool.run(crash)
    assert pool.replaced == 1
    assert await pool.run(nap, 0) > 0


async def test_our_errors_arrive_as_raised_and_others_as_a_422(pool: DocumentWorkers) -> None:
    with pytest.raises(UnsupportedMediaType, match="not a document we read"):
        await pool.run(refuse)
    with pytest.raises(InputError, match=r"could not be read \(KeyError\)"):
        await pool.run(broken)
    assert pool.replaced == 0


async def test_calls_beyond_the_workers_wait_for_a_free_one() -> None:
    pool = DocumentWorkers(WorkerLimits(workers=2, memory_mb=512, seconds=30))
    try:
        await asyncio.gather(pool.run(nap, 0), pool.run(nap, 0))  # both started
        started = time.monotonic()
        pids = await asyncio.gather(*(pool.run(nap, 0.5) for _ in range(4)))
        took = time.monotonic() - started
        assert len(set(pids)) == 2 and 0.9 < took < 10
    finally:
        pool.close()
