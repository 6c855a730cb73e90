"""Letter versions: each wording of a client letter an adviser edits (who, when, the
warnings the letter checks found in it); cases indexed by their last activity, for the
dashboard's newest-first pages

Revision ID: 0004
Revises: 0003
Created: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letter_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(length=254), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_letter_versions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_letter_versions_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_versions")),
        sa.UniqueConstraint("letter_id", "number", name=op.f("uq_letter_versions_letter_id")),
    )
    op.create_index(op.f("ix_letter_versions_case_id"), "letter_versions", ["case_id"])
    op.create_index(op.f("ix_letter_versions_letter_id"), "letter_versions", ["letter_id"])
    op.create_index(op.f("ix_cases_updated_at"), "cases", ["updated_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_updated_at"), table_name="cases")
    op.drop_table("letter_versions")
