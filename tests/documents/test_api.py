"""``POST /process`` and ``rma process`` end to end: the response shape, provenance,
a chat backend that is down, and the real vLLM server behind type and fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rma.cli import main
from rma.config import Settings
from rma.documents.api import create
from rma.documents.sample_letters import SampleLetter
from tests.conftest import VLLM, OllamaDouble
from tests.support.serve import serving
from tests.support.servers import free_port

PAGE_KEYS = {"number", "text", "method", "confidence", "size"}
FIELD_KEYS = {
    "value",
    "page",
    "pages",
    "quote",
    "confidence",
    "source",
    "verified",
    "note",
    "boxes",
}


def process(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/process", files={"file": (name, data)}, timeout=120)


def test_process_response_shape(
    docs_url: str, mixed_pdf: bytes, letters: dict[str, SampleLetter]
) -> None:
    response = process(docs_url, "bundle.pdf", mixed_pdf)
    assert response.status_code == 200
    body = response.json()
    assert {
        "pages",
        "markdown",
        "doc_type",
        "fields",
        "warnings",
        "provenance",
        "processing_ms",
    } <= set(body)
    assert all(set(p) == PAGE_KEYS for p in body["pages"])
    assert all(set(f) == FIELD_KEYS for f in body["fields"].values())
    assert body["processing_ms"] > 0
    assert body["provenance"]["ocr"]["provider"] == "tesseract"
    # Both model calls went to the chat backend (the Ollama test server) and say so.
    for call in ("classification", "fields"):
        assert body["provenance"][call]["provider"] == "ollama"
        assert body["provenance"][call]["model"] == "llama3.1:8b"
    # The test server's schema-shaped answer is nonsense; code-checked values stand.
    expected = letters["default-notice"].fields
    assert body["fields"]["account_reference"]["value"] == expected["account_reference"]
    assert body["fields"]["account_reference"]["verified"] is True
    assert body["doc_type"] == "default_notice"
    # Two documents in one file: each with its page range and type.
    assert [(d["first_page"], d["last_page"], d["doc_type"]) for d in body["documents"]] == [
        (1, 1, "default_notice"),
        (2, 2, "creditor_letter"),
    ]


def test_a_page_is_drawn_in_the_shape_its_fields_boxes_fit(
    docs_url: str, mixed_pdf: bytes, letters: dict[str, SampleLetter]
) -> None:
    import io

    from PIL import Image

    from tests.app.conftest import png

    read = process(docs_url, "bundle.pdf", mixed_pdf).json()
    for number in (1, 2):
        response = httpx.post(
            f"{docs_url}/pages/{number}", files={"file": ("bundle.pdf", mixed_pdf)}, timeout=120
        )
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"] == "no-store"
        image = Image.open(io.BytesIO(response.content))
        width, height = read["pages"][number - 1]["size"]
        assert abs(image.width / image.height - width / height) < 0.01
    missing = httpx.post(f"{docs_url}/pages/3", files={"file": ("bundle.pdf", mixed_pdf)})
    assert missing.status_code == 404 and "2 page(s), not 3" in missing.text
    # a photo: its frame upright, the shape of the page its boxes are on
    photo = png(letters["creditor-letter"])
    drawn = httpx.post(f"{docs_url}/pages/1", files={"file": ("l.png", photo)}, timeout=120)
    original = Image.open(io.BytesIO(photo))
    image = Image.open(io.BytesIO(drawn.content))
    assert abs(image.width / image.height - original.width / original.height) < 0.01
    refused = httpx.post(f"{docs_url}/pages/1", files={"file": ("l.pdf", b"not a document")})
    assert refused.status_code == 415
    assert httpx.post(f"{docs_url}/pages/0", files={"file": ("l.png", photo)}).status_code == 422


def test_with_progress_each_page_is_told_as_it_is_read_then_the_result(
    docs_url: str, mixed_pdf: bytes
) -> None:
    plain = process(docs_url, "bundle.pdf", mixed_pdf).json()
    with httpx.stream(
        "POST", f"{docs_url}/process", params={"progress": "true"},
        files={"file": ("bundle.pdf", mixed_pdf)}, timeout=300,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line.strip()]
    pages = [e for e in events if e["event"] == "page"]
    assert sorted(e["number"] for e in pages) == [1, 2]
    assert {(e["pages"], e["readable"]) for e in pages} == {(2, True)}
    assert {e["number"]: e["method"] for e in pages} == {1: "text-layer", 2: "tesseract"}
    assert all("text" not in e for e in pages)  # progress carries no page text
    assert [e["event"] for e in events][-1] == "result" and len(events) == 3
    result = events[-1]["result"]
    assert result["fields"] == plain["fields"] and result["doc_type"] == plain["doc_type"]
    # refused before any page is read: refused as the plain call refuses it
    refused = httpx.post(f"{docs_url}/process", params={"progress": "true"},
                         files={"file": ("a.pdf", b"not a document")})  # fmt: skip
    assert refused.status_code == 415 and "upload a" in refused.text


def test_chat_backend_down_still_returns_pages_and_code_fields(
    ollama_settings: Callable[..., Settings], creditor_png: bytes, letters: dict[str, SampleLetter]
) -> None:
    dead = ollama_settings(OLLAMA_URL=f"http://127.0.0.1:{free_port()}")
    with serving(create(dead)) as base:
        response = process(base, "letter.png", creditor_png)
    assert response.status_code == 200
    body = response.json()
    assert body["provenance"]["classification"] is None
    assert any("could not classify" in w for w in body["warnings"])
    assert any("could not read the fields" in w for w in body["warnings"])
    assert {k: v["value"] for k, v in body["fields"].items()} == letters["creditor-letter"].fields


def test_cli_process_json(
    ollama_settings: Callable[..., Settings],
    ollama: OllamaDouble,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    creditor_png: bytes,
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    letter = tmp_path / "letter.png"
    letter.write_bytes(creditor_png)
    result = CliRunner().invoke(main, ["process", str(letter), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["fields"]["balance"]["value"] == "1408.16"
    text = CliRunner().invoke(main, ["process", str(letter)])
    assert text.exit_code == 0
    assert "document type: creditor_letter" in text.output
    assert "balance" in text.output and "1408.16" in text.output


def test_cli_process_bad_file_exits_3(clean_env: Path, tmp_path: Path) -> None:
    fake = tmp_path / "letter.pdf"
    fake.write_text("not a pdf")
    result = CliRunner().invoke(main, ["process", str(fake)])
    assert result.exit_code == 3
    assert "plain text" in result.output


@pytest.mark.vllm
def test_real_model_behind_type_and_fields(
    ollama_settings: Callable[..., Settings], vllm: VLLM, letters: dict[str, SampleLetter]
) -> None:
    """The tiny model may be wrong; the response must still be right where code checks."""
    from rma.documents.sample_letters import render_pdf

    letter = letters["debt-collection-letter"]
    settings = ollama_settings(LLM_PROVIDER="vllm", VLLM_URL=vllm.url, VLLM_MODEL=vllm.model)
    with serving(create(settings)) as base:
        response = process(base, "letter.pdf", render_pdf([(letter, True)]))
    assert response.status_code == 200
    body = response.json()
    assert body["provenance"]["fields"]["provider"] == "vllm"
    assert body["provenance"]["fields"]["tokens_out"] > 0
    for name, expected in letter.fields.items():
        assert body["fields"][name]["value"] == expected, name
    # Whatever the model said, the type is one the wording supports or is flagged.
    classification = body["classification"]
    if classification["method"] in ("agreed", "wording"):
        assert body["doc_type"] == "debt_collection_letter"
    else:
        assert any("document type" in w for w in body["warnings"])
    # Every unverified model value is named in the warnings.
    for name, f in body["fields"].items():
        if f["source"] == "model" and not f["verified"]:
            assert any(w.startswith(f"{name}:") for w in body["warnings"])


def test_cli_writes_the_sample_letters(clean_env: Path, tmp_path: Path) -> None:
    from rma.documents.sample_letters import CONDITIONS, sample_letters

    out = tmp_path / "samples"
    result = CliRunner().invoke(main, ["documents", "samples", "--out", str(out)])
    assert result.exit_code == 0, result.output
    letters = sample_letters(7)
    assert len(list(out.glob("*.png"))) == len(letters) * len(CONDITIONS)
    assert len(list(out.glob("*.pdf"))) == len(letters)
    assert (out / f"{letters[0].name}.pdf").read_bytes().startswith(b"%PDF")


def test_cli_evaluate_refuses_bad_seeds(clean_env: Path) -> None:
    result = CliRunner().invoke(main, ["documents", "ocr-samples", "--seeds", "seven"])
    assert result.exit_code == 2 and "comma-separated whole numbers" in result.output
