"""Printed manuals: clean headings and paragraphs from a PDF's text layer.

Real handbooks are printouts: a running header and footer on every page, ligatures, words
hyphenated at line ends (and across page breaks), two columns, headings that differ from
body text only in size and weight. pdfium returns all of it as plain lines; this module
turns them into the blocks the chunker reads, each with its page number:

- **Running headers and footers** are the lines in a page's top or bottom band that recur
  on other pages of the document (digits ignored, so "Page 3 of 8" matches "Page 4 of 8").
  A one-page document has nothing to recur with, so there a band line set apart from the
  body by a wide gap and in a smaller type than the body is taken as furniture too.
- **Ligatures**: presentation forms become their letters (NFKC, applied only to them and
  to spaces: NFKC on the whole text would also rewrite fractions and superscripts). A
  ligature whose font maps it to U+FFFD is rebuilt when exactly one of ff, fi, fl, ffi, ffl
  makes a known word (the document's own words and the system word list); otherwise the
  word keeps a visible :data:`LIGATURE_MARK`. Nothing is guessed.
- **Hyphenation**: a line ending in an automatic hyphen (U+2010, U+00AD) is joined to the
  next without it; one ending in a hard hyphen keeps it ("self-" + "employed"), and
  pdfium's U+FFFE (a hard hyphen it already joined) becomes "-". A word broken across a
  page break is made whole on the page where it starts.
- **Headings** come from the PDF outline where there is one (and from the type styles its
  headings use), and otherwise from type: bold or larger than the body, and short.
- **Columns**: on a two-column page the left column is read before the right, whatever
  order the text layer gives.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise, product
from pathlib import Path
from typing import Literal

from rma import constants as C
from rma.ocr.pdf import OutlineEntry, PageLayout, PdfLayout, TextLine

LIGATURE_MARK = "[?]"
F_LIGATURES = ("ff", "fi", "fl", "ffi", "ffl")
UNREADABLE = "\ufffd"
# pdfium's mark for a hard hyphen at a line end whose two lines it has already joined.
PDFIUM_JOINED_HYPHEN = "\ufffe"
AUTO_HYPHENS = ("\u2010", "\u00ad")
# The share of the page height, at the top and at the bottom, where running lines sit.
BAND = 0.12
HEADING_SIZE_RATIO = 1.1
HEADING_MAX_WORDS = 14
_WORD = re.compile(r"[A-Za-z\ufffd][A-Za-z\ufffd'\u2019-]*")
_DIGITS = re.compile(r"\d+")
_LIST_MARKS = re.compile(r"^(?:[•\u2022\u25aa\u25cf\u2013\u2014*-]|\d{1,2}[.)]|[a-z][.)])$")


@dataclass
class Lexicon:
    """Known words (lower case) that a ligature repair may produce."""

    words: set[str]
    source: str

    def knows(self, word: str) -> bool:
        word = word.lower().replace("\u2019", "'")
        if "-" in word.strip("-"):
            return all(self.knows(part) for part in word.strip("-").split("-"))
        for form in (word, word.removesuffix("'s"), word.removesuffix("s"), word.rstrip("'")):
            if form in self.words:
                return True
        return False


@cache
def system_lexicon() -> Lexicon:
    """The first word list found among :data:`rma.constants.WORD_LISTS` (Debian's
    ``wbritish``), read once; empty when none is installed."""
    for path in C.WORD_LISTS:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        return Lexicon({w.strip().lower() for w in text.splitlines() if w.strip()}, path)
    return Lexicon(set(), "")


@dataclass
class CleaningReport:
    """What cleaning did to one document, in counts (shown as ingest warnings)."""

    running_lines: int = 0
    hyphens_joined: int = 0
    ligatures_repaired: int = 0
    ligatures_marked: list[str] = field(default_factory=list)
    heading_source: str = ""

    def warnings(self, lexicon: Lexicon) -> list[str]:
        out = []
        if self.ligatures_repaired or self.ligatures_marked:
            out.append(
                f"{self.ligatures_repaired + len(self.ligatures_marked)} words had an "
                f"unreadable ligature (U+FFFD); {self.ligatures_repaired} were rebuilt from "
                f"known words, {len(self.ligatures_marked)} are marked {LIGATURE_MARK}"
                + (
                    f": {', '.join(sorted(set(self.ligatures_marked))[:10])}"
                    if self.ligatures_marked
                    else ""
                )
            )
            if not lexicon.source:
                out.append(
                    "no word list is installed (Debian wbritish); ligatures were "
                    "rebuilt from the document's own words only"
                )
        return out


def _forms(text: str) -> str:
    """Presentation forms (ligatures) and odd spaces to plain letters and spaces."""
    if text.isascii():
        return text
    return "".join(
        unicodedata.normalize("NFKC", ch)
        if "\ufb00" <= ch <= "\ufb4f" or unicodedata.category(ch) == "Zs"
        else ch
        for ch in text
    ).replace(PDFIUM_JOINED_HYPHEN, "-")


def repair_ligatures(text: str, lexicon: Lexicon, report: CleaningReport) -> str:
    """Each word with U+FFFD rebuilt when exactly one f-ligature makes a known word,
    else marked: the marker is visible, the guess is never made."""
    if UNREADABLE not in text:
        return text

    def fix(match: re.Match[str]) -> str:
        word = match.group()
        if UNREADABLE not in word:
            return word
        parts = word.split(UNREADABLE)
        readings = {
            "".join(
                p + (f if i < len(fills) else "")
                for i, (p, f) in enumerate(zip(parts, (*fills, ""), strict=True))
            )
            for fills in product(F_LIGATURES, repeat=len(parts) - 1)
        }
        known = [r for r in readings if lexicon.knows(r.strip("'-"))]
        if len(known) == 1:
            report.ligatures_repaired += 1
            return known[0]
        report.ligatures_marked.append(word)
        return word.replace(UNREADABLE, LIGATURE_MARK)

    return _WORD.sub(fix, text).replace(UNREADABLE, LIGATURE_MARK)


# ------------------------------------------------------------------------------ layout


def _key(text: str) -> str:
    return " ".join(_DIGITS.sub("#", text.lower()).split())


def _in_band(line: TextLine, page: PageLayout) -> bool:
    return line.y0 >= page.height * (1 - BAND) or line.y1 <= page.height * BAND


def _body_size(pages: list[PageLayout]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def running_lines(pages: list[PageLayout], body: float) -> set[tuple[int, int]]:
    """(page, line index) of every running header or footer line."""
    seen: dict[str, set[int]] = {}
    for page in pages:
        for line in page.lines:
            if _in_band(line, page):
                seen.setdefault(_key(line.text), set()).add(page.number)
    running = {k for k, on in seen.items() if len(on) >= 2}
    out: set[tuple[int, int]] = set()
    for page in pages:
        inside = [ln for ln in page.lines if not _in_band(ln, page)]
        pitch = _pitch(inside) or body * 1.2
        top = max((ln.y1 for ln in inside), default=page.height)
        bottom = min((ln.y0 for ln in inside), default=0.0)
        for i, line in enumerate(page.lines):
            if not _in_band(line, page):
                continue
            apart = line.y0 - top > 2 * pitch or bottom - line.y1 > 2 * pitch
            if _key(line.text) in running or (apart and line.size < body):
                out.add((page.number, i))
    return out


def _pitch(lines: list[TextLine]) -> float:
    steps = [a.y0 - b.y0 for a, b in pairwise(lines) if 0 < a.y0 - b.y0 < 3 * max(a.size, 1)]
    return statistics.median(steps) if steps else 0.0


def column_order(page: PageLayout, keep: list[int]) -> tuple[list[int], set[int]]:
    """Line indexes in reading order: on a two-column page, the lines above the right
    column (a masthead, a headline across both), the left column, the right column, then
    lines spanning below; within each part the text layer's order is kept (it is right
    for tables and lists). Also the indexes of the right column's lines."""
    mid = page.width / 2
    slack = page.width * 0.02
    left = [i for i in keep if page.lines[i].x1 <= mid + slack]
    right = [i for i in keep if page.lines[i].x0 >= mid - slack]
    if len(left) < 5 or len(right) < 5:
        return keep, set()
    low = min(page.lines[i].y0 for i in right)
    high = max(page.lines[i].y1 for i in right)
    crossing = [
        i
        for i in keep
        if page.lines[i].x0 < mid - slack
        and page.lines[i].x1 > mid + slack
        and low <= page.lines[i].baseline <= high
    ]
    if len(crossing) > 0.1 * (len(left) + len(right)):
        return keep, set()  # text runs across the middle: one column (a table, perhaps)
    # Lines above the right column's top come first, as do spanning lines above it.
    top = max(page.lines[i].y1 for i in right)
    above = [i for i in keep if i not in right and page.lines[i].baseline > top]
    columns = set(left) | set(right)
    below = [i for i in keep if i not in columns and i not in above]
    left = [i for i in left if i not in above]
    return above + left + right + below, set(right)


# ------------------------------------------------------------------------------ blocks


@dataclass
class _Line:
    page: int
    text: str
    line: TextLine
    right_column: bool = False


@dataclass
class Block:
    """A heading or a paragraph of a manual, and its page (None: a file without pages)."""

    kind: Literal["heading", "paragraph"]
    text: str
    level: int = 0
    page: int | None = None


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _beside_others(lines: list[_Line]) -> set[int]:
    """Lines that share their baseline with another line: cells of a table row."""
    rows: dict[tuple[int, bool, int], list[int]] = {}
    for i, ln in enumerate(lines):
        rows.setdefault((ln.page, ln.right_column, round(ln.line.baseline)), []).append(i)
    return {i for row in rows.values() if len(row) > 1 for i in row}


def _heading_levels(
    lines: list[_Line], outline: list[OutlineEntry], body: float
) -> tuple[dict[int, int], str]:
    """Index in ``lines`` -> heading level (1 is the top), and where the headings came from."""
    levels: dict[int, int] = {}
    cells = _beside_others(lines)
    if outline:
        styles: dict[tuple[float, bool], int] = {}
        by_page: dict[int, list[int]] = {}
        for i, ln in enumerate(lines):
            by_page.setdefault(ln.page, []).append(i)
        for entry in outline:
            want = _norm(entry.title)
            candidates = by_page.get(entry.page, [])
            for pos, i in enumerate(candidates):
                if i in levels:
                    continue
                text = _norm(lines[i].text)
                nxt = candidates[pos + 1] if pos + 1 < len(candidates) else None
                if text == want or (
                    nxt is not None
                    and want.startswith(text)
                    and text + _norm(lines[nxt].text) == want
                ):
                    levels[i] = entry.level + 1
                    if nxt is not None and text != want:
                        levels[nxt] = -1  # continuation of a wrapped heading
                    style = (lines[i].line.size, lines[i].line.bold)
                    styles.setdefault(style, entry.level + 1)
                    break
        # headings the outline leaves out: in a style its headings use, or bold (a box's
        # title, say) one level below its deepest
        deepest = max(e.level for e in outline) + 2
        for i, ln in enumerate(lines):
            style = (ln.line.size, ln.line.bold)
            if i in levels or i in cells or not _heading_shape(ln.text):
                continue
            if style in styles:
                levels[i] = styles[style]
            elif ln.line.bold and ln.line.size >= body * 0.95:
                levels[i] = deepest
        return levels, "outline"
    chars: Counter[tuple[float, bool]] = Counter()
    total = 0
    for i, ln in enumerate(lines):
        total += len(ln.text)
        if _heading_style(ln.line, body) and _heading_shape(ln.text) and i not in cells:
            chars[(ln.line.size, ln.line.bold)] += len(ln.text)
    styles_ranked = sorted(
        (s for s, n in chars.items() if n < 0.2 * total), key=lambda s: (-s[0], not s[1])
    )
    rank = {s: min(n + 1, 4) for n, s in enumerate(styles_ranked)}
    for i, ln in enumerate(lines):
        style = (ln.line.size, ln.line.bold)
        if style in rank and _heading_shape(ln.text) and i not in cells:
            levels[i] = rank[style]
    return levels, "type"


def _heading_style(line: TextLine, body: float) -> bool:
    return line.bold or line.size >= body * HEADING_SIZE_RATIO


def _heading_shape(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= HEADING_MAX_WORDS
        and (text[0].isupper() or text[0].isdigit())
        and not text.rstrip().endswith((".", ",", ";", ":"))
        and not re.search(r"£\s?\d", text)
    )


def printed_blocks(
    layout: PdfLayout, lexicon: Lexicon | None = None
) -> tuple[list[Block], CleaningReport]:
    """The text-layer pages of ``layout`` as headings and paragraphs, cleaned."""
    lexicon = lexicon or system_lexicon()
    report = CleaningReport()
    pages = [layout.layouts[n] for n in sorted(layout.layouts)]
    body = _body_size(pages)
    running = running_lines(pages, body)
    report.running_lines = len(running)
    lines: list[_Line] = []
    for page in pages:
        keep = [
            i
            for i, ln in enumerate(page.lines)
            if (page.number, i) not in running
            and not _LIST_MARKS.match(ln.text.strip())
            and not all(_LIST_MARKS.match(t) for t in ln.text.split())
        ]
        order, right = column_order(page, keep)
        for i in order:
            text_line = page.lines[i]
            lines.append(_Line(page.number, _forms(text_line.text).strip(), text_line, i in right))
    lines = [ln for ln in lines if ln.text]
    lines = _join_hyphens(lines, report)
    # The document's own words, where no ligature went missing, count as known words.
    own = {w.lower() for ln in lines for w in _WORD.findall(ln.text) if UNREADABLE not in w}
    known = Lexicon(lexicon.words | own, lexicon.source)
    for item in lines:
        item.text = repair_ligatures(item.text, known, report)
    levels, report.heading_source = _heading_levels(lines, layout.outline, body)
    return _assemble(lines, levels, body), report


def _join_hyphens(lines: list[_Line], report: CleaningReport) -> list[_Line]:
    """Lines broken at a hyphen joined: within a page the two lines become one; across a
    page break the word's end moves back to the page where the word starts."""
    out: list[_Line] = []
    for ln in lines:
        if out:
            prev = out[-1]
            auto = prev.text.endswith(AUTO_HYPHENS)
            hard = re.search(r"\w-$", prev.text) is not None
            if auto or hard:
                head = prev.text[:-1] if auto else prev.text
                report.hyphens_joined += 1
                if prev.page == ln.page and prev.line.size == ln.line.size:
                    prev.text, prev.line = head + ln.text, ln.line
                    continue
                word, _, rest = ln.text.partition(" ")
                prev.text = head + word
                ln.text = rest.strip()
                if not ln.text:
                    continue
        out.append(ln)
    return out


def _ends_sentence(text: str) -> bool:
    # A gap (or a step back up, to a cell's next line) after a line that ends no sentence
    # is a table's row or cell: a table's rows stay one paragraph, each label by its values.
    return text.rstrip().endswith((".", "!", "?", ":", '."', ".)", "?)", ".\u201d"))


def _assemble(lines: list[_Line], levels: dict[int, int], body: float) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[_Line] = []

    def flush() -> None:
        if paragraph:
            blocks.append(
                Block("paragraph", " ".join(p.text for p in paragraph), page=paragraph[0].page)
            )
            paragraph.clear()

    pitch = body * 1.25
    for i, ln in enumerate(lines):
        level = levels.get(i)
        if level == -1:
            blocks[-1].text += " " + ln.text
            continue
        if level is not None:
            flush()
            prev = blocks[-1] if blocks else None
            if (
                prev is not None
                and prev.kind == "heading"
                and prev.level == level
                and prev.page == ln.page
                and i > 0
                and levels.get(i - 1) == level
            ):
                prev.text += " " + ln.text  # a heading wrapped over two lines
            else:
                blocks.append(Block("heading", ln.text, level, ln.page))
            continue
        if paragraph:
            last = paragraph[-1]
            step = last.line.baseline - ln.line.baseline
            if (
                ln.page != last.page
                or abs(ln.line.size - last.line.size) > 0.6
                or (ln.right_column != last.right_column)  # the next column
                or ((step > pitch * 1.3 or step < 0) and _ends_sentence(last.text))
            ):
                flush()
        paragraph.append(ln)
    flush()
    return blocks
