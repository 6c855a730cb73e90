"""Bankruptcy on the debtor's own application (England and Wales).

The conditions of an application to the adjudicator, the fee as at the date (with its
parts), and a risk note a DRO or a payment plan does not remove: a creditor owed at least
the creditor-petition minimum could petition for the client's bankruptcy.
"""

from __future__ import annotations

from rma.eligibility.criteria import (
    Context,
    FactRule,
    Rule,
    SchemeResult,
    is_near,
    judge,
    limit_units,
    margin_words,
    meets,
    statements,
)
from rma.eligibility.facts import ClientFacts
from rma.limits.table import NoValueInForce
from rma.text import format_pence

SCHEME = "bankruptcy"
TITLE = "Bankruptcy (the client's own application)"

RULES: tuple[Rule, ...] = (
    FactRule(
        "bankruptcy.unable_to_pay",
        "Unable to pay their debts",
        "unable_to_pay",
        True,
        "whether the client is unable to pay their debts",
        citation="Insolvency Act 1986, section 263H",
    ),
    FactRule(
        "bankruptcy.connection",
        "Lived, had a home or carried on business in England or Wales in the last 3 years",
        "lived_in_england_wales",
        True,
        "whether the client lived, had a home or did business in England or Wales in the "
        "last 3 years",
        citation="Insolvency Act 1986, section 263I",
    ),
    FactRule(
        "bankruptcy.not_bankrupt",
        "Not already bankrupt",
        "bankrupt",
        False,
        "whether the client is bankrupt",
        citation="Insolvency Act 1986, section 263H",
    ),
)


def fee_note(context: Context) -> str | None:
    try:
        total = context.limit("bankruptcy.application_fee")
        fee = context.limit("bankruptcy.adjudicator_fee")
        deposit = context.limit("bankruptcy.deposit")
    except NoValueInForce:
        return None
    return (
        f"{total.statement()}: the {fee.display} adjudicator's fee and the {deposit.display} "
        f"deposit; it may be paid in instalments before applying ({total.source})."
    )


def petition_risk(facts: ClientFacts, context: Context) -> list[str]:
    """Creditors owed enough to petition for the client's bankruptcy themselves."""
    try:
        minimum = context.limit("bankruptcy.creditor_petition_min")
    except NoValueInForce:
        return []
    bound = limit_units(minimum)
    unsecured = [d for d in facts.debts if not d.secured and d.balance_pence is not None]
    notes = []
    for debt in unsecured:
        owed = debt.balance_pence or 0
        if meets(owed, bound, "at_least"):
            notes.append(
                f"Risk: {debt.creditor} is owed {format_pence(owed)}, at least the "
                f"{minimum.display} minimum: it could petition for the client's bankruptcy."
            )
        elif is_near(owed, bound):
            notes.append(
                f"Near miss: {debt.creditor} is owed {format_pence(owed)}, "
                f"{margin_words(owed, bound, minimum).replace(' limit', ' minimum')}: interest "
                "or charges could bring it to the level at which it could petition."
            )
    total = sum(d.balance_pence or 0 for d in unsecured)
    if len(unsecured) > 1 and meets(total, bound, "at_least"):
        notes.append(
            f"Risk: the unsecured creditors are owed {format_pence(total)} together; creditors may "
            f"petition jointly for debts totalling at least {minimum.display}."
        )
    if notes:
        notes.append(f"{minimum.statement()} ({minimum.source}).")
    if facts.pending_petition:
        notes.append("A creditor's bankruptcy petition is already pending.")
    return notes


def assess(facts: ClientFacts, context: Context) -> SchemeResult:
    notes = [n for n in (fee_note(context),) if n]
    notes.extend(petition_risk(facts, context))
    notes.extend(statements(context, "bankruptcy.discharge_months", "bankruptcy.ipa_max_years"))
    return SchemeResult(SCHEME, TITLE, judge(RULES, facts, context), notes)
