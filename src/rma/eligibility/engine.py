"""One assessment: every scheme judged on the same facts, limits and date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rma import constants as C
from rma.eligibility import bankruptcy, breathing_space, dro, iva
from rma.eligibility.criteria import Context, SchemeResult
from rma.eligibility.facts import ClientFacts
from rma.limits.table import LimitTable
from rma.text import format_date

SCHEMES: dict[str, Callable[[ClientFacts, Context], SchemeResult]] = {
    "dro": dro.assess,
    "bankruptcy": bankruptcy.assess,
    "breathing_space": breathing_space.assess_standard,
    "breathing_space_mental_health": breathing_space.assess_mental_health,
    "iva": iva.assess,
}


@dataclass
class Assessment:
    as_at: date
    jurisdiction: str
    table_version: str
    approved_changes: tuple[int, ...]
    facts: ClientFacts
    schemes: list[SchemeResult]

    def scheme(self, name: str) -> SchemeResult:
        return next(s for s in self.schemes if s.scheme == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_at": self.as_at.isoformat(),
            "as_at_words": format_date(self.as_at),
            "jurisdiction": self.jurisdiction,
            "limits": {
                "table_version": self.table_version,
                "approved_changes": list(self.approved_changes),
            },
            "schemes": [s.as_dict() for s in self.schemes],
            "facts": self.facts.as_dict(),
        }


def assess(
    facts: ClientFacts,
    table: LimitTable,
    as_at: date | None = None,
    *,
    jurisdiction: str = C.DEFAULT_JURISDICTION,
    today: date | None = None,
    schemes: tuple[str, ...] = tuple(SCHEMES),
) -> Assessment:
    """Judge ``facts`` by every scheme's rules, with the limits in force on ``as_at``
    (default: today) in ``table`` (the effective table: shipped plus approved changes)."""
    as_at = as_at or today or date.today()
    context = Context(as_at, table, jurisdiction, today)
    results = [SCHEMES[name](facts, context) for name in schemes]
    return Assessment(as_at, jurisdiction, table.version, table.approved_changes, facts, results)
