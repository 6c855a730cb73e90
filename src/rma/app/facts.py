"""A case's record as the facts eligibility reads: the one place the two meet.

Only confirmed debts count; proposals waiting for an adviser are counted as a
possibility (how many, and what they could add), so a result they could change is
unknown rather than a pass. The surplus is the budget's; the circumstances are the
case's, each left out while unknown.
"""

from __future__ import annotations

from rma.cases.models import Circumstances
from rma.cases.schema import CircumstancesUpdate
from rma.cases.store import CaseStore
from rma.eligibility import ClientFacts


async def client_facts(store: CaseStore, case_id: int) -> ClientFacts:
    case = await store.case(case_id)
    debts = await store.debts(case_id)
    by_id = {d.id: d for d in debts}
    confirmed = [d for d in debts if d.status == "confirmed" and d.updates_debt_id is None]
    waiting = [d for d in debts if d.status == "proposed"]
    # What the waiting proposals could add: a new debt's amount, an update's increase.
    could_add: int | None = 0
    for proposal in waiting:
        target = by_id.get(proposal.updates_debt_id or 0)
        if proposal.balance_pence is None:
            could_add = None if target is None else could_add
        elif could_add is not None:
            current = (target.balance_pence or 0) if target else 0
            could_add += max(0, proposal.balance_pence - current)
    budget = await store.budget(case_id)
    assets = await store.assets(case_id)
    circumstances = case.circumstances or Circumstances()
    known = {
        name: getattr(circumstances, name)
        for name in CircumstancesUpdate.model_fields
        if getattr(circumstances, name) is not None
    }
    return ClientFacts.model_validate(
        {
            "debts": [
                {"creditor": d.creditor or "creditor not recorded", "kind": d.kind,
                 "balance_pence": d.balance_pence, "from_fraud": bool(d.from_fraud)}
                for d in confirmed
            ],
            "unconfirmed_debts": len(waiting),
            "unconfirmed_debts_pence": could_add,
            "monthly_surplus_pence": budget.surplus_pence,
            "assets": [
                {"kind": a.kind, "description": a.description, "value_pence": a.value_pence}
                for a in assets
            ],
            **known,
        }
    )  # fmt: skip
