"""``rma limits`` through click's runner, against a real database (SQLite and PostgreSQL):
the poisoning story end to end, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rma.cli import main
from tests.support.accounts import command_line_on

ANN, SAM = "ann@example.org", "sam@example.org"


@pytest.fixture
def rma(database_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    command_line_on(database_url, monkeypatch)
    runner = CliRunner()
    for email, role in ((ANN, "adviser"), (SAM, "supervisor")):
        made = runner.invoke(
            main,
            ["users", "create", "--email", email, "--role", role, "--password-stdin"],
            input="a long enough password\n",
        )
        assert made.exit_code == 0, made.output

    def run(*args: str) -> Result:
        return runner.invoke(main, ["limits", *args])

    return run


def test_a_new_figure_is_stated_only_after_approval(rma) -> None:  # type: ignore[no-untyped-def]
    before = json.loads(rma("show", "dro.max_debt", "--json").output)
    assert before["value"] == "50000" and before["status"] == "current"
    proposed = rma(
        "propose", "dro.max_debt", "--value", "£900,000", "--from", "2026-01-01",
        "--evidence", "new-rules.md", "--page", "1", "--quote", "the DRO debt limit is £900,000",
        "--reason", "a manual says so", "--by", ANN,
    )  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    assert "#1 dro.max_debt: £900,000 from 1 January 2026 (was £50,000)" in proposed.output
    shown = rma("show", "dro.max_debt")
    assert "is £50,000" in shown.output and "proposed, not approved: #1" in shown.output
    assert "£900,000" not in rma("list").output
    refused = rma("approve", "1", "--by", ANN)
    assert refused.exit_code != 0
    assert "an adviser may not approve a change to a legal limit" in refused.output
    approved = rma("approve", "1", "--by", SAM)
    assert approved.exit_code == 0 and f"approved by {SAM}" in approved.output
    after = json.loads(rma("show", "dro.max_debt", "--json").output)
    assert (after["value"], after["origin"], after["change_id"]) == ("900000", "approved", 1)
    old = json.loads(rma("show", "dro.max_debt", "--as-at", "2025-12-31", "--json").output)
    assert old["value"] == "50000" and old["effective_to"] == "2025-12-31"
    diff = rma("diff")
    assert "dro.max_debt: no value -> £900,000 (from 1 January 2026)" in diff.output
    changes = rma("changes", "--status", "approved")
    assert "#1 dro.max_debt" in changes.output and "[approved]" in changes.output
    history = rma("history", "dro.max_debt")
    assert (
        'evidence: new-rules.md, page 1 ("the DRO debt limit is £900,000"); '
        "reason: a manual says so" in history.output
    )


def test_nobody_approves_their_own_change(rma) -> None:  # type: ignore[no-untyped-def]
    proposed = rma(
        "propose", "dro.fee", "--value", "10", "--corrects", "2024-04-06", "--evidence", "an order",
        "--reason", "the fee changed", "--by", SAM,
    )  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    own = rma("approve", "1", "--by", SAM)
    assert own.exit_code != 0 and "nobody may approve a change" in own.output
    assert "[proposed]" in rma("changes").output


def test_listing_by_date_and_everything(rma) -> None:  # type: ignore[no-untyped-def]
    listed = rma("list", "--as-at", "2022-01-01", "--json")
    values = {v["name"]: v["value"] for v in json.loads(listed.output)["limits"]}
    assert values["dro.max_debt"] == "30000" and values["dro.vehicle"] == "2000"
    early = rma("list", "--as-at", "2015-01-01", "--json")
    values = {v["name"]: v["value"] for v in json.loads(early.output)["limits"]}
    assert values["bankruptcy.creditor_petition_min"] == "750"
    assert "bankruptcy.application_fee" not in values  # vouched for only from July 2016
    assert len(json.loads(rma("list", "--all", "--json").output)["limits"]) == 31
    between = rma("diff", "--from", "2024-01-01", "--to", "2024-07-01")
    assert "dro.max_debt: £30,000 (from 29 June 2021 to 27 June 2024) -> £50,000" in between.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "dro.maxdebt"], "did you mean dro.max_debt"),
        (["show", "dro.max_debt", "--as-at", "2001-01-01"],
         "no value of dro.max_debt in force on 1 January 2001"),
        (["show", "dro.max_debt", "--as-at", "28/06/2024"],
         "'28/06/2024' does not match the format"),
        (["propose", "dro.max_debt", "--value", "lots", "--from", "2027-01-01", "--evidence", "e",
          "--reason", "r", "--by", ANN], "'lots' is not a number"),
        (["propose", "dro.max_debt", "--value", "1", "--evidence", "e", "--reason", "r",
          "--by", ANN],
         "a new value needs --from"),
        (["propose", "dro.max_debt", "--value", "1", "--from", "2027-01-01", "--evidence", "e",
          "--reason", "r"], "Missing option '--by'"),
        (["approve", "7", "--by", SAM], "there is no limit change #7"),
        (["approve", "7", "--by", "Sam"], "'Sam' is not an email address"),
        (["reject", "7", "--by", SAM], "Missing option '--reason'"),
        (["diff", "--from", "2024-01-01"], "give both --from and --to"),
        (["list", "--jurisdiction", "scotland"], "unknown jurisdiction 'scotland'"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_error(rma, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = rma(*args)
    assert result.exit_code != 0
    assert message in result.output, result.output
