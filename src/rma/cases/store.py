"""Reading and changing a case: the one place that writes a case's rows and files.

Every write names who made it (the acting person's name) and when. A document (checked by the
app: size, type by its first bytes, pages) is stored encrypted
(:mod:`rma.cases.vault`); what the doc-processor reads from it is kept as read, and the
debt it proposes waits for an adviser. Only confirmed debts count: in totals, in the
priority list and in eligibility (:func:`rma.app.facts.client_facts`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rma import constants as C
from rma.accounts.permissions import Actor
from rma.cases.budget import Budget, Line
from rma.cases.models import (
    Asset,
    BudgetLine,
    Case,
    CaseDocument,
    CaseNote,
    Circumstances,
    Client,
    Debt,
    DebtFigure,
    DocumentField,
    Letter,
    LetterVersion,
)
from rma.cases.priority import classify
from rma.cases.proposals import (
    DocumentReading,
    PageRead,
    ProposedFigures,
    place_of,
    propose,
    same_debt,
)
from rma.cases.schema import (
    AssetIn,
    BudgetLineIn,
    CaseUpdate,
    CircumstancesUpdate,
    ClientUpdate,
    DebtDetails,
    LetterEdit,
    NewCase,
    NoteIn,
)
from rma.cases.vault import Vault
from rma.db.base import Base
from rma.db.engine import Database
from rma.errors import ConfigError, Conflict, InputError, NotFound
from rma.text import iso_date

M = TypeVar("M", bound=Base)
REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
REFERENCE_TRIES = 5
# A letter's text changes only as a draft (a returned letter is one again): not while a
# supervisor has it, and not once approved (the approval is of that text) or sent.
EDITABLE_LETTERS = ("draft",)
NOT_EDITABLE = {
    "submitted": "a supervisor has it for approval; ask them to return it first",
    "approved": "an approved letter is not edited (the approval is of its text); write a "
    "new letter from the notes instead",
    "sent": "it has gone to the client; write a new letter instead",
}
# A reading started this long ago belongs to a process that stopped: claim it again.
STALE_READING_SECONDS = 2 * C.SERVICE_TIMEOUT
# The figures of a debt and the columns that hold them.
FIGURE_COLUMNS = {
    "creditor": "creditor",
    "kind": "kind",
    "balance": "balance_pence",
    "arrears": "arrears_pence",
    "reference": "reference",
}


def now() -> datetime:
    return datetime.now(UTC)


def new_reference(opened: date) -> str:
    return f"{opened:%Y}-" + "".join(secrets.choice(REFERENCE_LETTERS) for _ in range(6))


@dataclass(frozen=True)
class Upload:
    """What the check of an upload found: the name to keep, its type by content, pages."""

    file_name: str
    media_type: str
    pages: int


@dataclass(frozen=True)
class DocumentFile:
    document: CaseDocument
    data: bytes


@dataclass(frozen=True, order=True)
class Deadline:
    """A date a case must meet: from a document (the deadline it states) or a letter (an
    action it gives the client; ``what`` holds its words, shown only to who may read it)."""

    due: date
    case_id: int
    source: str  # "document" or "letter"
    object_id: int
    what: str


@dataclass(frozen=True)
class Worklist:
    """What waits across the cases a person may read."""

    proposed_debts: dict[int, int]  # case id -> proposed debts and updates to decide
    letters_submitted: list[tuple[int, int]]  # (case id, letter id), oldest first
    deadlines: list[Deadline]  # soonest first


@dataclass(frozen=True)
class Work:
    """A document to read: its row, its case's key and its bytes."""

    document_id: int
    document_key: str
    case_key: str
    file_name: str
    media_type: str
    data: bytes


class CaseStore:
    """A case's rows (``database``) and files (``vault``; None for commands that read no
    file, such as an eligibility check, so they run without the encryption key)."""

    def __init__(self, database: Database, vault: Vault | None) -> None:
        self.database = database
        self._vault = vault

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            raise ConfigError("client files need the encryption key: set RMA_ENCRYPTION_KEY")
        return self._vault

    # ------------------------------------------------------------------ cases

    async def create_case(self, actor: Actor, new: NewCase) -> Case:
        opened = new.opened_on or date.today()
        stamp = now()
        for _ in range(REFERENCE_TRIES):
            async with self.database.session() as session:
                client = Client(**new.client.model_dump(), created_at=stamp, updated_at=stamp)
                case = Case(
                    reference=new_reference(opened),
                    key=uuid.uuid4().hex,
                    client=client,
                    adviser_id=new.adviser_id,
                    team_id=new.team_id,
                    status="open",
                    opened_on=opened,
                    created_by=actor.name,
                    created_at=stamp,
                    updated_at=stamp,
                    circumstances=Circumstances(),
                )
                session.add(case)
                try:
                    await session.commit()
                except IntegrityError as exc:
                    if "reference" in str(exc.orig):
                        continue  # a reference drawn twice: draw again
                    raise _integrity(exc) from None
                return await self.case(case.id)
        raise Conflict("could not draw an unused case reference; try again")

    async def cases(
        self,
        *,
        status: str | None = None,
        closed_before: date | None = None,
        visible_to: tuple[int | None, int | None] | None = None,
    ) -> list[Case]:
        """Cases, oldest first; with ``visible_to`` (an adviser's id and team id), only
        theirs and their team's."""
        query = _visible(select(Case).order_by(Case.id), visible_to)
        if status:
            query = query.where(Case.status == status)
        if closed_before:
            query = query.where(Case.status == "closed", Case.closed_on < closed_before)
        async with self.database.session() as session:
            return list((await session.scalars(query)).unique())

    async def cases_page(
        self,
        *,
        status: str | None = None,
        visible_to: tuple[int | None, int | None] | None = None,
        page: int = 1,
        per_page: int = C.CASES_PER_PAGE,
    ) -> tuple[list[Case], int]:
        """One page of cases, newest activity first (``visible_to`` as in :meth:`cases`),
        and how many there are in all."""
        query = _visible(select(Case), visible_to)
        counted = _visible(select(func.count()).select_from(Case), visible_to)
        if status:
            query, counted = (
                query.where(Case.status == status),
                counted.where(Case.status == status),
            )
        query = (
            query.order_by(Case.updated_at.desc(), Case.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        async with self.database.session() as session:
            total = int(await session.scalar(counted) or 0)
            return list((await session.scalars(query)).unique()), total

    async def references(self, case_ids: Sequence[int]) -> dict[int, str]:
        """Each case's reference, by id (for lists that name cases on other pages)."""
        if not case_ids:
            return {}
        async with self.database.session() as session:
            found = await session.execute(
                select(Case.id, Case.reference).where(Case.id.in_(set(case_ids)))
            )
            return {case_id: reference for case_id, reference in found}

    async def case(self, case_id: int) -> Case:
        async with self.database.session() as session:
            return await _case(session, case_id)

    async def update_case(self, case_id: int, actor: Actor, changes: CaseUpdate) -> Case:
        values = changes.model_dump(exclude_unset=True)
        async with self.database.session() as session:
            case = await _case(session, case_id)
            status = values.pop("status", None)
            closed_on = values.pop("closed_on", None)
            if status == "closed" and case.status != "closed":
                case.status, case.closed_on = "closed", closed_on or date.today()
            elif status == "open":
                case.status, case.closed_on = "open", None
            elif closed_on is not None:
                if case.status != "closed":
                    raise InputError("closed_on is set when the case is closed (status: closed)")
                case.closed_on = closed_on
            for name, value in values.items():
                setattr(case, name, value)
            case.updated_at = now()
            await _commit(session)
        return await self.case(case_id)

    async def update_client(self, case_id: int, actor: Actor, changes: ClientUpdate) -> Client:
        async with self.database.session() as session:
            case = await _case(session, case_id)
            client = await session.get_one(Client, case.client_id)
            for name, value in changes.model_dump(exclude_unset=True).items():
                if name == "name" and not value:
                    raise InputError("the client's name cannot be empty")
                setattr(client, name, value)
            client.updated_at = now()
            await _commit(session)
            return client

    async def set_circumstances(
        self, case_id: int, actor: Actor, changes: CircumstancesUpdate
    ) -> Circumstances:
        async with self.database.session() as session:
            await _case(session, case_id)
            found = await session.get(Circumstances, case_id)
            if found is None:
                found = Circumstances(case_id=case_id)
                session.add(found)
            for name, value in changes.model_dump(exclude_unset=True).items():
                setattr(found, name, value)
            found.updated_by, found.updated_at = actor.name, now()
            await _commit(session)
            return found

    # ------------------------------------------------------------------ documents

    async def add_document(
        self, case_id: int, actor: Actor, data: bytes, upload: Upload
    ) -> CaseDocument:
        """Store an upload, encrypted (checked by the caller: type by content, size,
        pages); it waits to be read (``status`` received). The same file twice on one case
        is refused."""
        digest = hashlib.sha256(data).hexdigest()
        async with self.database.session() as session:
            case = await _case(session, case_id)
            case.updated_at = now()
            same = await session.scalar(
                select(CaseDocument.id).where(
                    CaseDocument.case_id == case_id, CaseDocument.sha256 == digest
                )
            )
            if same is not None:
                raise Conflict(f"this file is already on the case as document {same}")
            key = uuid.uuid4().hex
            location = Vault.location(case.key, key)
            await asyncio.to_thread(self.vault.write, location, data)
            document = CaseDocument(
                case_id=case_id,
                key=key,
                file_name=upload.file_name,
                media_type=upload.media_type,
                size_bytes=len(data),
                sha256=digest,
                blob=location,
                status="received",
                pages=upload.pages,
                warnings=[],
                uploaded_by=actor.name,
                uploaded_at=now(),
            )
            session.add(document)
            try:
                await _commit(session)
            except BaseException:
                await asyncio.to_thread(self.vault.remove, location)
                raise
            return document

    async def documents(self, case_id: int) -> list[CaseDocument]:
        async with self.database.session() as session:
            await _case(session, case_id)
            found = await session.scalars(
                select(CaseDocument)
                .where(CaseDocument.case_id == case_id)
                .order_by(CaseDocument.id)
            )
            return list(found)

    async def document(self, case_id: int, document_id: int) -> CaseDocument:
        async with self.database.session() as session:
            return await _document(session, case_id, document_id)

    async def document_file(self, case_id: int, document_id: int) -> DocumentFile:
        document = await self.document(case_id, document_id)
        data = await asyncio.to_thread(self.vault.read, document.blob)
        return DocumentFile(document, data)

    async def document_pages(self, case_id: int, document_id: int) -> list[dict[str, Any]]:
        """The text the doc-processor read, page by page (empty until it has)."""
        document = await self.document(case_id, document_id)
        if document.text_blob is None:
            return []
        raw = await asyncio.to_thread(self.vault.read, document.text_blob)
        pages: list[dict[str, Any]] = json.loads(raw)
        return pages

    async def unfinished_documents(self) -> list[int]:
        """Documents waiting to be read, and those whose reading started so long ago that
        the process reading them must have stopped."""
        stale = now() - timedelta(seconds=STALE_READING_SECONDS)
        async with self.database.session() as session:
            found = await session.scalars(
                select(CaseDocument.id)
                .where(
                    or_(
                        CaseDocument.status == "received",
                        (CaseDocument.status == "processing") & (CaseDocument.processed_at < stale),
                    )
                )
                .order_by(CaseDocument.id)
            )
            return list(found)

    async def start_reading(self, document_id: int) -> Work | None:
        """Claim a document for reading (None: another process is reading it)."""
        stale = now() - timedelta(seconds=STALE_READING_SECONDS)
        async with self.database.session() as session:
            document = await session.get(CaseDocument, document_id)
            if document is None:
                raise NotFound(f"there is no document {document_id}")
            claimed = await session.execute(
                update(CaseDocument)
                .where(
                    CaseDocument.id == document_id,
                    or_(CaseDocument.status != "processing", CaseDocument.processed_at < stale),
                )
                # While it is read, processed_at is when its reading started.
                .values(status="processing", status_detail=None, processed_at=now())
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            case = await session.get_one(Case, document.case_id)
            await _commit(session)
            case_key, location, name = case.key, document.blob, document.file_name
            document_key, media_type = document.key, document.media_type
        data = await asyncio.to_thread(self.vault.read, location)
        return Work(document_id, document_key, case_key, name, media_type, data)

    async def finish_reading(
        self,
        document_id: int,
        reading: DocumentReading,
        indexed: int | None = None,
        index_warning: str = "",
    ) -> CaseDocument:
        """Keep what was read (the pages' text encrypted, the fields as read) and propose
        the debt it names, for an adviser to confirm; ``indexed``: the passages the case's
        search index now holds for it (None: not indexed, ``index_warning`` says why)."""
        async with self.database.session() as session:
            document = await session.get_one(CaseDocument, document_id)
            case = await session.get_one(Case, document.case_id)
            case.updated_at = now()
            location = Vault.location(case.key, document.key, "text")
            pages = json.dumps([p.as_dict() for p in reading.pages]).encode()
            await asyncio.to_thread(self.vault.write, location, pages)
            sizes = {p.number: p.size for p in reading.pages if p.size}
            fields = {
                f.name: DocumentField(
                    document_id=document_id,
                    name=f.name,
                    value=f.value,
                    page=f.page,
                    quote=f.quote,
                    confidence=f.confidence,
                    verified=f.verified,
                    method=f.method,
                    note=f.note,
                    place=place_of(f, sizes),
                )
                for f in reading.fields
            }
            document.fields = list(fields.values())  # replaces a previous reading's
            await session.flush()
            proposed = propose(reading)
            warnings = [*reading.warnings, *proposed.warnings]
            if index_warning:
                warnings.append(index_warning)
            if not proposed.empty:
                note = await self._propose(session, document, proposed, fields)
                if note:
                    warnings.append(note)
            document.text_blob = location
            document.doc_type = reading.doc_type
            document.pages = len(reading.pages) or document.pages
            document.status, document.status_detail = "processed", None
            document.warnings = warnings
            document.processed_at = now()
            document.indexed_chunks = indexed
            await _commit(session)
        return await self.document(document.case_id, document_id)

    async def _propose(
        self,
        session: AsyncSession,
        document: CaseDocument,
        figures: ProposedFigures,
        fields: dict[str, DocumentField],
    ) -> str | None:
        await session.execute(
            delete(Debt).where(Debt.document_id == document.id, Debt.status == "proposed")
        )
        confirmed = await session.scalars(
            select(Debt).where(Debt.case_id == document.case_id, Debt.status == "confirmed")
        )
        target = next(
            (d for d in confirmed
             if same_debt(figures.reference, figures.creditor, d.reference, d.creditor)),
            None,
        )  # fmt: skip
        changes = {
            figure: getattr(figures, column)
            for figure, column in FIGURE_COLUMNS.items()
            if getattr(figures, column) is not None
        }
        if target is not None and all(
            getattr(target, FIGURE_COLUMNS[f]) == v for f, v in changes.items()
        ):
            return f"the figures match debt {target.id}, already confirmed: nothing to confirm"
        kind = figures.kind or (target.kind if target else None)
        priority = classify(kind, target.goods_essential if target else None)
        stamp = now()
        debt = Debt(
            case_id=document.case_id,
            status="proposed",
            source="document",
            updates_debt_id=target.id if target else None,
            document_id=document.id,
            **{FIGURE_COLUMNS[f]: v for f, v in changes.items()},
            priority=priority.value,
            priority_rule=priority.rule,
            created_by=document.uploaded_by,
            created_at=stamp,
        )
        debt.figures = [
            DebtFigure(
                figure=figure,
                source="document",
                field_id=fields[figures.sources[figure]].id if figure in figures.sources else None,
                recorded_by=document.uploaded_by,
                recorded_at=stamp,
            )
            for figure in changes
        ]
        session.add(debt)
        return None

    async def fail_reading(self, document_id: int, detail: str) -> None:
        async with self.database.session() as session:
            document = await session.get(CaseDocument, document_id)
            if document is not None:
                document.status, document.status_detail = "failed", detail[:2000]
                await _commit(session)

    async def delete_document(self, case_id: int, document_id: int) -> CaseDocument:
        """Remove a document, its files, its fields and the debts it only proposed; debts
        already confirmed from it keep their figures (their source then says so)."""
        async with self.database.session() as session:
            document = await _document(session, case_id, document_id)
            if document.status == "processing":
                raise Conflict(f"document {document_id} is being read; delete it when it is done")
            await session.execute(
                delete(Debt).where(Debt.document_id == document_id, Debt.status != "confirmed")
            )
            await session.delete(document)
            await _commit(session)
        for location in (document.blob, document.text_blob):
            if location:
                await asyncio.to_thread(self.vault.remove, location)
        return document

    # ------------------------------------------------------------------ debts

    async def debts(self, case_id: int) -> list[Debt]:
        """Every debt: priority ones first, then by size; proposals and rejections too."""
        async with self.database.session() as session:
            await _case(session, case_id)
            found = await session.scalars(select(Debt).where(Debt.case_id == case_id))
            order = {"priority": 0, "unknown": 1, "non_priority": 2}
            return sorted(found, key=lambda d: (order[d.priority], -(d.balance_pence or 0), d.id))

    async def debt(self, case_id: int, debt_id: int) -> Debt:
        async with self.database.session() as session:
            return await _debt(session, case_id, debt_id)

    async def add_debt(
        self, case_id: int, actor: Actor, details: DebtDetails, *, source: str = "adviser"
    ) -> Debt:
        """A debt the adviser records (confirmed), or one read from the notes (proposed)."""
        if not details.creditor:
            raise InputError("a debt needs its creditor")
        status = "confirmed" if source == "adviser" else "proposed"
        stamp = now()
        values = details.model_dump(exclude_none=True)
        values.setdefault("from_fraud", False)
        priority = classify(details.kind, details.goods_essential)
        debt = Debt(
            case_id=case_id,
            status=status,
            source=source,
            **values,
            priority=priority.value,
            priority_rule=priority.rule,
            created_by=actor.name,
            created_at=stamp,
        )
        if status == "confirmed":
            debt.decided_by, debt.decided_at = actor.name, stamp
        debt.figures = [
            DebtFigure(figure=f, source=source, recorded_by=actor.name, recorded_at=stamp)
            for f, column in FIGURE_COLUMNS.items()
            if column in values
        ]
        async with self.database.session() as session:
            (await _case(session, case_id)).updated_at = stamp
            session.add(debt)
            await _commit(session)
        return await self.debt(case_id, debt.id)

    async def confirm_debt(
        self, case_id: int, debt_id: int, actor: Actor, corrections: DebtDetails, note: str = ""
    ) -> Debt:
        """Confirm a proposed debt, with any corrections; a proposed update is applied to
        the debt it updates. Two advisers deciding at once: one wins, the other is told."""
        stamp = now()
        async with self.database.session() as session:
            proposal = await _debt(session, case_id, debt_id)
            await _claim(session, proposal, "confirmed", actor, stamp, note)
            fixed = corrections.model_dump(exclude_unset=True)
            target = proposal
            if proposal.updates_debt_id is not None:
                target = await _debt(session, case_id, proposal.updates_debt_id)
                for figure, column in FIGURE_COLUMNS.items():
                    value = getattr(proposal, column)
                    if value is not None and column not in fixed:
                        setattr(target, column, value)
                        source = next(
                            (f for f in reversed(proposal.figures) if f.figure == figure), None
                        )
                        target.figures.append(
                            DebtFigure(
                                figure=figure,
                                source=proposal.source,
                                field_id=source.field_id if source else None,
                                recorded_by=actor.name,
                                recorded_at=stamp,
                            )
                        )
                proposal.decision_note = (f"applied to debt {target.id}. {note}").strip()
            _apply(target, fixed, actor, stamp)
            (await _case(session, case_id)).updated_at = stamp
            if not target.creditor:
                raise InputError("the debt has no creditor: give one in the corrections")
            await _commit(session)
            target_id = target.id
        return await self.debt(case_id, target_id)

    async def reject_debt(self, case_id: int, debt_id: int, actor: Actor, reason: str) -> Debt:
        async with self.database.session() as session:
            proposal = await _debt(session, case_id, debt_id)
            await _claim(session, proposal, "rejected", actor, now(), reason)
            await _commit(session)
        return await self.debt(case_id, debt_id)

    async def update_debt(
        self, case_id: int, debt_id: int, actor: Actor, changes: DebtDetails
    ) -> Debt:
        """The adviser changes a confirmed debt's figures (recorded as the adviser's)."""
        async with self.database.session() as session:
            debt = await _debt(session, case_id, debt_id)
            if debt.status != "confirmed":
                raise Conflict(f"debt {debt_id} is {debt.status}: confirm or reject it instead")
            _apply(debt, changes.model_dump(exclude_unset=True), actor, now())
            await _commit(session)
        return await self.debt(case_id, debt_id)

    async def delete_debt(self, case_id: int, debt_id: int) -> None:
        async with self.database.session() as session:
            debt = await _debt(session, case_id, debt_id)
            await session.delete(debt)
            await _commit(session)

    # ------------------------------------------------------------------ budget, assets

    async def budget(self, case_id: int) -> Budget:
        lines = await self._children(case_id, BudgetLine)
        return Budget.of(
            Line(row.id, row.direction, row.category, row.label, row.amount_pence, row.frequency)
            for row in lines
        )

    async def add_budget_line(self, case_id: int, actor: Actor, line: BudgetLineIn) -> Budget:
        await self._add(case_id, BudgetLine(**line.model_dump(), created_by=actor.name,
                                            created_at=now()))  # fmt: skip
        return await self.budget(case_id)

    async def delete_budget_line(self, case_id: int, line_id: int) -> Budget:
        await self._remove(case_id, BudgetLine, line_id, "budget line")
        return await self.budget(case_id)

    async def assets(self, case_id: int) -> list[Asset]:
        return await self._children(case_id, Asset)

    async def add_asset(self, case_id: int, actor: Actor, asset: AssetIn) -> Asset:
        return await self._add(
            case_id, Asset(**asset.model_dump(), created_by=actor.name, created_at=now())
        )

    async def delete_asset(self, case_id: int, asset_id: int) -> None:
        await self._remove(case_id, Asset, asset_id, "asset")

    # ------------------------------------------------------------------ notes, letters

    async def notes(self, case_id: int) -> list[CaseNote]:
        return await self._children(case_id, CaseNote)

    async def add_note(self, case_id: int, actor: Actor, note: NoteIn) -> CaseNote:
        return await self._add(
            case_id, CaseNote(body=note.body, created_by=actor.name, created_at=now())
        )

    async def note(self, case_id: int, note_id: int) -> CaseNote:
        return await self._child(case_id, CaseNote, note_id, "note")

    async def letters(self, case_id: int) -> list[Letter]:
        return await self._children(case_id, Letter)

    async def letter(self, case_id: int, letter_id: int) -> Letter:
        return await self._child(case_id, Letter, letter_id, "letter")

    async def add_letter(
        self,
        case_id: int,
        actor: Actor,
        *,
        body: str,
        details: dict[str, Any],
        note_id: int | None,
        kind: str = "confirmation_of_advice",
    ) -> Letter:
        return await self._add(
            case_id,
            Letter(note_id=note_id, kind=kind, status="draft", body=body, details=details,
                   created_by=actor.name, created_at=now()),
        )  # fmt: skip

    async def edit_letter(
        self,
        case_id: int,
        letter_id: int,
        actor: Actor,
        changes: LetterEdit,
        warnings: Sequence[dict[str, Any]] = (),
        checked: dict[str, Any] | None = None,
    ) -> Letter:
        """Change a draft letter's text by hand (a returned letter is a draft again), kept
        as a new version: who, when, and the ``warnings`` the letter checks found in the
        new text (``checked``: what they compared, kept in the letter's details). The text
        as first written is kept as version 1. A letter a supervisor has (submitted),
        approved or sent cannot change: Conflict says why."""
        letter = await self.letter(case_id, letter_id)
        if changes.body == letter.body:
            return letter
        stamp = now()
        async with self.database.session() as session:
            details = {**(letter.details or {}), "warnings": list(warnings)}
            if checked is not None:
                details["checked"] = checked
            changed = await session.execute(
                update(Letter)
                .where(Letter.id == letter_id, Letter.status.in_(EDITABLE_LETTERS))
                .values(body=changes.body, details=details, edited_by=actor.name,
                        edited_by_id=actor.id, edited_at=stamp)
            )  # fmt: skip
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                status = await session.scalar(select(Letter.status).where(Letter.id == letter_id))
                raise Conflict(f"letter {letter_id} is {status}: " + NOT_EDITABLE.get(
                    str(status), "it cannot be edited"))  # fmt: skip
            kept = await session.scalar(
                select(func.max(LetterVersion.number)).where(LetterVersion.letter_id == letter_id)
            )
            if kept is None:  # the first edit: keep the text as it was written
                session.add(
                    LetterVersion(
                        case_id=case_id, letter_id=letter_id, number=1, body=letter.body,
                        written_by=letter.edited_by or letter.created_by, written_by_id=None,
                        written_at=letter.edited_at or letter.created_at,
                        warnings=list((letter.details or {}).get("warnings", [])),
                    )
                )  # fmt: skip
                kept = 1
            session.add(
                LetterVersion(
                    case_id=case_id, letter_id=letter_id, number=kept + 1, body=changes.body,
                    written_by=actor.name, written_by_id=actor.id, written_at=stamp,
                    warnings=list(warnings),
                )
            )  # fmt: skip
            (await _case(session, case_id)).updated_at = stamp
            await _commit(session)
        return await self.letter(case_id, letter_id)

    async def letter_versions(self, case_id: int, letter_id: int) -> list[LetterVersion]:
        """A letter's versions, oldest first (none until it is first edited)."""
        await self.letter(case_id, letter_id)
        async with self.database.session() as session:
            found = await session.scalars(
                select(LetterVersion)
                .where(LetterVersion.letter_id == letter_id)
                .order_by(LetterVersion.number)
            )
            return list(found)

    # ------------------------------------------------------------------ work waiting

    async def worklist(
        self, *, visible_to: tuple[int | None, int | None] | None = None, today: date | None = None
    ) -> Worklist:
        """What waits across the cases a person may read (``visible_to`` as in
        :meth:`cases`): proposed debts to confirm, letters submitted for approval, and the
        deadlines still to come that documents state or letters give the client."""
        today = today or date.today()
        cases = _visible(select(Case.id), visible_to).scalar_subquery()
        async with self.database.session() as session:
            proposed = await session.execute(
                select(Debt.case_id, func.count())
                .where(Debt.status == "proposed", Debt.case_id.in_(cases))
                .group_by(Debt.case_id)
            )
            submitted = await session.execute(
                select(Letter.case_id, Letter.id)
                .where(Letter.status == "submitted", Letter.case_id.in_(cases))
                .order_by(Letter.id)
            )
            stated = await session.execute(
                select(CaseDocument.case_id, CaseDocument.id, DocumentField.value)
                .join(DocumentField, DocumentField.document_id == CaseDocument.id)
                .where(DocumentField.name == "deadline", CaseDocument.case_id.in_(cases))
            )
            given = await session.execute(
                select(Letter.case_id, Letter.id, Letter.details).where(
                    Letter.status != "sent", Letter.case_id.in_(cases)
                )
            )
            deadlines = [
                Deadline(due, case_id, "document", document_id, "the deadline a document states")
                for case_id, document_id, value in stated
                if (due := iso_date(value)) is not None and due >= today
            ]
            for case_id, letter_id, details in given:
                for action in (details or {}).get("your_actions", []):
                    due = iso_date(action.get("due"))
                    if due is not None and due >= today:
                        what = str(action.get("action") or "an action the letter gives")
                        deadlines.append(Deadline(due, case_id, "letter", letter_id, what))
            return Worklist(
                proposed_debts={case_id: count for case_id, count in proposed},
                letters_submitted=[(case_id, letter_id) for case_id, letter_id in submitted],
                deadlines=sorted(deadlines),
            )

    # ------------------------------------------------------------------ helpers

    async def _children(self, case_id: int, model: type[M]) -> list[M]:
        async with self.database.session() as session:
            await _case(session, case_id)
            found = await session.scalars(
                select(model).where(model.case_id == case_id).order_by(model.id)  # type: ignore[attr-defined]
            )
            return list(found)

    async def _child(self, case_id: int, model: type[M], row_id: int, what: str) -> M:
        async with self.database.session() as session:
            row = await session.get(model, row_id)
            if row is None or row.case_id != case_id:  # type: ignore[attr-defined]
                raise NotFound(f"case {case_id} has no {what} {row_id}")
            return row

    async def _add(self, case_id: int, row: M) -> M:
        async with self.database.session() as session:
            (await _case(session, case_id)).updated_at = now()
            row.case_id = case_id  # type: ignore[attr-defined]
            session.add(row)
            await _commit(session)
            return row

    async def _remove(self, case_id: int, model: type[Base], row_id: int, what: str) -> None:
        async with self.database.session() as session:
            row = await session.get(model, row_id)
            if row is None or row.case_id != case_id:  # type: ignore[attr-defined]
                raise NotFound(f"case {case_id} has no {what} {row_id}")
            await session.delete(row)
            await _commit(session)

    async def counts(self, case_id: int, models: Sequence[type[Base]]) -> dict[str, int]:
        """Rows per table for one case (the erasure receipt's counts)."""
        async with self.database.session() as session:
            return {m.__tablename__: await _count(session, m, case_id) for m in models}


# ---------------------------------------------------------------------- queries


def _visible(query: Select[Any], visible_to: tuple[int | None, int | None] | None) -> Select[Any]:
    """Only the cases of one adviser and their team (None: every case)."""
    if visible_to is None:
        return query
    adviser_id, team_id = visible_to
    mine = Case.adviser_id == adviser_id
    return query.where(mine | (Case.team_id == team_id) if team_id is not None else mine)


async def _case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"there is no case {case_id}")
    return case


async def _document(session: AsyncSession, case_id: int, document_id: int) -> CaseDocument:
    document = await session.get(CaseDocument, document_id)
    if document is None or document.case_id != case_id:
        raise NotFound(f"case {case_id} has no document {document_id}")
    return document


async def _debt(session: AsyncSession, case_id: int, debt_id: int) -> Debt:
    debt = await session.get(Debt, debt_id)
    if debt is None or debt.case_id != case_id:
        raise NotFound(f"case {case_id} has no debt {debt_id}")
    return debt


async def _claim(
    session: AsyncSession, debt: Debt, decision: str, actor: Actor, stamp: datetime, note: str
) -> None:
    """Decide a proposal once: the update only matches while it is still proposed."""
    if debt.status != "proposed":
        raise Conflict(f"debt {debt.id} is already {debt.status}")
    claimed = await session.execute(
        update(Debt)
        .where(Debt.id == debt.id, Debt.status == "proposed")
        .values(status=decision, decided_by=actor.name, decided_at=stamp, decision_note=note)
        .execution_options(synchronize_session="fetch")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"debt {debt.id} was decided by someone else just now")


def _apply(debt: Debt, fixed: dict[str, Any], actor: Actor, stamp: datetime) -> None:
    """An adviser's figures, each recorded as the adviser's."""
    for figure, column in FIGURE_COLUMNS.items():
        if column in fixed and fixed[column] != getattr(debt, column):
            setattr(debt, column, fixed[column])
            debt.figures.append(
                DebtFigure(figure=figure, source="adviser", recorded_by=actor.name,
                           recorded_at=stamp)
            )  # fmt: skip
    for column in ("goods_essential", "from_fraud"):
        if column in fixed:
            setattr(debt, column, fixed[column])
    priority = classify(debt.kind, debt.goods_essential)
    debt.priority, debt.priority_rule = priority.value, priority.rule


async def _count(session: AsyncSession, model: type[Base], case_id: int) -> int:
    table = model.__table__
    if "case_id" in table.c:
        query = select(func.count()).select_from(table).where(table.c.case_id == case_id)
    elif "document_id" in table.c:
        query = (
            select(func.count())
            .select_from(table.join(CaseDocument.__table__))
            .where(CaseDocument.case_id == case_id)
        )
    else:  # debt_figures
        query = (
            select(func.count())
            .select_from(table.join(Debt.__table__))
            .where(Debt.case_id == case_id)
        )
    return int(await session.scalar(query) or 0)


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise _integrity(exc) from None


def _integrity(exc: IntegrityError) -> InputError:
    """A constraint the database enforced, said without the row's values."""
    reason = str(exc.orig).splitlines()[0] if exc.orig else "a constraint"
    if "FOREIGN KEY" in reason.upper() or "foreign key" in reason:
        return NotFound("it refers to something that does not exist (an adviser, team or note)")
    return Conflict("it clashes with what is recorded")


__all__ = ["CaseStore", "DocumentFile", "PageRead", "Work"]
