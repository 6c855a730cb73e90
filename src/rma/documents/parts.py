"""Where one document ends and the next begins in a client's scanned pile, and whether
a paper is a client's at all.

A client's paper is addressed to someone (a name with a title: Mr, Mrs, Ms, Miss, Mx,
Dr, near the top of its first page, as the addressee, account holder or defendant) or
names an account (a reference, account, agreement or claim number with its value). A
training manual, a book page or a blank page does neither. A new document starts
on a page that says "Page 1 of", after a page that said it was the last ("Page 3 of
3"), on a page addressed to the client (a continuation page is not), and on a blank
page; a page that is not a client's paper after one that is starts one too.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from rma.documents.layout_fields import Page, anywhere, reference
from rma.documents.typed import REF

ADDRESSEE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][a-z]+")
# The rows at the top of a page where an addressee is printed.
TOP_ROWS = 18
PAGE_OF = re.compile(r"\bpage\s+(\d{1,2})\s+of\s+(\d{1,2})\b", re.I)
BLANK_WORDS = re.compile(r"(this page (is )?intentionally (left )?blank|blank page)", re.I)
# Fewer characters than this, besides "intentionally left blank", is a blank page.
BLANK_CHARS = 20


@dataclass
class PageSigns:
    addressed: bool
    blank: bool
    page_of: tuple[int, int] | None


def signs(page: Page) -> PageSigns:
    rows = page.layout.rows
    text = "\n".join(r.text for r in rows)
    addressed = any(ADDRESSEE.search(r.text) for r in rows[:TOP_ROWS])
    stripped = BLANK_WORDS.sub("", text)
    blank = len(re.sub(r"\s", "", stripped)) < BLANK_CHARS
    found = PAGE_OF.findall(text)
    page_of = (int(found[-1][0]), int(found[-1][1])) if found else None
    return PageSigns(addressed, blank, page_of)


def a_clients_paper(pages: list[Page]) -> bool:
    """Whether the pages address a client or name an account (see the module's
    description)."""
    if not pages:
        return False
    if signs(pages[0]).addressed:
        return True
    label = rf"\b(?:{REF}|claim (?:no\.?|number))\s*[:.]?\s*([A-Z0-9][\w\-/ ]{{3,}})"
    return anywhere(pages, label, reference) is not None


def split(pages: list[Page]) -> list[tuple[int, int]]:
    """The documents in a file, as (first, last) page numbers, in order."""
    if not pages:
        return []
    marks = [signs(p) for p in pages]
    starts = [0]
    for i in range(1, len(pages)):
        here, before = marks[i], marks[i - 1]
        if here.page_of is not None:
            new = here.page_of[0] == 1
        elif before.page_of is not None and before.page_of[0] == before.page_of[1]:
            new = True
        else:
            new = (
                here.addressed
                or here.blank
                or before.blank
                or (not here.addressed and _client(marks, starts[-1]) and _prose_only(pages[i]))
            )
        if new:
            starts.append(i)
    bounds = [*starts, len(pages)]
    return [(pages[a].number, pages[b - 1].number) for a, b in itertools.pairwise(bounds)]


def _client(marks: list[PageSigns], start: int) -> bool:
    return marks[start].addressed


def _prose_only(page: Page) -> bool:
    """A page of running text with nothing a client's paper repeats on its next pages
    (a letterhead, a table, a reference): a manual's or a book's page."""
    rows = page.layout.rows
    if not rows:
        return False
    labelled = sum(len(r.cells) > 1 for r in rows)
    return labelled == 0 and bool(
        re.search(r"chapter|handbook|edition|exercise", rows[0].text, re.I)
    )
