"""Shared pieces for the notes tests: the sample notes and settings for each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OllamaDouble

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    """The text of the sample whose file name starts with ``name`` (e.g. "01")."""
    (path,) = SAMPLES.glob(f"{name}*.txt")
    return path.read_text(encoding="utf-8")


def all_samples() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))}


@pytest.fixture
def scripted_model(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> OllamaDouble:
    """Settings for a notes service whose model is the Ollama test server: script its
    reply with ``control(reply=...)``. The most lenient reading-age target, so no
    rewording call follows the scripted reply."""
    for key, value in {
        "LLM_PROVIDER": "ollama",
        "OLLAMA_URL": ollama.url,
        "LLM_RETRY_ATTEMPTS": "1",
        "NOTES_READING_AGE_TARGET": "25",
    }.items():
        monkeypatch.setenv(key, value)
    return ollama
