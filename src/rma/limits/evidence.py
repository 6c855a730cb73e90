"""What the ingested manuals say about the limits, held against one effective table.

:class:`LimitEvidence` classifies every candidate (:mod:`rma.limits.extract`) against a
table: a candidate that agrees is evidence for the row it matches (a passage an answer can
cite beside the instrument), one that does not is an open conflict for a person to review
(:mod:`rma.limits.conflicts`). It is rebuilt whenever the table or the manuals change,
and it never changes a value: the table states, the manuals only support or contradict.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from rma.limits.conflicts import Candidate, Finding, classify_one
from rma.limits.table import LimitRow, LimitTable, UnknownLimit


def row_key(row: LimitRow) -> tuple[str, str, str]:
    """A row's identity within one table: limit, jurisdiction and its first day."""
    return row.name, row.jurisdiction, row.key


@dataclass(frozen=True)
class LimitEvidence:
    """Every candidate's finding against ``table``, as at ``today``."""

    table: LimitTable
    findings: tuple[Finding, ...]
    today: date

    @classmethod
    def build(
        cls, candidates: Iterable[Candidate], table: LimitTable, *, today: date | None = None
    ) -> LimitEvidence:
        today = today or date.today()
        findings = []
        for candidate in candidates:
            try:
                findings.append(classify_one(candidate, table, today=today))
            except UnknownLimit:
                continue  # a limit this table does not hold (another jurisdiction's)
        return cls(table, tuple(findings), today)

    def supporting(self, row: LimitRow) -> list[Finding]:
        """The passages that state this row's value for its dates."""
        key = row_key(row)
        return [
            f
            for f in self.findings
            if f.verdict == "supports" and f.row is not None and row_key(f.row) == key
        ]

    def best_support(self, row: LimitRow, prefer: Collection[str] = ()) -> Finding | None:
        """The passage to cite for a row: one of the ``prefer``red chunks (those retrieved
        for a question) if any supports it, then one that gives the row's dates."""
        found = self.supporting(row)
        if not found:
            return None

        def rank(f: Finding) -> tuple[int, int, str, int]:
            c = f.candidate
            dated = c.effective_from is not None or c.effective_to is not None
            return (c.chunk_id not in prefer, not dated, c.document, c.page or 0)

        return min(found, key=rank)

    def conflicts(self, name: str | None = None, jurisdiction: str | None = None) -> list[Finding]:
        """Open conflicts: stale quotes, values no row holds, announced values given early."""
        return [
            f
            for f in self.findings
            if f.conflict
            and name in (None, f.candidate.name)
            and jurisdiction in (None, f.candidate.jurisdiction)
        ]

    def in_chunks(self, chunk_ids: Collection[str]) -> list[Finding]:
        """The findings read from these passages, in order."""
        return [f for f in self.findings if f.candidate.chunk_id in chunk_ids]
