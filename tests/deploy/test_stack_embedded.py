"""``rma stack up --embedded``: one command brings up the three services on the bundled
models and the adviser app, as separate processes over HTTP, with no model server; an
adviser made with ``rma users create`` signs in, and the app then reads an uploaded
creditor letter through the doc-processor it started (with the service key the stack
made: the services refuse anyone else)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rma.documents.sample_letters import render_image, sample_letters
from tests.conftest import ROOT
from tests.support.servers import free_port

OWN = ("LLM_", "VLLM_", "OLLAMA_", "RMA_", "CHROMADB_", "EMBED_", "OCR_", "FALLBACK_")


def rma_stack(state: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return rma("stack", *args, "--state-dir", str(state), timeout=timeout)


def rma(
    *args: str, timeout: float = 600, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    own = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    return subprocess.run(
        [sys.executable, "-m", "rma.cli", *args], env={**own, **env}, cwd=ROOT, input=stdin,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def an_advisers_token(state: Path) -> str:
    """An adviser made as the stack's first words say, and a personal token of theirs."""
    database = {"RMA_DATABASE_URL": f"sqlite:///{state / 'data' / 'rma.db'}"}
    made = rma("users", "create", "--email", "ann@advice.example", "--role", "adviser",
               "--password-stdin", stdin="a long enough password\n", **database)  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = rma("tokens", "create", "--user", "ann@advice.example", "--name", "test", **database)
    assert token.returncode == 0, token.stderr
    return token.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    state = tmp_path_factory.mktemp("embedded-stack")
    ports = {name: free_port() for name in ("notes", "docs", "rag", "app")}
    port_args = [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    up = rma_stack(state, "up", "--embedded", *port_args)
    try:
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
        assert "rma users create --role admin" in up.stdout
        yield state, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        rma_stack(state, "down")


def test_one_command_brings_up_the_services_and_the_app(
    stack: tuple[Path, dict[str, str]],
) -> None:
    state, urls = stack
    status = rma_stack(state, "status", "--json")
    rows = {row["name"]: row for row in json.loads(status.stdout)}
    assert set(rows) == {"notes", "docs", "rag", "app"} and status.returncode == 0, rows
    assert all(row["healthy"] and row["owned"] for row in rows.values())
    ready = httpx.get(f"{urls['app']}/ready", timeout=30).json()
    assert ready["status"] == "ready", ready
    key = state / "keys" / "app" / "RMA_ENCRYPTION_KEY"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.read_text() not in (state / "stack.json").read_text()
    for service in ("notes", "docs", "rag"):
        chat = next(c for c in httpx.get(f"{urls[service]}/ready", timeout=60).json()["checks"]
                    if c["role"] == "chat")  # fmt: skip
        assert chat["provider"] == "local", chat


def test_the_app_reads_a_letter_through_the_doc_processor(
    stack: tuple[Path, dict[str, str]],
) -> None:
    state, urls = stack
    letter = next(s for s in sample_letters() if s.name == "creditor-letter")
    image = io.BytesIO()
    render_image(letter, "clean").save(image, format="PNG")
    assert httpx.get(f"{urls['app']}/cases").status_code == 401  # nobody signed in
    assert httpx.post(f"{urls['docs']}/process").status_code == 401  # services: service key
    bearer = {"Authorization": f"Bearer {an_advisers_token(state)}"}
    with httpx.Client(base_url=urls["app"], timeout=300, headers=bearer) as app:
        case = app.post("/cases", json={"client": {"name": "Jo Sample"}}).json()
        files = {"file": ("letter.png", image.getvalue(), "image/png")}
        uploaded = app.post(f"/cases/{case['id']}/documents", files=files).json()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            found = app.get(f"/cases/{case['id']}/documents/{uploaded['id']}").json()
            if found["status"] in ("processed", "failed"):
                break
            time.sleep(1)
    assert found["status"] == "processed", found
    [proposal] = found["debts"]
    assert proposal["reference"] == letter.fields["account_reference"]
    assert found["indexed_passages"] >= 1
