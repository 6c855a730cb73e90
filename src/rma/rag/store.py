"""The manual store: chunks, their vectors and document records in Chroma.

Embedded and persistent under ``RMA_DATA_DIR/chroma`` by default; the Chroma server when
``CHROMADB_HOST`` is set. The collection records which embedding model (and dimension)
its vectors come from and refuses vectors from any other model: vectors from two models
are not comparable, and mixing them would quietly ruin retrieval.

Chroma's client is synchronous, so every method here blocks; async callers run them
with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
from collections.abc import Iterator
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
# The header the token-checking proxy in front of the Chroma server reads (Chroma's own).
CHROMA_TOKEN_HEADER = "X-Chroma-Token"
ADD_BATCH = 1000
GET_PAGE = 5000


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


class ManualStore:
    """Chroma collection of manual chunks; one row per chunk, document fields on each."""

    def __init__(self, client: Any, collection: str = COLLECTION, location: str = "") -> None:
        self.client = client
        self.location = location
        self.collection = client.get_or_create_collection(
            collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

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
    ) -> DocumentRecord:
        """Add the new version's chunks, then remove every older version's chunks.

        If adding fails part-way, the new rows are removed again and the old version
        stays as it was: nothing is left half-ingested.
        """
        if not chunks or len(chunks) != len(vectors):
            raise InputError("a document needs at least one chunk, each with a vector")
        document_id = chunks[0].document_id
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
        )
        version = sha256[:16]
        ids = [f"{document_id}:{version}:{c.index}" for c in chunks]
        metadatas = [_chunk_metadata(c, record) for c in chunks]
        with self._writing():
            try:
                for i in range(0, len(ids), ADD_BATCH):
                    self.collection.upsert(
                        ids=ids[i : i + ADD_BATCH],
                        embeddings=vectors[i : i + ADD_BATCH],
                        documents=[c.text for c in chunks[i : i + ADD_BATCH]],
                        metadatas=metadatas[i : i + ADD_BATCH],
                    )
            except Exception:
                self.collection.delete(ids=ids)
                raise
            self.collection.delete(
                where={"$and": [{"document_id": document_id}, {"sha256": {"$ne": sha256}}]}
            )
        return record

    def delete_document(self, document_id: str) -> int:
        """Remove a document's chunks; returns how many there were."""
        with self._writing():
            found = self.collection.get(where={"document_id": document_id}, include=[])
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

    # ------------------------------------------------------------------------ reading

    def documents(self) -> list[DocumentRecord]:
        rows = self.collection.get(where={"chunk_index": 0}, include=["metadatas"])
        records = [_record(m) for m in rows["metadatas"] or []]
        return sorted(records, key=lambda r: r.filename)

    def document(self, document_id: str) -> DocumentRecord | None:
        rows = self.collection.get(
            where={"$and": [{"document_id": document_id}, {"chunk_index": 0}]},
            include=["metadatas"],
        )
        metas = rows["metadatas"] or []
        return _record(metas[0]) if metas else None

    def count(self) -> int:
        return int(self.collection.count())

    def fingerprint(self) -> str:
        """Changes whenever any document is added, replaced or removed."""
        parts = sorted(f"{r.document_id}:{r.sha256}" for r in self.documents())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def nearest(self, vector: list[float], n: int) -> list[tuple[str, float]]:
        """Row ids and cosine similarities of the ``n`` nearest chunks."""
        total = self.count()
        if total == 0:
            return []
        found = self.collection.query(
            query_embeddings=[vector], n_results=min(n, total), include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def chunks(self, ids: list[str]) -> dict[str, ManualChunk]:
        if not ids:
            return {}
        rows = self.collection.get(ids=ids, include=["documents", "metadatas"])
        return {
            i: _chunk(i, text, meta)
            for i, text, meta in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)
        }

    def all_chunks(self) -> list[tuple[str, ManualChunk]]:
        """Every chunk with its row id, in pages (BM25 and thresholds are built from these)."""
        out: list[tuple[str, ManualChunk]] = []
        offset = 0
        while True:
            rows = self.collection.get(
                include=["documents", "metadatas"], limit=GET_PAGE, offset=offset
            )
            if not rows["ids"]:
                break
            out.extend(
                (i, _chunk(i, t, m))
                for i, t, m in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)
            )
            offset += len(rows["ids"])
        out.sort(key=lambda pair: (pair[1].document, pair[1].index))
        return out


def _chunk_metadata(chunk: ManualChunk, record: DocumentRecord) -> dict[str, Any]:
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
        "chunk_index": chunk.index,
        # Chroma metadata cannot hold None: 0 means "no page numbers" (not a paginated file).
        "page": chunk.page or 0,
        "heading_path": json.dumps(list(chunk.heading_path)),
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
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
