"""Letters kept in memory for a while, so a Word copy can be fetched by id.

Off unless ``NOTES_RETAIN_SECONDS`` is set: letters are personal data. Nothing is
written to disk; entries expire after the configured time and the oldest go first
when the store is full. A restart forgets everything.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from rma.notes.checks import LetterWarning
from rma.notes.letter import ComposedLetter


@dataclass
class RetainedLetter:
    letter: ComposedLetter
    warnings: list[LetterWarning]
    expires_at: float


class RetainedLetters:
    """An in-memory, time-limited map from an unguessable id to a finished letter."""

    def __init__(self, ttl_seconds: float, max_entries: int) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: OrderedDict[str, RetainedLetter] = OrderedDict()

    def put(self, letter: ComposedLetter, warnings: list[LetterWarning]) -> str:
        self._purge()
        letter_id = secrets.token_urlsafe(16)
        self._items[letter_id] = RetainedLetter(letter, warnings, time.monotonic() + self.ttl)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return letter_id

    def get(self, letter_id: str) -> RetainedLetter | None:
        self._purge()
        return self._items.get(letter_id)

    def delete(self, letter_id: str) -> bool:
        return self._items.pop(letter_id, None) is not None

    def __len__(self) -> int:
        self._purge()
        return len(self._items)

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._items.items() if v.expires_at <= now]:
            del self._items[key]
