"""``rma keys``: the keys client files are encrypted with (generate, status, rotate).

Rotating decrypts every client file, so it is an audit entry (the operator's, with the
counts only).
"""

from __future__ import annotations

import asyncio
import sys

import click

from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.cli import operator
from rma.cases.vault import Rotation, Vault, generate_key
from rma.config import Settings, load_settings
from rma.db import Database
from rma.db.cli import run_on_database
from rma.errors import ConfigError


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _vault() -> Vault:
    try:
        return Vault.from_settings(load_settings())
    except ConfigError as exc:
        _fail(str(exc), 2)
    raise AssertionError("unreachable")


@click.group("keys")
def keys_group() -> None:
    """The keys client files are encrypted with (RMA_ENCRYPTION_KEY)."""


@keys_group.command("generate")
@click.option("--id", "key_id", help="The key's id (default: today's date, YYYYMMDD).")
def generate_cmd(key_id: str | None) -> None:
    """Print a new ID:KEY. To rotate, put it first in RMA_ENCRYPTION_KEY, keep the old
    keys after it, run `rma keys rotate`, then remove the old keys."""
    try:
        click.echo(generate_key(key_id))
    except ConfigError as exc:
        _fail(str(exc), 2)


@keys_group.command("status")
def status_cmd() -> None:
    """How many client files each key encrypts."""
    vault = _vault()
    census = vault.census()
    click.echo(f"current key: {vault.keyring.current}")
    for key_id, count in sorted(census.items()):
        known = "" if key_id in vault.keyring.keys else " (not in RMA_ENCRYPTION_KEY!)"
        click.echo(f"{key_id}: {count} file(s){known}")
    if not census:
        click.echo("no client files yet")


@keys_group.command("rotate")
def rotate_cmd() -> None:
    """Re-encrypt every client file under the current (first) key (an audit entry)."""
    vault = _vault()

    async def work(_: Settings, database: Database) -> Rotation:
        report = await asyncio.to_thread(vault.rotate)
        counts = {"key_id": report.key_id, "rewritten": report.rewritten,
                  "failed": len(report.failed)}  # fmt: skip
        outcome = "error" if report.failed else "ok"
        await AuditLog(database).record(
            operator(), AuditEvent("keys.rotate", outcome, detail=counts)
        )
        return report

    report = run_on_database(work)
    click.echo(
        f"{report.rewritten} re-encrypted under {report.key_id}, "
        f"{report.current} already under it, {len(report.failed)} failed"
    )
    for problem in report.failed:
        click.echo(f"  {problem}", err=True)
    if report.failed:
        sys.exit(1)


commands: list[click.Command] = [keys_group]
