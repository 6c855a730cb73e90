"""A letter's way out, as forms on the case page: submit for approval, approve or return
(a supervisor who did not write it), and download as Word once approved. The decisions
are :mod:`rma.accounts.approvals`' (the JSON API's), checked by the same rules."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rma.accounts.web import LetterApprover, LetterReleaser, LetterSubmitter, accounts_of
from rma.app.deps import StoreDep
from rma.app.pages.render import PAGE_PREFIX, back_to
from rma.notes.docx import DOCX_MEDIA_TYPE, text_docx

routes = APIRouter(prefix=f"{PAGE_PREFIX}/cases/{{case_id}}/letters/{{letter_id}}",
                   include_in_schema=False)  # fmt: skip


def _case_page(case_id: int, letter_id: int) -> Response:
    return back_to(f"{PAGE_PREFIX}/cases/{case_id}#letter-{letter_id}")


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
