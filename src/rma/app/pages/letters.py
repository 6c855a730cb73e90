"""A letter's way out, as forms on the case page: edit its wording while it is a draft
(each edit a new version, the letter checks run again on it), submit for approval,
approve or return (a supervisor who did not write it), and download as Word once
approved. The decisions are :mod:`rma.accounts.approvals`' and the edit is
:func:`rma.app.routes.letters.revise_letter` (the JSON API's), checked by the same rules."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from rma.accounts.web import LetterApprover, LetterReleaser, LetterSubmitter, accounts_of
from rma.app.actor import CaseEditor, CaseReader, record_access
from rma.app.deps import StateDep, StoreDep
from rma.app.pages.render import PAGE_PREFIX, back_to, page
from rma.app.routes.letters import revise_letter
from rma.cases.schema import LetterEdit
from rma.cases.store import EDITABLE_LETTERS
from rma.cases.views import case_view, letter_version_view, letter_view
from rma.errors import InputError
from rma.notes.docx import DOCX_MEDIA_TYPE, text_docx
from rma.service.app import SettingsDep

routes = APIRouter(prefix=f"{PAGE_PREFIX}/cases/{{case_id}}/letters/{{letter_id}}",
                   include_in_schema=False)  # fmt: skip


def _case_page(case_id: int, letter_id: int) -> Response:
    return back_to(f"{PAGE_PREFIX}/cases/{case_id}#letter-{letter_id}")


@routes.get("/edit")
async def edit_page(
    request: Request, case_id: int, letter_id: int, state: StateDep, actor: CaseReader
) -> HTMLResponse:
    """The letter's wording in a text box (a draft), the warnings the checks found in
    it, and each version it has had."""
    store = state.store
    letter = letter_view(await store.letter(case_id, letter_id))
    case = case_view(await store.case(case_id))
    versions = [letter_version_view(v) for v in await store.letter_versions(case_id, letter_id)]
    await record_access(request, actor, "letters.read", case_id)
    return page(request, "letter.html", case=case, letter=letter, versions=versions,
                editable=letter["status"] in EDITABLE_LETTERS)  # fmt: skip


@routes.post("/edit")
async def save_edit(
    case_id: int,
    letter_id: int,
    state: StateDep,
    settings: SettingsDep,
    actor: CaseEditor,
    body: Annotated[str, Form(min_length=1, max_length=200_000)],
) -> Response:
    """Save the edited wording as a new version; the page shows the checks' warnings."""
    if not body.strip():
        raise InputError("a letter needs some text")
    # Browsers send a text box's line breaks as CRLF: keep the letter's own newlines.
    edit = LetterEdit(body=body.replace("\r\n", "\n"))
    await revise_letter(state, settings, case_id, letter_id, actor, edit)
    return back_to(f"{PAGE_PREFIX}/cases/{case_id}/letters/{letter_id}/edit#checks")


@routes.post("/submit")
async def submit(
    request: Request, case_id: int, letter_id: int, store: StoreDep, actor: LetterSubmitter
) -> Response:
    await store.letter(case_id, letter_id)
    await accounts_of(request).letters.submit(actor, letter_id)
    return _case_page(case_id, letter_id)


@routes.post("/approve")
async def approve(
    request: Request,
    case_id: int,
    letter_id: int,
    store: StoreDep,
    actor: LetterApprover,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await store.letter(case_id, letter_id)
    await accounts_of(request).letters.approve(actor, letter_id, note)
    return _case_page(case_id, letter_id)


@routes.post("/return")
async def return_to_draft(
    request: Request,
    case_id: int,
    letter_id: int,
    store: StoreDep,
    actor: LetterApprover,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    """Back to draft, saying what should change."""
    await store.letter(case_id, letter_id)
    await accounts_of(request).letters.return_to_draft(actor, letter_id, note)
    return _case_page(case_id, letter_id)


@routes.post("/download")
async def download(
    request: Request, case_id: int, letter_id: int, store: StoreDep, actor: LetterReleaser
) -> Response:
    """The approved letter as a Word document (refused until approved; marks it sent)."""
    await store.letter(case_id, letter_id)
    letter = await accounts_of(request).letters.release(actor, letter_id)
    data = await asyncio.to_thread(text_docx, letter.body, "Confirmation of advice")
    return Response(
        data,
        media_type=DOCX_MEDIA_TYPE,
        headers={
            # ids only in the file name: the client's name stays out of headers and logs
            "Content-Disposition": f'attachment; filename="letter-{case_id}-{letter_id}.docx"',
            "Cache-Control": "no-store",
        },
    )
