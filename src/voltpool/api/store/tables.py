"""The application's tables (SQLAlchemy 2 ORM): accounts, communities, homes, cars, plug-in
sessions, plans, grid events, V2V requests, offers and agreements, tokens, API keys and the
audit trail. Alembic's migrations (``0001_app``, ``0002_v2v``, ``0003_outages``, ``0004_ocpp``,
``0005_session_limits``, ``0006_ocpp_settlement``, ``0007_login_failures``,
``0008_station_control``) create exactly
these; every name starts with ``app_`` so the database can hold the ledger (``ledger_``) too.

Times are timezone-aware UTC (stored as UTC). Ids are random (``uuid4().hex``): an id tells
nothing about another owner's objects. Powers in kW, energies in kWh, SoC as fractions 0..1.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID_LENGTH = 32
VERSION_TABLE = "app_alembic_version"
ROLES = ("owner", "operator", "admin")


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC time on every backend (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: sa.JSON()}  # noqa: RUF012


def _id() -> Mapped[str]:
    return mapped_column(sa.String(ID_LENGTH), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utc_now)


class User(Base):
    __tablename__ = "app_users"

    id: Mapped[str] = _id()
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(128), default="")
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        sa.CheckConstraint("role IN ('owner', 'operator', 'admin')", name="ck_app_users_role"),
    )


class Community(Base):
    """An energy community or site: the feeder it shares, its limit and its tariff."""

    __tablename__ = "app_communities"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(sa.String(128))
    operator_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    tariff: Mapped[str] = mapped_column(sa.String(64))
    import_limit_kw: Mapped[float | None] = mapped_column(sa.Float())
    export_limit_kw: Mapped[float | None] = mapped_column(sa.Float())
    created_at: Mapped[datetime] = _created()


class Home(Base):
    __tablename__ = "app_homes"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    breaker_kw: Mapped[float] = mapped_column(sa.Float())
    house_load_kw: Mapped[float] = mapped_column(sa.Float())
    circuits: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON(), default=list)
    """The circuits behind their own relays for backup (``[]``: the whole house is one
    critical circuit), as :class:`voltpool.backup.home.Circuit` fields."""
    created_at: Mapped[datetime] = _created()


class Car(Base):
    """A car and its charger; ``rules`` holds the owner's rules block (problem format v1
    ``vehicles[].rules``), ``soc_now`` the last known state of charge."""

    __tablename__ = "app_cars"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    home_id: Mapped[str] = mapped_column(sa.ForeignKey("app_homes.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    capacity_kwh: Mapped[float] = mapped_column(sa.Float())
    max_charge_kw: Mapped[float] = mapped_column(sa.Float())
    max_discharge_kw: Mapped[float] = mapped_column(sa.Float())
    charge_efficiency: Mapped[float] = mapped_column(sa.Float())
    discharge_efficiency: Mapped[float] = mapped_column(sa.Float())
    chemistry: Mapped[str] = mapped_column(sa.String(8))
    soc_min: Mapped[float] = mapped_column(sa.Float())
    soc_max: Mapped[float] = mapped_column(sa.Float())
    soc_target: Mapped[float] = mapped_column(sa.Float())
    soc_now: Mapped[float] = mapped_column(sa.Float())
    wear_per_kwh: Mapped[float] = mapped_column(sa.Float())
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    battery_since: Mapped[date | None] = mapped_column(sa.Date(), default=None)
    """When the battery went into service (None: when the car was added); the health
    estimate's age."""
    created_at: Mapped[datetime] = _created()


class PlugSession(Base):
    """A plug-in session: from the owner now, from a charger later. ``ended_at`` is set when
    the car leaves; an open session has none."""

    __tablename__ = "app_sessions"

    id: Mapped[str] = _id()
    car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"), index=True)
    arrival: Mapped[datetime] = mapped_column()
    departure: Mapped[datetime] = mapped_column()
    soc_arrival: Mapped[float] = mapped_column(sa.Float())
    soc_target: Mapped[float] = mapped_column(sa.Float())
    max_charge_kw: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    max_discharge_kw: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    """What the station and the EV allow this stay (OCPP needs, a charge-only station's 0),
    below the car's own; None: the car's own (:func:`voltpool.api.limits.limits_kw`)."""
    charge_now: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    """The owner's "charge now" for this stay: full power until the target, no discharge
    (:mod:`voltpool.api.charge_now`); it ends with the session."""
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = _created()


class Plan(Base):
    """One stored plan of a community: its inputs (problem format v1) and its schedule, so
    it can be replayed; only a plan that passed the independent verifier is ``applied``."""

    __tablename__ = "app_plans"

    id: Mapped[str] = _id()
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"))
    start: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(64))
    problem: Mapped[dict[str, Any]] = mapped_column()
    schedule: Mapped[dict[str, Any]] = mapped_column()
    applied: Mapped[bool] = mapped_column(sa.Boolean())
    notes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    site: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The operator's view (:func:`voltpool.api.plan_views.site_view`)."""
    solve_s: Mapped[float] = mapped_column(sa.Float())
    created_at: Mapped[datetime] = _created()
    __table_args__ = (sa.Index("ix_app_plans_latest", "community_id", "applied", "created_at"),)


class CarPlan(Base):
    """One car's view of a stored plan (:func:`voltpool.api.plan_views.car_views`): what an
    owner fetches, one small row instead of the whole site's plan."""

    __tablename__ = "app_car_plans"

    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("app_plans.id"), primary_key=True)
    car_id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True, index=True)
    view: Mapped[dict[str, Any]] = mapped_column()


class GridEvent(Base):
    """A grid signal for a community over ``[start, end)``, posted by its operator now (by
    the OpenADR adapter later): a ``capacity`` event caps the site's import and/or export,
    a ``price`` event sets the import price (export at most that) in its slots, an
    ``outage`` cuts the homes in ``home_ids`` (None: every home of the community) off the
    grid: they run on the cars plugged in there (V2H, :mod:`voltpool.api.outages`)."""

    __tablename__ = "app_grid_events"

    id: Mapped[str] = _id()
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    import_limit_kw: Mapped[float | None] = mapped_column(sa.Float())
    export_limit_kw: Mapped[float | None] = mapped_column(sa.Float())
    price_per_kwh: Mapped[float | None] = mapped_column(sa.Float())
    home_ids: Mapped[list[str] | None] = mapped_column(sa.JSON(), default=None)
    created_by: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"))
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('capacity', 'price', 'outage')", name="ck_app_grid_events_kind"
        ),
    )


class CarDay(Base):
    """The V2G/V2V energy the service commanded a car to give on one local day (battery side,
    kWh): the history the owner's daily cap and weekly cycles count. Metered values from the
    car's charger replace the commanded ones when chargers report (OCPP)."""

    __tablename__ = "app_car_days"

    car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    """The local date in the community's time zone, ``YYYY-MM-DD``."""
    v2g_kwh: Mapped[float] = mapped_column(sa.Float(), default=0.0)


class RecordedSlot(Base):
    """A slot whose commanded energy was added to :class:`CarDay` (each slot once)."""

    __tablename__ = "app_recorded_slots"

    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    site_import_kw: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    """The site's net import the plan in force commanded (homes included; None: no plan):
    the month's peak a capacity tariff bills is the highest of these."""


class CarSlot(Base):
    """A car at the end of a recorded slot: its state of charge, whether it was plugged in
    and the power the plan in force commanded it (kW, + charging; 0 when away or
    islanded): the trace the battery-health estimate ages (:mod:`voltpool.api.health`).
    Kept for :data:`voltpool.api.history.TRACE_DAYS` days."""

    __tablename__ = "app_car_slots"

    car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    soc: Mapped[float] = mapped_column(sa.Float())
    plugged: Mapped[bool] = mapped_column(sa.Boolean())
    power_kw: Mapped[float] = mapped_column(sa.Float())


class V2VRequest(Base):
    """A member asks for ``energy_kwh`` into their car's battery by ``deadline``, at most
    ``max_price_millicredits_per_kwh`` per kWh delivered (None: any price); open until its
    deadline, withdrawn by its member, or filled by agreements."""

    __tablename__ = "app_v2v_requests"

    id: Mapped[str] = _id()
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"))
    energy_kwh: Mapped[float] = mapped_column(sa.Float())
    earliest_start: Mapped[datetime | None] = mapped_column(default=None)
    deadline: Mapped[datetime] = mapped_column()
    max_price_millicredits_per_kwh: Mapped[int | None] = mapped_column(sa.BigInteger())
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'expired')", name="ck_app_v2v_requests_status"
        ),
    )


class V2VOffer(Base):
    """A member offers at most ``energy_kwh`` out of their car's battery between ``start``
    (None: from when it was posted) and ``end``, never below ``keep_above_soc``, at
    ``price_millicredits_per_kwh``; ``consent`` lists the user ids it may go to (None: every
    member of the community)."""

    __tablename__ = "app_v2v_offers"

    id: Mapped[str] = _id()
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"))
    energy_kwh: Mapped[float] = mapped_column(sa.Float())
    start: Mapped[datetime | None] = mapped_column(default=None)
    end: Mapped[datetime] = mapped_column()
    keep_above_soc: Mapped[float] = mapped_column(sa.Float(), default=0.0)
    price_millicredits_per_kwh: Mapped[int] = mapped_column(sa.BigInteger())
    consent: Mapped[list[str] | None] = mapped_column(sa.JSON(), default=None)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'expired')", name="ck_app_v2v_offers_status"
        ),
    )


class V2VAgreement(Base):
    """A matched request and offer (:class:`voltpool.sharing.Match`, id = its key) whose
    estimate is held in the ledger; ``delivered_ac_kwh`` grows slot by slot with the flows the
    plan in force commanded, and the hold is settled on it when the window ends or either
    member cancels."""

    __tablename__ = "app_v2v_agreements"

    id: Mapped[str] = mapped_column(sa.String(ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    request_id: Mapped[str] = mapped_column(sa.ForeignKey("app_v2v_requests.id"), index=True)
    offer_id: Mapped[str] = mapped_column(sa.ForeignKey("app_v2v_offers.id"), index=True)
    giver_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    receiver_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    giver_car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"))
    receiver_car_id: Mapped[str] = mapped_column(sa.ForeignKey("app_cars.id"))
    mode: Mapped[str] = mapped_column(sa.String(8))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    ac_kwh: Mapped[float] = mapped_column(sa.Float())
    giver_battery_kwh: Mapped[float] = mapped_column(sa.Float())
    receiver_battery_kwh: Mapped[float] = mapped_column(sa.Float())
    giver_floor_kwh: Mapped[float] = mapped_column(sa.Float())
    price_millicredits_per_kwh: Mapped[int] = mapped_column(sa.BigInteger())
    estimate_millicredits: Mapped[int] = mapped_column(sa.BigInteger())
    delivered_ac_kwh: Mapped[float] = mapped_column(sa.Float(), default=0.0)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    paid_millicredits: Mapped[int | None] = mapped_column(sa.BigInteger(), default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('running', 'settled', 'cancelled')", name="ck_app_v2v_agreements_status"
        ),
    )


class RefreshToken(Base):
    __tablename__ = "app_refresh_tokens"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    created_at: Mapped[datetime] = _created()


class LoginFailure(Base):
    """One failed login or wrong current password, by limiter key (``email|client`` or
    ``account|user id``), shared by every server process (:mod:`voltpool.api.ratelimit`)."""

    __tablename__ = "app_login_failures"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(400), index=True)
    failed_at: Mapped[datetime] = mapped_column()


class ApiKey(Base):
    """A key for a device or an integration; only its SHA-256 is kept."""

    __tablename__ = "app_api_keys"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    created_at: Mapped[datetime] = _created()


class AuditEntry(Base):
    """Who did what to which object; every credit movement and every change is one row."""

    __tablename__ = "app_audit"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = _created()
    user_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


STATION_ID_LENGTH = 48
"""OCPP's identity of a charging station (the last segment of its URL): at most 48 chars."""


class Station(Base):
    """An OCPP charging station an operator registered (:mod:`voltpool.ocpp`): it logs in
    with HTTP basic auth (security profile 1/2), username = its id, the password's Argon2
    hash kept; it serves ``car_id`` at ``home_id`` (its sessions are that car's). What it
    said at its last boot and when it was last heard from. How it is driven on OCPP 2.1
    (:mod:`voltpool.ocpp.profiles`): ``operation_mode`` ``CentralSetpoint`` (voltpool's power)
    or ``ExternalLimits`` (the station's own controller within voltpool's limits), and
    ``dynamic_profile``: one Dynamic profile moved by ``UpdateDynamicSchedule`` instead of a
    new absolute profile per plan."""

    __tablename__ = "app_stations"

    id: Mapped[str] = mapped_column(sa.String(STATION_ID_LENGTH), primary_key=True)
    community_id: Mapped[str] = mapped_column(sa.ForeignKey("app_communities.id"), index=True)
    home_id: Mapped[str] = mapped_column(sa.ForeignKey("app_homes.id"))
    car_id: Mapped[str | None] = mapped_column(sa.ForeignKey("app_cars.id"), default=None)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    protocol: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    """The subprotocol of its last connection (``ocpp2.1``, ``ocpp2.0.1``, ``ocpp1.6``)."""
    vendor: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    model: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    firmware: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    booted_at: Mapped[datetime | None] = mapped_column(default=None)
    last_seen: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(sa.ForeignKey("app_users.id"))
    created_at: Mapped[datetime] = _created()
    operation_mode: Mapped[str] = mapped_column(
        sa.String(16), default="CentralSetpoint", server_default="CentralSetpoint"
    )
    dynamic_profile: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class OcppConnector(Base):
    """One connector of one EVSE of a station and its last reported status (EVSE 0,
    connector 0: the station itself)."""

    __tablename__ = "app_ocpp_connectors"

    station_id: Mapped[str] = mapped_column(sa.ForeignKey("app_stations.id"), primary_key=True)
    evse_id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32))
    updated_at: Mapped[datetime] = mapped_column()


class OcppTransaction(Base):
    """A charging transaction as a station reports it: 2.x ``TransactionEvent``s (the
    station's id) or 1.6 Start/StopTransaction (``id`` is the number voltpool gave it);
    ``session_id`` is the car's plug-in session it opened. Energies are the meter's
    registers at the last reading (AC side, Wh); what it imported and exported (from its
    register readings) is booked in the ledger once when it ends (``settled_*``,
    :mod:`voltpool.ocpp.settlement`). ``ev_bidirectional``: its EV announced a bidirectional
    transfer mode; ``v2g_allowed``: what voltpool last told the station about discharging
    (``NotifyAllowedEnergyTransfer``; None: nothing told)."""

    __tablename__ = "app_ocpp_transactions"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    station_id: Mapped[str] = mapped_column(sa.ForeignKey("app_stations.id"))
    transaction_id: Mapped[str] = mapped_column(sa.String(36))
    evse_id: Mapped[int] = mapped_column(sa.Integer())
    connector_id: Mapped[int | None] = mapped_column(sa.Integer(), default=None)
    session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("app_sessions.id"), default=None)
    id_token: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    stopped_reason: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    meter_start_wh: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    import_wh: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    export_wh: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    last_seq_no: Mapped[int | None] = mapped_column(sa.Integer(), default=None)
    ev_bidirectional: Mapped[bool | None] = mapped_column(sa.Boolean(), default=None)
    v2g_allowed: Mapped[bool | None] = mapped_column(sa.Boolean(), default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)
    settled_import_wh: Mapped[int | None] = mapped_column(sa.BigInteger(), default=None)
    settled_export_wh: Mapped[int | None] = mapped_column(sa.BigInteger(), default=None)
    settled_millicredits: Mapped[int | None] = mapped_column(sa.BigInteger(), default=None)
    __table_args__ = (
        sa.UniqueConstraint("station_id", "transaction_id", name="uq_app_ocpp_transactions"),
    )


class OcppTransactionEvent(Base):
    """One 2.x ``TransactionEvent`` as received, once: a repeat of the same (station,
    transaction, seqNo), as a station sends after losing an answer, is not booked again;
    events queued offline arrive late and are booked in seqNo order by their own time."""

    __tablename__ = "app_ocpp_transaction_events"

    station_id: Mapped[str] = mapped_column(sa.ForeignKey("app_stations.id"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    seq_no: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    event_type: Mapped[str] = mapped_column(sa.String(16))
    trigger_reason: Mapped[str] = mapped_column(sa.String(32))
    timestamp: Mapped[datetime] = mapped_column()
    offline: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    received_at: Mapped[datetime] = mapped_column()


class OcppMeterValue(Base):
    """One sampled value a station metered (``Energy.Active.Import.Register`` in Wh,
    ``Power.Active.Import`` in W, ``SoC`` in percent, ...), from a TransactionEvent or a
    MeterValues message; ``transaction_id`` when it belongs to one."""

    __tablename__ = "app_ocpp_meter_values"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    station_id: Mapped[str] = mapped_column(sa.ForeignKey("app_stations.id"))
    evse_id: Mapped[int] = mapped_column(sa.Integer())
    transaction_id: Mapped[str | None] = mapped_column(sa.String(36), default=None)
    timestamp: Mapped[datetime] = mapped_column()
    measurand: Mapped[str] = mapped_column(sa.String(64))
    phase: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    context: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    unit: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    value: Mapped[float] = mapped_column(sa.Float())
    __table_args__ = (
        sa.Index("ix_app_ocpp_meter_values_station", "station_id", "evse_id", "timestamp"),
    )


class OcppProfile(Base):
    """The charging profile voltpool wants on one EVSE (the wire JSON of its
    ``SetChargingProfile``, or of ``ClearChargingProfile`` when the car needs none: ``action``),
    from which plan; re-sent on every boot and reconnect. ``status`` is the station's last
    answer (None: not answered yet); ``composite`` what its ``GetCompositeSchedule`` said
    after the last push (``match``, ``mismatch``, ``unavailable``), checked at
    ``composite_at``."""

    __tablename__ = "app_ocpp_profiles"

    station_id: Mapped[str] = mapped_column(sa.ForeignKey("app_stations.id"), primary_key=True)
    evse_id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(sa.String(ID_LENGTH), default=None)
    protocol: Mapped[str] = mapped_column(sa.String(16))
    request: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    updated_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    action: Mapped[str] = mapped_column(sa.String(32), default="SetChargingProfile")
    composite: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    composite_at: Mapped[datetime | None] = mapped_column(default=None)


metadata = Base.metadata
