"""The keyword half of retrieval: a BM25 index over every chunk, built at ingest and saved.

Queries load nothing and build nothing: the index is rebuilt when the manuals change
(after each ingest or delete) and saved beside a fingerprint of the store it was built
from, so a restarted service loads it and knows whether it is still current.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

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


def tokenize(text: str) -> list[str]:
    """Lower-case words and whole numbers ("£50,000" -> "50000"), light plural folding."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    words = re.findall(r"[a-z0-9]+", text)
    out = []
    for word in words:
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


class KeywordIndex:
    """BM25 over chunk texts, addressed by the store's row ids."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self.fingerprint = ""
        self._bm25: object | None = None

    def build(self, rows: list[tuple[str, str]], fingerprint: str) -> None:
        """Index ``(row id, text)`` pairs and save the index. Blocking: run on a thread."""
        import bm25s

        self.ids = [row_id for row_id, _ in rows]
        self.fingerprint = fingerprint
        if rows:
            bm25 = bm25s.BM25()
            bm25.index([tokenize(text) or ["_"] for _, text in rows], show_progress=False)
            self._bm25 = bm25
        else:
            self._bm25 = None
        self._save()

    def _save(self) -> None:
        staging = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(staging / "bm25"))  # type: ignore[attr-defined]
        (staging / "ids.json").write_text(
            json.dumps({"fingerprint": self.fingerprint, "ids": self.ids}), encoding="utf-8"
        )
        # Swap in whole, so a crash never leaves a half-written index behind.
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)

    def load(self) -> bool:
        """Load the saved index; False when there is none (or it cannot be read)."""
        import bm25s

        try:
            saved = json.loads((self.folder / "ids.json").read_text(encoding="utf-8"))
            self.ids = list(saved["ids"])
            self.fingerprint = str(saved["fingerprint"])
            self._bm25 = bm25s.BM25.load(str(self.folder / "bm25")) if self.ids else None
        except (OSError, ValueError, KeyError):
            self.ids, self.fingerprint, self._bm25 = [], "", None
            return False
        return True

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Row ids and BM25 scores of the best ``n`` chunks with any query word."""
        terms = tokenize(query)
        if self._bm25 is None or not terms or not self.ids:
            return []
        docs, scores = self._bm25.retrieve(  # type: ignore[attr-defined]
            [terms], k=min(n, len(self.ids)), show_progress=False, n_threads=1
        )
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]
