"""One client's documents never reach another's answers, and an erased case leaves
nothing behind.

Case A's letter carries strings found nowhere else (a creditor's name, an account
reference). They must appear in answers about case A (so the checks below can fail) and
in no response about case B, nor from the manuals' endpoints, batch or the
OpenAI-compatible endpoint. After case A is erased, the database (by SQL, every table and
column), the disk (the app's files and SQLite files, the RAG service's Chroma folder) and
the vector store hold none of them.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from rma.config import load_settings
from rma.db import database_urls
from rma.db.engine import sync_engine
from rma.documents.sample_letters import SampleLetter, sample_letters
from rma.service.logs import JsonFormatter
from tests.app.conftest import App, Services, png
from tests.conftest import LOGS


@dataclass(frozen=True)
class Unique:
    """Strings found nowhere else: a creditor's name and an account reference, new for
    each test (the services, and so their stores, are shared by the whole session)."""

    creditor: str
    reference: str

    @classmethod
    def new(cls) -> Unique:
        token = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(6))
        return cls(f"Zephyr{token.lower()} Finance", f"QZ{secrets.randbelow(10**8):08d}")

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.creditor.split()[0], self.reference)


def letter_for_case_a(unique: Unique) -> SampleLetter:
    base = next(s for s in sample_letters() if s.name == "creditor-letter")
    lines = [unique.creditor if i == 0 else line for i, line in enumerate(base.lines)]
    lines = [
        f"Account number: {unique.reference}" if line.startswith("Account number") else line
        for line in lines
    ]
    fields = {**base.fields, "creditor": unique.creditor, "account_reference": unique.reference}
    return replace(base, lines=lines, fields=fields)


def letter_for_case_b() -> SampleLetter:
    return next(s for s in sample_letters(seed=11) if s.name == "default-notice")


def mentions(payload: object, unique: Unique) -> list[str]:
    text = json.dumps(payload) if not isinstance(payload, str) else payload
    return [u for u in unique.needles if u.lower() in text.lower()]


def case_with_letter(app: App, client: str, letter: SampleLetter) -> tuple[int, dict[str, Any]]:
    case = app.new_case(client)
    uploaded = app.upload(case["id"], f"{letter.name}.png", png(letter), "image/png")
    read = app.read(case["id"], uploaded["id"])
    assert read["status"] == "processed" and read["indexed_passages"], read
    return case["id"], read


# Questions that name none of the unique strings, so any that comes back came from a
# document (the model cannot echo what it was not given).
QUESTIONS = (
    "Who is the creditor, and what is the account number?",
    "What is the outstanding balance on the account in arrears?",
)


# Answers are kept short: what is checked is where their passages come from.
SHORT = 32


def ask(question: str, **more: Any) -> dict[str, Any]:
    return {"question": question, "max_tokens": SHORT, **more}


def test_one_case_never_sees_another_s_documents(sqlite_app: App, services: Services) -> None:
    app, unique = sqlite_app, Unique.new()
    case_a, _ = case_with_letter(app, "Alex First", letter_for_case_a(unique))
    case_b, _ = case_with_letter(app, "Bea Second", letter_for_case_b())
    own = app.ok("POST", f"/cases/{case_a}/search", json=ask(QUESTIONS[0]))
    assert mentions(own["sources"], unique), "case A's own search must find its document"

    for question in QUESTIONS:
        other = app.ok("POST", f"/cases/{case_b}/search", json=ask(question))
        assert mentions(other, unique) == [], other
        b_documents = app.ok("GET", f"/cases/{case_b}/documents")["documents"]
        assert {s["case_document_id"] for s in other["sources"]} <= {d["id"] for d in b_documents}
    for path in ("", "/documents", "/debts", "/eligibility", "/letters", "/notes", "/budget"):
        assert mentions(app.ok("GET", f"/cases/{case_b}{path}"), unique) == [], path
    assert mentions(app.ok("GET", "/cases")["cases"][1], unique) == []

    chat = {
        "model": "rma-manuals",
        "max_tokens": SHORT,
        "messages": [{"role": "user", "content": QUESTIONS[0]}],
    }
    responses = [
        services.rag_call("POST", "/query", json=ask(QUESTIONS[0])),
        services.rag_call("POST", "/query", json=ask(QUESTIONS[1], top_k=20)),
        services.rag_call(
            "POST", "/batch-query", json={"questions": list(QUESTIONS), "max_tokens": SHORT}
        ),
        services.rag_call("POST", "/v1/chat/completions", json=chat),
        services.rag_call("POST", "/v1/chat/completions", json={**chat, "stream": True}),
        services.rag_call("POST", "/query/stream", json=ask(QUESTIONS[1])),
        services.rag_call("POST", "/analyze-question", json={"question": QUESTIONS[0]}),
        services.rag_call("GET", "/documents"),
        services.rag_call("GET", "/thresholds"),
        services.rag_call("GET", "/stats"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert mentions(response.text, unique) == [], response.text
    # Nor in any service's log: client text never reaches a log.
    for name in ("docs", "notes", "rag"):
        log = LOGS / f"app-tests-{name}.log"
        assert mentions(log.read_text(encoding="utf-8", errors="replace"), unique) == [], name


def grep(folder: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[str(path)] = hits
    return found


def rows_mentioning(database_url: str, needles: tuple[str, ...]) -> dict[str, int]:
    """Every table, every row, every column, read back by SQL."""
    engine = sync_engine(database_urls(load_settings(RMA_DATABASE_URL=database_url)))
    metadata = MetaData()
    hits: dict[str, int] = {}
    try:
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    if any(n.lower() in repr(tuple(row)).lower() for n in needles):
                        hits[table.name] = hits.get(table.name, 0) + 1
    finally:
        engine.dispose()
    return hits


def logged(records: list[logging.LogRecord]) -> str:
    """The app's log records as its log handler writes them (JSON lines)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in records)


def test_erasing_a_case_leaves_nothing_behind(
    app: App, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    unique = Unique.new()
    needles, creditor, reference = unique.needles, unique.creditor, unique.reference
    case_a, read = case_with_letter(app, "Alex First", letter_for_case_a(unique))
    case_b, _ = case_with_letter(app, "Bea Second", letter_for_case_b())
    [proposal] = read["debts"]
    app.ok("POST", f"/cases/{case_a}/debts/{proposal['id']}/confirm", json={})
    app.ok(
        "POST",
        f"/cases/{case_a}/notes",
        json={"body": f"Client owes {creditor} on {reference}; send statements."},
    )
    written = app.ok(
        "POST",
        f"/cases/{case_a}/letters",
        json={"notes": f"Owes {creditor} £2,000 (account {reference}). Client to call by 12/3."},
    )
    edited = f"{written['body']}\nYour account {reference} is on hold."  # two versions kept
    app.ok("PATCH", f"/cases/{case_a}/letters/{written['id']}", json={"body": edited})
    app.ok(
        "POST",
        f"/cases/{case_a}/assets",
        json={"kind": "savings", "description": "savings", "value_pence": 10_000},
    )
    line = {"direction": "income", "category": "earnings", "amount_pence": 100_000}
    app.ok("POST", f"/cases/{case_a}/budget/lines", json=line)
    key = _case_key(app, case_a)

    # The app logged its work (reads of the client's file and notes among it), and no
    # client text with it.
    assert app.call("GET", f"/cases/{case_a}/documents/{read['id']}/file").status_code == 200
    app_log = logged(caplog.records)
    assert f'"case_id": {case_a}' in app_log and "client data read" in app_log
    assert mentions(app_log, unique) == [], "client text in the app's log"

    # The checks find the strings while the case exists (so they can fail).
    assert rows_mentioning(app.database_url, needles)
    assert services.rag_call("GET", f"/cases/{key}").json()["passages"] > 0
    assert grep(services.rag_data / "chroma", needles)
    assert list((app.data / "cases" / key).iterdir())

    adviser = app.call("DELETE", f"/cases/{case_a}", params={"confirm": "anything"})
    assert adviser.status_code == 403  # erasing is a supervisor's decision
    refused = app.call(
        "DELETE", f"/cases/{case_a}", params={"confirm": "not-its-reference"}, as_="supervisor"
    )
    assert refused.status_code == 409
    case_reference = app.ok("GET", f"/cases/{case_a}")["reference"]
    receipt = app.ok(
        "DELETE", f"/cases/{case_a}", params={"confirm": case_reference}, as_="supervisor"
    )

    assert receipt["reference"] == case_reference and receipt["client_erased"]
    assert receipt["rows"]["case_documents"] == 1 and receipt["rows"]["debts"] >= 1
    assert receipt["rows"]["letters"] == 1 and receipt["letters"] == 1
    assert receipt["rows"]["letter_versions"] == 2
    assert receipt["rows"]["case_notes"] == 2 and receipt["rows"]["document_fields"] >= 3
    assert receipt["files"]["count"] == 2  # the file and its text, both encrypted
    assert receipt["search_index"]["passages"] > 0 and receipt["search_index"]["store_compacted"]
    assert receipt["database_compacted"] and mentions(receipt, unique) == []

    assert rows_mentioning(app.database_url, needles) == {}
    # The app's files, and on SQLite the database file and its write-ahead log.
    on_disk = app.data.parent if app.database_url.startswith("sqlite") else app.data
    assert grep(on_disk, needles) == {}
    # Nor anywhere the three services keep data (the search index, their database).
    assert grep(services.rag_data.parent, needles) == {}
    assert not (app.data / "cases" / key).exists()
    assert services.rag_call("GET", f"/cases/{key}").json() == {"documents": 0, "passages": 0}
    assert app.call("GET", f"/cases/{case_a}").status_code == 404
    # The other case is untouched.
    assert len(app.ok("GET", f"/cases/{case_b}/documents")["documents"]) == 1
    b_key = _case_key(app, case_b)
    assert services.rag_call("GET", f"/cases/{b_key}").json()["passages"] > 0


def _case_key(app: App, case_id: int) -> str:
    engine = sync_engine(database_urls(app.settings))
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(engine, only=["cases"])
            cases = metadata.tables["cases"]
            return str(connection.execute(select(cases.c.key).where(cases.c.id == case_id))
                       .scalar_one())  # fmt: skip
    finally:
        engine.dispose()
