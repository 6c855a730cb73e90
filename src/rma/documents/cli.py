"""``rma process FILE``: read one client document from the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from rma.config import load_settings
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


commands: list[click.Command] = [process]
