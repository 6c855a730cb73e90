"""Settings: the deployment's variable names, strict provider names, masked secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from rma.config import load_settings
from rma.errors import ConfigError


def test_defaults_run_on_the_embedded_model(clean_env: Path) -> None:
    s = load_settings()
    assert s.llm_provider == "local"
    assert s.embed_provider == "local"
    assert s.chat_chain == ["local"]


def test_unknown_provider_is_an_error_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "vlm")
    with pytest.raises(ConfigError, match="LLM_PROVIDER"):
        load_settings()


def test_unknown_fallback_provider_is_an_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_PROVIDER", "ollama,openai")
    with pytest.raises(ConfigError, match="FALLBACK_PROVIDER"):
        load_settings()


def test_chain_and_replicas_from_comma_separated_variables(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "vllm")
    monkeypatch.setenv("FALLBACK_PROVIDER", "ollama, local")
    monkeypatch.setenv("VLLM_URL", "http://gpu-a:8000/v1/, http://gpu-b:8000/v1")
    s = load_settings()
    assert s.chat_chain == ["vllm", "ollama", "local"]
    assert s.vllm_url == ["http://gpu-a:8000/v1", "http://gpu-b:8000/v1"]


def test_rollback_is_one_variable(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "vllm")
    monkeypatch.setenv("FALLBACK_PROVIDER", "ollama")
    assert load_settings().chat_chain == ["vllm", "ollama"]
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    assert load_settings().chat_chain == ["ollama"]


def test_a_fallback_named_twice_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_PROVIDER", "ollama,ollama")
    with pytest.raises(ConfigError, match="twice"):
        load_settings()


def test_secrets_are_masked(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("RMA_API_KEYS", "key-one-" + "1" * 32 + ",key-two-" + "2" * 32)
    shown = load_settings().masked()
    assert "sk-very-secret" not in str(shown)
    assert "key-one" not in str(shown)
    assert shown["VLLM_API_KEY"] == "****"
    assert shown["RMA_API_KEYS"] == "****,****"


def test_wildcard_cors_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMA_CORS_ORIGINS", "*")
    with pytest.raises(ConfigError, match="RMA_CORS_ORIGINS"):
        load_settings()


def test_config_file_is_read_and_environment_wins(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = clean_env / "rma.toml"
    config.write_text('LLM_PROVIDER = "ollama"\nOLLAMA_MODEL = "qwen2.5:7b"\n')
    monkeypatch.setenv("RMA_CONFIG", str(config))
    assert load_settings().ollama_model == "qwen2.5:7b"
    assert load_settings().llm_provider == "ollama"
    monkeypatch.setenv("OLLAMA_MODEL", "llama3.1:8b")
    assert load_settings().ollama_model == "llama3.1:8b"


def test_missing_config_file_is_an_error(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMA_CONFIG", str(clean_env / "absent.toml"))
    with pytest.raises(ConfigError, match="RMA_CONFIG"):
        load_settings()


def test_vision_on_vllm_needs_a_model_name(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rma.llm.factory import build_router

    monkeypatch.setenv("OCR_PROVIDER", "vllm")
    with pytest.raises(ConfigError, match="VLLM_VISION_MODEL"):
        build_router(load_settings())
