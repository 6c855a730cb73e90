"""What accounts cost: an Argon2 hash and check at the configured parameters (paid once per
sign-in), and what every request of the adviser app pays: finding its session or token
and appending its audit entry, alone and with writers racing for the chain."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.accounts.sessions import CookiePolicy, Sessions
from rma.accounts.tokens import Tokens
from rma.bench.stats import summary_ms
from rma.config import Settings, load_settings
from rma.db import Database, database_urls
from rma.db import migrate as migrations
from rma.errors import ConfigError

OPERATOR = Actor("operator:bench", kind="operator", via="cli")
# The bench's scratch accounts get a fresh random password each run: no fixed credential.
PASSWORD = secrets.token_urlsafe(24)
BENCH_ACTOR = Actor("bench@example.org", "adviser", 1, None, "person", "session")


def measure_argon2(settings: Settings, rounds: int) -> dict[str, Any]:
    """Hash and verify at the configured parameters, beside the floor tests use."""
    out: dict[str, Any] = {}
    for label, hasher in (
        (
            "configured",
            PasswordHasher(
                time_cost=settings.rma_argon2_time_cost,
                memory_cost=settings.rma_argon2_memory_kib,
                parallelism=settings.rma_argon2_parallelism,
            ),
        ),
        ("floor", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)),
    ):
        hashes, checks = [], []
        stored = hasher.hash(PASSWORD)
        for _ in range(rounds):
            t0 = time.perf_counter()
            hasher.hash(PASSWORD)
            hashes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hasher.verify(stored, PASSWORD)
            checks.append(time.perf_counter() - t0)
        out[label] = {
            "time_cost": hasher.time_cost,
            "memory_kib": hasher.memory_cost,
            "parallelism": hasher.parallelism,
            "hash": summary_ms(hashes),
            "verify": summary_ms(checks),
        }
    return out


async def measure_requests(
    url: str, settings: Settings, calls: int, writers: int
) -> dict[str, Any]:
    """Per-request costs on one database: session lookup, token check, audit append."""
    urls = database_urls(load_settings(RMA_DATABASE_URL=url))
    await asyncio.to_thread(migrations.ensure_current, urls)
    database = Database(urls)
    try:
        directory = Directory(database, settings)
        user = await directory.create_user(
            OPERATOR, email="bench@example.org", display_name="", role="adviser",
            password=PASSWORD,
        )  # fmt: skip
        found = await directory.user_by_email(user.email)
        assert found is not None
        sessions = Sessions(database, CookiePolicy.from_settings(settings))
        session = await sessions.start(found)
        tokens = Tokens(database)
        token = await tokens.create_personal(OPERATOR, user.id, "bench")
        audit = AuditLog(database)

        async def timed(work: Any) -> list[float]:
            spent = []
            for _ in range(calls):
                t0 = time.perf_counter()
                await work()
                spent.append(time.perf_counter() - t0)
            return spent

        session_ms = await timed(lambda: sessions.find(session.id))
        token_ms = await timed(lambda: tokens.actor_for(token.secret))
        append_ms = await timed(lambda: audit.record(BENCH_ACTOR, AuditEvent("cases.read")))

        async def writer() -> None:
            for _ in range(calls // writers):
                await audit.record(BENCH_ACTOR, AuditEvent("cases.read", case_id=1))

        t0 = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        racing = time.perf_counter() - t0
        verified = await audit.verify()
    finally:
        await database.aclose()
    return {
        "dialect": urls.dialect,
        "session_lookup": summary_ms(session_ms),
        "token_check": summary_ms(token_ms),
        "audit_append": summary_ms(append_ms),
        "racing_writers": writers,
        "racing_entries_per_s": round((calls // writers) * writers / racing, 1),
        "chain_intact": verified.ok,
        "entries": verified.entries,
    }


def run(scratch_urls: list[str], calls: int, rounds: int, writers: int) -> dict[str, Any]:
    settings = load_settings()
    result: dict[str, Any] = {"argon2": measure_argon2(settings, rounds), "databases": []}
    with tempfile.TemporaryDirectory() as folder:
        for url in [f"sqlite:///{Path(folder) / 'bench.db'}", *scratch_urls]:
            urls = database_urls(load_settings(RMA_DATABASE_URL=url))
            if url in scratch_urls and migrations.state(urls).current is not None:
                raise ConfigError(
                    f"{urls.display()} is not empty: the benchmark needs an empty one"
                )
            try:
                result["databases"].append(
                    asyncio.run(measure_requests(url, settings, calls, writers))
                )
            finally:
                migrations.downgrade(urls, "base")
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| Argon2id | t | m (KiB) | p | hash (median ms) | verify (median ms) |",
        "|---|---|---|---|---|---|",
    ]
    for label, a in result["argon2"].items():
        lines.append(
            f"| {label} | {a['time_cost']} | {a['memory_kib']} | {a['parallelism']} | "
            f"{a['hash']['median_ms']} | {a['verify']['median_ms']} |"
        )
    lines += [
        "",
        "| database | session lookup (median ms) | token check | audit append | "
        "racing writers: entries/s | chain intact |",
        "|---|---|---|---|---|---|",
    ]
    for db in result["databases"]:
        lines.append(
            f"| {db['dialect']} | {db['session_lookup']['median_ms']} | "
            f"{db['token_check']['median_ms']} | {db['audit_append']['median_ms']} | "
            f"{db['racing_entries_per_s']} ({db['racing_writers']} writers) | "
            f"{'yes' if db['chain_intact'] else 'NO'} |"
        )
    return "\n".join(lines)
