"""``corpus write`` and ``corpus evaluate``: the labelled set as files, and the pipeline's score.

python -m rma.documents.corpus write --out build/corpus
python -m rma.documents.corpus evaluate                  # Tesseract, fields by code
python -m rma.documents.corpus evaluate --with-model     # plus the configured model
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path

import click

from rma.documents.corpus.build import DEFAULT_SEED, build_corpus
from rma.documents.corpus.photo import VARIANTS, render
from rma.documents.corpus.score import ItemResult, evaluate, plan, report

VARIANT_HELP = "standard (PDF + one photographed each), pdf, all, or names joined by commas"


def _variants(value: str) -> str | list[str]:
    if value in ("standard", "pdf", "all"):
        return value
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise click.BadParameter(
            f"unknown variant(s) {', '.join(unknown)}; one of {', '.join(VARIANTS)}"
        )
    return names


@click.group("corpus")
def corpus() -> None:
    """The labelled set of client documents: write it, or score the pipeline on it."""


@corpus.command("write")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/corpus"),
    show_default=True,
    help="Folder to write the files, key.json and files.json into.",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="The generator's seed (another seed: other names, amounts and layouts).",
)
@click.option("--variants", default="standard", show_default=True, help=VARIANT_HELP)
def write_cmd(out: Path, seed: int, variants: str) -> None:
    """Write every file, key.json (the answer keys) and files.json (what each file is)."""
    corpus_ = build_corpus(seed)
    out.mkdir(parents=True, exist_ok=True)
    labels = []
    seconds: dict[str, list[float]] = defaultdict(list)
    for doc, variant in plan(corpus_, _variants(variants)):
        started = time.monotonic()
        file = render(doc, variant, seed)
        seconds[variant].append(time.monotonic() - started)
        (out / file.filename).write_bytes(file.data)
        labels.append(file.label())
    (out / "key.json").write_text(json.dumps(corpus_.keys(), indent=1, ensure_ascii=False))
    (out / "files.json").write_text(json.dumps(labels, indent=1))
    total = sum(sum(s) for s in seconds.values())
    click.echo(f"{len(corpus_.documents)} documents, {len(labels)} files in {out} ({total:.1f} s)")
    for variant, times in seconds.items():
        click.echo(f"  {variant:<13} {len(times):>3} files  {sum(times) / len(times):.2f} s/file")


@corpus.command("evaluate")
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="The generator's seed (another seed: other names, amounts and layouts).",
)
@click.option("--variants", default="standard", show_default=True, help=VARIANT_HELP)
@click.option(
    "--with-model", is_flag=True, help="Use the configured chat model for type and fields."
)
@click.option("--only", default="", help="Only documents whose id starts with this.")
@click.option(
    "--per-kind",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N documents of each kind (a sample for slow runs with a model).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every field result here.",
)
def evaluate_cmd(
    seed: int,
    variants: str,
    with_model: bool,
    only: str,
    per_kind: int | None,
    json_out: Path | None,
) -> None:
    """Run the real document pipeline over the set and print the score as Markdown."""
    from rma.documents.pipeline import DocumentProcessor

    corpus_ = build_corpus(seed)
    files = [
        (d, v)
        for d, v in plan(corpus_, _variants(variants))
        if d.id.startswith(only) and (per_kind is None or _number(d.id) <= per_kind)
    ]

    def progress(item: ItemResult) -> None:
        mark = "ok" if item.predicted_type == item.doc_type or item.parts else "type?"
        click.echo(
            f"  {item.document:<22} {item.variant:<13} {item.seconds:5.1f} s  {mark}", err=True
        )

    async def run() -> str:
        router = None
        ocr, how = "tesseract", "fields and type by code only"
        if with_model:
            from rma.config import load_settings
            from rma.llm.factory import build_router

            settings = load_settings()
            router = build_router(settings)
            ocr = settings.ocr_provider
            how = f"model ({settings.llm_provider}) and code"
        try:
            started = time.monotonic()
            board = await evaluate(
                DocumentProcessor(router, ocr_provider=ocr), corpus_, files, progress=progress
            )
            elapsed = time.monotonic() - started
        finally:
            if router is not None:
                await router.aclose()
        if json_out is not None:
            items = json.dumps([_item_json(i) for i in board.items], indent=1, default=str)
            await asyncio.to_thread(json_out.write_text, items)
        sample = f", first {per_kind} of each kind" if per_kind else ""
        head = (
            f"seed {seed}, variants {variants}{sample}, {how}, "
            f"OCR {ocr}; {elapsed:.0f} s ({board.render_seconds:.0f} s rendering)\n"
        )
        return head + "\n" + report(board)

    click.echo(asyncio.run(run()))


def _number(doc_id: str) -> int:
    """The running number in an id such as ``creditor-letter-03``."""
    return int(doc_id.rsplit("-", 1)[1])


def _item_json(item: ItemResult) -> dict[str, object]:
    return {
        "document": item.document,
        "variant": item.variant,
        "type": item.doc_type,
        "predicted_type": item.predicted_type,
        "fields": [vars(f) for f in item.fields],
        "rows": [item.rows_right, item.rows_expected],
        "split_right": item.split_right,
        "parts": [_item_json(p) for p in item.parts],
        "error": item.error,
        "seconds": round(item.seconds, 2),
    }


def main() -> None:
    corpus(prog_name="python -m rma.documents.corpus")
