"""Debt Relief Order (England and Wales): every condition, judged as at a date.

Total qualifying debts, surplus income and assets against the limits in force on the
assessment date (an application before 28 June 2024 is judged on £30,000, after it on
£50,000); one vehicle worth less than the vehicle limit disregarded; residence in the
last 3 years; no DRO in the last 6 years; not bankrupt or in an IVA; no pending
creditor's petition without that creditor's consent. Debts a DRO cannot include are
listed and left out of the total.
"""

from __future__ import annotations

from rma.cases.kinds import DEBT_KINDS
from rma.eligibility.criteria import (
    Context,
    Criterion,
    FactRule,
    LimitRule,
    Measured,
    Outcome,
    Rule,
    SchemeResult,
    SinceRule,
    all_of,
    judge,
    limit_units,
    margin_words,
    meets,
    statements,
)
from rma.eligibility.facts import AssetFact, ClientFacts, DebtFact
from rma.limits.table import NoValueInForce
from rma.text import format_pence

SCHEME = "dro"
TITLE = "Debt Relief Order"
SCHEDULE = "Insolvency Act 1986, section 251A and Schedule 4ZA"
# Debts a DRO cannot include (besides most debts arising from fraud), by kind.
EXCLUDED_KINDS = frozenset(
    {"student_loan", "child_maintenance", "magistrates_fine", "social_fund", "mortgage",
     "secured_loan"}
)  # fmt: skip


def qualifies(debt: DebtFact) -> bool | None:
    """True: a DRO can include it; False: excluded; None: its kind is not recorded."""
    if debt.from_fraud or debt.kind in EXCLUDED_KINDS:
        return False
    return None if debt.kind is None else True


def _range(low: int, high: int | None) -> str:
    if high == low:
        return format_pence(low)
    if high is None:
        return f"at least {format_pence(low)}"
    return f"{format_pence(low)} to {format_pence(high)}"


def qualifying_debts(facts: ClientFacts, _: Context) -> Measured:
    counted = [d for d in facts.debts if qualifies(d) is True]
    maybe = [d for d in facts.debts if qualifies(d) is None]
    excluded = [d for d in facts.debts if qualifies(d) is False]
    low = sum(d.balance_pence or 0 for d in counted)
    high: int | None = low + sum(d.balance_pence or 0 for d in maybe)
    missing, notes = [], []
    if any(d.balance_pence is None for d in counted + maybe):
        high = None
        unknown = [d.creditor for d in counted + maybe if d.balance_pence is None]
        missing.append(f"the amount owed to {', '.join(unknown)}")
    if maybe:
        missing.append(f"the kind of debt owed to {', '.join(d.creditor for d in maybe)}")
    if facts.unconfirmed_debts:
        missing.append(f"confirm or reject {facts.unconfirmed_debts} proposed debt(s)")
        if high is not None and facts.unconfirmed_debts_pence is not None:
            high += facts.unconfirmed_debts_pence
        else:
            high = None
    if excluded:
        notes.append("Not counted (a DRO cannot include them): "
                     + "; ".join(_excluded(d) for d in excluded))  # fmt: skip
    return Measured(low, high, _range(low, high), tuple(missing), tuple(notes))


def _excluded(debt: DebtFact) -> str:
    why = "arising from fraud" if debt.from_fraud else DEBT_KINDS[debt.kind or "other"]
    owed = format_pence(debt.balance_pence) if debt.balance_pence is not None else "amount unknown"
    return f"{debt.creditor} ({why}, {owed})"


def surplus(facts: ClientFacts, _: Context) -> Measured:
    if facts.monthly_surplus_pence is None:
        return Measured.unknown("the client's monthly income and spending")
    value = facts.monthly_surplus_pence
    shown = f"{format_pence(value)} a month" + (" (a shortfall)" if value < 0 else "")
    return Measured.exactly(value, shown)


def disregarded_vehicle(facts: ClientFacts, context: Context) -> AssetFact | None:
    """The one vehicle left out of the assets: the most valuable one worth less than the
    vehicle limit (the choice that favours the client), if any."""
    try:
        bound = limit_units(context.limit("dro.vehicle"))
    except NoValueInForce:
        return None
    under = [
        a for a in facts.assets if a.kind == "vehicle" and meets(a.value_pence, bound, "less_than")
    ]
    return max(under, key=lambda a: a.value_pence, default=None)


def assets(facts: ClientFacts, context: Context) -> Measured:
    left_out = disregarded_vehicle(facts, context)
    counted = [a for a in facts.assets if a is not left_out]
    low = sum(a.value_pence for a in counted)
    notes = []
    if left_out is not None:
        notes.append(f"One vehicle ({left_out.description or 'vehicle'}, "
                     f"{format_pence(left_out.value_pence)}) is disregarded")  # fmt: skip
    if facts.assets_complete:
        return Measured.exactly(low, format_pence(low), tuple(notes))
    missing = ("confirm that every asset the client has is recorded",)
    return Measured(low, None, f"at least {format_pence(low)}", missing, tuple(notes))


def vehicle(facts: ClientFacts, context: Context) -> Criterion:
    question = "One vehicle is disregarded if worth less than the vehicle limit"
    try:
        limit = context.limit("dro.vehicle")
    except NoValueInForce as exc:
        return Criterion("dro.vehicle", question, "unknown", notes=[str(exc)], decides=False)
    vehicles = sorted((a for a in facts.assets if a.kind == "vehicle"), key=lambda a: a.value_pence)
    if not vehicles:
        recorded: Outcome = "pass" if facts.assets_complete else "unknown"
        missing = [] if facts.assets_complete else ["whether the client has a vehicle"]
        return Criterion(
            "dro.vehicle", question, recorded, "no vehicle recorded", limit, missing=missing,
            decides=False,
        )  # fmt: skip
    chosen = disregarded_vehicle(facts, context) or vehicles[0]
    bound = limit_units(limit)
    met = meets(chosen.value_pence, bound, "less_than")
    notes, missing = [], []
    outcome: Outcome = "pass" if met else "fail"
    if not met:
        notes.append("Not disregarded: its value is counted in the assets")
        if not facts.assets_complete:  # a vehicle not yet recorded might be disregarded
            outcome = "unknown"
            missing.append("confirm that every asset the client has is recorded")
    if len(vehicles) > 1:
        notes.append("Only one vehicle is disregarded; the others count as assets")
    return Criterion(
        "dro.vehicle",
        question,
        outcome,
        f"{chosen.description or 'vehicle'} worth {format_pence(chosen.value_pence)}",
        limit,
        margin=margin_words(chosen.value_pence, bound, limit),
        missing=missing,
        notes=notes,
        decides=False,
    )


def insolvency(facts: ClientFacts, _: Context) -> Criterion:
    return all_of(
        "dro.insolvency",
        "Not bankrupt and not in an IVA",
        SCHEDULE,
        ("bankrupt", None if facts.bankrupt is None else not facts.bankrupt,
         "whether the client is bankrupt"),
        ("in an IVA", None if facts.in_iva is None else not facts.in_iva,
         "whether the client is in an IVA"),
    )  # fmt: skip


def petition(facts: ClientFacts, _: Context) -> Criterion:
    question = "No pending creditor's bankruptcy petition (unless that creditor consents)"
    key = "dro.petition"
    if facts.pending_petition is None:
        missing = ["whether a creditor's bankruptcy petition is pending"]
        return Criterion(key, question, "unknown", "not known", citation=SCHEDULE, missing=missing)
    if not facts.pending_petition:
        return Criterion(key, question, "pass", "none pending", citation=SCHEDULE)
    if facts.petitioner_consents is None:
        missing = ["whether the petitioning creditor consents to a DRO"]
        return Criterion(
            key, question, "unknown", "a petition is pending", citation=SCHEDULE, missing=missing
        )
    shown = "pending, " + ("the creditor consents" if facts.petitioner_consents else "no consent")
    consent: Outcome = "pass" if facts.petitioner_consents else "fail"
    return Criterion(key, question, consent, shown, citation=SCHEDULE)


RULES: tuple[Rule, ...] = (
    LimitRule("dro.max_debt", "dro.max_debt", "Total qualifying debts", qualifying_debts),
    LimitRule("dro.surplus_income", "dro.surplus_income", "Monthly surplus income", surplus),
    LimitRule("dro.assets", "dro.assets", "Total assets (one vehicle disregarded)", assets),
    vehicle,
    FactRule(
        "dro.residence",
        "Lived, had a home or carried on business in England or Wales in the last 3 years",
        "lived_in_england_wales",
        True,
        "whether the client lived, had a home or did business in England or Wales in the "
        "last 3 years",
        limit="dro.residence_years",
    ),
    SinceRule(
        "dro.previous_dro",
        "No DRO in the last 6 years",
        "dro.previous_dro_years",
        "previous_dro",
        "previous_dro_on",
        "a DRO",
    ),
    insolvency,
    petition,
)


def assess(facts: ClientFacts, context: Context) -> SchemeResult:
    notes = statements(context, "dro.fee", "dro.duration_months")
    return SchemeResult(SCHEME, TITLE, judge(RULES, facts, context), notes)
