"""The migrations, on SQLite and on a real PostgreSQL: up to head, down to base, the newest
schema equal to the models, append-only tables refusing changes, and upgrades on start
that neither race nor run on a database from a newer RMA."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text

import rma.accounts.models
import rma.cases.models
import rma.limits.records  # noqa: F401
from rma.cli import main
from rma.config import load_settings
from rma.db import Base, Database, database_urls, ensure_current, migrate
from rma.db.engine import DatabaseURLs, sync_engine
from rma.errors import ConfigError

TABLES = {
    "limit_changes", "limit_decisions",
    # the case (0002)
    "teams", "users", "clients", "cases", "case_circumstances", "case_documents",
    "document_fields", "debts", "debt_figures", "budget_lines", "assets", "case_notes",
    "letters",
    # accounts (0003)
    "user_sessions", "service_accounts", "api_tokens", "organisation_settings",
    "letter_approvals", "audit_log", "audit_chain",
    # letter versions (0004)
    "letter_versions",
}  # fmt: skip
ACCOUNTS_TABLES = TABLES - {"letter_versions"}
CASES_TABLES = ACCOUNTS_TABLES - {
    "user_sessions", "service_accounts", "api_tokens", "organisation_settings",
    "letter_approvals", "audit_log", "audit_chain",
}  # fmt: skip


def urls_for(url: str) -> DatabaseURLs:
    return database_urls(load_settings(RMA_DATABASE_URL=url))


def tables(urls: DatabaseURLs) -> set[str]:
    engine = sync_engine(urls)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_up_to_head_and_down_to_base(database_url: str) -> None:
    urls = urls_for(database_url)
    assert migrate.state(urls).current is None
    up = migrate.upgrade(urls)
    assert up.up_to_date and up.current == migrate.head()
    assert tables(urls) == TABLES
    down = migrate.downgrade(urls, "base")
    assert down.current is None and tables(urls) == set()
    again = migrate.upgrade(urls)  # and up again: the downgrade left nothing behind
    assert again.up_to_date and tables(urls) == TABLES


def columns(urls: DatabaseURLs, table: str) -> set[str]:
    engine = sync_engine(urls)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_the_field_places_migration_adds_and_removes_one_column(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    assert "place" in columns(urls, "document_fields")
    assert migrate.downgrade(urls, "0004").current == "0004"
    assert "place" not in columns(urls, "document_fields")
    assert tables(urls) == TABLES  # a column, not a table
    assert migrate.upgrade(urls).current == migrate.head() == "0005"
    assert "place" in columns(urls, "document_fields")


def test_the_letter_versions_migration_goes_down_to_the_accounts(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    assert migrate.downgrade(urls, "0003").current == "0003"
    assert tables(urls) == ACCOUNTS_TABLES
    engine = sync_engine(urls)
    try:
        indexes = {i["name"] for i in inspect(engine).get_indexes("cases")}
    finally:
        engine.dispose()
    assert "ix_cases_updated_at" not in indexes
    assert migrate.upgrade(urls).current == migrate.head() and tables(urls) == TABLES


def test_the_accounts_migration_goes_down_to_the_cases(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    assert migrate.downgrade(urls, "0002").current == "0002"
    assert tables(urls) == CASES_TABLES
    engine = sync_engine(urls)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("users")}
    finally:
        engine.dispose()
    assert "password_hash" not in columns and "failed_logins" not in columns
    assert migrate.upgrade(urls).current == migrate.head() and tables(urls) == TABLES


def test_the_cases_migration_goes_down_to_the_limits_alone(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    assert migrate.downgrade(urls, "0001").current == "0001"
    assert tables(urls) == {"limit_changes", "limit_decisions"}
    assert migrate.upgrade(urls).current == migrate.head() and tables(urls) == TABLES


def test_the_newest_schema_is_the_models(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    engine = sync_engine(urls)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_limit_tables_are_append_only_in_the_database(database_url: str) -> None:
    urls = urls_for(database_url)
    migrate.upgrade(urls)
    engine = sync_engine(urls)
    row = {
        "kind": "new_value", "name": "dro.max_debt", "jurisdiction": "england-wales",
        "value": "60000", "unit": "GBP", "from": date(2027, 4, 1), "evidence": "an order",
        "reason": "r", "by": "Ann", "at": datetime.now(UTC), "version": "t",
    }  # fmt: skip
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO limit_changes (kind, name, jurisdiction, value, unit, "
                    "effective_from, evidence, reason, proposed_by, proposed_at, table_version) "
                    "VALUES (:kind, :name, :jurisdiction, :value, :unit, :from, :evidence, "
                    ":reason, :by, :at, :version)"
                ),
                row,
            )
        for statement in ("UPDATE limit_changes SET value = '1'", "DELETE FROM limit_changes"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT value FROM limit_changes")).scalar() == "60000"
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(urls_for(f"sqlite:///{tmp_path / 'x' / 'rma.db'}"))

    async def pragmas() -> tuple[str, int]:
        async with database.session() as session:
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        await database.aclose()
        return mode, keys

    assert asyncio.run(pragmas()) == ("wal", 1)


def test_ensure_current_upgrades_once_while_replicas_start_together(database_url: str) -> None:
    urls = urls_for(database_url)
    results = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(ensure_current(urls))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(r.up_to_date for r in results) and len(results) == 4
    assert sum(1 for r in results if r.applied) == 1  # one migrated, the rest found it done


def test_without_auto_upgrade_a_behind_database_is_refused(tmp_path: Path) -> None:
    urls = urls_for(f"sqlite:///{tmp_path / 'rma.db'}")
    with pytest.raises(ConfigError, match="rma db upgrade"):
        ensure_current(urls, auto_upgrade=False)
    migrate.upgrade(urls)
    assert ensure_current(urls, auto_upgrade=False).up_to_date


def test_a_database_from_a_newer_rma_is_refused(tmp_path: Path) -> None:
    urls = urls_for(f"sqlite:///{tmp_path / 'rma.db'}")
    migrate.upgrade(urls)
    engine = sync_engine(urls)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="newer version"):
        ensure_current(urls)


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("url", "sync", "async_"),
    [
        ("sqlite:///d/rma.db", "sqlite+pysqlite", "sqlite+aiosqlite"),
        ("postgresql://rma@db:5432/rma", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgres://rma@db/rma", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql+psycopg://rma@db/rma", "postgresql+psycopg", "postgresql+psycopg"),
    ],
)
def test_urls_pick_the_drivers(url: str, sync: str, async_: str) -> None:
    urls = urls_for(url)
    assert (urls.sync.drivername, urls.async_.drivername) == (sync, async_)


def test_the_default_is_sqlite_in_the_data_directory(clean_env: Path) -> None:
    urls = database_urls(load_settings())
    assert urls.sqlite_path == clean_env / "data" / "rma.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://rma@db/rma", "does not use"),
        ("postgresql+asyncpg://rma@db/rma", "does not use"),
        ("not a url", "not a database URL"),
    ],
)
def test_unsupported_urls_stop_start_up(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        urls_for(url)


def test_the_password_comes_from_its_own_setting_and_is_never_printed() -> None:
    settings = load_settings(
        RMA_DATABASE_URL="postgresql://rma@db:5432/rma", RMA_DATABASE_PASSWORD="s3cr3t/@:x"
    )
    urls = database_urls(settings)
    assert urls.sync.password == "s3cr3t/@:x"  # kept whole, whatever it contains
    assert "s3cr3t" not in urls.display()
    both = load_settings(RMA_DATABASE_URL="postgresql://rma:a@db/rma", RMA_DATABASE_PASSWORD="b")
    with pytest.raises(ConfigError, match="keep one"):
        database_urls(both)
    shown = load_settings(RMA_DATABASE_URL="postgresql://rma:hunter2@db/rma").masked()
    assert shown["RMA_DATABASE_URL"] == "postgresql://rma:****@db/rma"


def test_an_unreachable_database_is_a_clear_error_at_start_up() -> None:
    from tests.support.servers import free_port

    urls = urls_for(f"postgresql://rma@127.0.0.1:{free_port()}/rma")
    with pytest.raises(
        ConfigError, match=r"cannot reach the database at postgresql\+psycopg://rma@127"
    ):
        ensure_current(urls)


# --------------------------------------------------------------------------------- CLI


def test_rma_db_commands(
    database_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RMA_DATABASE_URL", database_url)
    runner = CliRunner()
    current = runner.invoke(main, ["db", "current"])
    assert current.exit_code == 1 and "empty" in current.output
    history = runner.invoke(main, ["db", "history"])
    assert history.exit_code == 0 and f"-> {migrate.head()} (head)" in history.output
    up = runner.invoke(main, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert runner.invoke(main, ["db", "current"]).exit_code == 0
    down = runner.invoke(main, ["db", "downgrade", "base"])
    assert down.exit_code == 0 and "empty" in down.output
    bad = runner.invoke(main, ["db", "downgrade", "nonsense"])
    assert bad.exit_code != 0 and "error:" in bad.output


def test_services_that_read_the_database_check_it_before_they_start(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RMA_DATABASE_AUTO_UPGRADE", "false")
    refused = CliRunner().invoke(main, ["serve", "rag"])
    assert refused.exit_code == 2 and "run `rma db upgrade`" in refused.output
    from tests.support.servers import free_port

    monkeypatch.setenv("RMA_DATABASE_URL", f"postgresql://rma@127.0.0.1:{free_port()}/rma")
    unreachable = CliRunner().invoke(main, ["serve", "notes"])
    assert unreachable.exit_code == 2 and "cannot reach the database" in unreachable.output
