"""From what a document says to what an adviser is asked to confirm.

The doc-processor reads a document into pages, a type and fields (each with its page,
the words it came from, a confidence and whether code verified it against the text).
Here those fields become at most one *proposed* debt per document: new, or an update to
a debt already confirmed on the case with the same reference (or, without one, the same
creditor). Figures the fields cannot give exactly (an amount that is not a number of
pounds and pence) are left out and said so. Nothing here changes a confirmed figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rma.text.money import PENCE, parse_money, to_pence

# The doc-processor's field names for each figure of a debt, in order of preference
# (each document type names its own: a council tax paper's council and amount, a claim's
# claimant and total, a bill's supplier).
FIGURE_FIELDS: dict[str, tuple[str, ...]] = {
    "creditor": ("creditor", "council", "claimant", "supplier"),
    "balance": ("balance", "total", "amount"),
    "arrears": ("arrears",),
    "reference": ("account_reference", "claim_number"),
}
# A document's type that says what kind of debt it is about.
KIND_OF_DOCUMENT: dict[str, str] = {"council_tax_bill": "council_tax"}


@dataclass(frozen=True)
class FieldRead:
    name: str
    value: str
    page: int | None
    quote: str
    confidence: float
    verified: bool
    method: str
    note: str = ""
    # Where the quote is on its page (left, top, right, bottom, in the page's size units).
    boxes: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class PageRead:
    number: int
    text: str
    method: str
    confidence: float | None
    # Width and height in the units of the fields' boxes; None if not given.
    size: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "method": self.method,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class DocumentReading:
    """What the doc-processor returned for one document."""

    doc_type: str
    pages: tuple[PageRead, ...]
    fields: tuple[FieldRead, ...]
    warnings: tuple[str, ...] = ()


@dataclass
class ProposedFigures:
    """The figures one document proposes, each with the field it came from."""

    creditor: str | None = None
    kind: str | None = None
    balance_pence: int | None = None
    arrears_pence: int | None = None
    reference: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # figure -> field name
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.creditor is None and self.balance_pence is None and self.arrears_pence is None


def place_of(
    found: FieldRead, sizes: dict[int, tuple[float, float]]
) -> dict[str, list[float] | list[list[float]]] | None:
    """Where a field's quote is on its page, as kept with the field: the page's size and
    the boxes inside it; None without boxes or a size for its page."""
    size = sizes.get(found.page) if found.page is not None else None
    if size is None or not found.boxes:
        return None
    width, height = size
    boxes = [
        [round(max(0.0, left), 1), round(max(0.0, top), 1),
         round(min(width, right), 1), round(min(height, bottom), 1)]
        for left, top, right, bottom in found.boxes
        if left < width and top < height and right > 0 and bottom > 0
    ]  # fmt: skip
    return {"size": [round(width, 1), round(height, 1)], "boxes": boxes} if boxes else None


def pence_of(value: str) -> int | None:
    """An amount as the services give it ('1234.56', '£1,234.56') in whole pence; None if
    it is not a sum of money to the penny."""
    amount = parse_money(value)
    if amount is None or amount < 0 or amount != amount.quantize(PENCE):
        return None
    return to_pence(amount)


def propose(reading: DocumentReading) -> ProposedFigures:
    """The debt figures a document's fields give (empty when it names no debt)."""
    by_name = {f.name: f for f in reading.fields}
    figures = ProposedFigures(kind=KIND_OF_DOCUMENT.get(reading.doc_type))
    for figure, names in FIGURE_FIELDS.items():
        found = next((by_name[n] for n in names if n in by_name and by_name[n].value), None)
        if found is None:
            continue
        if figure in ("balance", "arrears"):
            pence = pence_of(found.value)
            if pence is None:
                figures.warnings.append(f"the {figure} read ({found.name}) is not an amount")
                continue
            setattr(figures, f"{figure}_pence", pence)
        else:
            setattr(figures, figure, found.value.strip()[: 200 if figure == "creditor" else 80])
        figures.sources[figure] = found.name
    return figures


def same_debt(reference: str | None, creditor: str | None, other_reference: str | None,
              other_creditor: str | None) -> bool:  # fmt: skip
    """Two debts are the same by reference when both have one, else by creditor's name."""

    def squash(text: str | None) -> str:
        return "".join(ch for ch in (text or "").casefold() if ch.isalnum())

    if squash(reference) and squash(other_reference):
        return squash(reference) == squash(other_reference)
    return bool(squash(creditor)) and squash(creditor) == squash(other_creditor)
