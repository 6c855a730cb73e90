"""``rma ingest``, ``rma ask`` and ``rma thresholds``: the manuals from the command line.
``rma thresholds`` lists the approved limits with the passages that support them and the
conflicts the manuals raise (as ``GET /thresholds`` and ``GET /limits/conflicts``)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rma.config import load_settings
from rma.errors import RMAError

T = TypeVar("T")


def _run(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Open the library and the approved limits with the configured router, run
    ``work(library, limits)``, close."""
    from rma.llm.factory import build_router
    from rma.rag.library import ManualLibrary
    from rma.rag.limits import ManualLimits, open_register

    async def main() -> T:
        settings = load_settings()
        router = build_router(settings)
        database = None
        try:
            library = await ManualLibrary.open(settings, router)
            try:
                register, database = await open_register(settings)
                return await work(library, ManualLimits(library.candidates, register))
            finally:
                await library.close()
        finally:
            if database is not None:
                await database.aclose()
            await router.aclose()

    try:
        return asyncio.run(main())
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def ingest_cmd(paths: tuple[Path, ...]) -> None:
    """Ingest manuals: files, or folders (every supported file directly inside).

    Runs as a job saved under the data directory: if an earlier run over the same files
    was stopped, this one resumes it."""
    from rma.rag.jobs import JobBook, JobFile, run_job
    from rma.rag.library import manual_files

    try:
        files = [f for p in paths for f in (manual_files(p) if p.is_dir() else [p])]
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if not files:
        click.echo("error: no supported files (PDF, Markdown, text, DOCX, HTML) found", err=True)
        sys.exit(1)

    async def work(library: Any, _: Any) -> Any:
        book = JobBook(library.data_dir)
        job = await asyncio.to_thread(book.matching, files)
        if job is not None:
            click.echo(f"resuming ingest job {job.id}: {job.done} of {job.total} done", err=True)
        else:
            job = await asyncio.to_thread(book.create, files, ", ".join(p.name for p in paths))
        with click.progressbar(
            length=job.total, label="ingesting", file=sys.stderr, show_pos=True
        ) as bar:
            bar.update(job.done)

            def progress(job: Any, file: JobFile) -> None:
                bar.update(1)
                _print_file(file)

            return await run_job(library, book, job, progress=progress)

    job = _run(work)
    pages = job.pages_done
    click.echo(f"{job.done} files, {pages} pages; {job.failed} failed", err=True)


def _print_file(file: Any) -> None:
    pages = f", {file.pages} page{'s' if file.pages != 1 else ''}" if file.pages else ""
    ocr = f", OCR on pages {file.ocr_pages}" if file.ocr_pages else ""
    click.echo(f"{file.outcome:<9} {file.name}: {file.chunks} chunks{pages}{ocr}")
    for warning in file.warnings:
        click.echo(f"          warning: {warning}")


@click.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the full response as JSON.")
@click.option(
    "--top-k",
    default=5,
    show_default=True,
    help="How many manual passages the answer is written from.",
)
@click.option("--max-tokens", default=300, show_default=True, help="Longest answer, in tokens.")
def ask_cmd(question: str, as_json: bool, top_k: int, max_tokens: int) -> None:
    """Ask the manuals; prints the answer and the sources it cites."""
    from rma.rag.answer import ManualsAnswerer, format_with_citations, source_line

    async def work(library: Any, limits: Any) -> Any:
        answerer = ManualsAnswerer.for_library(library, limits)
        return await answerer.answer(question, top_k, max_tokens)

    answer = _run(work)
    if as_json:
        click.echo(answer.response().model_dump_json(indent=2))
        return
    click.echo(format_with_citations(answer))
    if answer.sources and not any(s.cited for s in answer.sources):
        # the warning below points at these: they are printed, never left unseen
        click.echo("\nSources given to the model (the answer cites none of them):")
        for s in answer.sources:
            click.echo(source_line(s))
    for warning in answer.warnings:
        click.echo(f"warning: {warning}", err=True)


@click.command("thresholds")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include past and announced values.")
def thresholds_cmd(as_json: bool, show_all: bool) -> None:
    """The approved limits, each with a passage of the manuals that supports it, and the
    conflicts the manuals raise (``rma limits`` manages the table itself)."""
    from rma.rag.limits import conflict_record, threshold_book

    async def work(_: Any, limits: Any) -> Any:
        evidence = await limits.evidence()
        return threshold_book(evidence), [conflict_record(f) for f in evidence.conflicts()]

    book, conflicts = _run(work)
    if as_json:
        data = book.model_dump(mode="json")
        data["conflicts"] = [c.model_dump(mode="json") for c in conflicts]
        click.echo(json.dumps(data, indent=2))
        return
    for t in book.thresholds:
        if t.status != "current" and not show_all:
            continue
        since = f"from {t.effective_from}" if t.effective_from else "start not recorded"
        where = t.source.document + (f" p.{t.source.page}" if t.source.page else "")
        click.echo(f"{t.name:<42} {t.display:<14} {t.status:<10} {since:<24} {where or '-'}")
    for c in conflicts:
        click.echo(f"conflict: {c.message}", err=True)
    for warning in book.warnings:
        click.echo(f"warning: {warning}", err=True)


commands = [ingest_cmd, ask_cmd, thresholds_cmd]
