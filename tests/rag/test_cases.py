"""The RAG service's per-case index on its own (the app's tests use it over HTTP): a
collection per case, keys checked, a case's documents replaced and removed, and nothing
of a case in the manuals' store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rma.rag.api import create


@pytest.fixture
def client(clean_env: Path) -> Iterator[TestClient]:
    with TestClient(create()) as client:
        yield client


def key() -> str:
    return uuid.uuid4().hex


def test_a_case_is_indexed_replaced_and_forgotten_apart_from_the_manuals(
    client: TestClient,
) -> None:
    case, document = key(), key()
    pages = {"file_name": "letter.pdf", "pages": [
        {"number": 1, "text": "Harbour Credit Cards\n\nAccount number 88112233"},
        {"number": 2, "text": "Outstanding balance: £2,074.87\n\nArrears: £207.49"},
    ]}  # fmt: skip
    indexed = client.put(f"/cases/{case}/documents/{document}", json=pages)
    assert indexed.status_code == 200, indexed.text
    assert indexed.json()["passages"] >= 2
    assert client.get(f"/cases/{case}").json() == {
        "documents": 1,
        "passages": indexed.json()["passages"],
    }
    again = client.put(f"/cases/{case}/documents/{document}",
                       json={"file_name": "letter.pdf", "pages": pages["pages"][:1]})  # fmt: skip
    assert client.get(f"/cases/{case}").json()["passages"] == again.json()["passages"]
    assert client.get("/documents").json() == {"documents": []}  # the manuals' store
    assert client.get("/stats").json()["chunks"] == 0
    assert client.delete(f"/cases/{case}/documents/{document}").json()["removed"] >= 1
    forgotten = client.delete(f"/cases/{case}").json()
    assert forgotten["store_compacted"] is True and forgotten["warnings"] == []
    assert client.get(f"/cases/{case}").json() == {"documents": 0, "passages": 0}


def test_bad_keys_and_empty_documents_are_refused(client: TestClient) -> None:
    page = {"file_name": "a.pdf", "pages": [{"number": 1, "text": "text"}]}
    assert client.put(f"/cases/not-a-key/documents/{key()}", json=page).status_code == 422
    assert client.put(f"/cases/{'A' * 32}/documents/{key()}", json=page).status_code == 422
    assert client.put(f"/cases/{key()}/documents/{key()}",
                      json={"file_name": "a.pdf", "pages": [{"number": 1, "text": "  "}]}
                      ).status_code == 422  # fmt: skip
    unknown = client.post(f"/cases/{key()}/query", json={"question": "What is owed?"})
    assert unknown.status_code == 404 and "nothing of this case" in unknown.text
