"""``rma db``: the database's migrations (upgrade, downgrade, current, history)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from rma.config import Settings, load_settings
from rma.db import migrate
from rma.db.engine import Database, DatabaseURLs, database_urls
from rma.errors import ConfigError, RMAError

T = TypeVar("T")


def _urls() -> DatabaseURLs:
    return database_urls(load_settings())


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run_on_database(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """For a command: open the database (upgrading it if it is new or behind, unless
    RMA_DATABASE_AUTO_UPGRADE is off), run ``work``, close it; errors become exit codes
    (2: settings, 1: anything else RMA refused)."""

    async def run() -> T:
        settings = load_settings()
        database = Database.from_settings(settings)
        try:
            await asyncio.to_thread(
                migrate.ensure_current,
                database.urls,
                auto_upgrade=settings.rma_database_auto_upgrade,
            )
            return await work(settings, database)
        finally:
            await database.aclose()

    try:
        return asyncio.run(run())
    except ConfigError as exc:
        _fail(str(exc), 2)
    except RMAError as exc:
        _fail(str(exc))
    raise AssertionError("unreachable")


@click.group("db")
def db_group() -> None:
    """The database: migrations to the newest schema, or back to an older one."""


def _migrate(action: str, revision: str) -> None:
    try:
        urls = _urls()
        result = getattr(migrate, action)(urls, revision)
    except RMAError as exc:
        _fail(str(exc), 2)
    except Exception as exc:  # Alembic's own errors: an unknown revision, failed SQL
        _fail(f"{action} failed: {exc}")
    done = ", ".join(result.applied) or "nothing to do"
    click.echo(f"{urls.display()}: {result.describe()} ({done}, {result.seconds:.2f} s)")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade_cmd(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    _migrate("upgrade", revision)


@db_group.command("downgrade")
@click.argument("revision")
def downgrade_cmd(revision: str) -> None:
    """Downgrade the database to REVISION ("base" removes every table RMA made)."""
    _migrate("downgrade", revision)


@db_group.command("current")
def current_cmd() -> None:
    """Print the database's revision; exit 1 if it is not the newest."""
    try:
        urls = _urls()
        found = migrate.state(urls)
    except RMAError as exc:
        _fail(str(exc), 2)
    except Exception as exc:
        _fail(f"cannot read {_urls().display()}: {exc}")
    click.echo(f"{urls.display()}: {found.describe()}")
    sys.exit(0 if found.up_to_date else 1)


@db_group.command("history")
def history_cmd() -> None:
    """List the migrations RMA ships, newest first."""
    for r in migrate.history():
        mark = " (head)" if r.is_head else ""
        click.echo(f"{r.down_revision or 'base'} -> {r.revision}{mark}: {r.doc.splitlines()[0]}")


commands = [db_group]
