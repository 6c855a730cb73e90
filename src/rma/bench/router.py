"""What the provider layer costs, and what concurrency buys, on a real OpenAI-compatible server.

1. Overhead: the same one-token chat through the router and straight through the
   ``openai`` SDK, interleaved call by call so both see the same server state.
2. Concurrency: the same N chats one after another, then all at once, through the router.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai

from rma.bench.stats import summary_ms
from rma.config import Settings
from rma.errors import ConfigError
from rma.llm.factory import build_router
from rma.llm.types import Message

PROMPT = "Give one tip for someone behind on their council tax."


async def measure_overhead(settings: Settings, calls: int = 100) -> dict[str, Any]:
    if settings.llm_provider != "vllm":
        raise ConfigError("the router overhead benchmark needs LLM_PROVIDER=vllm")
    router = build_router(settings)
    client = openai.AsyncOpenAI(
        base_url=settings.vllm_url[0],
        api_key=settings.vllm_api_key.get_secret_value() or "EMPTY",
        max_retries=0,
    )
    messages = [Message.user(PROMPT)]
    raw = [{"role": "user", "content": PROMPT}]

    async def direct() -> None:
        stream = await client.chat.completions.create(  # type: ignore[call-overload]
            model=settings.vllm_model,
            messages=raw,
            max_tokens=1,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _ in stream:
            pass

    async def routed() -> None:
        await router.chat(messages, max_tokens=1)

    for _ in range(5):  # warm-up, excluded
        await direct()
        await routed()
    timings: dict[str, list[float]] = {"direct_sdk": [], "router": []}
    for i in range(calls):
        order = [("direct_sdk", direct), ("router", routed)]
        if i % 2:
            order.reverse()
        for name, fn in order:
            started = time.perf_counter()
            await fn()
            timings[name].append(time.perf_counter() - started)
    await client.close()
    await router.aclose()
    direct_s, router_s = summary_ms(timings["direct_sdk"]), summary_ms(timings["router"])
    return {
        "calls": calls,
        "direct_sdk": direct_s,
        "router": router_s,
        "overhead_median_ms": round(router_s["median_ms"] - direct_s["median_ms"], 2),
        "overhead_p99_ms": round(router_s["p99_ms"] - direct_s["p99_ms"], 2),
    }


async def measure_concurrency(
    settings: Settings, requests: int = 16, max_tokens: int = 64
) -> dict[str, Any]:
    router = build_router(settings)
    prompts = [[Message.user(f"{PROMPT} (tip {i + 1})")] for i in range(requests)]
    await router.chat(prompts[0], max_tokens=max_tokens)  # warm-up

    started = time.perf_counter()
    sequential_tokens = 0
    for p in prompts:
        sequential_tokens += (await router.chat(p, max_tokens=max_tokens)).provenance.tokens_out
    sequential = time.perf_counter() - started

    started = time.perf_counter()
    results = await asyncio.gather(*(router.chat(p, max_tokens=max_tokens) for p in prompts))
    concurrent = time.perf_counter() - started
    concurrent_tokens = sum(r.provenance.tokens_out for r in results)
    provider = results[0].provenance.provider
    await router.aclose()
    return {
        "provider": provider,
        "model": results[0].provenance.model,
        "requests": requests,
        "max_tokens": max_tokens,
        "sequential_s": round(sequential, 2),
        "concurrent_s": round(concurrent, 2),
        "speedup": round(sequential / concurrent, 2),
        "sequential_tokens_per_s": round(sequential_tokens / sequential, 1),
        "concurrent_tokens_per_s": round(concurrent_tokens / concurrent, 1),
    }


def markdown(overhead: dict[str, Any] | None, concurrency: dict[str, Any]) -> str:
    lines = []
    if overhead:
        d, r = overhead["direct_sdk"], overhead["router"]
        lines += [
            f"Router overhead ({overhead['calls']} one-token chats each, interleaved):",
            "",
            "| path | median ms | p99 ms |",
            "|---|---|---|",
            f"| direct openai SDK | {d['median_ms']} | {d['p99_ms']} |",
            f"| ProviderRouter | {r['median_ms']} | {r['p99_ms']} |",
            f"| overhead | {overhead['overhead_median_ms']} | {overhead['overhead_p99_ms']} |",
            "",
        ]
    c = concurrency
    lines += [
        f"{c['requests']} chats of up to {c['max_tokens']} tokens on {c['provider']}/{c['model']}:",
        "",
        "| mode | wall s | output tokens/s |",
        "|---|---|---|",
        f"| one after another | {c['sequential_s']} | {c['sequential_tokens_per_s']} |",
        f"| all at once | {c['concurrent_s']} | {c['concurrent_tokens_per_s']} |",
        f"| speed-up | {c['speedup']}x | |",
    ]
    return "\n".join(lines)
