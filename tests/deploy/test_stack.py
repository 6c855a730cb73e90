"""The local stack end to end, over HTTP: ``rma stack up`` starts a real vLLM server on
the CPU, the Chroma server and the three services as separate processes, wired by an env
file as Compose wires the containers; the tests then use the services as a client would.

vLLM is started by the stack itself (from the vLLM environment and model the session's
vLLM fixture would use: see ``tests/conftest.py``), once for this module.
That costs CI one more vLLM start beside the session's shared server (under a minute: it
runs eagerly and in float32, ``--vllm-arg=--enforce-eager --vllm-arg=--dtype=float32``,
as the session's does: see ``tests/support/servers.py``), and is deliberate: it is the
only way ``stack up`` starting vLLM is tested, and the rollback test stops that vLLM for
good; stopping the shared server instead would cost the same restart, and every later test
would wait for it. Given only ``RMA_TEST_VLLM_URL`` (a server someone else runs), the stack
uses it and the rollback test is skipped (a failure under CI, which always starts its own).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rma.constants import READY_PROBE_SECONDS
from rma.documents.sample_letters import render_png, sample_letters
from rma.stack.processes import is_alive
from tests.conftest import LOGS, NO_VLLM, ROOT, OllamaDouble
from tests.support.servers import free_port, require_reachable, vllm_install

pytestmark = pytest.mark.vllm

API_KEY = "stack-test-key-" + "0123456789abcdef" * 2
MANUAL = ROOT / "manuals" / "debt-relief-orders.md"
NOTES = ROOT / "tests" / "notes" / "samples" / "01_lowell_breathing_space.txt"
STACK_UP_TIMEOUT = 900
# Variables that would leak the developer's own configuration into the stack.
OWN_PREFIXES = ("LLM_", "VLLM_", "OLLAMA_", "RMA_", "CHROMADB_")
OWN_NAMES = ("FALLBACK_PROVIDER", "EMBED_PROVIDER", "OCR_PROVIDER", "MANUALS_PATH")


@dataclass
class RunningStack:
    state_dir: Path
    env: dict[str, str]
    urls: dict[str, str]
    owns_vllm: bool

    def rma(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rma.cli", "stack", *args, "--state-dir", str(self.state_dir)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def status(self) -> dict[str, dict[str, Any]]:
        done = self.rma("status", "--json")
        return {row["name"]: row for row in json.loads(done.stdout)}

    def client(self, service: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.urls[service], headers={"X-API-Key": API_KEY}, timeout=180
        )


@pytest.fixture(scope="module")
def stack(ollama_server: OllamaDouble) -> Iterator[RunningStack]:
    install = vllm_install()
    external = os.environ.get("RMA_TEST_VLLM_URL")
    if install:
        vllm_args = ["--vllm-python", install[0], "--vllm-model-dir", install[1]]
        vllm_args += ["--vllm-port", str(free_port()), "--vllm-arg=--enforce-eager"]
        vllm_args += ["--vllm-arg=--dtype=float32"]  # as the session's: see tests/support
    elif external:
        require_reachable(external, "RMA_TEST_VLLM_URL")
        vllm_args = ["--vllm-url", external]
    else:
        pytest.skip(NO_VLLM)
    state_dir = LOGS / "stack"
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    env_file = state_dir.parent / "stack.env"
    env_file.write_text(
        "# As in .env.example; the stack sets VLLM_URL, CHROMADB_* and RMA_DATA_DIR itself.\n"
        f"RMA_API_KEYS={API_KEY}\n"
        f"RMA_SERVICE_KEY={API_KEY}\n"
        "EMBED_PROVIDER=local\n"
        "OCR_PROVIDER=tesseract\n"
        "RMA_LOG_LEVEL=WARNING\n"
        f"MANUALS_PATH={ROOT / 'manuals'}\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(OWN_PREFIXES) or k in OWN_NAMES) or k.startswith("RMA_TEST_")
    }
    ports = {name: free_port() for name in ("notes", "docs", "rag", "app")}
    running = RunningStack(
        state_dir,
        env,
        {name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        owns_vllm=install is not None,
    )
    up = running.rma(
        "up",
        "--env-file", str(env_file),
        "--ollama-url", ollama_server.url,
        "--chroma-port", str(free_port()),
        *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))),
        *vllm_args,
        timeout=STACK_UP_TIMEOUT,
    )  # fmt: skip
    if up.returncode != 0:
        running.rma("down")
        pytest.fail(f"rma stack up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
    try:
        yield running
    finally:
        running.rma("down")


def test_every_part_is_up_healthy_and_ready(stack: RunningStack) -> None:
    rows = stack.status()
    assert set(rows) == {"vllm", "chroma", "notes", "docs", "rag", "app"}
    assert all(row["healthy"] for row in rows.values()), rows
    assert rows["vllm"]["owned"] is stack.owns_vllm
    for service in ("notes", "docs", "rag"):
        assert rows[service]["running"] and rows[service]["ready"] == "ready"
        health = httpx.get(f"{stack.urls[service]}/health").json()
        assert health["status"] == "ok" and health["service"] == service
        ready = httpx.get(f"{stack.urls[service]}/ready", timeout=60)
        assert ready.status_code == 200
        chat = next(c for c in ready.json()["checks"] if c["role"] == "chat")
        assert chat["provider"] == "vllm" and chat["probe"] == "ok"


def test_settings_from_the_env_file_reach_the_services(stack: RunningStack) -> None:
    # RMA_API_KEYS came only from the env file: without the key, a feature endpoint refuses.
    refused = httpx.post(f"{stack.urls['rag']}/query", json={"question": "What is a DRO?"})
    assert refused.status_code == 401


def test_rag_answers_from_a_manual_stored_in_the_chroma_server(stack: RunningStack) -> None:
    with stack.client("rag") as rag:
        ingested = rag.post("/ingest", files={"file": (MANUAL.name, MANUAL.read_bytes())})
        assert ingested.status_code == 200, ingested.text
        assert ingested.json()["chunks"] > 0
        answer = rag.post(
            "/query", json={"question": "What is the debt limit for a DRO?", "max_tokens": 48}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["covered"] is True
    assert {s["document"] for s in body["sources"]} == {MANUAL.name}
    assert body["provenance"]["provider"] == "vllm" and body["provenance"]["hops"] == []
    # The chunks live in the Chroma server's folder under the stack's state, not embedded.
    assert any((stack.state_dir / "chroma").iterdir())


def test_notes_become_a_letter(stack: RunningStack) -> None:
    with stack.client("notes") as notes:
        response = notes.post(
            "/convert", json={"notes": NOTES.read_text(), "client_name": "Ms Patel"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Ms Patel" in body["letter"]
    assert body["appointment_date"] == "2025-03-05"  # from the notes' "Date:" line, in code
    assert [step["provider"] for step in body["provenance"]] == ["vllm"] * len(body["provenance"])


def test_a_photographed_letter_is_read_and_checked(stack: RunningStack) -> None:
    letter = sample_letters()[0]
    with stack.client("docs") as docs:
        response = docs.post(
            "/process", files={"file": ("letter.png", render_png(letter), "image/png")}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pages"] and body["provenance"]["ocr"]["provider"] == "tesseract"
    verified = {name: f for name, f in body["fields"].items() if f.get("verified")}
    assert verified, body["fields"]  # fields checked in code against the OCR text
    assert body["provenance"]["classification"]["provider"] == "vllm"


def test_rollback_stop_vllm_and_the_services_answer_through_ollama(
    stack: RunningStack, ollama_server: OllamaDouble
) -> None:
    if not stack.owns_vllm:
        pytest.skip("the stack uses a vLLM server it did not start; it will not stop that one")
    vllm_pid = stack.status()["vllm"]["pid"]
    down = stack.rma("down", "vllm")
    assert down.returncode == 0 and "vllm    stopped" in down.stdout
    assert not is_alive(vllm_pid)  # gone, or a zombie whose parent has not reaped it yet
    vllm_url = stack.status()["vllm"]["url"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{vllm_url}/health")
    after = stack.rma("status", "--json")
    assert after.returncode == 1  # the stack says it is not all healthy
    rows = {row["name"]: row for row in json.loads(after.stdout)}
    assert not rows["vllm"]["running"] and rows["vllm"]["health"] is None
    ollama_server.reset()

    with stack.client("rag") as rag:
        answer = rag.post(
            "/query", json={"question": "What is the debt limit for a DRO?", "max_tokens": 48}
        )
    assert answer.status_code == 200, answer.text
    provenance = answer.json()["provenance"]
    assert provenance["provider"] == "ollama" and provenance["fallback"] is True
    assert [hop["provider"] for hop in provenance["hops"]][:1] == ["vllm"]

    with stack.client("notes") as notes:
        letter = notes.post(
            "/convert", json={"notes": NOTES.read_text(), "client_name": "Ms Patel"}
        )
    assert letter.status_code == 200, letter.text
    assert {step["provider"] for step in letter.json()["provenance"]} == {"ollama"}
    assert any(r["path"] == "/api/chat" for r in ollama_server.requests())

    # /ready answers from a cache for a few seconds; then it reports the fallback at work.
    deadline = time.monotonic() + READY_PROBE_SECONDS + 15
    while True:
        ready = httpx.get(f"{stack.urls['rag']}/ready", timeout=60)
        assert ready.status_code == 200  # degraded is still ready to serve
        if ready.json()["status"] == "degraded" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ready.json()["status"] == "degraded"
