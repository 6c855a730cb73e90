"""Individual Voluntary Arrangement: the legal approval rule, and nothing invented.

An IVA is approved by the creditors' vote, not by the client's figures: at least 75% by
value of the creditors who vote must agree, and not more than half of the value of the
unconnected creditors may vote against. With a vote (real or supposed) this judges both
rules; without one it says the outcome depends on the vote, and names any creditor large
enough to defeat the proposal alone. No "typical" debt or payment thresholds are applied:
the law sets none.
"""

from __future__ import annotations

from fractions import Fraction

from rma.eligibility.criteria import (
    Context,
    LimitRule,
    Measured,
    Rule,
    SchemeResult,
    judge,
    limit_units,
)
from rma.eligibility.facts import ClientFacts
from rma.limits.table import NoValueInForce
from rma.text import format_pence

SCHEME = "iva"
TITLE = "Individual Voluntary Arrangement (the creditors' approval)"
NO_VOTE = "the creditors' vote (an IVA is approved by creditors, not by the client's figures)"


def _share(part: int, whole: int) -> Fraction:
    return Fraction(part * 100, whole)


def share_for(facts: ClientFacts, _: Context) -> Measured:
    votes = [v for v in facts.iva_votes or [] if v.vote != "did_not_vote"]
    total = sum(v.value_pence for v in votes)
    if facts.iva_votes is None or total == 0:
        return Measured.unknown(NO_VOTE)
    share = _share(sum(v.value_pence for v in votes if v.vote == "for"), total)
    return Measured.exactly(share, f"{float(share):.1f}% for, of {format_pence(total)} voting")


def unconnected_against(facts: ClientFacts, _: Context) -> Measured:
    unconnected = [v for v in facts.iva_votes or [] if not v.connected]
    total = sum(v.value_pence for v in unconnected)
    if facts.iva_votes is None or total == 0:
        return Measured.unknown(NO_VOTE)
    share = _share(sum(v.value_pence for v in unconnected if v.vote == "against"), total)
    shown = f"{float(share):.1f}% against, of {format_pence(total)} of unconnected creditors"
    return Measured.exactly(share, shown)


RULES: tuple[Rule, ...] = (
    LimitRule("iva.approval_share", "iva.approval_share", "Creditors voting for, by value",
              share_for),
    LimitRule("iva.unconnected_against_max", "iva.unconnected_against_max",
              "Unconnected creditors voting against, by value", unconnected_against),
)  # fmt: skip


def blockers(facts: ClientFacts, context: Context) -> list[str]:
    """Creditors holding enough of the debt to defeat the proposal alone, if all vote."""
    try:
        needed = limit_units(context.limit("iva.approval_share"))
    except NoValueInForce:
        return []
    owed = [(d.creditor, d.balance_pence) for d in facts.debts if d.balance_pence]
    total = sum(p for _, p in owed if p)
    if not total:
        return []
    notes = []
    for creditor, pence in owed:
        share = _share(pence or 0, total)
        if share > 100 - needed:
            notes.append(
                f"{creditor} holds {float(share):.1f}% of the debts by value: if every "
                f"creditor votes, its vote against alone would defeat the proposal."
            )
    return notes


def assess(facts: ClientFacts, context: Context) -> SchemeResult:
    notes = blockers(facts, context)
    notes.append("An IVA is proposed and supervised by a licensed insolvency practitioner.")
    return SchemeResult(SCHEME, TITLE, judge(RULES, facts, context), notes)
