"""Creditor letters, collection agency letters and default notices.

The hard cases the issue measured are here on purpose: a creditor's own arrears letter
that says it may pass the debt to a collection agency (the creditor is still the
creditor), an overdue amount printed apart from the balance, next to a minimum payment
and a credit limit that are neither, and a collector's letter that names the original
creditor, the current owner and an old account number as well as its own reference.
"""

from __future__ import annotations

import random
from datetime import timedelta

from rma.documents.classify import DocType
from rma.documents.corpus.document import Box, CorpusDocument, Grid, Pair, Rule, Text
from rma.documents.corpus.house import (
    FCA_LINE,
    address_lines,
    letter_date,
    on_letterhead,
    salutation,
)
from rma.documents.corpus.names import COLLECTORS, LENDERS, PURCHASERS, client, reference

REFERENCE_SHAPES = ("99999999", "AA9999999", "9999 9999 9999", "999999/99", "AAA-999999")
SIGN_OFFS = (
    ("Yours sincerely", "Customer Support Team"),
    ("Yours faithfully", "Collections Department"),
    ("Kind regards", "Financial Support Team"),
)
HELP = (
    "If you are struggling with money, free and impartial debt advice is available from "
    "MoneyHelper, StepChange, National Debtline or your local Citizens Advice.",
    "We want to help. If your circumstances have changed, please talk to us: we can look "
    "at your income and spending with you and agree an affordable plan.",
)


def creditor_letter(rng: random.Random, doc_id: str, case: str = "arrears") -> CorpusDocument:
    """A lender's own letter about arrears.

    ``case``: ``arrears`` (a labelled summary), ``missed`` (the figures in prose),
    ``agency`` (says it may pass the debt to a named collection agency) or ``overdue``
    (an overdue amount apart from the balance, with a minimum payment and a credit limit).
    """
    lender = rng.choice(LENDERS)
    person = client(rng)
    sheet, w = on_letterhead(
        rng, doc_id, DocType.CREDITOR_LETTER.value, lender, "creditor", FCA_LINE
    )
    sent = letter_date(rng)
    deadline = sent + timedelta(days=rng.choice((7, 10, 14, 21)))
    balance = rng.randrange(45_000, 1_250_000)
    arrears = round(balance * rng.uniform(0.04, 0.22))
    ref_label = rng.choice(("Account number", "Our reference", "Account no.", "Card account"))
    ref = reference(rng, rng.choice(REFERENCE_SHAPES))
    right = (
        f"Date: {w.date('letter_date', sent)}",
        f"{ref_label}: {sheet.put('account_reference', ref, ref)}",
    )
    sheet.add(Pair(address_lines(person), right, boxed=rng.random() < 0.4))
    sheet.gap(18)
    heading = {
        "arrears": "Your account is in arrears",
        "missed": "We haven't received your payment",
        "agency": "Important: your account is overdue",
        "overdue": "Your overdue balance",
    }[case]
    sheet.line(heading, "heading")
    sheet.gap()
    sheet.line(f"{salutation(person, rng)},")
    sheet.gap(4)
    if case == "missed":
        due = sent - timedelta(days=rng.randint(12, 40))
        missed = rng.randrange(2_500, 25_000)
        sheet.add(
            Text(
                f"We have not received your payment of {w.amount(missed)} that was due on "
                f"{w.day(due)}. Your account is now {w.money('arrears', arrears)} in arrears "
                f"and the total balance you owe us is {w.money('balance', balance)}."
            )
        )
    else:
        if case == "overdue":
            sheet.add(
                Text(
                    "Your statement shows an overdue amount. Your balance below includes it; "
                    "please pay at least the overdue amount now."
                )
            )
            rows = [
                ("Credit limit", w.amount(rng.choice((150_000, 250_000, 400_000, 600_000)))),
                ("Current balance", w.money("balance", balance)),
                ("Overdue amount", w.money("arrears", arrears)),
                ("Minimum payment this month", w.amount(max(2_500, balance // 40) + arrears)),
            ]
            sheet.label(
                "overdue amount printed apart from the balance, beside a credit limit "
                "and a minimum payment"
            )
        else:
            sheet.add(
                Text(
                    "We have written to you before about the payments missed on this account. "
                    "The account is still behind and we need to hear from you."
                )
            )
            rows = [
                (
                    rng.choice(("Outstanding balance", "Balance outstanding", "Total balance")),
                    w.money("balance", balance),
                ),
                (
                    rng.choice(("Arrears", "Amount in arrears", "Arrears to date")),
                    w.money("arrears", arrears),
                ),
            ]
        sheet.gap(6)
        sheet.add(Grid(tuple(rows), boxed=rng.random() < 0.5, bold_values=rng.random() < 0.5))
    sheet.gap(6)
    by = w.date("deadline", deadline)
    sheet.add(
        Text(
            rng.choice(
                (
                    f"Please pay the arrears or call us by {by} to discuss a payment plan.",
                    f"Please contact us no later than {by} so we can agree how to bring your "
                    "account up to date.",
                    f"To avoid further action, please pay the amount in arrears by {by}.",
                )
            )
        )
    )
    if case == "agency":
        agency = rng.choice(COLLECTORS)
        sheet.gap(4)
        sheet.add(
            Text(
                f"If we do not hear from you by then, we may pass your account to a debt "
                f"collection agency, {agency.name}, who would contact you on our behalf. "
                f"We would still be the owner of the debt."
            )
        )
        sheet.label(
            "mentions passing the debt to a collection agency; the lender is still the "
            "creditor and there is no collector yet"
        )
    sheet.gap(4)
    sheet.add(Text(rng.choice(HELP)))
    sheet.gap(10)
    close, team = rng.choice(SIGN_OFFS)
    sheet.line(f"{close},")
    sheet.gap(14)
    sheet.line(team, "bold")
    sheet.line(lender.name)
    return sheet.done()


def collector_letter(rng: random.Random, doc_id: str, case: str = "on_behalf") -> CorpusDocument:
    """A collection agency's letter: ``on_behalf`` of the lender, or ``sold`` (the debt
    now owned by a debt purchaser, collected by its agency)."""
    agency = rng.choice(COLLECTORS)
    lender = rng.choice(LENDERS)
    person = client(rng)
    sheet, w = on_letterhead(
        rng, doc_id, DocType.DEBT_COLLECTION_LETTER.value, agency, "collector", FCA_LINE
    )
    sent = letter_date(rng)
    deadline = sent + timedelta(days=rng.choice((14, 21, 28)))
    balance = rng.randrange(18_000, 900_000)
    ref = reference(rng, rng.choice(("AA9999999", "99999999", "A9999999-99")))
    old_ref = reference(rng, "9999 9999 9999 9999")
    rows: list[tuple[str, str]] = [
        ("Date", w.date("letter_date", sent)),
        (
            rng.choice(("Our reference", "Our ref", "Reference")),
            sheet.put("account_reference", ref, ref),
        ),
    ]
    owner = rng.choice(PURCHASERS) if case == "sold" else lender.name
    if case == "sold":
        rows += [
            ("Current creditor", sheet.put("creditor", owner, owner)),
            ("Original creditor", sheet.put("original_creditor", lender.name, lender.name)),
            ("Previous account number", old_ref),
        ]
        sheet.label(
            "debt sold: the owner, the original lender and an old account number all printed"
        )
    else:
        rows.append(("Client", sheet.put("creditor", lender.name, lender.name)))
        if rng.random() < 0.5:
            rows.append(
                ("Original creditor", sheet.put("original_creditor", lender.name, lender.name))
            )
        rows.append(("Client account number", old_ref))
    sheet.add(Pair(address_lines(person), ()))
    sheet.gap(10)
    sheet.add(Grid(tuple(rows), boxed=rng.random() < 0.5))
    sheet.gap(14)
    sheet.line(
        rng.choice(
            (
                "Notice of debt collection",
                "Your account has been passed to us",
                "Outstanding balance: action needed",
            )
        ),
        "heading",
    )
    sheet.gap(6)
    sheet.line(f"{salutation(person, rng)},")
    sheet.gap(4)
    if case == "sold":
        sheet.add(
            Text(
                f"Your account with {lender.name} has been sold to {owner} and we, "
                f"{agency.name}, manage it on their behalf. From now on all payments "
                "should be made to us and not to the original lender."
            )
        )
    else:
        sheet.add(
            Text(
                f"We have been instructed by {lender.name} to collect this debt on their "
                f"behalf. {lender.name} remains the owner of the account."
            )
        )
    sheet.gap(4)
    sheet.add(
        Box(
            (
                f"Balance outstanding: {w.money('balance', balance)}",
                f"Please pay in full or contact us by {w.date('deadline', deadline)}",
            )
        )
    )
    sheet.gap(6)
    sheet.add(
        Text(
            "If you cannot pay in full, call us to agree an affordable repayment plan. "
            "If you dispute this debt, tell us in writing and we will put the account on hold "
            "while we look into it."
        )
    )
    sheet.gap(4)
    sheet.add(Text(rng.choice(HELP)))
    sheet.gap(10)
    sheet.line("Yours sincerely,")
    sheet.gap(14)
    sheet.line(agency.name, "bold")
    return sheet.done()


def default_notice(rng: random.Random, doc_id: str, *, two_pages: bool = False) -> CorpusDocument:
    """A default notice under section 87(1) of the Consumer Credit Act 1974, with the
    amount and date to remedy the breach; with ``two_pages`` the statutory wording and
    help sheet fill a second page."""
    lender = rng.choice(LENDERS)
    person = client(rng)
    sheet, w = on_letterhead(
        rng, doc_id, DocType.DEFAULT_NOTICE.value, lender, "creditor", FCA_LINE
    )
    sent = letter_date(rng)
    remedy = sent + timedelta(days=rng.choice((16, 18, 21, 28)))
    arrears = rng.randrange(9_000, 180_000)
    balance = arrears + rng.randrange(60_000, 1_600_000)
    agreed = sent - timedelta(days=rng.randrange(400, 2_400))
    ref = reference(rng, rng.choice(("99999999", "AA99999999", "999-999999")))
    sheet.add(Pair(address_lines(person), (f"Date of notice: {w.date('letter_date', sent)}",)))
    sheet.gap(12)
    sheet.line("DEFAULT NOTICE", "title", rng.choice(("left", "center")))  # type: ignore[arg-type]
    sheet.line("Served under section 87(1) of the Consumer Credit Act 1974", "bold")
    sheet.add(Rule())
    sheet.add(
        Grid(
            (
                ("Agreement number", sheet.put("account_reference", ref, ref)),
                ("Date of agreement", w.day(agreed)),
                (
                    "Type of agreement",
                    rng.choice(
                        (
                            "Fixed sum loan agreement",
                            "Credit card agreement",
                            "Running-account credit agreement",
                        )
                    ),
                ),
                ("Debtor", person.formal),
            )
        )
    )
    sheet.gap(8)
    sheet.add(
        Text(
            "THIS NOTICE IS SERVED UNDER SECTION 87(1) OF THE CONSUMER CREDIT ACT 1974. "
            "IF THE ACTION REQUIRED BY THIS NOTICE IS TAKEN BEFORE THE DATE SHOWN NO FURTHER "
            "ENFORCEMENT ACTION WILL BE TAKEN IN RESPECT OF THE BREACH.",
            "small",
        )
    )
    sheet.gap(8)
    sheet.add(
        Text(
            "Nature of the breach: you have failed to make the payments required by the agreement."
        )
    )
    sheet.gap(6)
    remedy_text = w.date("remedy_date", remedy)
    sheet.put("deadline", remedy.isoformat(), remedy_text)
    sheet.add(
        Box(
            (
                f"Amount required to remedy the breach: {w.money('arrears', arrears)}",
                f"Date by which the breach must be remedied: {remedy_text}",
            )
        )
    )
    sheet.gap(6)
    sheet.add(Text(f"Total balance outstanding under the agreement: {w.money('balance', balance)}"))
    sheet.gap(6)
    sheet.add(
        Text(
            "If the action required is not taken by that date, we may end the agreement, "
            "demand the whole balance and register a default with credit reference agencies."
        )
    )
    if two_pages:
        sheet.new_page()
        sheet.line("IMPORTANT - YOU SHOULD READ THIS CAREFULLY", "heading")
        sheet.gap(6)
        for para in (
            "If you have difficulty in paying any sum owing under the agreement or taking any "
            "other action required by this notice, you can apply to the court which may make "
            "an order allowing you or any surety more time.",
            "If you are not sure what to do, you should get help as soon as possible. For "
            "example, you should contact a solicitor, your local Trading Standards Department "
            "or your nearest Citizens Advice.",
            "You may be able to get free advice from MoneyHelper. An information sheet about "
            "arrears and default from the Financial Conduct Authority is enclosed with this "
            "notice.",
        ):
            sheet.add(Text(para))
            sheet.gap(6)
        sheet.label("two pages: the figures on page 1, statutory wording on page 2")
    return sheet.done()
