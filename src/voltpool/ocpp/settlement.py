"""A station's ended transaction booked in the credit ledger: the energy its meter says the car
imported and exported, in whole Wh, and the V2G credits the export earned, exactly once.

What the meter says (OCPP 2.1 Part 2, J "Meter values", use case J02 "Sending transaction
related meter values"): the transaction's readings of
``Energy.Active.Import.Register`` and ``Energy.Active.Export.Register`` (no phase), from its
TransactionEvents (2.x, E01-E15) or Start/StopTransaction and MeterValues (1.6). A register
only grows, so what the transaction moved is its highest reading minus its lowest, read by the
project's one meter rule (:func:`voltpool.credits.kwh_to_wh`: whole Wh, rounded down).

The credits follow :class:`voltpool.credits.CreditPolicy`, as a simulated V2G session's do
(:mod:`voltpool.settlement.sessions`): each reading's exported Wh since the one before earns
the rate of its local hour (the peak multiplier) or of a capacity event of the community then
(the event multiplier); energy given while the home was cut off (an outage event: V2H for the
car's own home) earns nothing. The community fee is taken from what was earned.

One linked batch (all or nothing), ids derived from the station and the transaction, so a
re-sent ``Ended`` event, a reconnect or a restart that books again answers "exists" and writes
nothing:

- ``<community>.grid-energy`` -> ``<owner>.energy-imported``: Wh the car took (code ``charge``);
- ``<community>.grid-energy`` -> ``<owner>.energy-exported``: Wh it gave back (code ``v2g``);
- ``<community>.pool`` -> ``<owner>.credits`` (the owner's wallet): the credits earned;
- ``<owner>.credits`` -> ``<community>.fees``: the community fee.

The transaction row then records what was booked (``settled_*``). A transaction whose station
serves no car is marked settled with nothing booked (there is no one to credit).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voltpool.api.store.tables import (
    Car,
    Community,
    GridEvent,
    OcppMeterValue,
    OcppTransaction,
    Station,
)
from voltpool.credits import CreditPolicy, kwh_to_wh
from voltpool.ledger import Ledger
from voltpool.ocpp.records import ENERGY_EXPORT, ENERGY_IMPORT, KILO, StationInfo, info
from voltpool.settlement.accounts import (
    credit_account,
    exported_account,
    fees_account,
    grid_account,
    imported_account,
    pool_account,
)

log = logging.getLogger("voltpool.ocpp")
POLICY = CreditPolicy()
"""How metered V2G energy earns credits (the project's default policy)."""


@dataclass(frozen=True)
class Metered:
    """What one transaction moved: Wh imported and exported, milli-credits earned, the fee."""

    import_wh: int
    export_wh: int
    millicredits: int
    fee_millicredits: int


def session_key(station_id: str, transaction_id: str) -> str:
    """The ledger session (and the prefix of its transfer ids) of one transaction."""
    digest = hashlib.sha256(f"{station_id}/{transaction_id}".encode()).hexdigest()[:32]
    return f"ocpp-{digest}"


def _register_wh(db: Session, tx: OcppTransaction, measurand: str) -> list[tuple[datetime, int]]:
    """(time, whole Wh since the transaction's lowest reading) per reading, in time order,
    never going down (a late, lower reading does not take energy back)."""
    rows = db.execute(
        sa.select(OcppMeterValue.timestamp, OcppMeterValue.value, OcppMeterValue.unit)
        .where(
            OcppMeterValue.station_id == tx.station_id,
            OcppMeterValue.transaction_id == tx.transaction_id,
            OcppMeterValue.measurand == measurand,
            OcppMeterValue.phase.is_(None),
        )
        .order_by(OcppMeterValue.timestamp, OcppMeterValue.id)
    ).all()
    if not rows:
        return []
    values_wh = [value * KILO.get(unit or "Wh", 1.0) for _, value, unit in rows]
    lowest = min(values_wh)
    cumulative, readings = 0, []
    for (at, _, _), value_wh in zip(rows, values_wh, strict=True):
        cumulative = max(cumulative, kwh_to_wh((value_wh - lowest) / 1000.0, measurand))
        readings.append((at, cumulative))
    return readings


def metered(db: Session, tx: OcppTransaction, community: Community, home_id: str) -> Metered:
    """What ``tx`` moved by its meter, and what its export earned (see the module docstring)."""
    imported = _register_wh(db, tx, ENERGY_IMPORT)
    exported = _register_wh(db, tx, ENERGY_EXPORT)
    events = db.execute(
        sa.select(GridEvent.kind, GridEvent.start, GridEvent.end, GridEvent.home_ids).where(
            GridEvent.community_id == community.id, GridEvent.kind.in_(("capacity", "outage"))
        )
    ).all()
    zone = ZoneInfo(community.timezone)
    earned, before = 0, 0
    for at, cumulative in exported:
        given_wh, before = cumulative - before, cumulative
        if given_wh == 0:
            continue
        during = [e for e in events if e.start <= at < e.end]
        if any(
            e.kind == "outage" and (e.home_ids is None or home_id in e.home_ids) for e in during
        ):
            continue  # V2H in an outage powers the car's own home: no pool credits
        capacity = any(e.kind == "capacity" for e in during)
        earned += POLICY.v2g_millicredits(given_wh, at.astimezone(zone).hour, capacity)
    return Metered(
        import_wh=imported[-1][1] if imported else 0,
        export_wh=exported[-1][1] if exported else 0,
        millicredits=earned,
        fee_millicredits=POLICY.fee_millicredits(earned),
    )


def _legs(key: str, community_id: str, owner_id: str, amounts: Metered) -> list[dict[str, Any]]:
    wallet = credit_account(owner_id)
    legs = [
        (
            amounts.import_wh,
            "in",
            grid_account(community_id),
            imported_account(owner_id),
            "energy",
            "charge",
        ),
        (
            amounts.export_wh,
            "out",
            grid_account(community_id),
            exported_account(owner_id),
            "energy",
            "v2g",
        ),
        (amounts.millicredits, "credits", pool_account(community_id), wallet, "credit", "v2g"),
        (amounts.fee_millicredits, "fee", wallet, fees_account(community_id), "credit", "fee"),
    ]
    return [
        dict(
            transfer_id=f"{key}.{leg}",
            debit_account=debit,
            credit_account=credit,
            amount=amount,
            unit=unit,
            code=code,
            session=key,
        )
        for amount, leg, debit, credit, unit, code in legs
        if amount > 0
    ]


def _open_accounts(ledger: Ledger, community_id: str, owner_id: str) -> None:
    ledger.create_account(
        grid_account(community_id), owner=community_id, kind="grid", unit="energy"
    )
    ledger.create_account(
        pool_account(community_id), owner=community_id, kind="pool", unit="credit"
    )
    ledger.create_account(
        fees_account(community_id), owner=community_id, kind="fees", unit="credit"
    )
    ledger.create_account(credit_account(owner_id), owner=owner_id, kind="owner", unit="credit")
    for account in (imported_account(owner_id), exported_account(owner_id)):
        ledger.create_account(account, owner=owner_id, kind="owner", unit="energy")


@dataclass(frozen=True)
class Booking:
    """One ended transaction's settlement, read before the ledger is written."""

    station_id: str
    transaction_id: str
    community_id: str
    owner_id: str | None
    """None: the station serves no car (nothing is booked)."""
    amounts: Metered


def booking(db: Session, station: StationInfo, transaction_id: str) -> Booking | None:
    """What settling the transaction books (None: it has not ended, or it is settled)."""
    tx = db.scalar(
        sa.select(OcppTransaction).where(
            OcppTransaction.station_id == station.id,
            OcppTransaction.transaction_id == transaction_id,
        )
    )
    if tx is None or tx.ended_at is None or tx.settled_at is not None:
        return None
    community = db.get(Community, station.community_id)
    assert community is not None
    car = None if station.car_id is None else db.get(Car, station.car_id)
    amounts = metered(db, tx, community, station.home_id)
    if car is None:
        amounts = Metered(amounts.import_wh, amounts.export_wh, 0, 0)
    owner = None if car is None else car.owner_id
    return Booking(station.id, transaction_id, community.id, owner, amounts)


def book(ledger: Ledger, found: Booking) -> None:
    """Write the booking's linked batch (a retry answers "exists" and writes nothing)."""
    if found.owner_id is None:
        return
    _open_accounts(ledger, found.community_id, found.owner_id)
    key = session_key(found.station_id, found.transaction_id)
    legs = _legs(key, found.community_id, found.owner_id, found.amounts)
    if legs:
        ledger.transfer_batch(legs)


def mark_settled(db: Session, found: Booking, now: datetime) -> None:
    tx = db.scalar(
        sa.select(OcppTransaction).where(
            OcppTransaction.station_id == found.station_id,
            OcppTransaction.transaction_id == found.transaction_id,
        )
    )
    assert tx is not None
    amounts = found.amounts
    tx.settled_at = now
    tx.settled_import_wh, tx.settled_export_wh = amounts.import_wh, amounts.export_wh
    tx.settled_millicredits = amounts.millicredits


def settle(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    station: StationInfo,
    transaction_id: str,
    now: datetime,
) -> Booking | None:
    """Settle one ended transaction of ``station`` (see the module docstring): read, book,
    record, each in its own transaction (the ledger's needs the write lock the application's
    would hold). What was booked (None: not ended, or settled before)."""
    with sessions() as db:
        found = booking(db, station, transaction_id)
        db.commit()
    if found is None:
        return None
    book(ledger, found)
    with sessions() as db:
        mark_settled(db, found, now)
        db.commit()
    amounts = found.amounts
    log.info(
        "%s: transaction %s settled: %d Wh in, %d Wh out, %d milli-credits",
        station.id,
        transaction_id,
        amounts.import_wh,
        amounts.export_wh,
        amounts.millicredits,
    )
    return found


def settle_unsettled(sessions: sessionmaker[Session], ledger: Ledger, now: datetime) -> int:
    """Settle every ended transaction not booked yet (a central system stopped between the
    end and the booking books it when it starts again); how many."""
    with sessions() as db:
        rows = db.execute(
            sa.select(Station)
            .join(OcppTransaction, OcppTransaction.station_id == Station.id)
            .where(OcppTransaction.ended_at.is_not(None), OcppTransaction.settled_at.is_(None))
            .add_columns(OcppTransaction.transaction_id)
        ).all()
        due = [(info(station), transaction_id) for station, transaction_id in rows]
        db.commit()
    return sum(settle(sessions, ledger, station, tx_id, now) is not None for station, tx_id in due)
