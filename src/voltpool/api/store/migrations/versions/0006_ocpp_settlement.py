"""OCPP transactions settled in the ledger, control state that survives a restart, and the
commands after a push (:mod:`voltpool.ocpp`): whether each transaction's EV is bidirectional
and what voltpool told its station about discharging, what was booked when it ended; each
EVSE's wanted action (set or clear) and its composite-schedule check.

Revision ID: 0006_ocpp_settlement
Revises: 0005_session_limits
Create Date: 2026-12-05

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ocpp_settlement"
down_revision = "0005_session_limits"
branch_labels = None
depends_on = None

TRANSACTION_COLUMNS = (
    ("ev_bidirectional", sa.Boolean()),
    ("v2g_allowed", sa.Boolean()),
    ("settled_at", sa.DateTime(timezone=True)),
    ("settled_import_wh", sa.BigInteger()),
    ("settled_export_wh", sa.BigInteger()),
    ("settled_millicredits", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("app_ocpp_transactions", schema=None) as batch_op:
        for name, kind in TRANSACTION_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("app_ocpp_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "action",
                sa.String(length=32),
                nullable=False,
                server_default="SetChargingProfile",
            )
        )
        batch_op.add_column(sa.Column("composite", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("composite_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_ocpp_profiles", schema=None) as batch_op:
        for name in ("composite_at", "composite", "action"):
            batch_op.drop_column(name)
    with op.batch_alter_table("app_ocpp_transactions", schema=None) as batch_op:
        for name, _ in reversed(TRANSACTION_COLUMNS):
            batch_op.drop_column(name)
