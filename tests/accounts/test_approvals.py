"""A client letter goes out only after a supervisor approves it (while the organisation
says so), each decision records who, when and what changed, and an edit after approval
needs a new approval."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from rma.accounts.approvals import body_digest
from rma.cases.models import Letter
from rma.errors import Conflict, Forbidden, InputError, NotFound
from tests.accounts.conftest import OPERATOR, Organisation


async def test_a_letter_is_blocked_until_a_supervisor_approves_it(org: Organisation) -> None:
    letters = org.accounts.letters
    case = await org.case(org.ann)
    letter = await org.letter(case, org.ann, "Dear Ms Example, here is our advice.")
    for stage in ("draft", "submitted"):
        with pytest.raises(Conflict, match="only after a supervisor approves it"):
            await letters.release(org.ann, letter)
        if stage == "draft":
            assert (await letters.submit(org.ann, letter)).status == "submitted"
    with pytest.raises(Forbidden, match="an adviser may not approve"):
        await letters.approve(org.ann, letter)
    decision = await letters.approve(org.sam, letter, "clear and complete")
    assert (decision.decided_by, decision.status_before, decision.status_after) == (
        "sam@advice.example", "submitted", "approved",
    )  # fmt: skip
    assert decision.body_sha256 == body_digest("Dear Ms Example, here is our advice.")
    assert decision.decided_at.tzinfo is not None and decision.note == "clear and complete"
    assert (await letters.release(org.ann, letter)).status == "sent"
    actions = [
        (e["action"], e["case_id"], e["object_id"]) for e in await org.accounts.audit.entries()
    ]
    assert actions[-3:] == [
        ("letters.submit", case, str(letter)),
        ("letters.approve", case, str(letter)),
        ("letters.release", case, str(letter)),
    ]


async def test_nobody_approves_a_letter_they_wrote_or_outside_their_reach(
    org: Organisation,
) -> None:
    letters = org.accounts.letters
    case = await org.case(org.sam)
    own = await org.letter(case, org.sam)
    await letters.submit(org.sam, own)
    with pytest.raises(Forbidden, match="wrote themselves"):
        await letters.approve(org.sam, own)
    with pytest.raises(Forbidden, match="an admin may not approve"):
        await letters.approve(org.kim, own)
    # Another team's adviser cannot even submit or release a letter of this case.
    other = await org.letter(await org.case(org.ann), org.ann)
    with pytest.raises(Forbidden, match="not yours or your team's"):
        await letters.submit(org.cy, other)
    assert (await letters.submit(org.bo, other)).status == "submitted"  # Ann's teammate
    with pytest.raises(NotFound):
        await letters.approve(org.sam, 9999)


async def test_a_returned_letter_goes_back_to_draft_with_a_reason(org: Organisation) -> None:
    letters = org.accounts.letters
    letter = await org.letter(await org.case(org.ann), org.ann)
    await letters.submit(org.ann, letter)
    with pytest.raises(InputError, match="say what should change"):
        await letters.return_to_draft(org.sam, letter, " ")
    returned = await letters.return_to_draft(org.sam, letter, "add the council tax deadline")
    assert (returned.decision, returned.status_after) == ("returned", "draft")
    with pytest.raises(Conflict, match="only a submitted letter is decided"):
        await letters.approve(org.sam, letter)
    with pytest.raises(Conflict):
        await letters.release(org.ann, letter)
    assert [d.decision for d in await letters.decisions(letter)] == ["returned"]


async def test_an_edit_after_approval_needs_a_new_approval(org: Organisation) -> None:
    letters = org.accounts.letters
    letter = await org.letter(await org.case(org.ann), org.ann, "the approved text")
    await letters.submit(org.ann, letter)
    await letters.approve(org.sam, letter)
    async with org.database.session() as session:
        await session.execute(
            update(Letter).where(Letter.id == letter).values(body="a changed text")
        )
        await session.commit()
    with pytest.raises(Conflict, match="changed after it was approved"):
        await letters.release(org.ann, letter)


async def test_without_the_approval_setting_a_letter_goes_out_as_drafted(
    org: Organisation,
) -> None:
    organisation = org.accounts.organisation
    assert (await organisation.settings())["letters_need_approval"]["value"] is True
    with pytest.raises(Forbidden, match="a supervisor may not change the organisation"):
        await organisation.change(org.sam, "letters_need_approval", False)
    changed = await organisation.change(org.kim, "letters_need_approval", False)
    assert (changed["value"], changed["updated_by"]) == (False, "kim@advice.example")
    letter = await org.letter(await org.case(org.ann), org.ann)
    assert (await org.accounts.letters.release(org.ann, letter)).status == "sent"
    await organisation.change(OPERATOR, "letters_need_approval", True)
    second = await org.letter(await org.case(org.ann), org.ann)
    with pytest.raises(Conflict):
        await org.accounts.letters.release(org.ann, second)
    settings_entries = await org.accounts.audit.entries(action="settings.update")
    assert [e["detail"] for e in settings_entries] == [
        {"from": True, "to": False},
        {"from": False, "to": True},
    ]
