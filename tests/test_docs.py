"""The docs and the code agree: every setting is documented, and every ``rma`` command,
file and variable the README and docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from rma.cli import main
from rma.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CODE_FOLDERS = ("src", "tests", "scripts", "deploy", ".ci")

# A command as a reader would type it: at the start of a line (in a code block), after a
# backtick, or as .venv/bin/rma.
COMMAND = re.compile(r"(?:^|`|\.venv/bin/)rma ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", re.M)
# A file of this repository: a path under one of its top folders.
PATH = re.compile(
    r"(?<![\w/.-])((?:scripts|docs|src|tests|corpora|deploy|manuals|requirements|\.ci)"
    r"/[\w./-]*[\w/])"
)
# Our own variables (other programs' variables, such as OLLAMA_NUM_PARALLEL, are theirs).
VARIABLE = re.compile(r"\b((?:RMA|LLM)_[A-Z0-9_]+)\b")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def documented() -> str:
    return "\n".join(text(p) for p in DOCS)


def code() -> str:
    files = [p for folder in CODE_FOLDERS for p in (ROOT / folder).rglob("*") if p.is_file()]
    return "\n".join(
        p.read_text(encoding="utf-8", errors="ignore")
        for p in files
        if p.suffix in {".py", ".sh", ".yaml", ".yml", ".toml", ""} and "__pycache__" not in p.parts
    )


def setting_names() -> list[str]:
    return [f.alias or name.upper() for name, f in Settings.model_fields.items()]


def test_every_setting_is_in_the_docs_and_the_example_file() -> None:
    docs, example = documented(), text(ROOT / ".env.example")
    assert [n for n in setting_names() if n not in docs] == []
    assert [n for n in setting_names() if n not in example] == []


def test_every_variable_the_code_reads_itself_is_documented() -> None:
    read = set(re.findall(r"os\.environ(?:\.get)?[\[(]\"([A-Z][A-Z0-9_]+)\"", code()))
    read -= {"CI", "HOME", "PATH", "XDG_STATE_HOME", "XDG_CACHE_HOME"}
    read = {n for n in read if not n.startswith("RMA_TEST_")}
    docs = documented()
    assert sorted(n for n in read if n not in docs) == []


def test_every_variable_the_docs_name_is_read_by_the_code() -> None:
    named = set(VARIABLE.findall(documented()))
    everything = code()
    assert sorted(n for n in named if n not in everything) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_the_doc_names_exists(doc: Path) -> None:
    ctx = click.Context(main)
    unknown = []
    for m in COMMAND.finditer(text(doc)):
        first, second = m.groups()
        command = main.get_command(ctx, first)
        if command is None:
            unknown.append(f"rma {first}")
        elif isinstance(command, click.Group) and second and not command.get_command(ctx, second):
            unknown.append(f"rma {first} {second}")
    assert unknown == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_the_doc_names_exists(doc: Path) -> None:
    body = text(doc)
    missing = []
    for m in PATH.finditer(body):
        before = body[max(0, m.start() - 40) : m.start()]
        if "kubectl" in before or re.search(r"(--json|--out|--out-dir|>)\s*$", before):
            continue  # a Kubernetes object, or a file the command writes
        if any(c in m.group(1) for c in "*<>{}") or (ROOT / m.group(1)).exists():
            continue
        missing.append(m.group(1))
    assert missing == []


def test_the_checks_see_what_they_check() -> None:
    # Each pattern finds what it must, so an empty list above means something.
    assert COMMAND.findall("run `rma limits show dro.max_debt`") == [("limits", "show")]
    assert PATH.findall("see docs/limits.md.") == ["docs/limits.md"]
    assert VARIABLE.findall("set `LLM_PROVIDER=vllm`") == ["LLM_PROVIDER"]
    assert "LLM_PROVIDER" in setting_names()
