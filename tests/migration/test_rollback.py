"""Rollback from vLLM to Ollama on a running RAG service (``rma serve rag``, a real process):
by restart with ``LLM_PROVIDER=ollama``, and by SIGHUP after the ``RMA_CONFIG`` file
changes. Both are timed; the seconds are printed (``pytest -s``) for docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from rma.llm.migration import PAIRS_FILE
from tests.conftest import LOGS, ROOT, VLLM, OllamaDouble
from tests.support.servers import ServerProcess, free_port

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

MANUAL = ROOT / "manuals" / "priority-debts.md"
QUESTION = "Which debts are priority debts?"


def rag_service(env: dict[str, str], log_name: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        argv=[sys.executable, "-m", "rma.cli", "serve", "rag", "--port", str(port)],
        port=port,
        health_path="/health",
        log=LOGS / log_name,
        env={"EMBED_PROVIDER": "local", "RMA_LOG_LEVEL": "INFO", **env},
        start_timeout=120,
    )


def ingest(base: str) -> None:
    files = {"file": (MANUAL.name, MANUAL.read_bytes(), "text/markdown")}
    httpx.post(f"{base}/ingest", files=files, timeout=120).raise_for_status()


def answered_by(base: str) -> str:
    """Which chat provider answered a question (the answer's provenance)."""
    response = httpx.post(
        f"{base}/query", json={"question": QUESTION, "max_tokens": 16}, timeout=60
    )
    response.raise_for_status()
    provenance = response.json()["provenance"]
    assert provenance is not None, "the sample manual should cover the question"
    return str(provenance["provider"])


def wait_for(check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``check()`` is true (polling), or fail after ``timeout``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "the change did not take effect in time"
        time.sleep(0.1)
    return time.monotonic() - started


def test_rollback_by_restart(clean_env: Path, vllm: VLLM, ollama: OllamaDouble) -> None:
    data = {"RMA_DATA_DIR": str(clean_env / "data")}
    on_vllm = {"LLM_PROVIDER": "vllm", "VLLM_URL": vllm.url, "VLLM_MODEL": vllm.model}
    service = rag_service({**data, **on_vllm}, "rollback-restart-vllm.log").start()
    try:
        ingest(service.base)
        assert answered_by(service.base) == "vllm"
    finally:
        started = time.monotonic()
        service.stop()
    on_ollama = {"LLM_PROVIDER": "ollama", "OLLAMA_URL": ollama.url}
    service = rag_service({**data, **on_ollama}, "rollback-restart-ollama.log").start()
    try:
        assert answered_by(service.base) == "ollama"  # the manuals stayed; the model changed
        seconds = time.monotonic() - started
    finally:
        service.stop()
    print(f"\nrollback by restart: {seconds:.1f} s from stop to the first answer from Ollama")
    assert seconds < 120


def test_shadow_then_rollback_by_reload_signal(
    clean_env: Path, vllm: VLLM, ollama: OllamaDouble
) -> None:
    config = clean_env / "rma.toml"
    common = f'VLLM_URL = "{vllm.url}"\nVLLM_MODEL = "{vllm.model}"\nOLLAMA_URL = "{ollama.url}"\n'
    config.write_text(f'LLM_PROVIDER = "vllm"\n{common}')
    env = {"RMA_CONFIG": str(config), "RMA_DATA_DIR": str(clean_env / "data")}
    service = rag_service(env, "rollback-reload.log")
    service.start()
    assert service.proc is not None
    pairs = clean_env / "data" / PAIRS_FILE
    try:
        ingest(service.base)
        assert answered_by(service.base) == "vllm"

        # Shadow on, by config and signal: users still get vLLM; pairs are recorded.
        config.write_text(
            f'LLM_PROVIDER = "vllm"\nSHADOW_PROVIDER = "ollama"\nSHADOW_PERCENT = 100\n{common}'
        )
        os.kill(service.proc.pid, signal.SIGHUP)
        wait_for(lambda: answered_by(service.base) == "vllm" and pairs.exists(), 15)
        record = json.loads(pairs.read_text().splitlines()[0])
        assert (record["primary"]["provider"], record["candidate"]["provider"]) == (
            "vllm",
            "ollama",
        )
        assert "priority debts" not in pairs.read_text().lower()

        # Roll back: the file says Ollama, one signal, and the next answers come from it.
        config.write_text(f'LLM_PROVIDER = "ollama"\n{common}')
        os.kill(service.proc.pid, signal.SIGHUP)
        seconds = wait_for(lambda: answered_by(service.base) == "ollama", 15)
        print(f"\nrollback by SIGHUP: {seconds:.2f} s from the signal to an answer from Ollama")

        # A bad file is refused, loudly; the service keeps its last good settings.
        config.write_text(f'LLM_PROVIDER = "nonsense"\n{common}')
        os.kill(service.proc.pid, signal.SIGHUP)
        log = LOGS / "rollback-reload.log"
        wait_for(lambda: "reload refused" in log.read_text(), 15)
        assert answered_by(service.base) == "ollama"
    finally:
        service.stop()
