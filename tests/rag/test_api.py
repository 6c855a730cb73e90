"""The HTTP API without a chat model: bad input, ingestion, documents, thresholds, models."""
# The /limits routes and the poisoning test, on the handbook corpus: test_limits_corpus.py.

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rma.rag.api import create
from tests.rag.conftest import copy_manuals


@pytest.fixture
def client(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MANUALS_PATH", str(copy_manuals(clean_env / "manuals")))
    with TestClient(create()) as client:
        yield client


def test_bad_input(client: TestClient) -> None:
    assert client.post("/query", json={"question": "   "}).status_code == 422
    assert client.post("/query", json={}).status_code == 422
    too_long = client.post("/query", json={"question": "why " * 1000})
    assert too_long.status_code == 413
    assert "limit" in too_long.json()["detail"]
    assert client.post("/query", json={"question": "ok?", "top_k": 0}).status_code == 422
    assert client.post("/batch-query", json={"questions": ["q"] * 101}).status_code == 413

    exe = client.post(
        "/ingest", files={"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")}
    )
    assert exe.status_code == 415
    corrupt = client.post(
        "/ingest", files={"file": ("manual.pdf", b"%PDF-1.4 garbage", "application/pdf")}
    )
    assert corrupt.status_code == 422
    assert client.get("/documents").json() == {"documents": []}
    assert client.delete("/documents/nothing-here").status_code == 404


def test_oversize_upload_is_refused(client: TestClient) -> None:
    client.app.state.rag.library.max_upload_bytes = 1000  # type: ignore[attr-defined]
    big = client.post(
        "/ingest", files={"file": ("big.md", b"# Big\n\n" + b"word " * 400, "text/markdown")}
    )
    assert big.status_code == 413
    # a declared length over the limit is refused before the body is read
    huge = client.post(
        "/ingest", files={"file": ("huge.md", b"# Huge\n\n" + b"word " * 40_000, "text/markdown")}
    )
    assert huge.status_code == 413
    assert client.get("/documents").json() == {"documents": []}


def test_upload_names_are_stored_safely(client: TestClient) -> None:
    body = b"# IVA\n\n## Approval\n\nAt least 75% by value of those voting must agree to an IVA.\n"
    response = client.post(
        "/ingest", files={"file": ("../../../etc/iva.md", io.BytesIO(body), "text/markdown")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["filename"] == "iva.md"
    [doc] = client.get("/documents").json()["documents"]
    assert doc["filename"] == "iva.md" and "/" not in doc["id"]
    assert client.delete(f"/documents/{doc['id']}").status_code == 200
    assert client.get("/documents").json() == {"documents": []}


def test_ingest_all_manuals_then_thresholds_and_stats(client: TestClient) -> None:
    results = client.post("/ingest-all-manuals").json()["results"]
    assert {r["outcome"] for r in results} == {"added"}
    ocr = next(r for r in results if r["filename"] == "breathing-space.pdf")
    assert ocr["ocr_pages"] == [2]
    again = client.post("/ingest-all-manuals").json()["results"]
    assert {r["outcome"] for r in again} == {"unchanged"}

    # /thresholds keeps its shape; the values come from the approved table, the source is
    # a passage of the manuals that supports the value
    current = client.get("/thresholds", params={"status": "current"}).json()["thresholds"]
    debt = next(t for t in current if t["name"] == "dro.max_debt")
    assert debt["value"] == 50000 and debt["effective_from"] == "2024-06-28"
    assert debt["instrument"].endswith("(SI 2024/626)")
    assert "£50,000" in debt["source"]["quote"] and debt["source"]["document"].endswith(".md")
    stats = client.get("/stats").json()
    assert stats["limit_candidates"] > 20
    assert stats["documents"] == len(results) and stats["chunks"] == stats["keyword_index_chunks"]
    assert stats["embedding_dimension"] == 384

    analysis = client.post(
        "/analyze-question", json={"question": "Can my client get a DRO owing £45,000?"}
    ).json()
    assert analysis["topic"] == "dro"
    assert analysis["figures"] == [{"text": "£45,000", "value": 45000.0, "unit": "GBP"}]
    assert analysis["limits"] == ["dro.max_debt"] and analysis["values"][0]["value"] == "50000"
    [check] = analysis["limit_checks"]
    assert (check["name"], check["passes"]) == ("dro.max_debt", True)

    # Nothing relevant: the answer says so, and no model is asked.
    off = client.post(
        "/query", json={"question": "What is the boiling point of water on Mars?"}
    ).json()
    assert off["covered"] is False and off["sources"] == [] and off["provenance"] is None
    assert "do not cover" in off["answer"]

    models = client.get("/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["rma-manuals"]
    wrong = client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert wrong.status_code == 422
