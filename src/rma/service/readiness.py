"""Readiness from one background prober, so ``/ready`` answers at once whatever the load.

A probe (every backend reachable, its model present, a one-token call) costs a model call
and, under load, many seconds. Probing per request would stack probes behind each other
and behind users' calls, and Kubernetes would mark busy pods unready. Instead one task per
service probes every ``READY_PROBE_SECONDS`` (at once after start-up and after a reload)
and ``/ready`` serves its last result, saying how old it is. Before the first result,
after a probe that outran ``READY_PROBE_TIMEOUT``, or when the last result is older than
a probe could take (the prober stuck or gone), the service is not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from rma import constants as C
from rma.llm.router import ProviderRouter
from rma.llm.types import Role
from rma.service.errors import redact

log = logging.getLogger("rma.http")

ReadyStatus = Literal["ready", "degraded", "not_ready"]


class Readiness(BaseModel):
    """Each backend's check, and the verdict: ready, degraded (a fallback carries the
    load) or not ready (HTTP 503)."""

    status: ReadyStatus
    checks: list[dict[str, Any]]
    checked_seconds_ago: float | None = Field(
        default=None, description="Age of the probe this answer comes from; null before the first."
    )
    note: str | None = Field(default=None, description="Why there are no checks to show, if so.")


def summarise_readiness(checks: list[dict[str, Any]]) -> tuple[Readiness, bool]:
    """Ready when the primary target of every role passes; degraded when a chat fallback
    carries the load; not ready otherwise."""

    def passed(c: dict[str, Any]) -> bool:
        return bool(c["reachable"] and c["model_present"] and c["probe"] in ("ok", "skipped"))

    by_role: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        by_role.setdefault(c["role"], []).append(c)
    primaries_ok = all(passed(chain[0]) for chain in by_role.values())
    chat = by_role.get(Role.CHAT.value, [])
    others_ok = all(passed(chain[0]) for role, chain in by_role.items() if role != Role.CHAT.value)
    degraded = not primaries_ok and others_ok and any(passed(c) for c in chat[1:])
    status: ReadyStatus = "ready" if primaries_ok else "degraded" if degraded else "not_ready"
    return Readiness(status=status, checks=checks), status != "not_ready"


# What a service is ready by; the factory's default is :func:`backends_readiness`.
ReadinessCheck = Callable[[FastAPI], Awaitable[tuple[Readiness, bool]]]


async def backends_readiness(app: FastAPI) -> tuple[Readiness, bool]:
    """The service's model backends (its provider router), summarised."""
    return await router_readiness(app.state.router)


async def router_readiness(router: ProviderRouter) -> tuple[Readiness, bool]:
    return summarise_readiness(await router.readiness())


class ReadinessProber:
    """Runs ``check`` in the background; :meth:`current` is the last result."""

    def __init__(
        self,
        check: Callable[[], Awaitable[tuple[Readiness, bool]]],
        *,
        interval: float = C.READY_PROBE_SECONDS,
        timeout: float = C.READY_PROBE_TIMEOUT,
    ) -> None:
        self.check = check
        self.interval = interval
        self.timeout = timeout
        self.probes = 0
        # Older than this, the last result no longer says anything about now.
        self.stale_after = 2 * interval + timeout
        self._result: tuple[Readiness, bool] | None = None
        self._json: dict[str, Any] = {}  # the last result as /ready sends it, but its age
        self._at = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def probe_now(self) -> None:
        """Probe again at once (after a reload), not at the next interval."""
        self._wake.set()

    def current(self) -> tuple[Readiness, bool]:
        """The last result with its age; not ready before the first or once stale."""
        if self._result is None:
            note = "the first readiness probe has not finished yet"
            return Readiness(status="not_ready", checks=[], note=note), False
        body, ok = self._result
        age = round(time.monotonic() - self._at, 1)
        if age > self.stale_after:
            note = f"the last readiness probe finished {age:.0f} s ago; probes have stopped"
            update = {"status": "not_ready", "checked_seconds_ago": age, "note": note}
            return body.model_copy(update=update), False
        return body.model_copy(update={"checked_seconds_ago": age}), ok

    def answer(self) -> tuple[int, bytes]:
        """:meth:`current` as ``/ready`` sends it (HTTP status and JSON body), made from
        the result's JSON kept since its probe: microseconds, however many call at once."""
        age = round(time.monotonic() - self._at, 1)
        if self._result is None or age > self.stale_after:
            body, ok = self.current()
            return (200 if ok else 503), body.model_dump_json().encode()
        ok = self._result[1]
        return (200 if ok else 503), json.dumps(self._json | {"checked_seconds_ago": age}).encode()

    async def probe(self) -> tuple[Readiness, bool]:
        """One run of the check, bounded by ``timeout``; internal addresses removed."""
        self.probes += 1
        try:
            async with asyncio.timeout(self.timeout):
                report, ok = await self.check()
        except TimeoutError:
            note = f"the readiness probe took longer than {self.timeout:g} s"
            return Readiness(status="not_ready", checks=[], note=note), False
        for check in report.checks:
            if "error" in check:
                check["error"] = redact(str(check["error"]))
        return report, ok

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                result = await self.probe()
            except Exception:  # a probe must never end the prober
                log.exception("readiness probe failed")
                result = Readiness(status="not_ready", checks=[], note="probe failed"), False
            self._result, self._json = result, result[0].model_dump(mode="json")
            self._at = time.monotonic()
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
