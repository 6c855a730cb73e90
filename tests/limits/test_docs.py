"""docs/limits.md shows the table that ships, generated from the data file."""

from __future__ import annotations

import shutil
from pathlib import Path

from rma.limits.docs import BEGIN, END, markdown_table, rewrite
from rma.limits.table import shipped_table
from tests.conftest import ROOT

DOC = ROOT / "docs" / "limits.md"


def test_the_documented_table_is_the_shipped_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == markdown_table(shipped_table()), (
        "docs/limits.md is out of date: run python -m rma.limits.docs docs/limits.md"
    )
    for row in shipped_table().rows:
        assert f"| `{row.name}` |" in block and row.source in block


def test_regenerating_is_idempotent(tmp_path: Path) -> None:
    copy = tmp_path / "limits.md"
    shutil.copy(DOC, copy)
    assert rewrite(copy) is False and copy.read_text() == DOC.read_text()


def test_the_package_ships_its_data_files() -> None:
    """The wheel and the image install the package, not the tree: every file of limits and
    of the migrations that is not Python must be declared as package data."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["rma"]
    package = ROOT / "src" / "rma"
    for folder in ("limits", "db"):
        for path in (package / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                relative = path.relative_to(package)
                assert any(relative.match(pattern) for pattern in declared), relative
