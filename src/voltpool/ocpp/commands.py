"""What the central system sends a station to make it follow its car's plan, each time a plan
is stored (or the station boots or reconnects):

1. **NotifyAllowedEnergyTransfer** (OCPP 2.1 Part 2, K "Smart charging", for ISO 15118-20
   bidirectional sessions; 2.1 only, during a transaction whose EV announced a bidirectional
   mode): when the owner's consent to V2G changed mid-session (:func:`v2g_consent`: the car's own
   ``max_discharge_kw`` > 0 and no "not today" switch, ``rules.no_discharge_until``, in
   force), the modes the EV may use: every mode, or the charge-only ones;
2. the EVSE's wanted **SetChargingProfile** (:mod:`voltpool.ocpp.profiles`; K01 "Set charging
   profile") from the newest applied plan, or **ClearChargingProfile** (K10) when the car
   has no open session (also under a plan solved before it left) or the plan has no part
   for it (not planned yet, the station serves no car);
   stored per EVSE and sent when it changed, or always after a boot or a reconnect;
3. after a profile was accepted, **GetCompositeSchedule** (K08 "Get composite schedule"; 2.x)
   for the next slot: what the station will really do, compared with the profile at the
   schedule's start (``setpoint`` or ``limit``, within :data:`TOLERANCE_W`) and recorded on
   the EVSE (``match``, ``mismatch``, logged, or ``unavailable``).

The pushes' database work goes through the central system's write batch
(:mod:`voltpool.ocpp.batch`): the pushes a fleet-wide re-plan starts share transactions.
Each call is one outstanding call of :meth:`voltpool.ocpp.peer.Peer.request`: a timeout per
try, bounded tries, a ``RateLimitExceeded`` CallError waited out and retried; a profile
answered ``Rejected`` with ``reasonCode`` ``RateLimitExceeded`` raises the same error, and
the central system sends again later whatever is still rate-limited after the last try.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from ocpp.exceptions import OCPPError
from sqlalchemy.orm import Session

from voltpool.api.store.tables import Car, CarPlan, Plan
from voltpool.ocpp import carsessions, records
from voltpool.ocpp.keys import schema_name, to_camel, to_snake
from voltpool.ocpp.peer import RateLimitExceededError
from voltpool.ocpp.profiles import (
    Setpoints,
    charging_profile,
    clear_profile,
    period_power_w,
    power_at_w,
    same_dynamic_profile,
    schedule_update,
)

if TYPE_CHECKING:
    from voltpool.ocpp.csms import CentralSystem, Connection
    from voltpool.ocpp.handlers import StationLink

log = logging.getLogger("voltpool.ocpp")
SET = "SetChargingProfile"
CLEAR = "ClearChargingProfile"
TOLERANCE_W = 1.0
"""How far the station's composite schedule may be from the profile (W) and still match."""
ALL_MODES = (
    "AC_single_phase",
    "AC_two_phase",
    "AC_three_phase",
    "DC",
    "AC_BPT",
    "AC_BPT_DER",
    "AC_DER",
    "DC_BPT",
    "DC_ACDP",
    "DC_ACDP_BPT",
    "WPT",
)
"""OCPP 2.1's ``EnergyTransferModeEnumType``: what an owner who consents to V2G allows."""
CHARGE_ONLY_MODES = ("AC_single_phase", "AC_two_phase", "AC_three_phase", "DC", "WPT")
"""The modes that never discharge: what an owner who withdrew consent allows."""


@dataclass(frozen=True)
class Wanted:
    """What the EVSE should be sent now."""

    action: str
    """``SetChargingProfile`` or ``ClearChargingProfile``."""
    request: dict[str, Any]
    """The wire (camelCase) payload."""
    changed: bool
    """It differs from what was stored (or the station never accepted it)."""
    allowed: tuple[str, bool] | None
    """(transaction id, the owner's consent) to notify first; None: nothing to tell."""
    update: dict[str, Any] | None = None
    """The ``scheduleUpdate`` (wire) that turns the Dynamic profile the station holds into
    ``request``: sent as ``UpdateDynamicSchedule`` instead of the whole profile."""


def v2g_consent(car: Car, now: datetime) -> bool:
    """Whether the owner lets the car discharge now: its own discharge limit is above 0 and
    the "not today" switch (``rules.no_discharge_until``) is not in force."""
    until = (car.rules or {}).get("no_discharge_until")
    switched_off = until is not None and records.parse_time(until) > now
    return car.max_discharge_kw > 0 and not switched_off


def car_setpoints(
    db: Session, station: records.StationInfo, slot_minutes: int
) -> tuple[str | None, Setpoints | None]:
    """The newest applied plan of the station's community and its car's part (None: the car
    is not in it, not plugged in, or the station serves no car)."""
    if station.car_id is None:
        return None, None
    newest = db.info.setdefault("voltpool.newest_plans", {})  # once a session (a transaction)
    if station.community_id not in newest:
        newest[station.community_id] = db.execute(
            sa.select(Plan.id, Plan.start)
            .where(Plan.community_id == station.community_id, Plan.applied.is_(True))
            .order_by(Plan.created_at.desc(), Plan.id.desc())
            .limit(1)
        ).first()
    plan = newest[station.community_id]
    if plan is None:
        return None, None
    view = db.get(CarPlan, (plan.id, station.car_id))
    if view is None:
        return plan.id, None
    return plan.id, Setpoints.from_view(plan.start, slot_minutes, view.view)


def wanted(
    db: Session,
    csms: CentralSystem,
    station: records.StationInfo,
    version: str,
    evse_id: int,
    ev_bidirectional: bool,
) -> Wanted:
    """What the EVSE should be sent now (see the module docstring), stored as its wanted
    command."""
    now = csms.state.settings.clock.now()
    car = None if station.car_id is None else db.get(Car, station.car_id)
    consent = car is not None and v2g_consent(car, now)
    allowed = None
    tx = records.open_transaction_on(db, station.id, evse_id)
    if version == "2.1" and tx is not None and tx.ev_bidirectional:
        told = tx.v2g_allowed
        if told != consent and not (told is None and consent):
            allowed = (tx.transaction_id, consent)
    plan_id, plan = car_setpoints(db, station, csms.state.settings.slot_minutes)
    if plan is None or carsessions.open_session_id(db, car.id if car else "") is None:
        action, snake = CLEAR, clear_profile(version, evse_id)
    else:
        action = SET
        snake = charging_profile(
            plan,
            version,
            evse_id,
            bidirectional=ev_bidirectional and consent,
            max_offline_s=csms.options.max_offline_s,
            operation_mode=station.operation_mode,
            dynamic_at=now if station.dynamic_profile else None,
        )
    request = to_camel(snake, version, schema_name(version, action, False))
    held = records.desired_profile(db, station.id, evse_id)
    update = None
    if (
        held is not None
        and held.action == SET == action
        and held.status == "Accepted"
        and same_dynamic_profile(held.request, request)
    ):
        update = schedule_update(request)
    row, changed = records.want_profile(
        db, station.id, evse_id, version, action, request, plan_id, now
    )
    return Wanted(action, request, changed or not done(action, row.status), allowed, update)


def _rate_limited(answer: Any) -> bool:
    """A ``Rejected`` answer whose ``statusInfo.reasonCode`` is ``RateLimitExceeded`` (the
    code is case-insensitive)."""
    info = getattr(answer, "status_info", None) or {}
    return answer.status == "Rejected" and str(info.get("reason_code", "")).lower() == (
        "ratelimitexceeded"
    )


def done(action: str, status: str | None) -> bool:
    """Whether the station's answer means it holds what it was sent (a clear of a profile it
    did not have, ``Unknown``, leaves it without one too)."""
    return status == "Accepted" or (action == CLEAR and status == "Unknown")


async def push(csms: CentralSystem, here: Connection, force: bool = False) -> str | None:
    """Send the station what it should have now (see the module docstring); the station's
    answer to the profile command (None: nothing sent)."""
    link = here.link
    found = await csms.writes.run(
        wanted,
        csms,
        link.info,
        link.version,
        link.evse_id,
        link.bidirectional.get(link.evse_id, False),
    )
    if found.allowed is not None:
        await _notify_allowed(link, *found.allowed)
    if not (found.changed or force):
        return None
    if found.update is not None and not force:
        return await _update_dynamic(csms, link, found)
    payload = getattr(link._call, found.action)(**to_snake(found.request))  # type: ignore[attr-defined]
    answer = await link.request(payload, tries=csms.options.call_tries)
    if _rate_limited(answer):  # the same refusal as a status: waited out like the CallError
        raise RateLimitExceededError(details={"cause": f"{found.action} Rejected"})
    here.pushes += 1
    now = csms.state.settings.clock.now()
    await csms.writes.run(
        records.profile_answered, link.id, link.evse_id, found.request, answer.status, now
    )
    if not done(found.action, answer.status):
        log.warning("%s refused %s: %s", link.id, found.action, answer)
    elif found.action == SET and link.version != "1.6":
        verdict = await composite_check(link, found.request, csms.state.settings.slot_minutes)
        await csms.writes.run(
            records.composite_checked, link.id, link.evse_id, found.request, verdict, now
        )
    return answer.status


async def _update_dynamic(csms: CentralSystem, link: StationLink, found: Wanted) -> str:
    """Move the station's Dynamic profile to ``found.request`` with ``UpdateDynamicSchedule``
    (K28); refused, the whole profile is sent at the next push (it is not held then)."""
    assert found.update is not None
    payload = link._call.UpdateDynamicSchedule(  # type: ignore[attr-defined]
        charging_profile_id=link.evse_id, schedule_update=to_snake(found.update)
    )
    answer = await link.request(payload, tries=csms.options.call_tries)
    now = csms.state.settings.clock.now()
    await csms.writes.run(
        records.profile_answered, link.id, link.evse_id, found.request, answer.status, now
    )
    if answer.status != "Accepted":
        log.warning("%s refused UpdateDynamicSchedule: %s", link.id, answer)
    return str(answer.status)


async def _notify_allowed(link: StationLink, transaction_id: str, consent: bool) -> None:
    modes = ALL_MODES if consent else CHARGE_ONLY_MODES
    payload = link._call.NotifyAllowedEnergyTransfer(  # type: ignore[attr-defined]
        transaction_id=transaction_id, allowed_energy_transfer=list(modes)
    )
    answer = await link.request(payload)
    if answer.status == "Accepted":
        await link.db(records.v2g_told, link.id, transaction_id, consent)
    else:
        log.warning("%s refused NotifyAllowedEnergyTransfer: %s", link.id, answer)


async def composite_check(link: StationLink, request: dict[str, Any], slot_minutes: int) -> str:
    """Ask the station what it will do on the EVSE in the next slot and compare it with the
    profile ``request`` at the schedule's start: ``match``, ``mismatch`` (logged) or
    ``unavailable`` (refused, an error, no answer)."""
    payload = link._call.GetCompositeSchedule(  # type: ignore[attr-defined]
        duration=slot_minutes * 60, evse_id=link.evse_id, charging_rate_unit="W"
    )
    try:
        answer = await link.request(payload, tries=1)
    except (OCPPError, TimeoutError) as error:
        log.info("%s: no composite schedule (%s)", link.id, error)
        return "unavailable"
    schedule = answer.schedule
    if answer.status != "Accepted" or not schedule:
        return "unavailable"
    start = records.parse_time(schedule["schedule_start"])
    expected = power_at_w(request, start, link.version)
    period = schedule["charging_schedule_period"][0]
    wire = ("operationMode", "setpoint", "limit", "dischargeLimit")
    snake = ("operation_mode", "setpoint", "limit", "discharge_limit")
    first = {w: period[n] for w, n in zip(wire, snake, strict=True) if period.get(n) is not None}
    if expected is None or first.keys() <= {"operationMode"}:
        return "unavailable"
    said = period_power_w(first)[1]
    if abs(said - expected[1]) <= TOLERANCE_W:
        return "match"
    log.warning(
        "%s: the station will do %s W where its profile says %s W (%s)",
        link.id,
        said,
        expected[1],
        expected[0],
    )
    return "mismatch"
