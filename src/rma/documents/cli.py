"""``rma process FILE``: read one client document from the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from rma.config import load_settings
from rma.documents.corpus import cli as corpus_cli
from rma.errors import ConfigError, InputError, RMAError


@click.command("process")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def process(file: Path, as_json: bool) -> None:
    """Read FILE (PDF, PNG, JPEG, TIFF, WebP): text, document type and checked fields."""
    from rma.documents.pipeline import DocumentProcessor
    from rma.llm.factory import build_router

    data = file.read_bytes()

    async def run() -> dict[str, object]:
        settings = load_settings()
        router = build_router(settings)
        try:
            processor = DocumentProcessor(router, ocr_provider=settings.ocr_provider)
            document = await processor.process(data, file.name)
            return document.response().model_dump(mode="json")
        finally:
            await router.aclose()

    try:
        result = asyncio.run(run())
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(_summary(result))


def _summary(result: dict[str, object]) -> str:
    pages = result["pages"]
    assert isinstance(pages, list)
    lines = [str(result["markdown"]).rstrip(), "", f"document type: {result['doc_type']}"]
    fields = result["fields"]
    assert isinstance(fields, dict)
    for name, f in fields.items():
        mark = "ok " if f["verified"] else "?? "
        where = f"page {f['page']}" if f["page"] else "not found in the text"
        lines.append(f"  {mark}{name:<18} {f['value']:<28} ({where}, confidence {f['confidence']})")
    for warning in result["warnings"]:  # type: ignore[attr-defined]
        lines.append(f"warning: {warning}")
    lines.append(f"{len(pages)} page(s) in {result['processing_ms']} ms")
    return "\n".join(lines)


@click.group("documents")
def documents() -> None:
    """Client documents: measure OCR and fields, write the sample letters."""


@documents.command("ocr-samples")
@click.option("--seeds", default="7", show_default=True, help="Comma-separated seeds.")
@click.option(
    "--with-model", is_flag=True, help="Use the configured chat model for type and fields."
)
def ocr_samples_cmd(seeds: str, with_model: bool) -> None:
    """OCR and field accuracy on the sample letters in each page condition (clean, skewed,
    turned, noisy, faded, small), as a Markdown table: character error rate, fields right,
    and fields verified but wrong."""
    from rma.documents.evaluate import evaluate, table

    try:
        numbers = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter("use comma-separated whole numbers, e.g. 7,11") from None
    try:
        scores = asyncio.run(
            evaluate(numbers, with_model, lambda done: click.echo(f"  {done}", err=True))
        )
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(table(scores))


@documents.command("samples")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("samples/documents"),
    show_default=True,
    help="The folder to write into.",
)
@click.option(
    "--seed", default=7, show_default=True, help="Seed of the page damage (same seed, same files)."
)
def samples_cmd(out: Path, seed: int) -> None:
    """Write the sample creditor letters as PNG (each page condition) and PDF files."""
    from rma.documents.sample_letters import write_samples

    written = write_samples(out, seed)
    click.echo(f"wrote {written} sample files to {out}")


# The labelled set's scorer and writer (see docs/document-corpus.md).
documents.add_command(corpus_cli.evaluate_cmd, "evaluate")
documents.add_command(corpus_cli.write_cmd, "corpus")

commands: list[click.Command] = [process, documents]
