"""OCPP charging stations (:mod:`voltpool.ocpp`): the registered stations, their EVSEs and
connectors, transactions and their events (deduplicated by transaction id and seqNo), meter
values and the charging profile wanted on each EVSE.

Revision ID: 0004_ocpp
Revises: 0003_outages
Create Date: 2026-12-04

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ocpp"
down_revision = "0003_outages"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "app_stations",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("home_id", sa.String(length=32), nullable=False),
        sa.Column("car_id", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("vendor", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        _time("booted_at", nullable=True),
        _time("last_seen", nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(["car_id"], ["app_cars.id"]),
        sa.ForeignKeyConstraint(["community_id"], ["app_communities.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["app_users.id"]),
        sa.ForeignKeyConstraint(["home_id"], ["app_homes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_app_stations_community_id"), "app_stations", ["community_id"], unique=False
    )
    op.create_table(
        "app_ocpp_connectors",
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["station_id"], ["app_stations.id"]),
        sa.PrimaryKeyConstraint("station_id", "evse_id", "connector_id"),
    )
    op.create_table(
        "app_ocpp_meter_values",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=True),
        _time("timestamp"),
        sa.Column("measurand", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=True),
        sa.Column("context", sa.String(length=32), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["app_stations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_app_ocpp_meter_values_station",
        "app_ocpp_meter_values",
        ["station_id", "evse_id", "timestamp"],
        unique=False,
    )
    op.create_table(
        "app_ocpp_profiles",
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        _time("updated_at"),
        _time("sent_at", nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["app_stations.id"]),
        sa.PrimaryKeyConstraint("station_id", "evse_id"),
    )
    op.create_table(
        "app_ocpp_transaction_events",
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("trigger_reason", sa.String(length=32), nullable=False),
        _time("timestamp"),
        sa.Column("offline", sa.Boolean(), nullable=False),
        _time("received_at"),
        sa.ForeignKeyConstraint(["station_id"], ["app_stations.id"]),
        sa.PrimaryKeyConstraint("station_id", "transaction_id", "seq_no"),
    )
    op.create_table(
        "app_ocpp_transactions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("id_token", sa.String(length=255), nullable=True),
        _time("started_at"),
        _time("ended_at", nullable=True),
        sa.Column("stopped_reason", sa.String(length=32), nullable=True),
        sa.Column("meter_start_wh", sa.Float(), nullable=True),
        sa.Column("import_wh", sa.Float(), nullable=True),
        sa.Column("export_wh", sa.Float(), nullable=True),
        sa.Column("last_seq_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["app_sessions.id"]),
        sa.ForeignKeyConstraint(["station_id"], ["app_stations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("station_id", "transaction_id", name="uq_app_ocpp_transactions"),
    )


def downgrade() -> None:
    op.drop_table("app_ocpp_transactions")
    op.drop_table("app_ocpp_transaction_events")
    op.drop_table("app_ocpp_profiles")
    op.drop_index("ix_app_ocpp_meter_values_station", table_name="app_ocpp_meter_values")
    op.drop_table("app_ocpp_meter_values")
    op.drop_table("app_ocpp_connectors")
    op.drop_index(op.f("ix_app_stations_community_id"), table_name="app_stations")
    op.drop_table("app_stations")
