"""The letter as a Word document an adviser can edit and send.

Built from the same parts as the text letter, so the two never disagree. Client
names and model sentences are added as plain runs: Word never reads them as markup.
The checks' warnings become Word comments on the title (the review pane, where an
adviser resolves them before sending), never text in the letter's body.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document
from docx.document import Document as DocumentObject
from docx.shared import Pt

from rma.notes.checks import LetterWarning
from rma.notes.letter import ComposedLetter

COMMENT_AUTHOR = "RMA letter checks"
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def letter_docx(letter: ComposedLetter, warnings: list[LetterWarning] = ()) -> bytes:  # type: ignore[assignment]
    """A .docx of ``letter``. CPU work: call it through ``asyncio.to_thread`` on request paths."""
    doc = _document()
    for line in letter.header:
        doc.add_paragraph(line)
    doc.add_paragraph(letter.greeting)
    title = doc.add_heading(letter.title, level=1)
    doc.add_paragraph(letter.opening)
    for section in letter.sections:
        doc.add_heading(section.heading, level=2)
        for item in section.items:
            doc.add_paragraph(item, style="List Bullet")
        if section.note:
            doc.add_paragraph(section.note)
    doc.add_paragraph(letter.closing)
    for line in letter.sign_off:
        doc.add_paragraph(line)
    for warning in warnings:
        doc.add_comment(
            title.runs,
            text=f"Check before sending: {warning.message}",
            author=COMMENT_AUTHOR,
            initials="RMA",
        )
    doc.core_properties.comments = f"{len(warnings)} check(s) to review before sending"
    return _saved(doc, letter.title)


def text_docx(text: str, title: str) -> bytes:
    """A .docx of a letter kept as text (as a case keeps it, perhaps edited since it was
    written): a paragraph per paragraph, "- " lines as bullets. CPU work, as above."""
    doc = _document()
    for block in text.split("\n\n"):
        lines = [line.rstrip() for line in block.strip("\n").splitlines()]
        if lines and all(line.lstrip().startswith("- ") for line in lines):
            for line in lines:
                doc.add_paragraph(line.lstrip()[2:], style="List Bullet")
        elif lines:
            doc.add_paragraph("\n".join(lines))
    return _saved(doc, title)


def _document() -> DocumentObject:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Arial"  # a clear sans-serif, as plain-English guidance advises
    style.font.size = Pt(12)
    return doc


def _saved(doc: DocumentObject, title: str) -> bytes:
    props = doc.core_properties
    props.title = title
    props.created = datetime.now(UTC)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
