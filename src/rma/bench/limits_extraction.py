"""How well the manuals' figures are read: candidates from a corpus of printed handbooks,
held against the limits table, scored against an answer key written by hand.

The key (``corpora/handbook/answers/limits.json``) lists every statement of a limit in the
corpus with the status a correct reader concludes as at the key's date: ``current``,
``historical``, ``stale-quoted-as-current`` (an old value presented as in force),
``example`` (a worked example's figure) or ``not-a-limit`` (a figure for something else).
Each figure RMA reads is matched to the key's statement at the same place (document, page
and the words around the figure), and its status is what RMA concludes: the verdict of
:func:`rma.limits.conflicts.classify` for a limit, or "example" / "not-a-limit".

The key is the judge; nothing here is derived from the code under test except the
readings themselves.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rma.errors import InputError
from rma.limits.conflicts import Finding, classify_one
from rma.limits.extract import Reading, find_figures, read_passages, readable
from rma.limits.table import LimitTable, shipped_table
from rma.ocr import OcrReader
from rma.rag.manuals import ManualChunk, chunk_manual, document_id_for, load_manual

LIMIT_STATUSES = ("current", "historical", "stale-quoted-as-current")
OTHER_STATUSES = ("example", "not-a-limit")
# Characters of matching context around a figure for a reading to count as the key's.
MIN_CONTEXT = 12


@dataclass
class Statement:
    """One statement of the answer key."""

    id: str
    document: str
    page: int
    quote: str
    figure: str
    name: str
    value: Decimal
    status: str
    occurrence: int = 1
    effective_from: str | None = None
    effective_to: str | None = None

    def context(self) -> tuple[str, str]:
        """The words before and after the figure in the quote."""
        at = -1
        for _ in range(self.occurrence):
            at = self.quote.find(self.figure, at + 1)
        if at < 0:
            at = self.quote.find(self.figure)
        at = max(at, 0)
        # the key's figure may carry words around the number ("plus 30 days", "£75 compliance
        # fee"): the reading's figure is the number itself
        inner = find_figures(readable(self.figure))
        start, end = at, at + len(self.figure)
        if inner:
            head = readable(self.figure)[: inner[0].start]
            start = at + len(head)
            end = start + len(inner[0].text)
        return _norm(self.quote[:start]), _norm(self.quote[end:])


@dataclass
class Outcome:
    """A reading, what RMA concludes about it, and the key's statement it matches."""

    reading: Reading
    status: str  # current / historical / stale-quoted-as-current / unknown / upcoming / ...
    finding: Finding | None
    statement: Statement | None = None

    @property
    def correct(self) -> bool:
        s = self.statement
        if s is None:
            return False
        if s.status in OTHER_STATUSES:
            return self.status in OTHER_STATUSES
        return (
            self.status == s.status
            and self.reading.name == s.name
            and self.reading.value == s.value
        )


@dataclass
class Evaluation:
    as_at: date
    statements: list[Statement]
    outcomes: list[Outcome]
    table: LimitTable
    by_statement: dict[str, Outcome] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        limit_outcomes = [o for o in self.outcomes if o.reading.role == "limit"]
        recall = {}
        for status in (*LIMIT_STATUSES, *OTHER_STATUSES):
            keyed = [s for s in self.statements if s.status == status]
            right = [s for s in keyed if (o := self.by_statement.get(s.id)) and o.correct]
            if status in OTHER_STATUSES:  # right unless RMA took it for a limit
                right = [
                    s
                    for s in keyed
                    if not ((o := self.by_statement.get(s.id)) and o.reading.role == "limit")
                ]
            recall[status] = {"keyed": len(keyed), "right": len(right)}
        precision = {}
        for status in sorted({o.status for o in limit_outcomes}):
            said = [o for o in limit_outcomes if o.status == status]
            precision[status] = {
                "stated": len(said),
                "right": sum(1 for o in said if o.correct),
                "unkeyed": sum(1 for o in said if o.statement is None),
            }
        truth = self._current_truth()
        wrong_current = [
            o
            for o in limit_outcomes
            if o.status == "current"
            and o.reading.value not in truth.get(o.reading.name or "", set())
        ]
        table_wrong = [
            name
            for name, values in sorted(truth.items())
            if self.table.as_at(name, self.as_at, today=self.as_at).value not in values
        ]
        stale = [s for s in self.statements if s.status == "stale-quoted-as-current"]
        stale_listed = [
            s
            for s in stale
            if (o := self.by_statement.get(s.id)) and o.finding and o.finding.verdict == "stale"
        ]
        limits = {}
        for name in self.table.names():
            found_current = any(
                (o := self.by_statement.get(s.id)) and o.correct
                for s in self.statements
                if s.name == name and s.status == "current"
            )
            past = sorted(
                {
                    s.value
                    for s in self.statements
                    if s.name == name and s.status in LIMIT_STATUSES[1:]
                }
            )
            past_found = sorted(
                {
                    s.value
                    for s in self.statements
                    if s.name == name
                    and s.status in LIMIT_STATUSES[1:]
                    and (o := self.by_statement.get(s.id))
                    and o.correct
                }
            )
            limits[name] = {
                "current_found": found_current,
                "past_values": [str(v) for v in past],
                "past_found": [str(v) for v in past_found],
            }
        dated = [o for o in self.by_statement.values() if o.correct and o.statement]
        dates_right = sum(1 for o in dated if _dates_agree(o))
        return {
            "as_at": self.as_at.isoformat(),
            "statements": len(self.statements),
            "readings": len(self.outcomes),
            "limit_readings": len(limit_outcomes),
            "recall": recall,
            "precision": precision,
            "wrong_values_stated_as_current": len(wrong_current),
            "table_values_not_in_key": table_wrong,
            "stale_quotes": len(stale),
            "stale_quotes_listed_as_conflicts": len(stale_listed),
            "limits": limits,
            "dates_agree": {"right_statements": len(dated), "dates_agree": dates_right},
        }

    def mistakes(self) -> list[dict[str, Any]]:
        """Every keyed statement read wrongly or missed, and every unkeyed limit reading."""
        out = []
        for s in self.statements:
            o = self.by_statement.get(s.id)
            if o is not None and o.correct:
                continue
            if o is None and s.status in OTHER_STATUSES:
                continue
            out.append({
                "id": s.id, "key": f"{s.name} {s.value} {s.status}",
                "read": None if o is None else f"{o.reading.name} {o.reading.value} {o.status}",
                "document": s.document, "page": s.page, "quote": s.quote[:160],
                "message": o.finding.message if o and o.finding else None,
            })  # fmt: skip
        for o in self.outcomes:
            if o.statement is None and o.reading.role == "limit":
                passage = o.reading.passage
                out.append({
                    "id": None, "key": None,
                    "read": f"{o.reading.name} {o.reading.value} {o.status}",
                    "document": passage.document if passage else "",
                    "page": passage.page if passage else None,
                    "quote": o.reading.quote[:160],
                    "message": o.finding.message if o.finding else None,
                })  # fmt: skip
        return out

    def _current_truth(self) -> dict[str, set[Decimal]]:
        truth: dict[str, set[Decimal]] = {}
        for s in self.statements:
            if s.status == "current":
                truth.setdefault(s.name, set()).add(s.value)
        return truth


def _dates_agree(o: Outcome) -> bool:
    s, r = o.statement, o.reading
    assert s is not None

    def same(key: str | None, got: date | None) -> bool:
        if key is None:
            return True  # the key gives no date: any reading of one is extra, not wrong
        if got is None:
            return False
        return got.isoformat().startswith(key)

    return same(s.effective_from, r.effective_from) and same(s.effective_to, r.effective_to)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9£%]+", " ", readable(text).lower()).strip()


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def load_key(path: Path) -> tuple[date, list[Statement]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    statements = [
        Statement(
            id=s["id"],
            document=s["document"],
            page=s["page"],
            quote=s["quote"],
            figure=s["figure"],
            name=s["name"],
            value=Decimal(str(s["value"])),
            status=s["status"],
            occurrence=s.get("figure_occurrence", 1),
            effective_from=s.get("effective_from"),
            effective_to=s.get("effective_to"),
        )
        for s in data["statements"]
    ]
    return date.fromisoformat(data["as_at"]), statements


async def load_corpus(folder: Path) -> list[ManualChunk]:
    """Every PDF in ``folder``, read and chunked as ingestion does."""
    paths = await asyncio.to_thread(lambda: sorted(folder.glob("*.pdf")))
    if not paths:
        build = f"python -m corpora.handbook.build {folder}"
        raise InputError(f"no PDFs in {folder}; build the corpus first: {build}")
    chunks: list[ManualChunk] = []
    for path in paths:
        data = await asyncio.to_thread(path.read_bytes)
        manual = await load_manual(path.name, data, OcrReader())
        chunks.extend(await asyncio.to_thread(chunk_manual, manual, document_id_for(manual.name)))
    return chunks


def evaluate(
    chunks: list[ManualChunk],
    statements: list[Statement],
    as_at: date,
    table: LimitTable | None = None,
) -> Evaluation:
    """Read every chunk, classify each limit reading as at ``as_at``, match to the key."""
    table = table or shipped_table()
    outcomes = []
    for reading in read_passages(chunks):
        finding = None
        if reading.role == "limit" and reading.name:
            finding = classify_one(reading.candidate(), table, today=as_at)
            status = _status(finding, as_at)
        else:
            status = reading.role if reading.role == "example" else "not-a-limit"
        outcomes.append(Outcome(reading, status, finding))
    evaluation = Evaluation(as_at, statements, outcomes, table)
    _match(evaluation)
    return evaluation


def _status(finding: Finding, as_at: date) -> str:
    if finding.verdict == "supports" and finding.row is not None:
        return finding.row.status(as_at)
    return {"stale": "stale-quoted-as-current", "unknown_value": "unknown"}.get(
        finding.verdict, finding.verdict
    )


def _match(evaluation: Evaluation) -> None:
    """Pair readings with statements one to one, best context first."""
    pairs = []
    contexts = {s.id: s.context() for s in evaluation.statements}
    by_document: dict[str, list[Statement]] = {}
    for s in evaluation.statements:
        by_document.setdefault(s.document, []).append(s)
    for i, o in enumerate(evaluation.outcomes):
        r, passage = o.reading, o.reading.passage
        if passage is None:
            continue
        before = _norm(r.sentence[: r.figure.start])
        after = _norm(r.sentence[r.figure.end :])
        # the words around a sentence count too: a key quote may run across sentences
        passage_text = _norm(passage.text)
        at = passage_text.find(_norm(r.sentence))
        if at >= 0:
            before = f"{passage_text[:at]} {before}".strip()
            after = f"{after} {passage_text[at + len(_norm(r.sentence)) :]}".strip()
        for s in by_document.get(passage.document, []):
            if passage.page is None or abs(s.page - passage.page) > 1:
                continue
            key_before, key_after = contexts[s.id]
            score = _common_suffix(before, key_before) + _common_prefix(after, key_after)
            whole = len(key_before) + len(key_after)
            if score >= min(MIN_CONTEXT, whole):
                pairs.append((score - abs(s.page - passage.page), i, s))
    taken: set[int] = set()
    for _, i, s in sorted(pairs, key=lambda p: -p[0]):
        if i in taken or s.id in evaluation.by_statement:
            continue
        taken.add(i)
        evaluation.outcomes[i].statement = s
        evaluation.by_statement[s.id] = evaluation.outcomes[i]


def run(corpus: Path, key: Path) -> tuple[dict[str, Any], Evaluation]:
    as_at, statements = load_key(key)
    chunks = asyncio.run(load_corpus(corpus))
    evaluation = evaluate(chunks, statements, as_at)
    result = evaluation.summary()
    result["mistakes"] = evaluation.mistakes()
    return result, evaluation


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Limits read from the handbook corpus, held against the table as at {result['as_at']} "
        f"({result['statements']} keyed statements, {result['limit_readings']} limit readings)",
        "",
        "| key status | keyed | read right | recall |",
        "|---|---|---|---|",
    ]
    for status, r in result["recall"].items():
        rate = r["right"] / r["keyed"] if r["keyed"] else 1.0
        shown = status if status in LIMIT_STATUSES else f"{status} (not taken for a limit)"
        lines.append(f"| {shown} | {r['keyed']} | {r['right']} | {rate:.3f} |")
    lines += [
        "",
        "| RMA's status | stated | right | precision | not in the key |",
        "|---|---|---|---|---|",
    ]
    for status, p in result["precision"].items():
        rate = p["right"] / p["stated"] if p["stated"] else 1.0
        lines.append(f"| {status} | {p['stated']} | {p['right']} | {rate:.3f} | {p['unkeyed']} |")
    found = sum(1 for v in result["limits"].values() if v["current_found"])
    past = sum(len(v["past_values"]) for v in result["limits"].values())
    past_found = sum(len(v["past_found"]) for v in result["limits"].values())
    lines += [
        "",
        f"- wrong values stated as current: {result['wrong_values_stated_as_current']}"
        f" (table values the key does not hold: {len(result['table_values_not_in_key'])})",
        f"- stale quotes listed as conflicts: {result['stale_quotes_listed_as_conflicts']} of "
        f"{result['stale_quotes']}",
        f"- limits found with their current value: {found} of {len(result['limits'])}; past "
        f"values found: {past_found} of {past}",
        f"- dates as the key gives them: {result['dates_agree']['dates_agree']} of "
        f"{result['dates_agree']['right_statements']} statements read right",
    ]
    return "\n".join(lines)


__all__ = ["Evaluation", "evaluate", "load_corpus", "load_key", "markdown", "run"]
