"""Users and signing in, on SQLite and PostgreSQL: Argon2 hashes (rehashed when the
parameters change), the lockout after failures in a row (also under parallel guessing),
disabling, resets, and the rule that an organisation keeps an admin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from rma.accounts.directory import Directory
from rma.accounts.web import Accounts
from rma.cases.models import User
from rma.errors import Conflict, InputError, TooManyAttempts, Unauthenticated
from tests.accounts.conftest import OPERATOR, Organisation, settings_for
from tests.support.accounts import PASSWORD


async def stored_hash(accounts: Accounts, email: str) -> str:
    async with accounts.database.session() as session:
        found = await session.scalar(select(User.password_hash).where(User.email == email))
    assert found is not None
    return found


async def test_a_password_is_stored_as_an_argon2id_hash(org: Organisation) -> None:
    stored = await stored_hash(org.accounts, org.ann.name)
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$") and PASSWORD not in stored
    user = await org.accounts.directory.sign_in("  ANN@advice.example ", PASSWORD)
    assert user.id == org.ann.id and user.last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("new@advice.example", "short", "at least 12 characters"),
        ("new@advice.example", " " * 20, "only spaces"),
        ("new@advice.example", "new@advice.example", "the account's email"),
        ("new@advice.example", "x" * 1025, "at most 1024"),
        ("not an email", PASSWORD, "is not an email address"),
    ],
)
async def test_weak_passwords_and_bad_emails_are_refused(
    org: Organisation, email: str, password: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        await org.accounts.directory.create_user(
            OPERATOR, email=email, display_name="", role="adviser", password=password
        )


async def test_one_account_per_email_and_known_roles_only(org: Organisation) -> None:
    directory = org.accounts.directory
    with pytest.raises(Conflict, match=r"already an account for ann@advice\.example"):
        await directory.create_user(
            OPERATOR, email="Ann@Advice.example", display_name="", role="adviser",
            password=PASSWORD,
        )  # fmt: skip
    with pytest.raises(InputError, match="unknown role 'owner'"):
        await directory.create_user(
            OPERATOR, email="o@advice.example", display_name="", role="owner", password=PASSWORD
        )


async def test_wrong_unknown_and_disabled_get_the_same_answer(org: Organisation) -> None:
    directory = org.accounts.directory
    for email, password in (
        (org.ann.name, "not the password at all"),
        ("nobody@advice.example", PASSWORD),
        ("not an email", PASSWORD),
    ):
        with pytest.raises(Unauthenticated, match=r"^the email or password is wrong$"):
            await directory.sign_in(email, password)
    assert org.bo.id is not None
    await directory.set_active(OPERATOR, org.bo.id, False)
    with pytest.raises(Unauthenticated, match=r"^the email or password is wrong$"):
        await directory.sign_in(org.bo.name, PASSWORD)
    await directory.set_active(OPERATOR, org.bo.id, True)
    assert (await directory.sign_in(org.bo.name, PASSWORD)).id == org.bo.id


async def test_five_failures_lock_the_account_until_it_expires_or_is_reset(
    org: Organisation,
) -> None:
    directory = org.accounts.directory
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            await directory.sign_in(org.ann.name, "a wrong password!")
    with pytest.raises(TooManyAttempts, match="locked until") as locked:
        await directory.sign_in(org.ann.name, "a wrong password!")
    assert 14 * 60 < locked.value.retry_after <= 15 * 60
    # Locked: even the right password is refused, and says so.
    with pytest.raises(TooManyAttempts):
        await directory.sign_in(org.ann.name, PASSWORD)
    # The lock ends by itself (moved into the past here) ...
    async with org.database.session() as session:
        await session.execute(
            update(User)
            .where(User.id == org.ann.id)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await directory.sign_in(org.ann.name, PASSWORD)).failed_logins == 0
    # ... or when an admin resets the password.
    for _ in range(5):
        with pytest.raises((Unauthenticated, TooManyAttempts)):
            await directory.sign_in(org.ann.name, "a wrong password!")
    assert org.ann.id is not None
    view = await directory.reset_password(OPERATOR, org.ann.id, "a brand new long password")
    assert view.locked_until is None
    assert (await directory.sign_in(org.ann.name, "a brand new long password")).id == org.ann.id
    with pytest.raises(Unauthenticated):
        await directory.sign_in(org.ann.name, PASSWORD)


async def test_parallel_guesses_get_no_more_tries_than_the_limit(org: Organisation) -> None:
    directory = org.accounts.directory
    checked = 0
    real_check = directory.passwords.check_async

    async def counting_check(stored: str | None, password: str):  # type: ignore[no-untyped-def]
        nonlocal checked
        checked += 1
        return await real_check(stored, password)

    directory.passwords.check_async = counting_check  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(directory.sign_in(org.cy.name, f"guess number {i:04d}") for i in range(12)),
        return_exceptions=True,
    )
    assert all(isinstance(r, (Unauthenticated, TooManyAttempts)) for r in results)
    assert checked <= 5  # every guess past the fifth is refused without being checked
    with pytest.raises(TooManyAttempts):
        await directory.sign_in(org.cy.name, PASSWORD)


async def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(
    org: Organisation, database_url: str
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with org.database.session() as session:
        await session.execute(update(User).where(User.id == org.bo.id).values(password_hash=old))
        await session.commit()
    stronger = Directory(org.database, settings_for(database_url, RMA_ARGON2_TIME_COST="2"))
    await stronger.sign_in(org.bo.name, PASSWORD)
    rehashed = await stored_hash(org.accounts, org.bo.name)
    assert rehashed != old and "$m=8192,t=2,p=1$" in rehashed
    await stronger.sign_in(org.bo.name, PASSWORD)  # and the new hash verifies
    assert await stored_hash(org.accounts, org.bo.name) == rehashed


async def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(org: Organisation) -> None:
    directory = org.accounts.directory
    assert org.kim.id is not None and org.sam.id is not None
    with pytest.raises(Conflict, match="only enabled admin"):
        await directory.set_active(OPERATOR, org.kim.id, False)
    with pytest.raises(Conflict, match="only enabled admin"):
        await directory.set_role(OPERATOR, org.kim.id, "supervisor")
    await directory.set_role(OPERATOR, org.sam.id, "admin")
    assert (await directory.set_role(OPERATOR, org.kim.id, "supervisor")).role == "supervisor"
    # Changes to others never trip the rule.
    assert org.ann.id is not None
    assert (await directory.set_team(OPERATOR, org.ann.id, "South")).team == "South"


async def test_every_change_and_attempt_is_audited(org: Organisation) -> None:
    directory = org.accounts.directory
    with pytest.raises(Unauthenticated):
        await directory.sign_in(org.ann.name, "a wrong password!")
    await directory.sign_in(org.ann.name, PASSWORD)
    entries = await org.accounts.audit.entries()
    actions = [(e["action"], e["outcome"], e["actor"]) for e in entries]
    assert actions.count(("users.create", "ok", "operator:tests")) == 5
    assert ("teams.create", "ok", "operator:tests") in actions
    assert actions[-2:] == [
        ("session.login", "wrong_password", "ann@advice.example"),
        ("session.login", "ok", "ann@advice.example"),
    ]
    assert all(PASSWORD not in str(e) and "wrong password" not in str(e) for e in entries)
