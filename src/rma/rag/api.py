"""Ask the Manuals over HTTP (port 8102): cited answers, legal limits, ingestion.

Also speaks the OpenAI chat-completions protocol (model ``rma-manuals``) so existing chat
front ends and SDK clients can ask the manuals; citations come back in the text and in
an ``rma`` field beside the usual ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from rma import constants as C
from rma.db import Database
from rma.errors import InputError, InputTooLarge, NotFound, RMAError
from rma.ocr.locate import locate
from rma.ocr.pdf import pdf_page_png, pdf_page_text_layer
from rma.ocr.workers import start_workers, workers
from rma.rag import cases
from rma.rag.answer import (
    DEFAULT_ANSWER_TOKENS,
    DEFAULT_TOP_K,
    MAX_TOP_K,
    AnalysisResponse,
    AnswerResponse,
    CitedAnswer,
    ManualsAnswerer,
    analyze_question,
    format_with_citations,
)
from rma.rag.jobs import IngestJob, JobBook, folder_job, run_job
from rma.rag.library import IngestResult, LibraryStats, ManualLibrary
from rma.rag.limits import (
    ConflictsResponse,
    LimitHistoryResponse,
    LimitsResponse,
    ManualLimits,
    Status,
    ThresholdBook,
    conflict_record,
    limit_history,
    limits_on,
    open_register,
    threshold_book,
)
from rma.rag.store import DocumentRecord
from rma.service.app import RouterDep, SettingsDep, create_app
from rma.service.body import MULTIPART_OVERHEAD, BodyLimit, file_upload_body, uploaded_file
from rma.service.errors import error_body, public_detail, redact, status_for
from rma.service.logs import request_id
from rma.service.sse import DONE, SSE_RESPONSE, Frame, error_frames, event_stream

log = logging.getLogger("rma.rag")
MODEL_ID = "rma-manuals"
MAX_BATCH_QUESTIONS = 100


class RagService:
    """What the routes share: the library (store and indexes), the limits (the approved
    table and what the manuals say about it), the answerer, which reads both, and the
    ingest jobs (one runs at a time, in the background)."""

    def __init__(
        self,
        library: ManualLibrary,
        limits: ManualLimits,
        answerer: ManualsAnswerer,
        database: Database | None = None,
    ) -> None:
        self.library = library
        self.limits = limits
        self.answerer = answerer
        self.database = database
        self.jobs = JobBook(library.data_dir)
        self._queue: asyncio.Queue[IngestJob] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def submit(self, job: IngestJob) -> None:
        """Queue a job for the background worker (started on first use)."""
        self._queue.put_nowait(job)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await run_job(self.library, self.jobs, job)
            except Exception:  # recorded on the job (state "failed"); the worker goes on
                log.exception("ingest job failed", extra={"job": job.id})

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.library.close()
        if self.database is not None:
            await self.database.aclose()


async def get_service(request: Request) -> RagService:
    """The service, its indexes brought up to date if another instance changed the store."""
    rag: RagService = request.app.state.rag
    await rag.library.refresh_if_changed()
    return rag


ServiceDep = Annotated[RagService, Depends(get_service)]
# An upload is read within the library's limit (plus the multipart envelope) before parsing.
UploadBody = Annotated[
    bytes,
    Depends(
        BodyLimit(
            lambda request: request.app.state.rag.library.max_upload_bytes + MULTIPART_OVERHEAD,
        )
    ),
]
UPLOAD_SCHEMA = file_upload_body("a manual: PDF, Markdown, text, DOCX or HTML")


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


class FailedQuestion(BaseModel):
    """A question of a batch that could not be answered, and why."""

    question: str
    error: dict[str, Any]


class BatchResponse(BaseModel):
    results: list[AnswerResponse | FailedQuestion]
    concurrency: int = Field(description="Questions answered at once.")
    failed: int
    seconds: float


class IngestAllResponse(BaseModel):
    results: list[IngestResult]


class IngestJobRequest(BaseModel):
    remove_missing: bool = Field(
        default=True,
        description="Remove manuals ingested from the folder before and now gone from it.",
    )


class IngestJobList(BaseModel):
    jobs: list[IngestJob]


class DocumentsResponse(BaseModel):
    documents: list[DocumentRecord]


class DeletedResponse(BaseModel):
    deleted: str


Box = tuple[float, float, float, float]


class PassageResponse(BaseModel):
    """A cited passage where it is in its manual: for a PDF, its page (``page_image``, a
    path on this service) and the boxes of its words on that page; for every manual, the
    passages around it, to read it in context."""

    chunk_id: str
    document_id: str
    title: str
    filename: str
    kind: str
    pages: int
    page: int | None
    heading: str
    text: str
    page_image: str | None = Field(default=None, description="The page as PNG, when it has one.")
    page_size: tuple[float, float] | None = Field(
        default=None, description="The page's width and height in points (the boxes' units)."
    )
    boxes: list[Box] = Field(
        default_factory=list,
        description="The passage's lines on the page: left, top, right, bottom from the top "
        "left corner, in points.",
    )
    located: bool = Field(default=False, description="Enough of the passage was found on the page.")
    found_words: int = 0
    passage_words: int = 0
    before: list[str] = Field(default_factory=list, description="The passages before it.")
    after: list[str] = Field(default_factory=list, description="The passages after it.")
    warnings: list[str] = Field(default_factory=list)


class ChatMessageIn(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessageIn] = Field(..., min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=16, le=1024)


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "rma"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """An OpenAI chat completion, with the full cited answer in ``rma``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[ChatChoice]
    usage: Usage
    rma: AnswerResponse


routes = APIRouter()


@routes.post("/query", tags=["answers"], response_model=AnswerResponse)
async def query(body: QueryRequest, rag: ServiceDep) -> AnswerResponse:
    """A cited answer from the manuals."""
    answer = await rag.answerer.answer(body.question, body.top_k, body.max_tokens)
    return answer.response()


@routes.post("/query/stream", tags=["answers"], response_class=Response, responses=SSE_RESPONSE)
async def query_stream(body: QueryRequest, rag: ServiceDep) -> Response:
    """Server-sent events: ``sources``, ``delta``... then ``answer`` (or ``error``)."""
    events = rag.answerer.stream(body.question, body.top_k, body.max_tokens)
    first = await anext(events)  # bad input fails here, as a normal 4xx response

    async def frames() -> AsyncIterator[Frame]:
        yield first
        async for kind, payload in events:
            if kind == "error":  # the same error event as a failure before the first token
                for frame in error_frames("stream_interrupted", redact(payload), 502):
                    yield frame
                continue
            yield kind, payload.response() if isinstance(payload, CitedAnswer) else payload

    return event_stream(frames())


@routes.post("/batch-query", tags=["answers"], response_model=BatchResponse)
async def batch_query(body: BatchRequest, rag: ServiceDep, router: RouterDep) -> BatchResponse:
    """Many questions, answered concurrently up to the chat backend's capacity."""
    if len(body.questions) > MAX_BATCH_QUESTIONS:
        raise InputTooLarge(
            f"{len(body.questions)} questions; a batch takes at most {MAX_BATCH_QUESTIONS}"
        )
    capacity = max(1, min(router.capacity(), MAX_BATCH_QUESTIONS))
    slots = asyncio.Semaphore(capacity)
    started = time.monotonic()

    async def one(question: str) -> AnswerResponse | FailedQuestion:
        async with slots:
            try:
                answer = await rag.answerer.answer(question, body.top_k, body.max_tokens)
                return answer.response()
            except RMAError as exc:
                # One failed question is reported in its place; the others still count.
                error = error_body(type(exc).__name__, public_detail(exc), status=status_for(exc))
                return FailedQuestion(question=question, error=error)

    results = await asyncio.gather(*(one(q) for q in body.questions))
    return BatchResponse(
        results=list(results),
        concurrency=capacity,
        failed=sum(1 for r in results if isinstance(r, FailedQuestion)),
        seconds=round(time.monotonic() - started, 3),
    )


@routes.post("/analyze-question", tags=["answers"], response_model=AnalysisResponse)
async def analyze(body: AnalyzeRequest, rag: ServiceDep) -> AnalysisResponse:
    """Topic, question type, figures mentioned, and the limits a question is about with
    their approved values for the date it asks about."""
    return analyze_question(body.question, await rag.limits.evidence())


AsAt = Annotated[
    date | None, Query(description="The date the values are for (YYYY-MM-DD); default today.")
]
Jurisdiction = Annotated[str, Query(description="e.g. england-wales")]


@routes.get("/limits", tags=["limits"], response_model=LimitsResponse)
async def limits(
    rag: ServiceDep, as_at: AsAt = None, jurisdiction: Jurisdiction | None = None
) -> LimitsResponse:
    """Every limit's value in force on a date: status, dates, instrument, the passages of
    the manuals that support it, and the open conflicts."""
    evidence = await rag.limits.evidence()
    return limits_on(evidence, as_at or evidence.today, jurisdiction)


@routes.get("/limits/conflicts", tags=["limits"], response_model=ConflictsResponse)
async def limit_conflicts(rag: ServiceDep, name: str | None = None) -> ConflictsResponse:
    """Figures the manuals state that the approved table does not hold for those dates:
    stale quotes and values for review. They change nothing until a change is approved."""
    evidence = await rag.limits.evidence()
    if name is not None:
        name = evidence.table.definition(name).name  # 404 naming the known limits
    found = [conflict_record(f) for f in evidence.conflicts(name)]
    return ConflictsResponse(count=len(found), conflicts=found)


@routes.get("/limits/{name}", tags=["limits"], response_model=LimitHistoryResponse)
async def limit(
    name: str,
    rag: ServiceDep,
    as_at: AsAt = None,
    jurisdiction: Jurisdiction = C.DEFAULT_JURISDICTION,
) -> LimitHistoryResponse:
    """One limit: its value on ``as_at`` (if given), every value it has had, and the
    conflicts open against it. An unknown name is a 404 that lists the known ones."""
    return limit_history(await rag.limits.evidence(), name, as_at, jurisdiction)


@routes.get("/thresholds", tags=["limits"], response_model=ThresholdBook)
async def thresholds(rag: ServiceDep, status: Status | None = None) -> ThresholdBook:
    """The limits in the shape this route has always had, now from the approved table
    (``source`` is a passage that supports the value). Use ``/limits`` instead."""
    return threshold_book(await rag.limits.evidence(), status)


@routes.post("/ingest", tags=["manuals"], response_model=IngestResult, openapi_extra=UPLOAD_SCHEMA)
async def ingest(request: Request, body: UploadBody, rag: ServiceDep) -> IngestResult:
    """Upload one manual (PDF, Markdown, text, DOCX or HTML); replaces an older version."""
    upload = await uploaded_file(body, request.headers)
    return await rag.library.ingest(upload.filename, upload.data)


@routes.post("/ingest-all-manuals", tags=["manuals"], response_model=IngestAllResponse)
async def ingest_all(rag: ServiceDep, settings: SettingsDep) -> IngestAllResponse:
    """(Re)ingest every manual in ``MANUALS_PATH``; manuals removed from it are removed."""
    return IngestAllResponse(results=await rag.library.ingest_folder(Path(settings.manuals_path)))


@routes.post("/ingest-jobs", tags=["manuals"], response_model=IngestJob, status_code=202)
async def create_ingest_job(
    rag: ServiceDep, settings: SettingsDep, body: IngestJobRequest | None = None
) -> IngestJob:
    """Start ingesting every manual in ``MANUALS_PATH`` in the background; poll the job
    for progress. A job interrupted by a restart resumes when the service starts."""
    request = body or IngestJobRequest()
    job = await asyncio.to_thread(
        folder_job, rag.jobs, Path(settings.manuals_path), remove_missing=request.remove_missing
    )
    rag.submit(job)
    return job


@routes.get("/ingest-jobs", tags=["manuals"], response_model=IngestJobList)
async def list_ingest_jobs(rag: ServiceDep) -> IngestJobList:
    """Every ingest job this service has run, oldest first."""
    return IngestJobList(jobs=await asyncio.to_thread(rag.jobs.all))


@routes.get("/ingest-jobs/{job_id}", tags=["manuals"], response_model=IngestJob)
async def get_ingest_job(job_id: str, rag: ServiceDep) -> IngestJob:
    """A job's state and progress: files done of total, pages done, each file's outcome."""
    return await asyncio.to_thread(rag.jobs.get, job_id)


@routes.get("/documents", tags=["manuals"], response_model=DocumentsResponse)
async def documents(rag: ServiceDep) -> DocumentsResponse:
    """The ingested manuals."""
    return DocumentsResponse(documents=await rag.library.documents())


@routes.delete("/documents/{document_id}", tags=["manuals"], response_model=DeletedResponse)
async def delete_document(document_id: str, rag: ServiceDep) -> DeletedResponse:
    """Remove a manual and everything indexed from it."""
    if not await rag.library.delete(document_id):
        raise DocumentNotFound(f"no document with id {document_id!r}")
    return DeletedResponse(deleted=document_id)


PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The page as PNG",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@routes.get(
    "/documents/{document_id}/pages/{page}",
    tags=["manuals"],
    response_class=Response,
    responses=PNG_RESPONSE,
)
async def page_image(document_id: str, page: int, rag: ServiceDep) -> Response:
    """Page ``page`` (from 1) of a PDF manual, rendered as PNG in a document worker."""
    data = await _pdf_original(rag, document_id, page)
    png = await workers().run(pdf_page_png, data, page - 1, C.PAGE_IMAGE_DPI)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@routes.get("/passages/{chunk_id}", tags=["manuals"], response_model=PassageResponse)
async def passage(chunk_id: str, rag: ServiceDep) -> PassageResponse:
    """A cited passage (a source's ``chunk_id``) in its manual: the passages around it
    and, for a PDF, its page and the boxes of its words there (found word by word in the
    page's text layer; ``located`` is False when too little of it was found)."""
    record, chunk, before, after = await rag.library.passage(chunk_id, C.PASSAGE_CONTEXT)
    found = PassageResponse(
        chunk_id=chunk_id, document_id=record.document_id, title=record.title,
        filename=record.filename, kind=record.kind, pages=record.pages, page=chunk.page,
        heading=chunk.heading, text=chunk.text, before=[c.text for c in before],
        after=[c.text for c in after],
    )  # fmt: skip
    if record.kind != "pdf" or chunk.page is None:
        return found
    data = await _pdf_original(rag, record.document_id, chunk.page)
    layer = await workers().run(pdf_page_text_layer, data, chunk.page - 1)
    place = await asyncio.to_thread(locate, layer.words, chunk.text)
    found.page_image = f"/documents/{record.document_id}/pages/{chunk.page}"
    found.page_size = layer.size
    found.boxes, found.located = place.boxes, place.located
    found.found_words, found.passage_words = place.found, place.words
    if not place.located:
        found.boxes = []
        found.warnings.append(
            f"the passage could not be found in page {chunk.page}'s text layer (a scanned "
            "page is read by OCR): read it on the page and in the text below"
        )
    return found


async def _pdf_original(rag: RagService, document_id: str, page: int) -> bytes:
    """The kept original of a PDF manual, checked to have ``page``; 404 otherwise."""
    record, path = await rag.library.original(document_id)
    if record.kind != "pdf":
        raise NotFound(f"{record.filename} is not a PDF: it has no page images")
    if not 1 <= page <= record.pages:
        raise NotFound(f"{record.filename} has {record.pages} pages; there is no page {page}")
    if path is None:
        raise NotFound(
            f"the original of {record.filename} is not kept (ingested before originals were "
            "kept): ingest it again"
        )
    return await asyncio.to_thread(path.read_bytes)


@routes.get("/stats", tags=["manuals"], response_model=LibraryStats)
async def stats(rag: ServiceDep) -> LibraryStats:
    """How many manuals, chunks and thresholds, and what they are indexed with."""
    return await rag.library.stats()


# ------------------------------------------------------------ OpenAI-compatible surface


@routes.get("/v1/models", tags=["openai"], response_model=ModelList)
async def models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID)])


@routes.post(
    "/v1/chat/completions",
    tags=["openai"],
    response_model=ChatCompletion,
    responses={200: {"content": SSE_RESPONSE[200]["content"]}},
)
async def chat_completions(
    body: ChatCompletionRequest, rag: ServiceDep
) -> ChatCompletion | Response:
    """The last user message is the question; the answer lists its sources. With
    ``stream``, OpenAI-style ``chat.completion.chunk`` events and ``[DONE]``."""
    if body.model != MODEL_ID:
        raise InputError(f"unknown model {body.model!r}; this service offers {MODEL_ID!r}")
    question = next((_text(m.content) for m in reversed(body.messages) if m.role == "user"), "")
    max_tokens = body.max_tokens or DEFAULT_ANSWER_TOKENS
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        answer = await rag.answerer.answer(question, DEFAULT_TOP_K, max_tokens)
        return ChatCompletion(
            id=completion_id,
            created=created,
            choices=[ChatChoice(message=ChatMessageOut(content=format_with_citations(answer)))],
            usage=_usage(answer),
            rma=answer.response(),
        )
    events = rag.answerer.stream(question, DEFAULT_TOP_K, max_tokens)
    await anext(events)  # sources; bad input fails here as a normal 4xx response

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> Frame:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return None, payload

    async def frames() -> AsyncIterator[Frame]:
        yield chunk({"role": "assistant", "content": ""})
        async for kind, payload in events:
            if kind == "delta":
                yield chunk({"content": payload})
            elif kind == "answer":
                tail = format_with_citations(payload)[len(payload.answer) :]
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, "stop", rma=payload.response())
            elif kind == "error":
                yield _openai_error("stream_interrupted", redact(payload), 502)
        yield None, DONE

    def failed(kind: str, detail: str, status: int) -> list[Frame]:
        return [_openai_error(kind, detail, status), (None, DONE)]

    return event_stream(frames(), error_events=failed)


def _openai_error(kind: str, detail: str, status: int) -> Frame:
    """A failure inside an OpenAI-style stream, as OpenAI's and vLLM's servers send it: an
    event holding only an error object, which OpenAI clients raise as an error (a chunk with
    a made-up ``finish_reason`` would read as a normal end)."""
    body = {"message": detail, "type": kind, "param": None, "code": status}
    return None, {"error": body | {"request_id": request_id.get()}}


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _usage(answer: CitedAnswer) -> Usage:
    tokens_in = answer.provenance.tokens_in if answer.provenance else 0
    tokens_out = answer.provenance.tokens_out if answer.provenance else 0
    return Usage(
        prompt_tokens=tokens_in, completion_tokens=tokens_out, total_tokens=tokens_in + tokens_out
    )


# --------------------------------------------------------------------------- the app


async def _start(app: FastAPI) -> None:
    start_workers(app.state.settings)  # manuals uploaded are untrusted files too
    library = await ManualLibrary.open(app.state.settings, app.state.router)
    register, database = await open_register(app.state.settings)
    limits = ManualLimits(library.candidates, register)
    answerer = ManualsAnswerer.for_library(library, limits)
    rag = RagService(library, limits, answerer, database)
    for job in await asyncio.to_thread(rag.jobs.unfinished):
        rag.submit(job)  # stopped part-way: resume where it left off
    app.state.rag = rag


async def _stop(app: FastAPI) -> None:
    rag: RagService | None = getattr(app.state, "rag", None)
    if rag is not None:
        await rag.stop()


def create(**kwargs: Any) -> FastAPI:
    """The Ask the Manuals service (``rma serve rag``)."""
    return create_app(
        "rag", routes=[routes, cases.routes], on_startup=_start, on_shutdown=_stop, **kwargs
    )
