"""What reading untrusted documents in worker processes costs (``rma bench documents``).

Each document is read the way the doc-processor reads it (checked, text layers, pages
rendered, Tesseract), step by step, twice in one run: every step in a worker process
(:mod:`rma.ocr.workers`, as the services do) and every step on a thread of this process
(the way it was done before the workers). Medians over the repeats; the ratio and the
milliseconds the workers add are the result.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rma.documents.sample_letters import render_pdf, render_png, sample_letters
from rma.documents.validation import check_upload
from rma.ocr.images import load_page
from rma.ocr.pdf import MIN_TEXT_LAYER_CHARS, pdf_text_layers, render_pdf_page
from rma.ocr.tesseract import read_page
from rma.ocr.workers import WorkerLimits, configure_workers

Runner = Callable[..., Awaitable[Any]]


def documents() -> dict[str, tuple[str, bytes]]:
    """Typical uploads: a two-page letter with a text layer, a scanned page, a photo."""
    letters = {letter.name: letter for letter in sample_letters()}
    notice, creditor = letters["default-notice"], letters["creditor-letter"]
    return {
        "text-layer PDF, 2 pages": ("notice.pdf", render_pdf([(notice, True), (creditor, True)])),
        "scanned PDF, 1 page (OCR)": ("scan.pdf", render_pdf([(creditor, False)])),
        "noisy photo PNG (OCR)": ("photo.png", render_png(creditor, "noisy")),
    }


async def read(name: str, data: bytes, run: Runner) -> int:
    """Every parsing step of one document through ``run``; the characters read."""
    upload = await run(check_upload, data, name)
    if upload.kind == "pdf":
        layers = await run(pdf_text_layers, data, 50)
        images = [
            await run(render_pdf_page, data, i)
            for i, layer in enumerate(layers)
            if len(layer.text) < MIN_TEXT_LAYER_CHARS
        ]
        characters = sum(len(layer.text) for layer in layers)
    else:
        images = [await run(load_page, data, 0)]
        characters = 0
    for image in images:
        page = await run(read_page, image)
        characters += len(page.read.text)
    return characters


async def measure(repeats: int) -> dict[str, Any]:
    pool = configure_workers(WorkerLimits())
    pool.warm()

    async def in_worker(fn: Callable[..., Any], *args: Any) -> Any:
        return await pool.run(fn, *args)

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    rows = []
    for label, (name, data) in documents().items():
        await read(name, data, in_worker)  # warm both paths before timing
        await read(name, data, in_thread)
        timings: dict[str, list[float]] = {"worker": [], "thread": []}
        for _ in range(repeats):  # interleaved, so load on the machine hits both alike
            for path, runner in (("worker", in_worker), ("thread", in_thread)):
                started = time.perf_counter()
                await read(name, data, runner)
                timings[path].append((time.perf_counter() - started) * 1000)
        worker, thread = (statistics.median(timings[k]) for k in ("worker", "thread"))
        rows.append(
            {
                "document": label,
                "bytes": len(data),
                "thread_ms": round(thread, 1),
                "worker_ms": round(worker, 1),
                "added_ms": round(worker - thread, 1),
                "ratio": round(worker / thread, 3),
            }
        )
    return {"repeats": repeats, "workers": pool.limits.workers, "documents": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Median of {result['repeats']} reads each; same process, interleaved.",
        "",
        "| document | size | on a thread | in a worker | added | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["documents"]:
        lines.append(
            f"| {r['document']} | {r['bytes'] / 1000:.0f} KB | {r['thread_ms']:.0f} ms | "
            f"{r['worker_ms']:.0f} ms | {r['added_ms']:+.0f} ms | {r['ratio']:.2f} |"
        )
    return "\n".join(lines)
