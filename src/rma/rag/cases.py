"""Each client's documents, searchable on their own: one Chroma collection per case.

The adviser app sends a document's pages (already read by the doc-processor) here to be
indexed; a question about a case is answered from that case's passages alone, citing
their pages. Nothing else reads a case's collection: the manuals' endpoints, batch and the
OpenAI-compatible surface hold the manual store only, and a case's keyword index lives
for one question in memory (never on disk).

Forgetting a case deletes its collection and, on the embedded store, the collection's
vector files and the deleted rows left in Chroma's SQLite file (VACUUM), so the text is
gone from the disk. A Chroma server keeps deleted rows in its file until it is vacuumed
(``chroma utils vacuum``); the receipt says so.

    PUT    /cases/{case_key}/documents/{document_key}   index a document's pages
    DELETE /cases/{case_key}/documents/{document_key}   remove one document
    POST   /cases/{case_key}/query                      a cited answer from this case only
    GET    /cases/{case_key}                            what is indexed (counts)
    DELETE /cases/{case_key}                            forget the case entirely
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from rma.errors import InputError, NotFound
from rma.llm.router import ProviderRouter
from rma.llm.types import ChatResult, Message, Role
from rma.rag.answer import (
    DEFAULT_ANSWER_TOKENS,
    DEFAULT_TOP_K,
    MAX_TOP_K,
    AnswerResponse,
    CitedAnswer,
    ManualsAnswerer,
    PreparedQuestion,
    Source,
)
from rma.rag.bm25 import KeywordIndex
from rma.rag.limits import ManualLimits
from rma.rag.manuals import Block, LoadedManual, chunk_manual
from rma.rag.retrieval import HybridRetriever
from rma.rag.store import WRITES, ManualStore

log = logging.getLogger("rma.rag")

PREFIX = "rma_case_"
KEY = r"^[0-9a-f]{32}$"
CASE_PROMPT = (
    "You help a UK debt adviser with one client's documents. Answer only from the numbered "
    "passages below, which come from this client's own documents. After each statement, cite "
    "the passage number in square brackets, like [1]. Copy names, references, amounts and "
    "dates exactly as written and do not calculate. If the passages do not answer the "
    "question, say that the client's documents do not say."
)
NOT_IN_DOCUMENTS = (
    "The client's documents do not answer this question: no passage in them is close enough, "
    "so no answer has been generated."
)
MAX_PAGES = 500
MAX_PAGE_CHARS = 200_000

CaseKey = Annotated[str, PathParam(pattern=KEY, description="the case's key (32 hex digits)")]


class PageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1)
    text: str = Field(max_length=MAX_PAGE_CHARS)


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_name: str = Field(min_length=1, max_length=255)
    pages: list[PageIn] = Field(min_length=1, max_length=MAX_PAGES)


class CaseQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    max_tokens: int = Field(DEFAULT_ANSWER_TOKENS, ge=16, le=1024)


class Indexed(BaseModel):
    document_key: str
    passages: int = Field(description="passages of the document in the case's index")


class Removed(BaseModel):
    document_key: str
    removed: int = Field(description="passages removed")


class CaseStats(BaseModel):
    documents: int
    passages: int


class Forgotten(CaseStats):
    store_compacted: bool = Field(
        description="the store's files hold nothing of the case (false on a Chroma server "
        "until it is vacuumed)"
    )
    warnings: list[str]


class CaseAnswerer(ManualsAnswerer):
    """The manuals' cited answers, over one case's passages and worded for them; a
    client's letters state no legal limits."""

    states_limits = False

    def _messages(self, question: str, sources: list[Source], *rest: Any) -> list[Message]:
        messages = super()._messages(question, sources, *rest)
        return [Message.system(CASE_PROMPT), *messages[1:]]

    def finish(self, prepared: PreparedQuestion, result: ChatResult | None) -> CitedAnswer:
        answer = super().finish(prepared, result)
        if not answer.covered and answer.unchecked_reply is None:
            answer.answer = NOT_IN_DOCUMENTS
        return answer


class CaseIndex:
    """Every case's collection in the store the manuals use (same client, same model)."""

    def __init__(self, manuals: ManualStore, router: ProviderRouter) -> None:
        self.client = manuals.client
        self.location = manuals.location
        self.router = router
        self.count_tokens = router.token_counter(Role.EMBED)
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, case_key: str) -> asyncio.Lock:
        return self._locks.setdefault(case_key, asyncio.Lock())

    def _store(self, case_key: str, create: bool) -> ManualStore | None:
        name = PREFIX + check_key(case_key)
        if not create:
            try:
                self.client.get_collection(name)
            except Exception:  # Chroma's "does not exist" has no stable type across versions
                return None
        return ManualStore(self.client, name, self.location)

    async def index(self, case_key: str, document_key: str, document: DocumentIn) -> int:
        """(Re)index one document's pages; returns the passages stored."""
        check_key(document_key)
        blocks = [
            Block("paragraph", paragraph.strip(), page=page.number)
            for page in document.pages
            for paragraph in re.split(r"\n\s*\n", page.text)
            if paragraph.strip()
        ]
        if not blocks:
            raise InputError("the document has no text to index")
        manual = LoadedManual(
            name=document.file_name, kind="pdf", title=document.file_name,
            pages=max(p.number for p in document.pages), blocks=blocks,
        )  # fmt: skip
        chunks = await asyncio.to_thread(chunk_manual, manual, document_key, self.count_tokens)
        embedded = await self.router.embed([c.embedding_text() for c in chunks])
        digest = hashlib.sha256("\n".join(c.text for c in chunks).encode()).hexdigest()
        async with self._lock(case_key):
            store = await asyncio.to_thread(self._store, case_key, True)
            assert store is not None
            await asyncio.to_thread(store.claim_model, embedded.model, embedded.dimension)
            await asyncio.to_thread(
                store.replace_document, manual, digest, "case", chunks, embedded.vectors
            )
        log.info("case document indexed", extra={"chunks": len(chunks), "pages": manual.pages})
        return len(chunks)

    async def remove(self, case_key: str, document_key: str) -> int:
        async with self._lock(case_key):
            store = await asyncio.to_thread(self._store, case_key, False)
            if store is None:
                return 0
            return await asyncio.to_thread(store.delete_document, check_key(document_key))

    async def answer(self, case_key: str, query: CaseQuery) -> CitedAnswer:
        store = await asyncio.to_thread(self._store, case_key, False)
        if store is None or await asyncio.to_thread(store.count) == 0:
            raise NotFound("nothing of this case is indexed: no document has been read yet")
        rows = await asyncio.to_thread(store.all_chunks)
        keywords = KeywordIndex(None)  # for this one question, in memory, never on disk
        by_document: dict[str, list[tuple[str, str]]] = {}
        for row_id, chunk in rows:
            by_document.setdefault(chunk.document_id, []).append((row_id, chunk.embedding_text()))
        for document_id, texts in by_document.items():
            await asyncio.to_thread(keywords.replace_document, document_id, "", texts)
        # A case's documents are a handful of the client's papers, not a library with a
        # map of its terms: "who is the creditor" must find a letter that never says
        # "creditor", so only similarity decides what is relevant.
        retriever = HybridRetriever(store, keywords, self.router, check_coverage=False)
        answerer = CaseAnswerer(
            retriever, store, ManualLimits(lambda: (0, [])), self.router,
            context_window=self.router.context_window(),
        )  # fmt: skip
        return await answerer.answer(query.question, query.top_k, query.max_tokens)

    async def stats(self, case_key: str) -> CaseStats:
        store = await asyncio.to_thread(self._store, case_key, False)
        if store is None:
            return CaseStats(documents=0, passages=0)
        documents = await asyncio.to_thread(store.documents)
        passages = await asyncio.to_thread(store.count)
        return CaseStats(documents=len(documents), passages=passages)

    async def forget(self, case_key: str) -> Forgotten:
        """Delete the case's collection and, on the embedded store, its files' leftovers."""
        async with self._lock(case_key):
            store = await asyncio.to_thread(self._store, case_key, False)
            if store is None:
                return Forgotten(documents=0, passages=0, store_compacted=True, warnings=[])
            counts = await self.stats(case_key)
            compacted, warnings = await asyncio.to_thread(self._drop, store)
        self._locks.pop(case_key, None)
        log.info("case forgotten", extra={"chunks": counts.passages})
        return Forgotten(**counts.model_dump(), store_compacted=compacted, warnings=warnings)

    def _drop(self, store: ManualStore) -> tuple[bool, list[str]]:
        folder = Path(self.location)
        database = folder / "chroma.sqlite3"
        embedded = database.is_file()
        # the chunks' collection and the catalogue of its documents (names, titles)
        collections = [store.collection, store.catalogue]
        segments = (
            [s for c in collections for s in _segments(database, str(c.id))] if embedded else []
        )
        with WRITES:
            for collection in collections:
                self.client.delete_collection(collection.name)
            store.scrub()
        if not embedded:
            return False, [
                "the Chroma server keeps deleted rows in its file until it is vacuumed "
                "(chroma utils vacuum); schedule it after erasures"
            ]
        for segment in segments:
            shutil.rmtree(folder / segment, ignore_errors=True)
        try:
            with sqlite3.connect(database, timeout=30) as connection:
                connection.execute("VACUUM")
        except sqlite3.Error as exc:
            return False, [f"the vector store could not be compacted now ({exc}); run VACUUM"]
        return True, []


def _segments(database: Path, collection_id: str) -> list[str]:
    """The collection's segment folders (Chroma keeps vectors in one per segment)."""
    with sqlite3.connect(database, timeout=30) as connection:
        rows = connection.execute("SELECT id FROM segments WHERE collection = ?", (collection_id,))
        return [str(r[0]) for r in rows if re.fullmatch(r"[0-9a-f-]{36}", str(r[0]))]


def check_key(key: str) -> str:
    if not re.fullmatch(KEY, key):
        raise InputError("a case or document key is 32 hexadecimal digits")
    return key


# ------------------------------------------------------------------------------ routes


def get_cases(request: Request) -> CaseIndex:
    index: CaseIndex | None = getattr(request.app.state, "case_index", None)
    if index is None:
        index = CaseIndex(request.app.state.rag.library.store, request.app.state.router)
        request.app.state.case_index = index
    return index


CasesDep = Annotated[CaseIndex, Depends(get_cases)]
routes = APIRouter(prefix="/cases", tags=["cases"])


@routes.put("/{case_key}/documents/{document_key}", response_model=Indexed)
async def index_document(
    case_key: CaseKey, document_key: CaseKey, body: DocumentIn, cases: CasesDep
) -> Indexed:
    """Index (or re-index) one of the case's documents, page by page."""
    passages = await cases.index(case_key, document_key, body)
    return Indexed(document_key=document_key, passages=passages)


@routes.delete("/{case_key}/documents/{document_key}", response_model=Removed)
async def remove_document(case_key: CaseKey, document_key: CaseKey, cases: CasesDep) -> Removed:
    removed = await cases.remove(case_key, document_key)
    return Removed(document_key=document_key, removed=removed)


@routes.post("/{case_key}/query", response_model=AnswerResponse)
async def query_case(case_key: CaseKey, body: CaseQuery, cases: CasesDep) -> AnswerResponse:
    """A cited answer from this case's documents only."""
    return (await cases.answer(case_key, body)).response()


@routes.get("/{case_key}", response_model=CaseStats)
async def case_stats(case_key: CaseKey, cases: CasesDep) -> CaseStats:
    return await cases.stats(case_key)


@routes.delete("/{case_key}", response_model=Forgotten)
async def forget_case(case_key: CaseKey, cases: CasesDep) -> Forgotten:
    """Forget everything indexed for the case (erasure)."""
    return await cases.forget(case_key)
