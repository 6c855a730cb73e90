"""Model-dependent paths against the Ollama test server: a scripted reply's figures and
citations are checked by code, and a batch fills the backend's concurrency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rma.rag.api import create
from rma.text import format_date
from tests.conftest import OllamaDouble
from tests.rag.conftest import copy_manuals


@pytest.fixture
def ollama_env(ollama: OllamaDouble, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    return clean_env


@pytest.fixture
def ollama_client(ollama_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MANUALS_PATH", str(copy_manuals(ollama_env / "manuals")))
    with TestClient(create()) as client:
        assert client.post("/ingest-all-manuals").status_code == 200
        yield client


def test_batch_fills_the_backends_concurrency(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(delay=0.3, reply="The assets limit is £2,000 [1].")
    questions = [f"{i}: what is the DRO assets limit?" for i in range(12)]
    body = ollama_client.post("/batch-query", json={"questions": questions}).json()
    assert body["failed"] == 0 and len(body["results"]) == 12
    assert body["concurrency"] == 4  # Ollama's in-flight limit
    assert ollama.stats()["max_in_flight"] == 4
    first = body["results"][0]
    assert first["citations"] and first["unsupported_figures"] == []
    today = format_date(date.today())
    assert (
        f"As at {today}, the DRO assets limit is £2,000, in force from 29 June 2021"
        in (first["answer"])
    )


def test_unsupported_and_outdated_figures_are_flagged(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(reply="The DRO debt limit is £30,000 [1], and the fee is £123 [1].")
    body = ollama_client.post("/query", json={"question": "What is the DRO debt limit?"}).json()
    assert [f["figure"] for f in body["unsupported_figures"]] == ["£123"]
    assert any(
        "mentions £30,000, the value of dro.max_debt from 29 June 2021 to 27 June 2024" in w
        for w in body["warnings"]
    )
    today = format_date(date.today())
    stated = (
        f"As at {today}, the DRO debt limit is £50,000, in force from 28 June 2024 (source: "
        "The Insolvency Proceedings (Monetary Limits) (Amendment) Order 2024 (SI 2024/626)) ["
    )
    assert stated in body["answer"]
    ollama.control(reply="It depends on the client [7].")
    body = ollama_client.post("/query", json={"question": "Who supervises an IVA?"}).json()
    assert any("do not exist: [7]" in w for w in body["warnings"])
    assert any("cites no source" in w for w in body["warnings"])


def test_a_clients_amount_is_compared_with_the_limit_in_code(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(reply="Yes, a DRO may be possible [1].")
    question = "My client owes £45,000 to credit cards. Can they get a DRO?"
    body = ollama_client.post("/query", json={"question": question}).json()
    [check] = body["limit_checks"]
    assert check["name"] == "dro.max_debt" and check["passes"] is True
    today = format_date(date.today())
    assert (
        f"£45,000 is within the DRO debt limit, which is £50,000 as at {today}" in (body["answer"])
    )
    assert body["unsupported_figures"] == []  # the client's own figure needs no source
