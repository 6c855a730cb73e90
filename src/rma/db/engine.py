"""Where the database is and how to reach it: URLs from settings, engines and sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from rma import constants as C
from rma.config import Settings
from rma.errors import ConfigError

SUPPORTED = "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME (psycopg 3)"


@dataclass(frozen=True)
class DatabaseURLs:
    """One database, as the sync driver (migrations) and the async driver (services) see it."""

    sync: URL
    async_: URL

    @property
    def dialect(self) -> str:
        return self.sync.get_backend_name()

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL (and for an in-memory SQLite)."""
        if self.dialect != "sqlite" or not self.sync.database or self.sync.database == ":memory:":
            return None
        return Path(self.sync.database)

    def display(self) -> str:
        return self.sync.render_as_string(hide_password=True)


def database_urls(settings: Settings) -> DatabaseURLs:
    """The configured database (``RMA_DATABASE_URL``, else SQLite under ``RMA_DATA_DIR``)."""
    raw = settings.rma_database_url.strip()
    if not raw:
        raw = f"sqlite:///{Path(settings.rma_data_dir) / C.DATABASE_FILE}"
    if raw.startswith("postgres://"):  # Heroku-style spelling of the same scheme
        raw = "postgresql://" + raw.removeprefix("postgres://")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"RMA_DATABASE_URL is not a database URL; expected {SUPPORTED}") from None
    password = settings.rma_database_password.get_secret_value()
    if password:
        if url.password:
            raise ConfigError(
                "RMA_DATABASE_URL has a password and RMA_DATABASE_PASSWORD is set too: keep one"
            )
        url = url.set(password=password)
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        return DatabaseURLs(
            url.set(drivername="sqlite+pysqlite"), url.set(drivername="sqlite+aiosqlite")
        )
    if backend == "postgresql" and driver in ("", "psycopg"):
        psycopg = url.set(drivername="postgresql+psycopg")
        return DatabaseURLs(psycopg, psycopg)
    raise ConfigError(
        f"RMA_DATABASE_URL names {url.drivername!r}, which RMA does not use; expected {SUPPORTED}"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers carry on while one writer writes; SQLite leaves foreign keys off;
    # secure_delete overwrites deleted rows (erased client data must not linger in the file).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={C.SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _prepare(urls: DatabaseURLs, engine: Engine) -> Engine:
    if urls.dialect == "sqlite":
        path = urls.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def sync_engine(urls: DatabaseURLs) -> Engine:
    """An engine for migrations and one-off commands."""
    return _prepare(urls, create_engine(urls.sync, pool_pre_ping=True))


class Database:
    """The database for request paths: one async engine, sessions from it."""

    def __init__(self, urls: DatabaseURLs) -> None:
        self.urls = urls
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_urls(settings))

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(self.urls.async_, pool_pre_ping=True)
            _prepare(self.urls, self._engine.sync_engine)
        return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; commit inside it to keep changes (leaving it rolls back the rest)."""
        if self._sessions is None:
            self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        async with self._sessions() as session:
            yield session

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None
