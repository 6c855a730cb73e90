"""Breathing space (the Debt Respite Scheme, England and Wales, from 4 May 2021): the
standard breathing space and the mental health crisis breathing space.

Both need a debt and a client not in a DRO, an IVA or bankruptcy; the standard one is
available once in any 12 months, the crisis one needs crisis treatment and has no
12-month limit. A date before the scheme began fails with the date it began.
"""

from __future__ import annotations

from rma.eligibility.criteria import (
    Context,
    Criterion,
    FactRule,
    Rule,
    SchemeResult,
    SinceRule,
    add_months,
    all_of,
    judge,
    months_in,
    statements,
)
from rma.eligibility.facts import ClientFacts
from rma.limits.table import NoValueInForce

REGULATIONS = (
    "The Debt Respite Scheme (Breathing Space Moratorium and Mental Health Crisis "
    "Moratorium) (England and Wales) Regulations 2020 (SI 2020/1311)"
)


def in_force(key: str, limit_name: str) -> Rule:
    def rule(_: ClientFacts, context: Context) -> Criterion:
        question = "The scheme is in force on the date of the assessment"
        try:
            limit = context.limit(limit_name)
        except NoValueInForce as exc:
            return Criterion(key, question, "fail", "not in force", notes=[str(exc)],
                             citation=REGULATIONS)  # fmt: skip
        return Criterion(key, question, "pass", "in force", limit, notes=[limit.statement()])

    return rule


def has_debt(key: str) -> Rule:
    def rule(facts: ClientFacts, _: Context) -> Criterion:
        question = "Has a debt"
        if facts.debts:
            return Criterion(key, question, "pass", f"{len(facts.debts)} debt(s) recorded",
                             citation=REGULATIONS)  # fmt: skip
        if facts.unconfirmed_debts:
            missing = [f"confirm or reject {facts.unconfirmed_debts} proposed debt(s)"]
            return Criterion(key, question, "unknown", "only proposed debts", missing=missing,
                             citation=REGULATIONS)  # fmt: skip
        return Criterion(key, question, "fail", "no debts recorded", citation=REGULATIONS)

    return rule


def not_insolvent(key: str) -> Rule:
    """Not in a DRO (one made within its length before the date), an IVA or bankrupt."""

    def rule(facts: ClientFacts, context: Context) -> Criterion:
        in_dro: bool | None
        if facts.previous_dro is False:
            in_dro = False
        elif facts.previous_dro is None or facts.previous_dro_on is None:
            in_dro = None
        else:
            try:
                months = months_in(context.limit("dro.duration_months"))
                in_dro = add_months(facts.previous_dro_on, months) > context.as_at
            except NoValueInForce:
                in_dro = None
        return all_of(
            key,
            "Not in a DRO, an IVA or bankruptcy",
            REGULATIONS,
            ("in a DRO", None if in_dro is None else not in_dro,
             "whether the client has had a DRO, and when"),
            ("in an IVA", None if facts.in_iva is None else not facts.in_iva,
             "whether the client is in an IVA"),
            ("bankrupt", None if facts.bankrupt is None else not facts.bankrupt,
             "whether the client is bankrupt"),
        )  # fmt: skip

    return rule


STANDARD: tuple[Rule, ...] = (
    in_force("breathing_space.in_force", "breathing_space.standard_days"),
    has_debt("breathing_space.debt"),
    FactRule(
        "breathing_space.not_in_one",
        "Not already in a breathing space",
        "in_breathing_space",
        False,
        "whether the client is in a breathing space now",
        citation=REGULATIONS,
    ),
    SinceRule(
        "breathing_space.repeat",
        "No standard breathing space in the last 12 months",
        "breathing_space.standard_repeat_months",
        "previous_breathing_space",
        "previous_breathing_space_on",
        "a standard breathing space",
    ),
    not_insolvent("breathing_space.insolvency"),
)

MENTAL_HEALTH: tuple[Rule, ...] = (
    in_force("breathing_space_mental_health.in_force", "breathing_space.mental_health_extra_days"),
    FactRule(
        "breathing_space_mental_health.treatment",
        "Receiving mental health crisis treatment",
        "mental_health_crisis_treatment",
        True,
        "whether the client is receiving mental health crisis treatment (evidence from an "
        "approved mental health professional)",
        citation=REGULATIONS,
    ),
    has_debt("breathing_space_mental_health.debt"),
    not_insolvent("breathing_space_mental_health.insolvency"),
)


def assess_standard(facts: ClientFacts, context: Context) -> SchemeResult:
    notes = statements(context, "breathing_space.standard_days")
    notes.append(
        "During it most enforcement stops, interest, fees and charges are frozen and "
        "creditors must not contact the client about the debt. A debt adviser applies."
    )
    return SchemeResult(
        "breathing_space", "Standard breathing space", judge(STANDARD, facts, context), notes
    )


def assess_mental_health(facts: ClientFacts, context: Context) -> SchemeResult:
    notes = statements(context, "breathing_space.mental_health_extra_days")
    notes.append(
        "It lasts for the crisis treatment and the period after it, with no 12-month limit. "
        "A debt adviser applies on an approved mental health professional's evidence."
    )
    return SchemeResult(
        "breathing_space_mental_health",
        "Mental health crisis breathing space",
        judge(MENTAL_HEALTH, facts, context),
        notes,
    )
