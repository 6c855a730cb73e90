"""A case's debts: the list (priority first, totals), what waits to be confirmed, and
the adviser's decisions. Only confirmed debts count anywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rma.app.actor import CaseEditor, CaseReader
from rma.app.deps import StoreDep
from rma.cases.schema import DebtDetails, Decision, Rejection
from rma.cases.views import debt_view, debts_view

routes = APIRouter(prefix="/cases/{case_id}/debts", tags=["debts"])


@routes.get("")
async def list_debts(case_id: int, store: StoreDep, _: CaseReader) -> dict[str, Any]:
    return debts_view(await store.debts(case_id))


@routes.post("", status_code=201)
async def add_debt(
    case_id: int, body: DebtDetails, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    """A debt the adviser records themselves (confirmed, its figures the adviser's)."""
    return debt_view(await store.add_debt(case_id, actor, body))


@routes.post("/{debt_id}/confirm")
async def confirm(
    case_id: int, debt_id: int, body: Decision, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    """Confirm a proposed debt (or update), correcting any figure on the way."""
    return debt_view(await store.confirm_debt(case_id, debt_id, actor, body.corrections,
                                              body.note))  # fmt: skip


@routes.post("/{debt_id}/reject")
async def reject(
    case_id: int, debt_id: int, body: Rejection, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    return debt_view(await store.reject_debt(case_id, debt_id, actor, body.reason))


@routes.patch("/{debt_id}")
async def change(
    case_id: int, debt_id: int, body: DebtDetails, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    """Change a confirmed debt's figures (recorded as the adviser's)."""
    return debt_view(await store.update_debt(case_id, debt_id, actor, body))


@routes.delete("/{debt_id}", status_code=204)
async def delete(case_id: int, debt_id: int, store: StoreDep, _: CaseEditor) -> None:
    await store.delete_debt(case_id, debt_id)
