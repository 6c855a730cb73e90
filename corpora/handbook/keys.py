"""The corpus's answer keys: loading them, and moving their page numbers after an edit.

    python -m corpora.handbook.keys relocate OUT_DIR

``relocate`` rewrites only the ``page`` of each limit statement and question passage, to
the one page of the built document whose key text holds the quote, after a source edit
moved text between pages. It never touches a value, a status or a date (those are written
by hand), and it refuses a quote found on no page or on several. Review its diff.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from corpora.handbook.pages import key_pages, pages_with

ANSWERS = Path(__file__).resolve().parent / "answers"
LIMITS = ANSWERS / "limits.json"
QUESTIONS = ANSWERS / "questions.json"
POISON = ANSWERS / "poison" / "key.json"


def load(path: Path) -> dict[str, Any]:
    """One answer key as stored."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def limit_statements() -> list[dict[str, Any]]:
    """Every statement of a limit in the corpus (see the README for the fields)."""
    statements: list[dict[str, Any]] = load(LIMITS)["statements"]
    return statements


def questions() -> list[dict[str, Any]]:
    """The adviser questions with their expected passages or figures."""
    items: list[dict[str, Any]] = load(QUESTIONS)["questions"]
    return items


def relocate(out_dir: Path) -> list[str]:
    """Point every quote of the limits and questions keys at its page in ``out_dir``.

    Returns one line per moved quote; raises ``LookupError`` naming every quote that is
    on no page or on more than one (nothing is written then).
    """
    pages: dict[str, list[str]] = {}
    moved: list[str] = []
    problems: list[str] = []

    def place(item: dict[str, Any], label: str) -> None:
        document = item["document"]
        if document not in pages:
            pages[document] = key_pages(out_dir / document)
        found = pages_with(pages[document], item["quote"])
        if len(found) != 1:
            problems.append(f"{label}: {item['quote'][:60]!r} on pages {found} of {document}")
        elif found[0] != item["page"]:
            moved.append(f"{label}: page {item['page']} -> {found[0]}")
            item["page"] = found[0]

    limits = load(LIMITS)
    for statement in limits["statements"]:
        place(statement, statement["id"])
    asked = load(QUESTIONS)
    for question in asked["questions"]:
        for passage in question["passages"]:
            place(passage, question["id"])
    if problems:
        raise LookupError("\n".join(problems))
    for path, data in ((LIMITS, limits), (QUESTIONS, asked)):
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    move = commands.add_parser("relocate", help="update page numbers from a built corpus")
    move.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        moved = relocate(args.out_dir)
    except LookupError as problems:
        print(problems, file=sys.stderr)
        return 1
    print("\n".join(moved) if moved else "every quote is on its page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
