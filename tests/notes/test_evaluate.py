"""The letter scorer (rma.notes.evaluate) on hand-made letters: right ones score full
marks, and each planted mistake (a missing debt, a wrong balance, an adviser's action
given to the client, a wrong year, shorthand, a negated recommendation...) is caught.
Then the command over the real notes pipeline, with the model as the Ollama test
server, in this process and over HTTP."""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rma.notes import evaluate as evaluate_module
from rma.notes.api import create
from rma.notes.evaluate import (
    LetterScore,
    evaluate_cmd,
    full_dates,
    load_corpus,
    names_match,
    score_letter,
    shorthand_leaks,
    summary,
    totals,
)
from tests.conftest import OllamaDouble
from tests.notes.test_corpus import BY_NAME, CORPUS, ROOT
from tests.support.serve import serving

LETTERS = CORPUS / "letters"
WRITTEN_ON = {
    "01_terse_six_creditors": date(2025, 11, 21),
    "06_info_only_dro_questions": date(2026, 2, 10),
    "24_december_2024_pensioner": date(2024, 12, 17),
}


def right_letter(name: str) -> dict[str, Any]:
    """A hand-written letter that gets everything in the case's key right."""
    return json.loads((LETTERS / f"{name}.json").read_text(encoding="utf-8"))


def scored(name: str, response: dict[str, Any]) -> LetterScore:
    return score_letter(response, BY_NAME[name].key, case=name, written_on=WRITTEN_ON[name])


def ratios(score: LetterScore) -> dict[str, float]:
    return {k: v for k, v in summary(totals([score])).items() if isinstance(v, float)}


DEE = "01_terse_six_creditors"


@pytest.fixture
def dee() -> dict[str, Any]:
    return right_letter(DEE)


# ------------------------------------------------------------ right letters


@pytest.mark.parametrize("name", sorted(WRITTEN_ON))
def test_a_right_letter_scores_full_marks(name: str) -> None:
    score = scored(name, right_letter(name))
    assert (score.problems, score.leaks, score.misplaced, score.dates_not_in_notes) == (
        [],
        [],
        [],
        [],
    )
    assert score.invented == 0
    assert all(value == 1.0 for value in ratios(score).values()), ratios(score)


def test_a_right_letter_counts_what_it_was_judged_on(dee: dict[str, Any]) -> None:
    score = scored(DEE, dee)
    assert (score.debts_expected, score.amounts_expected, score.priority_checked) == (6, 6, 6)
    assert (score.actions_expected, score.actions_listed, score.deadlines_expected) == (5, 3, 4)
    assert (score.adviser_expected, score.options_expected, score.recommendation_expected) == (
        2,
        5,
        1,
    )


# ------------------------------------------------------------ planted mistakes


def test_a_missing_debt_is_caught(dee: dict[str, Any]) -> None:
    dee["debts"] = [d for d in dee["debts"] if d["creditor"] != "Cabot"]
    score = scored(DEE, dee)
    assert (score.debts_matched, score.debts_expected) == (5, 6)
    assert score.problems == ["debt missing: Cabot"]
    assert score.invented == 0  # missing is not invented


def test_a_wrong_balance_is_caught(dee: dict[str, Any]) -> None:
    dee["debts"][1]["amount"] = "3780.00"  # Barclaycard is £3,870 in the notes
    score = scored(DEE, dee)
    assert (score.amounts_right, score.amounts_listed, score.debts_matched) == (5, 6, 6)
    assert score.invented == 1
    assert "wrong balance for Barclaycard" in score.problems[0]


def test_a_debt_the_notes_never_mention_is_caught(dee: dict[str, Any]) -> None:
    dee["debts"].append({"creditor": "Capita Collections", "amount": "4230.00", "priority": None})
    score = scored(DEE, dee)
    assert (score.debts_matched, score.debts_listed) == (6, 7)
    assert score.invented == 1


def test_the_original_lender_listed_as_its_own_debt_is_caught(dee: dict[str, Any]) -> None:
    dee["debts"].append({"creditor": "Very", "amount": "2315.00", "priority": None})
    assert scored(DEE, dee).problems == ["debt not in the key: 'Very'"]


def test_a_wrong_priority_is_caught(dee: dict[str, Any]) -> None:
    dee["debts"][0]["priority"] = None  # council tax arrears are a priority debt
    score = scored(DEE, dee)
    assert (score.priority_right, score.priority_checked) == (5, 6)


def test_an_adviser_action_listed_as_the_clients_is_caught(dee: dict[str, Any]) -> None:
    dee["your_actions"].append(
        {"action": "Write to Leeds City Council to ask it to hold action.", "due": None}
    )
    score = scored(DEE, dee)
    assert len(score.misplaced) == 1 and "the adviser's task" in score.misplaced[0]
    assert (score.actions_right, score.actions_listed) == (3, 4)


def test_the_next_appointment_listed_as_an_action_is_caught(dee: dict[str, Any]) -> None:
    dee["your_actions"].append(
        {"action": "Come to your telephone appointment.", "due": "2025-12-15"}
    )
    score = scored(DEE, dee)
    assert score.misplaced == ["'Come to your telephone appointment.' (the next appointment)"]
    assert (score.deadlines_right, score.deadlines_listed) == (2, 3)


def test_a_food_bank_list_the_adviser_gave_is_not_a_client_action(dee: dict[str, Any]) -> None:
    dee["your_actions"].append({"action": "Use the list of food banks.", "due": None})
    assert "the adviser already did this" in scored(DEE, dee).misplaced[0]


def test_a_wrong_year_is_caught(dee: dict[str, Any]) -> None:
    """A November 2025 appointment: '9/12' is 9 December 2025, not 2026."""
    dee["your_actions"][0]["due"] = "2026-12-09"
    dee["letter"] = dee["letter"].replace(
        "for the last 3 months by 9 December 2025", "for the last 3 months by 9 December 2026"
    )
    score = scored(DEE, dee)
    assert (score.deadlines_found, score.deadlines_expected) == (2, 4)  # payslips, statements
    assert (score.deadlines_right, score.deadlines_listed) == (1, 2)
    assert score.dates_not_in_notes == ["9 December 2026"]


def test_a_dropped_deadline_is_caught(dee: dict[str, Any]) -> None:
    dee["your_actions"][1]["due"] = None
    score = scored(DEE, dee)
    assert (score.deadlines_found, score.deadlines_expected) == (2, 4)
    assert score.invented == 0


def test_an_invented_deadline_is_caught(dee: dict[str, Any]) -> None:
    dee["your_actions"][2]["due"] = "2025-12-09"  # council tax instalments have no deadline
    score = scored(DEE, dee)
    assert (score.deadlines_right, score.deadlines_listed) == (2, 3)
    assert score.invented == 1


def test_a_missing_client_action_is_caught(dee: dict[str, Any]) -> None:
    del dee["your_actions"][1]  # the new bank account and moving the wages
    score = scored(DEE, dee)
    assert (score.actions_found, score.actions_expected) == (3, 5)


def test_a_missing_adviser_action_is_caught(dee: dict[str, Any]) -> None:
    del dee["our_actions"][0]
    assert (scored(DEE, dee).adviser_found, 2) == (1, 2)


def test_shorthand_in_the_letter_is_caught(dee: dict[str, Any]) -> None:
    dee["letter"] = dee["letter"].replace(
        "Send us your payslips and bank statements", "you sends payslips + bank stmts w/"
    )
    leaks = scored(DEE, dee).leaks
    assert {leak.split(" (")[0] for leak in leaks} == {"'+'", "'w/'", "'stmts'", "'you sends'"}


def test_an_action_in_shorthand_is_carried_and_its_shorthand_counted(
    dee: dict[str, Any],
) -> None:
    """Recall measures what the letter says; leaks measure whether a client can read it."""
    right = (
        "Open a basic bank account with a different bank and move your wages and "
        "Universal Credit to it"
    )
    terse = "Open basic bank acct w/ diff bank + move wages/UC over"
    dee["your_actions"][1]["action"] = terse + "."
    dee["letter"] = dee["letter"].replace(right, terse)
    score = scored(DEE, dee)
    assert (score.actions_found, score.deadlines_found) == (5, 4)
    leaked = {leak.split(" (")[0] for leak in score.leaks}
    assert leaked == {"'acct'", "'w/'", "'+'", "'diff'", "'UC'"}


def test_an_acronym_counts_only_when_it_is_not_spelt_out() -> None:
    key = BY_NAME[DEE].key
    assert shorthand_leaks("A Debt Relief Order (DRO) is not possible.", key) == []
    assert shorthand_leaks("A DRO is not possible.", key) == ["'DRO' (Debt Relief Order)"]
    assert shorthand_leaks("Pay £100pm to Leeds CC.", key) == [
        "'£100pm' ('pm'/'pw' after an amount)",
        "'CC' (City Council)",
    ]


def test_a_typo_copied_from_the_notes_is_caught() -> None:
    key = BY_NAME["07_typos_water_and_loans"].key
    assert shorthand_leaks("Moorcroft collects for Vodaphone.", key) == [
        "'Vodaphone' (a typo for 'Vodafone')"
    ]


def test_a_negated_recommendation_is_not_advice_nor_its_reason_a_reason(
    dee: dict[str, Any],
) -> None:
    dee["letter"] = dee["letter"].replace(
        "We recommend a debt management plan with a free provider.",
        "A debt management plan is not right for you.",
    )
    score = scored(DEE, dee)
    assert (score.recommendation_named, score.reason_given) == (0, 0)


def test_advice_left_out_is_caught(dee: dict[str, Any]) -> None:
    start = dee["letter"].index("Our advice")
    end = dee["letter"].index("What we will do")
    dee["letter"] = dee["letter"][:start] + dee["letter"][end:]
    score = scored(DEE, dee)
    assert (score.recommendation_named, score.reason_given, score.options_named) == (0, 0, 0)


def test_a_wrong_appointment_date_is_caught(dee: dict[str, Any]) -> None:
    dee["appointment_date"] = "2026-11-20"
    assert scored(DEE, dee).appointment_right == 0


def test_an_info_only_letter_with_an_invented_action_is_caught() -> None:
    name = "06_info_only_dro_questions"
    letter = right_letter(name)
    letter["your_actions"] = [{"action": "Call us back to book a full appointment.", "due": None}]
    score = scored(name, letter)
    assert score.misplaced == [
        "'Call us back to book a full appointment.' (an open offer, not an agreed action)"
    ]
    assert score.actions_listed == 1 and score.actions_right == 0


# --------------------------------------------------------------- the pieces


def test_one_collector_holding_two_debts_is_matched_by_balance() -> None:
    name = "15_rent_arrears_dro_limit_2024"
    debts = [
        {"creditor": "Lowell (was Three)", "amount": "620.00", "priority": None},
        {"creditor": "Lowell Portfolio", "amount": "1450.00", "priority": None},
    ]
    score = score_letter({"debts": debts}, BY_NAME[name].key)
    assert (score.debts_matched, score.amounts_right, score.amounts_listed) == (2, 2, 2)


def test_creditor_names_match_by_their_own_words() -> None:
    assert names_match("Cabot Financial", "Cabot (was your MBNA card)")
    assert names_match("Sainsbury's Bank", "Sainsburys Bank plc")
    assert names_match("PRA Group", "PRA")
    assert not names_match("Barclays", "Barclaycard")
    assert not names_match("Leeds City Council", "Leeds")


def test_dates_are_read_as_a_letter_writes_them() -> None:
    text = "By 9 December 2025, on 3rd January 2026, by December 10, 2025, 04/01/2026, 2026-01-05."
    assert [d for _, d in full_dates(text)] == [
        date(2025, 12, 9),
        date(2026, 1, 3),
        date(2025, 12, 10),
        date(2026, 1, 4),
        date(2026, 1, 5),
    ]
    assert full_dates("by 9/12 or 31 February 2025") == []


def test_a_date_written_in_the_action_counts_as_its_deadline() -> None:
    """A hearing the client must attend carries its date in the sentence."""
    name = "05_headed_possession_hearing"
    action = "Go to the hearing at Manchester County Court on 14 March 2025 at 10.30."
    score = score_letter({"your_actions": [{"action": action, "due": None}]}, BY_NAME[name].key)
    assert score.deadlines_found == 1 and score.deadlines_listed == 0


def test_the_scorer_shares_no_logic_with_the_letter_checks() -> None:
    """It judges those checks, so it must not import them (nor what they read with)."""
    tree = ast.parse(Path(evaluate_module.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    forbidden = {f"rma.notes.{m}" for m in ("checks", "facts", "content", "letter")}
    assert not imported & forbidden, imported & forbidden


def test_a_corpus_folder_without_keys_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "99_x.txt").write_text("cl owes £10", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(evaluate_cmd, ["--corpus", str(tmp_path)])
    assert result.exit_code == 1 and "has no answer key" in result.output
    result = runner.invoke(evaluate_cmd, ["--corpus", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "is not a folder of case notes" in result.output


# ------------------------------------------ the command over the real pipeline


# A faithful model reply for case 01 except one debt with the wrong balance.
REPLY_01 = {
    "matters_discussed": ["Your debts and a debt management plan."],
    "our_actions": [{"action": "Write to Leeds City Council to ask them to hold", "due": None}],
    "your_actions": [{"action": "Send us your payslips and bank statements", "due": "9/12"}],
    "debts": [
        {"creditor": "Barclaycard", "amount": "£3,870"},
        {"creditor": "Capital One", "amount": "£1,204"},
    ],
}


@pytest.fixture
def scripted_env(scripted_model: OllamaDouble) -> OllamaDouble:
    scripted_model.control(reply=json.dumps(REPLY_01))
    return scripted_model


def _run(args: list[str], out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(evaluate_cmd, [*args, "--only", "01", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "| 01_terse_six_creditors | 6/6 |" in result.output  # the debts are code's
    return json.loads(out.read_text(encoding="utf-8"))


def _check_report(report: dict[str, Any]) -> None:
    (case,) = report["cases"]
    assert report["models"] == ["ollama/llama3.1:8b"]
    response = case["response"]
    # The debts are read from the notes by code, whatever the (scripted) model listed.
    assert [d["creditor"] for d in response["debts"]] == [
        "Leeds City Council",
        "Barclaycard",
        "Capital One",
        "Lowell",
        "Cabot",
        "Loans 2 Go",
    ]
    # The report's figures are the scorer's on the response it kept.
    again = score_letter(
        response, BY_NAME[DEE].key, case=DEE, written_on=date.fromisoformat(report["written_on"])
    )
    assert {k: case[k] for k in again.as_dict()} == again.as_dict() | {"case": DEE}
    assert (case["debts_matched"], case["amounts_right"]) == (6, 6)
    assert report["summary"]["debts_recall"] == pytest.approx(1.0)


def test_the_command_scores_the_pipeline_in_this_process(
    scripted_env: OllamaDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the corpus is found where the command is run from
    report = _run(["--with-date"], tmp_path / "scores.json")
    _check_report(report)
    assert report["with_date"] is True
    assert report["command"] == (
        f"python -m rma.notes.evaluate --only 01 --with-date --json {tmp_path / 'scores.json'}"
    )
    assert report["cases"][0]["response"]["appointment_date"] == "2025-11-20"
    # Scored again from the kept responses, without the model: the same figures.
    scripted_env.control(fail_next=100)
    again = _run(["--responses", str(tmp_path / "scores.json")], tmp_path / "again.json")
    assert again["cases"] == report["cases"] and again["summary"] == report["summary"]
    assert again["command"] == report["command"] and "--responses" in again["scored_again"]


def test_the_command_scores_a_running_service_over_http(
    scripted_env: OllamaDouble, tmp_path: Path
) -> None:
    with serving(create()) as url:
        report = _run(["--url", url, "--corpus", str(CORPUS)], tmp_path / "scores.json")
    _check_report(report)
    # The extraction (the service's background readiness probe may also have said "Hi").
    chats = [r for r in scripted_env.requests() if r["path"].endswith("/chat")]
    (request,) = [r for r in chats if r["body"].get("format")]
    assert "Leeds CC" in json.dumps(request["body"])  # the notes reached the model


def test_a_failed_letter_is_scored_as_empty_and_the_run_goes_on(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.support.servers import free_port

    monkeypatch.setenv("LLM_PROVIDER", "vllm")
    monkeypatch.setenv("VLLM_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("LLM_RETRY_ATTEMPTS", "1")
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        evaluate_cmd, ["--corpus", str(CORPUS), "--only", "01,06", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [c["case"] for c in report["cases"]] == [DEE, "06_info_only_dro_questions"]
    assert all(c["error"] and c["response"] is None for c in report["cases"])
    assert report["summary"]["debts_recall"] == 0.0

    # --code-only asks no model (the backend is still down): the letters code builds alone.
    result = CliRunner().invoke(
        evaluate_cmd,
        ["--corpus", str(CORPUS), "--only", "01,06", "--code-only", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not any(c["error"] for c in report["cases"])
    assert all(c["response"]["degraded"] for c in report["cases"])
    assert report["summary"]["debts_recall"] == 1.0 and report["summary"]["invented"] == 0


def test_the_corpus_loads_in_order_and_filters_by_prefix() -> None:
    cases = load_corpus(CORPUS, ["02", "24"])
    assert [c.name[:2] for c in cases] == ["02", "24"]
