"""Priority debts by rule: the class of a debt follows from its kind, never from a model.

A debt is a priority when not paying it can cost the client their home, their energy
supply, their goods or their liberty, or bring enforcement a court need not approve
again. Hire purchase and conditional sale are priorities only when the goods are
essential (a car needed for work): that is asked, not assumed. A debt of unknown kind is
``unknown`` until an adviser records its kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from rma.cases.kinds import DEBT_KINDS

PRIORITY: dict[str, str] = {
    "mortgage": "the home is at risk",
    "secured_loan": "secured on the home: the home is at risk",
    "rent": "the tenancy is at risk (eviction)",
    "council_tax": "enforcement agents and, as a last resort, committal to prison",
    "gas": "the supply can be cut off",
    "electricity": "the supply can be cut off",
    "magistrates_fine": "enforcement agents, deductions and, as a last resort, prison",
    "child_maintenance": "deductions from earnings or benefits and enforcement",
    "hmrc": "HMRC can take goods and money without a further court order",
    "tv_licence": "not paying for a licence that is needed is a criminal offence",
}
# Said of a non-priority kind where advisers might expect otherwise.
NOTES: dict[str, str] = {
    "water": "the supply to a home cannot be cut off for arrears",
    "benefit_overpayment": "usually recovered by deductions; check for fraud allegations",
}


@dataclass(frozen=True)
class PriorityClass:
    value: str  # priority, non_priority or unknown
    rule: str


def classify(kind: str | None, goods_essential: bool | None = None) -> PriorityClass:
    """The priority class of a debt of ``kind``, and the rule that gives it."""
    if kind is None:
        return PriorityClass("unknown", "the kind of debt is not recorded yet")
    label = DEBT_KINDS.get(kind)
    if label is None:
        raise ValueError(f"unknown kind of debt {kind!r}")
    if kind in PRIORITY:
        return PriorityClass("priority", f"{label}: {PRIORITY[kind]}")
    if kind == "hire_purchase":
        if goods_essential is None:
            return PriorityClass("unknown", f"{label}: a priority if the goods are essential "
                                            "(ask whether they are)")  # fmt: skip
        if goods_essential:
            return PriorityClass("priority", f"{label}: the goods are essential and can be "
                                             "taken back")  # fmt: skip
        return PriorityClass("non_priority", f"{label}: the goods are not essential")
    reason = NOTES.get(kind, "the consequences of not paying are less severe")
    return PriorityClass("non_priority", f"{label}: {reason}")
