"""Changes to the limits after release: proposed, then approved or rejected, by people.

A change is either a **new value** from a date (the value in force before it ends the
day before; a value already known for a later date is kept) or a **correction** of one
row (its value or dates; a moved boundary moves the neighbouring row's with it). Each
is recorded with who proposed it, the evidence (a document, page and quote, or an
instrument), the reason and the value it replaces; a decision records who decided and
when. The effective table is the shipped table with the approved changes applied in
the order they were approved. Nothing a manual says changes it: only people the
permission table allows (:func:`rma.accounts.permissions.authorise`: anyone signed in
proposes, a supervisor or an admin approves or rejects, never their own proposal) do,
through :class:`LimitRegister`.

A change that cannot be applied any more (a newer shipped table already differs) is left
out of the effective table and listed in its ``warnings``; it never breaks a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rma import constants as C
from rma.accounts.permissions import Actor, Resource, authorise
from rma.db.engine import Database
from rma.errors import Conflict, InputError, NotFound
from rma.limits.records import LimitChangeRecord, LimitDecisionRecord
from rma.limits.table import (
    LimitRow,
    LimitTable,
    LimitTableError,
    canonical_name,
    display_value,
    shipped_table,
    with_rows,
)
from rma.text import format_date

Kind = Literal["new_value", "correction"]
ChangeStatus = Literal["proposed", "approved", "rejected"]


@dataclass(frozen=True)
class Proposal:
    """A change someone asks for. ``corrects`` names the row to correct (its first day as
    YYYY-MM-DD, or ``unknown-start``); without it, a new value from ``effective_from``."""

    name: str
    value: Decimal
    evidence: str
    reason: str
    effective_from: date | None = None
    effective_to: date | None = None
    corrects: str | None = None
    jurisdiction: str = C.DEFAULT_JURISDICTION
    evidence_page: int | None = None
    evidence_quote: str | None = None

    @property
    def kind(self) -> Kind:
        return "correction" if self.corrects else "new_value"


@dataclass(frozen=True)
class LimitChange:
    """A recorded change and, once decided, its decision."""

    id: int
    kind: Kind
    name: str
    jurisdiction: str
    value: Decimal
    unit: str
    effective_from: date | None
    effective_to: date | None
    corrects: str | None
    previous_value: Decimal | None
    previous_from: date | None
    previous_to: date | None
    evidence: str
    evidence_page: int | None
    evidence_quote: str | None
    reason: str
    proposed_by: str
    proposed_at: datetime
    table_version: str
    status: ChangeStatus = "proposed"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str = ""
    decision_id: int | None = None
    proposed_by_id: int | None = None
    decided_by_id: int | None = None

    @property
    def resource(self) -> Resource:
        """The change as the permission table sees it: who proposed it."""
        return Resource(author_id=self.proposed_by_id, author=self.proposed_by)

    @property
    def display(self) -> str:
        return display_value(self.value, self.unit)

    def summary(self) -> str:
        """ "#3 dro.max_debt: £60,000 from 1 April 2027 (was £50,000), proposed by ..." """
        if self.kind == "correction":
            what = f"correct the row from {self.corrects} to {self.display}"
        else:
            what = (
                f"{self.display} from {format_date(self.effective_from)}"
                if self.effective_from
                else self.display
            )
        if self.effective_to:
            what += f" to {format_date(self.effective_to)}"
        was = (
            f" (was {display_value(self.previous_value, self.unit)})"
            if self.previous_value is not None
            else ""
        )
        decided = f", {self.status} by {self.decided_by}" if self.decided_by else ""
        return f"#{self.id} {self.name}: {what}{was}, proposed by {self.proposed_by}{decided}"

    def as_dict(self) -> dict[str, Any]:
        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "value": str(self.value),
            "display": self.display,
            "unit": self.unit,
            "effective_from": iso(self.effective_from),
            "effective_to": iso(self.effective_to),
            "corrects": self.corrects,
            "previous": {
                "value": None if self.previous_value is None else str(self.previous_value),
                "effective_from": iso(self.previous_from),
                "effective_to": iso(self.previous_to),
            },
            "evidence": {
                "source": self.evidence,
                "page": self.evidence_page,
                "quote": self.evidence_quote,
            },
            "reason": self.reason,
            "proposed_by": self.proposed_by,
            "proposed_at": iso(self.proposed_at),
            "table_version": self.table_version,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at),
            "decision_note": self.decision_note,
        }


# ------------------------------------------------------------- applying a change (pure)


def apply_change(table: LimitTable, change: Proposal | LimitChange) -> LimitTable:
    """``table`` with ``change`` applied, validated again; InputError says why it cannot be."""
    rows = table.history(change.name, change.jurisdiction)
    definition = rows[0].definition
    change_id = change.id if isinstance(change, LimitChange) else None
    source = change.evidence + (f", page {change.evidence_page}" if change.evidence_page else "")
    if change.value < 0:
        raise InputError(f"{change.name}: a limit cannot be negative ({change.value})")
    if change.kind == "correction":
        changed = _correct(rows, change, source, change_id)
    else:
        changed = _new_value(rows, change, source, change_id)
    others = [
        r for r in table.rows if (r.name, r.jurisdiction) != (change.name, change.jurisdiction)
    ]
    try:
        return with_rows(table, others + changed, table.approved_changes, table.warnings)
    except LimitTableError as exc:
        raise InputError(
            f"this change to {definition.name} would leave the table invalid: "
            + "; ".join(exc.problems)
        ) from None


def _new_value(
    rows: list[LimitRow], change: Proposal | LimitChange, source: str, change_id: int | None
) -> list[LimitRow]:
    start = change.effective_from
    if start is None:
        raise InputError(f"a new value of {change.name} needs the date it takes effect (--from)")
    end = change.effective_to
    later = [r.first_day for r in rows if r.first_day > start]
    if end is None and later:  # runs until the next value already known
        end = min(later) - timedelta(days=1)
    covering = next((r for r in rows if r.covers(start)), None)
    shown = display_value(change.value, rows[0].unit)
    if covering is not None and covering.value == change.value:
        raise InputError(
            f"{change.name} is already {shown} on {format_date(start)}: nothing to change"
        )
    if covering is not None and covering.effective_from == start:
        raise InputError(
            f"{change.name} already has a value from {format_date(start)} ({covering.display}); "
            f"to change it, propose a correction of that row (--corrects {covering.key})"
        )
    hidden = [r for r in rows if start < r.first_day and (end is None or r.first_day <= end)]
    if hidden:
        listed = ", ".join(f"{r.display} {r.period()}" for r in hidden)
        raise InputError(
            f"a new value of {change.name} cannot replace recorded values ({listed}); "
            "correct those rows instead"
        )
    out = []
    for row in rows:
        if row is not covering:
            out.append(row)
            continue
        out.append(
            replace(row, effective_to=start - timedelta(days=1), to_unknown=False, known_to=None)
        )
        if end is not None and (row.last_day is None or row.last_day > end):
            out.append(replace(row, effective_from=end + timedelta(days=1), known_from=None))
    new = LimitRow(
        rows[0].definition, change.value, start, end, source, change.reason,
        origin="approved", change_id=change_id,
    )  # fmt: skip
    return sorted([*out, new], key=lambda r: r.first_day)


def _correct(
    rows: list[LimitRow], change: Proposal | LimitChange, source: str, change_id: int | None
) -> list[LimitRow]:
    index = next((i for i, r in enumerate(rows) if r.key == change.corrects), None)
    if index is None:
        keys = ", ".join(r.key for r in rows)
        raise NotFound(f"{change.name} has no row from {change.corrects}; its rows start: {keys}")
    target = rows[index]
    start = change.effective_from or target.effective_from
    fixed = replace(
        target,
        value=change.value,
        effective_from=start,
        known_from=None if start else target.known_from,
        effective_to=change.effective_to or target.effective_to,
        to_unknown=target.to_unknown and change.effective_to is None,
        known_to=target.known_to if change.effective_to is None else None,
        source=source,
        notes=change.reason,
        origin="approved",
        change_id=change_id,
    )
    if fixed.facts() == target.facts():
        raise InputError(
            f"the row of {change.name} from {change.corrects} already says that: nothing to change"
        )
    out = list(rows)
    out[index] = fixed
    one = timedelta(days=1)
    # A moved boundary moves the neighbour that touched it, so no gap or overlap appears.
    if index > 0 and fixed.first_day != target.first_day:
        before = out[index - 1]
        if before.last_day is not None and before.last_day + one == target.first_day:
            out[index - 1] = replace(before, effective_to=fixed.first_day - one)
    if index + 1 < len(out) and fixed.last_day != target.last_day and fixed.last_day is not None:
        after = out[index + 1]
        if target.last_day is not None and target.last_day + one == after.first_day:
            out[index + 1] = replace(after, effective_from=fixed.last_day + one, known_from=None)
    return out


def effective_table(shipped: LimitTable, approved: list[LimitChange]) -> LimitTable:
    """The shipped table with the approved changes applied in the order they were approved."""
    table, applied, warnings = shipped, [], list(shipped.warnings)
    for change in approved:
        try:
            table = apply_change(table, change)
            applied.append(change.id)
        except (InputError, LimitTableError) as exc:
            warnings.append(f"approved change #{change.id} to {change.name} is not applied: {exc}")
    return with_rows(table, table.rows, tuple(applied), warnings)


# ------------------------------------------------------------------ the register (db)


class LimitRegister:
    """The governed limits: the shipped table and the changes recorded in the database.

    ``await register.table()`` is the effective table; it is rebuilt only when a new
    decision has been recorded (one indexed query tells), so calling it per answer is cheap.
    """

    def __init__(self, database: Database, shipped: LimitTable | None = None) -> None:
        self.database = database
        self.shipped = shipped or shipped_table()
        self._table: LimitTable | None = None
        self._marker: int | None = None

    async def table(self) -> LimitTable:
        async with self.database.session() as session:
            marker = await session.scalar(select(func.max(LimitDecisionRecord.id)))
            if self._table is not None and marker == self._marker:
                return self._table
            approved = await _changes(session, status="approved")
        table = effective_table(self.shipped, sorted(approved, key=lambda c: c.decision_id or 0))
        self._table, self._marker = table, marker
        return table

    async def changes(
        self, status: ChangeStatus | None = None, name: str | None = None
    ) -> list[LimitChange]:
        name = canonical_name(name) if name else None
        async with self.database.session() as session:
            return await _changes(session, status=status, name=name)

    async def change(self, change_id: int) -> LimitChange:
        async with self.database.session() as session:
            found = await _changes(session, change_id=change_id)
        if not found:
            raise NotFound(f"there is no limit change #{change_id}")
        return found[0]

    async def propose(self, proposal: Proposal, actor: Actor) -> LimitChange:
        """Record a proposal, after checking it would leave a valid table."""
        authorise(actor, "limits.propose")
        proposal = replace(proposal, name=canonical_name(proposal.name))
        for label, text in (("evidence", proposal.evidence), ("reason", proposal.reason)):
            if not text.strip():
                raise InputError(f"a change to a limit needs its {label}")
        table = await self.table()
        definition = table.definition(proposal.name, proposal.jurisdiction)
        apply_change(table, proposal)
        previous = _previous(table.history(proposal.name, proposal.jurisdiction), proposal)
        record = LimitChangeRecord(
            kind=proposal.kind,
            name=proposal.name,
            jurisdiction=proposal.jurisdiction,
            value=str(proposal.value),
            unit=definition.unit,
            effective_from=proposal.effective_from,
            effective_to=proposal.effective_to,
            corrects=proposal.corrects,
            previous_value=None if previous is None else str(previous.value),
            previous_from=None if previous is None else previous.effective_from,
            previous_to=None if previous is None else previous.effective_to,
            evidence=proposal.evidence.strip(),
            evidence_page=proposal.evidence_page,
            evidence_quote=proposal.evidence_quote,
            reason=proposal.reason.strip(),
            proposed_by=actor.name.strip(),
            proposed_by_id=actor.id,
            proposed_at=datetime.now(UTC),
            table_version=table.version,
        )
        async with self.database.session() as session:
            session.add(record)
            await session.commit()
            change_id = record.id
        return await self.change(change_id)

    async def approve(self, change_id: int, actor: Actor, note: str = "") -> LimitChange:
        """Approve a proposal: from now on the effective table includes it."""
        change = await self.change(change_id)
        authorise(actor, "limits.approve", change.resource)
        change = await self._undecided(change_id)
        try:
            apply_change(await self.table(), change)
        except InputError as exc:
            raise Conflict(
                f"change #{change_id} cannot be approved as the table stands: {exc}"
            ) from None
        return await self._decide(change, "approved", actor, note)

    async def reject(self, change_id: int, actor: Actor, note: str) -> LimitChange:
        """Reject a proposal; a reason is required."""
        authorise(actor, "limits.reject", (await self.change(change_id)).resource)
        if not note.strip():
            raise InputError("say why the change is rejected (--reason)")
        return await self._decide(await self._undecided(change_id), "rejected", actor, note)

    async def _undecided(self, change_id: int) -> LimitChange:
        change = await self.change(change_id)
        if change.status != "proposed":
            when = change.decided_at.date().isoformat() if change.decided_at else "?"
            raise Conflict(
                f"change #{change_id} was already {change.status} by {change.decided_by} on {when}"
            )
        return change

    async def _decide(
        self, change: LimitChange, decision: str, actor: Actor, note: str
    ) -> LimitChange:
        record = LimitDecisionRecord(
            change_id=change.id,
            decision=decision,
            decided_by=actor.name.strip(),
            decided_by_id=actor.id,
            decided_at=datetime.now(UTC),
            note=note.strip(),
        )
        async with self.database.session() as session:
            session.add(record)
            try:
                await session.commit()
            except IntegrityError:
                raise Conflict(
                    f"change #{change.id} was decided by someone else just now"
                ) from None
        return await self.change(change.id)


def _previous(rows: list[LimitRow], proposal: Proposal) -> LimitRow | None:
    if proposal.kind == "correction":
        return next((r for r in rows if r.key == proposal.corrects), None)
    assert proposal.effective_from is not None
    return next((r for r in rows if r.covers(proposal.effective_from)), None)


async def _changes(
    session: AsyncSession,
    *,
    status: ChangeStatus | None = None,
    name: str | None = None,
    change_id: int | None = None,
) -> list[LimitChange]:
    query = select(LimitChangeRecord, LimitDecisionRecord).outerjoin(
        LimitDecisionRecord, LimitDecisionRecord.change_id == LimitChangeRecord.id
    )
    if name is not None:
        query = query.where(LimitChangeRecord.name == name)
    if change_id is not None:
        query = query.where(LimitChangeRecord.id == change_id)
    if status == "proposed":
        query = query.where(LimitDecisionRecord.id.is_(None))
    elif status is not None:
        query = query.where(LimitDecisionRecord.decision == status)
    result = await session.execute(query.order_by(LimitChangeRecord.id))
    return [_change(c, d) for c, d in result.all()]


def _change(c: LimitChangeRecord, d: LimitDecisionRecord | None) -> LimitChange:
    return LimitChange(
        id=c.id,
        kind=c.kind,  # type: ignore[arg-type]
        name=c.name,
        jurisdiction=c.jurisdiction,
        value=Decimal(c.value),
        unit=c.unit,
        effective_from=c.effective_from,
        effective_to=c.effective_to,
        corrects=c.corrects,
        previous_value=None if c.previous_value is None else Decimal(c.previous_value),
        previous_from=c.previous_from,
        previous_to=c.previous_to,
        evidence=c.evidence,
        evidence_page=c.evidence_page,
        evidence_quote=c.evidence_quote,
        reason=c.reason,
        proposed_by=c.proposed_by,
        proposed_at=c.proposed_at,
        table_version=c.table_version,
        status="proposed" if d is None else d.decision,  # type: ignore[arg-type]
        decided_by=None if d is None else d.decided_by,
        decided_at=None if d is None else d.decided_at,
        decision_note="" if d is None else d.note,
        decision_id=None if d is None else d.id,
        proposed_by_id=c.proposed_by_id,
        decided_by_id=None if d is None else d.decided_by_id,
    )
