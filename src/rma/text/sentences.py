"""Sentences of a paragraph, as the manuals' chunker and the limits reader both need them.

A sentence ends at ``.``, ``!`` or ``?`` (and any closing quote or bracket) followed by
space and a capital, a digit or ``£``; an abbreviation such as "e.g." does not end one.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "no.", "mr.", "mrs.", "ms.", "dr.", "st.", "vs.")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9£])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; abbreviations such as "e.g." do not end a sentence."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        last_word = before[-1].lower() if before else ""
        if last_word.endswith(_ABBREVIATIONS):
            continue
        pieces.append(text[start : match.start()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]
