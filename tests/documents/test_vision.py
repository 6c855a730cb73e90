"""Vision OCR through the provider layer, against faithful test servers for each backend:
Ollama (raw base64 in ``images``) and an OpenAI-compatible server (``image_url`` data URLs,
streamed). A vision failure falls back to Tesseract and says so."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable

import httpx
from PIL import Image

from rma.config import Settings
from rma.documents.api import create
from rma.documents.pipeline import DocumentProcessor
from rma.documents.sample_letters import SampleLetter, render_image, render_pdf
from rma.llm.factory import build_router
from rma.ocr import OcrReader
from rma.ocr.images import VISION_MAX_SIDE
from rma.ocr.pdf import PAGE_CONCURRENCY
from tests.conftest import OllamaDouble
from tests.documents.conftest import VISION_MODEL, OpenAIVisionDouble
from tests.support.serve import serving


def vllm_vision(settings: Callable[..., Settings], fake: OpenAIVisionDouble) -> Settings:
    return settings(OCR_PROVIDER="vllm", VLLM_URL=fake.url, VLLM_VISION_MODEL=VISION_MODEL)


async def test_ollama_vision_gets_raw_base64_png(
    ollama_settings: Callable[..., Settings], ollama: OllamaDouble, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]
    ollama.control(reply=letter.text)
    router = build_router(ollama_settings(OCR_PROVIDER="ollama"))
    try:
        page = await OcrReader("ollama", router).read(render_image(letter, "clean"), 1)
    finally:
        await router.aclose()
    assert page.method == "vision" and page.text == letter.text and not page.warnings
    assert page.provenance is not None and page.provenance["model"] == "llava:7b"
    sent = ollama.chats()[-1]["body"]
    assert sent["model"] == "llava:7b"
    (raw,) = sent["messages"][-1]["images"]
    image = Image.open(io.BytesIO(base64.b64decode(raw, validate=True)))
    assert image.format == "PNG" and max(image.size) <= VISION_MAX_SIDE


async def test_openai_vision_gets_image_url_data_url_streamed(
    ollama_settings: Callable[..., Settings],
    openai_vision: OpenAIVisionDouble,
    letters: dict[str, SampleLetter],
) -> None:
    letter = letters["default-notice"]
    openai_vision.control(reply=letter.text)
    router = build_router(vllm_vision(ollama_settings, openai_vision))
    try:
        page = await OcrReader("vllm", router).read(render_image(letter, "clean"), 3)
    finally:
        await router.aclose()
    assert (page.number, page.method, page.text) == (3, "vision", letter.text)
    assert page.provenance is not None
    assert page.provenance["provider"] == "vllm" and page.provenance["model"] == VISION_MODEL
    assert page.provenance["tokens_in"] > 256  # the usage chunk was read
    (request,) = openai_vision.requests()
    body = request["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    text_part, image_part = body["messages"][-1]["content"]
    assert text_part["type"] == "text" and "Transcribe" in text_part["text"]
    assert image_part["type"] == "image_url"
    url = image_part["image_url"]["url"]
    assert re.match(r"^data:image/png;base64,[A-Za-z0-9+/=]+$", url)


async def test_openai_vision_failure_falls_back_to_tesseract(
    ollama_settings: Callable[..., Settings],
    openai_vision: OpenAIVisionDouble,
    letters: dict[str, SampleLetter],
) -> None:
    letter = letters["creditor-letter"]
    openai_vision.control(fail_next=10, status=500, error="CUDA out of memory")
    router = build_router(vllm_vision(ollama_settings, openai_vision))
    try:
        page = await OcrReader("vllm", router).read(render_image(letter, "clean"), 1)
    finally:
        await router.aclose()
    assert page.method == "tesseract"
    assert page.warnings == [
        "page 1: vision OCR failed (AllBackendsFailed); read with Tesseract instead"
    ]
    assert "Outstanding balance: £1,408.16" in page.text
    assert len(openai_vision.requests()) >= 1


async def test_a_rejected_image_falls_back_too(
    ollama_settings: Callable[..., Settings], openai_vision: OpenAIVisionDouble, creditor_png: bytes
) -> None:
    openai_vision.control(fail_next=1, status=400, error="image too large for the model")
    router = build_router(vllm_vision(ollama_settings, openai_vision))
    try:
        result = await DocumentProcessor(router, ocr_provider="vllm").process(creditor_png, "a.png")
    finally:
        await router.aclose()
    assert result.pages[0].method == "tesseract"
    assert any("BackendRejected" in w and "Tesseract" in w for w in result.warnings)


def test_service_reads_pages_with_the_vision_model(
    ollama_settings: Callable[..., Settings], ollama: OllamaDouble, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["council-tax-reminder"]
    ollama.control(reply=letter.text)
    scanned = render_pdf([(letter, False)])
    with serving(create(ollama_settings(OCR_PROVIDER="ollama"))) as base:
        response = httpx.post(
            f"{base}/process", files={"file": ("bill.pdf", scanned, "application/pdf")}, timeout=60
        )
    assert response.status_code == 200
    body = response.json()
    assert body["pages"][0]["method"] == "vision"
    assert body["provenance"]["ocr"]["provider"] == "ollama"
    assert body["provenance"]["ocr"]["pages"][0]["model"]["model"] == "llava:7b"
    # The chat calls got the same scripted reply (not JSON): the model's part is lost,
    # said so, and the code-checked fields still come back.
    assert any("could not read the fields" in w for w in body["warnings"])
    # (a council tax reminder's own field for what is due now is its amount: the arrears)
    assert body["fields"]["amount"]["value"] == letter.fields["arrears"]
    assert body["doc_type"] == "council_tax_bill"


async def test_pages_are_read_concurrently_up_to_the_bound(
    ollama_settings: Callable[..., Settings], ollama: OllamaDouble, letters: dict[str, SampleLetter]
) -> None:
    ollama.control(reply="page text " * 5, token_delay=0.2)
    six_scans = render_pdf([(letters["creditor-letter"], False)] * 6)
    router = build_router(ollama_settings(OCR_PROVIDER="ollama", OLLAMA_MAX_IN_FLIGHT=16))
    try:
        _, pages = await DocumentProcessor(router, ocr_provider="ollama").read_pages(six_scans)
    finally:
        await router.aclose()
    assert [p.method for p in pages] == ["vision"] * 6
    assert 1 < ollama.stats()["max_in_flight"] <= PAGE_CONCURRENCY
