"""Erasing a case: its rows, its files, its search index and its letters, with a receipt.

The order is chosen so a failure leaves nothing half-erased that cannot be finished:

1. the case's passages in the search index (another service: if it cannot be reached,
   nothing has been deleted yet and the erasure can simply be asked for again);
2. every row, in one transaction (the case's rows cascade; the client goes too when no
   other case names them);
3. the case's folder of encrypted files;
4. the database's own leftovers: SQLite overwrites deleted rows (``secure_delete``) and
   its write-ahead log is checkpointed and truncated, so the text is gone from the file.

The receipt counts what went and says no client text: the reference, numbers, who and
when. PostgreSQL reclaims dead rows itself (autovacuum); they are invisible to every query
from the moment of the commit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, select, text

from rma.accounts.permissions import Actor
from rma.cases.models import CASE_TABLES, Case, Client, Letter
from rma.cases.store import CaseStore
from rma.db.engine import Database
from rma.errors import Conflict


@dataclass(frozen=True)
class Forgotten:
    """What the search index removed for a case."""

    chunks: int
    documents: int
    compacted: bool
    warnings: tuple[str, ...] = ()


class SearchIndex(Protocol):
    async def forget_case(self, case_key: str) -> Forgotten: ...


@dataclass
class ErasureReceipt:
    case_id: int
    reference: str
    erased_by: str
    erased_at: datetime
    rows: dict[str, int]
    client_erased: bool
    files: int
    bytes: int
    letters: int
    search_passages: int
    search_documents: int
    search_store_compacted: bool
    database_compacted: bool
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "erased_by": self.erased_by,
            "erased_at": self.erased_at.isoformat(),
            "rows": self.rows,
            "client_erased": self.client_erased,
            "files": {"count": self.files, "bytes": self.bytes},
            "letters": self.letters,
            "search_index": {
                "passages": self.search_passages,
                "documents": self.search_documents,
                "store_compacted": self.search_store_compacted,
            },
            "database_compacted": self.database_compacted,
            "warnings": self.warnings,
        }


async def erase_case(
    store: CaseStore, case_id: int, actor: Actor, index: SearchIndex
) -> ErasureReceipt:
    """Erase one case completely; raises before deleting anything if the search index
    cannot be reached."""
    case = await store.case(case_id)
    reading = [
        d.id for d in await store.documents(case_id) if d.status in ("received", "processing")
    ]
    if reading:
        raise Conflict(
            f"document(s) {', '.join(map(str, reading))} of this case are being read: erase it "
            "when they are done (their text would be indexed again after the erasure)"
        )
    rows = await store.counts(case_id, CASE_TABLES)
    forgotten = await index.forget_case(case.key)
    async with store.database.session() as session:
        await session.execute(delete(Case).where(Case.id == case_id))
        others = await session.scalar(
            select(func.count()).select_from(Case).where(Case.client_id == case.client_id)
        )
        client_erased = not others
        if client_erased:
            await session.execute(delete(Client).where(Client.id == case.client_id))
        await session.commit()
    rows["cases"] = 1
    rows["clients"] = int(client_erased)
    files, size = await asyncio.to_thread(store.vault.remove_case, case.key)
    compacted = await compact(store.database)
    warnings = list(forgotten.warnings)
    if not compacted:
        warnings.append(
            "the database's write-ahead log could not be truncated now (another connection "
            "was reading); it is on the next checkpoint"
        )
    return ErasureReceipt(
        case_id=case_id,
        reference=case.reference,
        erased_by=actor.name,
        erased_at=datetime.now(UTC),
        rows=rows,
        client_erased=client_erased,
        files=files,
        bytes=size,
        letters=rows.get(Letter.__tablename__, 0),
        search_passages=forgotten.chunks,
        search_documents=forgotten.documents,
        search_store_compacted=forgotten.compacted,
        database_compacted=compacted,
        warnings=warnings,
    )


async def compact(database: Database) -> bool:
    """Leave no deleted row's text in the database's files: on SQLite, checkpoint the
    write-ahead log into the main file and truncate it (deleted rows there are already
    overwritten: ``secure_delete``). True when done; PostgreSQL: nothing to do here."""
    if database.urls.dialect != "sqlite":
        return True
    async with database.session() as session:
        busy, _, _ = (await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    return not busy
