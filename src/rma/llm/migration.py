"""Moving chat traffic from one backend to another safely: shadow, canary, rollback.

- **Shadow** (``SHADOW_PROVIDER``, ``SHADOW_PERCENT``): a share of chat calls is also sent,
  in the background, to a candidate backend. The caller gets the primary's answer and
  never waits for the candidate: a copy starts only after the answer is complete, at most
  ``SHADOW_MAX_PENDING`` copies run at once, and any more are dropped and counted. Each
  pair becomes one JSON line in ``RMA_DATA_DIR/shadow/pairs.jsonl`` with latency, tokens,
  answer similarity and citation overlap, all computed here; never the texts, which are
  client data.
- **Canary** (``CANARY_PROVIDER``, ``CANARY_PERCENT``): a share of chat calls goes to the
  candidate first, with the normal chain behind it as fallback; provenance says
  ``route: "canary"``.
- **Rollback**: both, and the chain itself, come from settings. A restart with new
  variables applies them; :func:`rma.llm.factory.reload_router` (SIGHUP in the services)
  applies a changed ``RMA_CONFIG`` file to a running process without dropping calls in flight.

``rma migrate report`` (``rma.bench.shadow_report``) summarises the recorded pairs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rma.config import Settings
from rma.errors import BackendError, InputError
from rma.llm import metrics
from rma.llm.backends.base import Backend, Target
from rma.llm.types import ChatParams, ChatRequest, ChatResult, Message, Role
from rma.text import cited_numbers

log = logging.getLogger("rma.llm.migration")

PAIRS_FILE = Path("shadow") / "pairs.jsonl"
_WORD = re.compile(r"\w+")


def answer_similarity(a: str, b: str) -> float:
    """Cosine similarity (0..1) of the two answers' word counts, case-insensitive."""
    ca, cb = Counter(_WORD.findall(a.lower())), Counter(_WORD.findall(b.lower()))
    if not ca and not cb:
        return 1.0
    if not ca or not cb:
        return 0.0
    dot = sum(n * cb[w] for w, n in ca.items())
    norm = math.sqrt(sum(n * n for n in ca.values())) * math.sqrt(sum(n * n for n in cb.values()))
    return dot / norm


def citation_overlap(a: list[int], b: list[int]) -> float | None:
    """Jaccard overlap of two citation sets; None when neither answer cites anything."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return None
    return len(sa & sb) / len(sa | sb)


@dataclass
class CandidateAnswer:
    """What the candidate did with a shadow copy: measurements, and its text in memory only."""

    latency_ms: float
    ttft_ms: float | None
    tokens_in: int
    tokens_out: int
    finish_reason: str
    text: str


def shadow_pair(
    primary: ChatResult,
    candidate: Target,
    answer: CandidateAnswer | None,
    error: str | None,
    structured: bool,
) -> dict[str, Any]:
    """One recorded pair: numbers only, no prompt or answer text."""
    p = primary.provenance
    record: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "role": p.role,
        "structured": structured,
        "primary": {
            "provider": p.provider,
            "model": p.model,
            "latency_ms": round(p.latency_ms, 1),
            "ttft_ms": None if p.ttft_ms is None else round(p.ttft_ms, 1),
            "tokens_in": p.tokens_in,
            "tokens_out": p.tokens_out,
            "finish_reason": primary.finish_reason,
        },
        "candidate": {"provider": candidate.provider, "model": candidate.model, "error": error},
        "similarity": None,
        "identical": None,
        "citations": None,
    }
    if answer is not None:
        record["candidate"].update(
            latency_ms=round(answer.latency_ms, 1),
            ttft_ms=None if answer.ttft_ms is None else round(answer.ttft_ms, 1),
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            finish_reason=answer.finish_reason,
        )
        ours, theirs = cited_numbers(primary.text), cited_numbers(answer.text)
        overlap = citation_overlap(ours, theirs)
        record["similarity"] = round(answer_similarity(primary.text, answer.text), 4)
        record["identical"] = primary.text.strip() == answer.text.strip()
        record["citations"] = {
            "primary": ours,
            "candidate": theirs,
            "overlap": None if overlap is None else round(overlap, 4),
        }
    return record


class PairLog:
    """Appends shadow pairs to a JSONL file (writes off the event loop, one at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def append(self, record: dict[str, Any]) -> None:
        await asyncio.to_thread(self._write, json.dumps(record, separators=(",", ":")) + "\n")

    def _write(self, line: str) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)


class MigrationPolicy:
    """Decides, call by call, whether a chat goes canary-first and whether it is shadowed;
    runs the shadow copies in the background and records the pairs."""

    def __init__(
        self,
        *,
        pairs: PairLog,
        shadow: Target | None = None,
        shadow_percent: float = 0.0,
        max_pending: int = 8,
        canary: Target | None = None,
        canary_percent: float = 0.0,
        timeout: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.pairs = pairs
        self.shadow_target = shadow if shadow_percent > 0 else None
        self.shadow_percent = shadow_percent
        self.max_pending = max_pending
        self.canary_target = canary if canary_percent > 0 else None
        self.canary_percent = canary_percent
        self.timeout = timeout
        self.rng = rng or random.Random()
        self.counts = {"recorded": 0, "failed": 0, "dropped": 0}
        self._pending: set[asyncio.Task[None]] = set()

    def routed_targets(self) -> list[Target]:
        """Candidates that take live traffic through the router (and need its guards)."""
        return [self.canary_target] if self.canary_target else []

    def backends(self) -> list[Backend]:
        return [t.backend for t in (self.shadow_target, self.canary_target) if t is not None]

    def route(self, role: Role, chain: list[Target]) -> tuple[list[Target], str]:
        """The chain for one call: canary-first for the configured share of chat calls."""
        canary = self.canary_target
        if canary is None or role is not Role.CHAT or not self._sampled(self.canary_percent):
            return chain, "primary"
        rest = [t for t in chain if t.provider != canary.provider]
        return [canary, *rest], "canary"

    def shadow(self, messages: list[Message], params: ChatParams, primary: ChatResult) -> None:
        """Maybe start a background copy of a finished chat call. Returns at once."""
        target = self.shadow_target
        prov = primary.provenance
        if target is None or prov.role != Role.CHAT.value or prov.route != "primary":
            return
        if prov.provider == target.provider or not self._sampled(self.shadow_percent):
            return  # the candidate itself answered (a fallback): nothing to compare
        if len(self._pending) >= self.max_pending:
            self.counts["dropped"] += 1
            metrics.SHADOW.labels(target.provider, "dropped").inc()
            return
        request = ChatRequest(target.model, tuple(messages), params)
        task = asyncio.get_running_loop().create_task(self._run_shadow(target, request, primary))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the shadow copies in flight (tests, orderly shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop shadow copies still running; they count as dropped."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*list(self._pending), return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        return {
            "shadow": None
            if self.shadow_target is None
            else {
                "provider": self.shadow_target.provider,
                "percent": self.shadow_percent,
                "pending": len(self._pending),
                **self.counts,
            },
            "canary": None
            if self.canary_target is None
            else {"provider": self.canary_target.provider, "percent": self.canary_percent},
        }

    def _sampled(self, percent: float) -> bool:
        return percent >= 100 or self.rng.random() * 100 < percent

    async def _run_shadow(self, target: Target, request: ChatRequest, primary: ChatResult) -> None:
        answer: CandidateAnswer | None = None
        error: str | None = None
        try:
            answer = await self._ask(target, request)
        except asyncio.CancelledError:
            self.counts["dropped"] += 1
            metrics.SHADOW.labels(target.provider, "dropped").inc()
            raise
        except (BackendError, InputError, TimeoutError) as exc:
            error = type(exc).__name__
        except Exception as exc:  # a shadow copy must never surface anywhere else
            error = type(exc).__name__
            log.exception("shadow copy failed unexpectedly", extra={"provider": target.provider})
        outcome = "recorded" if error is None else "failed"
        try:
            structured = request.params.json_schema is not None
            await self.pairs.append(shadow_pair(primary, target, answer, error, structured))
        except OSError as exc:
            outcome = "failed"
            log.warning("could not record a shadow pair: %s", type(exc).__name__)
        self.counts[outcome] += 1
        metrics.SHADOW.labels(target.provider, outcome).inc()

    async def _ask(self, target: Target, request: ChatRequest) -> CandidateAnswer:
        started = time.monotonic()
        ttft: float | None = None
        text: list[str] = []
        tokens_in = tokens_out = 0
        finish = "stop"
        async with asyncio.timeout(self.timeout):
            async for chunk in target.backend.stream_chat(request):
                if chunk.text:
                    if ttft is None:
                        ttft = (time.monotonic() - started) * 1000
                    text.append(chunk.text)
                tokens_in = chunk.tokens_in if chunk.tokens_in is not None else tokens_in
                tokens_out = chunk.tokens_out if chunk.tokens_out is not None else tokens_out
                finish = chunk.finish_reason or finish
        latency = (time.monotonic() - started) * 1000
        return CandidateAnswer(latency, ttft, tokens_in, tokens_out, finish, "".join(text))


def policy_from_settings(
    settings: Settings, target: Callable[[str], Target]
) -> MigrationPolicy | None:
    """The migration policy the settings describe, or None when neither mode is on.
    ``target(provider)`` gives the chat target for a provider name (the factory's)."""
    shadow_on = settings.shadow_provider is not None and settings.shadow_percent > 0
    canary_on = settings.canary_provider is not None and settings.canary_percent > 0
    if not shadow_on and not canary_on:
        return None
    return MigrationPolicy(
        pairs=PairLog(settings.rma_data_dir / PAIRS_FILE),
        shadow=target(settings.shadow_provider) if shadow_on else None,  # type: ignore[arg-type]
        shadow_percent=settings.shadow_percent,
        max_pending=settings.shadow_max_pending,
        canary=target(settings.canary_provider) if canary_on else None,  # type: ignore[arg-type]
        canary_percent=settings.canary_percent,
        timeout=settings.total_timeout,
    )
