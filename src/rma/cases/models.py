"""The client's case as database rows: who the client is, what they owe, earn, spend and
own, the documents they brought, the notes and letters written for them.

Every amount of money is a whole number of pence (``*_pence``, a BIGINT): sums and
limits are compared exactly, never through floats. Names of people and of who did
what (``created_by``, ``decided_by``) are the acting person's name as the app knows it.

``teams`` and ``users`` are owned by accounts: they are kept minimal here (who exists, in
which team, with which role) so cases can name their adviser and team; passwords,
tokens and sessions belong to the accounts migrations, not to this module.

Nothing read from a document enters the case by itself: a document's fields are kept as
read (``document_fields``), and a debt built from them stays ``proposed`` until an
adviser confirms, corrects or rejects it. ``debt_figures`` records where each figure of
a debt came from (a document field with its page and quote, the notes, or the adviser).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.db.base import Base, UTCDateTime

ROLES = ("adviser", "supervisor", "admin")
CASE_STATUSES = ("open", "closed")
DOCUMENT_STATUSES = ("received", "processing", "processed", "failed")
DEBT_STATUSES = ("proposed", "confirmed", "rejected")
DEBT_SOURCES = ("document", "notes", "adviser")
DEBT_FIGURES = ("creditor", "kind", "balance", "arrears", "reference")
PRIORITY_CLASSES = ("priority", "non_priority", "unknown")
DIRECTIONS = ("income", "spending")
FREQUENCIES = ("weekly", "fortnightly", "four_weekly", "monthly", "quarterly", "yearly")
ASSET_KINDS = ("vehicle", "savings", "property", "other")
LETTER_STATUSES = ("draft", "submitted", "approved", "sent")
# Columns holding special category or otherwise sensitive personal data: shown only when
# asked for, and every read of them is recorded.
SENSITIVE = {"sensitive": True}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# ------------------------------------------------------------------ owned by accounts


class Team(Base):
    """A team of advisers (owned by accounts; minimal here)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base):
    """A person who signs in (owned by accounts; minimal here)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Signing in (migration 0003, rma.accounts): an Argon2id hash (NULL: no password set,
    # the account cannot sign in), failures in a row and the lockout they caused.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# ------------------------------------------------------------------------- the case


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    vulnerability_notes: Mapped[str | None] = mapped_column(Text, info=SENSITIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """One client's case. ``key`` names its files and its search index: random, so a
    reused row id can never meet an earlier case's leftovers."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_one_of("status", CASE_STATUSES), name="status"),
        CheckConstraint(
            "(status = 'open' AND closed_on IS NULL) OR "
            "(status = 'closed' AND closed_on IS NOT NULL)",
            name="closed_on",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    adviser_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The case's last activity (a change to it, or a note, letter, document or debt
    # added): the dashboard lists the newest first (index: migration 0004).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    client: Mapped[Client] = relationship(lazy="joined")
    circumstances: Mapped[Circumstances | None] = relationship(
        lazy="joined", cascade="all, delete-orphan", passive_deletes=True
    )


class Circumstances(Base):
    """What the eligibility rules ask beyond money. NULL means not known yet: a rule that
    needs an unknown fact says so, it never assumes the convenient answer."""

    __tablename__ = "case_circumstances"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    # Lived, had a home or carried on business in England or Wales in the last 3 years.
    lived_in_england_wales: Mapped[bool | None] = mapped_column(Boolean)
    previous_dro: Mapped[bool | None] = mapped_column(Boolean)
    previous_dro_on: Mapped[date | None] = mapped_column(Date)
    bankrupt: Mapped[bool | None] = mapped_column(Boolean)
    in_iva: Mapped[bool | None] = mapped_column(Boolean)
    pending_petition: Mapped[bool | None] = mapped_column(Boolean)
    petitioner_consents: Mapped[bool | None] = mapped_column(Boolean)
    # The adviser has recorded every asset (so a short list means few assets).
    assets_complete: Mapped[bool | None] = mapped_column(Boolean)
    unable_to_pay: Mapped[bool | None] = mapped_column(Boolean)
    in_breathing_space: Mapped[bool | None] = mapped_column(Boolean)
    previous_breathing_space: Mapped[bool | None] = mapped_column(Boolean)
    previous_breathing_space_on: Mapped[date | None] = mapped_column(Date)
    mental_health_crisis_treatment: Mapped[bool | None] = mapped_column(Boolean, info=SENSITIVE)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseDocument(Base):
    """A file the client brought, stored encrypted; ``blob`` and ``text_blob`` are its
    locations under the case files folder (the file, and the pages' text once read)."""

    __tablename__ = "case_documents"
    __table_args__ = (
        CheckConstraint(_one_of("status", DOCUMENT_STATUSES), name="status"),
        UniqueConstraint("case_id", "sha256", name="uq_case_documents_case_id_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob: Mapped[str] = mapped_column(String(300))
    text_blob: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="received")
    status_detail: Mapped[str | None] = mapped_column(Text)
    doc_type: Mapped[str | None] = mapped_column(String(40))
    pages: Mapped[int | None] = mapped_column(Integer)
    # Passages in the case's search index; NULL: not indexed (yet, or it failed).
    indexed_chunks: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it was read; while ``processing``, when its reading started (a reading started
    # long ago belongs to a stopped process and is claimed again).
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    fields: Mapped[list[DocumentField]] = relationship(
        lazy="selectin",
        order_by="DocumentField.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DocumentField(Base):
    """One value the doc-processor read, as it read it: never changed afterwards."""

    __tablename__ = "document_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("case_documents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    # Checked by the doc-processor's code against the page text (not an adviser's check).
    verified: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    # Where the quote is on its page, to highlight it: {"size": [width, height], "boxes":
    # [[left, top, right, bottom], ...]} in the page's units; NULL if not known.
    place: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Debt(Base):
    """A debt: ``proposed`` (from a document or the notes, waiting for an adviser),
    ``confirmed`` (counted in totals and eligibility) or ``rejected``. A proposal with
    ``updates_debt_id`` proposes new figures for a debt already confirmed."""

    __tablename__ = "debts"
    __table_args__ = (
        CheckConstraint(_one_of("status", DEBT_STATUSES), name="status"),
        CheckConstraint(_one_of("source", DEBT_SOURCES), name="source"),
        CheckConstraint(_one_of("priority", PRIORITY_CLASSES), name="priority"),
        CheckConstraint("balance_pence IS NULL OR balance_pence >= 0", name="balance"),
        CheckConstraint("arrears_pence IS NULL OR arrears_pence >= 0", name="arrears"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    updates_debt_id: Mapped[int | None] = mapped_column(
        ForeignKey("debts.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_documents.id", ondelete="SET NULL"), index=True
    )
    creditor: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(40))
    balance_pence: Mapped[int | None] = mapped_column(BigInteger)
    arrears_pence: Mapped[int | None] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(80))
    # For hire purchase and conditional sale: are the goods essential (a car for work)?
    goods_essential: Mapped[bool | None] = mapped_column(Boolean)
    # Most debts arising from fraud are excluded from a DRO.
    from_fraud: Mapped[bool | None] = mapped_column(Boolean)
    priority: Mapped[str] = mapped_column(String(20))
    priority_rule: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)

    figures: Mapped[list[DebtFigure]] = relationship(
        lazy="selectin",
        order_by="DebtFigure.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DebtFigure(Base):
    """Where one figure of a debt came from; the newest row per figure is current."""

    __tablename__ = "debt_figures"
    __table_args__ = (
        CheckConstraint(_one_of("figure", DEBT_FIGURES), name="figure"),
        CheckConstraint(_one_of("source", DEBT_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    debt_id: Mapped[int] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"), index=True)
    figure: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))
    field_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_fields.id", ondelete="SET NULL"), index=True
    )
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    field: Mapped[DocumentField | None] = relationship(lazy="selectin")


class BudgetLine(Base):
    """One line of income or spending in a Standard Financial Statement category."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint(_one_of("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_one_of("frequency", FREQUENCIES), name="frequency"),
        CheckConstraint("amount_pence >= 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))
    label: Mapped[str | None] = mapped_column(String(120))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    frequency: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ASSET_KINDS), name="kind"),
        CheckConstraint("value_pence >= 0", name="value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(200))
    value_pence: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Letter(Base):
    """A letter to the client written from the case's notes by the notes service.
    ``details`` keeps what the service returned beside the text (the debts, actions and
    deadlines it read, its checks and warnings)."""

    __tablename__ = "letters"
    __table_args__ = (CheckConstraint(_one_of("status", LETTER_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    note_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_notes.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last person to change the text by hand (migration 0003, rma.accounts): they may
    # not approve it, as its writer may not.
    edited_by: Mapped[str | None] = mapped_column(String(254))
    edited_by_id: Mapped[int | None] = mapped_column(Integer)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LetterVersion(Base):
    """One wording of a letter, kept when an adviser edits it (migration 0004): version 1
    is the text as first written, each edit the next, with who wrote it, when, and the
    warnings the letter checks found in that text. The letter holds the newest."""

    __tablename__ = "letter_versions"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(254))
    written_by_id: Mapped[int | None] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# Every table of a case, children first: the order erasure deletes and counts them in.
CASE_TABLES: tuple[type[Base], ...] = (
    DebtFigure,
    Debt,
    DocumentField,
    CaseDocument,
    BudgetLine,
    Asset,
    LetterVersion,
    Letter,
    CaseNote,
    Circumstances,
)
