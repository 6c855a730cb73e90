"""The worked cases in docs/cases.md, an answer key written by hand (one near miss per
scheme at least), checked against the engine: each row's facts (docs/cases/ID.json), the
outcome and the margin or note that decides it, word for word."""

from __future__ import annotations

import json
from datetime import date

import pytest

from rma.eligibility import ClientFacts, assess
from rma.limits import shipped_table
from tests.conftest import ROOT

DOC = ROOT / "docs" / "cases.md"
START, END = "<!-- worked cases -->", "<!-- end of worked cases -->"


def rows() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index(START) + len(START) : text.index(END)]
    lines = [ln for ln in table.strip().splitlines() if ln.startswith("|")][2:]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


def test_the_table_has_a_near_miss_for_every_scheme() -> None:
    schemes = {row[3] for row in rows() if "near miss" in row[2].lower()}
    assert schemes >= {"dro", "bankruptcy", "breathing_space", "iva"}, schemes


@pytest.mark.parametrize("row", rows(), ids=lambda row: row[0])
def test_a_worked_case(row: list[str]) -> None:
    case, as_at, _, scheme, outcome, decides = row
    given = json.loads((ROOT / "docs" / "cases" / f"{case.lower()}.json").read_text())
    assert given["as_at"] == as_at, "the table and the file disagree on the date"
    facts = ClientFacts.model_validate(given["facts"])
    result = assess(facts, shipped_table(), date.fromisoformat(as_at), today=date(2026, 12, 1))
    judged = result.scheme(scheme)
    assert judged.outcome == outcome, judged.summary()
    if decides.startswith("note:"):
        wanted = decides.removeprefix("note:").strip()
        assert any(wanted in note for note in judged.notes), judged.notes
        return
    key, _, text = decides.partition(":")
    criterion = next(c for c in judged.criteria if c.key == key.strip("` "))
    assert text.strip() in (criterion.margin, criterion.client_value), criterion
