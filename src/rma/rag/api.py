"""Ask the Manuals over HTTP (port 8102): cited answers, thresholds, ingestion.

Also speaks the OpenAI chat-completions protocol (model ``rma-manuals``) so existing chat
front ends and SDK clients can ask the manuals; citations come back in the text and in
an ``rma`` field beside the usual ones.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from rma.errors import InputError, InputTooLarge, RMAError
from rma.rag.answer import (
    DEFAULT_ANSWER_TOKENS,
    DEFAULT_TOP_K,
    MAX_TOP_K,
    ManualsAnswerer,
    analyze_question,
    format_with_citations,
)
from rma.rag.library import ManualLibrary
from rma.service.app import RouterDep, SettingsDep, create_app, error_body

MODEL_ID = "rma-manuals"
MAX_BATCH_QUESTIONS = 100
UPLOAD_READ_CHUNK = 1024 * 1024
# Room for multipart boundaries and headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class RagService:
    """What the routes share: the library (store and indexes) and the answerer."""

    def __init__(self, library: ManualLibrary, answerer: ManualsAnswerer) -> None:
        self.library = library
        self.answerer = answerer

    def refresh(self) -> None:
        self.answerer.use_thresholds(self.library.thresholds)


async def get_service(request: Request) -> RagService:
    """The service, its indexes brought up to date if another instance changed the store."""
    rag: RagService = request.app.state.rag
    if await rag.library.refresh_if_changed():
        rag.refresh()
    return rag


ServiceDep = Annotated[RagService, Depends(get_service)]


class DocumentNotFound(InputError):
    status_code = 404


class QueryRequest(BaseModel):
    question: str = Field(..., description="The adviser's question")
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    max_tokens: int = Field(DEFAULT_ANSWER_TOKENS, ge=16, le=1024)


class BatchRequest(BaseModel):
    questions: list[str] = Field(..., min_length=1)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    max_tokens: int = Field(DEFAULT_ANSWER_TOKENS, ge=16, le=1024)


class AnalyzeRequest(BaseModel):
    question: str


class ChatMessageIn(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessageIn] = Field(..., min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=16, le=1024)


routes = APIRouter()


@routes.post("/query", tags=["answers"])
async def query(body: QueryRequest, rag: ServiceDep) -> dict[str, Any]:
    """A cited answer from the manuals."""
    answer = await rag.answerer.answer(body.question, body.top_k, body.max_tokens)
    return answer.as_dict()


@routes.post("/query/stream", tags=["answers"])
async def query_stream(body: QueryRequest, rag: ServiceDep) -> StreamingResponse:
    """Server-sent events: ``sources``, ``delta``... then ``answer`` (or ``error``)."""
    events = rag.answerer.stream(body.question, body.top_k, body.max_tokens)
    first = await anext(events)  # bad input fails here, as a normal 4xx response

    async def sse() -> AsyncIterator[str]:
        yield _sse(first[0], first[1])
        try:
            async for kind, payload in events:
                data = payload.as_dict() if kind == "answer" else payload
                yield _sse(kind, data)
        except RMAError as exc:
            yield _sse("error", error_body(type(exc).__name__, str(exc)))

    return StreamingResponse(sse(), media_type="text/event-stream")


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@routes.post("/batch-query", tags=["answers"])
async def batch_query(body: BatchRequest, rag: ServiceDep, router: RouterDep) -> dict[str, Any]:
    """Many questions, answered concurrently up to the chat backend's capacity."""
    if len(body.questions) > MAX_BATCH_QUESTIONS:
        raise InputTooLarge(
            f"{len(body.questions)} questions; a batch takes at most {MAX_BATCH_QUESTIONS}"
        )
    capacity = max(1, min(router.capacity(), MAX_BATCH_QUESTIONS))
    slots = asyncio.Semaphore(capacity)
    started = time.monotonic()

    async def one(question: str) -> dict[str, Any]:
        async with slots:
            try:
                answer = await rag.answerer.answer(question, body.top_k, body.max_tokens)
                return answer.as_dict()
            except RMAError as exc:
                # One failed question is reported in its place; the others still count.
                return {"question": question, "error": error_body(type(exc).__name__, str(exc))}

    results = await asyncio.gather(*(one(q) for q in body.questions))
    return {
        "results": results,
        "concurrency": capacity,
        "failed": sum(1 for r in results if "error" in r),
        "seconds": round(time.monotonic() - started, 3),
    }


@routes.post("/analyze-question", tags=["answers"])
async def analyze(body: AnalyzeRequest, rag: ServiceDep) -> dict[str, Any]:
    """Topic, question type, figures mentioned and the limits a question is about."""
    return analyze_question(body.question, rag.library.thresholds).as_dict()


@routes.get("/thresholds", tags=["thresholds"])
async def thresholds(rag: ServiceDep, status: str | None = None) -> dict[str, Any]:
    """Named limits with value, unit, effective date, status and source quote."""
    book = rag.library.thresholds.as_dict()
    if status:
        book["thresholds"] = [t for t in book["thresholds"] if t["status"] == status]
    return book


@routes.post("/ingest", tags=["manuals"])
async def ingest(file: UploadFile, rag: ServiceDep, request: Request) -> dict[str, Any]:
    """Upload one manual (PDF, Markdown, text, DOCX or HTML); replaces an older version."""
    limit = rag.library.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise InputTooLarge(f"the upload is larger than the {limit / 1e6:.0f} MB limit")
    data = bytearray()
    while piece := await file.read(UPLOAD_READ_CHUNK):
        data.extend(piece)
        if len(data) > limit:
            raise InputTooLarge(f"the file is larger than the {limit / 1e6:.0f} MB limit")
    result = await rag.library.ingest(file.filename or "", bytes(data))
    rag.refresh()
    return result.as_dict()


@routes.post("/ingest-all-manuals", tags=["manuals"])
async def ingest_all(rag: ServiceDep, settings: SettingsDep) -> dict[str, Any]:
    """(Re)ingest every manual in ``MANUALS_PATH``; manuals removed from it are removed."""
    results = await rag.library.ingest_folder(Path(settings.manuals_path))
    rag.refresh()
    return {"results": [r.as_dict() for r in results]}


@routes.get("/documents", tags=["manuals"])
async def documents(rag: ServiceDep) -> dict[str, Any]:
    return {"documents": [d.as_dict() for d in await rag.library.documents()]}


@routes.delete("/documents/{document_id}", tags=["manuals"])
async def delete_document(document_id: str, rag: ServiceDep) -> dict[str, Any]:
    if not await rag.library.delete(document_id):
        raise DocumentNotFound(f"no document with id {document_id!r}")
    rag.refresh()
    return {"deleted": document_id}


@routes.get("/stats", tags=["manuals"])
async def stats(rag: ServiceDep) -> dict[str, Any]:
    return await rag.library.stats()


# ------------------------------------------------------------ OpenAI-compatible surface


@routes.get("/v1/models", tags=["openai"])
async def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rma"}],
    }


@routes.post("/v1/chat/completions", tags=["openai"], response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, rag: ServiceDep
) -> dict[str, Any] | StreamingResponse:
    """The last user message is the question; the answer lists its sources."""
    if body.model != MODEL_ID:
        raise InputError(f"unknown model {body.model!r}; this service offers {MODEL_ID!r}")
    question = next((_text(m.content) for m in reversed(body.messages) if m.role == "user"), "")
    max_tokens = body.max_tokens or DEFAULT_ANSWER_TOKENS
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        answer = await rag.answerer.answer(question, DEFAULT_TOP_K, max_tokens)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": format_with_citations(answer)},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer.provenance),
            "rma": answer.as_dict(),
        }
    events = rag.answerer.stream(question, DEFAULT_TOP_K, max_tokens)
    await anext(events)  # sources; bad input fails here as a normal 4xx response

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n"

    async def sse() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for kind, payload in events:
                if kind == "delta":
                    yield chunk({"content": payload})
                elif kind == "answer":
                    tail = format_with_citations(payload)[len(payload.answer) :]
                    if tail:
                        yield chunk({"content": tail})
                    yield chunk({}, "stop", rma=payload.as_dict())
                elif kind == "error":
                    yield chunk({}, "error", error=error_body("stream_interrupted", payload))
        except RMAError as exc:
            yield chunk({}, "error", error=error_body(type(exc).__name__, str(exc)))
        yield "data: [DONE]\n\n"

    return StreamingResponse(sse(), media_type="text/event-stream")


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _usage(provenance: dict[str, Any] | None) -> dict[str, int]:
    tokens_in = int((provenance or {}).get("tokens_in", 0))
    tokens_out = int((provenance or {}).get("tokens_out", 0))
    return {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }


# --------------------------------------------------------------------------- the app


async def _start(app: FastAPI) -> None:
    settings = app.state.settings
    router = app.state.router
    library = await ManualLibrary.open(settings, router)
    app.state.rag = RagService(library, ManualsAnswerer.for_library(library))


def create(**kwargs: Any) -> FastAPI:
    """The Ask the Manuals service (``rma serve rag``)."""
    return create_app("rag", routes=[routes], on_startup=_start, **kwargs)
