"""A client's case as pages: the case (client, debts priority first with totals,
documents, budget, eligibility, notes and letters) and each document (its fields with the
quote each was read from, and the debt it proposes, to confirm or correct).

Every route names its permission like the JSON API's, calls the same store and the same
functions, and records reads of documents, notes and letters through the same
:func:`rma.app.actor.record_access`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from rma.app.actor import CaseEditor, CaseReader, record_access
from rma.app.deps import StateDep
from rma.app.pages.render import PAGE_PREFIX, back_to, page
from rma.app.routes.documents import UploadBody, store_upload
from rma.app.routes.eligibility import case_assessment
from rma.app.routes.letters import LetterRequest, draft_letter
from rma.cases.budget import INCOME, SPENDING_GROUPS
from rma.cases.kinds import DEBT_KINDS
from rma.cases.proposals import pence_of
from rma.cases.schema import BudgetLineIn, CircumstancesUpdate, DebtDetails
from rma.cases.views import (
    case_view,
    debt_view,
    debts_view,
    document_view,
    letter_view,
    note_view,
)
from rma.documents.validation import ACCEPTED
from rma.errors import InputError

routes = APIRouter(prefix=f"{PAGE_PREFIX}/cases/{{case_id}}", include_in_schema=False)
# The yes / no / not known questions eligibility asks, in the order the form shows them.
QUESTIONS = {
    "lived_in_england_wales": "Lived, had a home or did business in England or Wales in the "
    "last 3 years",
    "previous_dro": "Had a Debt Relief Order in the last 6 years",
    "bankrupt": "Bankrupt now",
    "in_iva": "In an IVA now",
    "pending_petition": "A bankruptcy petition is pending",
    "assets_complete": "Every asset is recorded",
    "unable_to_pay": "Unable to pay their debts",
    "in_breathing_space": "In breathing space now",
    "mental_health_crisis_treatment": "Receiving mental health crisis treatment",
}  # fmt: skip


def case_url(case_id: int, part: str = "") -> str:
    return f"{PAGE_PREFIX}/cases/{case_id}{part}"


def money_field(text: str, name: str) -> int | None:
    """A sum typed into a form (``£1,234.56``, ``1234``) in pence; blank: None."""
    if not text.strip():
        return None
    found = pence_of(text)
    if found is None:
        raise InputError(f"the {name} {text[:20]!r} is not a sum of money (e.g. £1,234.56)")
    return found


@routes.get("")
async def case_page(
    case_id: int, request: Request, state: StateDep, actor: CaseReader
) -> HTMLResponse:
    store = state.store
    case = case_view(await store.case(case_id))
    debts = debts_view(await store.debts(case_id))
    documents = [document_view(d, with_fields=False) for d in await store.documents(case_id)]
    budget = (await store.budget(case_id)).as_dict()
    assessment = (await case_assessment(state, case_id)).as_dict()
    notes = [note_view(n) for n in await store.notes(case_id)]
    await record_access(request, actor, "notes.read", case_id)
    letters = [letter_view(x) for x in await store.letters(case_id)]
    await record_access(request, actor, "letters.read", case_id)
    return page(
        request, "case.html", case=case, debts=debts, documents=documents, budget=budget,
        assessment=assessment, notes=notes, letters=letters, kinds=DEBT_KINDS, income=INCOME,
        spending=SPENDING_GROUPS, questions=QUESTIONS, accepted=ACCEPTED,
    )  # fmt: skip


@routes.post("/documents")
async def upload(
    case_id: int, actor: CaseEditor, request: Request, body: UploadBody, state: StateDep
) -> Response:
    """Upload a document from the case page (multipart; read in the background)."""
    document = await store_upload(state, case_id, actor, body, request.headers)
    return back_to(case_url(case_id, f"/documents/{document.id}"))


@routes.get("/documents/{document_id}")
async def document_page(
    case_id: int, document_id: int, request: Request, state: StateDep, actor: CaseReader
) -> HTMLResponse:
    """A document: how its reading went, each field with its page and quote, and the
    debt it proposes with a form to confirm or correct it."""
    store = state.store
    case = case_view(await store.case(case_id))
    document = document_view(await store.document(case_id, document_id))
    await record_access(request, actor, "document.fields", case_id, document_id)
    proposals = [debt_view(d) for d in await store.debts(case_id) if d.document_id == document_id]
    return page(request, "document.html", case=case, document=document, proposals=proposals,
                kinds=DEBT_KINDS)  # fmt: skip


@routes.get("/documents/{document_id}/pages/{number}")
async def document_page_image(
    case_id: int,
    document_id: int,
    number: Annotated[int, Path(ge=1)],
    request: Request,
    state: StateDep,
    actor: CaseReader,
) -> Response:
    """Page ``number`` of a document as PNG, drawn by the doc-processor from the stored
    file (a PDF's page, a TIFF's frame): recorded as a read of the file."""
    found = await state.store.document_file(case_id, document_id)
    await record_access(request, actor, "document.file", case_id, document_id)
    document = found.document
    png = await state.services.docs.page_image(
        found.data, f"document-{document.id}", document.media_type, number
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@routes.post("/debts/{debt_id}/confirm")
async def confirm_debt(
    case_id: int,
    debt_id: int,
    state: StateDep,
    actor: CaseEditor,
    creditor: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    balance: Annotated[str, Form(max_length=40)] = "",
    arrears: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=80)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm a proposed debt. Only figures the adviser changed become corrections, so
    each unchanged figure keeps its source (the document's page and quote)."""
    proposed = debt_view(await state.store.debt(case_id, debt_id))
    typed: dict[str, Any] = {
        "creditor": creditor.strip() or None,
        "kind": kind or None,
        "balance_pence": money_field(balance, "balance"),
        "arrears_pence": money_field(arrears, "arrears"),
        "reference": reference.strip() or None,
    }
    changed = {k: v for k, v in typed.items() if v is not None and v != proposed[k]}
    corrections = DebtDetails.model_validate(changed)
    await state.store.confirm_debt(case_id, debt_id, actor, corrections, note.strip())
    return back_to(case_url(case_id, "#debts"))


@routes.post("/debts/{debt_id}/reject")
async def reject_debt(
    case_id: int,
    debt_id: int,
    state: StateDep,
    actor: CaseEditor,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    await state.store.reject_debt(case_id, debt_id, actor, reason)
    return back_to(case_url(case_id, "#debts"))


@routes.post("/circumstances")
async def set_circumstances(
    case_id: int, request: Request, state: StateDep, actor: CaseEditor
) -> Response:
    """The yes / no / not known answers eligibility asks."""
    form = await request.form()
    answers: dict[str, bool | None] = {}
    for name in QUESTIONS:
        value = form.get(name, "")
        if value not in ("yes", "no", ""):
            raise InputError(f"answer {name.replace('_', ' ')} with yes, no or not known")
        answers[name] = None if value == "" else value == "yes"
    await state.store.set_circumstances(case_id, actor, CircumstancesUpdate.model_validate(answers))
    return back_to(case_url(case_id, "#eligibility"))


@routes.post("/budget")
async def add_budget_line(
    case_id: int,
    state: StateDep,
    actor: CaseEditor,
    direction: Annotated[str, Form(max_length=10)],
    category: Annotated[str, Form(max_length=40)],
    amount: Annotated[str, Form(max_length=40)],
    frequency: Annotated[str, Form(max_length=20)] = "monthly",
) -> Response:
    pence = money_field(amount, "amount")
    if pence is None:
        raise InputError("give the amount")
    line = BudgetLineIn.model_validate(
        {"direction": direction, "category": category, "amount_pence": pence,
         "frequency": frequency}
    )  # fmt: skip
    await state.store.add_budget_line(case_id, actor, line)
    return back_to(case_url(case_id, "#budget"))


@routes.post("/letters")
async def write_letter(
    case_id: int,
    state: StateDep,
    actor: CaseEditor,
    notes: Annotated[str, Form(min_length=1, max_length=200_000)],
) -> Response:
    """Keep the notes on the case and have the notes service write the letter from them."""
    letter, _ = await draft_letter(state, case_id, actor, LetterRequest(notes=notes))
    return back_to(case_url(case_id, f"#letter-{letter.id}"))
