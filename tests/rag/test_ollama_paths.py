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


IVA_QUESTION = "Who supervises an individual voluntary arrangement?"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The answer is no.", "it cites no source"),
        ("A licensed insolvency practitioner supervises it [9].", "do not exist ([9])"),
        ("The supervisor charges £777 a month [1].", "do not hold (£777 a month)"),
    ],
)
def test_a_reply_rma_cannot_check_becomes_the_best_passages_word_for_word(
    ollama: OllamaDouble, ollama_client: TestClient, reply: str, problem: str
) -> None:
    ollama.control(reply=reply)
    body = ollama_client.post("/query", json={"question": IVA_QUESTION}).json()
    assert body["checked"] is False and body["covered"] is False
    assert body["unchecked_reply"] == reply
    assert reply not in body["answer"]  # never shown as the answer
    assert problem in body["answer"]
    shown = [s for s in body["sources"] if s["cited"]]
    assert shown and body["citations"] == [s["number"] for s in shown]
    for source in shown:  # each passage verbatim, after its citation number
        assert f"[{source['number']}] " in body["answer"]
        assert source["quote"] in body["answer"]
    assert any("could not be checked" in w for w in body["warnings"])


def test_a_cited_reply_with_figures_from_its_source_stands(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(reply="An insolvency practitioner supervises the arrangement [1].")
    body = ollama_client.post("/query", json={"question": IVA_QUESTION}).json()
    assert body["checked"] is True and body["covered"] is True
    assert body["unchecked_reply"] is None
    assert body["answer"].startswith("An insolvency practitioner supervises the arrangement [1].")


def test_the_stream_ends_with_what_replaces_an_unchecked_reply(
    ollama: OllamaDouble, ollama_client: TestClient
) -> None:
    ollama.control(reply="The answer is no.")
    with ollama_client.stream("POST", "/query/stream", json={"question": IVA_QUESTION}) as r:
        text = "".join(r.iter_text())
    assert "The answer is no." in text  # streamed as it came ...
    assert "RMA could not check the model's answer" in text  # ... then replaced, visibly
    assert '"checked": false' in text.replace('"checked":false', '"checked": false')
