"""Cases and their client: open, list, read, change, close, erase."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from rma.accounts.permissions import ALL, case_reach
from rma.accounts.web import check_assignment, note_object
from rma.app.actor import CaseEditor, CaseEraser, CaseLister, CaseOpener, CaseReader, record_access
from rma.app.deps import StateDep, StoreDep
from rma.cases.erasure import erase_case
from rma.cases.schema import CaseUpdate, CircumstancesUpdate, ClientUpdate, NewCase
from rma.cases.views import case_line, case_view, circumstances_view, client_view
from rma.errors import Conflict

routes = APIRouter(prefix="/cases", tags=["cases"])


@routes.post("", status_code=201)
async def open_case(
    body: NewCase, store: StoreDep, actor: CaseOpener, request: Request
) -> dict[str, Any]:
    """Open a case for a client: the adviser is the one who opens it unless another is
    named (an adviser may name only someone in their own team), the team the adviser's."""
    adviser, team = await check_assignment(
        request, actor, adviser_id=body.adviser_id, team_id=body.team_id
    )
    case = await store.create_case(actor, body.model_copy(update={"adviser_id": adviser,
                                                                  "team_id": team}))  # fmt: skip
    note_object(request, case_id=case.id, object_type="case", object_id=case.id)
    return case_view(case)


@routes.get("")
async def list_cases(
    store: StoreDep,
    actor: CaseLister,
    status: Literal["open", "closed"] | None = None,
    closed_before: date | None = None,
) -> dict[str, Any]:
    """The cases the caller may read: an adviser's own and their team's, or every case."""
    visible = None if case_reach(actor) is ALL else (actor.id, actor.team_id)
    found = await store.cases(status=status, closed_before=closed_before, visible_to=visible)
    return {"cases": [case_line(c) for c in found]}


@routes.get("/{case_id}")
async def read_case(
    case_id: int,
    store: StoreDep,
    actor: CaseReader,
    request: Request,
    sensitive: bool = Query(False, description="include vulnerability notes (recorded)"),
) -> dict[str, Any]:
    case = await store.case(case_id)
    if sensitive:
        await record_access(request, actor, "client.sensitive", case_id)
    return case_view(case, sensitive=sensitive)


@routes.patch("/{case_id}")
async def change_case(
    case_id: int, body: CaseUpdate, store: StoreDep, actor: CaseEditor, request: Request
) -> dict[str, Any]:
    """Close (status: closed, closed_on), reopen, or assign an adviser or team (an
    adviser: only within their own team)."""
    if {"adviser_id", "team_id"} & body.model_fields_set:
        case = await store.case(case_id)
        adviser = body.adviser_id if "adviser_id" in body.model_fields_set else case.adviser_id
        team = body.team_id if "team_id" in body.model_fields_set else None
        adviser, team = await check_assignment(
            request, actor, case_id=case_id, adviser_id=adviser, team_id=team
        )
        body = body.model_copy(update={"adviser_id": adviser, "team_id": team})
    return case_view(await store.update_case(case_id, actor, body))


@routes.patch("/{case_id}/client")
async def change_client(
    case_id: int, body: ClientUpdate, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    return client_view(await store.update_client(case_id, actor, body))


@routes.put("/{case_id}/circumstances")
async def set_circumstances(
    case_id: int, body: CircumstancesUpdate, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    """Set the facts eligibility asks (only those given; null: not known)."""
    return circumstances_view(await store.set_circumstances(case_id, actor, body))


@routes.delete("/{case_id}")
async def erase(
    case_id: int,
    state: StateDep,
    actor: CaseEraser,
    confirm: str = Query(..., description="the case's reference, to say which case you mean"),
) -> dict[str, Any]:
    """Erase the case: its rows, files, search index and letters. Returns a receipt."""
    case = await state.store.case(case_id)
    if confirm != case.reference:
        raise Conflict(f"to erase case {case_id}, confirm with its reference (?confirm=...)")
    receipt = await erase_case(state.store, case_id, actor, state.services.search)
    return receipt.as_dict()
