"""The letters shown in docs/notes.md agree with their answer keys: a letter shown as
what RMA gives now lists every debt of its case with its balance and nothing else, and
gives every client deadline, as the scorer reads them. A letter shown as the old
release's does not (the comparison can fail)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from rma import constants as C
from rma.notes.evaluate import LetterScore, full_dates, load_corpus, score_letter

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "notes.md"
# <!-- letter now: 01_terse_six_creditors --> then a fenced block with the letter.
SHOWN = re.compile(
    r"<!-- letter (?P<when>now|before): (?P<case>\w+) -->\s*```text\n(?P<text>.*?)```", re.S
)


def _section(letter: str, heading: str) -> list[str]:
    """The list lines under ``heading`` (up to the next blank line)."""
    lines = letter.split("\n")
    if heading not in lines:
        return []
    out = []
    for line in lines[lines.index(heading) + 1 :]:
        if not line.strip():
            break
        if line.startswith("- "):
            out.append(line[2:])
    return out


def as_response(letter: str) -> dict[str, Any]:
    """The parts of a ``POST /convert`` response the scorer reads, read back from the
    letter's text: each debts line is "Creditor (...): £1,146, kind...", each action
    line ends "by 9 December 2025."."""
    debts = []
    for line in _section(letter, "Your debts"):
        creditor = re.split(r"\s*\(|:", line)[0]
        amount = re.search(r"£([\d,]+(?:\.\d\d)?)", line)
        value = str(Decimal(amount.group(1).replace(",", ""))) if amount else None
        debts.append({"creditor": creditor, "amount": value})
    actions = []
    for line in _section(letter, "What you need to do"):
        dates = full_dates(line)
        actions.append({"action": line, "due": dates[-1][1].isoformat() if dates else None})
    return {"letter": letter, "debts": debts, "your_actions": actions}


def _scores() -> list[tuple[str, LetterScore]]:
    keys = {case.name: case.key for case in load_corpus(ROOT / C.NOTES_CORPUS)}
    text = DOC.read_text(encoding="utf-8")
    return [
        (m["when"], score_letter(as_response(m["text"]), keys[m["case"]], case=m["case"]))
        for m in SHOWN.finditer(text)
    ]


def test_the_letters_shown_now_carry_every_debt_and_deadline_of_their_key() -> None:
    shown = _scores()
    now = [score for when, score in shown if when == "now"]
    keys = {case.name: case.key for case in load_corpus(ROOT / C.NOTES_CORPUS)}
    styles = {style for score in now for style in keys[score.case].style}
    assert {"terse bullets", "run-on paragraph", "dictated prose"} <= styles, styles
    for score in now:
        assert score.debts_matched == score.debts_expected == score.debts_listed, score.problems
        assert score.amounts_right == score.amounts_expected, score.problems
        assert score.deadlines_found == score.deadlines_expected, (score.case, score.problems)
        assert score.invented == 0, (score.case, score.problems)
    # The old release's letters, shown beside them, fail the same comparison.
    before = [score for when, score in shown if when == "before"]
    assert len(before) == len(now) == 3
    assert all(score.debts_matched < score.debts_expected for score in before)
