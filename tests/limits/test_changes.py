"""Changes to the limits: applying one (pure), and the register on SQLite and a real
PostgreSQL: proposals change nothing, approvals change the table, every decision is
recorded once, and replicas see an approval on their next lookup."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from rma.accounts.permissions import Actor
from rma.config import load_settings
from rma.db import Database, database_urls, ensure_current
from rma.errors import Conflict, Forbidden, InputError, NotFound, Unauthenticated
from rma.limits.changes import (
    LimitChange,
    LimitRegister,
    Proposal,
    apply_change,
    effective_table,
)
from rma.limits.table import LimitTable, UnknownLimit, shipped_table

D = date.fromisoformat
TODAY = date(2026, 11, 30)


def new(name: str, value: int, start: str, end: str | None = None) -> Proposal:
    return Proposal(name, Decimal(value), "an order", "a reason", D(start), D(end) if end else None)


def fix(
    name: str, row: str, value: int, start: str | None = None, end: str | None = None
) -> Proposal:
    return Proposal(
        name, Decimal(value), "an order", "a reason",
        D(start) if start else None, D(end) if end else None, corrects=row,
    )  # fmt: skip


def periods(table: LimitTable, name: str) -> list[tuple[int, str | None, str | None]]:
    return [
        (int(r.value), r.effective_from and r.effective_from.isoformat(),
         r.effective_to and r.effective_to.isoformat())
        for r in table.history(name)
    ]  # fmt: skip


# ------------------------------------------------------------------- applying (pure)


def test_a_new_value_from_a_later_date_ends_the_current_one() -> None:
    table = apply_change(shipped_table(), new("dro.max_debt", 60000, "2027-04-01"))
    assert periods(table, "dro.max_debt")[-2:] == [
        (50000, "2024-06-28", "2027-03-31"), (60000, "2027-04-01", None),
    ]  # fmt: skip
    assert table.as_at("dro.max_debt", D("2027-03-31")).value == 50000
    row = table.history("dro.max_debt")[-1]
    assert (row.origin, row.source) == ("approved", "an order")


def test_a_new_value_inside_a_past_period_splits_it() -> None:
    table = apply_change(shipped_table(), new("dro.max_debt", 25000, "2020-01-01", "2020-12-31"))
    assert periods(table, "dro.max_debt")[1:4] == [
        (20000, "2015-10-01", "2019-12-31"), (25000, "2020-01-01", "2020-12-31"),
        (20000, "2021-01-01", "2021-06-28"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("proposal", "message"),
    [
        (new("dro.max_debt", 50000, "2025-01-01"), "already £50,000 on 1 January 2025"),
        (new("dro.max_debt", 40000, "2024-06-28"), "--corrects 2024-06-28"),
        (new("dro.max_debt", 40000, "2020-01-01", "2025-01-01"), "cannot replace recorded values"),
        (fix("bankruptcy.deposit", "2016-07-21", 600), "£680 is not £130 + £600"),
        (fix("dro.max_debt", "2021-06-29", 30000), "nothing to change"),
        (new("dro.max_debt", -1, "2027-01-01"), "cannot be negative"),
    ],
)
def test_changes_that_cannot_be_made_say_why(proposal: Proposal, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        apply_change(shipped_table(), proposal)


def test_unknown_names_and_rows() -> None:
    with pytest.raises(UnknownLimit):
        apply_change(shipped_table(), new("dro.max_debts", 1, "2027-01-01"))
    with pytest.raises(NotFound, match="no row from 2020-01-01; its rows start: 2009-04-06"):
        apply_change(shipped_table(), fix("dro.max_debt", "2020-01-01", 1))


def test_corrections_move_the_neighbouring_boundary() -> None:
    table = apply_change(
        shipped_table(), fix("dro.max_debt", "2021-06-29", 30000, start="2021-07-01")
    )
    assert periods(table, "dro.max_debt")[1:3] == [
        (20000, "2015-10-01", "2021-06-30"), (30000, "2021-07-01", "2024-06-27"),
    ]  # fmt: skip
    value_only = apply_change(shipped_table(), fix("dro.vehicle", "2021-06-29", 2500))
    assert periods(value_only, "dro.vehicle")[1] == (2500, "2021-06-29", "2024-06-27")


def test_a_correction_can_record_an_unrecorded_start() -> None:
    table = apply_change(shipped_table(), fix("dro.fee", "unknown-start", 90, start="2009-04-06"))
    first = table.history("dro.fee")[0]
    assert (first.effective_from, first.known_from) == (D("2009-04-06"), None)
    assert table.as_at("dro.fee", D("2009-04-06")).statement().startswith("From 6 April 2009 to")


def test_an_approved_change_that_no_longer_applies_is_left_out_and_reported() -> None:
    def recorded(change_id: int, proposal: Proposal) -> LimitChange:
        return LimitChange(
            change_id, proposal.kind, proposal.name, proposal.jurisdiction, proposal.value,
            "GBP", proposal.effective_from, proposal.effective_to, proposal.corrects, None, None,
            None, proposal.evidence, None, None, proposal.reason, "Ann", None,  # type: ignore[arg-type]
            "old", "approved",
        )  # fmt: skip

    table = effective_table(
        shipped_table(),
        [recorded(1, new("dro.max_debt", 60000, "2027-04-01")),
         recorded(2, new("dro.max_debt", 60000, "2027-05-01"))],
    )  # fmt: skip
    assert table.approved_changes == (1,)
    assert table.as_at("dro.max_debt", D("2027-06-01")).value == 60000
    assert table.warnings == [
        "approved change #2 to dro.max_debt is not applied: dro.max_debt is already £60,000 "
        "on 1 May 2027: nothing to change"
    ]


# ------------------------------------------------------------------- the register (db)


@pytest.fixture
async def register(database_url: str) -> AsyncIterator[LimitRegister]:
    urls = database_urls(load_settings(RMA_DATABASE_URL=database_url))
    await asyncio.to_thread(ensure_current, urls)
    database = Database(urls)
    yield LimitRegister(database)
    await database.aclose()


async def test_a_proposal_changes_nothing_until_approved(register: LimitRegister) -> None:
    proposal = Proposal(
        "dro.max_debt", Decimal(900000), "upload: new-rules.md", "the manual says so",
        D("2026-01-01"), evidence_page=1, evidence_quote="From 1 January 2026 ... £900,000",
    )  # fmt: skip
    change = await register.propose(proposal, Actor("Ann Adviser", "adviser"))
    assert (change.status, change.previous_value, change.previous_from) == (
        "proposed", Decimal(50000), D("2024-06-28"),
    )  # fmt: skip
    assert (await register.table()).as_at("dro.max_debt").value == 50000
    approved = await register.approve(
        change.id, Actor("Sam Supervisor", "supervisor"), "checked the order"
    )
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        "approved", "Sam Supervisor", "checked the order",
    )  # fmt: skip
    assert approved.decided_at is not None and approved.decided_at.tzinfo is not None
    table = await register.table()
    assert table.as_at("dro.max_debt", TODAY).value == 900000
    assert table.as_at("dro.max_debt", D("2025-12-31")).value == 50000
    assert table.approved_changes == (change.id,)
    assert table.as_at("dro.max_debt", TODAY).row.change_id == change.id


async def test_each_proposal_is_decided_once(register: LimitRegister) -> None:
    change = await register.propose(new("dro.vehicle", 5000, "2027-01-01"), Actor("Ann", "adviser"))
    with pytest.raises(InputError, match="say why"):
        await register.reject(change.id, Actor("Sam", "supervisor"), "")
    rejected = await register.reject(change.id, Actor("Sam", "supervisor"), "no such instrument")
    assert rejected.status == "rejected"
    with pytest.raises(Conflict, match="already rejected by Sam"):
        await register.approve(change.id, Actor("Kim", "admin"))
    assert (await register.table()).as_at("dro.vehicle", D("2027-02-01")).value == 4000
    with pytest.raises(NotFound):
        await register.approve(999, Actor("Kim", "admin"))


async def test_only_a_supervisor_or_admin_approves_and_never_their_own(
    register: LimitRegister,
) -> None:
    ann, bo = Actor("ann@x.org", "adviser", id=1), Actor("bo@x.org", "adviser", id=4)
    sam, kim = Actor("sam@x.org", "supervisor", id=2), Actor("kim@x.org", "admin", id=3)
    change = await register.propose(new("dro.vehicle", 5000, "2027-01-01"), ann)
    assert change.proposed_by_id == 1
    for adviser in (ann, bo):
        with pytest.raises(Forbidden, match="adviser may not approve"):
            await register.approve(change.id, adviser)
        with pytest.raises(Forbidden, match="adviser may not reject"):
            await register.reject(change.id, adviser, "no")
    with pytest.raises(Unauthenticated, match="sign in"):
        await register.propose(new("dro.vehicle", 5000, "2027-01-01"), Actor("x", kind="anonymous"))
    own = await register.propose(new("dro.assets", 3000, "2027-01-01"), sam)
    with pytest.raises(Forbidden, match="proposed or wrote themselves"):
        await register.approve(own.id, sam)
    # The same person under another spelling of their name is still the same account.
    with pytest.raises(Forbidden, match="proposed or wrote themselves"):
        await register.approve(own.id, Actor("Sam S", "supervisor", id=2))
    assert (await register.approve(own.id, kim)).decided_by_id == 3
    assert (await register.approve(change.id, sam)).status == "approved"
    assert not await register.changes("proposed")


async def test_two_people_approving_at_once_cannot_both_win(register: LimitRegister) -> None:
    change = await register.propose(new("dro.assets", 3000, "2027-01-01"), Actor("Ann", "adviser"))
    other = LimitRegister(register.database)
    results = await asyncio.gather(
        register.approve(change.id, Actor("Sam", "supervisor")),
        other.approve(change.id, Actor("Kim", "admin")),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "LimitChange"]
    assert len(await register.changes("approved")) == 1


async def test_an_approval_that_no_longer_fits_the_table_is_refused(
    register: LimitRegister,
) -> None:
    first = await register.propose(
        new("dro.max_debt", 60000, "2027-04-01"), Actor("Ann", "adviser")
    )
    second = await register.propose(
        new("dro.max_debt", 60000, "2027-04-01"), Actor("Bo", "adviser")
    )
    await register.approve(first.id, Actor("Sam", "supervisor"))
    with pytest.raises(Conflict, match="cannot be approved as the table stands"):
        await register.approve(second.id, Actor("Sam", "supervisor"))
    assert [c.id for c in await register.changes("proposed")] == [second.id]


async def test_another_replica_sees_an_approval_on_its_next_lookup(register: LimitRegister) -> None:
    replica = LimitRegister(register.database)
    assert (await replica.table()).as_at("dro.fee", TODAY).value == 0
    change = await register.propose(fix("dro.fee", "2024-04-06", 10), Actor("Ann", "adviser"))
    await register.approve(change.id, Actor("Sam", "supervisor"))
    assert (await replica.table()).as_at("dro.fee", TODAY).value == 10
