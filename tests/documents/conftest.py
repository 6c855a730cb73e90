"""Fixtures for the document processor: sample letters as files, the OpenAI-style vision
test server, and apps wired to the test servers."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from rma.config import Settings, load_settings
from rma.documents.api import create
from rma.documents.sample_letters import SampleLetter, render_image, render_pdf, sample_letters
from tests.conftest import OPENAI_DOUBLE_MODELS, OllamaDouble, OpenAIDouble
from tests.support.serve import serving

VISION_MODEL = "qwen2-vl-2b-instruct"


OpenAIVisionDouble = OpenAIDouble


@pytest.fixture(scope="session")
def openai_vision_server(openai_server: OpenAIDouble) -> OpenAIDouble:
    """The OpenAI-compatible test server (tests/conftest.py), which serves ``VISION_MODEL``."""
    assert VISION_MODEL in OPENAI_DOUBLE_MODELS
    return openai_server


@pytest.fixture
def openai_vision(openai_vision_server: OpenAIVisionDouble) -> OpenAIVisionDouble:
    openai_vision_server.reset()
    return openai_vision_server


@pytest.fixture(scope="session")
def letters() -> dict[str, SampleLetter]:
    return {letter.name: letter for letter in sample_letters()}


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def creditor_png(letters: dict[str, SampleLetter]) -> bytes:
    return png_bytes(render_image(letters["creditor-letter"], "clean"))


@pytest.fixture(scope="session")
def mixed_pdf(letters: dict[str, SampleLetter]) -> bytes:
    """Page 1 with a text layer (default notice), page 2 a scan (creditor letter)."""
    return render_pdf([(letters["default-notice"], True), (letters["creditor-letter"], False)])


@pytest.fixture
def ollama_settings(clean_env: object, ollama: OllamaDouble) -> Callable[..., Settings]:
    """Settings with chat on the Ollama test server; keyword overrides on top."""

    def make(**overrides: Any) -> Settings:
        values = {"LLM_PROVIDER": "ollama", "OLLAMA_URL": ollama.url, "EMBED_PROVIDER": "ollama"}
        return load_settings(**{**values, **overrides})

    return make


@pytest.fixture
def docs_url(ollama_settings: Callable[..., Settings]) -> Iterator[str]:
    """Base URL of the doc-processor over real HTTP (Tesseract OCR, chat on Ollama's double)."""
    with serving(create(ollama_settings())) as base:
        yield base
