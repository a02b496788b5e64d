"""V2V between members of a community: requests, offers and the agreements matched from them
(the ledger holds their credits); each home's circuits for backup; each recorded slot's site
import (the month's peak a capacity tariff bills).

Revision ID: 0002_v2v
Revises: 0001_app
Create Date: 2026-12-03

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_v2v"
down_revision = "0001_app"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_recorded_slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_import_kw", sa.Float(), nullable=True))
    with op.batch_alter_table("app_homes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("circuits", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "app_v2v_offers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_above_soc", sa.Float(), nullable=False),
        sa.Column("price_millicredits_per_kwh", sa.BigInteger(), nullable=False),
        sa.Column("consent", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'expired')", name="ck_app_v2v_offers_status"
        ),
        sa.ForeignKeyConstraint(
            ["car_id"],
            ["app_cars.id"],
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_v2v_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_v2v_offers_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_app_v2v_offers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "app_v2v_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("earliest_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_price_millicredits_per_kwh", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'expired')", name="ck_app_v2v_requests_status"
        ),
        sa.ForeignKeyConstraint(
            ["car_id"],
            ["app_cars.id"],
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_v2v_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_v2v_requests_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_app_v2v_requests_user_id"), ["user_id"], unique=False)

    op.create_table(
        "app_v2v_agreements",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("giver_id", sa.String(length=32), nullable=False),
        sa.Column("receiver_id", sa.String(length=32), nullable=False),
        sa.Column("giver_car_id", sa.String(length=32), nullable=False),
        sa.Column("receiver_car_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ac_kwh", sa.Float(), nullable=False),
        sa.Column("giver_battery_kwh", sa.Float(), nullable=False),
        sa.Column("receiver_battery_kwh", sa.Float(), nullable=False),
        sa.Column("giver_floor_kwh", sa.Float(), nullable=False),
        sa.Column("price_millicredits_per_kwh", sa.BigInteger(), nullable=False),
        sa.Column("estimate_millicredits", sa.BigInteger(), nullable=False),
        sa.Column("delivered_ac_kwh", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_millicredits", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'settled', 'cancelled')", name="ck_app_v2v_agreements_status"
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["giver_car_id"],
            ["app_cars.id"],
        ),
        sa.ForeignKeyConstraint(
            ["giver_id"],
            ["app_users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["app_v2v_offers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receiver_car_id"],
            ["app_cars.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["app_users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["app_v2v_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_v2v_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_v2v_agreements_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_app_v2v_agreements_giver_id"), ["giver_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_app_v2v_agreements_offer_id"), ["offer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_app_v2v_agreements_receiver_id"), ["receiver_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_app_v2v_agreements_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("app_recorded_slots", schema=None) as batch_op:
        batch_op.drop_column("site_import_kw")
    with op.batch_alter_table("app_homes", schema=None) as batch_op:
        batch_op.drop_column("circuits")
    with op.batch_alter_table("app_v2v_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_v2v_agreements_request_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_agreements_receiver_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_agreements_offer_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_agreements_giver_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_agreements_community_id"))

    op.drop_table("app_v2v_agreements")
    with op.batch_alter_table("app_v2v_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_v2v_requests_user_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_requests_community_id"))

    op.drop_table("app_v2v_requests")
    with op.batch_alter_table("app_v2v_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_v2v_offers_user_id"))
        batch_op.drop_index(batch_op.f("ix_app_v2v_offers_community_id"))

    op.drop_table("app_v2v_offers")
