"""Chat backends side by side: throughput and latency as concurrency rises (``rma bench llm``).

Each backend is measured at each concurrency level (1, 2, 4 ... by default) with the same
fixed prompts, ``max_tokens`` and temperature 0, after a warm-up that is not counted.
Levels are interleaved (backend A at 1, backend B at 1, A at 2 ...) so a change in the
machine's load over the run touches every backend alike; with ``order="shuffled"`` the
backends' order within each level is drawn again (seeded, and kept in the result). A
level is a closed loop: ``concurrency`` workers each send their next request as soon as
the last one ends.

Requests go through the provider layer (a router built by the factory, as the services
build theirs), so the numbers are what RMA gets; ``client="raw"`` sends them with the
``openai`` SDK instead, to see the server alone.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import openai

from rma.bench.stats import percentile
from rma.config import Settings
from rma.errors import ConfigError, InputError, RMAError
from rma.llm.factory import build_router
from rma.llm.router import ProviderRouter
from rma.llm.types import Message, StreamEnd, StreamFailed, TextDelta

DEFAULT_LEVELS = (1, 2, 4, 8, 16, 32)
DEFAULT_MAX_TOKENS = 64
DEFAULT_MIN_REQUESTS = 16
# Fixed prompts, asked in turn: the kind of short question an adviser types.
PROMPTS = (
    "Give one tip for someone behind on their council tax.",
    "What is a priority debt? Answer in two sentences.",
    "Explain what a debt relief order is to a client, briefly.",
    "List three questions to ask a client about their income.",
    "What should a client do first when a bailiff letter arrives?",
    "Explain breathing space in plain English.",
    "Why should rent arrears be dealt with before credit cards?",
    "Write one sentence telling a client their next appointment is on Monday.",
)


def prompt(i: int, context: str = "") -> list[Message]:
    """The ``i``-th request: a fixed question, after a shared passage when ``context`` is
    given (as a RAG answer sends the same manual passages before different questions,
    which is what a server's prefix cache can reuse)."""
    question = PROMPTS[i % len(PROMPTS)]
    if not context:
        return [Message.user(question)]
    return [Message.user(f"Passages from the manuals:\n{context}\n\nQuestion: {question}")]


Api = Literal["openai", "ollama", "local"]
Client = Literal["router", "raw"]
Progress = Callable[[str, int, int, int, int], None]  # backend, concurrency, done, total, errors


@dataclass(frozen=True)
class BenchBackend:
    """One backend under test: a short name, where it is, and which API it speaks."""

    name: str
    url: str
    model: str
    api: Api = "openai"
    label: str = ""

    @classmethod
    def parse(cls, spec: str, label: str = "") -> BenchBackend:
        """``NAME=URL,MODEL``; a NAME starting with "ollama" means Ollama's native API,
        anything else an OpenAI-compatible server (vLLM, llama.cpp's server ...)."""
        name, sep, rest = spec.partition("=")
        url, comma, model = rest.partition(",")
        if not sep or not comma or not name.strip() or not url.strip() or not model.strip():
            raise InputError(f"--backend {spec!r}: expected NAME=URL,MODEL")
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--backend {spec!r}: {url!r} is not an http(s) URL")
        api: Api = "ollama" if name.startswith("ollama") else "openai"
        return cls(name.strip(), url.strip().rstrip("/"), model.strip(), api, label)

    def describe(self) -> str:
        return self.label or f"{self.name} ({self.api} API)"

    def settings(self, base: Settings) -> Settings:
        """``base`` with this backend as the only chat (and embed) provider."""
        update: dict[str, Any] = {
            "fallback_provider": [],
            "ocr_provider": "tesseract",
            "shadow_provider": None,
            "canary_provider": None,
        }
        if self.api == "ollama":
            update |= {"llm_provider": "ollama", "ollama_url": self.url, "ollama_model": self.model}
        elif self.api == "openai":
            update |= {"llm_provider": "vllm", "vllm_url": [self.url], "vllm_model": self.model}
            update |= {"vllm_embed_url": []}
        else:
            update |= {"llm_provider": "local"}
        update["embed_provider"] = update["llm_provider"]
        return base.model_copy(update=update)


def backends_from_settings(settings: Settings) -> list[BenchBackend]:
    """The chat chain's providers (and any migration candidates), each as a backend."""
    names = list(settings.chat_chain)
    for extra in (settings.shadow_provider, settings.canary_provider):
        if extra and extra not in names:
            names.append(extra)
    out = []
    for name in names:
        if name == "vllm":
            out.append(BenchBackend("vllm", settings.vllm_url[0], settings.vllm_model, "openai"))
        elif name == "ollama":
            out.append(BenchBackend("ollama", settings.ollama_url, settings.ollama_model, "ollama"))
        else:
            from rma import constants as C

            out.append(BenchBackend("local", "in-process", C.LOCAL_CHAT_MODEL, "local"))
    return out


@dataclass
class Sample:
    """One request: seconds to the end and to the first text, output tokens, or the error."""

    latency: float
    ttft: float | None = None
    tokens: int = 0
    error: str | None = None


Call = Callable[[list[Message], int], Awaitable[Sample]]


def router_call(router: ProviderRouter) -> Call:
    """A request through the provider layer. Output tokens: the server's count when it
    sends one (vLLM does), else the streamed pieces (llama.cpp's server streams one
    token per piece and sends no usage while streaming)."""

    async def call(messages: list[Message], max_tokens: int) -> Sample:
        started = time.perf_counter()
        ttft: float | None = None
        pieces = 0
        try:
            async for event in router.stream_chat(messages, max_tokens=max_tokens):
                if isinstance(event, TextDelta):
                    ttft = ttft if ttft is not None else time.perf_counter() - started
                    pieces += 1
                elif isinstance(event, StreamEnd):
                    tokens = event.result.provenance.tokens_out or pieces
                    return Sample(time.perf_counter() - started, ttft, tokens)
                elif isinstance(event, StreamFailed):
                    return Sample(time.perf_counter() - started, ttft, pieces, event.error)
        except RMAError as exc:
            return Sample(time.perf_counter() - started, ttft, pieces, type(exc).__name__)
        return Sample(time.perf_counter() - started, ttft, pieces, "NoResult")

    return call


def raw_call(client: openai.AsyncOpenAI, model: str) -> Call:
    """A request straight through the ``openai`` SDK (no router), for comparison."""

    async def call(messages: list[Message], max_tokens: int) -> Sample:
        started = time.perf_counter()
        ttft: float | None = None
        pieces = usage = 0
        try:
            stream = await client.chat.completions.create(  # type: ignore[call-overload]
                model=model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
            async for event in stream:
                if event.choices and event.choices[0].delta and event.choices[0].delta.content:
                    ttft = ttft if ttft is not None else time.perf_counter() - started
                    pieces += 1
                if event.usage is not None:
                    usage = event.usage.completion_tokens
        except openai.APIError as exc:
            return Sample(time.perf_counter() - started, ttft, pieces, type(exc).__name__)
        return Sample(time.perf_counter() - started, ttft, usage or pieces)

    return call


@dataclass
class LevelResult:
    """One backend at one concurrency level."""

    backend: str
    concurrency: int
    requests: int
    ok: int
    errors: int
    error_types: dict[str, int]
    wall_s: float
    requests_per_s: float
    output_tokens_per_s: float
    output_tokens: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    ttft_p99_s: float | None


def _q(samples: list[float], q: float) -> float | None:
    return round(percentile(samples, q), 3) if samples else None


async def run_level(
    name: str,
    call: Call,
    concurrency: int,
    requests: int,
    max_tokens: int,
    progress: Progress | None = None,
    context: str = "",
) -> LevelResult:
    """``requests`` requests, ``concurrency`` at a time (closed loop)."""
    samples: list[Sample] = []
    next_index = iter(range(requests))

    async def worker() -> None:
        for i in next_index:
            samples.append(await call(prompt(i, context), max_tokens))
            if progress:
                errors = sum(1 for s in samples if s.error)
                progress(name, concurrency, len(samples), requests, errors)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ok = [s for s in samples if s.error is None]
    error_types: dict[str, int] = {}
    for s in samples:
        if s.error:
            error_types[s.error] = error_types.get(s.error, 0) + 1
    latencies = [s.latency for s in ok]
    ttfts = [s.ttft for s in ok if s.ttft is not None]
    tokens = sum(s.tokens for s in ok)
    return LevelResult(
        backend=name,
        concurrency=concurrency,
        requests=requests,
        ok=len(ok),
        errors=len(samples) - len(ok),
        error_types=error_types,
        wall_s=round(wall, 3),
        requests_per_s=round(len(ok) / wall, 3),
        output_tokens_per_s=round(tokens / wall, 2),
        output_tokens=tokens,
        latency_p50_s=_q(latencies, 50),
        latency_p95_s=_q(latencies, 95),
        latency_p99_s=_q(latencies, 99),
        ttft_p50_s=_q(ttfts, 50),
        ttft_p95_s=_q(ttfts, 95),
        ttft_p99_s=_q(ttfts, 99),
    )


@dataclass
class SweepConfig:
    levels: tuple[int, ...] = DEFAULT_LEVELS
    min_requests: int = DEFAULT_MIN_REQUESTS
    max_tokens: int = DEFAULT_MAX_TOKENS
    warmup: int = 2
    client: Client = "router"
    baseline: str = ""  # the backend the others are compared with; default the last
    # "shuffled": the backends' order is drawn again at each level (seeded), so none is
    # always measured first or right after another (a warm prefix cache, a cooler CPU).
    order: Literal["fixed", "shuffled"] = "fixed"
    seed: int = 0
    # A passage sent before every question (see :func:`prompt`); empty: questions alone.
    context: str = ""

    def requests_at(self, concurrency: int) -> int:
        """At least ``min_requests``, and at least two per worker."""
        return max(self.min_requests, 2 * concurrency)


@dataclass
class _Runner:
    backend: BenchBackend
    call: Call
    close: Callable[[], Awaitable[None]]
    results: list[LevelResult] = field(default_factory=list)


async def _runner(backend: BenchBackend, settings: Settings, client: Client) -> _Runner:
    if client == "raw":
        if backend.api != "openai":
            raise ConfigError(
                f"--client raw needs an OpenAI-compatible server; {backend.name} is not"
            )
        sdk = openai.AsyncOpenAI(
            base_url=backend.url,
            api_key=settings.vllm_api_key.get_secret_value() or "EMPTY",
            max_retries=0,
            timeout=openai.Timeout(settings.total_timeout, connect=settings.connect_timeout),
        )
        return _Runner(backend, raw_call(sdk, backend.model), sdk.close)
    router = build_router(backend.settings(settings))
    return _Runner(backend, router_call(router), router.aclose)


async def sweep(
    backends: list[BenchBackend],
    settings: Settings,
    config: SweepConfig,
    progress: Progress | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
) -> dict[str, Any]:
    """Every backend at every level, interleaved; the result as one JSON-ready dict."""
    if not backends:
        raise InputError("no backend to measure")
    if len({b.name for b in backends}) != len(backends):
        raise InputError("two backends have the same name")
    if not config.levels or min(config.levels) < 1:
        raise InputError("concurrency levels must be 1 or more")
    runners = [await _runner(b, settings, config.client) for b in backends]
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    run_order: list[list[str]] = []
    try:
        for r in runners:
            for i in range(config.warmup):  # not counted
                await r.call(prompt(i, config.context), config.max_tokens)
        rng = random.Random(config.seed)
        for level in config.levels:
            ordered = list(runners)
            if config.order == "shuffled":
                rng.shuffle(ordered)
            run_order.append([r.backend.name for r in ordered])
            for r in ordered:
                result = await run_level(
                    r.backend.name,
                    r.call,
                    level,
                    config.requests_at(level),
                    config.max_tokens,
                    progress,
                    config.context,
                )
                r.results.append(result)
                if on_level:
                    on_level(result)
    finally:
        for r in runners:
            await r.close()
    results = {r.backend.name: [asdict(x) for x in r.results] for r in runners}
    return {
        "benchmark": "llm",
        "started_at": started_at,
        "machine": machine(),
        "client": config.client,
        "max_tokens": config.max_tokens,
        "temperature": 0,
        "prompts": len(PROMPTS),
        "shared_context_chars": len(config.context),
        "warmup_requests": config.warmup,
        "levels": list(config.levels),
        "order": config.order,
        "seed": config.seed,
        "run_order": run_order,
        "backends": [asdict(b) for b in backends],
        "results": results,
        "comparison": compare(results, config.baseline or backends[-1].name),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": platform.python_version(),
    }


def compare(results: dict[str, list[dict[str, Any]]], baseline: str) -> dict[str, Any]:
    """Each backend's best output throughput, and its ratio to the baseline's best."""
    if baseline not in results:
        raise InputError(f"the baseline {baseline!r} is not one of the backends")
    best = {}
    for name, levels in results.items():
        top = max(levels, key=lambda x: x["output_tokens_per_s"], default=None)
        if top is not None:
            best[name] = {
                "concurrency": top["concurrency"],
                "output_tokens_per_s": top["output_tokens_per_s"],
                "requests_per_s": top["requests_per_s"],
                "latency_p99_s": top["latency_p99_s"],
            }
    base = best.get(baseline, {}).get("output_tokens_per_s") or 0
    ratios = {
        name: round(b["output_tokens_per_s"] / base, 2) if base else None
        for name, b in best.items()
    }
    return {"baseline": baseline, "best": best, "throughput_ratio_at_best": ratios}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    """The sweep as a Markdown table, with the comparison under it."""
    lines = [
        f"Chat backends, {result['max_tokens']} max output tokens, temperature 0, "
        f"{result['prompts']} fixed prompts in turn, {result['warmup_requests']} warm-up "
        f"requests each (not counted), client: {result['client']}; "
        f"{result['machine']['cpus']} CPUs.",
        "",
    ]
    for b in result["backends"]:
        lines.append(f"- **{b['name']}**: {b['label'] or b['api'] + ' API'}, model `{b['model']}`")
    lines += [
        "",
        "| backend | concurrency | requests | req/s | output tok/s | p50 s | p95 s | p99 s "
        "| TTFT p50 s | TTFT p99 s | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_level: dict[int, list[dict[str, Any]]] = {}
    for levels in result["results"].values():
        for x in levels:
            by_level.setdefault(x["concurrency"], []).append(x)
    for level in sorted(by_level):
        for x in by_level[level]:
            lines.append(
                f"| {x['backend']} | {x['concurrency']} | {x['requests']} | "
                f"{x['requests_per_s']:.2f} | {x['output_tokens_per_s']:.1f} | "
                f"{_fmt(x['latency_p50_s'])} | {_fmt(x['latency_p95_s'])} | "
                f"{_fmt(x['latency_p99_s'])} | {_fmt(x['ttft_p50_s'])} | "
                f"{_fmt(x['ttft_p99_s'])} | {x['errors']} |"
            )
    comp = result["comparison"]
    lines += ["", f"Best output throughput (ratio to {comp['baseline']}):", ""]
    for name, b in comp["best"].items():
        ratio = comp["throughput_ratio_at_best"][name]
        lines.append(
            f"- {name}: {b['output_tokens_per_s']:.1f} tok/s at concurrency "
            f"{b['concurrency']} (p99 {_fmt(b['latency_p99_s'])} s), "
            f"{'-' if ratio is None else f'{ratio:.2f}x'}"
        )
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> Path:
    """Output tokens/s and p99 latency against concurrency, one line per backend (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {b["name"]: b["label"] or b["name"] for b in result["backends"]}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, levels in result["results"].items():
        xs = [x["concurrency"] for x in levels]
        left.plot(xs, [x["output_tokens_per_s"] for x in levels], marker="o", label=labels[name])
        right.plot(
            xs,
            [
                x["latency_p99_s"] if x["latency_p99_s"] is not None else float("nan")
                for x in levels
            ],
            marker="o",
            label=labels[name],
        )
    for ax, title, unit in (
        (left, "Throughput", "output tokens/s"),
        (right, "Latency p99", "seconds"),
    ):
        ax.set_xscale("log", base=2)
        ax.set_xticks(result["levels"], [str(x) for x in result["levels"]])
        ax.set_xlabel("concurrent requests")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle(
        f"Chat backends, {result['max_tokens']} max tokens, {result['machine']['cpus']} CPUs"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
