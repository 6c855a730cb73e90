"""``rma cases`` (list, purge) and ``rma eligibility CASE_ID|FILE.json``.

Both open the product's database (upgrading it if it is new or behind), and each read of
the cases is an audit entry of the operator's (ids and counts only). Purging erases
closed cases past retention the way ``DELETE /cases/{id}`` does, search index included
(the RAG service at ``RMA_RAG_URL``, with ``RMA_SERVICE_KEY``); it only lists them unless
``--yes``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import click
from pydantic import ValidationError

from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.cli import operator
from rma.app.facts import client_facts
from rma.app.routes.eligibility import FactsIn
from rma.app.services import CaseSearch
from rma.cases.erasure import erase_case
from rma.cases.models import CaseDocument, Debt
from rma.cases.store import CaseStore
from rma.cases.vault import Vault
from rma.config import Settings
from rma.db import Database
from rma.db.cli import run_on_database
from rma.eligibility import Assessment, ClientFacts, assess
from rma.errors import NotFound, RMAError
from rma.limits.changes import LimitRegister
from rma.text import format_date

T = TypeVar("T")
ISO = click.DateTime(formats=["%Y-%m-%d"])
MARKS = {"pass": "PASS", "fail": "FAIL", "unknown": " ?? "}


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group("cases")
def cases_group() -> None:
    """The clients' cases the adviser app keeps."""


@cases_group.command("list")
@click.option("--status", type=click.Choice(["open", "closed"]), help="Only open or closed cases.")
@click.option("--closed-before", type=ISO, help="Closed cases closed before this date.")
def list_cmd(status: str | None, closed_before: datetime | None) -> None:
    """List cases: reference, status and dates (no client details)."""

    async def work(_: Settings, database: Database) -> None:
        found = await CaseStore(database, None).cases(
            status=status, closed_before=closed_before.date() if closed_before else None
        )
        await AuditLog(database).record(
            operator(),
            AuditEvent("cases.list", detail={"command": "cases-list", "count": len(found)}),
        )
        for case in found:
            closed = f" closed {case.closed_on}" if case.closed_on else ""
            click.echo(f"{case.id:>6}  {case.reference}  {case.status:<6} opened {case.opened_on}"
                       f"{closed}")  # fmt: skip
        click.echo(f"{len(found)} case(s)")

    run_on_database(work)


@cases_group.command("purge")
@click.option(
    "--closed-before",
    type=ISO,
    required=True,
    help="Erase cases closed before this date (the end of their retention).",
)
@click.option("--yes", is_flag=True, help="Erase them (without it, only list them).")
def purge_cmd(closed_before: datetime, yes: bool) -> None:  # fmt: skip
    """List closed cases past retention; with --yes, erase each one completely (rows,
    files, search index, letters) and print its receipt."""

    async def work(settings: Settings, database: Database) -> int:
        vault = Vault.from_settings(settings) if yes else None
        store = CaseStore(database, vault)
        due = await store.cases(closed_before=closed_before.date())
        listed = {"command": "cases-purge", "count": len(due), "dry_run": not yes}
        await AuditLog(database).record(operator(), AuditEvent("cases.list", detail=listed))
        for case in due:
            counts = await store.counts(case.id, [CaseDocument, Debt])
            click.echo(
                f"{case.id:>6}  {case.reference}  closed {case.closed_on}  "
                f"{counts['case_documents']} document(s), {counts['debts']} debt(s)"
            )
        if not yes:
            click.echo(f"{len(due)} closed case(s) past retention; dry run: add --yes to erase")
            return 0
        search = CaseSearch(settings.rma_rag_url, settings.rma_service_key.get_secret_value())
        failed = 0
        try:
            for case in due:
                try:
                    receipt = await erase_case(store, case.id, operator(), search)
                except RMAError as exc:
                    failed += 1
                    click.echo(f"not erased {case.reference}: {exc}", err=True)
                    continue
                erased = AuditEvent(
                    "cases.erase", case_id=case.id, object_type="case", object_id=case.id,
                    detail={"closed_before": closed_before.date().isoformat()},
                )  # fmt: skip
                await AuditLog(database).record(operator(), erased)
                click.echo(json.dumps(receipt.as_dict()))
        finally:
            await search.aclose()
        click.echo(f"{len(due) - failed} case(s) erased, {failed} not", err=True)
        return 1 if failed else 0

    sys.exit(run_on_database(work))


# ---------------------------------------------------------------------- eligibility


def _facts_file(path: Path) -> tuple[ClientFacts, date | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path} is not readable JSON: {exc}") from None
    try:
        if isinstance(data, dict) and "facts" in data:
            given = FactsIn.model_validate(data)
            return given.facts, given.as_at
        return ClientFacts.model_validate(data), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8]
        )
        raise click.BadParameter(f"{path}: {problems}") from None


def describe(assessment: Assessment) -> list[str]:
    """An assessment as lines for a terminal."""
    lines = [f"Eligibility as at {format_date(assessment.as_at)} "
             f"(limits table {assessment.table_version})"]  # fmt: skip
    for scheme in assessment.schemes:
        lines += ["", f"{scheme.summary()}"]
        for c in scheme.criteria:
            value = f": {c.client_value}" if c.client_value else ""
            margin = f" ({c.margin})" if c.margin else ""
            near = "  NEAR MISS" if c.near_miss else ""
            shown = "" if c.decides else "  (counted in another criterion)"
            lines.append(f"  [{MARKS[c.outcome]}] {c.question}{value}{margin}{near}{shown}")
            if c.limit is not None:
                lines.append(f"         {c.limit.statement()}; {c.limit.source}")
            elif c.citation:
                lines.append(f"         {c.citation}")
            lines.extend(f"         missing: {m}" for m in c.missing)
            lines.extend(f"         {n}" for n in c.notes)
        lines.extend(f"  note: {n}" for n in scheme.notes)
    return lines


@click.command("eligibility")
@click.argument("case_or_file")
@click.option("--as-at", type=ISO, help="Judge with the limits in force on this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the assessment as JSON.")
def eligibility_cmd(case_or_file: str, as_at: datetime | None, as_json: bool) -> None:
    """Eligibility for a DRO, bankruptcy, breathing space and an IVA: for case CASE_ID
    (its confirmed figures) or for the facts in FILE.json."""
    path = Path(case_or_file)
    from_file = path.suffix == ".json" or path.exists()
    when = as_at.date() if as_at else None

    async def work(_: Settings, database: Database) -> Assessment:
        table = await LimitRegister(database).table()
        if from_file:
            facts, stated = _facts_file(path)
            return assess(facts, table, when or stated)
        if not case_or_file.isdigit():
            raise click.BadParameter(f"{case_or_file!r} is neither a case id nor a JSON file")
        case_id, audit = int(case_or_file), AuditLog(database)
        read = AuditEvent("cases.read", case_id=case_id, object_type="case", object_id=case_id,
                          detail={"command": "eligibility"})  # fmt: skip
        try:
            facts = await client_facts(CaseStore(database, None), case_id)
        except NotFound:
            await audit.record(operator(), replace(read, outcome="not_found"))
            raise
        await audit.record(operator(), read)
        return assess(facts, table, when)

    assessment = run_on_database(work)
    if as_json:
        click.echo(json.dumps(assessment.as_dict(), indent=2))
        return
    for line in describe(assessment):
        click.echo(line)


commands: list[click.Command] = [cases_group, eligibility_cmd]
