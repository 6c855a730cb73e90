"""Eligibility for a DRO, bankruptcy, breathing space and an IVA, as at any date: for a
case (its confirmed figures) or for facts sent as they are."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from rma.app.actor import Assessor, CaseReader
from rma.app.deps import AppState, StateDep
from rma.app.facts import client_facts
from rma.eligibility import Assessment, ClientFacts, assess

routes = APIRouter(tags=["eligibility"])


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: ClientFacts
    as_at: date | None = None


@routes.get("/cases/{case_id}/eligibility")
async def case_eligibility(
    case_id: int, state: StateDep, _: CaseReader, as_at: date | None = None
) -> dict[str, Any]:
    """Each scheme's criteria for this case, with the limits in force on ``as_at``
    (default today): the client's value, the limit and its source, pass / fail / unknown,
    the margin and what is missing."""
    return {"case_id": case_id, **(await case_assessment(state, case_id, as_at)).as_dict()}


async def case_assessment(state: AppState, case_id: int, as_at: date | None = None) -> Assessment:
    """A case's assessment on its confirmed figures, with the approved limits as at
    ``as_at`` (for the API and the pages)."""
    facts = await client_facts(state.store, case_id)
    return assess(facts, await state.register.table(), as_at)


@routes.post("/eligibility")
async def eligibility(body: FactsIn, state: StateDep, _: Assessor) -> dict[str, Any]:
    """The same assessment for facts given in the request (nothing is stored)."""
    return assess(body.facts, await state.register.table(), body.as_at).as_dict()
