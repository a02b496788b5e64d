"""What the central system keeps in the service's database (tables ``app_stations``,
``app_ocpp_*`` of :mod:`voltpool.api.store.tables`): stations and their connectors,
transactions and their events, meter values, the profile wanted on each EVSE.

Sync functions on a SQLAlchemy session, run in worker threads; each caller commits.
Transaction events are booked once per (station, transaction id, seqNo): a repeat answers
as the first did and changes nothing; an event older than the last booked one (queued
offline, delivered late) adds its meter values but never moves the transaction back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from voltpool.api.security import password_matches
from voltpool.api.store.tables import (
    OcppConnector,
    OcppMeterValue,
    OcppProfile,
    OcppTransaction,
    OcppTransactionEvent,
    Station,
)

ENERGY_IMPORT = "Energy.Active.Import.Register"
ENERGY_EXPORT = "Energy.Active.Export.Register"
SOC = "SoC"
KILO = {"kWh": 1000.0, "kW": 1000.0, "Wh": 1.0, "W": 1.0}


@dataclass(frozen=True)
class StationInfo:
    """What the central system needs of a registered station."""

    id: str
    community_id: str
    home_id: str
    car_id: str | None
    booted: bool
    operation_mode: str = "CentralSetpoint"
    """``CentralSetpoint`` or ``ExternalLimits`` (:mod:`voltpool.ocpp.profiles`)."""
    dynamic_profile: bool = False
    """One Dynamic profile moved by ``UpdateDynamicSchedule`` (2.1)."""


def info(station: Station) -> StationInfo:
    return StationInfo(
        station.id,
        station.community_id,
        station.home_id,
        station.car_id,
        station.booted_at is not None,
        station.operation_mode,
        station.dynamic_profile,
    )


def authenticate(db: Session, station_id: str, password: str) -> StationInfo | None:
    """The station if ``password`` is its own (an unknown one spends the same time)."""
    station = db.get(Station, station_id)
    if not password_matches(password, None if station is None else station.password_hash):
        return None
    assert station is not None
    return info(station)


def registered(db: Session, station_id: str) -> StationInfo | None:
    """The station if it is registered (a station that proved its id by its certificate)."""
    station = db.get(Station, station_id)
    return None if station is None else info(station)


def connected(db: Session, station_id: str, protocol: str, now: datetime) -> None:
    station = db.get(Station, station_id)
    if station is not None:
        station.protocol = protocol
        station.last_seen = now


def booted(db: Session, station_id: str, now: datetime, **said: str | None) -> None:
    station = db.get(Station, station_id)
    if station is None:
        return
    for name in ("vendor", "model", "firmware"):
        value = said.get(name)
        setattr(station, name, None if value is None else str(value)[:64])
    station.booted_at = now
    station.last_seen = now


def seen(db: Session, station_id: str, now: datetime) -> None:
    db.execute(sa.update(Station).where(Station.id == station_id).values(last_seen=now))


def connector_status(
    db: Session, station_id: str, evse_id: int, connector_id: int, status: str, now: datetime
) -> None:
    row = db.get(OcppConnector, (station_id, evse_id, connector_id))
    if row is None:
        db.add(
            OcppConnector(
                station_id=station_id,
                evse_id=evse_id,
                connector_id=connector_id,
                status=status,
                updated_at=now,
            )
        )
    elif row.updated_at <= now:
        row.status, row.updated_at = status, now


def parse_time(value: str) -> datetime:
    """An OCPP time (RFC 3339, ``Z`` or an offset) as an aware datetime."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return at


def sampled_values(meter_value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat readings of snake_case ``meter_value`` items (2.x: numbers; 1.6: strings)."""
    rows = []
    for item in meter_value:
        at = parse_time(item["timestamp"])
        for sample in item.get("sampled_value", []):
            unit = sample.get("unit")
            if unit is None and isinstance(sample.get("unit_of_measure"), dict):
                unit = sample["unit_of_measure"].get("unit")
            rows.append(
                {
                    "timestamp": at,
                    "measurand": sample.get("measurand") or ENERGY_IMPORT,
                    "phase": sample.get("phase"),
                    "context": sample.get("context"),
                    "unit": unit,
                    "value": float(sample["value"]),
                }
            )
    return rows


def add_meter_values(
    db: Session,
    station_id: str,
    evse_id: int,
    transaction: OcppTransaction | None,
    readings: list[dict[str, Any]],
) -> float | None:
    """Keep ``readings``; move the transaction's registers forward; the newest SoC (0..1)."""
    soc = None
    newest = None
    for reading in readings:
        db.add(
            OcppMeterValue(
                station_id=station_id,
                evse_id=evse_id,
                transaction_id=None if transaction is None else transaction.transaction_id,
                **reading,
            )
        )
        scale = KILO.get(reading["unit"] or "Wh", 1.0)
        measurand, phase = reading["measurand"], reading["phase"]
        if transaction is not None and phase is None and measurand == ENERGY_IMPORT:
            transaction.import_wh = max(transaction.import_wh or 0.0, reading["value"] * scale)
        if transaction is not None and phase is None and measurand == ENERGY_EXPORT:
            transaction.export_wh = max(transaction.export_wh or 0.0, reading["value"] * scale)
        if measurand == SOC and (newest is None or reading["timestamp"] >= newest):
            soc, newest = reading["value"] / 100.0, reading["timestamp"]
    return soc


def transaction(db: Session, station_id: str, transaction_id: str) -> OcppTransaction | None:
    return db.scalar(
        sa.select(OcppTransaction).where(
            OcppTransaction.station_id == station_id,
            OcppTransaction.transaction_id == transaction_id,
        )
    )


def book_event(
    db: Session,
    station_id: str,
    transaction_id: str,
    seq_no: int,
    event: dict[str, Any],
    now: datetime,
) -> bool:
    """Book one TransactionEvent's identity; False when it was booked already (a repeat)."""
    if db.get(OcppTransactionEvent, (station_id, transaction_id, seq_no)) is not None:
        return False
    db.add(
        OcppTransactionEvent(
            station_id=station_id,
            transaction_id=transaction_id,
            seq_no=seq_no,
            event_type=event["event_type"],
            trigger_reason=event["trigger_reason"],
            timestamp=parse_time(event["timestamp"]),
            offline=bool(event.get("offline", False)),
            received_at=now,
        )
    )
    db.flush()
    return True


def open_transaction(
    db: Session,
    station_id: str,
    transaction_id: str | None,
    evse_id: int,
    connector_id: int | None,
    started_at: datetime,
    **values: Any,
) -> OcppTransaction:
    """The transaction (made if new; 1.6: ``transaction_id`` None, its row id is its id)."""
    row = None if transaction_id is None else transaction(db, station_id, transaction_id)
    if row is not None:
        return row
    row = OcppTransaction(
        station_id=station_id,
        transaction_id=transaction_id or "pending",
        evse_id=evse_id,
        connector_id=connector_id,
        started_at=started_at,
        **values,
    )
    db.add(row)
    db.flush()
    if transaction_id is None:
        row.transaction_id = str(row.id)
    return row


def desired_profile(db: Session, station_id: str, evse_id: int) -> OcppProfile | None:
    return db.get(OcppProfile, (station_id, evse_id))


def want_profile(
    db: Session,
    station_id: str,
    evse_id: int,
    protocol: str,
    action: str,
    request: dict[str, Any],
    plan_id: str | None,
    now: datetime,
) -> tuple[OcppProfile, bool]:
    """Store the command wanted on the EVSE (``SetChargingProfile`` or
    ``ClearChargingProfile`` and its wire payload); whether it differs from the one stored."""
    row = db.get(OcppProfile, (station_id, evse_id))
    if row is None:
        row = OcppProfile(
            station_id=station_id,
            evse_id=evse_id,
            protocol=protocol,
            action=action,
            request=request,
            plan_id=plan_id,
            updated_at=now,
        )
        db.add(row)
        return row, True
    changed = row.request != request or row.protocol != protocol or row.action != action
    if changed:
        row.request, row.protocol, row.action = request, protocol, action
        row.status = row.sent_at = row.composite = row.composite_at = None
    row.plan_id, row.updated_at = plan_id, now
    return row, changed


def profile_answered(
    db: Session,
    station_id: str,
    evse_id: int,
    request: dict[str, Any],
    status: str,
    now: datetime,
) -> None:
    row = db.get(OcppProfile, (station_id, evse_id))
    if row is not None and row.request == request:
        row.status, row.sent_at = status[:16], now


def composite_checked(
    db: Session,
    station_id: str,
    evse_id: int,
    request: dict[str, Any],
    verdict: str,
    now: datetime,
) -> None:
    """What the station's composite schedule said of the profile ``request`` (``match``,
    ``mismatch``, ``unavailable``)."""
    row = db.get(OcppProfile, (station_id, evse_id))
    if row is not None and row.request == request:
        row.composite, row.composite_at = verdict, now


def v2g_told(db: Session, station_id: str, transaction_id: str, allowed: bool) -> None:
    tx = transaction(db, station_id, transaction_id)
    if tx is not None:
        tx.v2g_allowed = allowed


def repeated_start(db: Session, station_id: str, connector_id: int, at: datetime) -> str | None:
    """The id of a 1.6 transaction started on ``connector_id`` at ``at`` already (a
    StartTransaction the station sent again after losing our answer)."""
    return db.scalar(
        sa.select(OcppTransaction.transaction_id).where(
            OcppTransaction.station_id == station_id,
            OcppTransaction.connector_id == connector_id,
            OcppTransaction.started_at == at,
        )
    )


def open_transactions(db: Session, station_id: str) -> list[OcppTransaction]:
    """The station's transactions that have not ended, oldest first."""
    return list(
        db.scalars(
            sa.select(OcppTransaction)
            .where(OcppTransaction.station_id == station_id, OcppTransaction.ended_at.is_(None))
            .order_by(OcppTransaction.id)
        )
    )


def open_transaction_on(db: Session, station_id: str, evse_id: int) -> OcppTransaction | None:
    """The newest transaction on the EVSE that has not ended."""
    found = [tx for tx in open_transactions(db, station_id) if tx.evse_id == evse_id]
    return found[-1] if found else None


def ev_announced(db: Session, station_id: str, evse_id: int, bidirectional: bool) -> None:
    """Keep whether the EV on the EVSE announced a bidirectional mode (on its open
    transaction), so a central system that restarts still discharges it."""
    tx = open_transaction_on(db, station_id, evse_id)
    if tx is not None:
        tx.ev_bidirectional = bidirectional
