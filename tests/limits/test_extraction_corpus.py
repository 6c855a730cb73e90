"""Limits read from the realistic handbook corpus, judged by its hand-written answer key
(``corpora/handbook/answers/limits.json``), through ``rma bench limits-extraction``.

The targets are the product's promises: every limit in the table found with the right
status, no wrong value stated as current, a conflict for every stale quote; recall and
precision by status are held at about the level measured, so a regression shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from corpora.handbook.build import BuildResult

from rma.cli import main
from tests.conftest import ROOT
from tests.corpora.conftest import handbook  # noqa: F401  (the session's built corpus)

KEY = ROOT / "corpora" / "handbook" / "answers" / "limits.json"


def test_the_corpus_is_read_as_the_key_says(handbook: BuildResult, tmp_path: Path) -> None:  # noqa: F811
    done = CliRunner().invoke(
        main,
        ["bench", "limits-extraction", "--corpus", str(handbook.out_dir), "--key", str(KEY),
         "--out-dir", str(tmp_path)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "| current | 212 |" in done.output  # the table is printed
    result = json.loads((tmp_path / "limits-extraction.json").read_text())

    assert result["wrong_values_stated_as_current"] == 0
    assert result["table_values_not_in_key"] == []
    assert result["stale_quotes"] == 30
    assert result["stale_quotes_listed_as_conflicts"] == result["stale_quotes"]
    for name, found in result["limits"].items():
        assert found["current_found"], f"{name}: its current value is never read right"
        assert found["past_found"] == found["past_values"], f"{name}: a past value is missed"

    recall = {s: r["right"] / r["keyed"] for s, r in result["recall"].items()}
    assert recall["current"] >= 0.97 and recall["historical"] >= 0.95
    assert recall["stale-quoted-as-current"] == 1.0
    assert recall["example"] >= 0.95 and recall["not-a-limit"] >= 0.9
    precision = result["precision"]
    assert precision["current"]["right"] == precision["current"]["stated"]
    for status in ("historical", "stale-quoted-as-current"):
        assert precision[status]["right"] >= 0.95 * precision[status]["stated"]
    # nothing the reader takes for a limit is outside the key, apart from a few for review
    assert sum(p["unkeyed"] for p in precision.values()) <= 3
    dates = result["dates_agree"]
    assert dates["dates_agree"] >= 0.9 * dates["right_statements"]
