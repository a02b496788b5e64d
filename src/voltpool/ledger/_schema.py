"""The ledger's tables (SQLAlchemy Core). Alembic's ``0001_initial`` creates exactly these.

Invariants the database itself enforces (so a bug in Python cannot commit a broken ledger):

- ``ledger_accounts``: balances are >= 0 and, unless ``allow_overdraft``,
  ``debits_posted + debits_pending <= credits_posted`` at every commit (CHECK).
- ``ledger_transfers``: the client's id is UNIQUE; ``amount > 0``; debit and credit accounts differ
  and exist (FK); a post or void names its pending transfer and only one post/void per pending
  transfer exists (UNIQUE ``pending_id``).
- ``ledger_pending_resolutions``: one row per resolved pending transfer (PRIMARY KEY
  ``pending_id``): a pending transfer is posted, voided or expired at most once.
- ``ledger_rejections``: one row per rejected transfer id (PRIMARY KEY), so it stays rejected.
- Transfers, resolutions and rejections are append-only: triggers refuse UPDATE and DELETE.

Times are integer microseconds since the Unix epoch (UTC); amounts are integers.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID = 64  # max length of every client-chosen id
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PK = rowid

accounts = sa.Table(
    "ledger_accounts",
    metadata,
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
    sa.CheckConstraint("kind IN ('owner', 'grid', 'pool', 'fees')", name="ck_ledger_accounts_kind"),
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

transfers = sa.Table(
    "ledger_transfers",
    metadata,
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
    sa.Index("ix_ledger_transfers_debit", "debit_account_id", "seq"),
    sa.Index("ix_ledger_transfers_credit", "credit_account_id", "seq"),
    sa.Index("ix_ledger_transfers_expires", "expires_at_us"),
)

resolutions = sa.Table(
    "ledger_pending_resolutions",
    metadata,
    sa.Column("pending_id", sa.String(ID), sa.ForeignKey("ledger_transfers.id"), primary_key=True),
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("transfer_id", sa.String(ID), sa.ForeignKey("ledger_transfers.id"), nullable=True),
    sa.Column("resolved_at_us", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("transfer_id", name="uq_ledger_pending_resolutions_transfer_id"),
    sa.CheckConstraint(
        "(outcome IN ('posted', 'voided') AND transfer_id IS NOT NULL)"
        " OR (outcome = 'expired' AND transfer_id IS NULL)",
        name="ck_ledger_pending_resolutions_outcome",
    ),
)

rejections = sa.Table(
    "ledger_rejections",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("field", sa.String(128), nullable=False),
    sa.Column("rule", sa.Text(), nullable=False),
    sa.Column("payload_json", sa.Text(), nullable=False),
    sa.Column("created_at_us", sa.BigInteger(), nullable=False),
)

APPEND_ONLY_TABLES = ("ledger_transfers", "ledger_pending_resolutions", "ledger_rejections")
VERSION_TABLE = "ledger_alembic_version"  # Alembic's bookkeeping, apart from other subsystems'

__all__ = [
    "APPEND_ONLY_TABLES",
    "VERSION_TABLE",
    "accounts",
    "metadata",
    "rejections",
    "resolutions",
    "transfers",
]
