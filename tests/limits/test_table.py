"""The shipped table against an answer key written from the canonical list of limits (not
read from the data file), the as-at lookup and its sentences, and the validation catching
mistakes planted in a copy of the real data file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rma.limits.table import (
    SHIPPED,
    LimitTable,
    LimitTableError,
    NoValueInForce,
    UnknownLimit,
    parse_table,
    shipped_table,
)

TODAY = date(2026, 11, 30)
D = date.fromisoformat

# (name, date, value in force): each boundary day on both sides, from the canonical list.
ANSWER_KEY = [
    ("dro.max_debt", "2009-04-06", 15000), ("dro.max_debt", "2015-09-30", 15000),
    ("dro.max_debt", "2015-10-01", 20000), ("dro.max_debt", "2021-06-28", 20000),
    ("dro.max_debt", "2021-06-29", 30000), ("dro.max_debt", "2024-06-27", 30000),
    ("dro.max_debt", "2024-06-28", 50000), ("dro.max_debt", "2026-11-30", 50000),
    ("dro.surplus_income", "2021-06-28", 50), ("dro.surplus_income", "2021-06-29", 75),
    ("dro.assets", "2015-09-30", 300), ("dro.assets", "2015-10-01", 1000),
    ("dro.assets", "2021-06-28", 1000), ("dro.assets", "2021-06-29", 2000),
    ("dro.vehicle", "2021-06-28", 1000), ("dro.vehicle", "2021-06-29", 2000),
    ("dro.vehicle", "2024-06-27", 2000), ("dro.vehicle", "2024-06-28", 4000),
    ("dro.fee", "2024-04-05", 90), ("dro.fee", "2024-04-06", 0),
    ("dro.residence_years", "2026-11-30", 3), ("dro.previous_dro_years", "2026-11-30", 6),
    ("dro.duration_months", "2026-11-30", 12),
    ("bankruptcy.application_fee", "2026-11-30", 680),
    ("bankruptcy.adjudicator_fee", "2026-11-30", 130), ("bankruptcy.deposit", "2026-11-30", 550),
    ("bankruptcy.creditor_petition_min", "2015-09-30", 750),
    ("bankruptcy.creditor_petition_min", "2015-10-01", 5000),
    ("bankruptcy.petition_deposit", "2022-10-31", 990),
    ("bankruptcy.petition_deposit", "2022-11-01", 1500),
    ("bankruptcy.discharge_months", "2026-11-30", 12),
    ("bankruptcy.ipa_max_years", "2026-11-30", 3),
    ("breathing_space.standard_days", "2021-05-04", 60),
    ("breathing_space.mental_health_extra_days", "2021-05-04", 30),
    ("breathing_space.standard_repeat_months", "2026-11-30", 12),
    ("iva.approval_share", "2026-11-30", 75), ("iva.unconnected_against_max", "2026-11-30", 50),
]  # fmt: skip
CANONICAL_NAMES = {name for name, _, _ in ANSWER_KEY}


@pytest.fixture(scope="module")
def table() -> LimitTable:
    return shipped_table()


def test_every_canonical_limit_is_in_the_table_and_nothing_else(table: LimitTable) -> None:
    assert set(table.names()) == CANONICAL_NAMES
    assert table.version and table.released <= TODAY


@pytest.mark.parametrize(("name", "day", "value"), ANSWER_KEY)
def test_the_value_in_force_on_each_boundary(
    table: LimitTable, name: str, day: str, value: int
) -> None:
    assert table.as_at(name, D(day), today=TODAY).value == Decimal(value)


def test_the_statements_an_answer_uses(table: LimitTable) -> None:
    def said(name: str, day: str) -> str:
        return table.as_at(name, D(day), today=TODAY).statement()

    assert said("dro.max_debt", "2024-06-28") == "As at 28 June 2024, the DRO debt limit is £50,000"
    assert said("dro.max_debt", "2023-01-01") == (
        "From 29 June 2021 to 27 June 2024 the DRO debt limit was £30,000"
    )
    assert said("dro.surplus_income", "2026-11-30").endswith("is £75 a month")
    assert said("iva.approval_share", "2026-11-30").endswith("is 75%")
    assert said("breathing_space.standard_days", "2026-11-30").endswith("is 60 days")
    assert said("dro.fee", "2020-01-01") == (
        "Until 5 April 2024 (start not recorded; in force by 6 April 2009) "
        "the DRO application fee was £90"
    )


def test_status_is_relative_to_today(table: LimitTable) -> None:
    value = table.as_at("dro.max_debt", D("2022-01-01"), today=TODAY)
    assert (value.status, value.effective_to, value.origin) == (
        "historical",
        D("2024-06-27"),
        "shipped",
    )
    # the same row seen from a day when it was in force is current
    assert table.as_at("dro.max_debt", D("2022-01-01"), today=D("2022-01-01")).status == "current"
    assert table.as_at("dro.max_debt", D("2024-06-28"), today=D("2024-01-01")).status == "upcoming"
    assert table.as_at("dro.max_debt", D("2024-06-28"), today=D("2024-01-01")).statement() == (
        "From 28 June 2024 the DRO debt limit will be £50,000"
    )


def test_an_unknown_name_is_a_404_naming_the_known_ones(table: LimitTable) -> None:
    with pytest.raises(UnknownLimit) as caught:
        table.as_at("dro.debt_limit", TODAY)
    assert caught.value.status_code == 404
    assert "did you mean dro.max_debt" in str(caught.value)
    assert all(name in str(caught.value) for name in CANONICAL_NAMES)
    with pytest.raises(UnknownLimit, match="jurisdiction 'scotland'; known: england-wales"):
        table.as_at("dro.max_debt", TODAY, "scotland")


def test_a_date_before_any_value_is_an_error_not_a_guess(table: LimitTable) -> None:
    with pytest.raises(NoValueInForce) as caught:
        table.as_at("dro.max_debt", D("2001-01-01"))
    assert str(caught.value) == (
        "no value of dro.max_debt in force on 1 January 2001: "
        "the earliest recorded value is from 6 April 2009"
    )
    assert caught.value.status_code == 404
    # an unrecorded start is not stretched back beyond what the source vouches for
    with pytest.raises(NoValueInForce, match="start is not recorded"):
        table.as_at("dro.fee", D("2009-04-05"))


def test_history_current_and_changes_between_dates(table: LimitTable) -> None:
    assert [r.value for r in table.history("dro.max_debt")] == [15000, 20000, 30000, 50000]
    current = {v.name: v.value for v in table.current(today=TODAY)}
    assert current["dro.max_debt"] == 50000 and len(current) == len(CANONICAL_NAMES)
    between = table.changes_between(D("2024-01-01"), D("2024-07-01"))
    changed = {c.name: (c.before.value, c.after.value) for c in between if c.before and c.after}
    assert changed == {
        "dro.max_debt": (30000, 50000),
        "dro.vehicle": (2000, 4000),
        "dro.fee": (90, 0),
    }
    assert table.diff(table) == []


# ----------------------------------------------------------- planted mistakes, caught


def planted(old: str, new: str) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the plant site is not unique: {old!r}"
    return text.replace(old, new)


PLANTS = {
    "overlap": (
        "  value = 30000\n  from = 2021-06-29\n  to = 2024-06-27",
        "  value = 30000\n  from = 2021-06-29\n  to = 2024-06-30",
        "overlaps",
    ),
    "gap": (
        "  value = 30000\n  from = 2021-06-29\n  to = 2024-06-27",
        "  value = 30000\n  from = 2021-07-01\n  to = 2024-06-27",
        "no value from 29 June 2021 to 30 June 2021",
    ),
    "unknown unit": ('unit = "GBP/month"', 'unit = "pounds a month"', "unknown unit"),
    "float value": (
        "  value = 75\n  from = 2021-06-29", "  value = 75.0\n  from = 2021-06-29", "not 75.0",
    ),
    "unrecorded start without known_from": (
        '  from = "unknown"\n  known_from = 2009-04-06\n  to = 2024-04-05',
        '  from = "unknown"\n  to = 2024-04-05',
        "no known_from",
    ),
    "sum broken": ("  value = 680\n", "  value = 690\n", "£690 is not £130 + £550"),
    "unknown jurisdiction": (
        'name = "dro.vehicle"\njurisdiction = "england-wales"',
        'name = "dro.vehicle"\njurisdiction = "wales"',
        "unknown jurisdiction",
    ),
    "defined twice": ('name = "dro.vehicle"', 'name = "dro.assets"', "defined twice"),
    "ends before it starts": (
        "  from = 2022-11-01\n",
        "  from = 2022-11-01\n  to = 2022-10-01\n",
        "ends before it starts",
    ),
}  # fmt: skip


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_validation_catches_a_planted_mistake(plant: str) -> None:
    old, new, message = PLANTS[plant]
    with pytest.raises(LimitTableError) as caught:
        parse_table(planted(old, new))
    assert message in str(caught.value), str(caught.value)


def test_an_explained_gap_is_allowed_and_reported_on_lookup() -> None:
    text = planted(
        "  value = 30000\n  from = 2021-06-29\n  to = 2024-06-27",
        "  value = 30000\n  from = 2021-07-01\n  to = 2024-06-27\n"
        '  gap_before = "no limit applied"',
    )
    table = parse_table(text)
    with pytest.raises(NoValueInForce, match="no limit applied"):
        table.as_at("dro.max_debt", D("2021-06-30"))
