"""A car's stored plan as the charging profile its station gets (``SetChargingProfile``).

The plan's slots (the car's view of the community's plan, :mod:`voltpool.api.plan_views`:
``power_kw`` per slot at the charger, + charging, - discharging) become one absolute
``TxDefaultProfile`` on the station's EVSE from the plan's start, one period per run of equal
power, in W:

- **OCPP 2.1**, bidirectional: ``operationMode: CentralSetpoint`` with ``setpoint`` = the
  plan's power (< 0 discharges), always with ``maxOfflineDuration`` and
  ``invalidAfterOfflineDuration: true``, so a station that loses voltpool for longer drops
  the profile by itself and stops discharging;
- **OCPP 2.1**, bidirectional, a station registered with ``operation_mode: ExternalLimits``
  (its own controller, a home energy manager say, decides within voltpool's bounds):
  ``limit`` = max(0, power) and ``dischargeLimit`` = min(0, power), so it may do less than
  the plan, never more, and never discharge where the plan charges;
- **OCPP 2.1** without a bidirectional EV, **2.0.1** and **1.6**: charge-only ``limit`` =
  max(0, power): never a discharge (``ChargingOnly`` on 2.1);
- **OCPP 2.1**, a station registered with ``dynamic_profile`` (K28 "Dynamic charging
  profiles"): one ``Dynamic`` profile with a single period holding the current slot's value
  and ``dynUpdateInterval`` = the slot; later values go as ``UpdateDynamicSchedule``
  (:func:`schedule_update`, a few dozen bytes instead of the whole plan) and answer the
  station's ``PullDynamicScheduleUpdate``. The station then knows only the present, so a
  lost link ends in ``maxOfflineDuration`` as with an absolute profile;

The profile's id is the EVSE's (one per EVSE at stack level 0), so each new plan replaces
the last one on the station; a car with no plan gets its profile cleared
(:func:`clear_profile`). Pure functions: plain dicts with the library's snake_case field
names (:mod:`voltpool.ocpp.keys` spells them for the wire).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_OFFLINE_S = 300
"""``maxOfflineDuration``: seconds a station may go without voltpool before it drops the
profile (and with it any discharge)."""
BIDIRECTIONAL = frozenset({"AC_BPT", "AC_BPT_DER", "DC_BPT", "DC_ACDP_BPT"})
"""The OCPP 2.1 energy transfer modes that can discharge."""
PERIODS_MAX = {"2.1": 1024, "2.0.1": 1024, "1.6": 96}
"""Periods a schedule may hold (2.x schemas: 1024; 1.6 stations often take few: 96)."""


@dataclass(frozen=True)
class Setpoints:
    """A car's plan from ``start``: the power per slot at the charger (kW, + charging)."""

    start: datetime
    slot_minutes: int
    power_kw: tuple[float, ...]

    @classmethod
    def from_view(cls, start: datetime, slot_minutes: int, view: dict[str, Any]) -> Setpoints:
        return cls(start, slot_minutes, tuple(float(s["power_kw"]) for s in view.get("slots", [])))


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _runs(watts: list[float], slot_s: int, limit: int) -> list[tuple[int, float]]:
    """(start second, W) of each run of equal values, at most ``limit`` runs."""
    runs: list[tuple[int, float]] = []
    for k, w in enumerate(watts):
        if not runs or runs[-1][1] != w:
            runs.append((k * slot_s, w))
    return runs[:limit]


OPERATION_MODES = ("CentralSetpoint", "ExternalLimits")
"""How a bidirectional 2.1 station is told the plan (see the module docstring)."""


def _period(start_s: int, watts: float, version: str, discharge: bool, mode: str) -> dict:
    """One ``chargingSchedulePeriod`` (snake_case) of ``watts`` from ``start_s``."""
    if discharge and mode == "ExternalLimits":
        return {
            "start_period": start_s,
            "operation_mode": "ExternalLimits",
            "limit": max(watts, 0.0),
            "discharge_limit": min(watts, 0.0),
        }
    if discharge:
        return {"start_period": start_s, "operation_mode": "CentralSetpoint", "setpoint": watts}
    if version == "2.1":
        return {"start_period": start_s, "operation_mode": "ChargingOnly", "limit": watts}
    return {"start_period": start_s, "limit": watts}


def charging_profile(
    plan: Setpoints,
    version: str,
    evse_id: int,
    *,
    bidirectional: bool,
    max_offline_s: int = MAX_OFFLINE_S,
    operation_mode: str = "CentralSetpoint",
    dynamic_at: datetime | None = None,
) -> dict[str, Any]:
    """``SetChargingProfile``'s payload (snake_case) for ``version``; a charge-only one unless
    ``version`` is 2.1 and ``bidirectional``; its discharge in ``operation_mode``.
    ``dynamic_at`` (2.1 only): a ``Dynamic`` profile holding the plan's value at that time."""
    if operation_mode not in OPERATION_MODES:
        raise ValueError(f"operation_mode: {operation_mode!r} must be one of {OPERATION_MODES}")
    slot_s = plan.slot_minutes * 60
    discharge = version == "2.1" and bidirectional
    watts = [round(p * 1000.0, 1) for p in plan.power_kw]
    if not discharge:
        watts = [max(w, 0.0) for w in watts]
    if dynamic_at is not None and version == "2.1":
        return _dynamic_profile(
            plan, watts, evse_id, dynamic_at, discharge, operation_mode, max_offline_s
        )
    if version == "1.6":  # whole watts: 1.6's limits are multiples of 0.1
        watts = [float(round(w)) for w in watts]
    runs = _runs(watts or [0.0], slot_s, PERIODS_MAX[version])
    duration = max(len(watts), 1) * slot_s
    if version == "1.6":
        return {
            "connector_id": evse_id,
            "cs_charging_profiles": {
                "charging_profile_id": evse_id,
                "stack_level": 0,
                "charging_profile_purpose": "TxDefaultProfile",
                "charging_profile_kind": "Absolute",
                "charging_schedule": {
                    "duration": duration,
                    "start_schedule": _stamp(plan.start),
                    "charging_rate_unit": "W",
                    "charging_schedule_period": [{"start_period": s, "limit": w} for s, w in runs],
                },
            },
        }
    periods = [_period(s, w, version, discharge, operation_mode) for s, w in runs]
    profile: dict[str, Any] = {
        "id": evse_id,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [
            {
                "id": evse_id,
                "start_schedule": _stamp(plan.start),
                "duration": duration,
                "charging_rate_unit": "W",
                "charging_schedule_period": periods,
            }
        ],
    }
    if version == "2.1":
        profile["max_offline_duration"] = max_offline_s
        profile["invalid_after_offline_duration"] = True
    return {"evse_id": evse_id, "charging_profile": profile}


def _dynamic_profile(
    plan: Setpoints,
    watts: list[float],
    evse_id: int,
    at: datetime,
    discharge: bool,
    mode: str,
    max_offline_s: int,
) -> dict[str, Any]:
    """The 2.1 ``Dynamic`` profile of the plan's value at ``at`` (0 W outside the plan)."""
    slot_s = plan.slot_minutes * 60
    k = int((at - plan.start).total_seconds() // slot_s)
    now_w = watts[k] if 0 <= k < len(watts) else 0.0
    profile = {
        "id": evse_id,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Dynamic",
        "charging_schedule": [
            {
                "id": evse_id,
                "charging_rate_unit": "W",
                "charging_schedule_period": [_period(0, now_w, "2.1", discharge, mode)],
            }
        ],
        "dyn_update_interval": slot_s,
        "max_offline_duration": max_offline_s,
        "invalid_after_offline_duration": True,
    }
    return {"evse_id": evse_id, "charging_profile": profile}


UPDATE_FIELDS = ("limit", "dischargeLimit", "setpoint")
"""What a period's value is made of, as ``ChargingScheduleUpdateType`` carries it."""


def schedule_update(request: dict[str, Any]) -> dict[str, Any] | None:
    """The ``scheduleUpdate`` (wire camelCase) that moves a station holding a Dynamic profile
    to the one in the wire ``SetChargingProfile`` ``request``; None if it is not Dynamic."""
    body = request.get("chargingProfile", {})
    if body.get("chargingProfileKind") != "Dynamic":
        return None
    period = body["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    return {name: period[name] for name in UPDATE_FIELDS if name in period}


def same_dynamic_profile(held: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether two wire Dynamic ``SetChargingProfile`` requests differ only in their value
    (so an ``UpdateDynamicSchedule`` turns the station's ``held`` one into ``wanted``)."""
    if schedule_update(held) is None or schedule_update(wanted) is None:
        return False

    def shape(request: dict[str, Any]) -> Any:
        body = request["chargingProfile"]
        period = body["chargingSchedule"][0]["chargingSchedulePeriod"][0]
        return (
            request["evseId"],
            {k: v for k, v in body.items() if k != "chargingSchedule"},
            {k: v for k, v in body["chargingSchedule"][0].items() if k != "chargingSchedulePeriod"},
            {k: v for k, v in period.items() if k not in UPDATE_FIELDS},
            sorted(n for n in UPDATE_FIELDS if n in period),
        )

    return shape(held) == shape(wanted)


def with_update(request: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The wire Dynamic ``request`` after the station applied ``update``."""
    period = request["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    period.update(update)
    return request


def period_power_w(period: dict[str, Any]) -> tuple[str, float]:
    """What one wire ``chargingSchedulePeriod`` says: ("setpoint", W), ("limits", W) for
    ``ExternalLimits`` (the bound in the plan's direction: ``limit`` when it charges, else
    ``dischargeLimit``) or ("limit", W)."""
    if period.get("operationMode") == "CentralSetpoint" and "setpoint" in period:
        return ("setpoint", float(period["setpoint"]))
    if period.get("operationMode") == "ExternalLimits":
        limit = float(period.get("limit", 0.0))
        return ("limits", limit if limit > 0 else float(period.get("dischargeLimit", 0.0)))
    return ("limit", float(period.get("limit", 0.0)))


def clear_profile(version: str, evse_id: int) -> dict[str, Any]:
    """``ClearChargingProfile``'s payload (snake_case) for voltpool's profile on the EVSE (its
    id is the EVSE's): the car's session ended or its plan has no part for it (OCPP 2.1 K10
    "Clear Charging Profile"; 1.6 §5.5). The station falls back to its own default."""
    if version == "1.6":
        return {"id": evse_id}
    return {"charging_profile_id": evse_id}


def power_at_w(request: dict[str, Any], at: datetime, version: str) -> tuple[str, float] | None:
    """What a wire ``SetChargingProfile`` (camelCase) says at ``at`` (:func:`period_power_w`);
    None outside its schedule. The simulator's reading of a profile."""
    if version == "1.6":
        schedule = request["csChargingProfiles"]["chargingSchedule"]
    else:
        schedule = request["chargingProfile"]["chargingSchedule"][0]
    if "startSchedule" not in schedule:  # Dynamic: its one period holds until updated
        return period_power_w(schedule["chargingSchedulePeriod"][0])
    start = datetime.fromisoformat(schedule["startSchedule"].replace("Z", "+00:00"))
    offset = (at - start).total_seconds()
    if offset < 0 or offset >= schedule.get("duration", float("inf")):
        return None
    current = None
    for period in schedule["chargingSchedulePeriod"]:
        if period["startPeriod"] <= offset:
            current = period
    if current is None:
        return None
    return period_power_w(current)


def slot_start(at: datetime, slot_minutes: int) -> datetime:
    step = timedelta(minutes=slot_minutes)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((at - epoch) // step) * step
