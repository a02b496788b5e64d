"""Ledger tables: accounts, transfers, pending resolutions, rejections (append-only log).

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-25

A frozen copy of ``voltpool.ledger._schema`` as of this revision (later revisions change the
schema with their own operations; the test suite checks the two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

ID = 64
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY_TABLES = ("ledger_transfers", "ledger_pending_resolutions", "ledger_rejections")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("allow_overdraft", sa.Boolean(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('owner', 'grid', 'pool', 'fees')", name="ck_ledger_accounts_kind"
        ),
        sa.CheckConstraint("unit IN ('credit', 'energy')", name="ck_ledger_accounts_unit"),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0"
            " AND credits_pending >= 0",
            name="ck_ledger_accounts_balances_nonnegative",
        ),
        sa.CheckConstraint(
            "allow_overdraft OR debits_posted + debits_pending <= credits_posted",
            name="ck_ledger_accounts_no_overdraft",
        ),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column(
            "debit_account_id", sa.String(ID), sa.ForeignKey("ledger_accounts.id"), nullable=False
        ),
        sa.Column(
            "credit_account_id", sa.String(ID), sa.ForeignKey("ledger_accounts.id"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("session", sa.String(128), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("pending_id", sa.String(ID), sa.ForeignKey("ledger_transfers.id"), nullable=True),
        sa.Column("timeout_s", sa.BigInteger(), nullable=True),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("id", name="uq_ledger_transfers_id"),
        sa.UniqueConstraint("pending_id", name="uq_ledger_transfers_pending_id"),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transfers_amount_positive"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="ck_ledger_transfers_distinct_accounts"
        ),
        sa.CheckConstraint(
            "kind IN ('single', 'pending', 'post', 'void')", name="ck_ledger_transfers_kind"
        ),
        sa.CheckConstraint(
            "(kind IN ('post', 'void') AND pending_id IS NOT NULL)"
            " OR (kind IN ('single', 'pending') AND pending_id IS NULL)",
            name="ck_ledger_transfers_pending_id",
        ),
        sa.CheckConstraint(
            "(timeout_s IS NULL AND expires_at_us IS NULL)"
            " OR (kind = 'pending' AND timeout_s > 0 AND expires_at_us IS NOT NULL)",
            name="ck_ledger_transfers_timeout",
        ),
    )
    op.create_index("ix_ledger_transfers_debit", "ledger_transfers", ["debit_account_id", "seq"])
    op.create_index("ix_ledger_transfers_credit", "ledger_transfers", ["credit_account_id", "seq"])
    op.create_index("ix_ledger_transfers_expires", "ledger_transfers", ["expires_at_us"])
    op.create_table(
        "ledger_pending_resolutions",
        sa.Column(
            "pending_id", sa.String(ID), sa.ForeignKey("ledger_transfers.id"), primary_key=True
        ),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column(
            "transfer_id", sa.String(ID), sa.ForeignKey("ledger_transfers.id"), nullable=True
        ),
        sa.Column("resolved_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("transfer_id", name="uq_ledger_pending_resolutions_transfer_id"),
        sa.CheckConstraint(
            "(outcome IN ('posted', 'voided') AND transfer_id IS NOT NULL)"
            " OR (outcome = 'expired' AND transfer_id IS NULL)",
            name="ck_ledger_pending_resolutions_outcome",
        ),
    )
    op.create_table(
        "ledger_rejections",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("field", sa.String(128), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the log tables."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
            "BEGIN\n"
            "  RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE ="
            " TG_TABLE_NAME || ' is append-only: its rows are never updated or deleted';\n"
            "END\n"
            "$body$"
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, '{table} is append-only: its rows are never"
                    " updated or deleted'); END"
                )
    else:
        raise NotImplementedError(f"ledger migrations support sqlite and postgresql, not {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    op.drop_table("ledger_rejections")
    op.drop_table("ledger_pending_resolutions")
    op.drop_index("ix_ledger_transfers_expires", table_name="ledger_transfers")
    op.drop_index("ix_ledger_transfers_credit", table_name="ledger_transfers")
    op.drop_index("ix_ledger_transfers_debit", table_name="ledger_transfers")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
