"""A case's budget (Standard Financial Statement categories, monthly surplus) and assets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rma.app.actor import CaseEditor, CaseReader, ReferenceReader
from rma.app.deps import StoreDep
from rma.cases.budget import INCOME, SPENDING_GROUPS
from rma.cases.schema import AssetIn, BudgetLineIn
from rma.cases.views import asset_view

routes = APIRouter(tags=["budget"])


@routes.get("/budget/categories")
async def categories(_: ReferenceReader) -> dict[str, Any]:
    """The Standard Financial Statement's categories (names only: its guideline figures
    are licensed and not shipped)."""
    return {"income": INCOME, "spending": SPENDING_GROUPS}


@routes.get("/cases/{case_id}/budget")
async def budget(case_id: int, store: StoreDep, _: CaseReader) -> dict[str, Any]:
    return (await store.budget(case_id)).as_dict()


@routes.post("/cases/{case_id}/budget/lines", status_code=201)
async def add_line(
    case_id: int, body: BudgetLineIn, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    return (await store.add_budget_line(case_id, actor, body)).as_dict()


@routes.delete("/cases/{case_id}/budget/lines/{line_id}")
async def delete_line(case_id: int, line_id: int, store: StoreDep, _: CaseEditor) -> dict[str, Any]:
    return (await store.delete_budget_line(case_id, line_id)).as_dict()


@routes.get("/cases/{case_id}/assets")
async def assets(case_id: int, store: StoreDep, _: CaseReader) -> dict[str, Any]:
    found = await store.assets(case_id)
    return {"assets": [asset_view(a) for a in found]}


@routes.post("/cases/{case_id}/assets", status_code=201)
async def add_asset(
    case_id: int, body: AssetIn, store: StoreDep, actor: CaseEditor
) -> dict[str, Any]:
    return asset_view(await store.add_asset(case_id, actor, body))


@routes.delete("/cases/{case_id}/assets/{asset_id}", status_code=204)
async def delete_asset(case_id: int, asset_id: int, store: StoreDep, _: CaseEditor) -> None:
    await store.delete_asset(case_id, asset_id)
