"""Accounts as database rows (migration 0003): sessions, API tokens, service accounts,
the organisation's settings, letter approvals and the audit log.

Users and teams are declared with the case (:mod:`rma.cases.models`), which names an
adviser and a team; this migration adds what signing in needs to ``users``.

Secrets are never stored: a session id and an API token are kept as their SHA-256 (both
are 256-bit random values, so a fast hash is enough; a password, chosen by a person, is
hashed with Argon2id instead). The audit log is append-only in the database itself
(triggers refuse UPDATE, and DELETE except of entries older than the purge boundary that
``rma audit purge`` sets in ``audit_chain``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rma.db.base import Base, UTCDateTime

TOKEN_KINDS = ("personal", "service")
LETTER_DECISIONS = ("approved", "returned")
AUDIT_ACTOR_KINDS = ("person", "service", "operator", "anonymous")


class UserSession(Base):
    """A signed-in browser. ``id_hash`` is the SHA-256 of the cookie's value."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The absolute end, however busy the session is.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ServiceAccount(Base):
    """A program, not a person: the adviser app calling the services, or a service
    calling another. It holds service tokens and no role of a person."""

    __tablename__ = "service_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A personal token (a person's, always with an expiry) or a service token (a service
    account's). ``public_id`` is the part after the prefix that names it in lists and
    finds it on use; ``secret_hash`` is the SHA-256 of the whole token."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("kind IN ('personal', 'service')", name="kind"),
        CheckConstraint(
            "(kind = 'personal' AND user_id IS NOT NULL AND service_account_id IS NULL "
            "AND expires_at IS NOT NULL) OR "
            "(kind = 'service' AND service_account_id IS NOT NULL AND user_id IS NULL)",
            name="owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    service_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrganisationSetting(Base):
    """One setting of the organisation (``letters_need_approval``), changed by an admin."""

    __tablename__ = "organisation_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LetterApproval(Base):
    """A supervisor's decision on a submitted letter: who, when, and what changed (the
    status before and after, and the SHA-256 of the exact text approved: a letter edited
    after approval no longer matches, so it must be approved again)."""

    __tablename__ = "letter_approvals"
    __table_args__ = (CheckConstraint("decision IN ('approved', 'returned')", name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    status_before: Mapped[str] = mapped_column(String(12))
    status_after: Mapped[str] = mapped_column(String(12))
    body_sha256: Mapped[str] = mapped_column(String(64))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    decided_by: Mapped[str] = mapped_column(String(254))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """One thing someone did or tried: who, when, what, on which case and object, the
    outcome and the request. Identifiers only, never client text. ``entry_hash`` is the
    SHA-256 of the entry's fields and ``prev_hash``, the entry before it."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(
            "actor_kind IN ('person', 'service', 'operator', 'anonymous')", name="actor_kind"
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    via: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    # No foreign key: the entry outlives the case it names (erasure keeps the record
    # that the case existed and was erased, with no client text).
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The chain's head (one row): the newest entry's number and hash, taken with a row
    lock by each writer so entries are chained one at a time; and the anchor, the last
    entry a purge removed (0 and the genesis hash before any purge)."""

    __tablename__ = "audit_chain"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    # Entries before this moment may be deleted (the triggers allow nothing else).
    purge_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
