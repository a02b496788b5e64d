"""A car's stored plan as the charging profile its station gets (``SetChargingProfile``).

The plan's slots (the car's view of the community's plan, :mod:`voltpool.api.plan_views`:
``power_kw`` per slot at the charger, + charging, - discharging) become one absolute
``TxDefaultProfile`` on the station's EVSE from the plan's start, one period per run of equal
power, in W:

- **OCPP 2.1**, bidirectional: ``operationMode: CentralSetpoint`` with ``setpoint`` = the
  plan's power (< 0 discharges), always with ``maxOfflineDuration`` and
  ``invalidAfterOfflineDuration: true``, so a station that loses voltpool for longer drops
  the profile by itself and stops discharging;
- **OCPP 2.1** without a bidirectional EV, **2.0.1** and **1.6**: charge-only ``limit`` =
  max(0, power): never a discharge (``ChargingOnly`` on 2.1);

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


def charging_profile(
    plan: Setpoints,
    version: str,
    evse_id: int,
    *,
    bidirectional: bool,
    max_offline_s: int = MAX_OFFLINE_S,
) -> dict[str, Any]:
    """``SetChargingProfile``'s payload (snake_case) for ``version``; a charge-only one unless
    ``version`` is 2.1 and ``bidirectional``."""
    slot_s = plan.slot_minutes * 60
    discharge = version == "2.1" and bidirectional
    watts = [round(p * 1000.0, 1) for p in plan.power_kw]
    if not discharge:
        watts = [max(w, 0.0) for w in watts]
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
    if discharge:
        periods = [
            {"start_period": s, "operation_mode": "CentralSetpoint", "setpoint": w} for s, w in runs
        ]
    elif version == "2.1":
        periods = [
            {"start_period": s, "operation_mode": "ChargingOnly", "limit": w} for s, w in runs
        ]
    else:
        periods = [{"start_period": s, "limit": w} for s, w in runs]
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


def clear_profile(version: str, evse_id: int) -> dict[str, Any]:
    """``ClearChargingProfile``'s payload (snake_case) for voltpool's profile on the EVSE (its
    id is the EVSE's): the car's session ended or its plan has no part for it (OCPP 2.1 K10
    "Clear Charging Profile"; 1.6 §5.5). The station falls back to its own default."""
    if version == "1.6":
        return {"id": evse_id}
    return {"charging_profile_id": evse_id}


def power_at_w(request: dict[str, Any], at: datetime, version: str) -> tuple[str, float] | None:
    """What a wire ``SetChargingProfile`` (camelCase) says at ``at``: ("setpoint", W) or
    ("limit", W); None outside its schedule. The simulator's reading of a profile."""
    if version == "1.6":
        schedule = request["csChargingProfiles"]["chargingSchedule"]
    else:
        schedule = request["chargingProfile"]["chargingSchedule"][0]
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
    if current.get("operationMode") == "CentralSetpoint" and "setpoint" in current:
        return ("setpoint", float(current["setpoint"]))
    return ("limit", float(current.get("limit", 0.0)))


def slot_start(at: datetime, slot_minutes: int) -> datetime:
    step = timedelta(minutes=slot_minutes)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((at - epoch) // step) * step
