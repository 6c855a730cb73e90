"""``rma db``: the database's migrations (upgrade, downgrade, current, history)."""

from __future__ import annotations

import sys

import click

from rma.config import load_settings
from rma.db import migrate
from rma.db.engine import DatabaseURLs, database_urls
from rma.errors import RMAError


def _urls() -> DatabaseURLs:
    return database_urls(load_settings())


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


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
