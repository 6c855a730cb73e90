"""Chunk embeddings for ingestion: batched by length, and remembered.

On a CPU the embedder is where ingestion spends its time. Two things keep that down:

- texts are embedded in batches of similar length (sorted), so little of each batch is
  padding;
- every vector is remembered by the embedding model and a digest of the exact text, in
  ``RMA_DATA_DIR/rag/embeddings.sqlite``. A new edition of a manual that keeps most of its
  passages, a manual re-ingested after a crash, or the same passage in two documents is
  embedded once. A different model never reads another's vectors.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rma.llm.router import ProviderRouter

# Texts per embedding call: small enough that sorted batches carry little padding.
EMBED_BATCH = 32


@dataclass
class ChunkVectors:
    vectors: list[list[float]]
    model: str
    dimension: int
    reused: int  # how many came from the cache


class EmbeddingCache:
    """Vectors by (model, sha256 of the text). Blocking: run its methods on a thread."""

    FILE = "embeddings.sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.folder / self.FILE, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors ("
                "model TEXT, digest TEXT, vector BLOB, PRIMARY KEY (model, digest))"
            )
            self._db = db
        return self._db

    def get(self, model: str, digests: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        with self._lock:
            db = self._conn()
            for i in range(0, len(digests), 500):
                part = digests[i : i + 500]
                marks = ",".join("?" * len(part))
                for digest, blob in db.execute(
                    f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN ({marks})",
                    (model, *part),
                ):
                    out[digest] = np.frombuffer(blob, dtype=np.float32).astype(float).tolist()
        return out

    def put(self, model: str, items: dict[str, list[float]]) -> None:
        with self._lock:
            db = self._conn()
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [
                        (model, d, np.asarray(v, dtype=np.float32).tobytes())
                        for d, v in items.items()
                    ],
                )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def embed_chunks(
    router: ProviderRouter, cache: EmbeddingCache | None, texts: list[str]
) -> ChunkVectors:
    """Vectors for ``texts`` in order: remembered ones from the cache, the rest embedded
    in length-sorted batches and remembered."""
    model = router.embedding_model()
    keys = [digest(t) for t in texts]
    known = await asyncio.to_thread(cache.get, model, keys) if cache else {}
    todo = sorted(
        {k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items(),
        key=lambda kt: len(kt[1]),
    )
    fresh: dict[str, list[float]] = {}
    served_by = model
    for i in range(0, len(todo), EMBED_BATCH):
        batch = todo[i : i + EMBED_BATCH]
        result = await router.embed([t for _, t in batch])
        served_by = result.model
        fresh.update(zip((k for k, _ in batch), result.vectors, strict=True))
    if cache and fresh:
        await asyncio.to_thread(cache.put, model, fresh)
    vectors = [known.get(k) or fresh[k] for k in keys]
    return ChunkVectors(vectors, served_by, len(vectors[0]) if vectors else 0, len(known))
