"""Limit changes and their decisions, both append-only

Revision ID: 0001
Revises:
Created: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("limit_changes", "limit_decisions")


def upgrade() -> None:
    op.create_table(
        "limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("corrects", sa.String(length=20), nullable=True),
        sa.Column("previous_value", sa.String(length=40), nullable=True),
        sa.Column("previous_from", sa.Date(), nullable=True),
        sa.Column("previous_to", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_page", sa.Integer(), nullable=True),
        sa.Column("evidence_quote", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=120), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("table_version", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "kind IN ('new_value', 'correction')", name=op.f("ck_limit_changes_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_changes")),
    )
    op.create_index(op.f("ix_limit_changes_name"), "limit_changes", ["name"])
    op.create_table(
        "limit_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'rejected')", name=op.f("ck_limit_decisions_decision")
        ),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["limit_changes.id"],
            name=op.f("fk_limit_decisions_change_id_limit_changes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_decisions")),
        sa.UniqueConstraint("change_id", name=op.f("uq_limit_decisions_change_id")),
    )
    _append_only(APPEND_ONLY)


def downgrade() -> None:
    _drop_append_only(APPEND_ONLY)
    op.drop_table("limit_decisions")
    op.drop_index(op.f("ix_limit_changes_name"), table_name="limit_changes")
    op.drop_table("limit_changes")


def _append_only(tables: tuple[str, ...]) -> None:
    """Refuse UPDATE and DELETE on these tables in the database itself."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION rma_refuse_change() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION rma_refuse_change()"
            )
        return
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only(tables: tuple[str, ...]) -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS rma_refuse_change()")
