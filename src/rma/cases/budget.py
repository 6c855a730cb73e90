"""The client's budget in the Standard Financial Statement's categories, and the surplus.

Only the categories' names are used: the SFS spending guideline figures are licensed and
are not shipped. Every line is turned into a monthly amount in code (weekly x 52 / 12,
four-weekly x 13 / 12 ...), rounded to the penny once per line, and the totals are the
sums of those monthly lines, so what an adviser sees adds up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rma.text import format_pence

# Income and spending categories (by group), as named in the Standard Financial Statement.
INCOME: dict[str, str] = {
    "earnings": "Earnings from employment or self-employment",
    "benefits": "Benefits and tax credits",
    "pensions": "Pensions",
    "other_income": "Other income",
}
SPENDING_GROUPS: dict[str, dict[str, str]] = {
    "Fixed costs": {
        "home_and_contents": "Home and contents",
        "utilities": "Utilities",
        "care_and_health": "Care and health costs",
        "transport_and_travel": "Transport and travel",
        "school_costs": "School costs",
        "pension_and_insurances": "Pension and insurances",
        "professional_costs": "Professional costs",
        "other_essential_costs": "Other essential costs",
        "priority_debt_payments": "Payments to priority debts",
    },
    "Flexible costs": {
        "communications_and_leisure": "Communications and leisure",
        "food_and_housekeeping": "Food and housekeeping",
        "personal_costs": "Personal costs",
        "savings": "Savings",
    },
}
SPENDING: dict[str, str] = {k: v for group in SPENDING_GROUPS.values() for k, v in group.items()}
PER_MONTH: dict[str, Fraction] = {
    "weekly": Fraction(52, 12),
    "fortnightly": Fraction(26, 12),
    "four_weekly": Fraction(13, 12),
    "monthly": Fraction(1),
    "quarterly": Fraction(4, 12),
    "yearly": Fraction(1, 12),
}


def categories(direction: str) -> dict[str, str]:
    return INCOME if direction == "income" else SPENDING


def monthly(amount_pence: int, frequency: str) -> int:
    """The monthly equivalent in pence, halves rounded up."""
    exact = amount_pence * PER_MONTH[frequency]
    return int((exact * 2 + 1) // 2)


@dataclass(frozen=True)
class Line:
    id: int
    direction: str
    category: str
    label: str | None
    amount_pence: int
    frequency: str

    @property
    def monthly_pence(self) -> int:
        return monthly(self.amount_pence, self.frequency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "category": self.category,
            "category_name": categories(self.direction)[self.category],
            "label": self.label,
            "amount_pence": self.amount_pence,
            "amount": format_pence(self.amount_pence),
            "frequency": self.frequency,
            "monthly_pence": self.monthly_pence,
            "monthly": format_pence(self.monthly_pence),
        }


@dataclass(frozen=True)
class Budget:
    lines: tuple[Line, ...]

    @classmethod
    def of(cls, lines: Iterable[Line]) -> Budget:
        return cls(tuple(lines))

    def total(self, direction: str) -> int:
        return sum(line.monthly_pence for line in self.lines if line.direction == direction)

    def by_category(self, direction: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            if line.direction == direction:
                totals[line.category] = totals.get(line.category, 0) + line.monthly_pence
        return totals

    @property
    def missing(self) -> list[str]:
        directions = {line.direction for line in self.lines}
        return [f"the client's {d}" for d in ("income", "spending") if d not in directions]

    @property
    def surplus_pence(self) -> int | None:
        """Monthly income less monthly spending; None until both are recorded (a client
        with no income has an income line of £0)."""
        if self.missing:
            return None
        return self.total("income") - self.total("spending")

    def as_dict(self) -> dict[str, Any]:
        surplus = self.surplus_pence
        return {
            "lines": [line.as_dict() for line in self.lines],
            "income": {"monthly_pence": self.total("income"),
                       "by_category": self.by_category("income")},
            "spending": {"monthly_pence": self.total("spending"),
                         "by_category": self.by_category("spending")},
            "surplus_pence": surplus,
            "surplus": None if surplus is None else f"{format_pence(surplus)} a month",
            "missing": self.missing,
        }  # fmt: skip
