"""Cases and their client: open, list, read, change, close, erase."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from rma.app.actor import ActorDep, record_access
from rma.app.deps import StateDep, StoreDep
from rma.cases.erasure import erase_case
from rma.cases.schema import CaseUpdate, CircumstancesUpdate, ClientUpdate, NewCase
from rma.cases.views import case_line, case_view, circumstances_view, client_view
from rma.errors import Conflict

routes = APIRouter(prefix="/cases", tags=["cases"])


@routes.post("", status_code=201)
async def open_case(body: NewCase, store: StoreDep, actor: ActorDep) -> dict[str, Any]:
    """Open a case for a client."""
    return case_view(await store.create_case(actor, body))


@routes.get("")
async def list_cases(
    store: StoreDep,
    status: Literal["open", "closed"] | None = None,
    closed_before: date | None = None,
) -> dict[str, Any]:
    found = await store.cases(status=status, closed_before=closed_before)
    return {"cases": [case_line(c) for c in found]}


@routes.get("/{case_id}")
async def read_case(
    case_id: int,
    store: StoreDep,
    actor: ActorDep,
    request: Request,
    sensitive: bool = Query(False, description="include vulnerability notes (recorded)"),
) -> dict[str, Any]:
    case = await store.case(case_id)
    if sensitive:
        await record_access(request, actor, "client.sensitive", case_id)
    return case_view(case, sensitive=sensitive)


@routes.patch("/{case_id}")
async def change_case(
    case_id: int, body: CaseUpdate, store: StoreDep, actor: ActorDep
) -> dict[str, Any]:
    """Close (status: closed, closed_on), reopen, or assign an adviser or team."""
    return case_view(await store.update_case(case_id, actor, body))


@routes.patch("/{case_id}/client")
async def change_client(
    case_id: int, body: ClientUpdate, store: StoreDep, actor: ActorDep
) -> dict[str, Any]:
    return client_view(await store.update_client(case_id, actor, body))


@routes.put("/{case_id}/circumstances")
async def set_circumstances(
    case_id: int, body: CircumstancesUpdate, store: StoreDep, actor: ActorDep
) -> dict[str, Any]:
    """Set the facts eligibility asks (only those given; null: not known)."""
    return circumstances_view(await store.set_circumstances(case_id, actor, body))


@routes.delete("/{case_id}")
async def erase(
    case_id: int,
    state: StateDep,
    actor: ActorDep,
    confirm: str = Query(..., description="the case's reference, to say which case you mean"),
) -> dict[str, Any]:
    """Erase the case: its rows, files, search index and letters. Returns a receipt."""
    case = await state.store.case(case_id)
    if confirm != case.reference:
        raise Conflict(f"to erase case {case_id}, confirm with its reference (?confirm=...)")
    receipt = await erase_case(state.store, case_id, actor, state.services.search)
    return receipt.as_dict()
