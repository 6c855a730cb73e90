"""The manuals, through the RAG service: everyone signed in lists them and asks them;
only an admin uploads or deletes one (the permission table)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from rma.app.actor import ManualAsker, ManualDeleter, ManualReader, ManualUploader
from rma.app.deps import AppState, StateDep
from rma.rag.library import MAX_UPLOAD_BYTES
from rma.service.body import MULTIPART_OVERHEAD, BodyLimit, file_upload_body, uploaded_file

routes = APIRouter(prefix="/manuals", tags=["manuals"])
# The RAG service's own limit, applied at the app too, before the body is passed on.
ManualBody = Annotated[bytes, Depends(BodyLimit(MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD))]


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(5, ge=1, le=20)
    max_tokens: int | None = Field(None, ge=16, le=1024)


@routes.get("")
async def list_manuals(state: StateDep, _: ManualReader) -> dict[str, Any]:
    return await state.services.manuals.list()


@routes.post("", openapi_extra=file_upload_body("a manual: PDF, Markdown, text, DOCX or HTML"))
async def upload_manual(
    _: ManualUploader, request: Request, body: ManualBody, state: StateDep
) -> dict[str, Any]:
    """Upload a manual (multipart field ``file``); replaces an older version of it. The
    permission is checked before the body is read."""
    return await send_manual(state, request, body)


async def send_manual(state: AppState, request: Request, body: bytes) -> dict[str, Any]:
    """The manual in an upload's field ``file``, sent to the RAG service; its ingest result."""
    sent = await uploaded_file(body, request.headers)
    # The RAG service tells the format by the file's name and first bytes.
    return await state.services.manuals.upload(sent.filename, sent.data, "application/octet-stream")


@routes.delete("/{manual_id}")
async def delete_manual(manual_id: str, state: StateDep, _: ManualDeleter) -> dict[str, Any]:
    return await state.services.manuals.delete(manual_id)


@routes.post("/ask")
async def ask(body: Question, state: StateDep, _: ManualAsker) -> dict[str, Any]:
    """A cited answer from the manuals (or "not in the manuals")."""
    return await state.services.manuals.ask(body.model_dump(exclude_none=True))
