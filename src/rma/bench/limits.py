"""What the governed limits cost: the as-at lookup (made for every answer), the check for
new approvals, rebuilding the effective table, and migrating a database up and down."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rma.accounts.permissions import Actor
from rma.bench.stats import summary_ms
from rma.config import load_settings
from rma.db import Database, database_urls
from rma.db import migrate as migrations
from rma.errors import ConfigError
from rma.limits.changes import LimitRegister, Proposal
from rma.limits.table import SHIPPED, load_table, shipped_table

# Changes are proposed by one person and approved by another, as the permission table asks.
PROPOSER = Actor("bench-adviser@example.org", "adviser")
APPROVER = Actor("bench-supervisor@example.org", "supervisor")


def measure_lookups(calls: int, seed: int = 7) -> dict[str, Any]:
    """``as_at`` and ``statement()`` on random names and dates, and loading the table."""
    table = shipped_table()
    rng = random.Random(seed)
    today = date.today()
    # dates each limit has a value for: from its first recorded day to today
    spans = {n: (table.history(n)[0].first_day, today) for n in table.names()}
    asks = []
    for _ in range(calls):
        name = rng.choice(sorted(spans))
        first, last = spans[name]
        asks.append((name, first + timedelta(days=rng.randrange((last - first).days + 1))))
    timed, worded = [], []
    for name, when in asks:
        t0 = time.perf_counter()
        value = table.as_at(name, when, today=today)
        t1 = time.perf_counter()
        value.statement()
        worded.append(time.perf_counter() - t1)
        timed.append(t1 - t0)
    loads = []
    for _ in range(20):
        t0 = time.perf_counter()
        load_table(SHIPPED)
        loads.append(time.perf_counter() - t0)
    return {
        "as_at_us": round(sum(timed) / len(timed) * 1e6, 2),
        "statement_us": round(sum(worded) / len(worded) * 1e6, 2),
        "load_and_validate": summary_ms(loads),
        "calls": calls,
    }


async def measure_register(url: str, calls: int, approvals: int) -> dict[str, Any]:
    """``await register.table()`` with nothing new (one query) and after each approval."""
    urls = database_urls(load_settings(RMA_DATABASE_URL=url))
    await asyncio.to_thread(migrations.ensure_current, urls)
    database = Database(urls)
    register = LimitRegister(database)
    try:
        await register.table()
        unchanged = []
        for _ in range(calls):
            t0 = time.perf_counter()
            await register.table()
            unchanged.append(time.perf_counter() - t0)
        rebuilt = []
        for i in range(approvals):
            proposal = Proposal(
                "dro.max_debt", Decimal(60000 + i), "bench", "bench",
                date(2100, 1, 1) + timedelta(days=30 * i),
            )  # fmt: skip
            change = await register.propose(proposal, PROPOSER)
            await register.approve(change.id, APPROVER)
            t0 = time.perf_counter()
            await register.table()
            rebuilt.append(time.perf_counter() - t0)
    finally:
        await database.aclose()
    return {
        "dialect": urls.dialect,
        "table_unchanged": summary_ms(unchanged),
        "table_after_an_approval": summary_ms(rebuilt),
    }


def measure_migrations(url: str, rounds: int) -> dict[str, Any]:
    """Up to head and down to base, ``rounds`` times, on an empty database."""
    urls = database_urls(load_settings(RMA_DATABASE_URL=url))
    if migrations.state(urls).current is not None:
        raise ConfigError(f"{urls.display()} is not empty: the benchmark migrates it down to base")
    up, down = [], []
    for _ in range(rounds):
        up.append(migrations.upgrade(urls).seconds)
        down.append(migrations.downgrade(urls, "base").seconds)
    return {"dialect": urls.dialect, "up": summary_ms(up), "down": summary_ms(down)}


def run(scratch_urls: list[str], calls: int, rounds: int) -> dict[str, Any]:
    """Every measurement; on a fresh SQLite file, and on each empty database given."""
    with tempfile.TemporaryDirectory() as folder:
        urls = [f"sqlite:///{Path(folder) / 'bench.db'}", *scratch_urls]
        result: dict[str, Any] = {"lookups": measure_lookups(calls), "databases": []}
        for url in urls:
            entry = measure_migrations(url, rounds)
            entry.update(asyncio.run(measure_register(url, calls=200, approvals=10)))
            migrations.downgrade(database_urls(load_settings(RMA_DATABASE_URL=url)), "base")
            result["databases"].append(entry)
    return result


def markdown(result: dict[str, Any]) -> str:
    look = result["lookups"]
    lines = [
        f"as_at: {look['as_at_us']} µs a call, statement(): {look['statement_us']} µs "
        f"({look['calls']} random names and dates); loading and validating the shipped "
        f"table: {look['load_and_validate']['median_ms']} ms",
        "",
        "| database | upgrade to head (median ms) | downgrade to base | table(), nothing new "
        "(median ms) | table() after an approval (median ms) |",
        "|---|---|---|---|---|",
    ]
    for db in result["databases"]:
        lines.append(
            f"| {db['dialect']} | {db['up']['median_ms']} | {db['down']['median_ms']} | "
            f"{db['table_unchanged']['median_ms']} | {db['table_after_an_approval']['median_ms']} |"
        )
    return "\n".join(lines)
