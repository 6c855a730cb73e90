"""The CLI: `rma ingest`, `rma thresholds`, `rma ask` (chat on the Ollama test server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.cli import main
from tests.conftest import OllamaDouble
from tests.rag.conftest import copy_manuals


def test_ingest_thresholds_and_ask(
    ollama: OllamaDouble, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    runner = CliRunner()
    manuals = copy_manuals(clean_env / "manuals")
    first = runner.invoke(main, ["ingest", str(manuals)])
    assert first.exit_code == 0, first.output
    assert "added     breathing-space.pdf: 5 chunks, 3 pages, OCR on pages [2]" in first.output
    again = runner.invoke(main, ["ingest", str(manuals / "debt-relief-orders.md")])
    assert again.stdout.startswith("unchanged debt-relief-orders.md")

    listed = runner.invoke(main, ["thresholds", "--json"])
    assert listed.exit_code == 0, listed.output
    book = json.loads(listed.stdout)
    debt = [t for t in book["thresholds"] if t["name"] == "dro.max_debt"]
    assert [(t["value"], t["status"]) for t in debt] == [
        (15000, "historical"),
        (20000, "historical"),
        (30000, "historical"),
        (50000, "current"),
    ]
    # the 2021 bulletin's "rises to £30,000" is a stale quote, listed as a conflict
    stale = [c for c in book["conflicts"] if c["name"] == "dro.max_debt"]
    assert [(c["display"], c["verdict"], c["passage"]["document"]) for c in stale] == [
        ("£30,000", "stale", "practice-bulletin-2021.md")
    ]

    ollama.control(reply="A standard breathing space lasts 60 days [1].")
    asked = runner.invoke(main, ["ask", "How long does a standard breathing space last?", "--json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert answer["citations"] and answer["unsupported_figures"] == []
    assert answer["sources"][0]["document"] == "breathing-space.pdf"

    missing = runner.invoke(main, ["ask", "   "])
    assert missing.exit_code == 1 and "the question is empty" in missing.output


def test_ask_with_nothing_ingested_says_so_and_where(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = clean_env / "elsewhere"
    monkeypatch.setenv("RMA_DATA_DIR", str(empty))
    result = CliRunner().invoke(main, ["ask", "whats the max debt for a dro now"])
    assert result.exit_code == 1
    assert f"nothing ingested in {empty}" in result.stderr
    assert "do not cover" not in result.output


def test_the_default_data_directory_does_not_follow_the_current_folder(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platformdirs import user_data_dir

    from rma.config import load_settings

    monkeypatch.delenv("RMA_DATA_DIR")
    monkeypatch.chdir(clean_env)
    here = load_settings().rma_data_dir
    (clean_env / "sub").mkdir()
    monkeypatch.chdir(clean_env / "sub")
    assert load_settings().rma_data_dir == here == Path(user_data_dir("rma", appauthor=False))
    assert here.is_absolute()
    monkeypatch.setenv("RMA_DATA_DIR", str(clean_env / "chosen"))
    assert load_settings().rma_data_dir == clean_env / "chosen"


def test_ask_prints_the_sources_an_uncited_answer_is_warned_about(
    ollama: OllamaDouble, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_URL", ollama.url)
    runner = CliRunner()
    manuals = copy_manuals(clean_env / "manuals")
    assert runner.invoke(main, ["ingest", str(manuals / "individual-voluntary-arrangements.md")])
    ollama.control(reply="The answer is no.")
    asked = runner.invoke(main, ["ask", "Who supervises an individual voluntary arrangement?"])
    assert asked.exit_code == 0, asked.output
    assert "cites no source" in asked.stderr
    assert "The answer is no." not in asked.stdout  # an unchecked reply is not the answer
    printed = asked.stdout.split("word for word:", 1)[1]
    assert "[1] " in printed and "Sources:" in printed
    assert "[1] individual-voluntary-arrangements.md" in printed.split("Sources:", 1)[1]
