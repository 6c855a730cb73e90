"""API tokens: personal tokens for people's scripts, service tokens for programs.

A token looks like ``rmat_Ab3dE6gH9k_<43 random characters>`` (``rmas_`` for a service
token): the prefix says what it is (and lets secret scanners find one that leaked), the
next part is its public id, shown in lists and used to find it, the rest is 256 random
bits. It is shown once, when created; the database keeps its SHA-256, which is enough
for a random value that long (no one can guess their way back from it; a slow hash is
for passwords people choose).

Personal tokens always expire (``RMA_TOKEN_DAYS`` by default, at most
``TOKEN_MAX_DAYS``) and act with their owner's role and team; a disabled owner disables
them. Service tokens belong to service accounts; they may expire. Either can be revoked,
which takes effect on the next request.

What it refuses: a token that is unknown, revoked, expired, malformed, or whose owner is
disabled (one answer for all: Unauthenticated), and a personal token where a service
token is required (the services take service tokens only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rma import constants as C
from rma.accounts.audit import AuditEvent, append
from rma.accounts.directory import actor_of
from rma.accounts.models import ApiToken, ServiceAccount
from rma.accounts.permissions import Actor
from rma.cases.models import User
from rma.db.engine import Database
from rma.errors import Forbidden, InputError, NotFound, Unauthenticated

Kind = Literal["personal", "service"]
PREFIXES: dict[str, Kind] = {C.PERSONAL_TOKEN_PREFIX: "personal", C.SERVICE_TOKEN_PREFIX: "service"}
TOKEN = re.compile(r"^(rmat_|rmas_)([A-Za-z0-9]{10})_([A-Za-z0-9_-]{43})$")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
# last_used_at is written at most this often per token, not on every call.
TOUCH_SECONDS = 300
INVALID = "the token is not valid (unknown, revoked, expired or its account is disabled)"


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is the whole token, shown this once."""

    id: int
    public_id: str
    secret: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenView:
    id: int
    public_id: str
    prefix: str
    kind: str
    name: str
    owner: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "id": self.id,
            "token": f"{self.prefix}{self.public_id}_...",
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "state": self.state,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def kind_of(presented: str) -> Kind | None:
    """What a presented credential claims to be, from its prefix (None: not an RMA token)."""
    for prefix, kind in PREFIXES.items():
        if presented.startswith(prefix):
            return kind
    return None


def _new_secret(kind: Kind) -> tuple[str, str]:
    prefix = C.PERSONAL_TOKEN_PREFIX if kind == "personal" else C.SERVICE_TOKEN_PREFIX
    public_id = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return public_id, f"{prefix}{public_id}_{secrets.token_urlsafe(32)}"


class Tokens:
    """Create, list, revoke and check API tokens."""

    def __init__(self, database: Database, *, default_days: int = C.TOKEN_DAYS) -> None:
        self.database = database
        self.default_days = default_days

    async def create_personal(
        self, actor: Actor, user_id: int, name: str, days: int | None = None
    ) -> NewToken:
        """A personal token for ``user_id``, expiring in ``days`` (default setting)."""
        days = self.default_days if days is None else days
        if not 1 <= days <= C.TOKEN_MAX_DAYS:
            raise InputError(f"a personal token lasts 1 to {C.TOKEN_MAX_DAYS} days, not {days}")
        expires = datetime.now(UTC) + timedelta(days=days)
        return await self._create(actor, "personal", name, expires, user_id=user_id)

    async def create_service(
        self, actor: Actor, account: ServiceAccount, name: str, days: int | None = None
    ) -> NewToken:
        if days is not None and days < 1:
            raise InputError("a service token lasts at least a day")
        expires = None if days is None else datetime.now(UTC) + timedelta(days=days)
        return await self._create(actor, "service", name, expires, service_account_id=account.id)

    async def _create(
        self,
        actor: Actor,
        kind: Kind,
        name: str,
        expires: datetime | None,
        *,
        user_id: int | None = None,
        service_account_id: int | None = None,
    ) -> NewToken:
        label = " ".join(name.split())[:80]
        if not label:
            raise InputError("name the token (what it is for), so it can be told apart later")
        public_id, secret = _new_secret(kind)
        async with self.database.session() as session:
            if user_id is not None and await session.get(User, user_id) is None:
                raise NotFound(f"there is no user #{user_id}")
            row = ApiToken(
                public_id=public_id, kind=kind, name=label, user_id=user_id,
                service_account_id=service_account_id, secret_hash=digest(secret),
                created_by=actor.name, created_at=datetime.now(UTC), expires_at=expires,
            )  # fmt: skip
            session.add(row)
            await session.flush()
            await append(
                session,
                actor,
                AuditEvent(
                    "tokens.create",
                    object_type="token",
                    object_id=row.id,
                    detail={"kind": kind, "owner_user_id": user_id,
                            "owner_service_account_id": service_account_id},
                ),
            )  # fmt: skip
            await session.commit()
            return NewToken(row.id, public_id, secret, expires)

    async def list(
        self, *, user_id: int | None = None, kind: Kind | None = None
    ) -> list[TokenView]:
        query = (
            select(ApiToken, User.email, ServiceAccount.name)
            .outerjoin(User, User.id == ApiToken.user_id)
            .outerjoin(ServiceAccount, ServiceAccount.id == ApiToken.service_account_id)
            .order_by(ApiToken.id)
        )
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        if kind is not None:
            query = query.where(ApiToken.kind == kind)
        async with self.database.session() as session:
            rows = (await session.execute(query)).all()
        return [_view(token, email or service or "?") for token, email, service in rows]

    async def revoke(
        self, actor: Actor, token_id: int, *, owner_id: int | None = None
    ) -> TokenView:
        """Revoke a token; with ``owner_id``, only if it is that user's (a person revoking
        their own). Revoking twice is harmless."""
        async with self.database.session() as session:
            token = await session.get(ApiToken, token_id)
            if token is None or (owner_id is not None and token.user_id != owner_id):
                raise NotFound(f"there is no token #{token_id} of yours")
            if token.revoked_at is None:
                token.revoked_at, token.revoked_by = datetime.now(UTC), actor.name
                await append(
                    session,
                    actor,
                    AuditEvent("tokens.revoke", object_type="token", object_id=token.id,
                               detail={"kind": token.kind}),
                )  # fmt: skip
                await session.commit()
        return next(t for t in await self.list() if t.id == token_id)

    async def actor_for(self, presented: str, *, want: Kind | None = None) -> Actor:
        """The actor a presented token stands for; Unauthenticated if it is not valid,
        Forbidden if it is valid but of the other kind than ``want``."""
        match = TOKEN.match(presented.strip())
        if match is None:
            raise Unauthenticated(INVALID)
        kind = PREFIXES[match.group(1)]
        async with self.database.session() as session:
            token = await session.scalar(
                select(ApiToken).where(ApiToken.public_id == match.group(2))
            )
            now = datetime.now(UTC)
            if (
                token is None
                or token.kind != kind
                or not hmac.compare_digest(token.secret_hash, digest(presented.strip()))
                or token.revoked_at is not None
                or (token.expires_at is not None and token.expires_at <= now)
            ):
                raise Unauthenticated(INVALID)
            actor = await _owner(session, token)
            if want is not None and kind != want:
                raise Forbidden(
                    "the services accept service tokens only; people sign in at the adviser app"
                    if want == "service"
                    else "a service token cannot act as a person here"
                )
            if (
                token.last_used_at is None
                or (now - token.last_used_at).total_seconds() > TOUCH_SECONDS
            ):
                await session.execute(
                    update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                )
                await session.commit()
        return actor


async def _owner(session: AsyncSession, token: ApiToken) -> Actor:
    if token.kind == "personal":
        user = await session.get(User, token.user_id)
        if user is None or not user.active:
            raise Unauthenticated(INVALID)
        return actor_of(user, "token")
    account = await session.get(ServiceAccount, token.service_account_id)
    if account is None or not account.active:
        raise Unauthenticated(INVALID)
    return Actor(account.name, "service", account.id, None, "service", "service-token")


def _view(token: ApiToken, owner: str) -> TokenView:
    prefix = C.PERSONAL_TOKEN_PREFIX if token.kind == "personal" else C.SERVICE_TOKEN_PREFIX
    return TokenView(
        token.id, token.public_id, prefix, token.kind, token.name, owner, token.created_at,
        token.expires_at, token.revoked_at, token.last_used_at,
    )  # fmt: skip
