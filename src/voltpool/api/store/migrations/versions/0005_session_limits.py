"""Charger limits per plug-in session: what the station and the EV allow this stay.

Revision ID: 0005_session_limits
Revises: 0004_ocpp
Create Date: 2026-12-03

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_session_limits"
down_revision = "0004_ocpp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_charge_kw", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("max_discharge_kw", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.drop_column("max_discharge_kw")
        batch_op.drop_column("max_charge_kw")
