"""``rma bench app`` runs end to end: it seeds the cases, and every page it times answers
200 with what the seed put there (a page that failed would stop it)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rma.cli import main


def test_bench_app_seeds_cases_and_times_each_page(clean_env: Path) -> None:
    out = clean_env / "app.json"
    done = CliRunner().invoke(
        main, ["bench", "app", "--cases", "27", "--calls", "3", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    assert result["cases"] == 27 and result["database"] == "sqlite"
    pages = result["pages"]
    first, last = (
        "dashboard (supervisor: 27 cases, page 1)",
        "dashboard (supervisor: 27 cases, last page)",
    )
    assert set(pages) >= {"dashboard (adviser: 14 cases, page 1)", first, last, "case page",
                          "limits", "JSON: GET /cases (supervisor)"}  # fmt: skip
    for label, stats in pages.items():
        assert stats["n"] == 3 and stats["p95_ms"] > 0 and stats["bytes"] > 0, label
    # The dashboard is timed a page at a time: 25 cases on the first, 2 on the last.
    assert pages[last]["bytes"] < pages[first]["bytes"]
    assert "| case page |" in done.output
