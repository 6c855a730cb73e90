"""The audit log: who did what, when, to which case and object, with what outcome.

Append-only and hash-chained. Each entry holds the previous entry's hash and its own
(SHA-256 over its fields and that previous hash, as canonical JSON), so a changed entry,
a deleted one or two swapped ones break the chain, and ``rma audit verify`` says where.
The database also refuses UPDATE and DELETE on the table (triggers, migration 0003).

Writers are serialised on the chain's head row (``audit_chain``, one row): each entry
starts with ``UPDATE audit_chain SET seq = seq + 1 ... RETURNING``, which takes the row
lock on PostgreSQL (a second writer waits, then reads the new head) and the write lock on
SQLite, so two entries never claim the same predecessor, across processes and replicas.

Retention: ``rma audit purge`` removes the oldest entries (those older than
``RMA_AUDIT_RETENTION_DAYS``, as a prefix of the chain), records the last removed entry
as the chain's anchor, and appends an ``audit.purge`` entry that names that anchor, so
the remaining chain still verifies from its first entry and the purge is itself on record.

What it refuses: client text. An entry holds identifiers only: the actor, the action,
the outcome, case and object ids, the request id, and ``detail`` values that are
numbers, booleans or short identifier-like strings (``DETAIL_VALUE``); anything else
raises before it is written.

What a hash chain cannot do alone: someone able to rewrite the whole table can rebuild
every hash. Keep the head hash ``rma audit verify`` prints somewhere else (the
organisation's own logs) and pass it back with ``--expect-head`` to catch that.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rma.accounts.models import AuditChain, AuditEntry
from rma.accounts.permissions import Actor
from rma.db.engine import Database
from rma.service.logs import request_id as current_request_id

GENESIS = "0" * 64
# The fields an entry's hash covers, in this order.
HASHED = (
    "seq", "at", "actor_kind", "actor_id", "actor", "via", "action", "outcome", "case_id",
    "object_type", "object_id", "request_id", "detail", "prev_hash",
)  # fmt: skip
# A detail value that is a string must look like an identifier, a status, a date or a
# route template: no spaces, so no sentence of client text fits.
DETAIL_VALUE = re.compile(r"^[A-Za-z0-9_.:+@/{}-]{0,64}$")
OBJECT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ACTION = re.compile(r"^[a-z][a-z0-9_.-]{0,59}$")
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class AuditEvent:
    """What happened, before it is chained: identifiers only."""

    action: str
    outcome: str = "ok"
    case_id: int | None = None
    object_type: str | None = None
    object_id: str | int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not ACTION.match(self.action):
            raise ValueError(f"an audit action is a dotted identifier, not {self.action!r}")
        if not ACTION.match(self.outcome):
            raise ValueError(f"an audit outcome is an identifier, not {self.outcome!r}")
        if self.object_id is not None and not OBJECT_ID.match(str(self.object_id)):
            raise ValueError("an audit object id is an identifier")
        for key, value in self.detail.items():
            if not ACTION.match(key):
                raise ValueError(f"audit detail key {key!r} is not an identifier")
            if isinstance(value, str) and not DETAIL_VALUE.match(value):
                raise ValueError(f"audit detail {key!r} is not an identifier-like value")
            if value is not None and not isinstance(value, (str, int, bool)):
                raise ValueError(f"audit detail {key!r} must be a number, a flag or an id")


@dataclass(frozen=True)
class Verification:
    """What ``rma audit verify`` found."""

    entries: int
    first_seq: int | None
    head_seq: int
    head_hash: str
    anchor_seq: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_seq": self.first_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "anchor_seq": self.anchor_seq,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class PurgeReport:
    before: datetime
    removed: int
    first_seq: int | None  # the oldest entry removed (or that would be)
    last_seq: int | None
    dry_run: bool


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain values (what the hash covers, plus the hash): the export's line."""
    return {
        "seq": entry.seq,
        "at": _iso(entry.at),
        "actor_kind": entry.actor_kind,
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "via": entry.via,
        "action": entry.action,
        "outcome": entry.outcome,
        "case_id": entry.case_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "request_id": entry.request_id,
        "detail": dict(entry.detail or {}),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def hash_of(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {k: fields[k] for k in HASHED}, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def check_chain(
    entries: Iterable[Mapping[str, Any]],
    *,
    anchor_seq: int,
    anchor_hash: str,
    head_seq: int | None = None,
    head_hash: str | None = None,
) -> tuple[int, int | None, list[str]]:
    """Walk ``entries`` (oldest first) from the anchor; (entries seen, first seq, problems).
    With ``head_seq``/``head_hash``, also check nothing is missing after the last one."""
    problems: list[str] = []
    expected_seq, expected_prev = anchor_seq + 1, anchor_hash
    count, first, last_hash, last_seq = 0, None, anchor_hash, anchor_seq
    purge_anchor: tuple[int, str] | None = None

    def problem(text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)

    for fields in entries:
        count += 1
        seq = int(fields["seq"])
        first = seq if first is None else first
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "out of order"
            problem(f"entry {expected_seq} is {what}: entry {seq} comes after entry {last_seq}")
        if fields["prev_hash"] != expected_prev:
            problem(
                f"entry {seq} does not follow entry {last_seq}: an entry between them was "
                "deleted, inserted or moved"
            )
        if hash_of(fields) != fields["entry_hash"]:
            problem(f"entry {seq} was changed after it was written (its hash does not match)")
        if fields["action"] == "audit.purge":
            detail = fields["detail"] or {}
            purge_anchor = (int(detail.get("anchor_seq", -1)), str(detail.get("anchor_hash", "")))
        expected_seq, expected_prev = seq + 1, fields["entry_hash"]
        last_seq, last_hash = seq, fields["entry_hash"]
    if anchor_seq == 0 and anchor_hash != GENESIS:
        problem("the chain's anchor was changed: no purge has run, yet it is not the genesis")
    if anchor_seq > 0 and purge_anchor != (anchor_seq, anchor_hash):
        problem(
            f"the chain starts after entry {anchor_seq}, but no purge entry records removing "
            "the entries up to it"
        )
    if head_seq is not None and (last_seq != head_seq or last_hash != head_hash):
        problem(
            f"the chain's head is entry {head_seq}, but the log ends at entry {last_seq}: "
            "the newest entries were deleted or changed"
        )
    return count, first, problems


class AuditLog:
    """Append, read, verify, export and purge the audit log in the product's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(
        self, actor: Actor, event: AuditEvent, *, request_id: str | None = None
    ) -> int:
        """Append one entry (in its own transaction); its sequence number."""
        async with self.database.session() as session:
            seq = await append(session, actor, event, request_id=request_id)
            await session.commit()
        return seq

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        case_id: int | None = None,
        action: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        query = select(AuditEntry)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        if case_id is not None:
            query = query.where(AuditEntry.case_id == case_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if after_seq is not None:
            query = query.where(AuditEntry.seq > after_seq)
        order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq
        query = query.order_by(order).limit(limit)
        async with self.database.session() as session:
            return [entry_fields(e) for e in (await session.scalars(query)).all()]

    async def stream(self, *, since: datetime | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every entry, oldest first, read in batches (for export and verify)."""
        query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        async with self.database.session() as session:
            result = await session.stream_scalars(query)
            async for entry in result:
                yield entry_fields(entry)

    async def head(self) -> AuditChain:
        async with self.database.session() as session:
            chain = await session.get(AuditChain, 1)
        if chain is None:
            raise RuntimeError("the audit chain's head row is missing (run `rma db upgrade`)")
        return chain

    async def verify(self, expect_head: str | None = None) -> Verification:
        """Check every entry against its hash and its predecessor, the anchor against the
        purges, and the last entry against the head (and ``expect_head``, if given)."""
        chain = await self.head()
        fields = [f async for f in self.stream()]
        count, first, problems = check_chain(
            fields,
            anchor_seq=chain.anchor_seq,
            anchor_hash=chain.anchor_hash,
            head_seq=chain.seq,
            head_hash=chain.head_hash,
        )
        if expect_head and expect_head not in (chain.head_hash, *(f["entry_hash"] for f in fields)):
            problems.append(
                f"the head hash recorded elsewhere ({expect_head[:12]}...) is not in the chain: "
                "the log was rewritten"
            )
        return Verification(count, first, chain.seq, chain.head_hash, chain.anchor_seq, problems)

    async def purge(self, before: datetime, actor: Actor, *, dry_run: bool = True) -> PurgeReport:
        """Remove the entries older than ``before`` (the oldest part of the chain, up to
        the first entry that is not), anchoring the chain on the last one removed."""
        async with self.database.session() as session:
            if dry_run:
                first, last = await _purgeable(session, before)
                removed = 0 if first is None or last is None else last - first + 1
                return PurgeReport(before, removed, first, last, True)
            # Lock the head (and set the boundary the delete trigger checks) first.
            await session.execute(
                update(AuditChain).where(AuditChain.id == 1).values(purge_before=before)
            )
            first, last = await _purgeable(session, before)
            removed = 0
            if first is not None and last is not None:
                anchor_hash = await session.scalar(
                    select(AuditEntry.entry_hash).where(AuditEntry.seq == last)
                )
                done = await session.execute(delete(AuditEntry).where(AuditEntry.seq <= last))
                removed = int(done.rowcount or 0)  # type: ignore[attr-defined]
                await session.execute(
                    update(AuditChain)
                    .where(AuditChain.id == 1)
                    .values(anchor_seq=last, anchor_hash=anchor_hash)
                )
            await session.execute(
                update(AuditChain).where(AuditChain.id == 1).values(purge_before=None)
            )
            chain = await session.get(AuditChain, 1)
            assert chain is not None
            await session.refresh(chain)
            await append(
                session,
                actor,
                AuditEvent(
                    "audit.purge",
                    detail={
                        "before": _iso(before),
                        "removed": removed,
                        "anchor_seq": chain.anchor_seq,
                        "anchor_hash": chain.anchor_hash,
                    },
                ),
            )
            await session.commit()
        return PurgeReport(before, removed, first, last, False)


async def _purgeable(session: AsyncSession, before: datetime) -> tuple[int | None, int | None]:
    """The oldest and newest entry a purge before ``before`` removes: the chain's prefix
    whose entries are all older than it."""
    first = await session.scalar(select(func.min(AuditEntry.seq)))
    if first is None:
        return None, None
    keep = await session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= before))
    last = await session.scalar(select(func.max(AuditEntry.seq))) if keep is None else keep - 1
    if last is None or last < first:
        return None, None
    return first, last


async def append(
    session: AsyncSession, actor: Actor, event: AuditEvent, *, request_id: str | None = None
) -> int:
    """Chain one entry inside ``session``'s transaction (the caller commits). The head's
    row lock is taken first and held until that commit."""
    claimed = (
        await session.execute(
            update(AuditChain)
            .where(AuditChain.id == 1)
            .values(seq=AuditChain.seq + 1)
            .returning(AuditChain.seq, AuditChain.head_hash)
        )
    ).one()
    seq, prev_hash = int(claimed[0]), str(claimed[1])
    entry = AuditEntry(
        seq=seq,
        # Taken after the lock, so entries' times rise with their numbers.
        at=datetime.now(UTC),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor=actor.name[:254],
        via=actor.via[:20],
        action=event.action,
        outcome=event.outcome,
        case_id=event.case_id,
        object_type=event.object_type,
        object_id=None if event.object_id is None else str(event.object_id),
        request_id=request_id if request_id is not None else (current_request_id.get() or None),
        detail=dict(event.detail),
        prev_hash=prev_hash,
        entry_hash="",
    )
    entry.entry_hash = hash_of(entry_fields(entry))
    session.add(entry)
    await session.flush()
    await session.execute(
        update(AuditChain).where(AuditChain.id == 1).values(head_hash=entry.entry_hash)
    )
    return seq
