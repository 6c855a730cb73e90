"""Court and enforcement papers: a county court claim form (N1), a judgment, and
enforcement agents' notices at the compliance and enforcement stages."""

from __future__ import annotations

import random
from datetime import timedelta

from rma.documents.classify import DocType
from rma.documents.corpus.document import Box, CorpusDocument, Grid, Pair, Rule, Sheet, Text
from rma.documents.corpus.formats import money
from rma.documents.corpus.house import (
    Writer,
    address_lines,
    house_style,
    letter_date,
    on_letterhead,
)
from rma.documents.corpus.names import (
    COURT_CENTRES,
    ENFORCEMENT_FIRMS,
    LENDERS,
    PURCHASERS,
    client,
    reference,
)

# Court fees for money claims by the amount claimed (pence): (up to, fee).
CLAIM_FEES = (
    (30_000, 3_500),
    (50_000, 5_000),
    (100_000, 7_000),
    (150_000, 8_000),
    (300_000, 11_500),
    (500_000, 20_500),
    (1_000_000, 45_500),
)
LEGAL_COSTS = (5_000, 7_000, 8_000, 10_000)
COMPLIANCE_FEE = 7_500
ENFORCEMENT_FEE = 23_500
PERCENT_OVER = 150_000  # the enforcement fee adds 7.5% of the debt above £1,500


def claim_fee(amount: int) -> int:
    return next((fee for upto, fee in CLAIM_FEES if amount <= upto), round(amount * 0.05))


def _claim_number(rng: random.Random) -> str:
    return reference(rng, rng.choice(("A9QZ9999", "A9QZ9A9A", "99AA9999")))


def claim_form(rng: random.Random, doc_id: str) -> CorpusDocument:
    """A money claim form (N1): the figures on page 1, particulars on page 2; the date to
    respond by is on page 1 or page 2."""
    person = client(rng)
    claimant = rng.choice((*PURCHASERS, *(lender.name for lender in LENDERS)))
    style = house_style(
        rng, letterhead=False, font=rng.choice(("helvetica", "times", "dejavu-sans"))
    )
    sheet = Sheet(
        doc_id, DocType.COUNTY_COURT_CLAIM.value, style, None, ("N1 Claim form (CPR Part 7)",)
    )
    w = Writer(sheet, rng)
    court = rng.choice(COURT_CENTRES)
    issued = letter_date(rng)
    served = issued + timedelta(days=5)
    respond_by = served + timedelta(days=14)
    amount = rng.randrange(40_000, 900_000)
    fee = claim_fee(amount)
    costs = rng.choice(LEGAL_COSTS)
    total = amount + fee + costs
    number = _claim_number(rng)
    sheet.line("Claim Form", "title")
    sheet.add(
        Grid(
            (
                ("In the", sheet.put("court", court, court)),
                ("Claim no.", sheet.put("claim_number", number, number)),
                ("Issue date", w.date("issue_date", issued)),
            ),
            boxed=True,
        )
    )
    sheet.gap(8)
    sheet.line("Claimant(s) name(s) and address(es)", "bold")
    sheet.line(sheet.put("claimant", claimant, claimant))
    sheet.line("c/o Claims Department, PO Box 1503, Salford M5 0FQ", "small")
    sheet.gap(6)
    sheet.line("Defendant(s) name and address", "bold")
    for line in address_lines(person):
        sheet.line(line)
    sheet.gap(6)
    sheet.line("Brief details of claim", "bold")
    kind = rng.choice(
        (
            "a credit card agreement",
            "a fixed sum loan agreement",
            "a catalogue shopping account",
            "a mobile phone contract",
        )
    )
    sheet.add(
        Text(
            f"The claimant's claim is for the sum owed under {kind} regulated by the "
            "Consumer Credit Act 1974, which the defendant has failed to pay."
        )
    )
    sheet.gap(6)
    sheet.add(
        Grid(
            (
                ("Amount claimed", w.money("amount", amount)),
                ("Court fee", w.money("court_fee", fee)),
                ("Legal representative's costs", w.money("legal_costs", costs)),
                ("Total amount", w.money("total", total)),
            ),
            boxed=True,
            bold_values=True,
        )
    )
    deadline_on_first = rng.random() < 0.5

    def notes() -> Box:  # written where it is printed, so the key has the right page
        return Box(
            (
                f"Date of service: {w.day(served)}",
                f"You must respond by: {w.date('response_deadline', respond_by)}",
            )
        )

    if deadline_on_first:
        sheet.gap(6)
        sheet.add(notes())
    sheet.new_page()
    sheet.line("Particulars of Claim", "heading")
    sheet.gap(4)
    agreement = reference(rng, "99999999")
    opened = issued - timedelta(days=rng.randrange(700, 2_500))
    defaulted = issued - timedelta(days=rng.randrange(120, 500))
    for n, para in enumerate(
        (
            f"The claim is for the sum of {money(amount)} due under {kind} with account number "
            f"{agreement}, made on or about {w.day(opened)}.",
            f"The defendant failed to make the payments required and a default notice was "
            f"served. The agreement was terminated on or about {w.day(defaulted)}.",
            "The claimant claims the amount above, the court fee and fixed costs. The claimant "
            "does not claim interest.",
        ),
        start=1,
    ):
        sheet.add(Text(f"{n}. {para}"))
        sheet.gap(4)
    sheet.gap(6)
    sheet.line("Statement of truth", "bold")
    sheet.add(
        Text(
            "The claimant believes that the facts stated in these particulars of claim are "
            "true. Signed by the claimant's legal representative."
        )
    )
    sheet.gap(8)
    if not deadline_on_first:
        sheet.add(notes())
        sheet.gap(6)
    sheet.add(
        Text(
            "Notes for the defendant: you can pay the total, admit all or part of the claim "
            "and ask for time to pay, or defend it. If you do nothing, judgment may be "
            "entered against you.",
            "small",
        )
    )
    sheet.label(f"two pages; the date to respond is on page {1 if deadline_on_first else 2}")
    return sheet.done()


def judgment(rng: random.Random, doc_id: str) -> CorpusDocument:
    """A county court judgment for the claimant in default: pay in instalments from a date,
    or the whole sum by a date."""
    person = client(rng)
    claimant = rng.choice((*PURCHASERS, *(lender.name for lender in LENDERS)))
    style = house_style(
        rng, letterhead=False, font=rng.choice(("helvetica", "times", "dejavu-serif"))
    )
    sheet = Sheet(doc_id, DocType.CCJ.value, style, None, ("N30 Judgment for claimant (default)",))
    w = Writer(sheet, rng)
    court = rng.choice(COURT_CENTRES)
    made = letter_date(rng)
    debt = rng.randrange(40_000, 900_000)
    costs = claim_fee(debt) + rng.choice(LEGAL_COSTS) + rng.choice((2_200, 3_000))
    total = debt + costs
    number = _claim_number(rng)
    sheet.add(
        Pair(
            (f"In the {sheet.put('court', court, court)}",),
            (
                f"Claim number {sheet.put('claim_number', number, number)}",
                f"Date {w.date('judgment_date', made)}",
            ),
            boxed=True,
        )
    )
    sheet.gap(10)
    sheet.line("Judgment for Claimant", "title")
    sheet.line("(in default)", "bold")
    sheet.add(Rule())
    sheet.add(
        Grid(
            (
                ("Claimant", sheet.put("claimant", claimant, claimant)),
                ("Defendant", person.full_name),
            )
        )
    )
    sheet.gap(8)
    sheet.add(
        Text(
            "You have not replied to the claim form. It is ordered that you must pay the "
            f"claimant {money(debt)} for debt (and interest to the date of judgment) and "
            f"{money(costs)} for costs."
        )
    )
    sheet.gap(6)
    instalments = rng.random() < 0.6
    if instalments:
        monthly = rng.choice((1_000, 2_500, 5_000, 7_500, 10_000))
        first = made + timedelta(days=rng.choice((28, 30, 35)))
        sheet.add(
            Box(
                (
                    f"Total: {w.money('amount', total)}",
                    f"You must pay by instalments of {w.money('instalment', monthly)} per month",
                    f"First payment to reach the claimant by {w.date('payment_due_date', first)}",
                )
            )
        )
    else:
        by = made + timedelta(days=14)
        sheet.add(
            Box(
                (
                    f"Total: {w.money('amount', total)}",
                    f"You must pay the total on or before {w.date('payment_due_date', by)}",
                )
            )
        )
    sheet.gap(8)
    sheet.add(
        Text(
            "This judgment will be entered on the Register of Judgments, Orders and Fines. "
            "If you pay in full within one month of the date of judgment, you can ask for "
            "it to be removed. If you cannot pay as ordered, you can apply to the court to "
            "vary the order."
        )
    )
    sheet.gap(6)
    sheet.add(
        Text(
            "Payments should be made to the claimant, not to the court. Keep a record of "
            "every payment.",
            "small",
        )
    )
    return sheet.done()


def enforcement_notice(rng: random.Random, doc_id: str, stage: str) -> CorpusDocument:
    """An enforcement agents' notice: ``compliance`` (the notice of enforcement: 7 clear
    days before a visit) or ``enforcement`` (after a visit, with the enforcement fee)."""
    firm = rng.choice(ENFORCEMENT_FIRMS)
    person = client(rng)
    creditor = rng.choice(
        (person.town.council, person.town.council, "HM Courts & Tribunals Service")
    )
    sheet, w = on_letterhead(
        rng, doc_id, DocType.ENFORCEMENT_AGENT_NOTICE.value, firm, "enforcement_firm"
    )
    sent = letter_date(rng)
    debt = rng.randrange(30_000, 320_000)
    ref = reference(rng, rng.choice(("EN99999999", "AA9999999", "999999999")))
    order_date = sent - timedelta(days=rng.randrange(20, 120))
    sheet.add(
        Pair(
            address_lines(person),
            (
                f"Our reference: {sheet.put('account_reference', ref, ref)}",
                f"Date: {w.date('letter_date', sent)}",
            ),
        )
    )
    sheet.gap(12)
    fees = [("compliance", COMPLIANCE_FEE)]
    if stage == "compliance":
        sheet.line(sheet.put("stage", stage, "NOTICE OF ENFORCEMENT"), "title")
        sheet.line("Taking Control of Goods Regulations 2013, regulation 7", "small")
        pay_by = sent + timedelta(days=7)
        visit = sent + timedelta(days=8)
    else:
        title = rng.choice(("ENFORCEMENT STAGE NOTICE", "NOTICE OF ATTENDANCE"))
        sheet.line(sheet.put("stage", stage, title), "title")
        sheet.line("Taking Control of Goods (Fees) Regulations 2014", "small")
        fees.append(("enforcement", ENFORCEMENT_FEE + max(0, round((debt - PERCENT_OVER) * 0.075))))
        visit = sent + timedelta(days=rng.choice((7, 10, 14)))
        pay_by = visit - timedelta(days=1)
    sheet.gap(8)
    court_words = (
        "a liability order" if creditor != "HM Courts & Tribunals Service" else "a warrant"
    )
    sheet.add(
        Text(
            f"We have been instructed by {sheet.put('creditor', creditor, creditor)} to "
            f"enforce {court_words} made on {w.day(order_date)}."
        )
    )
    if stage == "enforcement":
        sheet.gap(4)
        sheet.add(
            Text(
                f"An enforcement agent attended your address on {w.day(sent - timedelta(days=1))}. "
                "No payment was made and the enforcement fee has been added."
            )
        )
    sheet.gap(6)
    rows = [("Amount of the debt", w.money("debt", debt))]
    for fee_stage, amount in fees:
        printed = money(amount)
        sheet.put_item("fees", {"stage": fee_stage, "amount": amount}, printed)
        rows.append((f"{fee_stage.title()} fee", printed))
    total = debt + sum(amount for _, amount in fees)
    rows.append(("Total now due", w.money("balance", total)))
    sheet.add(Grid(tuple(rows), boxed=True, bold_values=True))
    sheet.gap(8)
    sheet.add(
        Box(
            (
                f"Pay in full by {w.date('deadline', pay_by)}",
                "If you do not, an enforcement agent may visit from "
                + w.date("earliest_visit_date", visit),
            )
        )
    )
    sheet.gap(8)
    sheet.add(
        Text(
            "At a visit the agent may take control of goods, which may be sold to pay the "
            "debt and further fees. If you are vulnerable or cannot pay, contact us now "
            "and get free debt advice."
        )
    )
    sheet.label(f"{stage} stage")
    return sheet.done()
