"""What a page of the adviser app costs the server with a working caseload: 500 cases
(seeded straight through the case store, with debts, budget lines, notes and letters,
some waiting for confirmation or approval) on SQLite, each page requested in-process
(ASGI, no network), with the JSON API's case list timed beside the pages as a baseline.
The dashboard lists the cases a page at a time (``CASES_PER_PAGE``): its first and its
last page are both timed.

Times are the server's whole answer: the permission check, the audit entries every
request writes, the queries and the template. Reported, never asserted.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from rma import constants as C
from rma.accounts.approvals import LetterApprovals
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.accounts.tokens import Tokens
from rma.bench.accounts import PASSWORD
from rma.bench.stats import percentile, summary_ms
from rma.cases.schema import BudgetLineIn, ClientDetails, DebtDetails, NewCase, NoteIn
from rma.cases.store import CaseStore
from rma.cases.vault import generate_key
from rma.config import Settings, load_settings
from rma.db import Database, database_urls
from rma.db import migrate as migrations

OPERATOR = Actor("operator:bench", kind="operator", via="cli")
KINDS = ("credit_card", "personal_loan", "council_tax", "rent", "overdraft", "catalogue")
CREDITORS = ("Northgate Bank", "Harbour Credit", "Pennine Loans", "City Council", "Moor Homes")


def bench_settings(folder: Path) -> Settings:
    dead = "http://127.0.0.1:9"  # nothing listens: no page measured calls a service
    return load_settings(
        RMA_DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
        RMA_DATA_DIR=str(folder / "data"),
        RMA_ENCRYPTION_KEY=generate_key("bench"),
        RMA_SERVICE_KEY="bench-service-key-0123456789",
        RMA_NOTES_URL=dead,
        RMA_DOCS_URL=dead,
        RMA_RAG_URL=dead,
        RMA_LOG_LEVEL="WARNING",
        RMA_ARGON2_MEMORY_KIB="8192",
        RMA_ARGON2_TIME_COST="1",
        RMA_ARGON2_PARALLELISM="1",
    )


async def seed(settings: Settings, cases: int, rng: random.Random) -> dict[str, Any]:
    """People with tokens, and ``cases`` cases with their debts, budget, notes and letters."""
    database = Database.from_settings(settings)
    try:
        directory, tokens = Directory(database, settings), Tokens(database)
        people: dict[str, Any] = {}
        for role, team in (("adviser", "North"), ("supervisor", "North"), ("admin", None)):
            user = await directory.create_user(
                OPERATOR, email=f"{role}@bench.example", display_name=role, role=role,
                password=PASSWORD, team=team,
            )  # fmt: skip
            token = await tokens.create_personal(OPERATOR, user.id, "bench")
            people[role] = {"id": user.id, "team_id": user.team_id, "token": token.secret}
        adviser = people["adviser"]
        me = Actor("adviser@bench.example", "adviser", adviser["id"], adviser["team_id"])
        boss = Actor("supervisor@bench.example", "supervisor", people["supervisor"]["id"])
        store, approvals = CaseStore(database, None), LetterApprovals(database)
        t0 = time.perf_counter()
        ids = []
        for n in range(cases):
            mine = n % 2 == 0  # half the adviser's, half another (unassigned) adviser's
            case = await store.create_case(me, NewCase(
                client=ClientDetails.model_validate({"name": f"Client {n:04d}"}),
                adviser_id=adviser["id"] if mine else None,
                team_id=adviser["team_id"] if mine else None,
            ))  # fmt: skip
            ids.append(case.id)
            for _ in range(rng.randrange(1, 6)):
                details = DebtDetails.model_validate({
                    "creditor": rng.choice(CREDITORS), "kind": rng.choice(KINDS),
                    "balance_pence": rng.randrange(10_000, 900_000)})  # fmt: skip
                source = "notes" if rng.random() < 0.1 else "adviser"
                await store.add_debt(case.id, me, details, source=source)
            for direction, category in (("income", "benefits"), ("spending", "utilities")):
                await store.add_budget_line(case.id, me, BudgetLineIn.model_validate({
                    "direction": direction, "category": category,
                    "amount_pence": rng.randrange(10_000, 150_000)}))  # fmt: skip
            note = await store.add_note(case.id, me, NoteIn(body=f"Seen client {n}."))
            letter = await store.add_letter(
                case.id, me, body=f"Dear Client {n:04d},\n\nWe met today.", note_id=note.id,
                details={"your_actions": [{"action": "Send payslips", "due": "2099-01-01"}]},
            )  # fmt: skip
            if rng.random() < 0.1:
                await approvals.submit(boss, letter.id)
        seconds = time.perf_counter() - t0
    finally:
        await database.aclose()
    return {"people": people, "case_ids": ids, "seed_s": round(seconds, 1)}


async def measure(settings: Settings, seeded: dict[str, Any], calls: int) -> dict[str, Any]:
    from rma.app.api import create

    app = create(settings=settings)
    people, ids = seeded["people"], seeded["case_ids"]
    case_id = ids[len(ids) // 4 * 2]  # one of the adviser's own (every other case)
    last = max(1, -(-len(ids) // C.CASES_PER_PAGE))
    targets = [
        (f"dashboard (adviser: {(len(ids) + 1) // 2} cases, page 1)", "adviser", "/"),
        (f"dashboard (supervisor: {len(ids)} cases, page 1)", "supervisor", "/"),
        (f"dashboard (supervisor: {len(ids)} cases, last page)", "supervisor", f"/?page={last}"),
        ("case page", "adviser", f"/ui/cases/{case_id}"),
        ("limits", "adviser", "/ui/limits"),
        ("audit log (200 entries)", "admin", "/ui/admin/audit"),
        ("JSON: GET /cases (supervisor)", "supervisor", "/cases"),
        ("JSON: GET /cases/{id}/eligibility", "adviser", f"/cases/{case_id}/eligibility"),
    ]
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            for label, who, path in targets:
                headers = {"Authorization": f"Bearer {people[who]['token']}"}
                spent = []
                for i in range(calls + 3):
                    t0 = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    took = time.perf_counter() - t0
                    if response.status_code != 200:
                        raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
                    if i >= 3:  # the first requests warm caches and templates
                        spent.append(took)
                stats = summary_ms(spent)
                stats["p95_ms"] = round(percentile([s * 1000 for s in spent], 95), 2)
                stats["bytes"] = len(response.content)
                out[label] = stats
    return out


def run(cases: int, calls: int, seed_value: int = 17) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(Path(folder))
        migrations.upgrade(database_urls(settings))
        seeded = asyncio.run(seed(settings, cases, random.Random(seed_value)))
        pages = asyncio.run(measure(settings, seeded, calls))
    baseline = pages["JSON: GET /cases (supervisor)"]["p95_ms"]
    for stats in pages.values():
        stats["p95_vs_json_list"] = round(stats["p95_ms"] / baseline, 2) if baseline else None
    return {"cases": cases, "calls": calls, "database": "sqlite", "seed_s": seeded["seed_s"],
            "pages": pages}  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['cases']} cases on {result['database']} (seeded in {result['seed_s']} s), "
        f"{result['calls']} requests each, server-side (in-process ASGI):",
        "",
        "| page | median ms | p95 ms | p99 ms | p95 vs the JSON case list | bytes |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in result["pages"].items():
        lines.append(
            f"| {label} | {s['median_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
            f"{s['p95_vs_json_list']}x | {s['bytes']} |"
        )
    return "\n".join(lines)
