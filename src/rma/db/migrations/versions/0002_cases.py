"""The client's case: teams and users (minimal, owned by accounts), clients, cases and
their circumstances, documents and the fields read from them, debts and where each
figure came from, budget lines, assets, notes and letters

Revision ID: 0002
Revises: 0001
Created: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Children first: the order they are dropped in.
TABLES = (
    "debt_figures",
    "debts",
    "document_fields",
    "case_documents",
    "budget_lines",
    "assets",
    "letters",
    "case_notes",
    "case_circumstances",
    "cases",
    "clients",
    "users",
    "teams",
)


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _by(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=120), nullable=nullable)


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Integer(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _pk(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def _case_child(
    table: str, *columns: sa.schema.SchemaItem, checks: dict[str, str] | None = None
) -> None:
    """A table of one case's rows: deleted with the case."""
    op.create_table(
        table,
        _id(),
        sa.Column("case_id", sa.Integer(), nullable=False),
        *columns,
        *(_check(table, n, c) for n, c in (checks or {}).items()),
        _fk(table, "case_id", "cases", "CASCADE"),
        _pk(table),
    )
    _index(table, "case_id")


def upgrade() -> None:
    op.create_table(
        "teams",
        _id(),
        sa.Column("name", sa.String(length=120), nullable=False),
        _when("created_at"),
        _pk("teams"),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        _check("users", "role", "role IN ('adviser', 'supervisor', 'admin')"),
        _fk("users", "team_id", "teams", "SET NULL"),
        _pk("users"),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    _index("users", "team_id")
    op.create_table(
        "clients",
        _id(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("vulnerability_notes", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _pk("clients"),
    )
    op.create_table(
        "cases",
        _id(),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("adviser_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        _by("created_by"),
        _when("created_at"),
        _when("updated_at"),
        _check(
            "cases",
            "closed_on",
            "(status = 'open' AND closed_on IS NULL) OR "
            "(status = 'closed' AND closed_on IS NOT NULL)",
        ),
        _check("cases", "status", "status IN ('open', 'closed')"),
        _fk("cases", "adviser_id", "users", "SET NULL"),
        _fk("cases", "client_id", "clients", "RESTRICT"),
        _fk("cases", "team_id", "teams", "SET NULL"),
        _pk("cases"),
        sa.UniqueConstraint("key", name=op.f("uq_cases_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    for column in ("adviser_id", "client_id", "closed_on", "team_id"):
        _index("cases", column)
    op.create_table(
        "case_circumstances",
        sa.Column("case_id", sa.Integer(), nullable=False),
        *(
            sa.Column(name, sa.Boolean(), nullable=True)
            for name in (
                "lived_in_england_wales",
                "previous_dro",
            )
        ),
        sa.Column("previous_dro_on", sa.Date(), nullable=True),
        *(
            sa.Column(name, sa.Boolean(), nullable=True)
            for name in (
                "bankrupt",
                "in_iva",
                "pending_petition",
                "petitioner_consents",
                "assets_complete",
                "unable_to_pay",
                "in_breathing_space",
                "previous_breathing_space",
            )
        ),
        sa.Column("previous_breathing_space_on", sa.Date(), nullable=True),
        sa.Column("mental_health_crisis_treatment", sa.Boolean(), nullable=True),
        _by("updated_by", nullable=True),
        _when("updated_at", nullable=True),
        _fk("case_circumstances", "case_id", "cases", "CASCADE"),
        _pk("case_circumstances", "case_id"),
    )
    _case_child(
        "case_documents",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.String(length=300), nullable=False),
        sa.Column("text_blob", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("doc_type", sa.String(length=40), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("indexed_chunks", sa.Integer(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        _by("uploaded_by"),
        _when("uploaded_at"),
        _when("processed_at", nullable=True),
        sa.UniqueConstraint("case_id", "sha256", name="uq_case_documents_case_id_sha256"),
        sa.UniqueConstraint("key", name=op.f("uq_case_documents_key")),
        checks={"status": "status IN ('received', 'processing', 'processed', 'failed')"},
    )
    op.create_table(
        "document_fields",
        _id(),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("document_fields", "document_id", "case_documents", "CASCADE"),
        _pk("document_fields"),
    )
    _index("document_fields", "document_id")
    _case_child(
        "debts",
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updates_debt_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("creditor", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("balance_pence", sa.BigInteger(), nullable=True),
        sa.Column("arrears_pence", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("goods_essential", sa.Boolean(), nullable=True),
        sa.Column("from_fraud", sa.Boolean(), nullable=True),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("priority_rule", sa.String(length=200), nullable=False),
        _by("created_by"),
        _when("created_at"),
        _by("decided_by", nullable=True),
        _when("decided_at", nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        _fk("debts", "document_id", "case_documents", "SET NULL"),
        _fk("debts", "updates_debt_id", "debts", "CASCADE"),
        checks={
            "priority": "priority IN ('priority', 'non_priority', 'unknown')",
            "source": "source IN ('document', 'notes', 'adviser')",
            "status": "status IN ('proposed', 'confirmed', 'rejected')",
            "arrears": "arrears_pence IS NULL OR arrears_pence >= 0",
            "balance": "balance_pence IS NULL OR balance_pence >= 0",
        },
    )
    _index("debts", "document_id")
    _index("debts", "updates_debt_id")
    op.create_table(
        "debt_figures",
        _id(),
        sa.Column("debt_id", sa.Integer(), nullable=False),
        sa.Column("figure", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=True),
        _by("recorded_by"),
        _when("recorded_at"),
        _check(
            "debt_figures",
            "figure",
            "figure IN ('creditor', 'kind', 'balance', 'arrears', 'reference')",
        ),
        _check("debt_figures", "source", "source IN ('document', 'notes', 'adviser')"),
        _fk("debt_figures", "debt_id", "debts", "CASCADE"),
        _fk("debt_figures", "field_id", "document_fields", "SET NULL"),
        _pk("debt_figures"),
    )
    _index("debt_figures", "debt_id")
    _index("debt_figures", "field_id")
    _case_child(
        "budget_lines",
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        _by("created_by"),
        _when("created_at"),
        checks={
            "direction": "direction IN ('income', 'spending')",
            "frequency": "frequency IN ('weekly', 'fortnightly', 'four_weekly', 'monthly', "
            "'quarterly', 'yearly')",
            "amount": "amount_pence >= 0",
        },
    )
    _case_child(
        "assets",
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        _by("created_by"),
        _when("created_at"),
        checks={
            "kind": "kind IN ('vehicle', 'savings', 'property', 'other')",
            "value": "value_pence >= 0",
        },
    )
    _case_child(
        "case_notes",
        sa.Column("body", sa.Text(), nullable=False),
        _by("created_by"),
        _when("created_at"),
    )
    _case_child(
        "letters",
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _by("created_by"),
        _when("created_at"),
        _fk("letters", "note_id", "case_notes", "SET NULL"),
        checks={"status": "status IN ('draft', 'submitted', 'approved', 'sent')"},
    )
    _index("letters", "note_id")


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
