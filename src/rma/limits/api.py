"""The legal limits in the adviser app: read them, propose a change, approve or reject one.

Anyone signed in reads the limits and proposes a change (with its evidence); only a
supervisor or an admin approves or rejects, and never their own proposal (the
permission table, :mod:`rma.accounts.permissions`). Each decision is recorded with who
and when (``limit_decisions``) and in the audit log.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from rma import constants as C
from rma.accounts.permissions import Actor
from rma.accounts.web import accounts_of, note_object, permit
from rma.limits.changes import LimitRegister, Proposal

routes = APIRouter(tags=["limits"])

Reader = Annotated[Actor, Depends(permit("limits.read"))]
Proposer = Annotated[Actor, Depends(permit("limits.propose"))]
Approver = Annotated[Actor, Depends(permit("limits.approve"))]
Rejecter = Annotated[Actor, Depends(permit("limits.reject"))]


def register_of(request: Request) -> LimitRegister:
    """The app's register (one per app: it caches the effective table)."""
    register = getattr(request.app.state, "limit_register", None)
    if register is None:
        register = LimitRegister(accounts_of(request).database)
        request.app.state.limit_register = register
    return register  # type: ignore[no-any-return]


class ProposalIn(BaseModel):
    name: str = Field(max_length=80)
    value: Decimal
    evidence: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    effective_from: date | None = None
    effective_to: date | None = None
    corrects: str | None = Field(None, max_length=20)
    jurisdiction: str = Field(C.DEFAULT_JURISDICTION, max_length=40)
    evidence_page: int | None = Field(None, ge=1)
    evidence_quote: str | None = Field(None, max_length=2000)


class DecisionIn(BaseModel):
    note: str = Field("", max_length=2000)


@routes.get("/limits")
async def limits_in_force(
    request: Request, _: Reader, as_at: Annotated[date | None, Query()] = None
) -> dict[str, Any]:
    """The limits in force today (or on ``as_at``), with their sources."""
    table = await register_of(request).table()
    return {**table.as_dict(), "limits": [v.as_dict() for v in table.at(as_at)]}


@routes.get("/limits/changes")
async def limit_changes(
    request: Request,
    _: Reader,
    status: Annotated[Literal["proposed", "approved", "rejected"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return [c.as_dict() for c in await register_of(request).changes(status)]


@routes.post("/limits/changes", status_code=201)
async def propose_change(request: Request, body: ProposalIn, actor: Proposer) -> dict[str, Any]:
    change = await register_of(request).propose(Proposal(**body.model_dump()), actor)
    note_object(request, object_type="limit_change", object_id=change.id)
    return change.as_dict()


@routes.post("/limits/changes/{change_id}/approve")
async def approve_change(
    request: Request, change_id: int, body: DecisionIn, actor: Approver
) -> dict[str, Any]:
    return (await register_of(request).approve(change_id, actor, body.note)).as_dict()


@routes.post("/limits/changes/{change_id}/reject")
async def reject_change(
    request: Request, change_id: int, body: DecisionIn, actor: Rejecter
) -> dict[str, Any]:
    return (await register_of(request).reject(change_id, actor, body.note)).as_dict()
