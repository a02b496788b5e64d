"""Application tables: users, communities, homes, cars, sessions, plans (and each car's view
of them), grid events, the V2G history per car and local day, refresh tokens, API keys, audit.

Revision ID: 0001_app
Revises:
Create Date: 2026-12-02

A frozen copy of ``voltpool.api.store.tables`` as of this revision (the test suite checks the
two agree).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_app"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "app_users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'operator', 'admin')", name="ck_app_users_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "app_api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("app_api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "app_communities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("tariff", sa.String(length=64), nullable=False),
        sa.Column("import_limit_kw", sa.Float(), nullable=True),
        sa.Column("export_limit_kw", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "app_refresh_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("app_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_refresh_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "app_grid_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_limit_kw", sa.Float(), nullable=True),
        sa.Column("export_limit_kw", sa.Float(), nullable=True),
        sa.Column("price_per_kwh", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('capacity', 'price')", name="ck_app_grid_events_kind"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_grid_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_grid_events_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "app_homes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("breaker_kw", sa.Float(), nullable=False),
        sa.Column("house_load_kw", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_homes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_homes_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_app_homes_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "app_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("site", sa.JSON(), nullable=False),
        sa.Column("solve_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_plans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_app_plans_latest", ["community_id", "applied", "created_at"], unique=False
        )

    op.create_table(
        "app_recorded_slots",
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["app_communities.id"],
        ),
        sa.PrimaryKeyConstraint("community_id", "slot_start"),
    )
    op.create_table(
        "app_car_plans",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["app_plans.id"],
        ),
        sa.PrimaryKeyConstraint("plan_id", "car_id"),
    )
    with op.batch_alter_table("app_car_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_car_plans_car_id"), ["car_id"], unique=False)

    op.create_table(
        "app_cars",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("home_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("capacity_kwh", sa.Float(), nullable=False),
        sa.Column("max_charge_kw", sa.Float(), nullable=False),
        sa.Column("max_discharge_kw", sa.Float(), nullable=False),
        sa.Column("charge_efficiency", sa.Float(), nullable=False),
        sa.Column("discharge_efficiency", sa.Float(), nullable=False),
        sa.Column("chemistry", sa.String(length=8), nullable=False),
        sa.Column("soc_min", sa.Float(), nullable=False),
        sa.Column("soc_max", sa.Float(), nullable=False),
        sa.Column("soc_target", sa.Float(), nullable=False),
        sa.Column("soc_now", sa.Float(), nullable=False),
        sa.Column("wear_per_kwh", sa.Float(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_id"],
            ["app_homes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["app_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_cars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_cars_home_id"), ["home_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_cars_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "app_car_days",
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("v2g_kwh", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["car_id"],
            ["app_cars.id"],
        ),
        sa.PrimaryKeyConstraint("car_id", "day"),
    )
    op.create_table(
        "app_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("car_id", sa.String(length=32), nullable=False),
        sa.Column("arrival", sa.DateTime(timezone=True), nullable=False),
        sa.Column("departure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("soc_arrival", sa.Float(), nullable=False),
        sa.Column("soc_target", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["car_id"],
            ["app_cars.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_sessions_car_id"), ["car_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("app_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_sessions_car_id"))

    op.drop_table("app_sessions")
    op.drop_table("app_car_days")
    with op.batch_alter_table("app_cars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_cars_owner_id"))
        batch_op.drop_index(batch_op.f("ix_app_cars_home_id"))

    op.drop_table("app_cars")
    with op.batch_alter_table("app_car_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_car_plans_car_id"))

    op.drop_table("app_car_plans")
    op.drop_table("app_recorded_slots")
    with op.batch_alter_table("app_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_app_plans_latest")

    op.drop_table("app_plans")
    with op.batch_alter_table("app_homes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_homes_owner_id"))
        batch_op.drop_index(batch_op.f("ix_app_homes_community_id"))

    op.drop_table("app_homes")
    with op.batch_alter_table("app_grid_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_grid_events_community_id"))

    op.drop_table("app_grid_events")
    with op.batch_alter_table("app_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_refresh_tokens_user_id"))

    op.drop_table("app_refresh_tokens")
    op.drop_table("app_communities")
    with op.batch_alter_table("app_api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_api_keys_user_id"))

    op.drop_table("app_api_keys")
    op.drop_table("app_users")
    op.drop_table("app_audit")
