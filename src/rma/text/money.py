"""Sums of money as people write them, read to the exact penny and written back.

One grammar for every reader: a currency mark (``£`` or ``GBP``) or none, the number
as one whole token (separators included, so an OCR-garbled ``£2.574.99`` is seen whole
and never read as £2), then ``k`` (thousands) or ``pounds``. Values are ``Decimal``
pounds to the penny; nothing here goes through a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rma.text.dates import find_dates

PENCE = Decimal("0.01")
# A written number in this grammar: thousands separated by commas, or none, then at
# most two decimals (more reads as a misplaced thousands separator: "£1.408").
_WELL_FORMED = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?")
_TOKEN = re.compile(
    r"(?:(?P<cur>£|\b(?i:GBP))\s?|(?<![\w/.,:£-]))"
    r"(?P<digits>\d(?:[\d,.]*\d)?)"
    r"(?P<k>\s?[kK](?![a-zA-Z]))?"
    r"(?P<pounds>\s+pounds?\b)?"
    r"(?!\d|/\d|:\d)"
)
# Longer runs of digits are references or counts, never rounded.
_EXACT_DIGITS = 15


@dataclass(frozen=True)
class Amount:
    """A number as written (``£4.2k``) and its value in pounds (``4200.00``)."""

    text: str
    value: Decimal
    #: written with a currency mark, ``k`` or "pounds"; bare numbers may be counts or refs
    is_money: bool
    start: int = 0
    end: int = 0
    #: the currency mark as written: "£", "GBP" or ""
    currency: str = ""


@dataclass(frozen=True)
class CurrencyToken:
    """A currency mark and the whole number-like token after it, as written.

    ``value`` is None when the token is not a well-formed amount (``£1,408,16``);
    :func:`read_misread_amount` may still read it."""

    text: str
    digits: str
    value: Decimal | None
    start: int
    end: int


def to_pounds(value: Decimal) -> Decimal:
    """``value`` to the penny (half up); a long run of digits is kept exact."""
    if value.adjusted() > _EXACT_DIGITS:
        return value
    return value.quantize(PENCE, rounding=ROUND_HALF_UP)


def to_pence(value: Decimal) -> int:
    """Whole pence: ``Decimal("4.2")`` is 420."""
    return int(to_pounds(value) * 100)


def _value(match: re.Match[str]) -> Decimal | None:
    written = _WELL_FORMED.fullmatch(match.group("digits"))
    if written is None:
        return None
    thousands = bool(match.group("k"))
    if len(written.group("dec") or "") > 2 and not thousands:
        return None
    value = Decimal(match.group("digits").replace(",", ""))
    return to_pounds(value * 1000 if thousands else value)


def _amount(match: re.Match[str], value: Decimal) -> Amount:
    money = bool(match.group("cur") or match.group("k") or match.group("pounds"))
    currency = (match.group("cur") or "").upper()
    return Amount(match.group(0), value, money, match.start(), match.end(), currency)


def parse_money(text: str) -> Decimal | None:
    """One amount written alone, in pounds to the penny; None if ``text`` is not one.

    ``"£1,234.56"``, ``"1234.56"``, ``"GBP 20"``, ``"£4.2k"``, ``"£5k"``, ``"680 pounds"``.
    Strict: ``"£1,408,16"``, ``"£2.574.99"`` and ``"about a grand"`` are not amounts.
    """
    match = _TOKEN.fullmatch(text.strip())
    return _value(match) if match else None


def find_amounts(text: str) -> list[Amount]:
    """Every well-formed number in ``text`` outside dates, in order: ``£4,230``, ``4230``
    and ``£4.23k`` all have the value 4230.00; :attr:`Amount.is_money` tells sums of
    money from bare numbers."""
    masked = _mask(text, [(d.start, d.end) for d in find_dates(text, date.today())])
    found = []
    for match in _TOKEN.finditer(masked):
        value = _value(match)
        if value is not None:
            found.append(_amount(match, value))
    return found


def find_money(text: str) -> list[Amount]:
    """The sums of money in ``text`` (:func:`find_amounts` that are money)."""
    return [a for a in find_amounts(text) if a.is_money]


def currency_tokens(text: str) -> list[CurrencyToken]:
    """Every ``£`` or ``GBP`` with the whole token after it, well-formed or not: a reader
    of OCR text must see ``£2.574.99`` whole to know it cannot trust it."""
    return [
        CurrencyToken(m.group(0), m.group("digits"), _value(m), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.group("cur")
    ]


def read_misread_amount(digits: str) -> Decimal | None:
    """The likely amount in a token OCR garbled with its separators (``1,408,16``,
    ``2.574.99``), only when the reading is unambiguous: the last separator has two
    digits after it (pence) and every earlier group has three. Anything else (``1.408``)
    is left unread."""
    parts = re.split(r"[.,]", digits)
    if len(parts) < 2 or len(parts[-1]) != 2 or not 1 <= len(parts[0]) <= 3:
        return None
    if any(len(group) != 3 for group in parts[1:-1]):
        return None
    return Decimal("".join(parts[:-1]) + "." + parts[-1])


def format_money(value: Decimal, *, pence: bool = False) -> str:
    """``£4,230`` or ``£1,250.50``: how RMA writes a sum, pence only when there are some
    (``pence=True``: always, ``£4,230.00``, as creditors print statements)."""
    if value == value.to_integral_value() and not pence:
        return f"£{int(value):,}"
    return f"£{to_pounds(value):,.2f}"


def format_pence(pence: int) -> str:
    """A sum held in whole pence, written as :func:`format_money` writes it (``£2,074.87``,
    ``£50,000``); below zero, the minus sign first (``-£50``)."""
    sign = "-" if pence < 0 else ""
    return sign + format_money(Decimal(abs(pence)) / 100)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
