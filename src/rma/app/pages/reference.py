"""The legal limits as pages: the values in force with their dates and sources, each
limit's history, the open conflicts the manuals raise against them, the changes proposed,
and approving them by role. (Asking the manuals is :mod:`rma.app.pages.manuals`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from rma.app.deps import StateDep
from rma.app.pages.render import PAGE_PREFIX, back_to, page
from rma.errors import ServiceUnavailable
from rma.limits.api import Approver, Reader, Rejecter

routes = APIRouter(prefix=PAGE_PREFIX, include_in_schema=False)


@routes.get("/limits")
async def limits_page(request: Request, state: StateDep, _: Reader) -> HTMLResponse:
    table = await state.register.table()
    current = [v.as_dict() for v in table.current()]
    history = {
        v["name"]: [r.as_dict() for r in table.history(v["name"], v["jurisdiction"])]
        for v in current
    }
    changes = [c.as_dict() for c in await state.register.changes(None)]
    conflicts: list[dict[str, Any]] = []
    unchecked = ""
    try:
        conflicts = await state.services.manuals.limit_conflicts()
    except ServiceUnavailable as exc:  # the table stands; only the manuals' view is missing
        unchecked = str(exc)
    approved = {(v["name"], v["jurisdiction"]): v for v in current}
    return page(request, "limits.html", table=table.as_dict(), current=current, history=history,
                changes=changes, conflicts=conflicts, unchecked=unchecked,
                approved=approved)  # fmt: skip


@routes.post("/limits/changes/{change_id}/approve")
async def approve_change(
    change_id: int,
    state: StateDep,
    actor: Approver,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await state.register.approve(change_id, actor, note)
    return back_to(f"{PAGE_PREFIX}/limits#change-{change_id}")


@routes.post("/limits/changes/{change_id}/reject")
async def reject_change(
    change_id: int,
    state: StateDep,
    actor: Rejecter,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    await state.register.reject(change_id, actor, note)
    return back_to(f"{PAGE_PREFIX}/limits#change-{change_id}")
