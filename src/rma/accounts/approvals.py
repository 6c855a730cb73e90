"""Approvals: a client letter goes out only after a supervisor approves it, and the
organisation's settings that say whether it must.

A letter moves draft -> submitted (its adviser sends it for approval) -> approved (a
supervisor who did not write it) -> sent; a supervisor may instead return it to draft
with a note. Each decision is a ``letter_approvals`` row: who, when, the status before
and after, and the SHA-256 of the exact text approved. Releasing a letter (downloading
or sending it to the client) needs, while ``letters_need_approval`` is on, an approval
of the text as it stands: a letter edited after approval must be approved again.

``letters_need_approval`` is an organisation setting (on by default); an admin changes
it, and the change is audited like any other.

A letter's text can be changed by hand only while it is a draft (a returned letter is
one again; an approved letter is not edited): :meth:`rma.cases.store.CaseStore.
edit_letter`. Whoever changed it last counts as its writer too, so they may not approve
it either.

What it refuses: approving one's own letter (written or last edited), deciding a letter
that is not submitted, and releasing one that is not approved (``Conflict``, HTTP 409,
which says why).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rma import constants as C
from rma.accounts.audit import AuditEvent, append
from rma.accounts.models import LetterApproval, OrganisationSetting
from rma.accounts.permissions import Actor, Resource, authorise
from rma.cases.models import Case, Letter
from rma.db.engine import Database
from rma.errors import Conflict, InputError, NotFound


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: bool
    what: str


ORGANISATION_SETTINGS: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        SettingSpec(
            "letters_need_approval",
            C.LETTERS_NEED_APPROVAL,
            "a client letter goes out only after a supervisor approves it",
        ),
    )
}


class Organisation:
    """The organisation's settings, with their defaults until an admin changes them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def settings(self) -> dict[str, Any]:
        async with self.database.session() as session:
            stored = {r.key: r for r in (await session.scalars(select(OrganisationSetting))).all()}
        return {
            key: {
                "value": stored[key].value if key in stored else spec.default,
                "default": spec.default,
                "what": spec.what,
                "updated_by": stored[key].updated_by if key in stored else None,
                "updated_at": stored[key].updated_at.isoformat() if key in stored else None,
            }
            for key, spec in ORGANISATION_SETTINGS.items()
        }

    async def value(self, key: str) -> Any:
        return (await self.settings())[key]["value"]

    async def change(self, actor: Actor, key: str, value: Any) -> dict[str, Any]:
        authorise(actor, "settings.update")
        spec = ORGANISATION_SETTINGS.get(key)
        if spec is None:
            raise NotFound(f"unknown setting {key!r}; known: {', '.join(ORGANISATION_SETTINGS)}")
        if not isinstance(value, bool):
            raise InputError(f"{key} is true or false")
        async with self.database.session() as session:
            row = await session.get(OrganisationSetting, key)
            before = spec.default if row is None else row.value
            if row is None:
                row = OrganisationSetting(key=key)
                session.add(row)
            row.value, row.updated_by, row.updated_at = value, actor.name, datetime.now(UTC)
            await append(
                session,
                actor,
                AuditEvent("settings.update", object_type="setting", object_id=key,
                           detail={"from": before, "to": value}),
            )  # fmt: skip
            await session.commit()
        return (await self.settings())[key]


@dataclass(frozen=True)
class Decision:
    id: int
    letter_id: int
    decision: str
    status_before: str
    status_after: str
    body_sha256: str
    decided_by: str
    decided_at: datetime
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "letter_id": self.letter_id,
            "decision": self.decision,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "body_sha256": self.body_sha256,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
            "note": self.note,
        }


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


async def case_resource(session: AsyncSession, case_id: int, **extra: Any) -> Resource:
    """A case as the permission table sees it (its adviser and team); NotFound if none."""
    found = (
        await session.execute(select(Case.adviser_id, Case.team_id).where(Case.id == case_id))
    ).first()
    if found is None:
        raise NotFound(f"there is no case {case_id}")
    return Resource(case_id=case_id, adviser_id=found[0], team_id=found[1], **extra)


class LetterApprovals:
    """Submit, approve, return and release client letters."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.organisation = Organisation(database)

    async def submit(self, actor: Actor, letter_id: int) -> Letter:
        """Send a draft for approval."""
        async with self.database.session() as session:
            letter, resource = await self._letter(session, letter_id)
            authorise(actor, "letters.submit", resource)
            if letter.status != "draft":
                raise Conflict(f"letter {letter_id} is {letter.status}, not a draft")
            letter.status = "submitted"
            await _audit(session, actor, "letters.submit", letter, {"from": "draft"})
            await session.commit()
            return letter

    async def approve(self, actor: Actor, letter_id: int, note: str = "") -> Decision:
        return await self._decide(actor, letter_id, "approved", note)

    async def return_to_draft(self, actor: Actor, letter_id: int, note: str) -> Decision:
        if not note.strip():
            raise InputError("say what should change before the letter is approved")
        return await self._decide(actor, letter_id, "returned", note)

    async def _decide(self, actor: Actor, letter_id: int, decision: str, note: str) -> Decision:
        async with self.database.session() as session:
            letter, resource = await self._letter(session, letter_id)
            authorise(actor, "letters.approve", resource)
            if letter.edited_by is not None:  # whoever changed the text wrote it too
                edited = replace(resource, author=letter.edited_by, author_id=letter.edited_by_id)
                authorise(actor, "letters.approve", edited)
            if letter.status != "submitted":
                raise Conflict(
                    f"letter {letter_id} is {letter.status}: only a submitted letter is decided"
                )
            after = "approved" if decision == "approved" else "draft"
            row = LetterApproval(
                letter_id=letter.id, decision=decision, status_before=letter.status,
                status_after=after, body_sha256=body_digest(letter.body),
                decided_by_id=actor.id, decided_by=actor.name, decided_at=datetime.now(UTC),
                note=note.strip(),
            )  # fmt: skip
            session.add(row)
            letter.status = after
            await session.flush()
            await _audit(
                session, actor, f"letters.{'approve' if decision == 'approved' else 'return'}",
                letter, {"approval_id": row.id},
            )  # fmt: skip
            await session.commit()
            return _decision(row)

    async def release(self, actor: Actor, letter_id: int) -> Letter:
        """Let a letter go to the client (download or send): refused with Conflict while
        it needs an approval of its current text. Marks it sent."""
        async with self.database.session() as session:
            letter, resource = await self._letter(session, letter_id)
            authorise(actor, "letters.release", resource)
            await self.check_releasable(session, letter)
            before = letter.status
            letter.status = "sent"
            await _audit(session, actor, "letters.release", letter, {"from": before})
            await session.commit()
            return letter

    async def check_releasable(self, session: AsyncSession, letter: Letter) -> None:
        """Conflict unless the letter may go out as it stands."""
        if not await self.organisation.value("letters_need_approval"):
            return
        latest = await session.scalar(
            select(LetterApproval)
            .where(LetterApproval.letter_id == letter.id)
            .order_by(LetterApproval.id.desc())
            .limit(1)
        )
        if (
            letter.status not in ("approved", "sent")
            or latest is None
            or latest.decision != "approved"
        ):
            raise Conflict(
                f"letter {letter.id} is {letter.status}: it goes to the client only after a "
                "supervisor approves it"
            )
        if latest.body_sha256 != body_digest(letter.body):
            raise Conflict(
                f"letter {letter.id} changed after it was approved: submit it for approval again"
            )

    async def decisions(self, letter_id: int) -> list[Decision]:
        async with self.database.session() as session:
            rows = (
                await session.scalars(
                    select(LetterApproval)
                    .where(LetterApproval.letter_id == letter_id)
                    .order_by(LetterApproval.id)
                )
            ).all()
        return [_decision(r) for r in rows]

    async def _letter(self, session: AsyncSession, letter_id: int) -> tuple[Letter, Resource]:
        letter = await session.get(Letter, letter_id)
        if letter is None:
            raise NotFound(f"there is no letter {letter_id}")
        resource = await case_resource(session, letter.case_id, author=letter.created_by)
        return letter, resource


async def _audit(
    session: AsyncSession, actor: Actor, action: str, letter: Letter, detail: dict[str, Any]
) -> None:
    await append(
        session,
        actor,
        AuditEvent(action, case_id=letter.case_id, object_type="letter", object_id=letter.id,
                   detail={**detail, "to": letter.status}),
    )  # fmt: skip


def _decision(row: LetterApproval) -> Decision:
    return Decision(
        row.id, row.letter_id, row.decision, row.status_before, row.status_after,
        row.body_sha256, row.decided_by, row.decided_at, row.note,
    )  # fmt: skip
