"""rma config and rma doctor."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.cli import main
from tests.conftest import OllamaDouble
from tests.support.servers import free_port


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_config_masks_secrets(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "sk-secret-value")
    code, out = run("config")
    assert code == 0
    assert "VLLM_API_KEY" in out and "****" in out and "sk-secret-value" not in out


def test_config_prints_unset_values_one_way(clean_env: Path) -> None:
    code, out = run("config")
    assert code == 0
    values = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()}
    assert values["VLLM_API_KEY"] == values["CHROMADB_HOST"] == "(not set)"
    assert not [k for k, v in values.items() if v.strip() in {"None", ""}]


def test_config_with_a_bad_provider_exits_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "gpt")
    code, out = run("config")
    assert code == 2 and "LLM_PROVIDER" in out


def test_doctor_passes_on_a_ready_backend(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    code, out = run("doctor")
    assert code == 0, out
    assert "[ok  ] chat   ollama" in out and "status: ready" in out


def test_doctor_fails_when_the_chat_backend_is_down_even_with_a_fallback(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "vllm")
    monkeypatch.setenv("VLLM_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("FALLBACK_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    code, out = run("doctor")
    assert code == 1
    assert "[FAIL] chat   vllm" in out and "unreachable" in out
    assert "status: degraded" in out


def test_doctor_names_a_missing_model(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, ollama: OllamaDouble
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    monkeypatch.setenv("OLLAMA_MODEL", "mistral:7b")
    code, out = run("doctor")
    assert code == 1 and "'mistral:7b' not served" in out
