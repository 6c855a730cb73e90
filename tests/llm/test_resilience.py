"""The router's small value objects on their own: backoff and Retry-After, the breaker's
report, and the concurrency limit's queue with its Retry-After estimate.

Written for the mutants of ``rma.llm.resilience`` that the router and breaker tests let
through (``mutmut``, docs/testing.md): a jitter that never starts at zero, a backoff that
grows by the wrong factor, a wrong Retry-After for a full queue, a status report with the
wrong figures. Each figure below is worked out by hand from the rule, not read back.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from rma.errors import BackendOverloaded
from rma.llm.resilience import CircuitBreaker, ConcurrencyLimit, RetryPolicy

POLICY = RetryPolicy(attempts=3, base=0.5, cap=8.0, retry_after_cap=30.0)


@pytest.fixture
def seeded() -> Iterator[None]:
    state = random.getstate()
    random.seed(18)
    yield
    random.setstate(state)


def test_a_server_s_retry_after_wins_up_to_the_cap() -> None:
    assert POLICY.delay(0, retry_after=0) == 0.0  # "retry now" means now, not a backoff
    assert POLICY.delay(2, retry_after=12.5) == 12.5
    assert POLICY.delay(0, retry_after=300) == 30.0


@pytest.mark.usefixtures("seeded")
def test_backoff_is_full_jitter_doubling_from_the_base_up_to_the_cap() -> None:
    # attempt n waits a uniform time between 0 and min(cap, base * 2**n)
    for attempt, bound in ((0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)):
        waits = [POLICY.delay(attempt) for _ in range(400)]
        assert all(0 <= w <= bound for w in waits), (attempt, max(waits))
        assert min(waits) < 0.05 * bound, (attempt, min(waits))  # from zero
        assert max(waits) > 0.95 * bound, (attempt, max(waits))  # up to the bound
    # a negative Retry-After is no instruction: the backoff applies
    assert all(0 <= POLICY.delay(1, retry_after=-1) <= 1.0 for _ in range(50))


def test_the_breaker_reports_its_state_failures_and_when_it_will_try_again() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=30.05)
    assert breaker.snapshot() == {"state": "closed", "consecutive_failures": 0, "retry_in_s": 0.0}
    breaker.record_failure()
    assert breaker.snapshot()["state"] == "closed"
    breaker.record_failure()
    report = breaker.snapshot()
    assert report["state"] == "open"
    assert report["consecutive_failures"] == 2
    # 30.05 s less the microseconds since it opened, to a tenth of a second
    assert isinstance(report["retry_in_s"], float)
    assert report["retry_in_s"] == 30.0


def test_an_idle_limit_reports_nothing_in_flight_and_a_one_second_retry() -> None:
    limit = ConcurrencyLimit("vllm", max_in_flight=2, queue_limit=3, wait_timeout=5.0)
    assert limit.snapshot() == {"in_flight": 0, "waiting": 0, "max_in_flight": 2, "queue_limit": 3}
    assert limit.retry_after() == 1.0


async def _fill(limit: ConcurrencyLimit, calls: int, release: asyncio.Event) -> list[asyncio.Task]:
    async def hold() -> None:
        async with limit.slot():
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(calls)]
    for _ in range(3):  # each task runs until it holds a slot or waits for one
        await asyncio.sleep(0)
    assert limit.in_flight + limit.waiting == calls
    return tasks


async def test_a_full_queue_is_refused_with_a_retry_after_from_the_waves_ahead() -> None:
    limit = ConcurrencyLimit("vllm", max_in_flight=2, queue_limit=2, wait_timeout=5.0)
    release = asyncio.Event()
    holders = await _fill(limit, 4, release)
    assert limit.snapshot() == {"in_flight": 2, "waiting": 2, "max_in_flight": 2, "queue_limit": 2}
    with pytest.raises(BackendOverloaded) as refused:
        async with limit.slot():
            pass
    # 4 calls ahead, 2 at a time: two waves at the starting estimate of 1 s a call
    assert refused.value.retry_after == 2.0
    assert "vllm is busy: 2 requests in flight and 2 waiting; retry after 2 s" in str(refused.value)
    release.set()
    await asyncio.gather(*holders)
    assert limit.snapshot()["in_flight"] == 0 and limit.snapshot()["waiting"] == 0

    # Five quick calls bring the latency estimate down to about 0.8**5 of a second
    # (0.33 s), so the same two waves ahead are now one second, not two.
    for _ in range(5):
        async with limit.slot():
            pass
    release = asyncio.Event()
    holders = await _fill(limit, 4, release)
    assert limit.retry_after() == 1.0
    release.set()
    await asyncio.gather(*holders)


async def test_a_caller_waits_for_a_slot_no_longer_than_the_wait_timeout() -> None:
    limit = ConcurrencyLimit("ollama", max_in_flight=1, queue_limit=5, wait_timeout=1.0)
    async with limit.slot():
        # bounded here too: a limit that ignored its wait timeout would wait for ever
        async with asyncio.timeout(10):
            with pytest.raises(BackendOverloaded, match="ollama is busy: waited 1 s for a free"):
                async with limit.slot():
                    pass
        assert limit.waiting == 0
    assert limit.snapshot()["in_flight"] == 0
