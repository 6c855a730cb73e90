"""Council tax papers (the year's bill, a reminder, a final notice, a summons) and
energy and water bills."""

from __future__ import annotations

import random
from datetime import date, timedelta

from rma.documents.classify import DocType
from rma.documents.corpus.document import (
    Box,
    CorpusDocument,
    Grid,
    Letterhead,
    Pair,
    Sheet,
    Table,
    Text,
)
from rma.documents.corpus.formats import money, write_date
from rma.documents.corpus.house import Writer, address_lines, house_style, on_letterhead
from rma.documents.corpus.names import ENERGY, WATER, Organisation, client, digits, reference

BANDS = {"A": 140_000, "B": 163_300, "C": 186_700, "D": 210_000, "E": 256_700, "F": 303_300}


def council_tax(rng: random.Random, doc_id: str, notice: str) -> CorpusDocument:
    """A council tax ``notice``: ``bill`` (the year's charge and instalments), ``reminder``
    (instalments missed, pay within 7 days), ``final_notice`` (the year's balance now due)
    or ``summons`` (to the magistrates' court for a liability order, with costs)."""
    person = client(rng)
    council = person.town.council
    style = house_style(rng)
    head = Letterhead(
        council,
        (
            "Council Tax Section",
            rng.choice(("Town Hall", "Civic Centre", "Municipal Buildings"))
            + f", {person.town.name}",
        ),
    )
    sheet = Sheet(
        doc_id, DocType.COUNCIL_TAX_BILL.value, style, head, (f"Council Tax Section, {council}",)
    )
    w = Writer(sheet, rng)
    sheet.put("council", council, council)
    year = rng.choice((2025, 2026))
    tax_year = f"{year}/{(year + 1) % 100:02d}"
    band = rng.choice(tuple(BANDS))
    annual = BANDS[band] + rng.randrange(-9_000, 9_000)
    if rng.random() < 0.35:
        annual = round(annual * 0.75)  # single person discount
    account = digits(rng, rng.choice((8, 9, 10)))
    if notice == "bill":
        issued = date(year, 3, rng.randint(3, 14))
    else:
        issued = date(year, rng.randint(5, 11), rng.randint(1, 28))
    sheet.add(
        Pair(
            address_lines(person),
            (
                f"Account reference: {sheet.put('account_reference', account, account)}",
                f"Date of issue: {w.date('letter_date', issued)}",
                f"Property band: {band}",
            ),
            boxed=rng.random() < 0.5,
        )
    )
    sheet.gap(14)
    title = {
        "bill": f"Council Tax Bill {tax_year}",
        "reminder": "COUNCIL TAX REMINDER NOTICE",
        "final_notice": "COUNCIL TAX FINAL NOTICE",
        "summons": "SUMMONS",
    }[notice]
    sheet.line(sheet.put("notice", notice, title), "title")
    if notice != "bill":
        sheet.line(f"Council Tax {tax_year}", "heading")
    sheet.put("tax_year", tax_year, tax_year)
    sheet.gap(8)
    if notice == "bill":
        _bill(sheet, w, rng, annual, year)
    elif notice == "reminder":
        due = annual // 10 * rng.choice((1, 2))
        by = issued + timedelta(days=7)
        sheet.add(
            Text(
                "Our records show that your council tax instalments have not been paid as "
                "they fell due."
            )
        )
        sheet.gap(6)
        sheet.add(
            Box((f"Amount now due: {w.money('amount', due)}", f"Pay by: {w.date('deadline', by)}"))
        )
        sheet.gap(6)
        sheet.add(
            Text(
                "If you pay the amount due within 7 days you may keep paying by "
                "instalments. If you do not, you will lose the right to pay by instalments "
                "and the whole of the year's balance will become due."
            )
        )
    elif notice == "final_notice":
        due = annual - annual // 10 * rng.randint(1, 4)
        by = issued + timedelta(days=7)
        sheet.add(
            Text(
                "You have lost the right to pay by instalments because you did not pay "
                "after a reminder."
            )
        )
        sheet.gap(6)
        sheet.add(
            Grid(
                (
                    ("Annual charge", w.amount(annual)),
                    ("Balance now due for the year", w.money("amount", due)),
                    ("Pay in full by", w.date("deadline", by)),
                ),
                boxed=True,
            )
        )
        sheet.gap(6)
        sheet.add(
            Text(
                "If you do not pay we will apply to the magistrates' court for a liability "
                "order, which will add costs to the amount you owe."
            )
        )
    else:
        _summons(sheet, w, rng, annual, issued, person.town.magistrates)
    sheet.gap(10)
    sheet.add(
        Text(
            rng.choice(
                (
                    "Pay online at our website, by phone on our automated line, or at any "
                    "PayPoint.",
                    "If you are having difficulty paying, contact us now: you may be entitled to "
                    "council tax support or a discount.",
                )
            )
        )
    )
    sheet.label(f"council tax {notice.replace('_', ' ')}")
    return sheet.done()


def _bill(sheet: Sheet, w: Writer, rng: random.Random, annual: int, year: int) -> None:
    county = round(annual * rng.uniform(0.68, 0.76))
    police = round(annual * rng.uniform(0.1, 0.14))
    fire = round(annual * 0.045)
    council_share = annual - county - police - fire
    sheet.add(
        Table(
            ("Your council tax is made up of", "Amount"),
            (
                ("Council", money(county)),
                ("Adult social care", money(council_share)),
                ("Police and Crime Commissioner", money(police)),
                ("Fire and Rescue Authority", money(fire)),
                ("Amount payable for the year", w.money("amount", annual)),
            ),
            (0.75, 0.25),
            ("left", "right"),
        )
    )
    sheet.gap(8)
    sheet.line("Instalments", "heading")
    count = rng.choice((10, 10, 12))
    first = annual - annual // count * (count - 1)
    rows = []
    for i in range(count):
        month = 4 + i
        d = date(year + (month > 12), (month - 1) % 12 + 1, 1)
        amount = first if i == 0 else annual // count
        printed_date = write_date(d, "long")
        printed_amount = money(amount)
        sheet.put_item(
            "instalments", {"date": d.isoformat(), "amount": amount}, printed_date, printed_amount
        )
        rows.append((printed_date, printed_amount))
    sheet.add(Table(("Due on", "Amount"), tuple(rows), (0.5, 0.5), ("left", "right"), ruled=False))


def _summons(
    sheet: Sheet, w: Writer, rng: random.Random, annual: int, issued: date, court: str
) -> None:
    due = annual - annual // 10 * rng.randint(2, 5)
    costs = rng.choice((7_000, 8_500, 9_000, 11_550))
    hearing = issued + timedelta(days=rng.randint(17, 30))
    while hearing.weekday() >= 5:
        hearing += timedelta(days=1)
    sheet.add(
        Text(
            f"To: the person named above. Complaint has been made by the billing authority "
            f"that you have not paid council tax due. You are summoned to appear before "
            f"{sheet.put('court', court, court)}."
        )
    )
    sheet.gap(6)
    sheet.add(
        Grid(
            (
                ("Hearing date", f"{w.date('hearing_date', hearing)} at 10:00"),
                ("Amount outstanding", w.money("amount", due)),
                ("Costs incurred", w.money("costs", costs)),
                ("Total", money(due + costs)),
            ),
            boxed=True,
            bold_values=True,
        )
    )
    sheet.gap(6)
    sheet.add(
        Text(
            "If you pay the total shown before the hearing, the council will withdraw the "
            "complaint. If a liability order is made, further costs may be added and the "
            "council may use enforcement agents or take deductions from wages or benefits."
        )
    )


def utility_bill(rng: random.Random, doc_id: str, fuel: str) -> CorpusDocument:
    """An energy or water bill with arrears brought forward; ``fuel``: electricity, gas,
    dual_fuel or water."""
    supplier: Organisation = rng.choice(WATER if fuel == "water" else ENERGY)
    person = client(rng)
    sheet, w = on_letterhead(rng, doc_id, DocType.UTILITY_BILL.value, supplier, "supplier")
    issued = date(2025, 1, 6) + timedelta(days=rng.randrange(0, 520))
    end = issued - timedelta(days=rng.randint(2, 6))
    start = end - timedelta(days=(182 if fuel == "water" else rng.choice((30, 31, 91))) - 1)
    due = issued + timedelta(days=14)
    account = reference(rng, rng.choice(("99999999", "9999 999 999", "A99999999")))
    sheet.add(
        Pair(
            address_lines(person),
            (
                f"Account number: {sheet.put('account_reference', account, account)}",
                f"Bill date: {w.date('letter_date', issued)}",
            ),
            boxed=rng.random() < 0.5,
        )
    )
    sheet.gap(12)
    title = {
        "electricity": "Your electricity bill",
        "gas": "Your gas bill",
        "dual_fuel": "Your energy bill",
        "water": "Your water and sewerage bill",
    }[fuel]
    sheet.line(sheet.put("fuel", fuel, title), "title")
    sheet.add(
        Text(f"For the period {w.date('period_start', start)} to {w.date('period_end', end)}")
    )
    if fuel != "water":
        meter = rng.choice(("credit", "prepayment", "smart_credit", "smart_prepayment"))
        wording = {
            "credit": "Standard credit meter",
            "prepayment": "Prepayment meter",
            "smart_credit": "Smart meter (credit)",
            "smart_prepayment": "Smart meter in prepayment mode",
        }[meter]
        sheet.add(Text(f"Meter type: {sheet.put('meter_type', meter, wording)}"))
    sheet.gap(8)
    arrears = rng.randrange(8_000, 140_000)
    rows: list[tuple[str, str]] = []
    charges = 0
    fuels = ("electricity", "gas") if fuel == "dual_fuel" else (fuel,)
    for f in fuels:
        if f == "water":
            water = rng.randrange(9_000, 26_000)
            sewer = rng.randrange(9_000, 24_000)
            rows += [("Water supply charges", money(water)), ("Sewerage charges", money(sewer))]
            charges += water + sewer
            continue
        units = rng.randrange(180, 1_400)
        rate = (
            rng.choice((2_486, 2_703, 2_457)) if f == "electricity" else rng.choice((634, 693, 598))
        )
        days = (end - start).days + 1
        standing = rng.choice((5_371, 6_097, 3_175)) if f == "electricity" else 3_165
        energy = round(units * rate / 100)
        standing_total = round(days * standing / 100)
        rows += [
            (f"{f.title()}: {units} kWh at {rate / 100:.2f}p per kWh", money(energy)),
            (
                f"{f.title()} standing charge: {days} days at {standing / 100:.2f}p",
                money(standing_total),
            ),
        ]
        charges += energy + standing_total
    vat = round(charges * 0.05) if fuel != "water" else 0
    if vat:
        rows.append(("VAT at 5%", money(vat)))
    total = arrears + charges + vat
    sheet.add(
        Table(
            ("Summary", "Amount"),
            (
                (
                    rng.choice(
                        (
                            "Previous balance not paid",
                            "Arrears brought forward",
                            "Amount outstanding from your last bill",
                        )
                    ),
                    w.money("arrears", arrears),
                ),
                *rows,
                ("Charges this period", money(charges + vat)),
            ),
            (0.78, 0.22),
            ("left", "right"),
        )
    )
    sheet.gap(8)
    sheet.add(
        Box(
            (
                f"Total to pay: {w.money('balance', total)}",
                f"Please pay by {w.date('deadline', due)}",
            )
        )
    )
    sheet.gap(8)
    sheet.add(
        Text(
            "You are behind with your payments. If you are struggling to pay, contact us "
            "about a payment plan or help schemes; we will not disconnect you while we "
            "agree one."
        )
    )
    return sheet.done()
