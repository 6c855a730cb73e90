"""``rma bench``: benchmark commands."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from rma.config import load_settings
from rma.errors import RMAError


@click.group("bench")
def bench() -> None:
    """Measure speed side by side (results as JSON and a Markdown table)."""


@bench.command("router")
@click.option("--calls", default=100, show_default=True, help="Calls per path for overhead.")
@click.option("--requests", default=16, show_default=True, help="Chats for the concurrency run.")
@click.option("--max-tokens", default=64, show_default=True)
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

    try:
        result = asyncio.run(run())
    except RMAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(rb.markdown(result["overhead"], result["concurrency"]))
    if out:
        out.write_text(json.dumps(result, indent=2))
        click.echo(f"\nwrote {out}")


commands = [bench]
