"""Searching one client's documents: answers cite only that case's pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from rma.app.actor import CaseReader, record_access
from rma.app.deps import StateDep

routes = APIRouter(tags=["search"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(5, ge=1, le=20)
    max_tokens: int = Field(300, ge=16, le=1024)


@routes.post("/cases/{case_id}/search")
async def search_case(
    case_id: int, body: SearchRequest, state: StateDep, actor: CaseReader, request: Request
) -> dict[str, Any]:
    """A cited answer from this case's documents; each source names the case's document
    (id and file name) and page it comes from."""
    case = await state.store.case(case_id)
    answer = await state.services.search.query(case.key, body.question, body.top_k, body.max_tokens)
    await record_access(request, actor, "case.search", case_id)
    documents = {d.key: d for d in await state.store.documents(case_id)}
    for source in answer.get("sources", []):
        document = documents.get(str(source.get("document_id")))
        source["case_document_id"] = document.id if document else None
        source["document"] = document.file_name if document else "a deleted document"
    return {"case_id": case_id, **answer}
