"""Ask the Manuals over the realistic handbook corpus: the approved table states every
limit, the manuals only support or contradict it.

One RAG service (the embedded model, embedded Chroma, SQLite) ingests the 16 printed
handbooks once for the module. The expectations come from the corpus's answer keys
(``corpora/handbook/answers/``) and the facts of the limits, not from the code under test:

- ``/limits``, ``/limits/{name}``, ``/limits/conflicts`` and ``/thresholds``, with clear
  errors for an unknown limit and a date before any value;
- every current-figure and past-figure question of ``questions.json`` through ``/query``:
  the approved value for the date asked, the instrument, and a passage that supports it;
- the poisoning test (last, since it approves a change): a manual claiming £900,000 makes
  a conflict and changes no answer; after an approval recorded through another register, the
  answers state the new value.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any

import pytest
from corpora.handbook.build import BuildResult
from fastapi.testclient import TestClient

from rma.accounts.permissions import Actor
from rma.config import load_settings
from rma.limits import LimitChange, Proposal
from rma.rag.api import create
from rma.rag.limits import open_register
from tests.conftest import ROOT, clean_environment
from tests.corpora.conftest import handbook  # noqa: F401  (the session's built corpus)

ANSWERS = ROOT / "corpora" / "handbook" / "answers"
QUESTIONS = json.loads((ANSWERS / "questions.json").read_text())
AS_AT = date.fromisoformat(QUESTIONS["as_at"])
FIGURES = [q for q in QUESTIONS["questions"] if q["kind"] in ("current-figure", "past-figure")]
# The values in force on the key's date, from the questions' expectations (one per limit).
CURRENT = {
    q["expected"]["name"]: q["expected"]["value"]
    for q in QUESTIONS["questions"]
    if q["kind"] == "current-figure"
}


@pytest.fixture(scope="module")
def service(
    handbook: BuildResult,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The service with the corpus ingested, and the environment it runs in (for the CLI)."""
    data = tmp_path_factory.mktemp("rag-corpus")
    with pytest.MonkeyPatch.context() as mp:
        clean_environment(mp, data)
        mp.setenv("MANUALS_PATH", str(handbook.out_dir))
        env = {"RMA_DATA_DIR": str(data / "data"), "MANUALS_PATH": str(handbook.out_dir)}
        with TestClient(create()) as client:
            results = client.post("/ingest-all-manuals").json()["results"]
            assert len(results) == 16 and {r["outcome"] for r in results} == {"added"}
            yield client, env


def test_limits_routes(service: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = service
    body = client.get("/limits", params={"as_at": AS_AT.isoformat()}).json()
    values = {x["name"]: x for x in body["limits"]}
    assert {n: int(float(values[n]["value"])) for n in CURRENT} == CURRENT
    debt = values["dro.max_debt"]
    assert (debt["status"], debt["effective_from"]) == ("current", "2024-06-28")
    assert debt["source"].endswith("(SI 2024/626)")
    # the manuals that state £50,000 are its supporting passages, each with page and quote
    supporting = debt["supporting"]
    assert supporting and all("£50,000" in p["quote"] and p["page"] for p in supporting)
    assert "handbook-2025-ch04-debt-relief-orders.pdf" in {p["document"] for p in supporting}
    # the old edition's £30,000, quoted as current, is an open conflict, never a value
    stale = [c for c in body["conflicts"] if (c["name"], c["value"]) == ("dro.max_debt", "30000")]
    assert any(c["passage"]["document"] == "money-advice-handbook-2021-edition.pdf" for c in stale)
    assert all(c["verdict"] == "stale" and "27 June 2024" in c["message"] for c in stale)

    in_2022 = client.get("/limits", params={"as_at": "2022-06-30"}).json()
    debt_2022 = next(x for x in in_2022["limits"] if x["name"] == "dro.max_debt")
    assert (debt_2022["value"], debt_2022["status"]) == ("30000", "historical")
    assert (
        debt_2022["statement"] == "From 29 June 2021 to 27 June 2024 the DRO debt limit was £30,000"
    )
    early = client.get("/limits", params={"as_at": "2001-01-01"}).json()
    missing = {x["name"]: x["message"] for x in early["no_value"]}
    assert "no value of dro.max_debt in force on 1 January 2001" in missing["dro.max_debt"]

    history = client.get("/limits/dro.max_debt").json()
    assert [h["value"] for h in history["history"]] == ["15000", "20000", "30000", "50000"]
    assert history["conflicts"] and {c["name"] for c in history["conflicts"]} == {"dro.max_debt"}
    renamed = client.get("/limits/dro.max_assets", params={"as_at": "2019-06-30"}).json()
    assert (renamed["name"], renamed["value"]["value"]) == ("dro.assets", "1000")

    unknown = client.get("/limits/dro.max_dept")
    assert unknown.status_code == 404
    assert "did you mean dro.max_debt?" in unknown.json()["detail"]
    assert "bankruptcy.petition_deposit" in unknown.json()["detail"]  # the known ones
    too_early = client.get("/limits/dro.max_debt", params={"as_at": "2001-01-01"})
    assert too_early.status_code == 404
    assert "no value of dro.max_debt in force on 1 January 2001" in too_early.json()["detail"]
    assert client.get("/limits", params={"as_at": "not-a-date"}).status_code == 422

    conflicts = client.get("/limits/conflicts").json()
    assert conflicts["count"] == len(conflicts["conflicts"]) >= 30
    assert {c["verdict"] for c in conflicts["conflicts"]} <= {"stale", "unknown_value", "upcoming"}
    assert client.get("/limits/conflicts", params={"name": "nope"}).status_code == 404

    # the old route keeps its shape, from the table, and says where the limits moved
    old = client.get("/thresholds", params={"status": "current"}).json()
    assert old["moved_to"] == "/limits"
    debt_old = next(t for t in old["thresholds"] if t["name"] == "dro.max_debt")
    assert (debt_old["value"], debt_old["effective_from"]) == (50000, "2024-06-28")


def _in_key(passage: dict[str, Any], keyed: list[dict[str, Any]]) -> bool:
    """Is the passage one of the key's passages that state the value (same document, and
    the words of the quotes overlap)?"""

    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9£]+", " ", text.lower()).strip()

    quote = norm(passage["quote"])
    for k in keyed:
        if k["document"] != passage["document"]:
            continue
        key = norm(k["quote"])
        match = SequenceMatcher(None, quote, key, autojunk=False).find_longest_match()
        if match.size >= min(25, len(quote), len(key)):
            return True
    return False


def _ask(client: TestClient, question: str) -> dict[str, Any]:
    # few passages and a short reply: the figures are code-built, the model only words them
    reply = client.post("/query", json={"question": question, "top_k": 2, "max_tokens": 24})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_every_figure_question_is_answered_from_the_table(
    service: tuple[TestClient, dict[str, str]],
) -> None:
    """The corpus's current and past figure questions: the value for the date asked,
    marked historical when it is past, with its instrument and a supporting passage."""
    client, _ = service
    wrong = []
    for q in FIGURES:
        expected = q["expected"]
        body = _ask(client, q["question"])
        stated = [x for x in body["limits"] if x["name"] == expected["name"]]
        got = [(x["value"], x["status"]) for x in stated]
        status = "current" if q["kind"] == "current-figure" else "historical"
        want = (str(expected["value"]), status)
        if want not in got:
            wrong.append(f"{q['id']} {q['question']!r}: {got}, want {want}")
            continue
        value = stated[got.index(want)]
        if expected["effective_from"] and value["effective_from"] != expected["effective_from"]:
            wrong.append(f"{q['id']}: from {value['effective_from']}")
        if expected["effective_to"] and value["effective_to"] != expected["effective_to"]:
            wrong.append(f"{q['id']}: to {value['effective_to']}")
        # the sentence is in the answer, names the instrument, and cites a passage that
        # states the value
        if (
            value["statement"] not in body["answer"]
            or f"(source: {value['source']})" not in (value["statement"])
        ):
            wrong.append(f"{q['id']}: the stated sentence is not in the answer")
        number = value["citation"]
        cited = {s["number"]: s for s in body["sources"] if s["cited"]}
        if number is None or number not in cited or f"[{number}]" not in value["statement"]:
            wrong.append(f"{q['id']}: no supporting passage cited")
        elif not _in_key(value["passage"], q["passages"]):
            wrong.append(f"{q['id']}: the cited passage is not one the key says states it")
        if status == "historical" and "was" not in value["statement"]:
            wrong.append(f"{q['id']}: not marked as past: {value['statement']}")
    assert not wrong, "\n".join(wrong)


POISON_QUESTION = "What is the DRO debt limit?"


def test_a_poisoned_manual_changes_nothing_until_a_change_is_approved(
    service: tuple[TestClient, dict[str, str]],
    handbook: BuildResult,  # noqa: F811
) -> None:
    client, _ = service
    key = json.loads((ANSWERS / "poison" / "key.json").read_text())["claims"][0]
    before = _ask(client, POISON_QUESTION)
    [debt] = [x for x in before["limits"] if x["name"] == "dro.max_debt"]
    assert debt["value"] == str(key["true_value_on_as_at"])

    pdf = handbook.out_dir / "poison" / "dro-limit-update-2026.pdf"
    added = client.post("/ingest", files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")})
    assert added.status_code == 200 and added.json()["outcome"] == "added"

    conflicts = client.get("/limits/conflicts", params={"name": "dro.max_debt"}).json()
    poison = [c for c in conflicts["conflicts"] if c["passage"]["document"] == pdf.name]
    assert [(c["value"], c["verdict"], c["stated_from"]) for c in poison] == [
        (str(key["value"]), "unknown_value", key["effective_from"])
    ]
    assert "matches no known value" in poison[0]["message"] and poison[0]["passage"]["page"] == 1
    after = _ask(client, POISON_QUESTION)
    assert [x["value"] for x in after["limits"]] == [x["value"] for x in before["limits"]]
    assert client.get("/limits/dro.max_debt").json()["history"][-1]["value"] == "50000"
    # where the poisoned passage is among the sources, the answer says it is contradicted
    if any(s["document"] == pdf.name for s in after["sources"]):
        assert any("£900,000" in w for w in after["warnings"])
        assert any(c["value"] == "900000" for c in after["limit_conflicts"])

    # another replica proposes and approves the change through its own register; the
    # service sees the new decision on its next request
    change = asyncio.run(_propose_and_approve(pdf.name, key["quote"], check=client))
    assert (change.proposed_by, change.decided_by, change.status) == (
        "Ann Adviser",
        "Sam Supervisor",
        "approved",
    )
    assert change.decided_at is not None and change.proposed_at <= change.decided_at
    assert (change.evidence, change.evidence_page, change.evidence_quote) == (
        pdf.name,
        1,
        key["quote"],
    )
    assert change.previous_value == Decimal(50000)

    now = _ask(client, POISON_QUESTION)
    [debt] = [x for x in now["limits"] if x["name"] == "dro.max_debt"]
    assert (debt["value"], debt["origin"], debt["change_id"]) == ("900000", "approved", change.id)
    assert "the DRO debt limit is £900,000, in force from 1 January 2026" in now["answer"]
    conflicts = client.get("/limits/conflicts", params={"name": "dro.max_debt"}).json()
    assert not [c for c in conflicts["conflicts"] if c["passage"]["document"] == pdf.name]


async def _propose_and_approve(document: str, quote: str, check: TestClient) -> LimitChange:
    register, database = await open_register(load_settings())
    try:
        proposal = Proposal(
            "dro.max_debt", Decimal(900000), document, "the manual says so", date(2026, 1, 1),
            evidence_page=1, evidence_quote=quote,
        )  # fmt: skip
        proposed = await register.propose(proposal, Actor("Ann Adviser", "adviser"))
        # proposed is not approved: nothing changes
        still = await asyncio.to_thread(_ask, check, POISON_QUESTION)
        assert [x["value"] for x in still["limits"]] == ["50000"]
        return await register.approve(proposed.id, Actor("Sam Supervisor", "supervisor"))
    finally:
        await database.aclose()
