"""A citation opens its manual's page: the original kept by version, each page of a PDF
manual rendered, and the cited passage's boxes on the page, over real HTTP.

The boxes are checked against an independent reading of the page: pypdf's text
operations and where each line starts (not pdfium's words, which the service uses), on a
two-column printout of the handbook corpus with ligatures and hyphenated line ends.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from corpora.handbook.build import build
from PIL import Image
from pypdf import PdfReader

from rma.rag.api import create
from tests.conftest import ROOT, clean_environment
from tests.support.serve import serving

BANKRUPTCY = ROOT / "manuals" / "bankruptcy.pdf"
MARKDOWN = ROOT / "manuals" / "debt-relief-orders.md"
HANDBOOK = "handbook-2025-ch05-bankruptcy.pdf"
CORPUS_DIR = ROOT / "build" / "corpora" / "handbook"


@pytest.fixture(scope="module")
def rag(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The RAG service over HTTP with no manuals; its URL and data directory."""
    folder = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as patch:
        clean_environment(patch, folder)
        with serving(create()) as url:
            yield url, folder / "data"


def ingest(url: str, name: str, data: bytes) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{url}/ingest", files={"file": (name, data)}, timeout=600)
    assert response.status_code == 200, response.text
    return dict(response.json())


def originals(data_dir: Path, document_id: str) -> list[Path]:
    folder = data_dir / "rag" / "originals" / document_id
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_original_is_kept_replaced_with_its_version_and_gone_with_the_manual(
    rag: tuple[str, Path],
) -> None:
    url, data_dir = rag
    first = BANKRUPTCY.read_bytes()
    added = ingest(url, "kept.pdf", first)
    [kept] = originals(data_dir, added["document_id"])
    assert kept.read_bytes() == first and kept.suffix == ".pdf"

    second = (ROOT / "manuals" / "breathing-space.pdf").read_bytes()
    replaced = ingest(url, "kept.pdf", second)
    assert replaced["outcome"] == "replaced"
    [kept] = originals(data_dir, added["document_id"])
    assert kept.read_bytes() == second  # the old version's file is gone, not kept beside

    # a removed original comes back when the same file is ingested again
    kept.unlink()
    assert ingest(url, "kept.pdf", second)["outcome"] == "unchanged"
    assert [p.read_bytes() for p in originals(data_dir, added["document_id"])] == [second]

    assert httpx.delete(f"{url}/documents/{added['document_id']}").status_code == 200
    assert originals(data_dir, added["document_id"]) == []
    assert httpx.get(f"{url}/documents/{added['document_id']}/pages/1").status_code == 404


def test_each_page_of_a_pdf_manual_is_a_png_and_other_pages_are_404(
    rag: tuple[str, Path],
) -> None:
    url, _ = rag
    manual = ingest(url, "bankruptcy.pdf", BANKRUPTCY.read_bytes())
    pages = PdfReader(BANKRUPTCY).pages
    for number in (1, len(pages)):
        response = httpx.get(f"{url}/documents/{manual['document_id']}/pages/{number}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        box = pages[number - 1].mediabox
        # the page's shape, at a screen resolution (not a thumbnail, not a print scan)
        assert abs(image.width / image.height - float(box.width) / float(box.height)) < 0.01
        assert 700 < image.width < 1400
    for number in (0, len(pages) + 1, -1):
        found = httpx.get(f"{url}/documents/{manual['document_id']}/pages/{number}")
        assert found.status_code == 404, number
    assert httpx.get(f"{url}/documents/no-such-manual/pages/1").status_code == 404
    markdown = ingest(url, MARKDOWN.name, MARKDOWN.read_bytes())
    assert httpx.get(f"{url}/documents/{markdown['document_id']}/pages/1").status_code == 404


def test_a_passage_of_a_markdown_manual_comes_with_its_neighbours_and_no_page(
    rag: tuple[str, Path],
) -> None:
    url, _ = rag
    manual = ingest(url, MARKDOWN.name, MARKDOWN.read_bytes())
    chunk_ids = [f"{manual['document_id']}:{_version(url, manual)}:{i}" for i in (0, 1, 2)]
    found = httpx.get(f"{url}/passages/{chunk_ids[1]}").json()
    assert found["kind"] == "markdown" and found["page_image"] is None and found["boxes"] == []
    first = httpx.get(f"{url}/passages/{chunk_ids[0]}").json()
    third = httpx.get(f"{url}/passages/{chunk_ids[2]}").json()
    assert found["before"] == [first["text"]] and found["after"][0] == third["text"]
    assert httpx.get(f"{url}/passages/{manual['document_id']}:0000:1").status_code == 404


def _version(url: str, manual: dict) -> str:  # type: ignore[type-arg]
    documents = httpx.get(f"{url}/documents").json()["documents"]
    record = next(d for d in documents if d["id"] == manual["document_id"])
    return str(record["sha256"][:16])


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in (re.sub(r"[\W_]+", "", w) for w in text.split()) if w]


def _lines_of_page(pdf: Path, index: int) -> tuple[list[tuple[float, float, str]], float]:
    """pypdf's reading of a page: each text operation's text and where it starts (x, and
    the baseline from the top), in points."""
    page = PdfReader(pdf).pages[index]
    height = float(page.mediabox.height)
    found: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x, height - y, text))

    page.extract_text(visitor_text=visit)
    return found, height


def test_the_boxes_cover_the_cited_passage_on_its_page_and_nothing_else(
    rag: tuple[str, Path],
) -> None:
    url, _ = rag
    pdf = build(CORPUS_DIR).pdfs[HANDBOOK]
    manual = ingest(url, HANDBOOK, pdf.read_bytes())
    version = _version(url, manual)
    checked = 0
    for index in range(manual["chunks"]):
        found = httpx.get(f"{url}/passages/{manual['document_id']}:{version}:{index}").json()
        assert found["located"], (index, found["found_words"], found["passage_words"])
        assert found["found_words"] >= 0.9 * found["passage_words"]
        page_image = httpx.get(url + found["page_image"])
        assert page_image.status_code == 200
        lines, _ = _lines_of_page(pdf, found["page"] - 1)
        passage = "".join(_words(found["text"]))
        for x, baseline, text in lines:
            words = _words(text)
            if re.search(r"[-\u2010\u00ad]\s*$", text):
                words = words[:-1]  # the broken word's first half
            if len(words) < 3:
                continue
            # a line long enough not to recur elsewhere on the page ("from the date of")
            inside = len("".join(words)) >= 30 and "".join(words) in passage
            outside = not any("".join(words[i : i + 3]) in passage for i in range(len(words) - 2))
            boxed = any(
                left - 2 <= x <= right and top - 2 <= baseline <= bottom + 2
                for left, top, right, bottom in found["boxes"]
            )
            if inside:
                assert boxed, (index, text)
                checked += 1
            elif outside:
                assert not boxed, (index, text)
    assert checked > 100  # most lines of the chapter were checked, not a handful
