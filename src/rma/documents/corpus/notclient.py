"""Papers that are not a client's documents but turn up in the pile: a training manual's
pages (full of limits, some out of date), a training exercise with figures in it, a
page of a book, a blank page. Each must be labelled ``not_a_client_document`` and carry
no fields: a "verified" £30,000 balance from a DRO chapter is the failure the issue saw.
"""

from __future__ import annotations

import random
from dataclasses import replace

from rma.documents.corpus.document import CorpusDocument, Gap, Sheet, Text
from rma.documents.corpus.house import house_style
from rma.documents.schema import NOT_A_CLIENT_DOCUMENT

# Typeset manuals use ligatures; a PDF's text layer may keep them as single characters.
LIGATURES = {"fi": "\ufb01", "fl": "\ufb02"}

MANUAL_SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dro": (
        "Chapter 7: Debt relief orders",
        (
            "A debt relief order (DRO) is an insolvency remedy for people with low income, few "
            "assets and debts below a fixed limit. It is made by the Official Receiver on an "
            "application through an approved intermediary.",
            "The debt limit. The total of the client's qualifying debts must not be more than "
            "£30,000. This limit was raised from £20,000 on 29 June 2021. Check the date of this "
            "edition: limits are reviewed and an adviser must use the figure in force on the "
            "date of the application.",
            "Surplus income. The client's monthly surplus income, worked out on a standard "
            "financial statement, must be £75 or less (it was £50 before June 2021).",
            "Assets. Total assets must be worth £2,000 or less. One motor vehicle is not counted "
            "if it is worth less than £2,000. Pension funds and household goods are not assets "
            "for this purpose.",
            "The application fee of £90 may be paid in instalments, but the order cannot be "
            "made until it has been paid in full.",
            "The moratorium lasts twelve months, after which the qualifying debts are written "
            "off. Some debts never qualify: student loans, child maintenance, magistrates' court "
            "fines and most debts arising from fraud.",
        ),
    ),
    "bankruptcy": (
        "Chapter 8: Bankruptcy",
        (
            "A debtor applies for their own bankruptcy online to the adjudicator. The total "
            "cost is £680: an adjudicator fee of £130 and a deposit of £550, which may be paid "
            "in instalments before the application is made.",
            "A creditor may petition for a debtor's bankruptcy if they are owed at least £5,000. "
            "The creditor's petition deposit is £1,500 (it was £990 before November 2022).",
            "Discharge is normally after twelve months. An income payments agreement or order "
            "can require payments from surplus income for three years.",
            "Consider the effect on the client's home, car and any business, and whether a "
            "debt relief order would be available at lower cost.",
        ),
    ),
    "priority": (
        "Chapter 3: Priority debts",
        (
            "Priority debts are those where non-payment can lead to the loss of the home, the "
            "supply of fuel, or imprisonment. Deal with them first.",
            "Council tax. If a reminder notice is not paid within seven days the right to pay "
            "by instalments is lost and the council may apply to the magistrates' court for a "
            "liability order. Costs are added, typically between £70 and £125.",
            "Enforcement agents. After a liability order the council may instruct enforcement "
            "agents. A notice of enforcement must give at least seven clear days before a "
            "visit. The compliance fee is £75; the enforcement fee is £235 plus 7.5% of the "
            "debt over £1,500.",
            "Fuel debts. Suppliers should offer a payment plan based on ability to pay, or a "
            "prepayment meter where it is safe and practical. Arrears of £1,000 or more are "
            "common in casework.",
            "Default notices under section 87(1) of the Consumer Credit Act 1974 apply to "
            "non-priority credit debts and must give at least fourteen days to remedy the "
            "breach.",
        ),
    ),
    "breathing_space": (
        "Chapter 5: Breathing space",
        (
            "The Debt Respite Scheme began on 4 May 2021. A standard breathing space lasts 60 "
            "days and can be used once in any twelve months.",
            "A mental health crisis breathing space lasts as long as the crisis treatment plus "
            "30 days, with no limit on how often it is used.",
            "During a breathing space most enforcement action is paused and interest, fees and "
            "charges are frozen. Creditors must not contact the client about the debt.",
            "The adviser must consider whether the client has debts they cannot repay, and "
            "review the breathing space between days 25 and 35.",
        ),
    ),
}
BOOK_TEXT = (
    "The rain had not stopped since Tuesday. Maureen stood at the kitchen window with the "
    "kettle in her hand, watching the water run along the gutter and into the drain by the "
    "gate, and thought about her sister's letter still unopened on the mat.",
    "She had never been good with envelopes. Brown ones especially. Her father used to line "
    "them up on the sideboard like soldiers and open them all on a Sunday evening, one after "
    "another, with the radio on loud so nobody could hear what he said.",
    "By the time the kettle boiled she had decided. She would walk to the library, where it "
    "was warm and nobody would ask her anything, and she would read the letter there, in the "
    "corner by the local history shelves, where she had read so many things before.",
    "The walk took twenty minutes. The bus would have taken ten, but the bus cost money and "
    "the walk cost nothing, and lately she had begun to count things like that.",
)


def _ligatures(text: str) -> str:
    for plain, joined in LIGATURES.items():
        text = text.replace(plain, joined)
    return text


def manual(rng: random.Random, doc_id: str, topic: str, pages: int = 1) -> CorpusDocument:
    """Pages of a training manual on ``topic`` with its figures, a running head and folio."""
    title, paragraphs = MANUAL_SECTIONS[topic]
    style = house_style(rng, letterhead=False, font="dejavu-serif")
    edition = rng.choice(("2022 edition", "Edition 14 (2023)", "Updated March 2022"))
    sheet = Sheet(
        doc_id,
        NOT_A_CLIENT_DOCUMENT,
        style,
        None,
        (f"Money Advice Training Handbook, {edition}. For training use only.",),
    )
    folio = rng.randint(80, 300)
    for page in range(pages):
        if page:
            sheet.new_page()
        sheet.add(Text(f"{folio + page}    {title}", "small", "right"), Gap(10))
        if page == 0:
            sheet.line(title, "title")
            sheet.gap(8)
        order = list(paragraphs)
        if page:
            rng.shuffle(order)
        for para in order:
            sheet.add(Text(_ligatures(para)), Gap(6))
    sheet.label(
        f"training manual, {topic.replace('_', ' ')}, {pages} page(s), figures of its edition"
    )
    return sheet.done()


def training_exercise(rng: random.Random, doc_id: str) -> CorpusDocument:
    """A case-study handout: a letter's figures quoted inside an exercise, not a letter."""
    style = house_style(rng, letterhead=False)
    sheet = Sheet(
        doc_id, NOT_A_CLIENT_DOCUMENT, style, None, ("Training exercise. Not a real case.",)
    )
    balance = rng.randrange(80_000, 400_000)
    arrears = rng.randrange(10_000, 60_000)
    sheet.line(f"Exercise {rng.randint(2, 9)}: reading a client's letters", "title")
    sheet.gap(8)
    for para in (
        f"Ms A brings a letter from her credit card provider. It says her balance is "
        f"£{balance / 100:,.2f} and her arrears are £{arrears / 100:,.2f}, and asks her to call "
        "within 14 days.",
        "She also has a council tax reminder and a notice of enforcement from a firm of "
        "enforcement agents acting for the council.",
        "1. Which of these debts are priority debts, and why?",
        "2. What should the adviser do first about the notice of enforcement?",
        "3. Ms A has heard that a debt relief order is available for debts up to £30,000. "
        "Is that right today? Where would you check?",
    ):
        sheet.add(Text(para), Gap(6))
    sheet.label("training exercise quoting letter figures")
    return sheet.done()


def book_page(rng: random.Random, doc_id: str) -> CorpusDocument:
    style = house_style(rng, letterhead=False, font=rng.choice(("times", "dejavu-serif")))
    sheet = Sheet(doc_id, NOT_A_CLIENT_DOCUMENT, style, None, ())
    sheet.add(Text(f"THE LONG WALK HOME    {rng.randint(20, 240)}", "small", "center"), Gap(16))
    for para in BOOK_TEXT:
        sheet.add(Text(_ligatures(para) if rng.random() < 0.5 else para, indent=0), Gap(4))
    sheet.label("page of a novel")
    return sheet.done()


def blank_page(rng: random.Random, doc_id: str, note: bool) -> CorpusDocument:
    """A blank page, or one that says it is intentionally left blank."""
    style = replace(house_style(rng, letterhead=False), page_numbers=False)
    sheet = Sheet(doc_id, NOT_A_CLIENT_DOCUMENT, style, None, ())
    if note:
        sheet.add(Gap(300), Text("This page is intentionally left blank", "body", "center"))
    sheet.label("intentionally blank page" if note else "blank page")
    return sheet.done()
