"""Bank statements (a month of transactions as a table) and Universal Credit statements.

A bank statement is built from a month of events (benefits and wages in, rent, direct
debits to creditors, shopping, bank charges, and sometimes the bank taking money from a
benefit payment to cover its own loan), then printed as a table with running balances.
The key holds every row and each list an adviser needs, computed from the events. A
planted fault prints one figure that does not add up, and the key says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from rma.documents.classify import DocType
from rma.documents.corpus.document import (
    Box,
    CorpusDocument,
    Grid,
    Pair,
    Sheet,
    Table,
    Text,
    Transaction,
)
from rma.documents.corpus.formats import (
    OVERDRAWN_STYLES,
    ROW_DATE_STYLES,
    balance_cell,
    money,
    pounds,
    row_date,
    signed_money,
)
from rma.documents.corpus.house import Writer, address_lines, house_style, letterhead
from rma.documents.corpus.names import (
    BANKS,
    COLLECTORS,
    ENERGY,
    LANDLORDS,
    LENDERS,
    WATER,
    client,
    digits,
)

Plant = Literal["running_balance", "closing_balance"] | None


@dataclass
class Event:
    """One transaction before it is printed. ``kind`` says which key list it feeds."""

    day: date
    description: str
    money_out: int = 0
    money_in: int = 0
    kind: str = "spend"  # income | creditor | charge | set_off | spend | other_in
    source: str = ""  # an income source, or the creditor's name


SHOPS = (
    "TESCO STORES 2231",
    "ALDI 56 STORES",
    "LIDL GB",
    "ASDA SUPERSTORE",
    "BOOTS 1187",
    "GREGGS PLC",
    "FIRST BUS",
    "AMAZON.CO.UK",
    "B&M RETAIL",
    "POUNDLAND 0412",
    "CO-OP FOOD",
    "SAINSBURYS S/MKT",
    "PAYPAL *EBAY",
    "SHELL FORECOURT",
    "MORRISONS 0331",
)
CARD_PREFIXES = ("CARD PAYMENT TO ", "POS ", "VIS ", "DEB ")
INCOME_WORDING = {
    "universal_credit": ("DWP UC {ref}", "UNIVERSAL CREDIT {ref}", "BGC DWP UC"),
    "pip": ("DWP PIP {ref}", "BGC DWP PIP", "PERSONAL INDEP PAYMENT"),
    "child_benefit": ("HMRC CHILD BENEFIT", "CHB {ref}", "BGC HMRC CHB"),
    "carers_allowance": ("DWP CA {ref}", "CARERS ALLOWANCE DWP"),
    "esa": ("DWP ESA {ref}", "BGC DWP ESA"),
    "pension": ("DWP STATE PENSION", "PENSION DWP {ref}"),
}
EMPLOYERS = (
    "GREENACRE CARE LTD",
    "NORTHERN LOGISTICS",
    "CITY CLEANING SVCS",
    "BRIGHT START NURSERY",
)
CHARGES = (
    "UNARRANGED OVERDRAFT FEE",
    "RETURNED DIRECT DEBIT FEE",
    "MONTHLY ACCOUNT FEE",
    "OVERDRAFT INTEREST",
    "UNPAID ITEM CHARGE",
)
SET_OFF_WORDING = (
    "TRANSFER TO LOAN ACCT {ref} (SET-OFF)",
    "DEBT RECOVERY - OVERDUE LOAN {ref}",
    "SET OFF TO CREDIT CARD {ref}",
)
HEADERS = (
    ("Date", "Description", "Paid out", "Paid in", "Balance"),
    ("Date", "Payment type and details", "Money out", "Money in", "Balance"),
    ("Date", "Details", "Debits", "Credits", "Balance"),
    ("Date", "Transaction", "Withdrawn", "Paid in", "Balance £"),
)
FIRST_PAGE_ROWS = 30
NEXT_PAGE_ROWS = 44


def _month_after(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, d.day)


def _income_events(rng: random.Random, start: date, end: date) -> list[Event]:
    days = (end - start).days
    events: list[Event] = []

    def pay(source: str, amount: int, every: int | None) -> None:
        first = start + timedelta(days=rng.randrange(0, min(every or days, days)))
        d = first
        while d <= end:
            words = rng.choice(INCOME_WORDING[source]).format(ref=digits(rng, 7))
            events.append(Event(d, words, money_in=amount, kind="income", source=source))
            if every is None:
                break
            d += timedelta(days=every)

    profile = rng.choice(
        ("uc", "uc_child", "wages_uc", "wages_weekly", "pip_esa", "carer", "pension")
    )
    if profile in ("uc", "uc_child", "wages_uc", "carer"):
        pay("universal_credit", rng.randrange(32_000, 125_000), None)
    if profile in ("uc_child", "carer"):
        pay("child_benefit", rng.choice((10_240, 17_020, 23_800)), 28)
    if profile in ("wages_uc", "wages_weekly"):
        employer = rng.choice(EMPLOYERS)
        weekly = profile == "wages_weekly"
        amount = rng.randrange(21_000, 39_000) if weekly else rng.randrange(60_000, 160_000)
        d = start + timedelta(days=rng.randrange(0, 7 if weekly else days))
        while d <= end:
            words = rng.choice(
                (f"BGC {employer} WAGES", f"FP {employer} SALARY", f"{employer} PAY")
            )
            events.append(Event(d, words, money_in=amount, kind="income", source="wages"))
            if not weekly:
                break
            d += timedelta(days=7)
    if profile == "pip_esa":
        pay("pip", rng.choice((29_560, 44_160, 73_720)), 28)
        pay("esa", rng.choice((18_180, 27_170)), 14)
    if profile == "carer":
        pay("carers_allowance", 8_325, 7)
    if profile == "pension":
        pay("pension", rng.choice((92_160, 115_200)), 28)
    return events


def _spending(rng: random.Random, start: date, end: date, person_town: str) -> list[Event]:
    days = (end - start).days
    events: list[Event] = []
    creditors = rng.sample(LENDERS, rng.randint(1, 3)) + rng.sample(COLLECTORS, rng.randint(0, 1))
    creditors += rng.sample(ENERGY, 1) + rng.sample(WATER, rng.randint(0, 1))
    for org in creditors:
        d = start + timedelta(days=rng.randrange(0, days))
        how = rng.choice(("DD ", "SO ", "FP ", "DD "))
        amount = rng.choice((500, 1_000, 2_500, 3_000, 4_500, 6_000, 8_000, 12_500))
        events.append(
            Event(d, how + org.statement_name, amount, kind="creditor", source=org.statement_name)
        )
    council = f"{person_town.upper()} COUNCIL CTAX"
    events.append(
        Event(
            start + timedelta(days=rng.randrange(0, days)),
            f"DD {council}",
            rng.randrange(6_000, 16_000),
            kind="creditor",
            source=council,
        )
    )
    if rng.random() < 0.6:
        landlord = rng.choice(LANDLORDS)
        events.append(
            Event(
                start + timedelta(days=rng.randrange(0, days)),
                f"SO {landlord.statement_name}",
                rng.randrange(20_000, 55_000),
                kind="creditor",
                source=landlord.statement_name,
            )
        )
    for _ in range(rng.randint(6, 11)):
        d = start + timedelta(days=rng.randrange(0, days + 1))
        if rng.random() < 0.15:
            events.append(
                Event(
                    d,
                    f"CASH WITHDRAWAL LINK ATM {person_town.upper()}",
                    rng.choice((1_000, 2_000, 3_000, 5_000)),
                )
            )
        else:
            shop = rng.choice(CARD_PREFIXES) + rng.choice(SHOPS)
            events.append(Event(d, shop, rng.randrange(180, 9_500)))
    if rng.random() < 0.25:
        d = start + timedelta(days=rng.randrange(0, days))
        events.append(
            Event(
                d,
                rng.choice(("REFUND AMAZON.CO.UK", "TRANSFER FROM J SMITH")),
                money_in=rng.randrange(1_000, 6_000),
                kind="other_in",
            )
        )
    return events


def bank_statement(
    rng: random.Random,
    doc_id: str,
    *,
    plant: Plant = None,
    set_off: bool = False,
    long: bool = False,
) -> CorpusDocument:
    """A month's statement; ``long`` fills a second page, ``set_off`` has the bank take part
    of a benefit payment, ``plant`` prints one figure that does not add up."""
    bank = rng.choice(BANKS)
    person = client(rng)
    # Courier's wide letters leave no room for a description column.
    style = house_style(rng, font=rng.choice(("helvetica", "times", "dejavu-sans", "dejavu-serif")))
    style = replace(style, size=min(style.size, 10.0), margin=min(style.margin, 56.0))
    sheet = Sheet(
        doc_id,
        DocType.BANK_STATEMENT.value,
        style,
        letterhead(bank, rng),
        (f"{bank.name}. Deposits are protected by the Financial Services Compensation Scheme.",),
    )
    w = Writer(sheet, rng)
    start = date(2025, rng.randint(1, 12), rng.choice((1, 1, 8, 14, 22)))
    end = _month_after(start) - timedelta(days=1)
    events = _income_events(rng, start, end) + _spending(rng, start, end, person.town.name)
    if long:
        for _ in range(24):
            d = start + timedelta(days=rng.randrange(0, (end - start).days + 1))
            events.append(
                Event(d, rng.choice(CARD_PREFIXES) + rng.choice(SHOPS), rng.randrange(150, 4_000))
            )
    opening = rng.randrange(-30_000, 45_000)
    if set_off:
        benefit = next((e for e in events if e.kind == "income" and e.source != "wages"), None)
        if benefit is None:
            benefit = Event(
                start + timedelta(days=9),
                "DWP UC " + digits(rng, 7),
                money_in=rng.randrange(50_000, 110_000),
                kind="income",
                source="universal_credit",
            )
            events.append(benefit)
        taken = round(benefit.money_in * rng.uniform(0.3, 0.8))
        words = rng.choice(SET_OFF_WORDING).format(ref="*" + digits(rng, 4))
        events.append(Event(benefit.day, words, taken, kind="set_off", source=benefit.source))
        sheet.label("the bank took part of a benefit payment to cover its own loan (set-off)")
    events.extend(_charges(rng, start, end, opening, events))
    order = {"income": 0, "other_in": 1, "set_off": 2}
    events.sort(key=lambda e: (e.day, order.get(e.kind, 3)))

    balances: list[int] = []
    running = opening
    for e in events:
        running += e.money_in - e.money_out
        balances.append(running)
    closing = running
    overdrawn = rng.choice(OVERDRAWN_STYLES)
    date_style = rng.choice(ROW_DATE_STYLES)
    every_row = rng.random() < 0.7  # else only the day's last row shows a balance
    carried_rows = rng.random() < 0.5  # "balance brought/carried forward" rows in the table
    printed_balances: list[int | None] = [
        b if every_row or i == len(events) - 1 or events[i + 1].day != events[i].day else None
        for i, b in enumerate(balances)
    ]
    printed_closing = closing
    if plant == "running_balance":
        candidates = [
            i for i, b in enumerate(printed_balances) if b is not None and 2 < i < len(events) - 2
        ]
        wrong_row = rng.choice(candidates)
        error = rng.choice((1_000, 10_000, 900, -1_000))
        printed_balances[wrong_row] = balances[wrong_row] + error
        sheet.label(
            f"planted: row {wrong_row + 1}'s running balance is {error / 100:+.2f} from what "
            "the rows give; the rows after it are right"
        )
    elif plant == "closing_balance":
        error = rng.choice((4_500, 10_000, -2_000))
        printed_closing = closing + error
        sheet.label(
            f"planted: the closing balance printed is {error / 100:+.2f} from opening + in - out"
        )

    account = digits(rng, 8)
    sort_code = f"{digits(rng, 2)}-{digits(rng, 2)}-{digits(rng, 2)}"
    period = f"{w.date('period_start', start)} to {w.date('period_end', end)}"
    sheet.put("bank", bank.name, bank.name)
    sheet.put("account_ending", account[-4:], account)
    sheet.add(
        Pair(
            address_lines(person),
            (
                f"Sort code {sort_code}",
                f"Account number {account}",
            ),
            boxed=rng.random() < 0.5,
        )
    )
    sheet.gap(4)
    sheet.line(f"{rng.choice(('Statement period:', 'Your statement for'))} {period}")
    sheet.gap(12)
    sheet.line(
        rng.choice(("Your bank statement", "Current account statement", "Statement of account")),
        "heading",
    )
    sheet.gap(4)
    total_in = sum(e.money_in for e in events)
    total_out = sum(e.money_out for e in events)

    def signed(pence: int) -> str:
        return signed_money(pence, overdrawn)

    summary = rng.random() < 0.75
    if summary:
        rows = (
            (f"Balance on {w.day(start)}", sheet.put("opening_balance", opening, signed(opening))),
            ("Money in", sheet.put("total_in", total_in, money(total_in))),
            ("Money out", sheet.put("total_out", total_out, money(total_out))),
            (
                f"Balance on {w.day(end)}",
                sheet.put("closing_balance", printed_closing, signed(printed_closing)),
            ),
        )
        sheet.add(Grid(rows, boxed=True, bold_values=True))
        sheet.gap(6)
    headers = rng.choice(HEADERS)
    table_rows: list[tuple[str, ...]] = []
    pages_rows: list[list[tuple[str, ...]]] = [table_rows]
    if carried_rows:
        bf = balance_cell(opening, overdrawn)
        if not summary:
            sheet.put("opening_balance", opening, bf)
        table_rows.append((row_date(start, date_style), "BALANCE BROUGHT FORWARD", "", "", bf))
    elif not summary:
        # Neither a summary nor a brought-forward row: the opening balance is in a line.
        sheet.add(Text(f"Opening balance {sheet.put('opening_balance', opening, signed(opening))}"))
        sheet.gap(6)
    limit = FIRST_PAGE_ROWS - (5 if summary else 0)
    shown_day: date | None = None
    for i, e in enumerate(events):
        if len(table_rows) >= limit:
            sheet.add(_table(headers, table_rows, style.font != "courier"))
            sheet.new_page()
            table_rows = []
            pages_rows.append(table_rows)
            limit = NEXT_PAGE_ROWS
            shown_day = None
        day_cell = row_date(e.day, date_style) if e.day != shown_day else ""
        shown_day = e.day
        out_cell = pounds(e.money_out) if e.money_out else ""
        in_cell = pounds(e.money_in) if e.money_in else ""
        bal = printed_balances[i]
        bal_cell = balance_cell(bal, overdrawn) if bal is not None else ""
        table_rows.append((day_cell, e.description, out_cell, in_cell, bal_cell))
        cells = tuple(c for c in (day_cell, e.description, out_cell, in_cell, bal_cell) if c)
        sheet.transaction(
            Transaction(
                e.day.isoformat(),
                e.description,
                e.money_out or None,
                e.money_in or None,
                bal,
                sheet.page,
                cells,
            )
        )
        _key_lists(sheet, e, cells)
    if carried_rows:
        cf = balance_cell(printed_closing, overdrawn)
        table_rows.append((row_date(end, date_style), "BALANCE CARRIED FORWARD", "", "", cf))
        if not summary:
            sheet.put("closing_balance", printed_closing, cf)
    sheet.add(_table(headers, table_rows, style.font != "courier"))
    if not summary and not carried_rows:
        sheet.add(
            Text(
                "Closing balance "
                + sheet.put("closing_balance", printed_closing, signed(printed_closing))
            )
        )
    if not summary:
        # Totals are not printed: the key holds them as the table's sums.
        sheet.implied("total_in", total_in)
        sheet.implied("total_out", total_out)
    sheet.implied("sums_add_up", plant is None)
    return sheet.done()


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], shaded: bool) -> Table:
    return Table(
        headers,
        tuple(rows),
        widths=(0.11, 0.44, 0.15, 0.15, 0.15),
        align=("left", "left", "right", "right", "right"),
        shaded=shaded,
        style="small",
    )


def _key_lists(sheet: Sheet, e: Event, cells: tuple[str, ...]) -> None:
    day = e.day.isoformat()
    if e.kind == "income":
        sheet.put_item("income", {"date": day, "source": e.source, "amount": e.money_in}, *cells)
    elif e.kind == "creditor":
        sheet.put_item(
            "creditor_payments", {"date": day, "creditor": e.source, "amount": e.money_out}, *cells
        )
    elif e.kind == "charge":
        sheet.put_item(
            "charges", {"date": day, "description": e.description, "amount": e.money_out}, *cells
        )
    elif e.kind == "set_off":
        sheet.put_item(
            "benefit_taken", {"date": day, "benefit": e.source, "amount": e.money_out}, *cells
        )


def _charges(
    rng: random.Random, start: date, end: date, opening: int, events: list[Event]
) -> list[Event]:
    """Bank charges: more likely, and more of them, when the account starts overdrawn."""
    count = rng.randint(1, 3) if opening < 0 else rng.choice((0, 0, 1))
    return [
        Event(
            start + timedelta(days=rng.randrange(0, (end - start).days + 1)),
            rng.choice(CHARGES),
            rng.choice((500, 600, 1_200, 1_500, 2_500)),
            kind="charge",
        )
        for _ in range(count)
    ]


# ------------------------------------------------------------------ Universal Credit

STANDARD_ALLOWANCES = (31_698, 40_014, 62_810)
ELEMENT_WORDING = {
    "housing": ("Housing costs (rent)", "Housing element", "Help with housing costs"),
    "child": ("Child element", "Child amount"),
    "lcwra": ("Limited capability for work and work-related activity", "LCWRA element"),
    "carer": ("Carer element", "Carer amount"),
    "childcare": ("Childcare costs element", "Childcare costs"),
}
THIRD_PARTY = (
    "council tax arrears",
    "rent arrears",
    "gas arrears",
    "electricity arrears",
    "water charges",
    "magistrates' court fine",
)


def uc_statement(rng: random.Random, doc_id: str) -> CorpusDocument:
    """A monthly Universal Credit statement: the period, what the award is made of, what
    is taken off and why, and the payment."""
    person = client(rng)
    style = house_style(rng, letterhead=False, font=rng.choice(("helvetica", "dejavu-sans")))
    sheet = Sheet(
        doc_id,
        DocType.UNIVERSAL_CREDIT_STATEMENT.value,
        style,
        None,
        ("This statement is also in your online account journal.",),
    )
    w = Writer(sheet, rng)
    start = date(2025, rng.randint(1, 12), rng.randint(1, 28))
    end = _month_after(start) - timedelta(days=1)
    paid_on = end + timedelta(days=7)
    elements: list[tuple[str, str, int]] = [
        ("standard_allowance", "Standard allowance", rng.choice(STANDARD_ALLOWANCES))
    ]
    if rng.random() < 0.75:
        elements.append(
            ("housing", rng.choice(ELEMENT_WORDING["housing"]), rng.randrange(35_000, 82_000))
        )
    for i in range(rng.choice((0, 0, 1, 2))):
        amount = 33_900 if i == 0 and rng.random() < 0.5 else 29_281
        elements.append(("child", rng.choice(ELEMENT_WORDING["child"]), amount))
    if rng.random() < 0.3:
        elements.append(("lcwra", rng.choice(ELEMENT_WORDING["lcwra"]), 42_327))
    if rng.random() < 0.2:
        elements.append(("carer", rng.choice(ELEMENT_WORDING["carer"]), 20_168))
    total = sum(amount for _, _, amount in elements)
    deductions: list[tuple[str, str, int]] = []
    if rng.random() < 0.4:
        earnings = rng.randrange(40_000, 130_000)
        allowance = 41_100 if any(e[0] == "housing" for e in elements) else 68_400
        if earnings > allowance:
            deductions.append(
                (
                    "earnings",
                    f"Earnings: 55% of take-home pay {money(earnings)} above {money(allowance)}",
                    round((earnings - allowance) * 0.55),
                )
            )
    if rng.random() < 0.6:
        deductions.append(
            (
                "advance",
                rng.choice(("Advance payment repayment", "Repaying your advance")),
                rng.randrange(3_000, 9_000),
            )
        )
    for what in rng.sample(THIRD_PARTY, rng.choice((0, 1, 1, 2))):
        deductions.append(
            (
                "third_party",
                f"Deduction for a third party: {what}",
                rng.choice((1_990, 2_300, 3_000, 1_200)),
            )
        )
    if rng.random() < 0.35:
        deductions.append(
            (
                "overpayment",
                rng.choice(
                    (
                        "Overpayment recovery",
                        "Paying back an overpayment",
                        "Recovery of a Universal Credit overpayment",
                    )
                ),
                rng.randrange(1_500, 9_000),
            )
        )
    taken = sum(amount for _, _, amount in deductions)
    if taken >= total:  # never a negative award; trim the last deduction
        kind, words, amount = deductions[-1]
        deductions[-1] = (kind, words, amount - (taken - total) - 1_000)
        taken = sum(amount for _, _, amount in deductions)
    payment = total - taken

    sheet.line("Universal Credit", "title")
    sheet.line(rng.choice(("Your statement", "Your payment statement")), "heading")
    sheet.gap(6)
    sheet.add(Pair(address_lines(person), (f"National Insurance number {_nino(rng)}",)))
    sheet.gap(10)
    period_style = rng.choice(("long", "short_month"))
    sheet.add(
        Text(
            f"Assessment period: {w.date('assessment_period_start', start, period_style)} to "  # type: ignore[arg-type]
            f"{w.date('assessment_period_end', end, period_style)}",  # type: ignore[arg-type]
            "bold",
        )
    )
    sheet.gap(6)
    sheet.add(
        Box(
            (
                f"Your payment: {w.money('payment', payment)}",
                f"We will pay this into your account on {w.date('payment_date', paid_on)}",
            )
        )
    )
    sheet.gap(10)
    sheet.line("Your Universal Credit is made up of", "heading")
    rows = []
    for code, words, amount in elements:
        printed = money(amount)
        sheet.put_item("elements", {"element": code, "amount": amount}, words, printed)
        rows.append((words, printed))
    rows.append(("Total before deductions", sheet.put("total_entitlement", total, money(total))))
    sheet.add(Grid(tuple(rows)))
    sheet.gap(8)
    sheet.line("What we take off", "heading")
    if deductions:
        rows = []
        for kind, words, amount in deductions:
            printed = money(amount)
            sheet.put_item("deductions", {"kind": kind, "amount": amount}, printed)
            rows.append((words, printed))
        rows.append(("Total deductions", money(taken)))
        sheet.add(
            Table(("Deduction", "Amount"), tuple(rows), (0.8, 0.2), ("left", "right"), ruled=True)
        )
    else:
        sheet.add(Text("Nothing is taken off your payment this month."))
    sheet.gap(8)
    sheet.add(Text(f"Total amount you will be paid: {money(payment)}", "bold"))
    sheet.gap(10)
    sheet.add(
        Text(
            "If your circumstances change, report it in your online account straight away. "
            "If you think a deduction is wrong or leaves you in hardship, ask us to look again."
        )
    )
    return sheet.done()


def _nino(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTWXYZ"
    pairs = " ".join(digits(rng, 2) for _ in range(3))
    return f"{rng.choice(letters)}{rng.choice(letters)} {pairs} {rng.choice('ABCD')}"
