"""Citation marks in an answer: ``[2]``, ``[1][2]``, ``[1, 2, 3]``, ``[1-3]``, ``[2–4]``.

A mark holds one to three digits per number, so a year in brackets (``[2025]``) or a
note like ``[a]`` is not a citation. A range cites every number in it.
"""

from __future__ import annotations

import re

_NUMBER = r"\d{1,3}"
_ITEM = rf"{_NUMBER}(?:\s*[-–—]\s*{_NUMBER})?"
_MARK = re.compile(rf"\[\s*({_ITEM}(?:\s*[,;]\s*{_ITEM})*)\s*\]")
_RANGE = re.compile(rf"({_NUMBER})\s*[-–—]\s*({_NUMBER})")


def cited_numbers(text: str) -> list[int]:
    """The source numbers ``text`` cites, in order of first mention, each once."""
    seen: dict[int, None] = {}
    for mark in _MARK.finditer(text):
        for item in re.split(r"\s*[,;]\s*", mark.group(1)):
            span = _RANGE.fullmatch(item)
            first, last = (int(span.group(1)), int(span.group(2))) if span else (int(item),) * 2
            for number in range(first, last + 1):
                seen.setdefault(number, None)
    return list(seen)
