"""Accounts: signing in on users, sessions, API tokens, service accounts, the
organisation's settings, letter approvals (and who last edited a letter), who proposed
and decided each limit change, and the append-only, hash-chained audit log

Revision ID: 0003
Revises: 0002
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Children first: the order they are dropped in.
TABLES = (
    "audit_chain",
    "audit_log",
    "letter_approvals",
    "organisation_settings",
    "api_tokens",
    "service_accounts",
    "user_sessions",
)
USER_COLUMNS = (
    "password_hash",
    "password_changed_at",
    "failed_logins",
    "locked_until",
    "last_login_at",
)
# Who last changed a letter's text by hand (they may not approve it).
LETTER_COLUMNS = ("edited_by", "edited_by_id", "edited_at")
GENESIS = "0" * 64


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column("users", _when("password_changed_at", nullable=True))
    op.add_column(
        "users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("users", _when("locked_until", nullable=True))
    op.add_column("users", _when("last_login_at", nullable=True))
    op.add_column("limit_changes", sa.Column("proposed_by_id", sa.Integer(), nullable=True))
    op.add_column("limit_decisions", sa.Column("decided_by_id", sa.Integer(), nullable=True))
    op.add_column("letters", sa.Column("edited_by", sa.String(length=254), nullable=True))
    op.add_column("letters", sa.Column("edited_by_id", sa.Integer(), nullable=True))
    op.add_column("letters", _when("edited_at", nullable=True))

    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _fk("user_sessions", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_sessions")),
    )
    _index("user_sessions", "user_id")
    _index("user_sessions", "expires_at")
    op.create_table(
        "service_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_service_accounts_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("service_account_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(length=254), nullable=True),
        _when("last_used_at", nullable=True),
        sa.CheckConstraint("kind IN ('personal', 'service')", name=op.f("ck_api_tokens_kind")),
        sa.CheckConstraint(
            "(kind = 'personal' AND user_id IS NOT NULL AND service_account_id IS NULL "
            "AND expires_at IS NOT NULL) OR "
            "(kind = 'service' AND service_account_id IS NOT NULL AND user_id IS NULL)",
            name=op.f("ck_api_tokens_owner"),
        ),
        _fk("api_tokens", "user_id", "users", "CASCADE"),
        _fk("api_tokens", "service_account_id", "service_accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("public_id", name=op.f("uq_api_tokens_public_id")),
    )
    _index("api_tokens", "user_id")
    _index("api_tokens", "service_account_id")
    op.create_table(
        "organisation_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organisation_settings")),
    )
    op.create_table(
        "letter_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("status_before", sa.String(length=12), nullable=False),
        sa.Column("status_after", sa.String(length=12), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=False),
        _when("decided_at"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'returned')", name=op.f("ck_letter_approvals_decision")
        ),
        _fk("letter_approvals", "letter_id", "letters", "CASCADE"),
        _fk("letter_approvals", "decided_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_approvals")),
    )
    _index("letter_approvals", "letter_id")
    _index("letter_approvals", "decided_by_id")
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _when("at"),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('person', 'service', 'operator', 'anonymous')",
            name=op.f("ck_audit_log_actor_kind"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "at")
    _index("audit_log", "action")
    _index("audit_log", "case_id")
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        _when("purge_before", nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    op.bulk_insert(
        chain, [{"id": 1, "seq": 0, "head_hash": GENESIS, "anchor_seq": 0, "anchor_hash": GENESIS}]
    )
    _guard_audit_log()


def downgrade() -> None:
    _drop_audit_guard()
    for table in TABLES:
        op.drop_table(table)
    op.drop_column("limit_decisions", "decided_by_id")
    op.drop_column("limit_changes", "proposed_by_id")
    for column in LETTER_COLUMNS:
        op.drop_column("letters", column)
    with op.batch_alter_table("users") as batch:
        for column in USER_COLUMNS:
            batch.drop_column(column)


def _guard_audit_log() -> None:
    """The database refuses to change an audit entry, and to delete one unless it is older
    than the purge boundary ``rma audit purge`` sets (in the same transaction)."""
    boundary = "(SELECT purge_before FROM audit_chain WHERE id = 1)"
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION rma_audit_guard() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' AND OLD.at < {boundary} THEN RETURN OLD; END IF; "
            "RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION rma_audit_guard()"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    # coalesce: with no boundary the comparison is NULL, which must refuse, not allow.
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        f"WHEN coalesce(OLD.at < {boundary}, 0) = 0 "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


def _drop_audit_guard() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS rma_audit_guard()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
