"""Migrations: bring a database to the newest schema, or to any revision, safely.

Alembic runs with the sync driver, on a connection that holds a lock for the whole run:
a PostgreSQL advisory lock (every replica of every service meets the same lock, so one
migrates and the others then find the schema current) or, for SQLite, an exclusive lock
on a file beside the database. Deployments may instead run ``rma db upgrade`` once, as
a Compose one-off service or a Kubernetes init container, and set
``RMA_DATABASE_AUTO_UPGRADE=false``.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from rma import constants as C
from rma.db.engine import DatabaseURLs, sync_engine
from rma.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str
    is_head: bool


@dataclass
class MigrationState:
    """Where a database stands against the migrations this RMA ships."""

    current: str | None  # None: a new, empty database
    head: str
    applied: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.current is None:
            return f"empty (no migrations applied; newest is {self.head})"
        if self.up_to_date:
            return f"{self.current} (head)"
        return f"{self.current} (behind: newest is {self.head})"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    heads = scripts().get_heads()
    if len(heads) != 1:  # one chain for the whole product
        raise ConfigError(f"the migrations have {len(heads)} heads ({heads}); merge them")
    return heads[0]


def history() -> list[Revision]:
    """Every migration, newest first."""
    newest = head()
    return [
        Revision(s.revision, _one(s.down_revision), (s.doc or "").strip(), s.revision == newest)
        for s in scripts().walk_revisions()
    ]


def _one(down: str | Sequence[str] | None) -> str | None:
    return down if down is None or isinstance(down, str) else ",".join(down)


@contextmanager
def _locked(urls: DatabaseURLs) -> Iterator[Connection]:
    """A connection to the database, held under the migration lock."""
    engine = sync_engine(urls)
    try:
        with _file_lock(urls.sqlite_path), engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": C.MIGRATION_LOCK_ID}
                )
                connection.commit()
            try:
                yield connection
            finally:
                if postgres:
                    connection.rollback()
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": C.MIGRATION_LOCK_ID}
                    )
                    connection.commit()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(database: Path | None) -> Iterator[None]:
    if database is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".migrate-lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _known(revision: str | None) -> None:
    if revision is not None and revision not in {r.revision for r in history()}:
        raise ConfigError(
            f"the database is at migration {revision!r}, which this RMA does not know: it was "
            "migrated by a newer version. Run that version, or its `rma db downgrade`."
        )


def _run(urls: DatabaseURLs, action: str, revision: str) -> MigrationState:
    newest = head()
    with _reachable(urls), _locked(urls) as connection:
        before = _current(connection)
        _known(before)
        started = time.perf_counter()
        config = _config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        connection.commit()
        after = _current(connection)
        seconds = time.perf_counter() - started
    applied = [] if before == after else [f"{before or 'base'} -> {after or 'base'}"]
    return MigrationState(after, newest, applied, seconds)


def upgrade(urls: DatabaseURLs, revision: str = "head") -> MigrationState:
    return _run(urls, "upgrade", revision)


def downgrade(urls: DatabaseURLs, revision: str) -> MigrationState:
    return _run(urls, "downgrade", revision)


def state(urls: DatabaseURLs) -> MigrationState:
    engine = sync_engine(urls)
    try:
        with _reachable(urls), engine.connect() as connection:
            current = _current(connection)
    finally:
        engine.dispose()
    return MigrationState(current, head())


@contextmanager
def _reachable(urls: DatabaseURLs) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise ConfigError(f"cannot reach the database at {urls.display()}: {reason}") from None


def ensure_current(urls: DatabaseURLs, *, auto_upgrade: bool = True) -> MigrationState:
    """Upgrade a new or behind database to the newest schema (under the lock); with
    ``auto_upgrade`` off, refuse to run on one that is not current."""
    found = state(urls)
    _known(found.current)
    if found.up_to_date:
        return found
    if not auto_upgrade:
        raise ConfigError(
            f"the database at {urls.display()} is {found.describe()}; run `rma db upgrade` "
            "(RMA_DATABASE_AUTO_UPGRADE is off)"
        )
    return upgrade(urls)
