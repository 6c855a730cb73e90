"""A case's notes, and the letters the notes service writes from them."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from rma.accounts.permissions import Actor
from rma.app.actor import CaseEditor, CaseReader, record_access
from rma.app.deps import AppState, StateDep, StoreDep
from rma.cases.models import Debt, Letter
from rma.cases.proposals import same_debt
from rma.cases.schema import DebtDetails, LetterEdit, NoteIn
from rma.cases.views import debt_view, letter_version_view, letter_view, note_view
from rma.config import Settings
from rma.errors import InputError
from rma.notes.checks import check_edited_letter
from rma.service.app import SettingsDep

routes = APIRouter(prefix="/cases/{case_id}", tags=["notes and letters"])


class LetterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_id: int | None = Field(default=None, description="a note already on the case")
    notes: str | None = Field(default=None, max_length=200_000, description="or new notes to keep")
    adviser_name: str | None = Field(default=None, max_length=100)
    organisation: str | None = Field(default=None, max_length=150)
    tone: Literal["warm", "formal"] = "warm"


@routes.get("/notes")
async def list_notes(
    case_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    notes = await store.notes(case_id)
    await record_access(request, actor, "notes.read", case_id)
    return {"notes": [note_view(n) for n in notes]}


@routes.post("/notes", status_code=201)
async def add_note(
    case_id: int, body: NoteIn, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    return note_view(await store.add_note(case_id, actor, body))


@routes.post("/letters", status_code=201)
async def write_letter(
    case_id: int, body: LetterRequest, state: StateDep, actor: CaseEditor
) -> dict[str, Any]:
    """Write a Confirmation of Advice from a note (the notes service, over HTTP). Debts
    the notes name that the case does not have yet are proposed, for the adviser to confirm."""
    letter, proposed = await draft_letter(state, case_id, actor, body)
    return {**letter_view(letter), "proposed_debts": [debt_view(d) for d in proposed]}


async def draft_letter(
    state: AppState, case_id: int, actor: Actor, body: LetterRequest
) -> tuple[Letter, list[Debt]]:
    """The letter the notes service writes from a note on the case (or new notes, kept as
    one), and the debts it names that the case lacks, proposed (for the API and the pages)."""
    store = state.store
    if (body.note_id is None) == (body.notes is None):
        raise InputError("give either note_id (a note on the case) or notes (new notes)")
    case = await store.case(case_id)
    if body.notes is not None:
        note = await store.add_note(case_id, actor, NoteIn(body=body.notes))
    else:
        note = await store.note(case_id, body.note_id or 0)
    draft = await state.services.notes.letter(
        note.body, case.client.name, adviser_name=body.adviser_name,
        organisation=body.organisation, tone=body.tone,
    )  # fmt: skip
    letter = await store.add_letter(
        case_id, actor, body=draft.text, details=draft.details, note_id=note.id
    )
    known = await store.debts(case_id)
    proposed = []
    for creditor, pence in draft.debts:
        if any(same_debt(None, creditor, None, d.creditor) for d in known):
            continue
        details = DebtDetails(creditor=creditor[:200], balance_pence=pence)
        proposed.append(await store.add_debt(case_id, actor, details, source="notes"))
    return letter, proposed


@routes.get("/letters")
async def list_letters(
    case_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    letters = await store.letters(case_id)
    await record_access(request, actor, "letters.read", case_id)
    return {"letters": [letter_view(x) for x in letters]}


@routes.patch("/letters/{letter_id}")
async def edit_letter(
    case_id: int,
    letter_id: int,
    body: LetterEdit,
    state: StateDep,
    settings: SettingsDep,
    actor: CaseEditor,
) -> dict[str, Any]:
    """Change a draft letter's wording (a returned letter is a draft again): kept as a new
    version (who, when), with the letter checks run again on the new text and their
    warnings in ``details.warnings``. Refused (409) while a supervisor has it, once it is
    approved and once it is sent."""
    letter = await revise_letter(state, settings, case_id, letter_id, actor, body)
    return letter_view(letter)


async def revise_letter(
    state: AppState,
    settings: Settings,
    case_id: int,
    letter_id: int,
    actor: Actor,
    edit: LetterEdit,
) -> Letter:
    """A letter with its wording edited by hand, saved as a new version once the checks
    a written letter gets (nothing invented, every action, deadline and debt of its notes
    there, the reading age) have run on the new text (for the API and the pages)."""
    store = state.store
    letter = await store.letter(case_id, letter_id)
    case = await store.case(case_id)
    notes = (await store.note(case_id, letter.note_id)).body if letter.note_id else None
    checked: dict[str, int] = {}
    found = await asyncio.to_thread(
        check_edited_letter, edit.body, notes, letter.details or {},
        client_name=case.client.name, letter_date=letter.created_at.date(),
        reading_age_target=settings.notes_reading_age_target, checked=checked,
    )  # fmt: skip
    warnings = [{"code": w.code, "message": w.message} for w in dict.fromkeys(found)]
    return await store.edit_letter(case_id, letter_id, actor, edit, warnings, checked)


@routes.get("/letters/{letter_id}/versions")
async def letter_versions(
    case_id: int, letter_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    """Each wording the letter has had, oldest first: who wrote it, when, and the
    warnings the checks found in it (none until it is first edited)."""
    versions = await store.letter_versions(case_id, letter_id)
    await record_access(request, actor, "letters.read", case_id)
    return {"letter_id": letter_id, "versions": [letter_version_view(v) for v in versions]}


@routes.get("/letters/{letter_id}")
async def read_letter(
    case_id: int, letter_id: int, store: StoreDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    letter = await store.letter(case_id, letter_id)
    await record_access(request, actor, "letters.read", case_id)
    return letter_view(letter)
