"""Retry timing, circuit breakers and concurrency limits: small value objects the router uses."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from rma import constants as C
from rma.errors import BackendOverloaded


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins up to a cap."""

    attempts: int = C.RETRY_ATTEMPTS
    base: float = C.RETRY_BACKOFF_BASE
    cap: float = C.RETRY_BACKOFF_MAX
    retry_after_cap: float = C.RETRY_AFTER_MAX

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_cap)
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))


@dataclass(frozen=True)
class Timeouts:
    connect: float = C.CONNECT_TIMEOUT
    first_token: float = C.FIRST_TOKEN_TIMEOUT
    total: float = C.TOTAL_TIMEOUT


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` transient failures in a row; after ``reset_after`` seconds
    lets one probe request through (half-open): its success closes the breaker, its failure
    opens it again."""

    def __init__(
        self,
        threshold: int = C.BREAKER_FAILURE_THRESHOLD,
        reset_after: float = C.BREAKER_RESET_AFTER,
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self._probe_out = False

    def allow(self) -> bool:
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if time.monotonic() - self.opened_at < self.reset_after:
                return False
            self.state = BreakerState.HALF_OPEN
        if self._probe_out:
            return False
        self._probe_out = True
        return True

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._probe_out = False

    def record_failure(self) -> None:
        self.failures += 1
        self._probe_out = False
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self.state = BreakerState.OPEN
            self.opened_at = time.monotonic()

    def release(self) -> None:
        """A probe ended without a verdict (cancelled): let another one through."""
        self._probe_out = False

    def retry_in(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.reset_after - (time.monotonic() - self.opened_at))

    def snapshot(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "consecutive_failures": self.failures,
            "retry_in_s": round(self.retry_in(), 1),
        }


class ConcurrencyLimit:
    """At most ``max_in_flight`` calls at once and ``queue_limit`` waiting; beyond that the
    caller is told to come back later (``BackendOverloaded`` with ``retry_after``)."""

    def __init__(
        self, provider: str, max_in_flight: int, queue_limit: int, wait_timeout: float
    ) -> None:
        self.provider = provider
        self.max_in_flight = max_in_flight
        self.queue_limit = queue_limit
        self.wait_timeout = wait_timeout
        self._sem = asyncio.Semaphore(max_in_flight)
        self.in_flight = 0
        self.waiting = 0
        self._mean_latency = 1.0

    def retry_after(self) -> float:
        waves = (self.waiting + self.in_flight) / self.max_in_flight
        return float(max(1, math.ceil(waves * self._mean_latency)))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._sem.locked() and self.waiting >= self.queue_limit:
            raise BackendOverloaded(
                f"{self.provider} is busy: {self.in_flight} requests in flight and "
                f"{self.waiting} waiting; retry after {self.retry_after():.0f} s",
                provider=self.provider,
                retry_after=self.retry_after(),
            )
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_timeout):
                await self._sem.acquire()
        except TimeoutError:
            raise BackendOverloaded(
                f"{self.provider} is busy: waited {self.wait_timeout:.0f} s for a free slot",
                provider=self.provider,
                retry_after=self.retry_after(),
            ) from None
        finally:
            self.waiting -= 1
        self.in_flight += 1
        started = time.monotonic()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._sem.release()
            self._mean_latency = 0.8 * self._mean_latency + 0.2 * (time.monotonic() - started)

    def snapshot(self) -> dict[str, object]:
        return {
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "max_in_flight": self.max_in_flight,
            "queue_limit": self.queue_limit,
        }
