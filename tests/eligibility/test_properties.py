"""Properties every rule must have, whatever the figures and the date: a figure exactly
at a limit passes (unless the table says "less than"), more debt, surplus or assets never
turn a fail into a pass, and missing data never passes: a result given with something
unknown holds for every way the unknown could turn out."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rma.cases.kinds import DEBT_KINDS
from rma.eligibility import AssetFact, ClientFacts, DebtFact, IvaVote, assess
from rma.eligibility.criteria import Criterion, add_months, limit_units
from rma.eligibility.dro import EXCLUDED_KINDS
from rma.limits import shipped_table

TABLE = shipped_table()
RANK = {"fail": 0, "unknown": 1, "pass": 2}
FIRST_DRO_DAY = date(2009, 4, 6)
QUALIFYING = sorted(set(DEBT_KINDS) - EXCLUDED_KINDS)
BOOLEAN_FACTS = (
    "lived_in_england_wales", "bankrupt", "in_iva", "pending_petition", "petitioner_consents",
    "unable_to_pay", "in_breathing_space", "mental_health_crisis_treatment",
)  # fmt: skip
EXAMPLES = settings(max_examples=150, deadline=None)

days = st.dates(FIRST_DRO_DAY, date(2028, 12, 31))
# Amounts of every size, with plenty near the debt limits (£15,000 to £50,000).
pence = st.one_of(st.integers(0, 8_000_000), st.integers(1_000_000, 6_000_000))
kinds = st.one_of(st.none(), st.sampled_from(sorted(DEBT_KINDS)))
debts = st.builds(
    DebtFact,
    creditor=st.sampled_from(["Northgate Bank", "Pennine Loans", "Harbour Cards", "Council"]),
    kind=kinds,
    balance_pence=st.one_of(st.none(), pence),
    from_fraud=st.booleans(),
)
assets = st.builds(
    AssetFact,
    kind=st.sampled_from(["vehicle", "savings", "property", "other"]),
    value_pence=st.integers(0, 800_000),
)
maybe = st.one_of(st.none(), st.booleans())


@st.composite
def partial_facts(draw: st.DrawFn) -> ClientFacts:
    """Facts with any of them unknown."""
    unconfirmed = draw(st.integers(0, 2))
    return ClientFacts(
        debts=draw(st.lists(debts, max_size=5)),
        unconfirmed_debts=unconfirmed,
        unconfirmed_debts_pence=draw(st.one_of(st.none(), pence)) if unconfirmed else 0,
        monthly_surplus_pence=draw(st.one_of(st.none(), st.integers(-50_000, 50_000))),
        assets=draw(st.lists(assets, max_size=3)),
        assets_complete=draw(maybe),
        previous_dro=draw(maybe),
        previous_dro_on=draw(st.one_of(st.none(), st.dates(date(2009, 4, 6), date(2028, 1, 1)))),
        previous_breathing_space=draw(maybe),
        previous_breathing_space_on=draw(st.one_of(st.none(), days)),
        **{name: draw(maybe) for name in BOOLEAN_FACTS},
    )


@st.composite
def completions(draw: st.DrawFn, facts: ClientFacts) -> ClientFacts:
    """One way every unknown in ``facts`` could turn out."""
    known = [
        d.model_copy(
            update={
                "kind": d.kind or draw(st.sampled_from(sorted(DEBT_KINDS))),
                "balance_pence": draw(pence) if d.balance_pence is None else d.balance_pence,
            }
        )
        for d in facts.debts
    ]
    if facts.unconfirmed_debts:  # the proposals turn out to be debts of some kind
        amounts = draw(st.lists(pence, min_size=facts.unconfirmed_debts,
                                max_size=facts.unconfirmed_debts))  # fmt: skip
        if facts.unconfirmed_debts_pence is not None:
            total = facts.unconfirmed_debts_pence
            amounts = [total] + [0] * (len(amounts) - 1)
        known += [
            DebtFact(creditor="Proposed", kind=draw(st.sampled_from(sorted(DEBT_KINDS))),
                     balance_pence=a)
            for a in amounts
        ]  # fmt: skip
    extra_assets = [] if facts.assets_complete else draw(st.lists(assets, max_size=2))
    update: dict[str, object] = {
        "debts": known,
        "unconfirmed_debts": 0,
        "unconfirmed_debts_pence": 0,
        "assets": facts.assets + extra_assets,
        "assets_complete": True,
    }
    if facts.monthly_surplus_pence is None:
        update["monthly_surplus_pence"] = draw(st.integers(-50_000, 50_000))
    for name in (*BOOLEAN_FACTS, "previous_dro", "previous_breathing_space"):
        if getattr(facts, name) is None:
            update[name] = draw(st.booleans())
    for on in ("previous_dro_on", "previous_breathing_space_on"):
        if getattr(facts, on) is None:
            update[on] = draw(days)
    return facts.model_copy(update=update)


def criteria(facts: ClientFacts, when: date) -> dict[str, Criterion]:
    result = assess(facts, TABLE, when, today=date(2026, 12, 1))
    return {c.key: c for s in result.schemes for c in s.criteria}


def outcomes(facts: ClientFacts, when: date) -> dict[str, str]:
    result = assess(facts, TABLE, when, today=date(2026, 12, 1))
    found = {c.key: c.outcome for s in result.schemes for c in s.criteria}
    found.update({s.scheme: s.outcome for s in result.schemes})
    return found


def eligible_client(**changes: object) -> ClientFacts:
    """Facts that meet every DRO condition but the figures a test sets."""
    base: dict[str, object] = {
        "debts": [DebtFact(creditor="Northgate Bank", kind="credit_card", balance_pence=100_000)],
        "monthly_surplus_pence": 0,
        "assets": [],
        "assets_complete": True,
        "lived_in_england_wales": True,
        "previous_dro": False,
        "bankrupt": False,
        "in_iva": False,
        "pending_petition": False,
    }
    return ClientFacts.model_validate({**base, **changes})


def limit_pence(name: str, when: date) -> int:
    value = limit_units(TABLE.as_at(name, when))
    assert value.denominator == 1
    return int(value)


# ------------------------------------------------------------------ exactly at the limit


@EXAMPLES
@given(when=days, parts=st.integers(1, 6), data=st.data())
def test_debts_exactly_at_the_limit_pass_and_a_penny_more_fails(
    when: date, parts: int, data: st.DataObject
) -> None:
    limit = limit_pence("dro.max_debt", when)
    cuts = sorted(data.draw(st.lists(st.integers(0, limit), min_size=parts - 1,
                                     max_size=parts - 1)))  # fmt: skip
    amounts = [b - a for a, b in zip([0, *cuts], [*cuts, limit], strict=True)]
    kinds_drawn = data.draw(st.lists(st.sampled_from(QUALIFYING), min_size=parts, max_size=parts))
    at_limit = [DebtFact(creditor=f"C{i}", kind=k, balance_pence=a)
                for i, (k, a) in enumerate(zip(kinds_drawn, amounts, strict=True))]  # fmt: skip
    found = criteria(eligible_client(debts=at_limit), when)["dro.max_debt"]
    assert found.outcome == "pass" and found.margin and found.margin.startswith("exactly at")
    over = [*at_limit, DebtFact(creditor="One more", kind="overdraft", balance_pence=1)]
    found = criteria(eligible_client(debts=over), when)["dro.max_debt"]
    assert found.outcome == "fail" and found.margin and found.margin.startswith("£0.01 over")


@EXAMPLES
@given(when=days)
def test_each_limit_judged_at_its_exact_value_as_the_table_says(when: date) -> None:
    """Surplus and assets are "at most" (the value passes); the vehicle disregard is "less
    than" (the value fails): read from the table, not assumed here."""
    surplus = limit_pence("dro.surplus_income", when)
    assets_limit = limit_pence("dro.assets", when)
    vehicle = limit_pence("dro.vehicle", when)
    found = criteria(eligible_client(monthly_surplus_pence=surplus), when)
    assert found["dro.surplus_income"].outcome == "pass"
    found = criteria(eligible_client(monthly_surplus_pence=surplus + 1), when)
    assert found["dro.surplus_income"].outcome == "fail"
    savings = {"kind": "savings", "value_pence": assets_limit}
    assert criteria(eligible_client(assets=[savings]), when)["dro.assets"].outcome == "pass"
    savings["value_pence"] += 1
    assert criteria(eligible_client(assets=[savings]), when)["dro.assets"].outcome == "fail"
    comparison = TABLE.as_at("dro.vehicle", when).row.definition.comparison
    car = {"kind": "vehicle", "description": "car", "value_pence": vehicle}
    found = criteria(eligible_client(assets=[car]), when)["dro.vehicle"]
    assert (found.outcome == "pass") == (comparison in ("at_most", "at_least"))
    car["value_pence"] -= 1
    assert criteria(eligible_client(assets=[car]), when)["dro.vehicle"].outcome == "pass"


@EXAMPLES
@given(when=st.dates(date(2015, 1, 1), date(2028, 12, 31)), shift=st.integers(-400, 400))
def test_a_previous_dro_exactly_six_years_before_passes(when: date, shift: int) -> None:
    six_years_before = add_months(when, -12 * int(TABLE.as_at("dro.previous_dro_years").value))
    made = six_years_before + timedelta(days=shift)
    found = criteria(eligible_client(previous_dro=True, previous_dro_on=made), when)
    assert found["dro.previous_dro"].outcome == ("pass" if made <= six_years_before else "fail")


@EXAMPLES
@given(total=st.integers(1, 10_000_000), data=st.data())
def test_an_iva_vote_of_exactly_the_approval_share_passes(total: int, data: st.DataObject) -> None:
    share = Fraction(int(TABLE.as_at("iva.approval_share").value), 100)
    needed = share * total
    votes_for = data.draw(st.sampled_from([int(needed) - 1, int(needed), int(needed) + 1]))
    votes_for = max(0, min(total, votes_for))
    votes = [
        IvaVote(creditor="A", value_pence=votes_for, vote="for"),
        IvaVote(creditor="B", value_pence=total - votes_for, vote="against", connected=True),
    ]
    found = criteria(ClientFacts(iva_votes=votes), date(2026, 1, 1))["iva.approval_share"]
    assert found.outcome == ("pass" if votes_for >= needed else "fail")


# ------------------------------------------------------------------ monotonicity


@EXAMPLES
@given(facts=partial_facts(), extra=debts, when=days)
def test_more_debt_never_turns_a_fail_into_a_pass(
    facts: ClientFacts, extra: DebtFact, when: date
) -> None:
    before = outcomes(facts, when)
    after = outcomes(facts.model_copy(update={"debts": [*facts.debts, extra]}), when)
    for key in ("dro.max_debt", "dro"):
        assert RANK[after[key]] <= RANK[before[key]], (key, before[key], after[key])


@EXAMPLES
@given(facts=partial_facts(), rise=st.integers(0, 100_000), extra=assets, when=days)
def test_more_surplus_or_assets_never_turn_a_fail_into_a_pass(
    facts: ClientFacts, rise: int, extra: AssetFact, when: date
) -> None:
    before = outcomes(facts, when)
    if facts.monthly_surplus_pence is not None:
        richer = facts.model_copy(
            update={"monthly_surplus_pence": facts.monthly_surplus_pence + rise}
        )
        assert RANK[outcomes(richer, when)["dro"]] <= RANK[before["dro"]]
    owning = facts.model_copy(update={"assets": [*facts.assets, extra]})
    after = outcomes(owning, when)
    assert RANK[after["dro.assets"]] <= RANK[before["dro.assets"]]
    assert RANK[after["dro"]] <= RANK[before["dro"]]


# ------------------------------------------------------------------ missing data


@settings(max_examples=300, deadline=None)
@given(data=st.data(), when=days)
def test_missing_data_never_passes_silently(data: st.DataObject, when: date) -> None:
    """A pass or a fail given while something is unknown holds however it turns out; an
    unknown always says what is missing (or why the limit cannot be looked up)."""
    partial = data.draw(partial_facts())
    complete = data.draw(completions(partial))
    given_now = outcomes(partial, when)
    later = outcomes(complete, when)
    for key, outcome in given_now.items():
        if outcome in ("pass", "fail"):
            assert later[key] == outcome, (key, outcome, later[key])
    for criterion in criteria(partial, when).values():
        if criterion.outcome == "unknown":
            assert criterion.missing or criterion.notes, criterion.key


def test_nothing_known_passes_nothing() -> None:
    found = assess(ClientFacts(), TABLE, date(2025, 1, 1))
    assert {s.scheme: s.outcome for s in found.schemes} == {
        "dro": "unknown",
        "bankruptcy": "unknown",
        "breathing_space": "fail",  # no debts recorded: nothing to protect
        "breathing_space_mental_health": "fail",
        "iva": "unknown",
    }
