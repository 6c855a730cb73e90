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
            register, database = await open_register(settings)
            return await work(library, ManualLimits(library.candidates, register))
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
    """Ingest manuals: files, or folders (every supported file directly inside)."""

    async def work(library: Any, _: Any) -> list[Any]:
        results = []
        for path in paths:
            if path.is_dir():
                results.extend(await library.ingest_folder(path, remove_missing=False))
            else:
                results.append(await library.ingest(path.name, path.read_bytes(), "manuals"))
        return results

    for r in _run(work):
        pages = f", {r.pages} page{'s' if r.pages != 1 else ''}" if r.pages else ""
        ocr = f", OCR on pages {r.ocr_pages}" if r.ocr_pages else ""
        click.echo(f"{r.outcome:<9} {r.filename}: {r.chunks} chunks{pages}{ocr}")
        for warning in r.warnings:
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
    from rma.rag.answer import ManualsAnswerer, format_with_citations

    async def work(library: Any, limits: Any) -> Any:
        answerer = ManualsAnswerer.for_library(library, limits)
        return await answerer.answer(question, top_k, max_tokens)

    answer = _run(work)
    if as_json:
        click.echo(answer.response().model_dump_json(indent=2))
        return
    click.echo(format_with_citations(answer))
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
