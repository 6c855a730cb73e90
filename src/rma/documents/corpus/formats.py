"""The ways real papers write money and dates, so the set is not all one style.

These only write values; reading them back is the pipeline's job, and the answer key
holds the value itself (pence, ISO date), never a string to be parsed.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Literal

MoneyStyle = Literal["symbol", "symbol_no_comma", "gbp", "bare"]
DateStyle = Literal[
    "long", "ordinal", "short_month", "numeric", "dotted", "weekday", "dash_month", "numeric_short"
]
RowDateStyle = Literal["day_month", "numeric_day_month", "day_month_year", "compact"]
OverdrawnStyle = Literal["minus", "od", "dr_suffix"]

MONEY_STYLES: tuple[MoneyStyle, ...] = ("symbol", "symbol", "symbol_no_comma", "gbp")
DATE_STYLES: tuple[DateStyle, ...] = (
    "long",
    "ordinal",
    "short_month",
    "numeric",
    "dotted",
    "weekday",
    "dash_month",
    "numeric_short",
)
ROW_DATE_STYLES: tuple[RowDateStyle, ...] = (
    "day_month",
    "numeric_day_month",
    "day_month_year",
    "compact",
)
OVERDRAWN_STYLES: tuple[OverdrawnStyle, ...] = ("minus", "od", "dr_suffix")


def pounds(pence: int, comma: bool = True) -> str:
    """'1,234.56' from 123456 (no sign, no symbol)."""
    whole, part = divmod(abs(pence), 100)
    return f"{whole:,}.{part:02d}" if comma else f"{whole}.{part:02d}"


def money(pence: int, style: MoneyStyle = "symbol") -> str:
    """An amount as a letter writes it: '£1,234.56', '£1234.56', 'GBP 1,234.56', '1,234.56'."""
    if pence < 0:
        raise ValueError("letters write amounts owed as positive figures")
    if style == "symbol":
        return f"£{pounds(pence)}"
    if style == "symbol_no_comma":
        return f"£{pounds(pence, comma=False)}"
    if style == "gbp":
        return f"GBP {pounds(pence)}"
    return pounds(pence)


def balance_cell(pence: int, style: OverdrawnStyle) -> str:
    """A statement's running balance; overdrawn shown by its bank's convention."""
    if pence >= 0:
        return pounds(pence)
    if style == "minus":
        return f"-{pounds(pence)}"
    if style == "od":
        return f"{pounds(pence)} OD"
    return f"{pounds(pence)}D"


def signed_money(pence: int, style: OverdrawnStyle) -> str:
    """A summary's balance: '£1,234.56'; overdrawn '-£45.10', '£45.10 OD' or '£45.10 DR'."""
    if pence >= 0:
        return f"£{pounds(pence)}"
    if style == "minus":
        return f"-£{pounds(pence)}"
    return f"£{pounds(pence)} {'OD' if style == 'od' else 'DR'}"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def write_date(d: date, style: DateStyle) -> str:
    """A date as letters write it; UK order always (day before month)."""
    if style == "long":
        return f"{d.day} {d:%B %Y}"
    if style == "ordinal":
        return f"{_ordinal(d.day)} {d:%B %Y}"
    if style == "short_month":
        return f"{d:%d %b %Y}"
    if style == "numeric":
        return f"{d:%d/%m/%Y}"
    if style == "dotted":
        return f"{d:%d.%m.%Y}"
    if style == "weekday":
        return f"{d:%A} {d.day} {d:%B %Y}"
    if style == "dash_month":
        return f"{d:%d-%b-%Y}"
    return f"{d:%d/%m/%y}"


def row_date(d: date, style: RowDateStyle) -> str:
    """A statement row's date, often without the year (the period gives it)."""
    if style == "day_month":
        return f"{d:%d %b}"
    if style == "numeric_day_month":
        return f"{d:%d/%m}"
    if style == "day_month_year":
        return f"{d:%d %b %y}"
    return f"{d:%d%b}".upper()


def pick_money(rng: random.Random) -> MoneyStyle:
    return rng.choice(MONEY_STYLES)


def pick_date(rng: random.Random) -> DateStyle:
    return rng.choice(DATE_STYLES)
