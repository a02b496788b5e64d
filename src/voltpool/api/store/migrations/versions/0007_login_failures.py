"""Failed logins in the database, so that every ``voltpool serve --workers`` process counts the
same failures (:mod:`voltpool.api.ratelimit`).

Revision ID: 0007_login_failures
Revises: 0006_ocpp_settlement
Create Date: 2026-12-03

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_login_failures"
down_revision = "0006_ocpp_settlement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_login_failures_key"), ["key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("app_login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_login_failures_key"))
    op.drop_table("app_login_failures")
