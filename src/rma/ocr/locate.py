"""Where a text is on its printed page: the boxes to highlight (a cited passage of a
manual, the line a client document's field was read from).

A passage's text is the printout repaired (ligatures unfolded, words broken at a line end
joined again, running headers and footers dropped), so it is not a substring of the page's
text layer. It is found word by word instead: both sides are reduced to words of letters
and digits, a word the page breaks with a hyphen at a line end is joined to the next, and
the longest matching runs of words are lined up (``difflib``). The best run of matches,
gaps of a few words allowed, is the passage; each of its lines becomes one box.

It refuses to guess: when too little of the passage is found on the page (a scanned page
read by OCR has no text layer), there are no boxes and ``located`` is False, said as such.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from rma.ocr.words import Word

# Words of the passage that must be found on the page to call it located.
MIN_COVERAGE = 0.6
# Unmatched page words a run of matches may step over (a changed figure, a footnote mark).
MAX_GAP = 6
# A line-end hyphen: the ASCII one, a soft hyphen, the Unicode hyphens.
HYPHENS = ("-", "\u00ad", "\u2010", "\u2011")
_NOT_WORD = re.compile(r"[\W_]+")

Box = tuple[float, float, float, float]  # left, top, right, bottom; origin top left


@dataclass(frozen=True)
class PassagePlace:
    """The passage's boxes on the page (one per line), how many of its words were found,
    and whether that is enough to show it."""

    boxes: list[Box] = field(default_factory=list)
    found: int = 0
    words: int = 0

    @property
    def coverage(self) -> float:
        return self.found / self.words if self.words else 0.0

    @property
    def located(self) -> bool:
        return bool(self.boxes) and self.coverage >= MIN_COVERAGE


def _norm(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def _page_tokens(words: list[Word]) -> list[tuple[str, list[int]]]:
    """The page's words as tokens, each with the page words it came from; a word broken
    with a hyphen at a line end becomes one token with the next."""
    tokens: list[tuple[str, list[int]]] = []
    i = 0
    while i < len(words):
        text = words[i].text
        if text.endswith(HYPHENS) and i + 1 < len(words) and _next_line(words, i):
            joined = _norm(text[:-1] + words[i + 1].text)
            if joined:
                tokens.append((joined, [i, i + 1]))
            i += 2
            continue
        if norm := _norm(text):
            tokens.append((norm, [i]))
        i += 1
    return tokens


def _next_line(words: list[Word], i: int) -> bool:
    """The word after ``i`` starts a new line (a hyphen there is a line-end break)."""
    here, after = words[i], words[i + 1]
    return after.top >= here.bottom - here.height * 0.4 or after.left < here.left


def locate(words: list[Word], passage: str) -> PassagePlace:
    """The boxes of ``passage`` on a page whose text layer is ``words``."""
    wanted = [t for t in (_norm(w) for w in passage.split()) if t]
    tokens = _page_tokens(words)
    if not wanted or not tokens:
        return PassagePlace(words=len(wanted))
    matcher = SequenceMatcher(None, [t for t, _ in tokens], wanted, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return PassagePlace(words=len(wanted))
    # Group the matches into runs over the page; the run with the most matched words wins.
    runs: list[list[tuple[int, int]]] = [[(blocks[0].a, blocks[0].size)]]
    for block in blocks[1:]:
        start, size = runs[-1][-1]
        if block.a - (start + size) <= MAX_GAP:
            runs[-1].append((block.a, block.size))
        else:
            runs.append([(block.a, block.size)])
    best = max(runs, key=lambda run: sum(size for _, size in run))
    first, (last, last_size) = best[0][0], best[-1]
    covered = sorted({i for _, indexes in tokens[first : last + last_size] for i in indexes})
    return PassagePlace(
        _line_boxes([words[i] for i in covered]),
        found=sum(size for _, size in best),
        words=len(wanted),
    )


def _line_boxes(words: list[Word]) -> list[Box]:
    """One box per line: consecutive words on the same line are merged."""
    boxes: list[list[float]] = []
    for word in words:
        if boxes:
            box = boxes[-1]
            same_line = abs((box[1] + box[3]) / 2 - word.middle) < word.height * 0.5
            if same_line and word.left >= box[0] - word.height:
                box[0], box[1] = min(box[0], word.left), min(box[1], word.top)
                box[2], box[3] = max(box[2], word.right), max(box[3], word.bottom)
                continue
        boxes.append([word.left, word.top, word.right, word.bottom])
    return [(round(a, 1), round(b, 1), round(c, 1), round(d, 1)) for a, b, c, d in boxes]
