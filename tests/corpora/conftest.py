"""The realistic handbook corpus, built once per session (and cached between sessions)."""

from __future__ import annotations

import pytest
from corpora.handbook.build import BuildResult, build
from corpora.handbook.pages import key_pages

from tests.conftest import ROOT

CORPUS_DIR = ROOT / "build" / "corpora" / "handbook"


@pytest.fixture(scope="session")
def handbook() -> BuildResult:
    """The built corpus: a cold build takes well under a minute, a cached one no time."""
    return build(CORPUS_DIR)


@pytest.fixture(scope="session")
def handbook_pages(handbook: BuildResult) -> dict[str, list[str]]:
    """Each PDF's pages as key text (see corpora/handbook/pages.py), by file name."""
    return {name: key_pages(path) for name, path in handbook.pdfs.items()}
