"""Page text of the built corpus, normalised the way the answer keys are written.

The keys quote text as pypdfium2 extracts it from each page, after :func:`key_text`:

1. Unicode NFKC (presentation forms such as U+FB01 become "fi"; U+FFFD stays U+FFFD);
2. U+FFFE, which pdfium puts in place of a hard hyphen that ends a line (joining the two
   lines itself), becomes "-": "up-to" + U+FFFE + "date" -> "up-to-date";
3. a line that ends in an automatic hyphen (U+2010, what the renderer draws when it
   hyphenates) is joined to the next line with the hyphen removed: "qual\u2010" + "ifying"
   -> "qualifying";
4. a line that ends in a word and a hard hyphen-minus is joined to the next with the
   hyphen kept: "self-" + "employed" -> "self-employed";
5. every other run of whitespace, line breaks included, becomes one space, and the ends
   are stripped.

This is the answer keys' normalisation, not the product's PDF cleaning: it deliberately
leaves running headers, footers and U+FFFD in place, because those are what a cleaner has
to deal with.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

PDFIUM_LINE_END_HYPHEN = "\ufffe"
AUTO_HYPHEN_BREAK = re.compile(r"\u2010[ \t]*\r?\n\s*")
HARD_HYPHEN_BREAK = re.compile(r"(?<=\w-)[ \t]*\r?\n\s*")
WHITESPACE = re.compile(r"\s+")


def key_text(raw: str) -> str:
    """``raw`` page text normalised as the answer keys quote it (see the module doc)."""
    text = unicodedata.normalize("NFKC", raw).replace(PDFIUM_LINE_END_HYPHEN, "-")
    text = AUTO_HYPHEN_BREAK.sub("", text)
    text = HARD_HYPHEN_BREAK.sub("", text)
    return WHITESPACE.sub(" ", text).strip()


def raw_pages(pdf: Path) -> list[str]:
    """Each page's text exactly as pypdfium2 extracts it (index 0 is page 1)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def key_pages(pdf: Path) -> list[str]:
    """Each page's text normalised with :func:`key_text` (index 0 is page 1)."""
    return [key_text(text) for text in raw_pages(pdf)]


def pages_with(pages: list[str], quote: str) -> list[int]:
    """The 1-based numbers of the pages whose key text contains ``quote``."""
    return [number for number, text in enumerate(pages, start=1) if quote in text]
