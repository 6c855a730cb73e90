"""``rma bench accounts`` runs end to end (with cheap Argon2 parameters: the real ones
are measured in docs/security.md) and refuses a database that is not empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.cli import main
from tests.support.accounts import FAST_ARGON2


def test_bench_accounts_measures_and_refuses_a_database_in_use(
    clean_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAST_ARGON2.items():
        monkeypatch.setenv(name, value)
    out = clean_env / "accounts.json"
    args = ["bench", "accounts", "--calls", "8", "--rounds", "2", "--writers", "4",
            "--out", str(out)]  # fmt: skip
    done = CliRunner().invoke(main, [*args, "--scratch-database-url", database_url])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    assert [d["dialect"] for d in result["databases"]][:1] == ["sqlite"]
    for db in result["databases"]:
        # 8 timed appends, 8 racing, and the users.create and tokens.create entries.
        assert db["chain_intact"] and db["entries"] == 18, db
    assert result["argon2"]["configured"]["memory_kib"] == 8192
    assert "| configured | 1 | 8192 | 1 |" in done.output
    CliRunner().invoke(main, ["db", "upgrade"], env={"RMA_DATABASE_URL": database_url})
    refused = CliRunner().invoke(main, [*args, "--scratch-database-url", database_url])
    assert refused.exit_code == 1 and "is not empty" in refused.output
