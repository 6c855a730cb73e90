"""``rma limits``: list, show, diff, propose, approve and reject changes to legal limits."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import click

from rma import constants as C
from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.directory import Directory
from rma.accounts.permissions import Actor
from rma.config import load_settings
from rma.db.cli import run_on_database
from rma.errors import Forbidden, RMAError
from rma.limits.changes import LimitChange, LimitRegister, Proposal
from rma.limits.table import LimitRow, LimitTable, LimitValue, ValueChange, shipped_table

T = TypeVar("T")
BY_HELP = "The email of your RMA account (approving or rejecting: a supervisor or an admin)."
ISO = click.DateTime(formats=["%Y-%m-%d"])


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _run(work: Callable[[LimitRegister], Awaitable[T]]) -> T:
    """Open the database (upgrading it if it is new or behind), run ``work``, close it."""
    return run_on_database(lambda _, database: work(LimitRegister(database, shipped_table())))


def _as(
    by: str, action: str, work: Callable[[LimitRegister, Actor], Awaitable[LimitChange]]
) -> LimitChange:
    """Run ``work`` as the user whose email is ``by``, and audit it (refusals too)."""

    async def run(register: LimitRegister) -> LimitChange:
        actor = await Directory(register.database, load_settings()).actor_for(by, via="cli")
        audit = AuditLog(register.database)
        try:
            change = await work(register, actor)
        except Forbidden:
            await audit.record(actor, AuditEvent(action, outcome="denied"))
            raise
        await audit.record(
            actor, AuditEvent(action, object_type="limit_change", object_id=change.id)
        )
        return change

    return _run(run)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _value(text: str) -> Decimal:
    cleaned = text.strip().removeprefix("£").removesuffix("%").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a number (e.g. 50000, £50,000 or 75%)") from None
    if not value.is_finite():
        raise click.BadParameter(f"{text!r} is not a number")
    return value


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _line(value: LimitValue) -> str:
    origin = value.origin if value.row.change_id is None else f"approved #{value.row.change_id}"
    return (
        f"{value.name:<42} {value.display:>14}  {value.status:<10} "
        f"{value.row.period():<44} {origin}"
    )


JURISDICTION_HELP = "Which law's limits (e.g. england-wales)."


@click.group("limits")
def limits_group() -> None:
    """Legal limits: the dated table RMA states, and approved changes to it."""


@limits_group.command("list")
@click.option("--as-at", "as_at", type=ISO, help="The values in force on this date (YYYY-MM-DD).")
@click.option(
    "--all", "every", is_flag=True, help="Every value, past and announced, not only those in force."
)
@click.option("--jurisdiction", default=None, help="Only this jurisdiction (e.g. england-wales).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_cmd(as_at: datetime | None, every: bool, jurisdiction: str | None, as_json: bool) -> None:
    """List the limits in force today (or on --as-at), or every value with --all."""
    if every and as_at:
        raise click.UsageError("--all lists every date; leave out --as-at")
    table = _run(lambda register: register.table())
    if jurisdiction is not None and jurisdiction not in table.jurisdictions:
        _fail(f"unknown jurisdiction {jurisdiction!r}; known: {', '.join(table.jurisdictions)}")
    if every:
        values = [
            table.seen_today(r)
            for r in table.sorted_rows()
            if jurisdiction in (None, r.jurisdiction)
        ]
    else:
        values = table.at(_day(as_at), jurisdiction)
    if as_json:
        _echo_json({**table.as_dict(), "limits": [v.as_dict() for v in values]})
        return
    when = "every value" if every else f"in force on {(_day(as_at) or date.today()).isoformat()}"
    click.echo(
        f"Limits table {table.version} ({when}; {len(table.approved_changes)} approved changes)"
    )
    for value in values:
        click.echo(_line(value))
    for warning in table.warnings:
        click.echo(f"warning: {warning}", err=True)


@limits_group.command("show")
@click.argument("name")
@click.option("--as-at", "as_at", type=ISO, help="The value in force on this date (YYYY-MM-DD).")
@click.option(
    "--jurisdiction", default=C.DEFAULT_JURISDICTION, show_default=True, help=JURISDICTION_HELP
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show_cmd(name: str, as_at: datetime | None, jurisdiction: str, as_json: bool) -> None:
    """Show one limit: its value (today or --as-at), every past value and open proposals."""

    async def work(register: LimitRegister) -> tuple[LimitTable, list[LimitChange]]:
        return await register.table(), await register.changes("proposed", name)

    table, proposals = _run(work)
    try:
        value = table.as_at(name, _day(as_at), jurisdiction)
        rows = table.history(name, jurisdiction)
    except RMAError as exc:
        _fail(str(exc))
    if as_json:
        _echo_json({
            **value.as_dict(),
            "history": [table.seen_today(r).as_dict() for r in rows],
            "proposals": [p.as_dict() for p in proposals],
        })  # fmt: skip
        return
    definition = value.row.definition
    click.echo(value.statement() + ".")
    click.echo(f"  {definition.description}")
    click.echo(f"  source: {value.source}")
    if value.row.notes:
        click.echo(f"  notes: {value.row.notes}")
    click.echo(f"  unit: {definition.unit}; compared as: {definition.comparison}")
    click.echo("history:")
    for row in rows:
        click.echo("  " + _line(table.seen_today(row)))
    for proposal in proposals:
        click.echo(f"proposed, not approved: {proposal.summary()}")


@limits_group.command("history")
@click.argument("name")
@click.option(
    "--jurisdiction", default=C.DEFAULT_JURISDICTION, show_default=True, help=JURISDICTION_HELP
)
def history_cmd(name: str, jurisdiction: str) -> None:
    """Every value NAME has had, and every change proposed for it."""

    async def work(register: LimitRegister) -> tuple[LimitTable, list[LimitChange]]:
        return await register.table(), await register.changes(name=name)

    table, changes = _run(work)
    try:
        rows = table.history(name, jurisdiction)
    except RMAError as exc:
        _fail(str(exc))
    for row in rows:
        value = table.seen_today(row)
        click.echo(f"{value.statement()}.")
        click.echo(f"    source: {row.source}")
    for change in changes:
        page = f", page {change.evidence_page}" if change.evidence_page else ""
        quote = f' ("{change.evidence_quote}")' if change.evidence_quote else ""
        click.echo(f"change {change.summary()}")
        click.echo(f"    evidence: {change.evidence}{page}{quote}; reason: {change.reason}")


@limits_group.command("diff")
@click.option("--from", "first", type=ISO, help="The earlier date (YYYY-MM-DD).")
@click.option("--to", "second", type=ISO, help="The later date (YYYY-MM-DD).")
@click.option("--jurisdiction", default=None, help="Only this jurisdiction (e.g. england-wales).")
def diff_cmd(first: datetime | None, second: datetime | None, jurisdiction: str | None) -> None:
    """Limits whose value differs between two dates; without dates, what the approved
    changes altered in the shipped table."""
    if (first is None) != (second is None):
        raise click.UsageError("give both --from and --to, or neither")
    table = _run(lambda register: register.table())
    if first and second:
        changes = table.changes_between(first.date(), second.date(), jurisdiction)
        click.echo(f"Values in force on {first.date()} and on {second.date()}:")
    else:
        changes = shipped_table().diff(table)
        click.echo(f"The shipped table {table.version} and the approved changes:")
    if not changes:
        click.echo("  no differences")
    for change in changes:
        click.echo("  " + _describe(change))


def _describe(change: ValueChange) -> str:
    def side(row: LimitRow | None) -> str:
        return "no value" if row is None else f"{row.display} ({row.period()})"

    return f"{change.name}: {side(change.before)} -> {side(change.after)}"


@limits_group.command("changes")
@click.option(
    "--status",
    type=click.Choice(["proposed", "approved", "rejected"]),
    help="Only changes in this state.",
)
@click.option("--name", default=None, help="Only changes to this limit.")
def changes_cmd(status: str | None, name: str | None) -> None:
    """List proposed, approved and rejected changes."""
    changes = _run(lambda register: register.changes(status, name))  # type: ignore[arg-type]
    if not changes:
        click.echo("no changes recorded")
    for change in changes:
        click.echo(f"{change.summary()} [{change.status}]")


@limits_group.command("propose")
@click.argument("name")
@click.option("--value", "value_text", required=True, help="The value, e.g. 50000, £50,000 or 75%.")
@click.option(
    "--from", "start", type=ISO, help="First day in force (a new value; or a corrected start)."
)
@click.option("--to", "end", type=ISO, help="Last day in force, if known.")
@click.option(
    "--corrects",
    default=None,
    help="Correct the row that starts on this day (YYYY-MM-DD or unknown-start).",
)
@click.option("--evidence", required=True, help="The instrument, or the document it is stated in.")
@click.option("--page", type=click.IntRange(min=1), default=None, help="The page of that document.")
@click.option("--quote", default=None, help="The words that state it.")
@click.option("--reason", required=True, help="Why the table should change.")
@click.option("--by", "by", required=True, metavar="EMAIL", help=BY_HELP)
@click.option(
    "--jurisdiction", default=C.DEFAULT_JURISDICTION, show_default=True, help=JURISDICTION_HELP
)
def propose_cmd(
    name: str,
    value_text: str,
    start: datetime | None,
    end: datetime | None,
    corrects: str | None,
    evidence: str,
    page: int | None,
    quote: str | None,
    reason: str,
    by: str,
    jurisdiction: str,
) -> None:
    """Propose a new value of NAME from a date, or a correction of one of its rows. Nothing
    changes until someone approves it."""
    if corrects is None and start is None:
        raise click.UsageError("a new value needs --from (or use --corrects to correct a row)")
    proposal = Proposal(
        name=name, value=_value(value_text), evidence=evidence, reason=reason,
        effective_from=_day(start), effective_to=_day(end), corrects=corrects,
        jurisdiction=jurisdiction, evidence_page=page, evidence_quote=quote,
    )  # fmt: skip
    change = _as(by, "limits.propose", lambda register, actor: register.propose(proposal, actor))
    click.echo(f"proposed {change.summary()}")
    click.echo(
        f"nothing changes until someone else approves it: rma limits approve {change.id} --by EMAIL"
    )


@limits_group.command("approve")
@click.argument("change_id", type=int)
@click.option("--by", "by", required=True, metavar="EMAIL", help=BY_HELP)
@click.option("--note", default="", help="Anything the record should say.")
def approve_cmd(change_id: int, by: str, note: str) -> None:
    """Approve proposed change CHANGE_ID: RMA states the new value from now on."""
    change = _as(
        by, "limits.approve", lambda register, actor: register.approve(change_id, actor, note)
    )
    click.echo(f"approved {change.summary()}")


@limits_group.command("reject")
@click.argument("change_id", type=int)
@click.option("--by", "by", required=True, metavar="EMAIL", help=BY_HELP)
@click.option("--reason", required=True, help="Why it is rejected.")
def reject_cmd(change_id: int, by: str, reason: str) -> None:
    """Reject proposed change CHANGE_ID."""
    change = _as(
        by, "limits.reject", lambda register, actor: register.reject(change_id, actor, reason)
    )
    click.echo(f"rejected {change.summary()}")


commands = [limits_group]
