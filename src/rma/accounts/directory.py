"""Users, teams and service accounts, and signing in.

A user signs in with their email and password. Failures in a row are counted on the
account; at ``RMA_LOGIN_MAX_FAILURES`` the account is locked for
``RMA_LOGIN_LOCKOUT_MINUTES`` (even the right password is refused until then, and each
refusal says when to try again); a success resets the count. An admin's password reset
also unlocks. A right password hashed with older Argon2 parameters is rehashed there
and then.

Every change made here is written to the audit log in the same transaction, so a user
created without its record (or the other way round) cannot happen.

What it refuses: a second account with the same email, a role not in the permission
table, a disabled account signing in or holding a session, and an unknown email that
takes less time to refuse than a wrong password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rma.accounts.audit import AuditEvent, append
from rma.accounts.models import ServiceAccount, UserSession
from rma.accounts.passwords import Passwords
from rma.accounts.permissions import ROLES, Actor
from rma.cases.models import Team, User
from rma.config import Settings
from rma.db.engine import Database
from rma.errors import Conflict, InputError, NotFound, TooManyAttempts, Unauthenticated

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 120
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,59}$")
WRONG = "the email or password is wrong"


@dataclass(frozen=True)
class UserView:
    """A user as lists and the API show them (no hash, no secrets)."""

    id: int
    email: str
    display_name: str
    role: str
    team_id: int | None
    team: str | None
    active: bool
    has_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "team_id": self.team_id,
            "team": self.team,
            "active": self.active,
            "has_password": self.has_password,
            "locked_until": iso(self.locked_until),
            "last_login_at": iso(self.last_login_at),
            "created_at": iso(self.created_at),
        }


def actor_of(user: User, via: str) -> Actor:
    return Actor(user.email, user.role, user.id, user.team_id, "person", via)


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > EMAIL_MAX or not EMAIL.match(cleaned):
        raise InputError(f"{email!r} is not an email address (at most {EMAIL_MAX} characters)")
    return cleaned


def _role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


class Directory:
    """The organisation's people and programs, in the product's database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.passwords = Passwords(settings)

    # ------------------------------------------------------------------- reading

    async def users(self) -> list[UserView]:
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(User, Team.name)
                    .outerjoin(Team, Team.id == User.team_id)
                    .order_by(User.id)
                )
            ).all()
        return [_view(user, team) for user, team in rows]

    async def user(self, user_id: int) -> UserView:
        async with self.database.session() as session:
            return await _user_view(session, await _user(session, user_id))

    async def user_by_email(self, email: str) -> User | None:
        async with self.database.session() as session:
            return await session.scalar(select(User).where(User.email == normalise_email(email)))

    async def actor_for(self, email: str, via: str = "cli") -> Actor:
        """The named, enabled user as an actor (for commands that act in their name)."""
        user = await self.user_by_email(email)
        if user is None:
            raise NotFound(f"there is no user {email!r} (rma users list)")
        if not user.active:
            raise InputError(f"the account {user.email} is disabled")
        return actor_of(user, via)

    async def teams(self) -> list[tuple[int, str]]:
        async with self.database.session() as session:
            rows = (await session.execute(select(Team.id, Team.name).order_by(Team.name))).all()
        return [(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------- changing

    async def create_user(
        self,
        actor: Actor,
        *,
        email: str,
        display_name: str,
        role: str,
        password: str,
        team: str | None = None,
    ) -> UserView:
        """A new, enabled account with its password set."""
        email = normalise_email(email)
        display_name = display_name.strip() or email
        hashed = await self.passwords.hash_async(password, email=email)
        now = datetime.now(UTC)
        async with self.database.session() as session:
            team_id = None if not team else (await _team(session, team, actor)).id
            user = User(
                email=email,
                display_name=display_name[:120],
                role=_role(role),
                team_id=team_id,
                active=True,
                created_at=now,
                password_hash=hashed,
                password_changed_at=now,
                failed_logins=0,
            )
            session.add(user)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"there is already an account for {email}") from None
            await append(
                session,
                actor,
                AuditEvent("users.create", object_type="user", object_id=user.id,
                           detail={"role": role, "team_id": team_id}),
            )  # fmt: skip
            await session.commit()
            return await _user_view(session, user)

    async def set_role(self, actor: Actor, user_id: int, role: str) -> UserView:
        async with self.database.session() as session:
            user = await _user(session, user_id)
            before = user.role
            user.role = _role(role)
            was_admin = before == "admin" and user.active
            await _guard_last_admin(
                session, user, was_admin=was_admin, active=user.active, role=role
            )
            await append(
                session,
                actor,
                AuditEvent("users.set_role", object_type="user", object_id=user.id,
                           detail={"from": before, "to": role}),
            )  # fmt: skip
            await session.commit()
            return await _user_view(session, user)

    async def set_team(self, actor: Actor, user_id: int, team: str | None) -> UserView:
        async with self.database.session() as session:
            user = await _user(session, user_id)
            before = user.team_id
            user.team_id = None if not team else (await _team(session, team, actor)).id
            await append(
                session,
                actor,
                AuditEvent("users.set_team", object_type="user", object_id=user.id,
                           detail={"from": before, "to": user.team_id}),
            )  # fmt: skip
            await session.commit()
            return await _user_view(session, user)

    async def set_active(self, actor: Actor, user_id: int, active: bool) -> UserView:
        """Enable or disable an account; disabling ends its sessions at once (its tokens
        stop working too, since the account behind them is disabled)."""
        async with self.database.session() as session:
            user = await _user(session, user_id)
            was_admin = user.role == "admin" and user.active
            user.active = active
            await _guard_last_admin(
                session, user, was_admin=was_admin, active=active, role=user.role
            )
            if not active:
                await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
            else:
                user.failed_logins, user.locked_until = 0, None
            await append(
                session,
                actor,
                AuditEvent("users.enable" if active else "users.disable",
                           object_type="user", object_id=user.id),
            )  # fmt: skip
            await session.commit()
            return await _user_view(session, user)

    async def reset_password(self, actor: Actor, user_id: int, password: str) -> UserView:
        """Set a new password; unlocks the account and ends its sessions."""
        async with self.database.session() as session:
            user = await _user(session, user_id)
            user.password_hash = await self.passwords.hash_async(password, email=user.email)
            user.password_changed_at = datetime.now(UTC)
            user.failed_logins, user.locked_until = 0, None
            await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
            await append(
                session,
                actor,
                AuditEvent("users.reset_password", object_type="user", object_id=user.id),
            )
            await session.commit()
            return await _user_view(session, user)

    async def create_team(self, actor: Actor, name: str) -> tuple[int, str]:
        async with self.database.session() as session:
            team = await _team(session, name, actor)
            await session.commit()
            return team.id, team.name

    async def create_service_account(
        self, actor: Actor, name: str, description: str = ""
    ) -> ServiceAccount:
        if not SERVICE_NAME.match(name):
            raise InputError(
                f"a service account's name is lower-case letters, digits and dashes: {name!r}"
            )
        async with self.database.session() as session:
            account = ServiceAccount(
                name=name, description=description.strip()[:200], active=True,
                created_by=actor.name, created_at=datetime.now(UTC),
            )  # fmt: skip
            session.add(account)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"there is already a service account {name!r}") from None
            await append(
                session,
                actor,
                AuditEvent("service_accounts.create", object_type="service_account",
                           object_id=account.id),
            )  # fmt: skip
            await session.commit()
            return account

    async def service_account(self, name: str) -> ServiceAccount:
        async with self.database.session() as session:
            account = await session.scalar(
                select(ServiceAccount).where(ServiceAccount.name == name)
            )
        if account is None:
            raise NotFound(f"there is no service account {name!r}")
        return account

    async def service_accounts(self) -> list[ServiceAccount]:
        async with self.database.session() as session:
            return list(
                (await session.scalars(select(ServiceAccount).order_by(ServiceAccount.name))).all()
            )

    async def count_admins(self) -> int:
        async with self.database.session() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(User.role == "admin", User.active.is_(True))
                )
                or 0
            )

    # ------------------------------------------------------------------- signing in

    async def sign_in(self, email: str, password: str) -> User:
        """The user whose email and password these are; Unauthenticated (wrong, unknown
        or disabled: one message for all three) or TooManyAttempts (locked). Every attempt
        is audited with its outcome.

        An attempt is counted before the password is checked, so parallel guesses cannot
        all slip in under the limit while the slow checks run."""
        try:
            address = normalise_email(email)
        except InputError:
            address = ""
        limit = self.settings.rma_login_max_failures
        now = datetime.now(UTC)
        async with self.database.session() as session:
            user = (
                await session.scalar(select(User).where(User.email == address)) if address else None
            )
            if user is None:
                await self.passwords.check_async(None, password)  # the same work as a real check
                await self._attempt(session, None, "unknown_account")
                raise Unauthenticated(WRONG)
            if user.locked_until is not None:
                if user.locked_until > now:
                    await self._attempt(session, user, "locked")
                    raise _locked(user.locked_until, now)
                # The lock has run out: the count starts again (once, if several race).
                await session.execute(
                    update(User)
                    .where(User.id == user.id, User.locked_until == user.locked_until)
                    .values(locked_until=None, failed_logins=0)
                )
            attempts = await session.scalar(
                update(User)
                .where(User.id == user.id)
                .values(failed_logins=User.failed_logins + 1)
                .returning(User.failed_logins)
            )
            await session.commit()
            if attempts is None or attempts > limit:  # other attempts in flight used them up
                until = await self._lock(session, user, now)
                await self._attempt(session, user, "locked")
                raise _locked(until, now)
            checked = await self.passwords.check_async(user.password_hash, password)
            if not checked.ok:
                if attempts >= limit:
                    until = await self._lock(session, user, now)
                    await self._attempt(session, user, "locked_now")
                    raise _locked(until, now)
                await self._attempt(session, user, "wrong_password")
                raise Unauthenticated(WRONG)
            if not user.active:
                await self._attempt(session, user, "disabled")
                raise Unauthenticated(WRONG)
            await session.refresh(user)
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            if checked.rehashed:
                user.password_hash = checked.rehashed
            await append(
                session,
                actor_of(user, "password"),
                AuditEvent("session.login", object_type="user", object_id=user.id,
                           detail={"rehashed": bool(checked.rehashed)}),
            )  # fmt: skip
            await session.commit()
            return user

    async def _lock(self, session: AsyncSession, user: User, now: datetime) -> datetime:
        until = now + timedelta(minutes=self.settings.rma_login_lockout_minutes)
        # The count stays over the limit: attempts still in flight are refused unchecked.
        await session.execute(update(User).where(User.id == user.id).values(locked_until=until))
        await session.commit()
        return until

    async def _attempt(self, session: AsyncSession, user: User | None, outcome: str) -> None:
        actor = (
            Actor("unknown", kind="anonymous", via="password")
            if user is None
            else actor_of(user, "password")
        )
        await append(
            session,
            actor,
            AuditEvent("session.login", outcome=outcome, object_type="user",
                       object_id=None if user is None else user.id),
        )  # fmt: skip
        await session.commit()


def _locked(until: datetime, now: datetime) -> TooManyAttempts:
    return TooManyAttempts(
        "too many failed sign-ins: this account is locked until "
        f"{until.strftime('%H:%M')} UTC (or until an admin resets its password)",
        max(1.0, (until - now).total_seconds()),
    )


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    return user


async def _user_view(session: AsyncSession, user: User) -> UserView:
    team = await session.get(Team, user.team_id) if user.team_id else None
    return _view(user, team.name if team else None)


def _view(user: User, team: str | None) -> UserView:
    return UserView(
        user.id, user.email, user.display_name, user.role, user.team_id, team, user.active,
        user.password_hash is not None, user.locked_until, user.last_login_at, user.created_at,
    )  # fmt: skip


async def _team(session: AsyncSession, name: str, actor: Actor) -> Team:
    """The team called ``name``, created (and audited) if there is none yet."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 120:
        raise InputError("a team's name is 1 to 120 characters")
    team = await session.scalar(select(Team).where(Team.name == cleaned))
    if team is None:
        team = Team(name=cleaned, created_at=datetime.now(UTC))
        session.add(team)
        await session.flush()
        await append(
            session, actor, AuditEvent("teams.create", object_type="team", object_id=team.id)
        )
    return team


async def _guard_last_admin(
    session: AsyncSession, user: User, *, was_admin: bool, active: bool, role: str
) -> None:
    """Refuse a change that would leave the organisation with no enabled admin."""
    if not was_admin or (active and role == "admin"):
        return
    others = await session.scalar(
        select(func.count()).where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict(
            f"{user.email} is the only enabled admin: make another admin first, or nobody "
            "could manage users"
        )
