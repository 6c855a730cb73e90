"""The keyword half of retrieval: BM25 over every live chunk, kept in SQLite's FTS5.

The index is incremental: ingesting a manual adds its chunks and deletes its previous
version's, in one transaction; nothing is rebuilt, and memory does not grow with the
library (the index lives on disk, under ``RMA_DATA_DIR/rag``). Each indexed document is
recorded with its version, so a restarted service, or one sharing a Chroma server with
another, brings the index up to date by comparing versions (:meth:`KeywordIndex.stale`),
touching only the documents that differ.

Passages and questions are tokenised alike: lower-case words and whole numbers, light
plural folding, and the debt-advice vocabulary's term tokens (``rma.rag.vocabulary``),
so "OR" in a question meets "official receiver" in a manual.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

from rma.rag.vocabulary import terms_in

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


# Numbers written as words read as their digits: "five years" meets "5 years".
NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}


def tokenize(text: str) -> list[str]:
    """Lower-case words and whole numbers ("£50,000" -> "50000", "five" -> "5"), light
    plural folding, and the vocabulary's term tokens for the forms the text contains."""
    lowered = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    words = re.findall(r"[a-z0-9]+", lowered)
    out = []
    for word in words:
        if word in STOPWORDS:
            continue
        word = NUMBER_WORDS.get(word, word)
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out + terms_in(text)


class KeywordIndex:
    """BM25 (FTS5) over chunk texts, addressed by the store's row ids.

    Blocking: async callers run its methods with ``asyncio.to_thread``."""

    FILE = "keywords.sqlite"

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder  # None: in memory, for one question, never written to disk
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if self.folder is None:
                db = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.folder / self.FILE, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS documents (document_id TEXT PRIMARY KEY, version TEXT);
                CREATE TABLE IF NOT EXISTS rows (
                    rowid INTEGER PRIMARY KEY, chunk_id TEXT, document_id TEXT);
                CREATE INDEX IF NOT EXISTS rows_by_document ON rows(document_id);
                CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(
                    tokens, tokenize = 'unicode61');
                """
            )
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def versions(self) -> dict[str, str]:
        """document id -> the version indexed."""
        with self._lock:
            return dict(self._conn().execute("SELECT document_id, version FROM documents"))

    def stale(self, live: dict[str, str]) -> tuple[list[str], list[str]]:
        """Documents to (re)index and documents to drop, to match ``live`` (id -> version)."""
        held = self.versions()
        add = sorted(d for d, v in live.items() if held.get(d) != v)
        drop = sorted(d for d in held if d not in live)
        return add, drop

    def replace_document(self, document_id: str, version: str, rows: list[tuple[str, str]]) -> None:
        """Index a document's ``(row id, text)`` pairs in place of any earlier version."""
        tokens = [" ".join(tokenize(text)) or "_" for _, text in rows]
        with self._lock:
            db = self._conn()
            with db:
                self._delete(db, document_id)
                for (row_id, _), words in zip(rows, tokens, strict=True):
                    cursor = db.execute(
                        "INSERT INTO rows(chunk_id, document_id) VALUES (?, ?)",
                        (row_id, document_id),
                    )
                    db.execute(
                        "INSERT INTO passages(rowid, tokens) VALUES (?, ?)",
                        (cursor.lastrowid, words),
                    )
                db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)", (document_id, version))

    def delete_document(self, document_id: str) -> None:
        with self._lock:
            db = self._conn()
            with db:
                self._delete(db, document_id)

    @staticmethod
    def _delete(db: sqlite3.Connection, document_id: str) -> None:
        db.execute(
            "DELETE FROM passages WHERE rowid IN (SELECT rowid FROM rows WHERE document_id = ?)",
            (document_id,),
        )
        db.execute("DELETE FROM rows WHERE document_id = ?", (document_id,))
        db.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))

    def count(self) -> int:
        with self._lock:
            return int(self._conn().execute("SELECT count(*) FROM rows").fetchone()[0])

    def occurrences(self, phrase: list[str], *, prefix: bool = False) -> int:
        """How many indexed passages hold these tokens, in this order, side by side (the
        last one as a prefix, with ``prefix``)."""
        if not phrase:
            return 0
        quoted = '"' + " ".join(phrase) + '"' + ("*" if prefix else "")
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT count(*) FROM passages WHERE passages MATCH ?", (quoted,))
                .fetchone()
            )
        return int(row[0])

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Row ids and BM25 scores (higher is better) of the best ``n`` chunks with any
        query word."""
        terms = sorted(set(tokenize(query)))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        with self._lock:
            found = self._conn().execute(
                "SELECT rows.chunk_id, -bm25(passages) AS score FROM passages "
                "JOIN rows ON rows.rowid = passages.rowid "
                "WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT ?",
                (match, n),
            )
            return [(str(chunk_id), float(score)) for chunk_id, score in found]
