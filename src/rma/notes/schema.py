"""The shapes of the notes service: what the model extracts, what the API takes and gives.

The model fills :class:`NotesExtraction` (grammar-constrained, then validated). It
copies amounts and dates *as written*; code normalises and verifies them, so the
response types (:class:`Action`, :class:`Debt`) carry values code has checked.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rma.llm.types import Provenance
from rma.notes.checks import LetterWarning

# Bounds keep the constrained output short enough for a small model's context.
MAX_ITEMS = 5
MAX_PHRASE = 150
Phrase = Annotated[str, StringConstraints(max_length=MAX_PHRASE)]


class ExtractedAction(BaseModel):
    action: str = Field(
        max_length=MAX_PHRASE,
        description="One action in plain English, starting with a verb.",
    )
    due: str | None = Field(
        max_length=30,
        description="The deadline exactly as written in the notes (e.g. 12/3), or null.",
    )


class ExtractedDebt(BaseModel):
    creditor: str = Field(max_length=60, description="The creditor's name as in the notes.")
    amount: str | None = Field(
        max_length=20, description="The amount owed exactly as written (e.g. £4.2k)."
    )


class NotesExtraction(BaseModel):
    """What the model reads from case notes, in plain English, addressed to the client."""

    # Every field is required, so constrained decoding makes the model fill each one.
    matters_discussed: list[Phrase] = Field(
        max_length=MAX_ITEMS, description="What was talked about, one short sentence each."
    )
    our_actions: list[ExtractedAction] = Field(max_length=MAX_ITEMS)
    your_actions: list[ExtractedAction] = Field(max_length=MAX_ITEMS)
    debts: list[ExtractedDebt] = Field(max_length=MAX_ITEMS + 1)


# ----------------------------------------------------------------- API request

Tone = Literal["warm", "formal"]
OutputFormat = Literal["json", "docx"]

# Letters, marks, digits, spaces and the punctuation real names use; nothing that a
# word processor, browser or template could read as markup.
_NAME = re.compile(r"^[\w .,'’()&/-]+$")
_MARKUP = re.compile(r"[<>{}\[\]`*_#|\\$=]")


def _person_or_body(value: str | None, what: str, max_len: int) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        return None
    if len(value) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError(f"{what} contains control characters")
    if _MARKUP.search(value) or not _NAME.match(value):
        raise ValueError(
            f"{what} may contain only letters, digits, spaces and . , ' ’ ( ) & / - "
            "(markup is not accepted)"
        )
    return value


class CaseDebt(BaseModel):
    """A debt the case record holds as confirmed by the adviser. A request that carries
    these lists them in the letter instead of the debts code reads from the notes."""

    model_config = ConfigDict(extra="forbid")

    creditor: str = Field(min_length=1, max_length=100)
    kind: str | None = Field(None, max_length=60)
    balance: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    priority: bool | None = Field(
        None, description="Whether it is a priority debt; by the usual rules if not given."
    )


class ConvertRequest(BaseModel):
    """``POST /convert``: an adviser's notes and who the letter is to and from."""

    model_config = ConfigDict(extra="forbid")

    notes: str = Field(description="The case notes, as the adviser wrote them (UTF-8 text).")
    client_name: str = Field(description="How the letter addresses the client.")
    adviser_name: str | None = None
    organisation: str | None = None
    tone: Tone = "warm"
    appointment_date: date | None = Field(
        None,
        description="When the appointment was; dates like 12/3 in the notes are resolved "
        "against it. Default: a 'Date:' line in the notes, else today.",
    )
    debts: list[CaseDebt] | None = Field(
        default=None,
        max_length=100,
        description="The case's confirmed debts; the letter lists these instead of the "
        "debts read from the notes.",
    )

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("notes contain a NUL character; send plain text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("notes contain characters that are not valid text") from None
        value = unicodedata.normalize("NFC", value).replace("\r\n", "\n")
        # Page breaks and other control characters from pasted text read as spaces.
        value = "".join(
            " " if unicodedata.category(ch) == "Cc" and ch not in "\n\t" else ch for ch in value
        )
        if not value.strip():
            raise ValueError("notes are empty: there is nothing to write a letter from")
        return value

    @field_validator("client_name")
    @classmethod
    def _client(cls, value: str) -> str:
        checked = _person_or_body(value, "client_name", 100)
        if checked is None:
            raise ValueError("client_name is empty")
        return checked

    @field_validator("adviser_name")
    @classmethod
    def _adviser(cls, value: str | None) -> str | None:
        return _person_or_body(value, "adviser_name", 100)

    @field_validator("organisation")
    @classmethod
    def _organisation(cls, value: str | None) -> str | None:
        return _person_or_body(value, "organisation", 150)


# ---------------------------------------------------------------- API response


class Action(BaseModel):
    action: str
    due: date | None = Field(None, description="The deadline, resolved by code from the notes.")
    due_as_written: str | None = None


class Debt(BaseModel):
    creditor: str
    amount: str | None = Field(None, description="Pounds, normalised by code (e.g. '4230.00').")
    amount_as_written: str | None = None
    priority: str | None = Field(
        None, description="Why this is a priority debt (e.g. 'council tax'), if it is one."
    )
    kind: str | None = Field(None, description="What kind of debt (e.g. 'credit card').")
    original_creditor: str | None = Field(None, description="Who lent the money first.")
    next: str | None = Field(None, description="What happens next with it, in plain words.")
    source: Literal["notes", "case"] = Field(
        "notes", description="Read from the notes by code, or the case's confirmed debts."
    )


class AdviceGiven(BaseModel):
    """The advice as the notes record it (read by code, spelt out)."""

    options_discussed: list[str] = Field(default_factory=list)
    recommended: str | None = None
    reason: str | None = None


class StepProvenance(Provenance):
    """The model call behind one step of a conversion (``extract``, ``reword``)."""

    step: str


class ConvertResponse(BaseModel):
    id: str | None = Field(None, description="Set when letters are kept for download.")
    appointment_date: date
    matters_discussed: list[str]
    our_actions: list[Action]
    your_actions: list[Action]
    debts: list[Debt]
    advice: AdviceGiven = Field(default_factory=AdviceGiven)
    letter: str
    reading_age: float
    reading_age_target: float
    reworded: bool
    degraded: bool = Field(
        False,
        description="True when the model's reply could not be used: every sentence of the "
        "letter was written by code from the notes (warning model_output_unusable).",
    )
    checked: dict[str, int] = Field(
        description="How many amounts, dates, creditors (in the letter) and actions (in the "
        "notes) the final checks compared."
    )
    warnings: list[LetterWarning]
    provenance: list[StepProvenance]
