"""``rma cases purge`` lists closed cases past retention and, with --yes, erases them as
the app does (search index included); ``rma eligibility`` reads a case or a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rma.cli import main
from tests.app.conftest import SERVICE_KEY, App, Services, running_app


@pytest.fixture
def app_and_env(
    services: Services, tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    database = f"sqlite:///{tmp_path / 'rma.db'}"
    with running_app(database, tmp_path / "app", services) as app:
        settings = app.settings
        for variable, value in {
            "RMA_DATABASE_URL": database,
            "RMA_DATA_DIR": str(tmp_path / "app"),
            "RMA_ENCRYPTION_KEY": settings.rma_encryption_key.get_secret_value(),
            "RMA_RAG_URL": services.rag,
            "RMA_SERVICE_KEY": SERVICE_KEY,
        }.items():
            monkeypatch.setenv(variable, value)
        yield app


def test_purge_lists_then_erases_closed_cases_past_retention(app_and_env: App) -> None:
    app = app_and_env
    old = app.new_case("Old Client")["id"]
    recent = app.new_case("Recent Client")["id"]
    still_open = app.new_case("Open Client")["id"]
    app.ok("PATCH", f"/cases/{old}", json={"status": "closed", "closed_on": "2019-05-01"})
    app.ok("PATCH", f"/cases/{recent}", json={"status": "closed", "closed_on": "2025-05-01"})
    app.ok("POST", f"/cases/{old}/notes", json={"body": "closed long ago"})
    runner = CliRunner()

    dry = runner.invoke(main, ["cases", "purge", "--closed-before", "2020-01-01"])
    assert dry.exit_code == 0, dry.output
    assert "1 closed case(s) past retention; dry run" in dry.output
    assert app.call("GET", f"/cases/{old}").status_code == 200  # nothing erased

    done = runner.invoke(main, ["cases", "purge", "--closed-before", "2020-01-01", "--yes"])
    assert done.exit_code == 0, done.output
    receipt = json.loads(next(ln for ln in done.output.splitlines() if ln.startswith("{")))
    assert receipt["case_id"] == old and receipt["rows"]["case_notes"] == 1
    assert app.call("GET", f"/cases/{old}").status_code == 404
    remaining = {c["id"] for c in app.ok("GET", "/cases")["cases"]}
    assert remaining == {recent, still_open}
    listed = runner.invoke(main, ["cases", "list", "--status", "closed"])
    assert "1 case(s)" in listed.output and "Client" not in listed.output  # no client names
    # Each look at the cases from the command line is on the record, as the operator's.
    done_by_operator = [
        (e["action"], e["case_id"], e["detail"].get("command"))
        for e in audit_entries(runner)
        if e["actor_kind"] == "operator" and e["action"].startswith("cases.")
    ]
    assert done_by_operator == [
        ("cases.list", None, "cases-purge"),
        ("cases.list", None, "cases-purge"),
        ("cases.erase", old, None),
        ("cases.list", None, "cases-list"),
    ]


def test_eligibility_of_a_case_and_of_a_file(app_and_env: App) -> None:
    app = app_and_env
    case_id = app.new_case()["id"]
    debt = {"creditor": "Northgate Bank", "kind": "credit_card", "balance_pence": 3_100_000}
    app.ok("POST", f"/cases/{case_id}/debts", json=debt)
    runner = CliRunner()
    before = runner.invoke(main, ["eligibility", str(case_id), "--as-at", "2024-06-27"])
    assert before.exit_code == 0, before.output
    assert "[FAIL] Total qualifying debts: £31,000 (£1,000 over the £30,000 limit)" in before.output
    after = runner.invoke(main, ["eligibility", str(case_id), "--as-at", "2024-06-28", "--json"])
    dro = json.loads(after.output)["schemes"][0]
    assert dro["criteria"][0]["outcome"] == "pass"
    worked = Path(__file__).parents[2] / "docs" / "cases" / "w1.json"
    from_file = runner.invoke(main, ["eligibility", str(worked)])
    assert "£1,200 over the £50,000 limit" in from_file.output
    missing = runner.invoke(main, ["eligibility", "999"])
    assert missing.exit_code == 1 and "no case 999" in missing.output
    reads = [
        (e["case_id"], e["outcome"])
        for e in audit_entries(runner)
        if e["actor_kind"] == "operator" and e["action"] == "cases.read"
    ]
    assert reads == [(case_id, "ok"), (case_id, "ok"), (999, "not_found")]  # not the file


def audit_entries(runner: CliRunner) -> list[dict[str, Any]]:
    exported = runner.invoke(main, ["audit", "export"])
    assert exported.exit_code == 0, exported.output
    return [json.loads(line) for line in exported.stdout.splitlines()]
