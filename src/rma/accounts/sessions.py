"""Web sessions: server-side rows behind an HttpOnly cookie, and the CSRF token of each.

A session id is 256 random bits in the cookie; the database keeps its SHA-256, so a copy
of the database signs nobody in. A session ends after ``RMA_SESSION_IDLE_MINUTES``
without a request, ``RMA_SESSION_ABSOLUTE_HOURS`` after sign-in whatever happens, at
sign-out, and when its user is disabled or has their password reset. Signing in always
makes a new session (and ends the one the browser sent, if any), so an id planted before
sign-in is worth nothing after it.

The cookie is HttpOnly, SameSite=Lax, Path=/, and Secure with the ``__Host-`` prefix
(the browser then refuses it over http, or set for another host or path). Secure can be
turned off (``RMA_SESSION_COOKIE_SECURE=false``) only for development on
http://localhost: sign-in refuses any other host then.

CSRF: a synchroniser token derived from the session, ``HMAC-SHA256(session id, "csrf")``.
Pages put it in forms (``csrf_token``) or htmx sends it as ``X-CSRF-Token``; every POST,
PUT, PATCH and DELETE made with the session cookie must carry it. Another site cannot
read it (the cookie is HttpOnly and pages are same-origin), it changes with each session,
and nothing extra is stored. Requests with a bearer token carry no ambient credential
and need none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from rma import constants as C
from rma.accounts.models import UserSession
from rma.cases.models import User
from rma.config import Settings
from rma.db.engine import Database

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass(frozen=True)
class CookiePolicy:
    """How the session cookie is set."""

    secure: bool
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> CookiePolicy:
        return cls(
            secure=settings.rma_session_cookie_secure,
            idle=timedelta(minutes=settings.rma_session_idle_minutes),
            absolute=timedelta(hours=settings.rma_session_absolute_hours),
        )

    @property
    def name(self) -> str:
        return (C.SESSION_COOKIE_SECURE_PREFIX if self.secure else "") + C.SESSION_COOKIE

    def options(self) -> dict[str, object]:
        """Keyword arguments for Starlette's ``Response.set_cookie`` (no Max-Age: the
        cookie lasts as long as the browser, the server decides when the session ends)."""
        return {"httponly": True, "secure": self.secure, "samesite": "lax", "path": "/"}


@dataclass(frozen=True)
class ActiveSession:
    id: str  # the cookie's value
    user: User
    created_at: datetime
    expires_at: datetime

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.id)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(session_id), presented or "")


def host_is_local(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.lower() in LOCAL_HOSTS


class Sessions:
    """Start, find and end web sessions."""

    def __init__(self, database: Database, policy: CookiePolicy) -> None:
        self.database = database
        self.policy = policy

    async def start(self, user: User, *, replacing: str | None = None) -> ActiveSession:
        """A new session for ``user``; the one named by ``replacing`` ends."""
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + self.policy.absolute
        async with self.database.session() as session:
            if replacing:
                await session.execute(
                    delete(UserSession).where(UserSession.id_hash == digest(replacing))
                )
            row = UserSession(
                id_hash=digest(session_id), user_id=user.id, created_at=now,
                last_seen_at=now, expires_at=expires,
            )  # fmt: skip
            session.add(row)
            await session.commit()
        return ActiveSession(session_id, user, now, expires)

    async def find(self, session_id: str) -> ActiveSession | None:
        """The live session with this id (its last-seen time brought up to date), or None
        if it is unknown, idle too long, past its end, or its user is disabled."""
        if not session_id or len(session_id) > 100:
            return None
        now = datetime.now(UTC)
        async with self.database.session() as session:
            found = (
                await session.execute(
                    select(UserSession, User)
                    .join(User, User.id == UserSession.user_id)
                    .where(UserSession.id_hash == digest(session_id))
                )
            ).first()
            if found is None:
                return None
            row, user = found
            if (
                row.expires_at <= now
                or row.last_seen_at + self.policy.idle <= now
                or not user.active
            ):
                await session.execute(delete(UserSession).where(UserSession.id_hash == row.id_hash))
                await session.commit()
                return None
            if (now - row.last_seen_at).total_seconds() >= C.SESSION_TOUCH_SECONDS:
                await session.execute(
                    update(UserSession)
                    .where(UserSession.id_hash == row.id_hash)
                    .values(last_seen_at=now)
                )
                await session.commit()
            return ActiveSession(session_id, user, row.created_at, row.expires_at)

    async def end(self, session_id: str) -> bool:
        async with self.database.session() as session:
            done = await session.execute(
                delete(UserSession).where(UserSession.id_hash == digest(session_id))
            )
            await session.commit()
        return bool(done.rowcount)  # type: ignore[attr-defined]

    async def end_expired(self) -> int:
        """Delete sessions past their end or idle too long (a housekeeping step)."""
        now = datetime.now(UTC)
        async with self.database.session() as session:
            done = await session.execute(
                delete(UserSession).where(
                    (UserSession.expires_at <= now)
                    | (UserSession.last_seen_at <= now - self.policy.idle)
                )
            )
            await session.commit()
        return int(done.rowcount or 0)  # type: ignore[attr-defined]
