"""Alembic's entry point: runs the migrations on the connection rma.db.migrate hands it."""

from __future__ import annotations

from alembic import context

from rma.db.base import Base

# The models, so `alembic revision --autogenerate` (and the tests that compare the newest
# migration with them) see every table.
import rma.accounts.models  # isort: skip
import rma.cases.models  # isort: skip
import rma.limits.records  # noqa: F401  # isort: skip

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `rma db ...` (rma.db.migrate), not alembic itself")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; Alembic's batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
