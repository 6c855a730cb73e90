"""The realistic handbook corpus (PDF printouts) through ingestion and retrieval: clean
chunks, headings where the answer key's passages sit, and recall@5 against the key."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from corpora.handbook.build import BuildResult, build

from rma.bench import recall
from rma.config import load_settings
from rma.llm.factory import build_router
from rma.ocr import OcrReader, read_pdf_layout
from rma.rag.answer import ManualsAnswerer
from rma.rag.library import ManualLibrary
from rma.rag.limits import ManualLimits
from rma.rag.manuals import ManualChunk
from rma.rag.printout import UNREADABLE, printed_blocks
from tests.conftest import ROOT

CORPUS_DIR = ROOT / "build" / "corpora" / "handbook"
QUESTIONS = ROOT / "corpora" / "handbook" / "answers" / "questions.json"
# The issue asks for 0.95; measured 68 of 71 (0.958) with the embedded MiniLM embedder
# (67 of 71 when each list gave only its top 20 to the fusion).
RECALL_FLOOR = 0.95
# The key's 12 unanswerable questions: measured 9 kept out of the answers.
UNANSWERABLE_KEPT_OUT = 9

# Running lines of the corpus (header, footer, page numbers): none may reach a chunk.
RUNNING = re.compile(
    r"Copyright Calder Vale|For internal training use only|Page \d+ of \d+|– \d+ –", re.I
)


@pytest.fixture(scope="session")
def handbook() -> BuildResult:
    return build(CORPUS_DIR)


@pytest.fixture(scope="session")
def handbook_library(
    handbook: BuildResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ManualLibrary, list[ManualChunk]]]:
    """The corpus ingested once, on the embedded defaults, into its own data directory."""
    settings = load_settings(
        RMA_DATA_DIR=str(tmp_path_factory.mktemp("handbook-data")), CHROMADB_HOST=""
    )
    loop = asyncio.new_event_loop()
    router = build_router(settings)
    library = loop.run_until_complete(ManualLibrary.open(settings, router))
    results = loop.run_until_complete(library.ingest_folder(handbook.out_dir, remove_missing=False))
    assert {r.outcome for r in results} == {"added"}, [r.warnings for r in results]
    chunks = [c for _, c in library.store.all_chunks()]
    yield library, chunks
    loop.run_until_complete(library.close())
    loop.run_until_complete(router.aclose())
    loop.close()


def test_no_running_lines_or_unreadable_glyphs_in_any_chunk(
    handbook_library: tuple[ManualLibrary, list[ManualChunk]],
) -> None:
    _, chunks = handbook_library
    assert len({c.document for c in chunks}) == 16
    for chunk in chunks:
        assert UNREADABLE not in chunk.text, (chunk.document, chunk.page, chunk.text[:200])
        assert "\ufffe" not in chunk.text
        assert not RUNNING.search(chunk.text), (chunk.document, chunk.page, chunk.text[:200])
        # no heading is a running line (the publisher's name, a page number)
        for heading in chunk.heading_path:
            assert not RUNNING.search(heading) and "Calder Vale" not in heading, heading


@pytest.mark.parametrize(
    ("document", "quote", "heading"),
    [
        (
            "handbook-2025-ch04-debt-relief-orders.pdf",
            "From 28 June 2024 the limit went up from £30,000 to £50,000.",
            "4.3 The debt limit",
        ),
        (
            "handbook-2025-ch04-debt-relief-orders.pdf",
            "Hire purchase and conditional sale agreements are not secured debts in this sense.",
            "4.4 Qualifying and excluded debts",
        ),
        (
            "handbook-2025-ch07-breathing-space.pdf",
            "Once notified, a creditor must stop all action to collect a covered debt",
            "7.5 What creditors must and must not do",
        ),
        (  # no outline: the heading comes from the type
            "handbook-2025-ch06-iva.pdf",
            "75 per cent",
            "6.2 Approval by the creditors",
        ),
        (  # two columns, no outline, ligatures lost as U+FFFD in the PDF
            "money-advice-handbook-2021-edition.pdf",
            "official receiver",
            "INTRODUCTION",
        ),
    ],
)
def test_the_key_passages_sit_under_their_headings(
    handbook_library: tuple[ManualLibrary, list[ManualChunk]],
    document: str,
    quote: str,
    heading: str,
) -> None:
    _, chunks = handbook_library
    holding = [
        c
        for c in chunks
        if recall.holds(c, {"document": document, "quote": quote}) and c.document == document
    ]
    assert holding, f"no chunk of {document} holds {quote!r}"
    assert any(any(h.startswith(heading) for h in c.heading_path[1:]) for c in holding), [
        c.heading_path for c in holding
    ]


async def test_unreadable_ligatures_are_rebuilt_or_marked(handbook: BuildResult) -> None:
    """The 2021 edition's fonts map every f-ligature to U+FFFD: each such word is rebuilt
    from known words or visibly marked, never left unreadable or guessed."""
    path = handbook.out_dir / "money-advice-handbook-2021-edition.pdf"
    layout = await read_pdf_layout(path.read_bytes(), OcrReader())
    raw = sum(
        len(re.findall(r"\w*\ufffd[\w\ufffd]*", line.text))
        for page in layout.layouts.values()
        for line in page.lines
    )
    blocks, report = printed_blocks(layout)
    text = "\n".join(b.text for b in blocks)
    assert raw > 50  # the plant is there
    assert UNREADABLE not in text
    assert report.ligatures_repaired + len(report.ligatures_marked) >= raw - 5
    assert report.ligatures_repaired >= 0.9 * raw, (report.ligatures_repaired, raw)
    for word in ("official", "first", "offer"):
        assert re.search(rf"\b{word}", text, re.I), word


async def test_recall_at_5_against_the_answer_key(
    handbook_library: tuple[ManualLibrary, list[ManualChunk]],
) -> None:
    library, _ = handbook_library
    questions = recall.load_questions(QUESTIONS)
    result = await recall.evaluate(
        ManualsAnswerer.for_library(library, ManualLimits(library.candidates)), questions, k=5
    )
    assert result["answerable"] >= 60
    assert result["recall"] >= RECALL_FLOOR, recall.markdown(result)
    assert result["unanswerable_not_covered"] >= UNANSWERABLE_KEPT_OUT, recall.markdown(result)
    assert result["answerable_covered"] >= result["answerable"] - 2, recall.markdown(result)


def test_the_key_matcher_can_fail() -> None:
    """holds() is the measuring stick: it must reject another document and other text."""
    chunk = ManualChunk(
        chunk_id="x",
        document="a.pdf",
        document_id="a",
        title="A",
        heading_path=("A",),
        text="The o[?]cial receiver makes the order.",
        page=1,
        index=0,
        char_start=0,
        char_end=10,
    )
    assert recall.holds(chunk, {"document": "a.pdf", "quote": "o\ufffdcial receiver makes"})
    assert not recall.holds(chunk, {"document": "b.pdf", "quote": "official receiver makes"})
    assert not recall.holds(chunk, {"document": "a.pdf", "quote": "the court makes the order"})
