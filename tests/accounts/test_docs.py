"""docs/security.md shows the permission table that is in force, generated from it."""

from __future__ import annotations

import shutil
from pathlib import Path

from rma.accounts.docs import BEGIN, END, markdown_table, rewrite
from rma.accounts.permissions import PERMISSIONS
from tests.conftest import ROOT

DOC = ROOT / "docs" / "security.md"


def test_the_documented_roles_are_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == markdown_table(), (
        "docs/security.md is out of date: run python -m rma.accounts.docs docs/security.md"
    )
    for action, rule in PERMISSIONS.items():
        assert f"| `{action}` | {rule.what} |" in block


def test_the_doc_has_the_two_headings_this_part_owns() -> None:
    headings = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line[:3] == "## "]
    assert "## Accounts and roles" in headings and "## Audit log" in headings


def test_regenerating_is_idempotent(tmp_path: Path) -> None:
    copy = tmp_path / "security.md"
    shutil.copy(DOC, copy)
    assert rewrite(copy) is False and copy.read_text() == DOC.read_text()
