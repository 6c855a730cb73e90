"""``rma bench limits`` runs end to end and refuses a database that is not empty."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rma.cli import main


def test_bench_limits_measures_and_refuses_a_database_in_use(
    clean_env: Path, database_url: str
) -> None:
    out = clean_env / "limits.json"
    args = ["bench", "limits", "--calls", "200", "--rounds", "1", "--out", str(out)]
    done = CliRunner().invoke(main, [*args, "--scratch-database-url", database_url])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    dialects = [d["dialect"] for d in result["databases"]]
    assert dialects[0] == "sqlite" and len(dialects) == 2
    assert result["lookups"]["as_at_us"] > 0 and "| sqlite |" in done.output
    CliRunner().invoke(main, ["db", "upgrade"], env={"RMA_DATABASE_URL": database_url})
    refused = CliRunner().invoke(main, [*args, "--scratch-database-url", database_url])
    assert refused.exit_code == 1 and "is not empty" in refused.output
