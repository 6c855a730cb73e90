"""The "100 questions" job end to end through Ask the Manuals (``rma bench rag``).

The same questions are answered by the RAG service twice, over HTTP: one at a time
(``POST /query`` after ``POST /query``, as the old Ollama path behaved) and as one batch
(``POST /batch-query``, which the service runs as concurrently as the chat backend's
limit allows). Both use the same chat backend, retrieval and answer length, after a
warm-up that is not counted. The service is started in this process on a fresh data
directory with the manuals ingested (ingestion timed separately), or an already running
service is used (``url``).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from rma.bench.llamacpp import free_port
from rma.bench.stats import percentile
from rma.config import Settings
from rma.errors import ConfigError
from rma.llm.factory import chat_model

SUBJECTS = (
    "the DRO debt limit",
    "the DRO surplus income limit",
    "the DRO assets limit",
    "a motor vehicle in a DRO",
    "the DRO application fee",
    "debts that a DRO does not cover",
    "what happens during and after a DRO",
    "the bankruptcy application fee",
    "discharge from bankruptcy",
    "the official receiver",
    "a standard breathing space",
    "a mental health crisis breathing space",
    "priority debts",
    "council tax arrears",
    "rent and mortgage arrears",
    "gas and electricity arrears",
    "magistrates' court fines",
    "non-priority debts such as credit cards",
    "who sets up an IVA",
    "creditor approval of an IVA",
    "how long an IVA lasts",
    "when an IVA is suitable",
    "informal debt options",
    "the June 2021 changes to DRO limits",
    "a council tax liability order",
)
FORMS = (
    "What do the manuals say about {}?",
    "Summarise the rules on {}.",
    "What should an adviser check about {}?",
    "Explain {} to a client in plain English.",
)
# 25 subjects x 4 phrasings: 100 fixed questions, in a fixed order.
QUESTIONS = tuple(form.format(s) for form in FORMS for s in SUBJECTS)

Progress = Callable[[str, int, int], None]  # mode, done, total
MODES = ("sequential", "batch")


@asynccontextmanager
async def rag_service(settings: Settings) -> AsyncIterator[str]:
    """The RAG service (``rma.rag.api.create``) on a free local port; yields its URL."""
    import uvicorn

    from rma.rag.api import create

    port = free_port()
    app = create(settings=settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise ConfigError("the RAG service stopped during start-up")
            await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer; a service that refuses the job's setup calls stops the benchmark."""
    response = await client.post(path, json=body)
    if response.status_code != 200:
        raise ConfigError(f"{path} answered {response.status_code}: {_detail(response)}")
    return response.json()  # type: ignore[no-any-return]


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return ""


def _tokens_out(answer: dict[str, Any]) -> int:
    return int((answer.get("provenance") or {}).get("tokens_out", 0))


def _chat_providers(answers: list[dict[str, Any]]) -> list[str]:
    return sorted({a["provenance"]["provider"] for a in answers if a.get("provenance")})


async def one_at_a_time(
    client: httpx.AsyncClient,
    questions: tuple[str, ...],
    max_tokens: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``POST /query`` for each question in turn, as the old Ollama path did."""
    latencies: list[float] = []
    answers: list[dict[str, Any]] = []
    failed = 0
    started = time.perf_counter()
    for i, q in enumerate(questions):
        t = time.perf_counter()
        response = await client.post("/query", json={"question": q, "max_tokens": max_tokens})
        if response.status_code == 200:
            answers.append(response.json())
            latencies.append(time.perf_counter() - t)
        else:
            failed += 1  # counted, like a failed question in a batch
        if progress:
            progress("one at a time", i + 1, len(questions))
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "failed": failed,
        "questions_per_s": round(len(answers) / wall, 3),
        "output_tokens": sum(_tokens_out(a) for a in answers),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "latency_p99_s": round(percentile(latencies, 99), 3),
        "chat_providers": _chat_providers(answers),
    }


async def as_one_batch(
    client: httpx.AsyncClient,
    questions: tuple[str, ...],
    max_tokens: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One ``POST /batch-query`` with every question."""
    if progress:
        progress("batch", 0, len(questions))
    started = time.perf_counter()
    batch = await _post(
        client, "/batch-query", {"questions": list(questions), "max_tokens": max_tokens}
    )
    wall = time.perf_counter() - started
    if progress:
        progress("batch", len(questions), len(questions))
    answers = [r for r in batch["results"] if "error" not in r]
    return {
        "wall_s": round(wall, 2),
        "service_seconds": batch["seconds"],
        "concurrency": batch["concurrency"],
        "failed": batch["failed"],
        "questions_per_s": round(len(answers) / wall, 3),
        "output_tokens": sum(_tokens_out(a) for a in answers),
        "chat_providers": _chat_providers(answers),
    }


async def run_job(
    url: str,
    questions: tuple[str, ...],
    max_tokens: int,
    warmup: int = 2,
    progress: Progress | None = None,
    modes: tuple[str, ...] = MODES,
) -> dict[str, Any]:
    """The job against the service at ``url``: one at a time, then as one batch."""
    job: dict[str, Any] = {
        "questions": len(questions),
        "max_tokens": max_tokens,
        "warmup_questions": warmup,
    }
    timeout = httpx.Timeout(None, connect=10)
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        for q in questions[:warmup]:  # not counted
            await _post(client, "/query", {"question": q, "max_tokens": max_tokens})
        if "sequential" in modes:
            job["sequential"] = await one_at_a_time(client, questions, max_tokens, progress)
        if "batch" in modes:
            job["batched"] = await as_one_batch(client, questions, max_tokens, progress)
    if "sequential" in job and "batched" in job:
        job["speedup"] = round(job["sequential"]["wall_s"] / job["batched"]["wall_s"], 2)
    return job


async def measure(
    settings: Settings,
    *,
    url: str = "",
    questions: int = 100,
    max_tokens: int = 300,
    warmup: int = 2,
    overhead_calls: int = 0,
    progress: Progress | None = None,
    modes: tuple[str, ...] = MODES,
    backend_label: str = "",
) -> dict[str, Any]:
    """The whole benchmark: ingestion (when the service is started here), the job, and
    the provider layer's own overhead (``rma bench router``'s measurement)."""
    from rma.bench.router import measure_overhead

    if not 1 <= questions <= len(QUESTIONS):
        raise ConfigError(f"questions must be between 1 and {len(QUESTIONS)}")
    chosen = QUESTIONS[:questions]
    result: dict[str, Any] = {
        "benchmark": "rag",
        "chat_provider": settings.llm_provider,
        "chat_model": chat_model(settings),
        "chat_backend": backend_label or settings.llm_provider,
        "embed_provider": settings.embed_provider,
    }
    if url:
        result["service"] = url
        result["job"] = await run_job(url, chosen, max_tokens, warmup, progress, modes)
    else:
        with tempfile.TemporaryDirectory(prefix="rma-bench-rag-") as data_dir:
            local = settings.model_copy(
                update={"rma_data_dir": Path(data_dir), "chromadb_host": ""}
            )
            async with rag_service(local) as service:
                started = time.perf_counter()
                timeout = httpx.Timeout(None, connect=10)
                async with httpx.AsyncClient(base_url=service, timeout=timeout) as client:
                    ingested = await _post(client, "/ingest-all-manuals", {})
                result["service"] = "started in-process on a fresh data directory"
                result["ingestion"] = {
                    "documents": len(ingested["results"]),
                    "seconds": round(time.perf_counter() - started, 2),
                }
                result["job"] = await run_job(service, chosen, max_tokens, warmup, progress, modes)
    if overhead_calls and settings.llm_provider == "vllm":
        result["router_overhead"] = await measure_overhead(settings, overhead_calls)
    return result


def markdown(result: dict[str, Any]) -> str:
    job = result["job"]
    lines = [
        f"{job['questions']} questions through Ask the Manuals on {result['chat_backend']} "
        f"(model {result['chat_model']}; embeddings: {result['embed_provider']}), answers up "
        f"to {job['max_tokens']} tokens, {job['warmup_questions']} warm-up questions not "
        f"counted.",
        "",
        "| mode | wall s | questions/s | failed | output tokens | per-question p50 / p99 s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    if seq := job.get("sequential"):
        lines.append(
            f"| one at a time (`POST /query` x {job['questions']}) | {seq['wall_s']} | "
            f"{seq['questions_per_s']} | {seq['failed']} | {seq['output_tokens']} | "
            f"{seq['latency_p50_s']} / {seq['latency_p99_s']} |"
        )
    if bat := job.get("batched"):
        lines.append(
            f"| batch (`POST /batch-query`, {bat['concurrency']} in flight) | {bat['wall_s']} "
            f"| {bat['questions_per_s']} | {bat['failed']} | {bat['output_tokens']} | |"
        )
    if "speedup" in job:
        lines.append(f"| speed-up | {job['speedup']}x | | | | |")
    if "ingestion" in result:
        ing = result["ingestion"]
        lines += ["", f"Ingestion first ({ing['documents']} manuals): {ing['seconds']} s."]
    overhead = result.get("router_overhead")
    if overhead:
        lines += [
            "",
            f"Provider layer overhead ({overhead['calls']} one-token chats each way, "
            f"interleaved): median {overhead['overhead_median_ms']} ms, "
            f"p99 {overhead['overhead_p99_ms']} ms over a direct openai SDK call "
            f"(direct median {overhead['direct_sdk']['median_ms']} ms).",
        ]
    return "\n".join(lines)
