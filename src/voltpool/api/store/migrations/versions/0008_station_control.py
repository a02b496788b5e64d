"""How a station is driven on OCPP 2.1: the operation mode of its profiles
(``CentralSetpoint`` or ``ExternalLimits``) and whether it gets one Dynamic profile moved by
``UpdateDynamicSchedule`` (:mod:`voltpool.ocpp.profiles`).

Revision ID: 0008_station_control
Revises: 0007_login_failures
Create Date: 2026-12-04

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_station_control"
down_revision = "0007_login_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_stations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "operation_mode",
                sa.String(length=16),
                server_default="CentralSetpoint",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("dynamic_profile", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("app_stations", schema=None) as batch_op:
        batch_op.drop_column("dynamic_profile")
        batch_op.drop_column("operation_mode")
