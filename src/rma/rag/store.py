"""The manual store: chunks, their vectors and document records in Chroma.

Embedded and persistent under ``RMA_DATA_DIR/chroma`` by default; the Chroma server when
``CHROMADB_HOST`` is set. The collection records which embedding model (and dimension)
its vectors come from and refuses vectors from any other model: vectors from two models
are not comparable, and mixing them would quietly ruin retrieval.

Replacing a manual is crash-safe. Chroma has no transaction across many rows, so a new
version's chunks are written aside (their ids carry the version) while the old version
stays live, and the swap is one row: the document's entry in a catalogue collection,
which names its live version. Only then are the old chunks deleted. Readers see only
live chunks, so a process killed at any point leaves each document whole, in its old or
its new version; :meth:`ManualStore.repair`, run at start-up, deletes the leftovers (a
half-written version, an old one not yet deleted) and drops any document whose live
version has lost chunks, saying so.

Chroma's client is synchronous, so every method here blocks; async callers run them
with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rma.config import Settings
from rma.errors import ConfigError, InputError
from rma.rag.manuals import LoadedManual, ManualChunk

log = logging.getLogger("rma.rag")

COLLECTION = "rma_manuals"
CATALOGUE_SUFFIX = "_documents"
# The header the token-checking proxy in front of the Chroma server reads (Chroma's own).
CHROMA_TOKEN_HEADER = "X-Chroma-Token"
ADD_BATCH = 1000
GET_PAGE = 5000
# Chroma stores a vector with every row; a catalogue row needs none, so it gets this one.
_NO_VECTOR = [1.0]


# hnswlib as Chroma persists it: header.bin starts with a 4-byte format version, then
# size_t offsetLevel0, max_elements, cur_element_count; length.bin holds one float32 per slot.
_HEADER = struct.Struct("<iQQQ")
# One writer at a time in this process, so a scrub never races a write to the same files.
WRITES = threading.Lock()


def zero_unused_vector_slots(folder: Path) -> int:
    """Zero the slots of every embedded index's ``length.bin`` past its live elements.

    hnswlib (inside Chroma) allocates that buffer without clearing it and writes it at full
    capacity, so the unused slots hold whatever the process had on its heap, text of any
    collection included (chroma-core/chroma#7688): an erased client's words could outlive
    the erasure in another collection's file. The slots in use keep their values. Returns
    the bytes zeroed; a file whose layout is not the one described is left alone."""
    zeroed = 0
    for header in folder.glob("*/header.bin"):
        lengths = header.with_name("length.bin")
        try:
            version, _, capacity, live = _HEADER.unpack_from(header.read_bytes())
            size = lengths.stat().st_size
        except (OSError, struct.error):
            continue
        if version != 1 or size != capacity * 4 or live > capacity:
            log.warning("vector index file of an unknown layout left as it is")
            continue
        with lengths.open("r+b") as handle:
            handle.seek(live * 4)
            handle.write(bytes(size - live * 4))
        zeroed += size - live * 4
    return zeroed


def version_of(sha256: str) -> str:
    """The version a document's content hash is stored under."""
    return sha256[:16]


class DocumentRecord(BaseModel):
    """One ingested manual, as listed by ``GET /documents``."""

    document_id: str = Field(serialization_alias="id")
    filename: str
    title: str
    kind: str
    sha256: str
    pages: int
    chunks: int
    ocr_pages: list[int] = Field(default_factory=list)
    origin: str = "upload"
    ingested_at: str = ""
    version: str = Field("", exclude=True)


class ManualStore:
    """Chroma collection of manual chunks; one row per chunk, document fields on each."""

    def __init__(self, client: Any, collection: str = COLLECTION, location: str = "") -> None:
        self.client = client
        self.location = location
        self.collection = client.get_or_create_collection(
            collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        # One row per document: its live version and record (the swap is one upsert here).
        self.catalogue = client.get_or_create_collection(
            f"{collection}{CATALOGUE_SUFFIX}", embedding_function=None
        )
        self._live: dict[str, str] | None = None

    @classmethod
    def open(cls, settings: Settings, collection: str = COLLECTION) -> ManualStore:
        """The store the settings describe: the Chroma server, or embedded on disk."""
        import chromadb

        if settings.chromadb_host:
            token = settings.chromadb_token.get_secret_value()
            try:
                client = chromadb.HttpClient(
                    host=settings.chromadb_host,
                    port=settings.chromadb_port,
                    headers={CHROMA_TOKEN_HEADER: token} if token else None,
                )
                client.heartbeat()
                client.list_collections(limit=1)  # the heartbeat asks for no token; this does
            except Exception as exc:
                refused = "401" in str(exc) or "403" in str(exc)
                raise ConfigError(
                    f"the Chroma server at CHROMADB_HOST={settings.chromadb_host} "
                    f"CHROMADB_PORT={settings.chromadb_port} "
                    + (
                        "refused CHROMADB_TOKEN (set it to the token its proxy expects)"
                        if refused
                        else f"cannot be reached: {exc}"
                    )
                ) from None
            where = "chroma-server"
        else:
            path = Path(settings.rma_data_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path))
            where = str(path)
        return cls(client, collection, where)

    @property
    def folder(self) -> Path | None:
        """The embedded store's folder (None for a Chroma server)."""
        path = Path(self.location)
        return path if self.location and (path / "chroma.sqlite3").is_file() else None

    @property
    def kind(self) -> str:
        """Where, as /stats shows it: the kind of store, never an address or a path."""
        return "embedded" if self.folder else "chroma-server"

    # ---------------------------------------------------------------- the embedding model

    def embedding_model(self) -> tuple[str, int] | None:
        meta = self.collection.metadata or {}
        if "embedding_model" not in meta:
            return None
        return str(meta["embedding_model"]), int(meta["embedding_dimension"])

    def claim_model(self, model: str, dimension: int) -> None:
        """Record the model on first use; refuse a different one afterwards."""
        held = self.embedding_model()
        if held is None:
            meta = dict(self.collection.metadata or {})
            meta.update(embedding_model=model, embedding_dimension=dimension)
            self.collection.modify(metadata=meta)
            return
        if held != (model, dimension):
            raise ConfigError(
                f"the manual store holds vectors from {held[0]} ({held[1]} dimensions) but the "
                f"embedder is now {model} ({dimension} dimensions); vectors from two models "
                f"cannot be compared. Use the original embedding model, or re-ingest the "
                f"manuals into a fresh store (a new RMA_DATA_DIR or Chroma server)."
            )

    # ------------------------------------------------------------------------ writing

    def replace_document(
        self,
        manual: LoadedManual,
        sha256: str,
        origin: str,
        chunks: list[ManualChunk],
        vectors: list[list[float]],
        *,
        on_write: Callable[[str], None] | None = None,
    ) -> DocumentRecord:
        """Write the new version aside, swap it in with one catalogue row, then delete
        every other version's chunks. ``on_write`` hears each step's name as it is done."""
        if not chunks or len(chunks) != len(vectors):
            raise InputError("a document needs at least one chunk, each with a vector")
        with self._writing():
            return self._replace(manual, sha256, origin, chunks, vectors, on_write)

    def _replace(
        self,
        manual: LoadedManual,
        sha256: str,
        origin: str,
        chunks: list[ManualChunk],
        vectors: list[list[float]],
        on_write: Callable[[str], None] | None,
    ) -> DocumentRecord:
        document_id = chunks[0].document_id
        version = version_of(sha256)
        record = DocumentRecord(
            document_id=document_id,
            filename=manual.name,
            title=manual.title,
            kind=manual.kind,
            sha256=sha256,
            pages=manual.pages,
            chunks=len(chunks),
            ocr_pages=list(manual.ocr_pages),
            origin=origin,
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            version=version,
        )
        ids = [self.row_id(record, c.index) for c in chunks]
        metadatas = [_chunk_metadata(c, record) for c in chunks]
        step = on_write or (lambda _: None)
        if self.live().get(document_id) == version:
            self._delete_except(document_id, version)  # the same text again: tidy, keep
            return self.document(document_id) or record
        self._delete_version(document_id, version)  # leftovers of an interrupted write
        try:
            for i in range(0, len(ids), ADD_BATCH):
                self.collection.add(
                    ids=ids[i : i + ADD_BATCH],
                    embeddings=vectors[i : i + ADD_BATCH],
                    documents=[c.text for c in chunks[i : i + ADD_BATCH]],
                    metadatas=metadatas[i : i + ADD_BATCH],
                )
                step("staged")
        except Exception:
            self._delete_version(document_id, version)
            raise
        self.catalogue.upsert(
            ids=[document_id], embeddings=[_NO_VECTOR], metadatas=[_record_metadata(record)]
        )
        self._live = None
        step("swapped")
        self._delete_except(document_id, version)
        step("cleaned")
        return record

    @staticmethod
    def row_id(record: DocumentRecord, index: int) -> str:
        """A chunk's row id: the version in it keeps two versions' rows apart."""
        return f"{record.document_id}:{record.version}:{index}"

    def _delete_version(self, document_id: str, version: str) -> None:
        self.collection.delete(where={"$and": [{"document_id": document_id}, {"version": version}]})

    def _delete_except(self, document_id: str, version: str) -> None:
        self.collection.delete(
            where={"$and": [{"document_id": document_id}, {"version": {"$ne": version}}]}
        )

    def delete_document(self, document_id: str) -> int:
        """Remove a document (its catalogue row first, so it is gone in one step) and its
        chunks; returns how many chunks there were."""
        with self._writing():
            found = self.collection.get(where={"document_id": document_id}, include=[])
            self.catalogue.delete(ids=[document_id])
            self._live = None
            if found["ids"]:
                self.collection.delete(ids=found["ids"])
        return len(found["ids"])

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time in this process; the index files scrubbed after each write."""
        with WRITES:
            try:
                yield
            finally:
                self.scrub()

    def scrub(self) -> None:
        """On the embedded store, clear what Chroma's index files hold beyond their data
        (:func:`zero_unused_vector_slots`). A Chroma server's files are its own."""
        if self.folder:
            zero_unused_vector_slots(self.folder)

    def repair(self) -> list[str]:
        """Make the store whole after a crash: delete chunks of versions that are not live
        and drop documents whose live version is missing chunks. Returns what it did, one
        sentence per document (empty when there was nothing to do)."""
        if self.catalogue.count() == 0 and self.collection.count() > 0:
            self._catalogue_from_chunks()
        records = {r.document_id: r for r in self.documents()}
        counts: dict[tuple[str, str], int] = {}
        offset = 0
        while True:
            rows = self.collection.get(include=["metadatas"], limit=GET_PAGE, offset=offset)
            if not rows["ids"]:
                break
            for meta in rows["metadatas"] or []:
                key = (str(meta["document_id"]), str(meta.get("version", "")))
                counts[key] = counts.get(key, 0) + 1
            offset += len(rows["ids"])
        notes = []
        for (document_id, version), n in sorted(counts.items()):
            record = records.get(document_id)
            if record is None or record.version != version:
                self._delete_version(document_id, version)
                notes.append(
                    f"{document_id}: removed {n} chunks of an unfinished or replaced version"
                )
        for record in records.values():
            have = counts.get((record.document_id, record.version), 0)
            if have != record.chunks:
                self.delete_document(record.document_id)
                notes.append(
                    f"{record.filename}: {have} of its {record.chunks} chunks were found; "
                    f"removed, ingest it again"
                )
        self._live = None
        return notes

    def _catalogue_from_chunks(self) -> None:
        """A store written before the catalogue existed: each document's newest version."""
        rows = self.collection.get(where={"chunk_index": 0}, include=["metadatas"])
        newest: dict[str, dict[str, Any]] = {}
        for row_id, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True):
            meta = {**meta, "version": meta.get("version") or row_id.split(":")[-2]}
            held = newest.get(str(meta["document_id"]))
            if held is None or str(meta["ingested_at"]) > str(held["ingested_at"]):
                newest[str(meta["document_id"])] = meta
        for document_id, meta in newest.items():
            record = _record(meta)
            self.collection.update(
                ids=[self.row_id(record, i) for i in range(record.chunks)],
                metadatas=[{"version": record.version}] * record.chunks,
            )
            self.catalogue.upsert(
                ids=[document_id], embeddings=[_NO_VECTOR], metadatas=[_record_metadata(record)]
            )

    # ------------------------------------------------------------------------ reading

    def live(self) -> dict[str, str]:
        """document id -> its live version (cached until this store writes)."""
        if self._live is None:
            self._live = {r.document_id: r.version for r in self.documents()}
        return self._live

    def forget_live(self) -> None:
        """Read the catalogue again on next use (another instance may have written)."""
        self._live = None

    def documents(self) -> list[DocumentRecord]:
        rows = self.catalogue.get(include=["metadatas"])
        records = [_record(m) for m in rows["metadatas"] or []]
        return sorted(records, key=lambda r: r.filename)

    def document(self, document_id: str) -> DocumentRecord | None:
        rows = self.catalogue.get(ids=[document_id], include=["metadatas"])
        metas = rows["metadatas"] or []
        return _record(metas[0]) if metas else None

    def count(self) -> int:
        """Chunks of live versions."""
        return sum(r.chunks for r in self.documents())

    def fingerprint(self) -> str:
        """Changes whenever any document is added, replaced or removed."""
        parts = sorted(f"{r.document_id}:{r.sha256}" for r in self.documents())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def nearest(self, vector: list[float], n: int) -> list[tuple[str, float]]:
        """Row ids and cosine similarities of the ``n`` nearest live chunks."""
        total = self.collection.count()
        if total == 0:
            return []
        found = self.collection.query(
            query_embeddings=[vector],
            n_results=min(n * 2, total),  # room for rows of versions not (or no longer) live
            include=["distances", "metadatas"],
        )
        live = self.live()
        hits = [
            (i, 1.0 - d)
            for i, d, m in zip(
                found["ids"][0], found["distances"][0], found["metadatas"][0], strict=True
            )
            if live.get(str(m["document_id"])) == m.get("version")
        ]
        return hits[:n]

    def chunks(self, ids: list[str]) -> dict[str, ManualChunk]:
        if not ids:
            return {}
        rows = self.collection.get(ids=ids, include=["documents", "metadatas"])
        return {
            i: _chunk(i, text, meta)
            for i, text, meta in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)
        }

    def document_chunks(self, document_id: str) -> list[tuple[str, ManualChunk]]:
        """A document's live chunks with their row ids, in order."""
        version = self.live().get(document_id)
        if version is None:
            return []
        rows = self.collection.get(
            where={"$and": [{"document_id": document_id}, {"version": version}]},
            include=["documents", "metadatas"],
        )
        out = [
            (i, _chunk(i, t, m))
            for i, t, m in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)
        ]
        return sorted(out, key=lambda pair: pair[1].index)

    def all_chunks(self) -> list[tuple[str, ManualChunk]]:
        """Every live chunk with its row id, document by document."""
        out: list[tuple[str, ManualChunk]] = []
        for record in self.documents():
            out.extend(self.document_chunks(record.document_id))
        return out


def _chunk_metadata(chunk: ManualChunk, record: DocumentRecord) -> dict[str, Any]:
    return {
        **_record_metadata(record),
        "chunk_index": chunk.index,
        # Chroma metadata cannot hold None: 0 means "no page numbers" (not a paginated file).
        "page": chunk.page or 0,
        "heading_path": json.dumps(list(chunk.heading_path)),
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
    }


def _record_metadata(record: DocumentRecord) -> dict[str, Any]:
    return {
        "document_id": record.document_id,
        "filename": record.filename,
        "title": record.title,
        "kind": record.kind,
        "sha256": record.sha256,
        "pages": record.pages,
        "chunk_count": record.chunks,
        "ocr_pages": json.dumps(record.ocr_pages),
        "origin": record.origin,
        "ingested_at": record.ingested_at,
        "version": record.version,
    }


def _record(meta: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        document_id=str(meta["document_id"]),
        filename=str(meta["filename"]),
        title=str(meta["title"]),
        kind=str(meta["kind"]),
        sha256=str(meta["sha256"]),
        pages=int(meta["pages"]),
        chunks=int(meta["chunk_count"]),
        ocr_pages=json.loads(str(meta.get("ocr_pages", "[]"))),
        origin=str(meta.get("origin", "upload")),
        ingested_at=str(meta.get("ingested_at", "")),
        version=str(meta.get("version", "")),
    )


def _chunk(row_id: str, text: str, meta: dict[str, Any]) -> ManualChunk:
    return ManualChunk(
        chunk_id=row_id,
        document_id=str(meta["document_id"]),
        document=str(meta["filename"]),
        title=str(meta["title"]),
        index=int(meta["chunk_index"]),
        page=int(meta["page"]) or None,
        heading_path=tuple(json.loads(str(meta["heading_path"]))),
        char_start=int(meta["char_start"]),
        char_end=int(meta["char_end"]),
        text=text,
    )
