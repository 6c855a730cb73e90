"""The case store on SQLite and PostgreSQL: documents checked and kept encrypted, what they
say proposed and never counted until an adviser confirms it, where each figure came
from, priorities by rule, and the budget's surplus computed in code."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from rma.accounts.approvals import LetterApprovals
from rma.accounts.permissions import Actor
from rma.app.facts import client_facts
from rma.cases.schema import (
    AssetIn,
    BudgetLineIn,
    CaseUpdate,
    CircumstancesUpdate,
    ClientDetails,
    DebtDetails,
    NewCase,
)
from rma.cases.store import CaseStore
from rma.cases.views import debts_view
from rma.documents.sample_letters import SampleLetter
from rma.errors import Conflict, InputError, InputTooLarge, NotFound, UnsupportedMediaType
from tests.cases.conftest import ADVISER, add, png, reading_of

SUPERVISOR = Actor("Sam Supervisor", "supervisor")


async def new_case(store: CaseStore, name: str = "Jo Client") -> int:
    case = await store.create_case(ADVISER, NewCase(client=ClientDetails(name=name)))
    return case.id


async def test_a_case_is_created_listed_closed_and_reopened(store: CaseStore) -> None:
    first = await store.create_case(
        ADVISER,
        NewCase(
            client=ClientDetails(name="Jo Client", vulnerability_notes="recent bereavement"),
            opened_on=date(2026, 3, 2),
        ),
    )
    assert first.reference.startswith("2026-") and len(first.key) == 32
    assert first.client.vulnerability_notes == "recent bereavement"
    second_id = await new_case(store, "Sam Other")
    closed = await store.update_case(
        first.id, ADVISER, CaseUpdate(status="closed", closed_on=date(2026, 5, 1))
    )
    assert (closed.status, closed.closed_on) == ("closed", date(2026, 5, 1))
    assert [c.id for c in await store.cases(status="open")] == [second_id]
    assert [c.id for c in await store.cases(closed_before=date(2026, 6, 1))] == [first.id]
    assert await store.cases(closed_before=date(2026, 5, 1)) == []
    reopened = await store.update_case(first.id, ADVISER, CaseUpdate(status="open"))
    assert (reopened.status, reopened.closed_on) == ("open", None)
    with pytest.raises(NotFound):
        await store.case(999_999)


async def test_uploads_are_checked_by_content_and_size_and_kept_once(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    case_id = await new_case(store)
    image = png(letters["creditor-letter"])
    document = await add(store, case_id, image, "letter.png")
    assert (document.status, document.media_type, document.pages) == ("received", "image/png", 1)
    assert (await store.document_file(case_id, document.id)).data == image
    with pytest.raises(Conflict, match=f"document {document.id}"):
        await add(store, case_id, image, "again.png")
    with pytest.raises(UnsupportedMediaType, match="plain text"):
        await add(store, case_id, b"Dear client, pay now", "letter.pdf")
    with pytest.raises(UnsupportedMediaType, match="PNG"):
        await add(store, case_id, image + b"x", "letter.pdf")
    with pytest.raises(InputTooLarge):
        await add(store, case_id, b"%PDF-" + b"0" * 2_000_000, "big.pdf")
    with pytest.raises(InputError, match="empty"):
        await add(store, case_id, b"", "empty.pdf")
    assert [d.id for d in await store.documents(case_id)] == [document.id]


async def test_a_read_document_proposes_a_debt_that_counts_only_once_confirmed(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]
    case_id = await new_case(store)
    document = await add(store, case_id, png(letter), "letter.png")
    work = await store.start_reading(document.id)
    assert work is not None and work.data == png(letter)
    assert await store.start_reading(document.id) is None  # claimed once: one reader
    assert await store.unfinished_documents() == []
    read = await store.finish_reading(document.id, reading_of(letter))
    assert read.status == "processed" and {f.name for f in read.fields} >= {"creditor", "balance"}
    assert (await store.document_pages(case_id, document.id))[0]["text"] == letter.text

    [proposal] = await store.debts(case_id)
    balance = round(float(letter.fields["balance"]) * 100)
    assert (proposal.status, proposal.source, proposal.creditor) == (
        "proposed", "document", letter.fields["creditor"],
    )  # fmt: skip
    assert proposal.balance_pence == balance
    facts = await client_facts(store, case_id)
    assert facts.debts == [] and facts.unconfirmed_debts == 1
    assert facts.unconfirmed_debts_pence == balance
    assert debts_view(await store.debts(case_id))["totals"]["balance_pence"] == 0

    confirmed = await store.confirm_debt(
        case_id, proposal.id, ADVISER,
        DebtDetails(kind="credit_card", arrears_pence=1000), note="checked with the client",
    )  # fmt: skip
    assert (confirmed.status, confirmed.decided_by) == ("confirmed", ADVISER.name)
    assert (confirmed.priority, confirmed.arrears_pence) == ("non_priority", 1000)
    sources = {f.figure: f for f in confirmed.figures}
    assert sources["balance"].source == "document"
    assert sources["balance"].field is not None and sources["balance"].field.page == 1
    assert letter.fields["balance"].split(".")[0][-3:] in sources["balance"].field.quote.replace(
        ",", ""
    )
    assert {sources["kind"].source, sources["arrears"].source} == {"adviser"}
    facts = await client_facts(store, case_id)
    assert [d.balance_pence for d in facts.debts] == [balance] and facts.unconfirmed_debts == 0
    with pytest.raises(Conflict, match="already confirmed"):
        await store.reject_debt(case_id, proposal.id, SUPERVISOR, "too late")


async def test_a_later_letter_about_the_same_account_proposes_an_update(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]
    case_id = await new_case(store)
    first = await add(store, case_id, png(letter), "one.png")
    await store.finish_reading(first.id, reading_of(letter))
    [proposal] = await store.debts(case_id)
    debt = await store.confirm_debt(case_id, proposal.id, ADVISER, DebtDetails())
    later = await add(store, case_id, png(letter) + b"\0", "two.png")
    read = await store.finish_reading(later.id, reading_of(letter, balance="9999.99"))
    update = next(d for d in await store.debts(case_id) if d.status == "proposed")
    assert update.updates_debt_id == debt.id and update.balance_pence == 999_999
    facts = await client_facts(store, case_id)
    assert facts.unconfirmed_debts_pence == 999_999 - (debt.balance_pence or 0)
    applied = await store.confirm_debt(case_id, update.id, SUPERVISOR, DebtDetails())
    assert applied.id == debt.id and applied.balance_pence == 999_999
    balance_source = [f for f in applied.figures if f.figure == "balance"][-1]
    assert balance_source.field is not None and balance_source.field.document_id == later.id
    view = debts_view(await store.debts(case_id))
    assert [d["id"] for d in view["debts"]] == [debt.id] and view["proposed"] == []
    # The same figures again: nothing new to confirm, and the warning says so.
    again = await add(store, case_id, png(letter) + b"\0\0", "three.png")
    read = await store.finish_reading(again.id, reading_of(letter, balance="9999.99"))
    assert any(f"debt {debt.id}" in w for w in read.warnings)
    assert [d for d in await store.debts(case_id) if d.status == "proposed"] == []


async def test_two_advisers_deciding_at_once_one_wins(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]
    case_id = await new_case(store)
    document = await add(store, case_id, png(letter), "letter.png")
    await store.finish_reading(document.id, reading_of(letter))
    [proposal] = await store.debts(case_id)
    results = await asyncio.gather(
        store.confirm_debt(case_id, proposal.id, ADVISER, DebtDetails()),
        store.reject_debt(case_id, proposal.id, SUPERVISOR, "duplicate"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert sum(not isinstance(r, Exception) for r in results) == 1


async def test_deleting_a_document_removes_its_proposals_and_files(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["default-notice"]
    case_id = await new_case(store)
    document = await add(store, case_id, png(letter), "notice.png")
    await store.finish_reading(document.id, reading_of(letter))
    assert len(await store.debts(case_id)) == 1
    await store.delete_document(case_id, document.id)
    assert await store.debts(case_id) == [] and await store.documents(case_id) == []
    assert list(store.vault.locations()) == []


@pytest.mark.parametrize(
    ("kind", "essential", "expected"),
    [
        ("council_tax", None, "priority"),
        ("credit_card", None, "non_priority"),
        ("hire_purchase", None, "unknown"),
        ("hire_purchase", True, "priority"),
        ("hire_purchase", False, "non_priority"),
        (None, None, "unknown"),
    ],
)
async def test_priority_follows_the_kind_by_rule(
    store: CaseStore, kind: str | None, essential: bool | None, expected: str
) -> None:
    case_id = await new_case(store)
    details = DebtDetails.model_validate(
        {"creditor": "Someone", "kind": kind, "goods_essential": essential, "balance_pence": 500}
    )
    debt = await store.add_debt(case_id, ADVISER, details)
    assert debt.priority == expected and debt.priority_rule


async def test_the_budget_gives_the_monthly_surplus(store: CaseStore) -> None:
    case_id = await new_case(store)
    assert (await store.budget(case_id)).surplus_pence is None
    lines = [
        ("income", "earnings", 25_000, "weekly"),  # 250 x 52 / 12 = 1083.33
        ("income", "benefits", 40_000, "four_weekly"),  # 400 x 13 / 12 = 433.33
        ("spending", "home_and_contents", 65_000, "monthly"),
        ("spending", "food_and_housekeeping", 9_000, "weekly"),  # 90 x 52 / 12 = 390.00
        ("spending", "utilities", 60_000, "yearly"),  # 50.00
    ]
    for direction, category, amount, frequency in lines:
        budget = await store.add_budget_line(
            case_id, ADVISER,
            BudgetLineIn.model_validate({"direction": direction, "category": category,
                                         "amount_pence": amount, "frequency": frequency}),
        )  # fmt: skip
    assert budget.total("income") == 108_333 + 43_333
    assert budget.total("spending") == 65_000 + 39_000 + 5_000
    assert budget.surplus_pence == 151_666 - 109_000
    assert (await client_facts(store, case_id)).monthly_surplus_pence == 42_666
    with pytest.raises(ValueError, match="not a spending category"):
        BudgetLineIn.model_validate({"direction": "spending", "category": "earnings",
                                     "amount_pence": 1})  # fmt: skip


async def test_the_facts_carry_assets_and_circumstances(store: CaseStore) -> None:
    case_id = await new_case(store)
    await store.add_asset(case_id, ADVISER, AssetIn(kind="vehicle", description="car",
                                                    value_pence=350_000))  # fmt: skip
    await store.set_circumstances(
        case_id, ADVISER,
        CircumstancesUpdate(lived_in_england_wales=True, previous_dro=True,
                            previous_dro_on=date(2019, 1, 5)),
    )  # fmt: skip
    facts = await client_facts(store, case_id)
    assert [a.value_pence for a in facts.assets] == [350_000]
    assert facts.previous_dro_on == date(2019, 1, 5) and facts.bankrupt is None
    cleared = await store.set_circumstances(
        case_id, ADVISER, CircumstancesUpdate.model_validate({"previous_dro": None})
    )
    assert cleared.previous_dro is None and cleared.lived_in_england_wales is True


async def test_the_worklist_shows_what_waits_in_the_cases_one_may_read(
    store: CaseStore, letters: dict[str, SampleLetter]
) -> None:
    letter = letters["creditor-letter"]
    due = date.fromisoformat(letter.fields["deadline"])
    payslips = due + timedelta(days=400)
    mine = await store.create_case(ADVISER, NewCase(client=ClientDetails(name="Jo Client")))
    other = await new_case(store, "Someone Else")
    document = await add(store, mine.id, png(letter), "letter.png")
    await store.start_reading(document.id)
    await store.finish_reading(document.id, reading_of(letter))
    await store.add_letter(
        mine.id, ADVISER, body="Dear Jo", note_id=None,
        details={"your_actions": [{"action": "Send your payslips", "due": payslips.isoformat()},
                                  {"action": "Already past", "due": "2001-01-01"},
                                  {"action": "No date given", "due": None}]},
    )  # fmt: skip
    written = await store.add_letter(other, ADVISER, body="Dear S", details={}, note_id=None)
    await LetterApprovals(store.database).submit(SUPERVISOR, written.id)

    work = await store.worklist(today=due)
    assert work.proposed_debts == {mine.id: 1}
    assert work.letters_submitted == [(other, written.id)]
    assert [(d.due, d.case_id, d.source, d.what) for d in work.deadlines] == [
        (due, mine.id, "document", "the deadline a document states"),
        (payslips, mine.id, "letter", "Send your payslips"),
    ]
    # The day after the document's deadline, only the letter's is still to come.
    later = await store.worklist(today=due + timedelta(days=1))
    assert [d.what for d in later.deadlines] == ["Send your payslips"]
    # An adviser who reaches neither case (no such adviser, no team) sees nothing waiting.
    nobody = await store.worklist(visible_to=(999, None), today=due)
    assert nobody.proposed_debts == {} and nobody.letters_submitted == []
    assert nobody.deadlines == []
