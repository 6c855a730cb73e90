"""Loading and chunking: every format, OCR of a scanned page, token bounds, safe names."""

from __future__ import annotations

import io

import pytest

from rma.errors import InputError, UnsupportedMediaType
from rma.llm.backends.local import MiniLMEmbedder
from rma.ocr import OcrReader
from rma.rag.manuals import (
    CHUNK_MAX_TOKENS,
    FIGURE,
    ManualChunk,
    chunk_manual,
    document_id_for,
    file_kind,
    load_manual,
    safe_filename,
    split_sentences,
)
from tests.rag.conftest import MANUALS


async def test_scanned_pdf_page_is_read_by_ocr() -> None:
    data = (MANUALS / "breathing-space.pdf").read_bytes()
    manual = await load_manual("breathing-space.pdf", data, OcrReader())
    assert manual.ocr_pages == [2]
    page2 = " ".join(b.text for b in manual.blocks if b.page == 2).lower()
    assert "mental health crisis" in page2
    assert "30 days" in page2


def test_chunks_keep_structure_and_stay_within_the_embedder_bound(
    manual_chunks: list[ManualChunk],
) -> None:
    embedder = MiniLMEmbedder()
    for chunk in manual_chunks:
        assert chunk.heading_path, chunk.chunk_id
        assert embedder.count_tokens(chunk.embedding_text()) <= 256
        assert chunk.char_end > chunk.char_start
    limit = next(c for c in manual_chunks if "£50,000 or less" in c.text)
    assert limit.heading_path[-1] == "Debt limit"
    assert limit.document == "debt-relief-orders.md"
    pdf = [c for c in manual_chunks if c.document == "bankruptcy.pdf"]
    assert {c.page for c in pdf} >= {2, 3}


async def test_a_sentence_holding_a_figure_is_never_cut() -> None:
    long_sentence = "The limit for this " + "very " * 200 + "long rule is £50,000 or less."
    text = f"# Rules\n\n## Limit\n\n{long_sentence} A short sentence follows."
    manual = await load_manual("rules.md", text.encode(), OcrReader())
    chunks = chunk_manual(manual, "rules", MiniLMEmbedder().count_tokens)
    holding = [c for c in chunks if "£50,000" in c.text]
    assert len(holding) == 1 and long_sentence in holding[0].text
    plain = "Words " * 400 + "end."
    manual = await load_manual("plain.md", f"# Plain\n\n{plain}".encode(), OcrReader())
    chunks = chunk_manual(manual, "plain", MiniLMEmbedder().count_tokens)
    assert len(chunks) > 1  # no figure: split between words, within the bound
    assert all(
        MiniLMEmbedder().count_tokens(c.embedding_text()) <= CHUNK_MAX_TOKENS + 4 for c in chunks
    )


def test_sentences_split_without_breaking_abbreviations() -> None:
    text = "Fees apply, e.g. the £90 fee. It was removed. Since 4 May 2021 it lasts 60 days."
    assert split_sentences(text) == [
        "Fees apply, e.g. the £90 fee.",
        "It was removed.",
        "Since 4 May 2021 it lasts 60 days.",
    ]
    assert FIGURE.search("it lasts 60 days")


async def test_docx_html_and_text_manuals() -> None:
    import docx

    document = docx.Document()
    document.add_heading("IVA guide", level=1)
    document.add_heading("Approval", level=2)
    document.add_paragraph("Creditors holding at least 75% by value must agree.")
    buf = io.BytesIO()
    document.save(buf)
    manual = await load_manual("guide.docx", buf.getvalue(), OcrReader())
    chunks = chunk_manual(manual, "guide")
    assert chunks[0].heading_path == ("IVA guide", "Approval")
    assert "75%" in chunks[0].text

    html = (
        b"<html><head><title>Fees</title><script>x=1</script></head><body><h1>Fees</h1>"
        b"<h2>Bankruptcy</h2><p>The application costs <b>\xc2\xa3680</b> in total.</p>"
        b"</body></html>"
    )
    manual = await load_manual("fees.html", html, OcrReader())
    chunks = chunk_manual(manual, "fees")
    assert chunks[0].heading_path == ("Fees", "Bankruptcy")
    assert chunks[0].text == "The application costs £680 in total."

    manual = await load_manual(
        "notes.txt", b"Council tax\n\nCouncil tax is a priority debt.", OcrReader()
    )
    assert chunk_manual(manual, "notes")[0].heading_path == ("Council tax",)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\adviser\\dro.pdf", "dro.pdf"),
        ("/abs/path/guide.txt", "guide.txt"),
        ("  ..hidden.md ", "hidden.md"),
    ],
)
def test_filenames_lose_their_path_parts(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe
    assert "/" not in document_id_for(safe_filename(raw))


def test_bad_files() -> None:
    with pytest.raises(UnsupportedMediaType):
        file_kind("tool.exe", b"MZ")
    with pytest.raises(InputError):
        file_kind("fake.pdf", b"hello")
    with pytest.raises(InputError):
        safe_filename("../")
