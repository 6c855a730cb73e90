"""Model-dependent paths against the Ollama test server: the model classifier for
thresholds is checked by code, and a batch fills the backend's concurrency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rma.config import load_settings
from rma.llm.factory import build_router
from rma.rag.api import create
from rma.rag.manuals import ManualChunk
from rma.rag.thresholds import ThresholdExtractor
from tests.conftest import OllamaDouble
from tests.rag.conftest import copy_manuals


@pytest.fixture
def ollama_env(ollama: OllamaDouble, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    return clean_env


async def extract_with_model(chunks: list[ManualChunk]):  # type: ignore[no-untyped-def]
    router = build_router(load_settings())
    try:
        extractor = ThresholdExtractor(router, classifier="model", today=date(2026, 1, 1))
        return await extractor.extract(chunks)
    finally:
        await router.aclose()


async def test_a_model_label_with_a_date_not_in_the_quote_is_refused(
    ollama: OllamaDouble, ollama_env: Path, manual_chunks: list[ManualChunk]
) -> None:
    dro = [c for c in manual_chunks if c.document == "debt-relief-orders.md"]
    made_up = {"name": "dro.max_debt", "status": "current", "effective_from": "2030-01-01"}
    ollama.control(reply=json.dumps(made_up))
    book = await extract_with_model(dro)
    current = book.current("dro.max_debt")
    assert current is not None
    assert (current.value, current.effective_from) == (Decimal(50000), date(2024, 6, 28))
    assert current.classified_by == "rules"
    assert any("not in the quote" in w for w in book.warnings)
    # labels naming a limit the sentence does not match fail validation: rules used
    assert book.current("dro.max_assets").value == Decimal(2000)  # type: ignore[union-attr]


async def test_a_model_label_code_can_confirm_is_used(
    ollama: OllamaDouble, ollama_env: Path, manual_chunks: list[ManualChunk]
) -> None:
    dro = [c for c in manual_chunks if c.document == "debt-relief-orders.md"]
    label = {"name": "dro.max_debt", "status": "current", "effective_from": "2024-06-28"}
    ollama.control(reply=json.dumps(label))
    book = await extract_with_model(dro)
    current = book.current("dro.max_debt")
    assert current is not None and current.classified_by == "model"
    assert current.value == Decimal(50000)


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
    assert "As at 29 June 2021, the DRO assets limit is £2,000" in first["answer"]


def test_unsupported_and_outdated_figures_are_flagged(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(reply="The DRO debt limit is £30,000 [1], and the fee is £123 [1].")
    body = ollama_client.post("/query", json={"question": "What is the DRO debt limit?"}).json()
    assert [f["figure"] for f in body["unsupported_figures"]] == ["£123"]
    assert any("historical value of dro.max_debt" in w for w in body["warnings"])
    assert body["answer"].endswith(
        "As at 28 June 2024, the DRO debt limit (total qualifying debts) is £50,000 [1]."
    )
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
    assert check["threshold"] == "dro.max_debt" and check["passes"] is True
    assert (
        "£45,000 is within the DRO debt limit (total qualifying debts), which is £50,000 "
        "as at 28 June 2024 [1]." in body["answer"]
    )
    assert body["unsupported_figures"] == []  # the client's own figure needs no source
