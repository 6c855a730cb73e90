"""What every generated paper shares: a sender's house style, letterhead, footer, the
client's address block and the dates letters carry."""

from __future__ import annotations

import datetime
import random
from datetime import date, timedelta

from rma.documents.corpus.document import HouseStyle, Letterhead, Sheet
from rma.documents.corpus.formats import (
    DateStyle,
    MoneyStyle,
    money,
    pick_date,
    pick_money,
    write_date,
)
from rma.documents.corpus.names import Client, Organisation

ACCENTS = (
    (0.05, 0.25, 0.55),
    (0.55, 0.05, 0.15),
    (0.0, 0.42, 0.36),
    (0.2, 0.2, 0.2),
    (0.35, 0.1, 0.5),
    (0.85, 0.4, 0.0),
)
# Letters are dated across two years so date styles meet every month.
FIRST_LETTER_DATE = date(2025, 1, 6)
LETTER_DATE_SPAN_DAYS = 540


def house_style(
    rng: random.Random, *, letterhead: bool = True, font: str | None = None
) -> HouseStyle:
    kind = rng.choice(("plain", "band", "centred", "logo")) if letterhead else "none"
    return HouseStyle(
        font=font
        or rng.choice(
            ("helvetica", "helvetica", "times", "dejavu-sans", "dejavu-serif", "courier")
        ),  # type: ignore[arg-type]
        size=rng.choice((9.5, 10.0, 10.5, 11.0)),
        margin=rng.choice((48.0, 56.0, 64.0)),
        letterhead=kind,  # type: ignore[arg-type]
        accent=rng.choice(ACCENTS),
        page_numbers=rng.random() < 0.7,
    )


def letterhead(org: Organisation, rng: random.Random) -> Letterhead:
    lines = [", ".join(org.address)] if rng.random() < 0.5 else list(org.address)
    lines.append(
        rng.choice((f"Telephone {org.phone}", f"Tel: {org.phone}", f"Call us on {org.phone}"))
    )
    return Letterhead(org.name, tuple(lines))


def footer(org: Organisation, *extra: str) -> tuple[str, ...]:
    lines = [org.registration] if org.registration else []
    return (*lines, *extra)


FCA_LINE = "Authorised and regulated by the Financial Conduct Authority."


def on_letterhead(
    rng: random.Random,
    doc_id: str,
    doc_type: str,
    sender: Organisation,
    name_field: str,
    *footer_lines: str,
) -> tuple[Sheet, Writer]:
    """A sheet on ``sender``'s letterhead in a house style, with the sender's name in the
    key as ``name_field`` (printed in the letterhead, on page 1)."""
    sheet = Sheet(
        doc_id, doc_type, house_style(rng), letterhead(sender, rng), footer(sender, *footer_lines)
    )
    w = Writer(sheet, rng)
    sheet.put(name_field, sender.name, sender.name)
    return sheet, w


def letter_date(rng: random.Random) -> date:
    return FIRST_LETTER_DATE + timedelta(days=rng.randrange(LETTER_DATE_SPAN_DAYS))


def address_lines(person: Client) -> tuple[str, ...]:
    return (person.full_name if person.first else person.formal, *person.address)


def salutation(person: Client, rng: random.Random) -> str:
    return rng.choice(
        (f"Dear {person.title} {person.surname}", "Dear Customer", f"Dear {person.first}")
    )


class Writer:
    """A document's chosen money and date styles, bound to its sheet's key."""

    def __init__(self, sheet: Sheet, rng: random.Random) -> None:
        self.sheet = sheet
        self.money_style: MoneyStyle = pick_money(rng)
        self.date_style: DateStyle = pick_date(rng)

    def money(self, name: str, pence: int) -> str:
        return self.sheet.put(name, pence, money(pence, self.money_style))

    def date(self, name: str, d: datetime.date, style: DateStyle | None = None) -> str:
        return self.sheet.put(name, d.isoformat(), write_date(d, style or self.date_style))

    def text(self, name: str, value: str) -> str:
        return self.sheet.put(name, value, value)

    def amount(self, pence: int) -> str:
        """An amount printed without going into the key (a distractor, a sub-total)."""
        return money(pence, self.money_style)

    def day(self, d: datetime.date, style: DateStyle | None = None) -> str:
        """A date printed without going into the key."""
        return write_date(d, style or self.date_style)
