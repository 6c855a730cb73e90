"""ProviderRouter: the one way RMA talks to language models.

For each role (chat, embed, vision) the router holds a chain of targets (backend +
model). A call goes to the first target whose circuit breaker admits it; transient
failures (connection, timeout, 429, 5xx) are retried with backoff and then passed
down the chain; anything else (4xx, bad input, invalid output) goes straight back to
the caller. Streams fall back only before their first token. Every result carries
its provenance, including the hops that failed on the way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rma import constants as C
from rma.errors import (
    AllBackendsFailed,
    BackendError,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    CircuitOpen,
    InputError,
    InputTooLarge,
    MalformedResponse,
    StreamInterrupted,
    StructuredOutputError,
)
from rma.llm import metrics
from rma.llm.backends.base import Backend, Target
from rma.llm.jsonreply import RUNAWAY_STOPS, read_reply
from rma.llm.migration import MigrationPolicy
from rma.llm.resilience import CircuitBreaker, ConcurrencyLimit, RetryPolicy, Timeouts
from rma.llm.types import (
    ChatParams,
    ChatRequest,
    ChatResult,
    Chunk,
    EmbedResult,
    Hop,
    Image,
    Message,
    Provenance,
    Role,
    StreamEnd,
    StreamEvent,
    StreamFailed,
    Structured,
    StructuredEnd,
    StructuredEvent,
    StructuredRetry,
    TextDelta,
    l2_normalise,
)
from rma.text import TokenCounter, estimate_tokens

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# What a readiness check asks a chat model: one token of any reply shows it answers.
READINESS_PROMPT = "Hi"
# ... and an embedding model: one short text.
READINESS_TEXT = "ready"


@dataclass
class Guard:
    """What protects one backend: its breaker, its concurrency limit, and when it last sent
    output to anyone (a backend that is answering other requests is busy, not dead)."""

    breaker: CircuitBreaker
    limit: ConcurrencyLimit
    last_output: float = 0.0

    def heard(self) -> None:
        self.last_output = time.monotonic()

    def heard_within(self, seconds: float) -> bool:
        return time.monotonic() - self.last_output < seconds


@dataclass
class _OpenStream:
    chunks: AsyncIterator[Chunk]
    first: list[Chunk]
    ttft: float
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)


def _error_name(err: BaseException) -> str:
    return type(err).__name__


class ProviderRouter:
    def __init__(
        self,
        chains: dict[Role, list[Target]],
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        breaker_threshold: int = C.BREAKER_FAILURE_THRESHOLD,
        breaker_reset_after: float = C.BREAKER_RESET_AFTER,
        queue_limit: int = C.DEFAULT_QUEUE_LIMIT,
        queue_wait_timeout: float = C.QUEUE_WAIT_TIMEOUT,
        migration: MigrationPolicy | None = None,
    ) -> None:
        self.chains = chains
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.migration = migration
        self.guards: dict[str, Guard] = {}
        candidates = migration.routed_targets() if migration else []
        for target in [*(t for chain in chains.values() for t in chain), *candidates]:
            name = target.provider
            if name not in self.guards:
                self.guards[name] = Guard(
                    CircuitBreaker(breaker_threshold, breaker_reset_after),
                    ConcurrencyLimit(
                        name, target.backend.max_in_flight, queue_limit, queue_wait_timeout
                    ),
                )

    # ----------------------------------------------------------------- public API

    async def chat(
        self,
        messages: list[Message],
        *,
        role: Role | str = Role.CHAT,
        max_tokens: int = C.DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        schema_name: str = "output",
        stop: tuple[str, ...] = (),
    ) -> ChatResult:
        """One complete answer. Raises on failure (nothing partial is returned)."""
        stream = self.stream_chat(
            messages,
            role=role,
            max_tokens=max_tokens,
            temperature=temperature,
            json_schema=json_schema,
            schema_name=schema_name,
            stop=stop,
        )
        async with aclosing(stream):
            async for event in stream:
                if isinstance(event, StreamEnd):
                    return event.result
                if isinstance(event, StreamFailed):
                    raise StreamInterrupted(f"{event.error}: {event.message}")
        raise MalformedResponse("the stream ended without a result")

    async def stream_chat(
        self,
        messages: list[Message],
        *,
        role: Role | str = Role.CHAT,
        max_tokens: int = C.DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        schema_name: str = "output",
        stop: tuple[str, ...] = (),
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream an answer: ``TextDelta``... then ``StreamEnd`` (or ``StreamFailed``)."""
        role = self._role(role, (Role.CHAT, Role.VISION))
        self._check_messages(messages, role)
        if not 1 <= max_tokens <= C.MAX_OUTPUT_TOKENS:
            raise InputError(f"max_tokens must be between 1 and {C.MAX_OUTPUT_TOKENS}")
        params = ChatParams(max_tokens, temperature, json_schema, schema_name, tuple(stop))
        chain, route = self._migration_route(role)
        hops: list[Hop] = []
        started = time.monotonic()
        deadline = started + self.timeouts.total

        async def open_stream(target: Target) -> _OpenStream:
            request = ChatRequest(target.model, tuple(messages), params)
            chunks = target.backend.stream_chat(request)
            guard = self.guards[target.provider]
            first: list[Chunk] = []
            window = self.timeouts.first_token
            limit = min(deadline, time.monotonic() + window)
            busy = False
            waiting: asyncio.Future[Chunk] | None = None
            try:
                while True:
                    remaining = limit - time.monotonic()
                    if remaining <= 0:
                        # Silent for a whole window: dead, unless it is answering others
                        # meanwhile (a batching server queues requests beyond its batch);
                        # then wait on, up to the total deadline.
                        busy = guard.heard_within(window)
                        if not busy or limit >= deadline:
                            raise TimeoutError
                        limit = min(deadline, time.monotonic() + window)
                        continue
                    if waiting is None:
                        waiting = asyncio.ensure_future(anext(chunks))
                    # wait() leaves the read running, so a longer wait can resume it
                    done, _ = await asyncio.wait((waiting,), timeout=remaining)
                    if not done:
                        continue
                    chunk, waiting = waiting.result(), None
                    first.append(chunk)
                    if chunk.text or chunk.finish_reason is not None:
                        guard.heard()
                        break
            except TimeoutError:
                await _abandon(waiting, chunks)
                why = " (busy answering other requests)" if busy else ""
                raise BackendTimeout(
                    f"{target.provider} sent no first token within "
                    f"{time.monotonic() - started:.0f} s{why}",
                    provider=target.provider,
                ) from None
            except StopAsyncIteration:
                raise MalformedResponse(
                    f"{target.provider} ended the stream without any output",
                    provider=target.provider,
                ) from None
            except BaseException:
                await _abandon(waiting, chunks)
                raise
            return _OpenStream(chunks, first, time.monotonic() - started)

        opened, target, stack = await self._call(role, open_stream, hops, chain)
        guard = self.guards[target.provider]
        guard.breaker.record_success()  # it answered: the backend is alive
        prov = Provenance(
            role=role.value, provider=target.provider, model=target.model, hops=hops, route=route
        )
        prov.ttft_ms = opened.ttft * 1000
        metrics.FIRST_TOKEN.labels(target.provider, role.value).observe(opened.ttft)
        text: list[str] = []
        finish = "stop"

        def absorb(chunk: Chunk) -> str:
            nonlocal finish
            guard.heard()
            if chunk.replica:
                prov.replica = chunk.replica
            if chunk.tokens_in is not None:
                prov.tokens_in = chunk.tokens_in
            if chunk.tokens_out is not None:
                prov.tokens_out = chunk.tokens_out
            if chunk.finish_reason is not None:
                finish = chunk.finish_reason
            return chunk.text

        async with stack:
            try:
                for chunk in opened.first:
                    if piece := absorb(chunk):
                        text.append(piece)
                        yield TextDelta(piece)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise BackendTimeout(
                            f"{target.provider} did not finish within {self.timeouts.total:.0f} s",
                            provider=target.provider,
                        )
                    try:
                        async with asyncio.timeout(remaining):
                            chunk = await anext(opened.chunks)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        continue  # loop re-checks the deadline and raises
                    if piece := absorb(chunk):
                        text.append(piece)
                        yield TextDelta(piece)
            except (BackendError, InputError) as err:
                guard.breaker.record_failure()
                metrics.record_error(target.provider, role.value, _error_name(err))
                yield StreamFailed(_error_name(err), str(err), "".join(text))
                return
            finally:
                await opened.chunks.aclose()  # type: ignore[attr-defined]
        prov.latency_ms = (time.monotonic() - started) * 1000
        self._record_ok(role, target, prov, chain[0])
        result = ChatResult("".join(text), finish, prov)
        if self.migration:
            self.migration.shadow(messages, params, result)  # in the background, bounded
        yield StreamEnd(result)

    async def structured(
        self,
        messages: list[Message],
        schema: type[M],
        *,
        role: Role | str = Role.CHAT,
        max_tokens: int = C.DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
    ) -> Structured[M]:
        """Ask for JSON matching ``schema``; validate; on failure retry once with the errors
        (see :meth:`stream_structured`, which this drains)."""
        events = self.stream_structured(
            messages, schema, role=role, max_tokens=max_tokens, temperature=temperature
        )
        async with aclosing(events):
            async for event in events:
                if isinstance(event, StructuredEnd):
                    return event.structured
        raise MalformedResponse("the structured call ended without a result")

    async def stream_structured(
        self,
        messages: list[Message],
        schema: type[M],
        *,
        role: Role | str = Role.CHAT,
        max_tokens: int = C.DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
    ) -> AsyncGenerator[StructuredEvent, None]:
        """Ask for JSON matching ``schema``, streamed: ``TextDelta``... as the model writes,
        ``StructuredRetry`` if the reply does not validate (it is asked once more, with the
        errors), then ``StructuredEnd``. Raises on failure: a backend chain that fails
        before the first token, a stream that breaks (:class:`StreamInterrupted`), a reply
        still invalid after the retry (:class:`StructuredOutputError`).

        The reply stops where a small model runs on in whitespace, and JSON cut short is
        closed before validation (:func:`rma.llm.jsonreply.read_reply`), so a run-on costs
        seconds rather than the token budget."""
        json_schema = schema.model_json_schema()
        convo = list(messages)
        for attempt in (1, 2):
            stream = self.stream_chat(
                convo,
                role=role,
                max_tokens=max_tokens,
                temperature=temperature,
                json_schema=json_schema,
                schema_name=schema.__name__,
                stop=RUNAWAY_STOPS,
            )
            result: ChatResult | None = None
            async with aclosing(stream):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        yield event
                    elif isinstance(event, StreamEnd):
                        result = event.result
                    else:
                        raise StreamInterrupted(f"{event.error}: {event.message}")
            if result is None:
                raise MalformedResponse("the stream ended without a result")
            try:
                reading = read_reply(result.text, schema)
            except (ValidationError, ValueError) as err:
                problem = _describe(err)
                if attempt == 2:
                    raise StructuredOutputError(
                        f"the model's output did not match {schema.__name__} after a "
                        f"corrective retry: {problem}",
                        raw=result.text,
                        result=result,
                    ) from None
                yield StructuredRetry(problem)
                convo = [
                    *messages,
                    Message.assistant(result.text),
                    Message.user(
                        f"That reply is not valid: {problem}. Reply again with only a JSON "
                        f"object that matches the schema."
                    ),
                ]
                continue
            value = Structured(
                reading.value, result, attempt, reading.cut_short, reading.never_reached
            )
            yield StructuredEnd(value)
            return

    async def vision(
        self, prompt: str, images: list[Image], *, max_tokens: int = 1024
    ) -> ChatResult:
        if not images:
            raise InputError("vision needs at least one image")
        return await self.chat(
            [Message.user(prompt, tuple(images))], role=Role.VISION, max_tokens=max_tokens
        )

    async def embed(self, texts: list[str]) -> EmbedResult:
        """L2-normalised embeddings. Never falls back to another model: vectors from two
        models do not mix. Retries and replica balancing still apply."""
        if not texts:
            raise InputError("nothing to embed")
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise InputError("cannot embed an empty text")
        hops: list[Hop] = []
        started = time.monotonic()
        vectors: list[list[float]] = []
        tokens = 0
        target: Target | None = None
        replica = ""
        for i in range(0, len(texts), C.MAX_EMBED_BATCH):
            batch = texts[i : i + C.MAX_EMBED_BATCH]

            async def run(
                t: Target, batch: list[str] = batch
            ) -> tuple[list[list[float]], int, str]:
                async with asyncio.timeout(self.timeouts.total):
                    return await t.backend.embed(t.model, batch)

            (vecs, used, replica), target, stack = await self._call(Role.EMBED, run, hops)
            await stack.aclose()
            self.guards[target.provider].breaker.record_success()
            self.guards[target.provider].heard()
            vectors.extend(vecs)
            tokens += used
        assert target is not None
        dims = {len(v) for v in vectors}
        if len(dims) != 1:
            raise MalformedResponse(f"{target.provider} returned vectors of sizes {sorted(dims)}")
        prov = Provenance(
            role=Role.EMBED.value,
            provider=target.provider,
            model=target.model,
            replica=replica,
            hops=hops,
            latency_ms=(time.monotonic() - started) * 1000,
            tokens_in=tokens,
        )
        self._record_ok(Role.EMBED, target, prov)
        return EmbedResult(l2_normalise(vectors), target.model, dims.pop(), prov)

    def embedding_model(self) -> str:
        """Name of the model behind the embed role (stores record it beside vectors)."""
        return self.chains[Role.EMBED][0].model

    def context_window(self, role: Role | str = Role.CHAT) -> int:
        """The smallest context window (tokens, prompt and reply) among the targets that
        may answer a ``role`` call: a prompt must fit whichever one ends up answering."""
        role = self._role(role, tuple(Role))
        targets = [*self.chains[role]]
        if role is Role.CHAT and self.migration:
            targets += self.migration.routed_targets()
        return min(t.backend.context_window for t in targets)

    def capacity(self, role: Role | str = Role.CHAT) -> int:
        """How many ``role`` calls the primary backend takes at once before callers queue."""
        role = self._role(role, tuple(Role))
        return self.guards[self.chains[role][0].provider].limit.max_in_flight

    def token_counter(self, role: Role | str = Role.EMBED) -> TokenCounter:
        """Counts tokens as the model behind ``role`` does: its own tokenizer when it runs
        in this process, else :func:`rma.text.estimate_tokens` (never below the real count)."""
        role = self._role(role, tuple(Role))
        primary = self.chains[role][0]
        return primary.backend.token_counter(primary.model) or estimate_tokens

    def breakers(self) -> dict[str, dict[str, object]]:
        return {
            name: {**g.breaker.snapshot(), **g.limit.snapshot()} for name, g in self.guards.items()
        }

    async def readiness(self) -> list[dict[str, Any]]:
        """For each role's targets: reachable, model present, one-token probe, breaker."""
        checks = [
            self._check_target(role, target)
            for role, chain in self.chains.items()
            for target in chain
        ]
        return list(await asyncio.gather(*checks))

    async def aclose(self) -> None:
        if self.migration:
            await self.migration.aclose()
        for backend in self._backends():
            await backend.aclose()

    def adopt(self, other: ProviderRouter) -> list[Backend]:
        """Take over ``other``'s chains, policies and guards (a reload from new settings),
        so everything holding this router switches at once. Returns the backends used
        until now, for the caller to close once calls in flight have ended."""
        retired = self._backends()
        self.chains, self.retry, self.timeouts = other.chains, other.retry, other.timeouts
        self.migration = other.migration
        # Calls in flight still look up their old provider's guard, so none is removed.
        self.guards = {**self.guards, **other.guards}
        return retired

    def _backends(self) -> list[Backend]:
        found: dict[int, Backend] = {}
        for chain in self.chains.values():
            for target in chain:
                found.setdefault(id(target.backend), target.backend)
        for backend in self.migration.backends() if self.migration else []:
            found.setdefault(id(backend), backend)
        return list(found.values())

    # -------------------------------------------------------------------- internals

    def _role(self, role: Role | str, allowed: tuple[Role, ...]) -> Role:
        try:
            value = Role(role)
        except ValueError:
            raise InputError(
                f"unknown role {role!r}: use one of {[r.value for r in Role]}"
            ) from None
        if value not in allowed:
            raise InputError(f"role {value} cannot be used for this call")
        if not self.chains.get(value):
            raise InputError(f"no backend is configured for the {value} role")
        return value

    def _migration_route(self, role: Role) -> tuple[list[Target], str]:
        """The chain for one call: the configured one, or canary-first (rma.llm.migration)."""
        if self.migration is None:
            return self.chains[role], "primary"
        return self.migration.route(role, self.chains[role])

    def _check_messages(self, messages: list[Message], role: Role) -> None:
        if not messages:
            raise InputError("no messages to send")
        for m in messages:
            if not isinstance(m, Message):
                raise InputError(f"expected Message, got {type(m).__name__}")
        if not any(m.content.strip() or m.images for m in messages if m.role == "user"):
            raise InputError("the prompt is empty")
        size = sum(len(m.content) for m in messages)
        if size > C.MAX_PROMPT_CHARS:
            raise InputTooLarge(
                f"the prompt has {size} characters; the limit is {C.MAX_PROMPT_CHARS}"
            )
        for m in messages:
            for image in m.images:
                if len(image.data) > C.MAX_IMAGE_BYTES:
                    raise InputTooLarge(f"an image is over {C.MAX_IMAGE_BYTES} bytes")
        for target in self.chains[role]:
            target.backend.require(role)

    async def _call(
        self,
        role: Role,
        operation: Callable[[Target], Awaitable[T]],
        hops: list[Hop],
        chain: list[Target] | None = None,
    ) -> tuple[T, Target, AsyncExitStack]:
        """Run ``operation`` along the role's chain (or ``chain``). Returns its value, the
        target that gave it, and an exit stack that holds the target's concurrency slot
        until closed."""
        retry_after: float | None = None
        for target in self.chains[role] if chain is None else chain:
            guard = self.guards[target.provider]
            for attempt in range(self.retry.attempts):
                if not guard.breaker.allow():
                    err: BackendError = CircuitOpen(
                        f"{target.provider} circuit is open", provider=target.provider
                    )
                    hops.append(
                        Hop(
                            provider=target.provider,
                            model=target.model,
                            replica="",
                            error="CircuitOpen",
                            message=err.message,
                        )
                    )
                    metrics.record_error(target.provider, role.value, "CircuitOpen")
                    retry_after = _min(retry_after, guard.breaker.retry_in())
                    break
                stack = AsyncExitStack()
                try:
                    await stack.enter_async_context(guard.limit.slot())
                    value = await operation(target)
                except BackendError as exc:
                    await stack.aclose()
                    own_queue = isinstance(exc, BackendOverloaded) and not exc.replica
                    if own_queue:
                        guard.breaker.release()
                    elif exc.transient and not (exc.replica and target.backend.has_other_replica()):
                        # One replica down while others serve is not a backend failure.
                        guard.breaker.record_failure()
                    else:
                        guard.breaker.record_success()  # it answered, if only to say no
                    hops.append(
                        Hop(
                            provider=target.provider,
                            model=target.model,
                            replica=exc.replica,
                            error=_error_name(exc),
                            message=exc.message,
                        )
                    )
                    metrics.record_error(target.provider, role.value, _error_name(exc))
                    if not exc.transient:
                        raise
                    if exc.retry_after is not None:
                        retry_after = _min(retry_after, exc.retry_after)
                    if attempt + 1 == self.retry.attempts or own_queue:
                        break
                    if isinstance(exc, BackendUnavailable):
                        # A refused connection will not clear in a backoff's time: try
                        # another replica now, or the next backend.
                        if target.backend.has_other_replica():
                            continue
                        break
                    await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                except BaseException:
                    guard.breaker.release()
                    await stack.aclose()
                    raise
                else:
                    return value, target, stack
        summary = "; ".join(f"{h.provider}: {h.message}" for h in hops) or "no backend"
        raise AllBackendsFailed(
            f"no backend could serve the {role} request ({summary})", hops, retry_after
        )

    def _record_ok(
        self, role: Role, target: Target, prov: Provenance, first: Target | None = None
    ) -> None:
        metrics.record_success(
            target.provider, role.value, prov.latency_ms / 1000, prov.tokens_in, prov.tokens_out
        )
        primary = (first or self.chains[role][0]).provider
        if target.provider != primary:
            metrics.FALLBACKS.labels(role.value, primary, target.provider).inc()

    async def _check_target(self, role: Role, target: Target) -> dict[str, Any]:
        report: dict[str, Any] = {
            "role": role.value,
            "provider": target.provider,
            "model": target.model,
            "reachable": False,
            "model_present": False,
            "probe": "skipped",
            "breaker": self.guards[target.provider].breaker.snapshot(),
        }
        try:
            async with asyncio.timeout(self.timeouts.connect + 10):
                models = await target.backend.list_models()
            report["reachable"] = True
            report["model_present"] = target.backend.serves(target.model, models)
            if not report["model_present"]:
                report["error"] = f"model {target.model!r} not served (has: {models[:10]})"
                return report
            async with asyncio.timeout(self.timeouts.first_token):
                if role is Role.CHAT:
                    probe = ChatRequest(
                        target.model, (Message.user(READINESS_PROMPT),), ChatParams(max_tokens=1)
                    )
                    async for _ in target.backend.stream_chat(probe):
                        pass
                elif role is Role.EMBED:
                    await target.backend.embed(target.model, [READINESS_TEXT])
            report["probe"] = "ok" if role is not Role.VISION else "skipped"
        except (BackendError, InputError, TimeoutError) as exc:
            report["error"] = str(exc) or type(exc).__name__
            if report["reachable"]:
                report["probe"] = "failed"
        return report


async def _abandon(waiting: asyncio.Future[Chunk] | None, chunks: AsyncIterator[Chunk]) -> None:
    """Stop reading a stream: cancel a read in progress, then close the stream (which
    closes its connection, so the server stops generating)."""
    if waiting is not None and not waiting.done():
        waiting.cancel()
        with suppress(BaseException):
            await waiting
    await chunks.aclose()  # type: ignore[attr-defined]


def _min(current: float | None, new: float) -> float:
    return new if current is None else min(current, new)


def _describe(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}"
            for e in err.errors()[:8]
        )
    return str(err)


__all__ = ["ProviderRouter"]
