"""What the eligibility rules read about a client: debts, surplus, assets, circumstances.

The same shape comes from a case (:func:`rma.app.facts.client_facts`), from a
JSON file (``rma eligibility FILE.json``) and from ``POST /eligibility``. Money is whole
pence. ``None`` means not known: the rules treat it as unknown, never as the answer that
would let a client qualify.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rma.cases.kinds import SECURED_KINDS, DebtKind
from rma.cases.schema import Circumstances

AssetKind = Literal["vehicle", "savings", "property", "other"]
Pence = int


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DebtFact(_Facts):
    creditor: str = Field(min_length=1, max_length=200)
    kind: DebtKind | None = None
    balance_pence: Pence | None = Field(default=None, ge=0)
    from_fraud: bool = False

    @property
    def secured(self) -> bool:
        return self.kind in SECURED_KINDS


class AssetFact(_Facts):
    kind: AssetKind
    description: str = Field("", max_length=200)
    value_pence: Pence = Field(ge=0)


class IvaVote(_Facts):
    """How one creditor whose claim is admitted for voting votes (or would vote) on an IVA
    proposal, and the value of its claim."""

    creditor: str = Field(min_length=1, max_length=200)
    value_pence: Pence = Field(ge=0)
    vote: Literal["for", "against", "did_not_vote"]
    connected: bool = False  # an associate of the client (a relative, their company)


class ClientFacts(Circumstances):
    """Everything the rules may ask. Leave out what is not known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    debts: list[DebtFact] = Field(default_factory=list)
    # Debts proposed from documents or notes and not yet confirmed: counted nowhere, but
    # a result they could change is unknown rather than a pass. None: some proposal has
    # no amount.
    unconfirmed_debts: int = Field(0, ge=0)
    unconfirmed_debts_pence: Pence | None = Field(0, ge=0)
    monthly_surplus_pence: Pence | None = None
    assets: list[AssetFact] = Field(default_factory=list)
    iva_votes: list[IvaVote] | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
