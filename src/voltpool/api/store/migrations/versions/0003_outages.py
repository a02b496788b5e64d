"""Outages as grid events (the homes they cut off), "charge now" per plug-in session, when a
car's battery went into service and each car's state per recorded slot (battery health).

Revision ID: 0003_outages
Revises: 0002_v2v
Create Date: 2026-12-03

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outages"
down_revision = "0002_v2v"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('capacity', 'price')"
KINDS_AFTER = "kind IN ('capacity', 'price', 'outage')"


def upgrade() -> None:
    with op.batch_alter_table("app_grid_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_ids", sa.JSON(), nullable=True))
        batch_op.drop_constraint("ck_app_grid_events_kind", type_="check")
        batch_op.create_check_constraint("ck_app_grid_events_kind", KINDS_AFTER)
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("charge_now", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("app_cars", schema=None) as batch_op:
        batch_op.add_column(sa.Column("battery_since", sa.Date(), nullable=True))
    op.create_table(
        "app_car_slots",
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("soc", sa.Float(), nullable=False),
        sa.Column("plugged", sa.Boolean(), nullable=False),
        sa.Column("power_kw", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["car_id"], ["app_cars.id"]),
        sa.PrimaryKeyConstraint("car_id", "slot_start"),
    )
    with op.batch_alter_table("app_car_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_car_slots_slot_start"), ["slot_start"])


def downgrade() -> None:
    with op.batch_alter_table("app_car_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_car_slots_slot_start"))
    op.drop_table("app_car_slots")
    with op.batch_alter_table("app_cars", schema=None) as batch_op:
        batch_op.drop_column("battery_since")
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.drop_column("charge_now")
    with op.batch_alter_table("app_grid_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_app_grid_events_kind", type_="check")
        batch_op.create_check_constraint("ck_app_grid_events_kind", KINDS_BEFORE)
        batch_op.drop_column("home_ids")
