"""``rma bench``: benchmark commands."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import click

from rma.config import load_settings
from rma.errors import RMAError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a measurement; an RMA error ends the command with its message (exit 1)."""
    try:
        return asyncio.run(work)
    except RMAError as exc:
        click.echo(f"\nerror: {exc}", err=True)
        sys.exit(1)


def _publish(out_dir: Path, stem: str, result: dict[str, Any], table: str, *also: str) -> None:
    """Write ``stem``.json and ``stem``.md (and say so, with the files in ``also``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=2))
    (out_dir / f"{stem}.md").write_text(table + "\n")
    click.echo(("\n" if sys.stderr.isatty() else "") + table)
    click.echo(f"\nwrote {out_dir / stem}.json, {', '.join([f'{stem}.md', *also])}", err=True)


def _out_dir(files: str) -> Callable[[F], F]:
    """The ``--out-dir`` option of a benchmark that writes ``files``."""
    return click.option(
        "--out-dir",
        type=click.Path(path_type=Path),
        default=Path("bench-results"),
        show_default=True,
        help=f"Where {files} are written.",
    )


@click.group("bench")
def bench() -> None:
    """Measure speed side by side (results as JSON and a Markdown table)."""


@bench.command("router")
@click.option("--calls", default=100, show_default=True, help="Calls per path for overhead.")
@click.option("--requests", default=16, show_default=True, help="Chats for the concurrency run.")
@click.option("--max-tokens", default=64, show_default=True, help="Reply length per call.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the JSON result here.")
def bench_router(calls: int, requests: int, max_tokens: int, out: Path | None) -> None:
    """Router overhead vs a direct SDK call, and N sequential vs N concurrent chats."""
    from rma.bench import router as rb

    settings = load_settings()

    async def run() -> dict:
        overhead = (
            await rb.measure_overhead(settings, calls) if settings.llm_provider == "vllm" else None
        )
        concurrency = await rb.measure_concurrency(settings, requests, max_tokens)
        return {"overhead": overhead, "concurrency": concurrency}

    result = _run(run())
    click.echo(rb.markdown(result["overhead"], result["concurrency"]))
    if out:
        out.write_text(json.dumps(result, indent=2))
        click.echo(f"\nwrote {out}")


@bench.command("documents")
@click.option("--repeats", default=5, show_default=True, help="Reads of each document per path.")
@_out_dir("documents.json and documents.md")
def bench_documents(repeats: int, out_dir: Path) -> None:
    """Reading uploads in worker processes (memory and time limits) against on a thread."""
    from rma.bench import documents as bd

    result = _run(bd.measure(repeats))
    _publish(out_dir, "documents", result, bd.markdown(result))


@bench.command("limits")
@click.option("--calls", default=10_000, show_default=True, help="as_at lookups to time.")
@click.option("--rounds", default=5, show_default=True, help="Migrations up and down.")
@click.option(
    "--scratch-database-url",
    "scratch",
    multiple=True,
    help="Also measure on this EMPTY database (it is migrated up and down to base).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write the JSON result here.")
def bench_limits(calls: int, rounds: int, scratch: tuple[str, ...], out: Path | None) -> None:
    """The as-at lookup, the effective table's refresh, and migrations up and down."""
    from rma.bench import limits as lb

    try:
        result = lb.run(list(scratch), calls, rounds)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(lb.markdown(result))
    if out:
        out.write_text(json.dumps(result, indent=2))
        click.echo(f"\nwrote {out}")


@bench.command("accounts")
@click.option("--calls", default=300, show_default=True, help="Requests timed per measure.")
@click.option("--rounds", default=10, show_default=True, help="Argon2 hashes timed.")
@click.option("--writers", default=8, show_default=True, help="Audit writers racing.")
@click.option(
    "--scratch-database-url",
    "scratch",
    multiple=True,
    help="Also measure on this EMPTY database (it is migrated up, then down to base).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write the JSON result here.")
def bench_accounts(
    calls: int, rounds: int, writers: int, scratch: tuple[str, ...], out: Path | None
) -> None:
    """Argon2 at the configured parameters; session, token and audit costs per request."""
    from rma.bench import accounts as ab

    try:
        result = ab.run(list(scratch), calls, rounds, writers)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(ab.markdown(result))
    if out:
        out.write_text(json.dumps(result, indent=2))
        click.echo(f"\nwrote {out}")


@bench.command("app")
@click.option("--cases", default=500, show_default=True, help="Cases seeded in the database.")
@click.option("--calls", default=100, show_default=True, help="Requests timed per page.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the JSON result here.")
def bench_app(cases: int, calls: int, out: Path | None) -> None:
    """Page render times of the adviser app, server-side, with CASES cases on SQLite."""
    from rma.bench import app as page_bench

    try:
        result = page_bench.run(cases, calls)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(page_bench.markdown(result))
    if out:
        out.write_text(json.dumps(result, indent=2))
        click.echo(f"\nwrote {out}")


@bench.command("limits-extraction")
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/corpora/handbook"),
    show_default=True,
    help="The built handbook corpus (python -m corpora.handbook.build DIR).",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("corpora/handbook/answers/limits.json"),
    show_default=True,
    help="The answer key: every statement of a limit in the corpus, with its status.",
)
@click.option("--mistakes", is_flag=True, help="Also list every statement read wrongly.")
@_out_dir("limits-extraction.json and limits-extraction.md")
def bench_limits_extraction(corpus: Path, key: Path, mistakes: bool, out_dir: Path) -> None:
    """Limits read from the handbook corpus against its answer key: recall and precision
    by status, wrong values stated as current, stale quotes listed as conflicts."""
    from rma.bench import limits_extraction as le

    try:
        result, _ = le.run(corpus, key)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    _publish(out_dir, "limits-extraction", result, le.markdown(result))
    if mistakes:
        for m in result["mistakes"]:
            click.echo(f"- {m['id'] or 'unkeyed'} {m['document']} p.{m['page']}: key "
                       f"{m['key']}, read {m['read']}: {m['quote'][:100]}")  # fmt: skip


def _progress(name: str, concurrency: int, done: int, total: int, errors: int) -> None:
    if sys.stderr.isatty():
        note = f", {errors} errors" if errors else ""
        click.echo(f"\r  {name} at {concurrency}: {done}/{total}{note}   ", nl=False, err=True)


def _level_done(x: Any) -> None:
    end = "\n" if sys.stderr.isatty() else ""
    click.echo(
        f"{end}  {x.backend} at {x.concurrency}: {x.requests_per_s:.2f} req/s, "
        f"{x.output_tokens_per_s:.1f} tok/s, p99 {x.latency_p99_s} s, {x.errors} errors",
        err=True,
    )


def _levels(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("use comma-separated whole numbers, e.g. 1,2,4,8") from None
    if not levels or min(levels) < 1:
        raise click.BadParameter("each level must be 1 or more")
    return levels


@bench.command("llm")
@click.option(
    "--backend",
    "specs",
    multiple=True,
    metavar="NAME=URL,MODEL",
    help="A backend to measure (repeatable). NAME starting with 'ollama': Ollama's API; "
    "otherwise OpenAI-compatible. Default: the configured chat providers.",
)
@click.option(
    "--start-llamacpp",
    is_flag=True,
    help="Also start llama.cpp's server with one slot on the bundled model and measure it "
    "as 'llamacpp' (the stand-in for Ollama's default).",
)
@click.option(
    "--start-llama-server",
    "llama_slots",
    multiple=True,
    type=click.IntRange(1, 64),
    metavar="SLOTS",
    help="Also build (once, scripts/lib.sh) and start llama.cpp's own llama-server with SLOTS "
    "parallel slots (continuous batching when more than one) and measure it as "
    "'llama-server-SLOTS' (repeatable: e.g. 1 and 8).",
)
@click.option(
    "--order",
    type=click.Choice(["shuffled", "fixed"]),
    default="shuffled",
    show_default=True,
    help="The backends' order within each level: drawn again per level, or as given.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the shuffled order.")
@click.option(
    "--llamacpp-threads", default=2, show_default=True, help="Threads for the in-process model."
)
@click.option("--levels", default="1,2,4,8,16,32", show_default=True, help="Concurrency levels.")
@click.option(
    "--requests", default=16, show_default=True, help="Requests per level (at least 2 per worker)."
)
@click.option("--max-tokens", default=64, show_default=True, help="Reply length per request.")
@click.option("--warmup", default=2, show_default=True, help="Uncounted requests per backend.")
@click.option(
    "--client",
    type=click.Choice(["router", "raw"]),
    default="router",
    show_default=True,
    help="router: through RMA's provider layer; raw: the openai SDK straight to the server.",
)
@click.option(
    "--baseline", default="", help="Backend the others are compared with (default: last)."
)
@click.option("--label", "labels", multiple=True, metavar="NAME=TEXT", help="Describe a backend.")
@click.option(
    "--shared-context",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A text file sent before every question, the same for all (as a RAG answer sends "
    "manual passages): what a server's prefix cache can reuse. Default: questions alone.",
)
@_out_dir("llm.json, llm.md and llm.png")
def bench_llm(
    specs: tuple[str, ...],
    start_llamacpp: bool,
    llama_slots: tuple[int, ...],
    order: str,
    seed: int,
    llamacpp_threads: int,
    levels: str,
    requests: int,
    max_tokens: int,
    warmup: int,
    client: str,
    baseline: str,
    labels: tuple[str, ...],
    shared_context: Path | None,
    out_dir: Path,
) -> None:
    """Chat backends side by side: requests/s, output tokens/s, latency p50/p95/p99 and
    time to first token at each concurrency level (JSON, Markdown and a PNG chart)."""
    from rma.bench import llamacpp
    from rma.bench import llm as lb

    try:
        settings = load_settings()
        names = dict(label.split("=", 1) for label in labels if "=" in label)
        backends = [lb.BenchBackend.parse(s, names.get(s.split("=", 1)[0], "")) for s in specs]
        if not backends:
            backends = lb.backends_from_settings(settings)
        config = lb.SweepConfig(
            levels=_levels(levels),
            min_requests=requests,
            max_tokens=max_tokens,
            warmup=warmup,
            client=client,  # type: ignore[arg-type]
            baseline=baseline,
            order=order,  # type: ignore[arg-type]
            seed=seed,
            context=shared_context.read_text(encoding="utf-8").strip() if shared_context else "",
        )
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    async def run() -> dict[str, Any]:
        peers: list[lb.BenchBackend] = []
        async with AsyncExitStack() as servers:
            if start_llamacpp:
                log = out_dir / "llamacpp-server.log"
                click.echo(f"starting llama.cpp's Python server (log: {log})", err=True)
                url = await servers.enter_async_context(
                    llamacpp.llamacpp_server(log, threads=llamacpp_threads)
                )
                peers.append(
                    lb.BenchBackend("llamacpp", url, llamacpp.MODEL_ALIAS, "openai", llamacpp.LABEL)
                )
            if llama_slots:
                binary = await asyncio.to_thread(llamacpp.build_llama_server)
            for slots in dict.fromkeys(llama_slots):
                log = out_dir / f"llama-server-{slots}.log"
                click.echo(f"starting llama-server with {slots} slot(s) (log: {log})", err=True)
                url = await servers.enter_async_context(
                    llamacpp.llama_server(binary, log, slots, threads=llamacpp_threads)
                )
                name, label = f"llama-server-{slots}", llamacpp.server_label(slots)
                peers.append(lb.BenchBackend(name, url, llamacpp.MODEL_ALIAS, "openai", label))
            return await lb.sweep([*backends, *peers], settings, config, _progress, _level_done)

    result = _run(run())
    out_dir.mkdir(parents=True, exist_ok=True)
    lb.chart(result, out_dir / "llm.png")
    _publish(out_dir, "llm", result, lb.markdown(result), "llm.png")


@bench.command("rag")
@click.option("--questions", default=100, show_default=True, help="How many (at most 100).")
@click.option("--max-tokens", default=300, show_default=True, help="Answer length limit.")
@click.option("--warmup", default=2, show_default=True, help="Uncounted questions first.")
@click.option(
    "--url", default="", help="A running RAG service (default: start one here, ingest the manuals)."
)
@click.option(
    "--overhead-calls",
    default=100,
    show_default=True,
    help="One-token chats per path for the router overhead (vLLM only; 0: skip).",
)
@click.option(
    "--mode",
    type=click.Choice(["both", "sequential", "batch"]),
    default="both",
    show_default=True,
    help="Questions one after another, as one batch, or both side by side.",
)
@click.option(
    "--start-llamacpp",
    is_flag=True,
    help="Answer with llama.cpp's server, one slot, started here (the stand-in for Ollama's "
    "default; RMA sends it one request at a time) instead of the configured chat backend.",
)
@_out_dir("rag.json and rag.md (rag-llamacpp.* with --start-llamacpp)")
def bench_rag(
    questions: int,
    max_tokens: int,
    warmup: int,
    url: str,
    overhead_calls: int,
    mode: str,
    start_llamacpp: bool,
    out_dir: Path,
) -> None:
    """The 100-question job through Ask the Manuals: one at a time vs one batch, on the
    configured chat backend; plus the provider layer's overhead."""
    from rma.bench import llamacpp
    from rma.bench import rag as rg

    def progress(mode: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r  {mode}: {done}/{total}   ", nl=False, err=True)
        elif done == total:
            click.echo(f"  {mode}: {done}/{total} done", err=True)

    modes = rg.MODES if mode == "both" else (mode,)

    async def run(settings: Any) -> dict[str, Any]:
        if not start_llamacpp:
            return await rg.measure(
                settings,
                url=url,
                questions=questions,
                max_tokens=max_tokens,
                warmup=warmup,
                overhead_calls=overhead_calls,
                progress=progress,
                modes=modes,
            )
        log = out_dir / "llamacpp-server.log"
        click.echo(f"starting llama.cpp's server (log: {log})", err=True)
        async with llamacpp.llamacpp_server(log) as server_url:
            one_slot = settings.model_copy(
                update={
                    "llm_provider": "vllm",
                    "fallback_provider": [],
                    "vllm_url": [server_url],
                    "vllm_model": llamacpp.MODEL_ALIAS,
                    "vllm_max_in_flight": 1,  # one at a time, like Ollama's default
                    "vllm_embed_url": settings.vllm_embed_url or settings.vllm_url,
                    "shadow_provider": None,
                    "canary_provider": None,
                }
            )
            return await rg.measure(
                one_slot,
                questions=questions,
                max_tokens=max_tokens,
                warmup=warmup,
                progress=progress,
                modes=modes,
                backend_label=llamacpp.LABEL,
            )

    result = _run(run(load_settings()))
    _publish(out_dir, "rag-llamacpp" if start_llamacpp else "rag", result, rg.markdown(result))


@bench.command("retrieval")
@click.option(
    "--manuals",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("manuals"),
    show_default=True,
    help="The manuals whose chunks the corpus is built from.",
)
@click.option("--sizes", default="1000,10000", show_default=True, help="Corpus sizes (chunks).")
@click.option("--queries", default=100, show_default=True, help="Questions per size.")
@_out_dir("retrieval.json and retrieval.md")
def bench_retrieval(manuals: Path, sizes: str, queries: int, out_dir: Path) -> None:
    """Ingestion pages/s into a fresh store, and retrieval p50/p99 at each corpus size
    (the manuals' chunks repeated, with their real embeddings and a little noise)."""
    import tempfile

    from rma.bench import retrieval as rb
    from rma.llm.factory import build_router

    async def run() -> dict[str, Any]:
        router = build_router(load_settings())
        try:
            with tempfile.TemporaryDirectory() as data:
                ingestion = await rb.measure_ingestion(router, manuals, Path(data) / "ingest")
                latency = await rb.measure_retrieval(
                    router, Path(data) / "sizes", manuals, _levels(sizes), queries
                )
        finally:
            await router.aclose()
        return {"ingestion": ingestion, "retrieval": latency}

    result = _run(run())
    _publish(out_dir, "retrieval", result, rb.markdown(result))


# A folder of manuals to measure on (the ingest and recall benchmarks).
_CORPUS = click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="A folder of manuals, e.g. the realistic handbook corpus built by "
    "python -m corpora.handbook.build OUT_DIR.",
)


@bench.command("ingest")
@_CORPUS
@click.option("--copies", default=10, show_default=True, help="The larger run: N copies.")
@_out_dir("ingest.json and ingest.md")
def bench_ingest(corpus: Path, copies: int, out_dir: Path) -> None:
    """Ingestion pages/s and peak memory: the corpus cold, then once and N times over
    with remembered embeddings (each run in its own process; the sizes side by side)."""
    import tempfile

    from rma.bench import ingest as ib

    with tempfile.TemporaryDirectory() as work:
        try:
            result = ib.measure(corpus, Path(work), copies)
        except RuntimeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    _publish(out_dir, "ingest", result, ib.markdown(result))


@bench.command("recall")
@_CORPUS
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("corpora/handbook/answers/questions.json"),
    show_default=True,
    help="The answer key: questions, their kind and the passages that answer them.",
)
@click.option("-k", "k", default=5, show_default=True, help="Hits per question.")
@_out_dir("recall.json and recall.md")
def bench_recall(corpus: Path, questions: Path, k: int, out_dir: Path) -> None:
    """recall@k of retrieval against an answer key, and whether the "not covered" gate
    keeps the key's unanswerable questions out (the corpus ingested into a fresh store)."""
    import tempfile

    from rma.bench import recall as rc
    from rma.llm.factory import build_router

    async def run() -> dict[str, Any]:
        router = build_router(load_settings())
        try:
            with tempfile.TemporaryDirectory() as data:
                return await rc.measure(router, corpus, questions, Path(data), k)
        finally:
            await router.aclose()

    result = _run(run())
    _publish(out_dir, "recall", result, rc.markdown(result))


@click.group("migrate")
def migrate() -> None:
    """Moving chat traffic between backends: shadow pairs, canary (see rma.llm.migration)."""


@migrate.command("report")
@click.option(
    "--pairs",
    type=click.Path(path_type=Path),
    default=None,
    help="The pairs file (default: RMA_DATA_DIR/shadow/pairs.jsonl).",
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where report.md, report.json and report.png go (default: beside the pairs).",
)
def migrate_report(pairs: Path | None, out_dir: Path | None) -> None:
    """Summarise the shadow pairs: latency, tokens, answer similarity, citation overlap."""
    from rma.bench import shadow_report as mr
    from rma.llm.migration import PAIRS_FILE

    try:
        path = pairs or load_settings().rma_data_dir / PAIRS_FILE
        records = mr.read_pairs(path)
        summary = mr.summarise(records)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    target = out_dir or path.parent
    target.mkdir(parents=True, exist_ok=True)
    mr.chart(records, target / "report.png")
    _publish(target, "report", summary, mr.markdown(summary), "report.png")


commands = [bench, migrate]
