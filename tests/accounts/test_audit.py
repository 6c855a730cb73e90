"""The audit log on SQLite and PostgreSQL: the database refuses changes, a tampered log
(changed, deleted, reordered, truncated, re-anchored entries, edited directly in the
database as an intruder would, triggers dropped) is caught by verify, writers from many
connections at once still make one chain, and a purge keeps the chain verifiable."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from rma.accounts.audit import GENESIS, AuditEvent, AuditLog, check_chain
from rma.accounts.permissions import Actor
from rma.cli import main
from rma.db import Database, database_urls
from rma.db.engine import sync_engine
from tests.accounts.conftest import OPERATOR, settings_for
from tests.support.accounts import command_line_on

ANN = Actor("ann@advice.example", "adviser", 1, 10, "person", "session")


async def write(audit: AuditLog, count: int, action: str = "cases.read") -> None:
    for n in range(count):
        await audit.record(ANN, AuditEvent(action, case_id=n + 1, object_type="document",
                                           object_id=n, detail={"status": 200}))  # fmt: skip


def tamper(database_url: str, *statements: str) -> None:
    """Edit the table directly, with its guard triggers dropped (an intruder with the
    database owner's rights)."""
    engine = sync_engine(database_urls(settings_for(database_url)))
    try:
        with engine.begin() as connection:
            _drop_guard(connection)
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _drop_guard(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.fixture
async def audit(accounts) -> AuditLog:  # type: ignore[no-untyped-def]
    log = accounts.audit
    await write(log, 6)
    assert (await log.verify()).ok
    return log  # type: ignore[no-any-return]


async def test_entries_chain_each_to_the_one_before(audit: AuditLog) -> None:
    entries = await audit.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in itertools.pairwise(entries))
    first = entries[0]
    assert (first["actor"], first["actor_kind"], first["action"], first["outcome"]) == (
        "ann@advice.example", "person", "cases.read", "ok",
    )  # fmt: skip
    assert (first["case_id"], first["object_type"], first["object_id"]) == (1, "document", "0")
    found = await audit.verify()
    assert found.ok and found.entries == 6 and found.head_seq == 6
    assert found.head_hash == entries[-1]["entry_hash"]


async def test_the_database_refuses_to_change_or_delete_an_entry(
    audit: AuditLog, database_url: str
) -> None:
    engine = sync_engine(audit.database.urls)
    try:
        for statement in ("UPDATE audit_log SET outcome = 'denied'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    assert len(await audit.entries()) == 6


@pytest.mark.parametrize(
    ("name", "statements", "expected"),
    [
        ("changed", ["UPDATE audit_log SET outcome = 'denied' WHERE seq = 3"],
         ["entry 3 was changed"]),
        ("changed who", ["UPDATE audit_log SET actor = 'sam@advice.example' WHERE seq = 2"],
         ["entry 2 was changed"]),
        ("deleted", ["DELETE FROM audit_log WHERE seq = 4"],
         ["entry 4 is missing", "entry 5 does not follow entry 3"]),
        ("reordered", ["UPDATE audit_log SET seq = -1 WHERE seq = 2",
                       "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                       "UPDATE audit_log SET seq = 3 WHERE seq = -1"],
         ["entry 2 does not follow entry 1", "entry 2 was changed"]),
        ("newest deleted", ["DELETE FROM audit_log WHERE seq = 6"],
         ["the chain's head is entry 6, but the log ends at entry 5"]),
        ("oldest deleted", ["DELETE FROM audit_log WHERE seq = 1"],
         ["entry 1 is missing", "entry 2 does not follow entry 0"]),
        ("re-anchored", ["DELETE FROM audit_log WHERE seq <= 2",
                         "UPDATE audit_chain SET anchor_seq = 2, anchor_hash = "
                         "(SELECT prev_hash FROM audit_log WHERE seq = 3)"],
         ["no purge entry records removing the entries up to it"]),
    ],
)  # fmt: skip
async def test_verify_catches_tampering(
    audit: AuditLog, database_url: str, name: str, statements: list[str], expected: list[str]
) -> None:
    tamper(database_url, *statements)
    found = await audit.verify()
    assert not found.ok, name
    for problem in expected:
        assert any(problem in p for p in found.problems), (problem, found.problems)


async def test_verify_catches_a_rewrite_against_a_head_kept_elsewhere(
    audit: AuditLog, database_url: str
) -> None:
    kept = (await audit.verify()).head_hash
    assert (await audit.verify(expect_head=kept)).ok
    await write(audit, 2)
    assert (await audit.verify(expect_head=kept)).ok  # an earlier head is still in the chain
    # Rebuild the whole chain with one entry changed: every hash recomputed.
    entries = await audit.entries()
    entries[1]["outcome"] = "denied"
    from rma.accounts.audit import hash_of

    prev, statements = GENESIS, []
    for entry in entries:
        entry["prev_hash"] = prev
        entry["entry_hash"] = prev = hash_of(entry)
        statements.append(
            f"UPDATE audit_log SET outcome = '{entry['outcome']}', prev_hash = "
            f"'{entry['prev_hash']}', entry_hash = '{entry['entry_hash']}' "
            f"WHERE seq = {entry['seq']}"
        )
    statements.append(f"UPDATE audit_chain SET head_hash = '{prev}'")
    tamper(database_url, *statements)
    assert (await audit.verify()).ok  # the chain alone cannot tell ...
    found = await audit.verify(expect_head=kept)
    assert not found.ok and "the log was rewritten" in found.problems[-1]  # ... the kept head can


def test_writers_on_many_connections_make_one_chain(database_url: str, accounts) -> None:  # type: ignore[no-untyped-def]
    """Four threads, each with its own engine and event loop, append at once."""
    errors: list[BaseException] = []

    def writer() -> None:
        async def run() -> None:
            database = Database(database_urls(settings_for(database_url)))
            try:
                await write(AuditLog(database), 25)
            finally:
                await database.aclose()

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors

    async def check() -> None:
        found = await accounts.audit.verify()
        assert found.ok and found.entries == 100, found.problems
        entries = await accounts.audit.entries()
        assert [e["seq"] for e in entries] == list(range(1, 101))
        times = [e["at"] for e in entries]
        assert times == sorted(times)  # the time is taken under the lock

    asyncio.run(check())


async def test_a_purge_keeps_the_rest_verifiable_and_is_recorded(
    audit: AuditLog, database_url: str
) -> None:
    boundary = datetime.now(UTC)
    await write(audit, 3, action="cases.update")
    dry = await audit.purge(boundary, OPERATOR, dry_run=True)
    assert (dry.removed, dry.first_seq, dry.last_seq) == (6, 1, 6)
    assert len(await audit.entries()) == 9
    done = await audit.purge(boundary, OPERATOR, dry_run=False)
    assert done.removed == 6
    entries = await audit.entries()
    assert [e["seq"] for e in entries] == [7, 8, 9, 10]
    purge = entries[-1]
    assert (purge["action"], purge["actor"], purge["detail"]["removed"]) == (
        "audit.purge", "operator:tests", 6,
    )  # fmt: skip
    found = await audit.verify()
    assert found.ok and found.anchor_seq == 6 and found.first_seq == 7, found.problems
    # Nothing newer than the boundary could be deleted, even inside the purge.
    tamper(database_url, "DELETE FROM audit_log WHERE seq = 8")
    assert not (await audit.verify()).ok


async def test_an_export_is_the_chain_and_verifies_on_its_own(audit: AuditLog) -> None:
    chain = await audit.head()
    lines = [json.dumps(e) async for e in audit.stream()]
    exported = [json.loads(line) for line in lines]
    count, first, problems = check_chain(
        exported, anchor_seq=chain.anchor_seq, anchor_hash=chain.anchor_hash,
        head_seq=chain.seq, head_hash=chain.head_hash,
    )  # fmt: skip
    assert (count, first, problems) == (6, 1, [])
    exported[2]["case_id"] = 99
    assert "entry 3 was changed" in check_chain(exported, anchor_seq=0, anchor_hash=GENESIS)[2][0]


@pytest.mark.parametrize(
    "event",
    [
        lambda: AuditEvent("cases.read", detail={"note": "Mrs Patel owes the council"}),
        lambda: AuditEvent("cases.read", object_id="a client's name"),
        lambda: AuditEvent("cases read"),
        lambda: AuditEvent("cases.read", detail={"figures": [1, 2]}),
    ],
)
def test_client_text_cannot_enter_an_entry(event: Callable[[], AuditEvent]) -> None:
    with pytest.raises(ValueError):
        event()


def test_the_audit_commands(database_url: str, accounts, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    command_line_on(database_url, monkeypatch)
    asyncio.run(write(accounts.audit, 4))
    runner = CliRunner()
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "4 entries (1 to 4)" in verified.output
    exported = runner.invoke(main, ["audit", "export"])
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4] and "4 entries exported" in exported.stderr
    dry = runner.invoke(main, ["audit", "purge"])
    assert dry.exit_code == 0 and "would remove 0 entries" in dry.output
    purged = runner.invoke(main, ["audit", "purge", "--before", "2999-01-01", "--yes"])
    assert purged.exit_code == 0 and "removed 4 entries" in purged.output
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    tamper(database_url, "UPDATE audit_log SET action = 'cases.list'")
    broken = runner.invoke(main, ["audit", "verify", "--json"])
    assert broken.exit_code == 1 and json.loads(broken.output)["ok"] is False
