"""Manuals in, chunks out: load PDF, Markdown, text, DOCX and HTML, then chunk by structure.

Every format is first turned into a list of :class:`Block` (headings and paragraphs with
their page), so one chunker serves them all. Chunks follow headings and paragraphs, stay
within the embedder's token bound, and never cut a sentence: a sentence that holds a
figure is kept whole even when it alone exceeds the bound (the figure matters more than
the last few tokens of its embedding).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Literal

from rma import constants as C
from rma.errors import InputError, InputTooLarge, UnsupportedMediaType
from rma.ocr.pdf import read_pdf_layout
from rma.ocr.workers import document_budget, workers
from rma.rag.printout import Block, printed_blocks, system_lexicon
from rma.text import TokenCounter, estimate_tokens, split_sentences

if TYPE_CHECKING:
    from rma.ocr import OcrReader

FileKind = Literal["pdf", "markdown", "text", "docx", "html"]

SUFFIXES: dict[str, FileKind] = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}
# all-MiniLM-L6-v2 reads 256 tokens; leave room for [CLS]/[SEP] and counting slack.
CHUNK_MAX_TOKENS = 220
MAX_FILENAME_CHARS = 200
# OCR text below this mean confidence is flagged on ingest.
LOW_OCR_CONFIDENCE = 0.6
FIGURE = re.compile(r"£\s?\d|\d\s?%|\b\d+\s+(?:days?|weeks?|months?|years?)\b", re.I)


@dataclass
class LoadedManual:
    """A manual read into headings and paragraphs, before chunking."""

    name: str
    kind: FileKind
    title: str
    pages: int
    blocks: list[Block]
    ocr_pages: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ManualChunk:
    """A retrievable passage and where it sits: document, page, heading path, offsets.

    Offsets are character positions in the page's normalised text (its blocks joined by
    blank lines), so a quote can be found again without the original file.
    """

    chunk_id: str
    document_id: str
    document: str
    title: str
    index: int
    page: int | None
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    text: str

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    def embedding_text(self) -> str:
        """What is embedded and indexed: the heading path gives a passage its subject."""
        return f"{self.heading}\n{self.text}" if self.heading_path else self.text


# ------------------------------------------------------------------- names and types


def safe_filename(raw: str) -> str:
    """The file's own name, without any directory parts; never used as a path."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = name.strip().strip(".").strip()
    if not name:
        raise InputError("the upload has no usable file name")
    return name[-MAX_FILENAME_CHARS:]


def document_id_for(filename: str) -> str:
    """Stable id from the safe file name: the same file re-ingested replaces itself."""
    slug = re.sub(r"[^a-z0-9]+", "-", filename.lower()).strip("-")[:80] or "document"
    digest = hashlib.sha256(filename.encode()).hexdigest()[:8]
    return f"{slug}-{digest}"


def file_kind(filename: str, data: bytes) -> FileKind:
    """The format from the name, checked against the content; 415 when unsupported."""
    suffix = PurePosixPath(filename.lower()).suffix
    kind = SUFFIXES.get(suffix)
    if kind is None:
        raise UnsupportedMediaType(
            f"unsupported file type {suffix or '(none)'!r}: use PDF, Markdown, text, DOCX or HTML"
        )
    if kind == "pdf" and not data.lstrip()[:5].startswith(b"%PDF"):
        raise InputError("the file is named .pdf but is not a PDF")
    if kind == "docx" and not data.startswith(b"PK"):
        raise InputError("the file is named .docx but is not a Word document")
    return kind


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- loading


async def load_manual(filename: str, data: bytes, ocr: OcrReader) -> LoadedManual:
    """Read one manual into blocks. Raises InputError for unreadable or empty files."""
    name = safe_filename(filename)
    kind = file_kind(name, data)
    with document_budget():
        if kind == "pdf":
            manual = await _load_pdf(name, data, ocr)
        elif kind == "docx":  # an untrusted zip of XML: parsed in a document worker
            manual = await workers().run(_load_docx, name, data)
        else:
            manual = await asyncio.to_thread(_LOADERS[kind], name, data)
    if not any(b.kind == "paragraph" and b.text.strip() for b in manual.blocks):
        raise InputError(f"no text could be read from {name}")
    return manual


async def _load_pdf(name: str, data: bytes, ocr: OcrReader) -> LoadedManual:
    pdf = await read_pdf_layout(data, ocr)
    printed, report = await asyncio.to_thread(printed_blocks, pdf)
    blocks: list[Block] = []
    ocr_pages: list[int] = []
    warnings: list[str] = []
    for page in pdf.pages:
        warnings.extend(page.warnings)
        if page.method != "text-layer":
            ocr_pages.append(page.number)
            if page.confidence < LOW_OCR_CONFIDENCE:
                warnings.append(
                    f"page {page.number} was read by OCR with low confidence "
                    f"({page.confidence:.2f}); check quotes from it against the original"
                )
        if page.number not in pdf.layouts:
            blocks.extend(_blocks_from_lines(page.text.splitlines(), page.number, not blocks))
    warnings.extend(report.warnings(system_lexicon()))
    # Printed pages and OCR pages in page order (sorted is stable: order within a page holds).
    blocks = sorted([*printed, *blocks], key=lambda b: b.page or 0)
    headings = [b for b in blocks if b.kind == "heading"]
    top = min((b.level for b in headings), default=1)
    title = next((b.text for b in headings if b.level == top), PurePosixPath(name).stem)
    return LoadedManual(name, "pdf", title, len(pdf.pages), blocks, ocr_pages, warnings)


def _looks_like_heading(line: str, previous: str | None) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 10
        and len(line) <= 80
        and line[0].isupper()
        and not line.endswith((".", ",", ";", ":", "!", "?"))
        and not FIGURE.search(line)
        and (previous is None or previous.endswith((".", ":", "!", "?")))
    )


def _blocks_from_lines(lines: list[str], page: int | None, first_page: bool) -> list[Block]:
    """Lines of a page (PDF text layer or OCR) into headings and paragraphs; the first
    heading of the document is its title, later ones are sections under it."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    previous: str | None = None

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(paragraph), page=page))
            paragraph.clear()

    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            flush()
            continue
        if _looks_like_heading(line, previous):
            flush()
            level = 1 if first_page and not blocks else 2
            blocks.append(Block("heading", line, level, page))
        else:
            paragraph.append(line)
        previous = line
    flush()
    return blocks


def _strip_markdown(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: keep the label
    text = re.sub(r"(\*\*|__|`)", "", text)
    return " ".join(text.split())


def _load_markdown(name: str, data: bytes) -> LoadedManual:
    text = _decode(data, name)
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", _strip_markdown(" ".join(paragraph))))
            paragraph.clear()

    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            continue
        heading = None if in_fence else re.match(r"^(#{1,6})\s+(.+?)\s*#*$", stripped)
        if heading:
            flush()
            blocks.append(
                Block("heading", _strip_markdown(heading.group(2)), len(heading.group(1)))
            )
        elif not stripped:
            flush()
        elif re.match(r"^\|?\s*:?-{3,}", stripped):
            continue  # table separator row
        elif stripped.startswith("|"):
            flush()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            blocks.append(Block("paragraph", _strip_markdown("; ".join(c for c in cells if c))))
        elif re.match(r"^([-*+]|\d+[.)])\s+", stripped):
            flush()  # each list item stays whole: it usually states one rule
            paragraph.append(re.sub(r"^([-*+]|\d+[.)])\s+", "", stripped))
        else:
            paragraph.append(stripped)
    flush()
    title = next((b.text for b in blocks if b.kind == "heading"), PurePosixPath(name).stem)
    return LoadedManual(name, "markdown", title, 1, blocks)


def _load_text(name: str, data: bytes) -> LoadedManual:
    text = _decode(data, name)
    blocks: list[Block] = []
    for part in re.split(r"\n\s*\n", text):
        lines = [ln for ln in part.splitlines() if ln.strip()]
        if not lines:
            continue
        joined = " ".join(" ".join(ln.split()) for ln in lines)
        if len(lines) == 1 and _looks_like_heading(joined, None):
            blocks.append(Block("heading", joined, 1))
        else:
            blocks.append(Block("paragraph", joined))
    title = next((b.text for b in blocks if b.kind == "heading"), PurePosixPath(name).stem)
    return LoadedManual(name, "text", title, 1, blocks)


def _load_docx(name: str, data: bytes) -> LoadedManual:
    """Blocks of a Word file, its parts first counted against ``MAX_DECODED_BYTES`` (run
    in a document worker: python-docx inflates every part in memory)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import LxmlError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            # Declared sizes bind: zipfile stops each part at its declared size.
            unpacked = sum(part.file_size for part in package.infolist())
        if unpacked > C.MAX_DECODED_BYTES:
            raise InputTooLarge(
                f"{name} unpacks to {unpacked / 1e6:.0f} MB; the limit is "
                f"{C.MAX_DECODED_BYTES / 1e6:.0f} MB"
            )
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, LxmlError, KeyError, ValueError, OSError,
            EOFError) as exc:  # fmt: skip
        raise InputError(f"{name} is not a readable Word document ({type(exc).__name__})") from None
    blocks: list[Block] = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title":
            blocks.append(Block("heading", text, 1))
        elif level:
            blocks.append(Block("heading", text, int(level.group(1))))
        else:
            blocks.append(Block("paragraph", text))
    for table in document.tables:
        for row in table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            if any(cells):
                blocks.append(Block("paragraph", "; ".join(c for c in cells if c)))
    title = next((b.text for b in blocks if b.kind == "heading"), PurePosixPath(name).stem)
    return LoadedManual(name, "docx", title, 1, blocks)


def _load_html(name: str, data: bytes) -> LoadedManual:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data, name), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    wanted = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "tr"]
    blocks: list[Block] = []
    for element in soup.find_all(wanted):
        if element.find_parent(wanted) is not None:
            continue  # its text is already part of the enclosing block
        if element.name == "tr":
            cells = [" ".join(c.get_text(" ").split()) for c in element.find_all(["td", "th"])]
            text = "; ".join(c for c in cells if c)
        else:
            text = " ".join(element.get_text(" ").split())
        if not text:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            blocks.append(Block("heading", text, int(element.name[1:])))
        else:
            blocks.append(Block("paragraph", text))
    title_tag = soup.find("title")
    title = (
        " ".join(title_tag.get_text().split())
        if title_tag and title_tag.get_text().strip()
        else next((b.text for b in blocks if b.kind == "heading"), PurePosixPath(name).stem)
    )
    return LoadedManual(name, "html", title, 1, blocks)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise InputError(f"{name} looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_LOADERS: dict[str, Callable[[str, bytes], LoadedManual]] = {
    "markdown": _load_markdown,
    "text": _load_text,
    "html": _load_html,
}


# ---------------------------------------------------------------------------- chunking


def chunk_manual(
    manual: LoadedManual,
    document_id: str,
    count_tokens: TokenCounter = estimate_tokens,
    max_tokens: int = CHUNK_MAX_TOKENS,
) -> list[ManualChunk]:
    """Chunks following headings and paragraphs, each within ``max_tokens``."""
    chunks: list[ManualChunk] = []
    headings: list[tuple[int, str]] = []
    page_text: dict[int | None, str] = {}
    # the chunk being built: (sentence, start, end) in its page's text
    current: list[tuple[str, int, int]] = []
    current_page: int | None = None
    current_tokens = 0

    def path() -> tuple[str, ...]:
        return tuple(text for _, text in headings)

    def prefix_tokens() -> int:
        return count_tokens(" > ".join(path())) if headings else 0

    def flush() -> None:
        nonlocal current, current_tokens
        if not current:
            return
        text = " ".join(s for s, _, _ in current)
        index = len(chunks)
        chunks.append(
            ManualChunk(
                chunk_id=f"{document_id}:{index}",
                document_id=document_id,
                document=manual.name,
                title=manual.title,
                index=index,
                page=current_page,
                heading_path=path(),
                char_start=current[0][1],
                char_end=current[-1][2],
                text=text,
            )
        )
        current, current_tokens = [], 0

    for block in manual.blocks:
        existing = page_text.get(block.page, "")
        block_start = len(existing) + (2 if existing else 0)
        page_text[block.page] = f"{existing}\n\n{block.text}" if existing else block.text
        if block.kind == "heading":
            flush()
            while headings and headings[-1][0] >= block.level:
                headings.pop()
            headings.append((block.level, block.text))
            continue
        if block.page != current_page:
            flush()
            current_page = block.page
        budget = max_tokens - prefix_tokens()
        cursor = 0
        for sentence in split_sentences(block.text):
            at = block.text.find(sentence, cursor)
            at = cursor if at < 0 else at
            cursor = at + len(sentence)
            start = block_start + at
            tokens = count_tokens(sentence)
            if tokens > budget and not FIGURE.search(sentence):
                # A long sentence without figures may be split between words.
                for piece, offset in _word_pieces(sentence, budget, count_tokens):
                    flush()
                    current.append((piece, start + offset, start + offset + len(piece)))
                    current_tokens = count_tokens(piece)
                continue
            if current and current_tokens + tokens > budget:
                flush()
            current.append((sentence, start, start + len(sentence)))
            current_tokens += tokens
    flush()
    return chunks


def _word_pieces(sentence: str, budget: int, count: TokenCounter) -> list[tuple[str, int]]:
    pieces: list[tuple[str, int]] = []
    words = [(m.group(), m.start()) for m in re.finditer(r"\S+", sentence)]
    i = 0
    while i < len(words):
        j = i + 1
        while (
            j < len(words)
            and count(sentence[words[i][1] : words[j][1] + len(words[j][0])]) <= budget
        ):
            j += 1
        start, end = words[i][1], words[j - 1][1] + len(words[j - 1][0])
        pieces.append((sentence[start:end], start))
        i = j
    return pieces
