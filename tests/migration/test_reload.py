"""Rollback by SIGHUP without the real vLLM: the RAG service (a real process) answers from
the vLLM test server, the ``RMA_CONFIG`` file is changed to Ollama and one signal later the
answers come from Ollama; a bad file is refused and the last good settings stay. The same
path as tests/migration/test_rollback.py, which needs the real vLLM, so that it runs on
every machine."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conftest import LOGS, VLLM_MODEL_NAME, OllamaDouble, OpenAIDouble
from tests.migration.test_rollback import answered_by, ingest, rag_service, wait_for


def test_reload_by_signal_switches_to_ollama_and_refuses_a_bad_file(
    clean_env: Path, openai_double: OpenAIDouble, ollama: OllamaDouble
) -> None:
    config = clean_env / "rma.toml"
    common = (
        f'VLLM_URL = "{openai_double.url}"\nVLLM_MODEL = "{VLLM_MODEL_NAME}"\n'
        f'OLLAMA_URL = "{ollama.url}"\n'
    )
    config.write_text(f'LLM_PROVIDER = "vllm"\n{common}')
    env = {"RMA_CONFIG": str(config), "RMA_DATA_DIR": str(clean_env / "data")}
    log = LOGS / "reload-test-server.log"
    log.unlink(missing_ok=True)  # the check below reads it: no line from an earlier run
    service = rag_service(env, log.name).start()
    assert service.proc is not None
    try:
        ingest(service.base)
        assert answered_by(service.base) == "vllm"
        config.write_text(f'LLM_PROVIDER = "ollama"\n{common}')
        os.kill(service.proc.pid, signal.SIGHUP)
        wait_for(lambda: answered_by(service.base) == "ollama", 15)
        asked = len(openai_double.requests())
        config.write_text(f'LLM_PROVIDER = "nonsense"\n{common}')
        os.kill(service.proc.pid, signal.SIGHUP)
        wait_for(lambda: "reload refused" in log.read_text(), 15)
        assert answered_by(service.base) == "ollama"
        assert len(openai_double.requests()) == asked  # vLLM is no longer asked
    finally:
        service.stop()
