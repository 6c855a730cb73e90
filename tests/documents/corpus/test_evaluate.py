"""The scorer over the real pipeline (DocumentProcessor, real PDFs, real Tesseract), and
the command line that writes the set and scores it. Today's quality is measured and
reported here; the thresholds are asserted in test_quality.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.documents.classify import DocType
from rma.documents.corpus import Corpus
from rma.documents.corpus.cli import corpus as corpus_cli
from rma.documents.corpus.score import FAILED, NOT_SPLIT, evaluate, report
from rma.documents.pipeline import DocumentProcessor
from rma.documents.schema import BUNDLE

PIPELINE_TYPES = {t.value for t in DocType}


@pytest.mark.slow
async def test_the_real_pipeline_is_scored_end_to_end(corpus: Corpus) -> None:
    ids = ("creditor-letter-01", "bank-statement-06", "manual-01", "bundle-01")
    files = [(corpus.by_id(i), "pdf") for i in ids] + [(corpus.by_id("default-notice-01"), "scan")]
    seen: list[str] = []
    board = await evaluate(
        DocumentProcessor(None), corpus, files, progress=lambda i: seen.append(i.document)
    )
    assert seen == [*ids, "default-notice-01"]
    assert [i.error for i in board.items] == [""] * 5
    for item, (doc, _) in zip(board.items, files, strict=True):
        assert item.predicted_type in PIPELINE_TYPES
        if doc.doc_type == BUNDLE:
            assert item.split_right is True
            assert NOT_SPLIT not in {p.predicted_type for p in item.parts}
        else:
            scored = {f.field for f in item.fields if f.outcome != "unscored"}
            assert set(doc.fields) <= scored  # every key field judged: right, wrong or missing
    statement = board.items[1]
    assert statement.rows_expected > 10 and statement.rows_right == statement.rows_expected
    # Wired through: a clean text-layer letter gets some of its fields right today.
    assert any(f.outcome == "right" for f in board.items[0].fields)
    assert board.items[4].seconds > 0 and board.render_seconds > 0
    text = report(board)
    assert "### Document type" in text and "### Bundles" in text


async def test_a_file_the_pipeline_refuses_is_scored_as_failed(corpus: Corpus) -> None:
    class Refusing(DocumentProcessor):
        async def process(self, data: bytes, filename: str = "") -> object:  # type: ignore[override]
            from rma.errors import InputError

            raise InputError("refused")

    doc = corpus.by_id("creditor-letter-01")
    board = await evaluate(Refusing(None), corpus, [(doc, "pdf")])
    item = board.items[0]
    assert item.predicted_type == FAILED and item.error == "InputError: refused"
    assert {f.outcome for f in item.fields} == {"missing"}
    assert "files the pipeline refused: 1" in report(board)


def test_write_puts_files_keys_and_labels_on_disk(tmp_path: Path) -> None:
    result = CliRunner().invoke(corpus_cli, ["write", "--out", str(tmp_path), "--variants", "pdf"])
    assert result.exit_code == 0, result.output
    keys = json.loads((tmp_path / "key.json").read_text())
    labels = json.loads((tmp_path / "files.json").read_text())
    assert len(keys) == len(labels) >= 70
    assert all((tmp_path / label["file"]).read_bytes().startswith(b"%PDF") for label in labels)
    bundle = next(k for k in keys if k["type"] == "bundle")
    assert bundle["parts"][0]["first_page"] == 1 and "fields" in bundle["parts"][0]
    assert "pdf" in result.output and "s/file" in result.output


def test_evaluate_command_prints_the_score(tmp_path: Path) -> None:
    out = tmp_path / "items.json"
    result = CliRunner().invoke(
        corpus_cli,
        [
            "evaluate",
            "--variants",
            "pdf",
            "--only",
            "judgment",
            "--per-kind",
            "2",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "### Fields by document type" in result.output
    assert "| ccj |" in result.output
    items = json.loads(out.read_text())
    assert [i["document"] for i in items] == ["judgment-01", "judgment-02"]
    assert "first 2 of each kind" in result.output


def test_unknown_variant_is_refused() -> None:
    result = CliRunner().invoke(corpus_cli, ["write", "--variants", "sepia"])
    assert result.exit_code == 2 and "unknown variant(s) sepia" in result.output
