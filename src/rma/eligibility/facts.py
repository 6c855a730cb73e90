"""What the eligibility rules read about a client: debts, surplus, assets, circumstances.

The same shape comes from a case (:func:`rma.cases.store.CaseStore.client_facts`), from a
JSON file (``rma eligibility FILE.json``) and from ``POST /eligibility``. Money is whole
pence. ``None`` means not known: the rules treat it as unknown, never as the answer that
would let a client qualify.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rma.limits.table import display_value

# What kind of debt it is: decides its priority (rma.cases.priority) and whether a DRO
# can include it. The names are the record's vocabulary; a debt of no known kind is None.
DEBT_KINDS: dict[str, str] = {
    "mortgage": "mortgage",
    "secured_loan": "loan secured on the home",
    "rent": "rent arrears",
    "council_tax": "council tax",
    "gas": "gas",
    "electricity": "electricity",
    "water": "water",
    "magistrates_fine": "magistrates' court fine",
    "child_maintenance": "child maintenance",
    "hmrc": "income tax, VAT or National Insurance",
    "tv_licence": "TV licence",
    "hire_purchase": "hire purchase or conditional sale",
    "credit_card": "credit card",
    "personal_loan": "personal loan",
    "overdraft": "overdraft",
    "catalogue": "catalogue",
    "buy_now_pay_later": "buy now pay later",
    "payday_loan": "payday loan",
    "student_loan": "student loan",
    "social_fund": "social fund loan",
    "benefit_overpayment": "benefit overpayment",
    "other": "other debt",
}
SECURED_KINDS = frozenset({"mortgage", "secured_loan"})
DebtKind = Literal[
    "mortgage", "secured_loan", "rent", "council_tax", "gas", "electricity", "water",
    "magistrates_fine", "child_maintenance", "hmrc", "tv_licence", "hire_purchase",
    "credit_card", "personal_loan", "overdraft", "catalogue", "buy_now_pay_later",
    "payday_loan", "student_loan", "social_fund", "benefit_overpayment", "other",
]  # fmt: skip
AssetKind = Literal["vehicle", "savings", "property", "other"]
Pence = int


def pounds(pence: int) -> str:
    """£1,234.56, or £1,234 for whole pounds."""
    sign = "-" if pence < 0 else ""
    return sign + display_value(Decimal(abs(pence)) / 100, "GBP")


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

    def label(self) -> str:
        kind = DEBT_KINDS[self.kind] if self.kind else "kind not recorded"
        owed = pounds(self.balance_pence) if self.balance_pence is not None else "amount unknown"
        return f"{self.creditor} ({kind}, {owed})"


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


class Circumstances(_Facts):
    """What the rules ask beyond money (each None until known)."""

    # Lived, had a home or carried on business in England or Wales in the last 3 years.
    lived_in_england_wales: bool | None = None
    previous_dro: bool | None = None
    previous_dro_on: date | None = None
    bankrupt: bool | None = None
    in_iva: bool | None = None
    pending_petition: bool | None = None
    petitioner_consents: bool | None = None
    # The adviser has recorded every asset (so a short list means few assets).
    assets_complete: bool | None = None
    unable_to_pay: bool | None = None
    in_breathing_space: bool | None = None
    previous_breathing_space: bool | None = None
    previous_breathing_space_on: date | None = None
    mental_health_crisis_treatment: bool | None = None


class ClientFacts(Circumstances):
    """Everything the rules may ask. Leave out what is not known."""

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
