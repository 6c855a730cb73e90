"""API tokens on SQLite and PostgreSQL: shown once and kept hashed, expiring, revocable,
tied to their owner's state, and never accepted as the other kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from rma.accounts.models import ApiToken
from rma.accounts.tokens import TOKEN, digest
from rma.errors import Forbidden, InputError, NotFound, Unauthenticated
from tests.accounts.conftest import OPERATOR, Organisation


async def test_a_personal_token_is_shown_once_and_stored_as_its_hash(org: Organisation) -> None:
    tokens = org.accounts.tokens
    assert org.ann.id is not None
    new = await tokens.create_personal(org.ann, org.ann.id, "my script", days=30)
    match = TOKEN.match(new.secret)
    assert match and match.group(1) == "rmat_" and match.group(2) == new.public_id
    assert new.expires_at is not None
    assert timedelta(days=29, hours=23) < new.expires_at - datetime.now(UTC) <= timedelta(days=30)
    async with org.database.session() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.id == new.id))
    assert row is not None and row.secret_hash == digest(new.secret)
    assert new.secret not in str(row.__dict__)
    actor = await tokens.actor_for(new.secret)
    assert (actor.name, actor.role, actor.id, actor.via) == (
        org.ann.name,
        "adviser",
        org.ann.id,
        "token",
    )
    listed = await tokens.list(user_id=org.ann.id)
    assert [t.as_dict()["token"] for t in listed] == [f"rmat_{new.public_id}_..."]
    assert listed[0].state == "active" and listed[0].last_used_at is not None


async def test_expired_revoked_altered_and_orphaned_tokens_are_refused(org: Organisation) -> None:
    tokens = org.accounts.tokens
    assert org.bo.id is not None
    expiring = await tokens.create_personal(org.bo, org.bo.id, "expiring")
    revoked = await tokens.create_personal(org.bo, org.bo.id, "revoked")
    kept = await tokens.create_personal(org.bo, org.bo.id, "kept")
    async with org.database.session() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == expiring.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    await tokens.revoke(org.bo, revoked.id, owner_id=org.bo.id)
    altered = kept.secret[:-1] + ("A" if kept.secret[-1] != "A" else "B")
    for secret in (expiring.secret, revoked.secret, altered, "rmat_nonsense", "", "Bearer x"):
        with pytest.raises(Unauthenticated, match="not valid"):
            await tokens.actor_for(secret)
    assert (await tokens.actor_for(kept.secret)).id == org.bo.id
    states = {t.name: t.state for t in await tokens.list(user_id=org.bo.id)}
    assert states == {"expiring": "expired", "revoked": "revoked", "kept": "active"}
    # A disabled owner disables their tokens; enabling them again brings them back.
    await org.accounts.directory.set_active(OPERATOR, org.bo.id, False)
    with pytest.raises(Unauthenticated):
        await tokens.actor_for(kept.secret)
    await org.accounts.directory.set_active(OPERATOR, org.bo.id, True)
    assert (await tokens.actor_for(kept.secret)).id == org.bo.id


async def test_people_revoke_only_their_own_tokens(org: Organisation) -> None:
    tokens = org.accounts.tokens
    assert org.ann.id is not None and org.bo.id is not None
    anns = await tokens.create_personal(org.ann, org.ann.id, "ann's")
    with pytest.raises(NotFound, match="no token"):
        await tokens.revoke(org.bo, anns.id, owner_id=org.bo.id)
    assert (await tokens.actor_for(anns.secret)).id == org.ann.id
    await tokens.revoke(org.ann, anns.id, owner_id=org.ann.id)
    await tokens.revoke(org.ann, anns.id, owner_id=org.ann.id)  # twice is harmless
    revokes = await org.accounts.audit.entries(action="tokens.revoke")
    assert len(revokes) == 1 and revokes[0]["object_id"] == str(anns.id)


async def test_service_tokens_act_as_their_service_account_only(org: Organisation) -> None:
    directory, tokens = org.accounts.directory, org.accounts.tokens
    app = await directory.create_service_account(OPERATOR, "adviser-app")
    service = await tokens.create_service(OPERATOR, app, "calls the services")
    assert service.secret.startswith("rmas_") and service.expires_at is None
    actor = await tokens.actor_for(service.secret, want="service")
    assert (actor.kind, actor.name, actor.via) == ("service", "adviser-app", "service-token")
    assert org.ann.id is not None
    personal = await tokens.create_personal(org.ann, org.ann.id, "script")
    with pytest.raises(Forbidden, match="service tokens only; people sign in at the adviser app"):
        await tokens.actor_for(personal.secret, want="service")
    with pytest.raises(Forbidden, match="cannot act as a person"):
        await tokens.actor_for(service.secret, want="personal")
    # A token's prefix cannot be swapped to pass for the other kind.
    with pytest.raises(Unauthenticated):
        await tokens.actor_for("rmat_" + service.secret.removeprefix("rmas_"))


@pytest.mark.parametrize("days", [0, 366])
async def test_a_personal_token_lasts_a_day_to_a_year(org: Organisation, days: int) -> None:
    assert org.ann.id is not None
    with pytest.raises(InputError, match="1 to 365 days"):
        await org.accounts.tokens.create_personal(org.ann, org.ann.id, "x", days=days)
