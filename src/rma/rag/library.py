"""The manual library: ingest, replace and remove manuals, keeping every index in step.

A manual is read, chunked and embedded in full before anything is written; then the store
swaps its new version in crash-safely (``rma.rag.store``), the keyword index replaces that
one document's passages, and the document's limit candidates (figures it states for a
named limit, :func:`rma.limits.extract.candidates`) are read once from its chunks and kept
with its version, rather than by re-reading every chunk. Nothing is rebuilt per document:
ingesting the thousandth manual costs what the first did. Ingestion is idempotent by
content hash: an unchanged file adds nothing.

Many manuals at once (:meth:`ManualLibrary.ingest_paths`) run as a small pipeline: the
next files are read and chunked on worker threads while the current one is embedded, at
most ``PREPARE_AHEAD`` ahead, so memory stays flat however many files there are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from rma.config import Settings
from rma.errors import InputError, InputTooLarge, NotFound
from rma.limits.conflicts import Candidate
from rma.limits.extract import candidates as read_candidates
from rma.llm.router import ProviderRouter
from rma.llm.types import Role
from rma.ocr import OcrReader
from rma.rag.bm25 import KeywordIndex
from rma.rag.manuals import (
    SUFFIXES,
    LoadedManual,
    ManualChunk,
    chunk_manual,
    content_hash,
    document_id_for,
    load_manual,
    safe_filename,
)
from rma.rag.originals import ManualOriginals
from rma.rag.store import DocumentRecord, ManualStore, version_of
from rma.rag.vectors import EmbeddingCache, embed_chunks

log = logging.getLogger("rma.rag")

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# How often a service checks whether another instance changed the shared store.
CHANGE_CHECK_SECONDS = 30.0
# Files read and chunked ahead of the one being embedded (bounds memory and threads).
PREPARE_AHEAD = 2
Outcome = Literal["added", "replaced", "unchanged", "removed", "failed"]


class IngestResult(BaseModel):
    """What ingesting one manual did: added, replaced, unchanged, removed or failed."""

    document_id: str
    filename: str
    outcome: Outcome
    chunks: int
    pages: int = 0
    ocr_pages: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    reused_vectors: int = Field(default=0, description="Chunks whose vectors were already known.")


class LibraryStats(BaseModel):
    """How big the library is and what it is indexed with (``GET /stats``)."""

    documents: int
    chunks: int
    pages: int
    ocr_pages: int
    keyword_index_chunks: int
    limit_candidates: int = Field(description="Figures the manuals state for a named limit.")
    embedding_model: str | None
    embedding_dimension: int | None
    store: str
    fingerprint: str
    repairs: list[str] = Field(
        default_factory=list, description="What the start-up check repaired in the store."
    )


@dataclass
class _Prepared:
    """A manual read and chunked, not yet embedded or written."""

    name: str
    origin: str
    sha: str
    existed: bool
    manual: LoadedManual
    chunks: list[ManualChunk]
    data: bytes


def manual_files(folder: Path) -> list[Path]:
    """The supported files directly in ``folder``, by name."""
    if not folder.is_dir():
        raise InputError(f"the manuals folder {folder.name!r} does not exist")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


class ManualLibrary:
    def __init__(
        self,
        store: ManualStore,
        router: ProviderRouter,
        data_dir: Path,
        *,
        ocr: OcrReader | None = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ) -> None:
        self.store = store
        self.router = router
        self.data_dir = data_dir
        self.ocr = ocr or OcrReader()
        self.max_upload_bytes = max_upload_bytes
        self.folder = data_dir / "rag"
        self.keywords = KeywordIndex(self.folder)
        self.vectors = EmbeddingCache(self.folder)
        self.originals = ManualOriginals(self.folder / "originals")
        # Each manual's limit candidates, by document id, and the version they were read
        # from; candidates_version changes with them.
        self.limit_candidates: dict[str, list[Candidate]] = {}
        self._candidates_read_from: dict[str, str] = {}
        self.candidates_version = 0
        self.repairs: list[str] = []
        # The embedder's own tokenizer when it runs in-process, else the high estimate.
        self.count_tokens = router.token_counter(Role.EMBED)
        self.change_check_seconds = CHANGE_CHECK_SECONDS
        self._write = asyncio.Lock()
        self._checked_at = 0.0
        self._synced = ""  # the store fingerprint the indexes were last brought up to

    @classmethod
    async def open(cls, settings: Settings, router: ProviderRouter) -> ManualLibrary:
        """Open the store, repair what a crash left, and bring the indexes up to date."""
        store = await asyncio.to_thread(ManualStore.open, settings)
        ocr = OcrReader(settings.ocr_provider, router)
        library = cls(store, router, Path(settings.rma_data_dir), ocr=ocr)
        await library.load_indexes()
        return library

    async def close(self) -> None:
        await asyncio.to_thread(self.keywords.close)
        await asyncio.to_thread(self.vectors.close)

    # ------------------------------------------------------------------------ indexes

    async def load_indexes(self) -> None:
        """The start-up check: repair the store, then bring the keyword index and the limit
        candidates up to date with it (only the documents that differ)."""
        self.repairs = await asyncio.to_thread(self.store.repair)
        for note in self.repairs:
            log.warning("manual store repaired", extra={"repair": note})
        await asyncio.to_thread(self._load_candidates)
        await self.sync_indexes()
        await self._refresh_candidates()

    async def sync_indexes(self) -> bool:
        """Index the documents whose live version the keyword index lacks and drop the
        ones gone from the store. True if anything changed."""
        fingerprint = await asyncio.to_thread(self.store.fingerprint)
        live = await asyncio.to_thread(self.store.live)
        add, drop = await asyncio.to_thread(self.keywords.stale, live)
        for document_id in drop:
            await asyncio.to_thread(self.keywords.delete_document, document_id)
        for document_id in add:
            rows = await asyncio.to_thread(self.store.document_chunks, document_id)
            await asyncio.to_thread(
                self.keywords.replace_document,
                document_id,
                live[document_id],
                [(i, c.embedding_text()) for i, c in rows],
            )
            await self._keep_candidates(document_id, live[document_id], [c for _, c in rows])
        await asyncio.to_thread(self.originals.prune, live)
        self._synced = fingerprint
        return bool(add or drop)

    async def refresh_if_changed(self) -> bool:
        """Bring the indexes up to date if another instance changed the shared store since
        we last looked (checked at most every ``change_check_seconds``). True if changed."""
        now = time.monotonic()
        if now - self._checked_at < self.change_check_seconds:
            return False
        self._checked_at = now
        fingerprint = await asyncio.to_thread(self.store.fingerprint)
        if fingerprint == self._synced:
            return False
        async with self._write:
            self.store.forget_live()
            if await self.sync_indexes():
                await self._refresh_candidates()
        return True

    def candidates(self) -> tuple[int, list[Candidate]]:
        """Every manual's limit candidates, and a version that changes with them."""
        return self.candidates_version, [
            c for d in sorted(self.limit_candidates) for c in self.limit_candidates[d]
        ]

    async def _keep_candidates(
        self, document_id: str, version: str, chunks: list[ManualChunk]
    ) -> None:
        """One document's limit candidates, read once per version (at ingest), in order."""
        ordered = sorted(chunks, key=lambda c: c.index)
        self.limit_candidates[document_id] = await asyncio.to_thread(read_candidates, ordered)
        self._candidates_read_from[document_id] = version

    async def _refresh_candidates(self) -> None:
        """The one place the candidates are settled (after an ingest, a removal or a change
        seen in the store): documents gone are dropped, live versions never read are read,
        and the result is saved with each document's version and its version bumped."""
        live = await asyncio.to_thread(self.store.live)
        for document_id in set(self.limit_candidates) - set(live):
            del self.limit_candidates[document_id]
            self._candidates_read_from.pop(document_id, None)
        for document_id, version in live.items():
            if self._candidates_read_from.get(document_id) != version:
                rows = await asyncio.to_thread(self.store.document_chunks, document_id)
                await self._keep_candidates(document_id, version, [c for _, c in rows])
        self.candidates_version += 1
        await asyncio.to_thread(self._save_candidates)

    def _candidates_path(self) -> Path:
        return self.folder / "limit-candidates.json"

    def _load_candidates(self) -> None:
        """The candidates saved with each document's version (a stale one is read again)."""
        try:
            saved = json.loads(self._candidates_path().read_text(encoding="utf-8"))
            found = {
                document: (kept["version"], [Candidate.from_dict(c) for c in kept["candidates"]])
                for document, kept in saved["documents"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        for document_id, (version, candidates) in found.items():
            self.limit_candidates[document_id] = candidates
            self._candidates_read_from[document_id] = version

    def _save_candidates(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        documents = {
            d: {"version": self._candidates_read_from[d], "candidates": [c.as_dict() for c in cs]}
            for d, cs in self.limit_candidates.items()
        }
        staging = self._candidates_path().with_suffix(".json.new")
        staging.write_text(json.dumps({"documents": documents}, indent=1), encoding="utf-8")
        staging.replace(self._candidates_path())

    # ---------------------------------------------------------------------- ingesting

    async def ingest(self, filename: str, data: bytes, origin: str = "upload") -> IngestResult:
        """Ingest one file and refresh the limit candidates."""
        prepared = await self._prepare(filename, data, origin)
        if isinstance(prepared, IngestResult):
            return prepared
        result = await self._commit(prepared)
        async with self._write:
            await self._refresh_candidates()
        return result

    async def ingest_paths(
        self,
        paths: list[Path],
        origin: str = "manuals",
        *,
        progress: Callable[[Path, IngestResult], object] | None = None,
    ) -> list[IngestResult]:
        """Ingest files in order, reading the next ones while the current one is embedded.
        A file that cannot be read is reported as failed; the others go on."""
        queue: asyncio.Queue[tuple[Path, _Prepared | IngestResult] | None] = asyncio.Queue(
            PREPARE_AHEAD
        )

        async def produce() -> None:
            try:
                for path in paths:
                    try:
                        data = await asyncio.to_thread(path.read_bytes)
                        item: _Prepared | IngestResult = await self._prepare(
                            path.name, data, origin
                        )
                    except (InputError, OSError) as exc:
                        item = _failed(path.name, exc)
                    await queue.put((path, item))
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        results: list[IngestResult] = []
        try:
            while (entry := await queue.get()) is not None:
                path, item = entry
                try:
                    result = item if isinstance(item, IngestResult) else await self._commit(item)
                except InputError as exc:
                    result = _failed(path.name, exc)
                results.append(result)
                if progress is not None:
                    progress(path, result)
            await producer
        finally:
            producer.cancel()
        if any(r.outcome in ("added", "replaced") for r in results):
            async with self._write:
                await self._refresh_candidates()
        return results

    async def ingest_folder(
        self, folder: Path, *, remove_missing: bool = True
    ) -> list[IngestResult]:
        """Ingest every supported file directly in ``folder`` (sub-folders are not read);
        manuals ingested from a folder before and now missing from it are removed."""
        files = await asyncio.to_thread(manual_files, folder)
        results = await self.ingest_paths(files, "manuals")
        if remove_missing:
            results.extend(await self.remove_missing({safe_filename(p.name) for p in files}))
        return results

    async def remove_missing(self, present: set[str]) -> list[IngestResult]:
        """Remove manuals that came from the manuals folder and are no longer in it."""
        removed = []
        for record in await asyncio.to_thread(self.store.documents):
            if record.origin == "manuals" and record.filename not in present:
                await self.delete(record.document_id)
                removed.append(
                    IngestResult(
                        document_id=record.document_id,
                        filename=record.filename,
                        outcome="removed",
                        chunks=0,
                    )
                )
        return removed

    async def _prepare(self, filename: str, data: bytes, origin: str) -> _Prepared | IngestResult:
        """Read and chunk a file, or say it is unchanged. Raises InputError when unreadable."""
        name = safe_filename(filename)
        if len(data) > self.max_upload_bytes:
            raise InputTooLarge(
                f"{name} is {len(data) / 1e6:.1f} MB; "
                f"the limit is {self.max_upload_bytes / 1e6:.0f} MB"
            )
        if not data.strip():
            raise InputError(f"{name} is empty")
        document_id = document_id_for(name)
        sha = content_hash(data)
        existing = await asyncio.to_thread(self.store.document, document_id)
        if existing is not None and existing.sha256 == sha:
            if await asyncio.to_thread(self.originals.find, document_id, existing.version) is None:
                # ingested before originals were kept: keep it now
                await asyncio.to_thread(
                    self.originals.keep, document_id, existing.version, name, data
                )
            return IngestResult(
                document_id=document_id,
                filename=name,
                outcome="unchanged",
                chunks=existing.chunks,
                pages=existing.pages,
                ocr_pages=existing.ocr_pages,
            )
        manual = await load_manual(name, data, self.ocr)
        chunks = await asyncio.to_thread(chunk_manual, manual, document_id, self.count_tokens)
        return _Prepared(name, origin, sha, existing is not None, manual, chunks, data)

    async def _commit(self, prepared: _Prepared) -> IngestResult:
        """Embed a prepared manual and swap it into the store and the indexes."""
        chunks = prepared.chunks
        embedded = await embed_chunks(
            self.router, self.vectors, [c.embedding_text() for c in chunks]
        )
        document_id = chunks[0].document_id
        async with self._write:
            await asyncio.to_thread(self.store.claim_model, embedded.model, embedded.dimension)
            # The original first, so a live version always has its file.
            await asyncio.to_thread(
                self.originals.keep, document_id, version_of(prepared.sha), prepared.name,
                prepared.data,
            )  # fmt: skip
            record = await asyncio.to_thread(
                self.store.replace_document,
                prepared.manual,
                prepared.sha,
                prepared.origin,
                chunks,
                embedded.vectors,
            )
            await asyncio.to_thread(self.originals.keep_only, record.document_id, record.version)
            stored = [replace(c, chunk_id=self.store.row_id(record, c.index)) for c in chunks]
            await asyncio.to_thread(
                self.keywords.replace_document,
                record.document_id,
                record.version,
                [(c.chunk_id, c.embedding_text()) for c in stored],
            )
            await self._keep_candidates(record.document_id, record.version, stored)
            self._synced = await asyncio.to_thread(self.store.fingerprint)
        log.info(
            "manual ingested",
            extra={"document_id": record.document_id, "chunks": len(chunks), "pages": record.pages},
        )
        return IngestResult(
            document_id=record.document_id,
            filename=prepared.name,
            outcome="replaced" if prepared.existed else "added",
            chunks=len(chunks),
            pages=prepared.manual.pages,
            ocr_pages=prepared.manual.ocr_pages,
            warnings=prepared.manual.warnings,
            reused_vectors=embedded.reused,
        )

    async def delete(self, document_id: str) -> bool:
        async with self._write:
            removed = await asyncio.to_thread(self.store.delete_document, document_id)
            await asyncio.to_thread(self.keywords.delete_document, document_id)
            await asyncio.to_thread(self.originals.remove, document_id)
            self._synced = await asyncio.to_thread(self.store.fingerprint)
            if removed:
                await self._refresh_candidates()
            return removed > 0

    # ------------------------------------------------------------------------ reading

    async def documents(self) -> list[DocumentRecord]:
        return await asyncio.to_thread(self.store.documents)

    async def original(self, document_id: str) -> tuple[DocumentRecord, Path | None]:
        """A live manual's record and its kept original (None when it was not kept).
        Raises NotFound for a document the store does not hold."""
        record = await asyncio.to_thread(self.store.document, document_id)
        if record is None:
            raise NotFound(f"no manual with id {document_id!r}")
        found = await asyncio.to_thread(self.originals.find, document_id, record.version)
        return record, found

    async def passage(
        self, chunk_id: str, context: int
    ) -> tuple[DocumentRecord, ManualChunk, list[ManualChunk], list[ManualChunk]]:
        """A live passage, its manual's record, and up to ``context`` passages of the same
        manual before and after it. NotFound when the id is not a live passage (a manual
        replaced since the answer cited it)."""
        found = (await asyncio.to_thread(self.store.chunks, [chunk_id])).get(chunk_id)
        record = None
        if found is not None:
            record = await asyncio.to_thread(self.store.document, found.document_id)
        if (
            found is None
            or record is None
            or not chunk_id.startswith(f"{record.document_id}:{record.version}:")
        ):
            raise NotFound("no such passage in the manuals now (was the manual replaced?)")
        rows = await asyncio.to_thread(self.store.document_chunks, record.document_id)
        chunks = [c for _, c in rows]
        at = next(i for i, c in enumerate(chunks) if c.chunk_id == chunk_id)
        return record, found, chunks[max(0, at - context) : at], chunks[at + 1 : at + 1 + context]

    async def stats(self) -> LibraryStats:
        documents = await self.documents()
        model = await asyncio.to_thread(self.store.embedding_model)
        return LibraryStats(
            documents=len(documents),
            chunks=sum(d.chunks for d in documents),
            pages=sum(d.pages for d in documents),
            ocr_pages=sum(len(d.ocr_pages) for d in documents),
            keyword_index_chunks=await asyncio.to_thread(self.keywords.count),
            limit_candidates=sum(len(c) for c in self.limit_candidates.values()),
            embedding_model=model[0] if model else None,
            embedding_dimension=model[1] if model else None,
            store=self.store.kind,
            fingerprint=self._synced,
            repairs=self.repairs,
        )


def _failed(name: str, exc: Exception) -> IngestResult:
    # One unreadable manual must not stop the rest; it is reported, not hidden.
    return IngestResult(
        document_id=document_id_for(safe_filename(name)) if name.strip(". ") else "",
        filename=name,
        outcome="failed",
        chunks=0,
        warnings=[f"not ingested: {exc if isinstance(exc, InputError) else 'cannot be read'}"],
    )
