"""The manual library: ingest, replace and remove manuals, keeping every index in step.

One ingest at a time (an asyncio lock): a manual is read, chunked and embedded in full
before anything is written, then its chunks replace the previous version's in the store,
and the BM25 index and each manual's limit candidates (figures it states for a named
limit, :func:`rma.limits.extract.candidates`) are rebuilt from the store. Ingestion is
idempotent by content hash: an unchanged file adds nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from itertools import groupby
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from rma.config import Settings
from rma.errors import InputError, InputTooLarge
from rma.limits.conflicts import Candidate
from rma.limits.extract import candidates as read_candidates
from rma.llm.router import ProviderRouter
from rma.llm.types import Role
from rma.ocr import OcrReader
from rma.rag.bm25 import KeywordIndex
from rma.rag.manuals import (
    SUFFIXES,
    chunk_manual,
    content_hash,
    document_id_for,
    load_manual,
    safe_filename,
)
from rma.rag.store import DocumentRecord, ManualStore

log = logging.getLogger("rma.rag")

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# How often a service checks whether another instance changed the shared store.
CHANGE_CHECK_SECONDS = 30.0
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


def _manual_files(folder: Path) -> list[Path]:
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
        self.ocr = ocr or OcrReader()
        self.max_upload_bytes = max_upload_bytes
        self.folder = data_dir / "rag"
        self.keywords = KeywordIndex(self.folder / "bm25")
        # Each manual's limit candidates, by document id; the version changes with them.
        self.limit_candidates: dict[str, list[Candidate]] = {}
        self.candidates_version = 0
        # The embedder's own tokenizer when it runs in-process, else the high estimate.
        self.count_tokens = router.token_counter(Role.EMBED)
        self.change_check_seconds = CHANGE_CHECK_SECONDS
        self._write = asyncio.Lock()
        self._checked_at = 0.0

    @classmethod
    async def open(cls, settings: Settings, router: ProviderRouter) -> ManualLibrary:
        """Open the store and load the saved indexes, rebuilding any that are out of date."""
        store = await asyncio.to_thread(ManualStore.open, settings)
        ocr = OcrReader(settings.ocr_provider, router)
        library = cls(store, router, Path(settings.rma_data_dir), ocr=ocr)
        await library.load_indexes()
        return library

    # ------------------------------------------------------------------------ indexes

    async def load_indexes(self) -> None:
        fingerprint = await asyncio.to_thread(self.store.fingerprint)
        loaded = await asyncio.to_thread(self.keywords.load)
        found = await asyncio.to_thread(self._load_candidates, fingerprint)
        if not loaded or self.keywords.fingerprint != fingerprint or found is None:
            await self.rebuild_indexes()
        else:
            self._set_candidates(found)

    async def refresh_if_changed(self) -> bool:
        """Rebuild the indexes if another instance changed the shared store since we last
        looked (checked at most every ``change_check_seconds``). True if rebuilt."""
        now = time.monotonic()
        if now - self._checked_at < self.change_check_seconds:
            return False
        self._checked_at = now
        fingerprint = await asyncio.to_thread(self.store.fingerprint)
        if fingerprint == self.keywords.fingerprint:
            return False
        async with self._write:
            if await asyncio.to_thread(self.store.fingerprint) == self.keywords.fingerprint:
                return False  # rebuilt by an ingest while we waited for the lock
            await self.rebuild_indexes()
        return True

    async def rebuild_indexes(self) -> None:
        """BM25 and the limit candidates from the store's chunks (after any change to the
        manuals); the candidates are read per document, in the document's order."""
        rows = await asyncio.to_thread(self.store.all_chunks)
        fingerprint = await asyncio.to_thread(self.store.fingerprint)
        await asyncio.to_thread(
            self.keywords.build, [(i, c.embedding_text()) for i, c in rows], fingerprint
        )
        chunks = sorted((c for _, c in rows), key=lambda c: (c.document_id, c.index))
        found = await asyncio.to_thread(
            lambda: {
                document: read_candidates(list(group))
                for document, group in groupby(chunks, key=lambda c: c.document_id)
            }
        )
        self._set_candidates(found)
        await asyncio.to_thread(self._save_candidates, found, fingerprint)

    def candidates(self) -> tuple[int, list[Candidate]]:
        """Every manual's limit candidates, and a version that changes with them."""
        return self.candidates_version, [c for cs in self.limit_candidates.values() for c in cs]

    def _set_candidates(self, found: dict[str, list[Candidate]]) -> None:
        self.limit_candidates = found
        self.candidates_version += 1

    def _candidates_path(self) -> Path:
        return self.folder / "limit-candidates.json"

    def _load_candidates(self, fingerprint: str) -> dict[str, list[Candidate]] | None:
        try:
            saved = json.loads(self._candidates_path().read_text(encoding="utf-8"))
            if saved.get("fingerprint") != fingerprint:
                return None
            return {
                document: [Candidate.from_dict(c) for c in found]
                for document, found in saved["documents"].items()
            }
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_candidates(self, found: dict[str, list[Candidate]], fingerprint: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "fingerprint": fingerprint,
            "documents": {d: [c.as_dict() for c in cs] for d, cs in found.items()},
        }
        staging = self._candidates_path().with_suffix(".json.new")
        staging.write_text(json.dumps(data, indent=1), encoding="utf-8")
        staging.replace(self._candidates_path())

    # ---------------------------------------------------------------------- ingesting

    async def ingest(self, filename: str, data: bytes, origin: str = "upload") -> IngestResult:
        """Ingest one file and refresh the indexes."""
        async with self._write:
            result = await self._ingest_one(filename, data, origin)
            if result.outcome != "unchanged":
                await self.rebuild_indexes()
            return result

    async def ingest_folder(
        self, folder: Path, *, remove_missing: bool = True
    ) -> list[IngestResult]:
        """Ingest every supported file directly in ``folder`` (sub-folders are not read);
        manuals ingested from a folder before and now missing from it are removed."""
        files = await asyncio.to_thread(_manual_files, folder)
        results: list[IngestResult] = []
        async with self._write:
            for path in files:
                data = await asyncio.to_thread(path.read_bytes)
                try:
                    results.append(await self._ingest_one(path.name, data, "manuals"))
                except InputError as exc:
                    # One unreadable manual must not stop the rest; it is reported, not hidden.
                    results.append(
                        IngestResult(
                            document_id=document_id_for(safe_filename(path.name)),
                            filename=path.name,
                            outcome="failed",
                            chunks=0,
                            warnings=[f"not ingested: {exc}"],
                        )
                    )
            if remove_missing:
                present = {safe_filename(p.name) for p in files}
                for record in await asyncio.to_thread(self.store.documents):
                    if record.origin == "manuals" and record.filename not in present:
                        await asyncio.to_thread(self.store.delete_document, record.document_id)
                        results.append(
                            IngestResult(
                                document_id=record.document_id,
                                filename=record.filename,
                                outcome="removed",
                                chunks=0,
                            )
                        )
            if any(r.outcome not in ("unchanged", "failed") for r in results) or (
                not self.keywords.ids
            ):
                await self.rebuild_indexes()
        return results

    async def _ingest_one(self, filename: str, data: bytes, origin: str) -> IngestResult:
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
        embedded = await self.router.embed([c.embedding_text() for c in chunks])
        await asyncio.to_thread(self.store.claim_model, embedded.model, embedded.dimension)
        await asyncio.to_thread(
            self.store.replace_document, manual, sha, origin, chunks, embedded.vectors
        )
        log.info(
            "manual ingested",
            extra={"document_id": document_id, "chunks": len(chunks), "pages": manual.pages},
        )
        return IngestResult(
            document_id=document_id,
            filename=name,
            outcome="replaced" if existing else "added",
            chunks=len(chunks),
            pages=manual.pages,
            ocr_pages=manual.ocr_pages,
            warnings=manual.warnings,
        )

    async def delete(self, document_id: str) -> bool:
        async with self._write:
            removed = await asyncio.to_thread(self.store.delete_document, document_id)
            if removed:
                await self.rebuild_indexes()
            return removed > 0

    # ------------------------------------------------------------------------ reading

    async def documents(self) -> list[DocumentRecord]:
        return await asyncio.to_thread(self.store.documents)

    async def stats(self) -> LibraryStats:
        documents = await self.documents()
        chunks = await asyncio.to_thread(self.store.count)
        model = await asyncio.to_thread(self.store.embedding_model)
        return LibraryStats(
            documents=len(documents),
            chunks=chunks,
            pages=sum(d.pages for d in documents),
            ocr_pages=sum(len(d.ocr_pages) for d in documents),
            keyword_index_chunks=len(self.keywords.ids),
            limit_candidates=sum(len(c) for c in self.limit_candidates.values()),
            embedding_model=model[0] if model else None,
            embedding_dimension=model[1] if model else None,
            store=self.store.kind,
            fingerprint=self.keywords.fingerprint,
        )
