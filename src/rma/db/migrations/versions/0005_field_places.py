"""Field places: where each document field's quote is on its page (the page's size and
the quote's boxes), for the document page to highlight it on the page image

Revision ID: 0005
Revises: 0004
Created: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_fields") as table:
        table.add_column(sa.Column("place", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_fields") as table:
        table.drop_column("place")
