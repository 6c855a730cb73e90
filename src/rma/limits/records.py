"""The database tables of limit changes: proposals and the decisions on them.

Both are append-only (the migration adds triggers that refuse UPDATE and DELETE): a
proposal is never edited, a decision never withdrawn; a mistake is put right by a new
proposal. A proposal's status is derived: no decision yet means proposed.

``proposed_by_id`` and ``decided_by_id`` (migration 0003) name the user's account, so
the rule that nobody approves their own proposal compares people, not spellings of a
name. They carry no foreign key: adding one would make SQLite copy these tables, and
their triggers with them; accounts are never deleted, only disabled.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rma.db.base import Base, UTCDateTime


class LimitChangeRecord(Base):
    __tablename__ = "limit_changes"
    __table_args__ = (CheckConstraint("kind IN ('new_value', 'correction')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(40))
    # Exact decimals as text: SQLite has no exact numeric type.
    value: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date | None]
    effective_to: Mapped[date | None]
    # For a correction: the key of the row corrected (its first day, or "unknown-start").
    corrects: Mapped[str | None] = mapped_column(String(20))
    # What the table said before: the value in force on the new value's first day, or the
    # corrected row.
    previous_value: Mapped[str | None] = mapped_column(String(40))
    previous_from: Mapped[date | None]
    previous_to: Mapped[date | None]
    evidence: Mapped[str] = mapped_column(Text)
    evidence_page: Mapped[int | None]
    evidence_quote: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(120))
    proposed_by_id: Mapped[int | None] = mapped_column(Integer)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    table_version: Mapped[str] = mapped_column(String(40))


class LimitDecisionRecord(Base):
    __tablename__ = "limit_decisions"
    __table_args__ = (CheckConstraint("decision IN ('approved', 'rejected')", name="decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique: one decision per proposal, so two people deciding at once cannot both win.
    change_id: Mapped[int] = mapped_column(ForeignKey("limit_changes.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text)
