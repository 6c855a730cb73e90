"""What may be written into a case: the inputs of the store, which the app's JSON API
takes as they are. Money is whole pence; unknown fields are refused, not ignored."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rma.cases.budget import categories
from rma.cases.kinds import DebtKind

Frequency = Literal["weekly", "fortnightly", "four_weekly", "monthly", "quarterly", "yearly"]
Direction = Literal["income", "spending"]
AssetKind = Literal["vehicle", "savings", "property", "other"]
Pence = int


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClientDetails(_Input):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    date_of_birth: date | None = None
    vulnerability_notes: str | None = Field(
        None, max_length=20_000, description="Sensitive: shown only when asked for."
    )


class ClientUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    date_of_birth: date | None = None
    vulnerability_notes: str | None = Field(default=None, max_length=20_000)


class NewCase(_Input):
    client: ClientDetails
    adviser_id: int | None = None
    team_id: int | None = None
    opened_on: date | None = None


class CaseUpdate(_Input):
    status: Literal["open", "closed"] | None = None
    closed_on: date | None = None
    adviser_id: int | None = None
    team_id: int | None = None


class Circumstances(BaseModel):
    """What eligibility asks beyond money, as the case records it (each None until known)."""

    model_config = ConfigDict(extra="forbid")

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


class CircumstancesUpdate(Circumstances):
    """Any of the facts eligibility asks; null sets a fact back to not known."""


class DebtDetails(_Input):
    """A debt's figures. In a correction, only the figures given change."""

    creditor: str | None = Field(default=None, min_length=1, max_length=200)
    kind: DebtKind | None = None
    balance_pence: Pence | None = Field(default=None, ge=0)
    arrears_pence: Pence | None = Field(default=None, ge=0)
    reference: str | None = Field(default=None, max_length=80)
    goods_essential: bool | None = None
    from_fraud: bool | None = None


class Decision(_Input):
    """An adviser's decision on a proposed debt: corrections to apply, and why."""

    corrections: DebtDetails = Field(default_factory=lambda: DebtDetails.model_validate({}))
    note: str = Field("", max_length=2000)


class Rejection(_Input):
    reason: str = Field(min_length=1, max_length=2000)


class BudgetLineIn(_Input):
    direction: Direction
    category: str = Field(min_length=1, max_length=40)
    label: str | None = Field(default=None, max_length=120)
    amount_pence: Pence = Field(ge=0)
    frequency: Frequency = "monthly"

    @model_validator(mode="after")
    def _known_category(self) -> BudgetLineIn:
        known = categories(self.direction)
        if self.category not in known:
            raise ValueError(
                f"{self.category!r} is not a {self.direction} category of the Standard "
                f"Financial Statement; use one of: {', '.join(known)}"
            )
        return self


class AssetIn(_Input):
    kind: AssetKind
    description: str = Field(min_length=1, max_length=200)
    value_pence: Pence = Field(ge=0)


class NoteIn(_Input):
    body: str = Field(min_length=1, max_length=200_000)


class LetterEdit(_Input):
    """A letter's new text, written by hand (the whole text, as it should go out)."""

    body: str = Field(min_length=1, max_length=200_000)

    @model_validator(mode="after")
    def _has_text(self) -> LetterEdit:
        if not self.body.strip():
            raise ValueError("a letter needs some text")
        return self
