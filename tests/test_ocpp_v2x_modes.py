"""OCPP 2.1's other ways to drive a discharge, against the simulated station: ``ExternalLimits``
(the station's own controller within voltpool's ``limit`` and ``dischargeLimit``) and a
``Dynamic`` profile moved by ``UpdateDynamicSchedule`` and pulled with
``PullDynamicScheduleUpdate`` (K28), every frame checked against the library's 2.1 schemas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ocpp_helpers import BIDIRECTIONAL_CAR as CAR
from ocpp_helpers import BIDIRECTIONAL_EV as EV
from ocpp_helpers import calls, ocpp_site, run_station, schema_errors, wait_until
from voltpool.api.store.tables import OcppProfile
from voltpool.ocpp.keys import schema_name, to_camel
from voltpool.ocpp.profiles import (
    Setpoints,
    charging_profile,
    power_at_w,
    same_dynamic_profile,
    schedule_update,
)

START = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
PLAN = Setpoints(START, 15, (3.0, -2.5, -2.5, 0.0))


def wire(snake: dict[str, Any], action: str = "SetChargingProfile") -> dict[str, Any]:
    return to_camel(snake, "2.1", schema_name("2.1", action, False))


def periods(request: dict[str, Any]) -> list[dict[str, Any]]:
    return request["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"]


def test_external_limits_bound_each_slot_in_the_plans_direction_only() -> None:
    request = wire(
        charging_profile(PLAN, "2.1", 1, bidirectional=True, operation_mode="ExternalLimits")
    )
    assert schema_errors("2.1", "SetChargingProfileRequest", request) == []
    assert [(p["limit"], p["dischargeLimit"]) for p in periods(request)] == [
        (3000.0, 0.0),  # charging: may charge up to the plan, never discharge
        (0.0, -2500.0),  # discharging: may give up to the plan, never charge
        (0.0, 0.0),
    ]
    assert {p["operationMode"] for p in periods(request)} == {"ExternalLimits"}
    at = START + timedelta(minutes=20)
    assert power_at_w(request, at, "2.1") == ("limits", -2500.0)
    # not bidirectional: charge-only limits whatever the mode
    charge_only = wire(
        charging_profile(PLAN, "2.1", 1, bidirectional=False, operation_mode="ExternalLimits")
    )
    assert all(p["operationMode"] == "ChargingOnly" for p in periods(charge_only))
    with pytest.raises(ValueError, match="operation_mode"):
        charging_profile(PLAN, "2.1", 1, bidirectional=True, operation_mode="Setpoint")


@pytest.mark.parametrize("mode", ["CentralSetpoint", "ExternalLimits"])
def test_a_dynamic_profile_holds_the_current_slot_and_moves_by_updates(mode: str) -> None:
    def dynamic(at: datetime) -> dict[str, Any]:
        snake = charging_profile(
            PLAN, "2.1", 1, bidirectional=True, operation_mode=mode, dynamic_at=at
        )
        return wire(snake)

    first, second = dynamic(START + timedelta(minutes=5)), dynamic(START + timedelta(minutes=16))
    for request in (first, second):
        assert schema_errors("2.1", "SetChargingProfileRequest", request) == []
        body = request["chargingProfile"]
        assert body["chargingProfileKind"] == "Dynamic"
        assert body["dynUpdateInterval"] == 900
        assert body["invalidAfterOfflineDuration"] is True and body["maxOfflineDuration"] > 0
        assert len(periods(request)) == 1 and "startSchedule" not in body["chargingSchedule"][0]
    assert power_at_w(first, START, "2.1")[1] == 3000.0
    assert power_at_w(second, START, "2.1")[1] == -2500.0
    assert same_dynamic_profile(first, second)
    update = schedule_update(second)
    assert update is not None
    message = {"chargingProfileId": 1, "scheduleUpdate": update}
    assert schema_errors("2.1", "UpdateDynamicScheduleRequest", message) == []
    other_mode = "ExternalLimits" if mode == "CentralSetpoint" else "CentralSetpoint"
    changed = wire(
        charging_profile(
            PLAN, "2.1", 1, bidirectional=True, operation_mode=other_mode, dynamic_at=START
        )
    )
    assert not same_dynamic_profile(first, changed)  # another mode: the whole profile again
    absolute = wire(charging_profile(PLAN, "2.1", 1, bidirectional=True))
    assert schedule_update(absolute) is None and not same_dynamic_profile(absolute, absolute)


def test_a_station_on_external_limits_discharges_within_them(tmp_path: Path) -> None:
    with ocpp_site(tmp_path) as site:
        home, car = site.car(**CAR)
        station = site.station("cs-1", home, car, operation_mode="ExternalLimits")
        assert station["operation_mode"] == "ExternalLimits" and not station["dynamic_profile"]
        site.capacity_event(import_limit_kw=0.0)  # the house must run on the car
        sim = site.sim("cs-1", **EV)

        def discharging_limits() -> bool:
            found = sim.profile is not None and "chargingProfile" in sim.profile
            return found and periods(sim.profile)[0].get("dischargeLimit", 0) < 0  # type: ignore[arg-type]

        async def scenario() -> None:
            await wait_until(discharging_limits)
            await wait_until(lambda: sim.battery.power_w < 0)
            await wait_until(lambda: site.rows(sa.select(OcppProfile.composite))[0][0] == "match")

        run_station(sim, scenario)
        sets = calls(sim, "SetChargingProfile")
        assert sets
        for payload in sets:
            assert schema_errors("2.1", "SetChargingProfileRequest", payload) == []
            for period in periods(payload):
                assert period["operationMode"] in ("ExternalLimits", "ChargingOnly")
                assert period.get("dischargeLimit", 0) <= 0 <= period["limit"]
                assert "setpoint" not in period


def test_a_dynamic_profile_is_set_once_then_updated_and_pulled(tmp_path: Path) -> None:
    with ocpp_site(tmp_path) as site:
        home, car = site.car(**CAR)
        site.station("cs-1", home, car, dynamic_profile=True)
        site.capacity_event(import_limit_kw=0.0)
        sim = site.sim("cs-1", station={"pull_dynamic_s": 0.5}, **EV)

        def held_w() -> float | None:
            said = None if sim.profile is None else power_at_w(sim.profile, START, "2.1")
            return None if said is None else said[1]

        async def scenario() -> None:
            await wait_until(lambda: (held_w() or 0.0) < 0)  # the house runs on the car
            sets = len(calls(sim, "SetChargingProfile"))
            # the car may give at most 2 kW now: a new plan, a new value, no new profile
            patched = await asyncio.to_thread(
                site.owner.client.patch, f"/v1/cars/{car}", json={"max_discharge_kw": 2.0}
            )
            assert patched.status_code == 200, patched.text
            await wait_until(lambda: -2000.0 - 1e-6 <= (held_w() or -1e9) < 0)
            await wait_until(lambda: sim.battery.power_w >= -2000.0 - 1e-6)
            assert calls(sim, "UpdateDynamicSchedule")
            assert len(calls(sim, "SetChargingProfile")) == sets
            await wait_until(lambda: sim.pulls >= 2)

        run_station(sim, scenario)
        for payload in calls(sim, "SetChargingProfile"):
            assert schema_errors("2.1", "SetChargingProfileRequest", payload) == []
            assert payload["chargingProfile"]["chargingProfileKind"] == "Dynamic"
        for payload in calls(sim, "UpdateDynamicSchedule"):
            assert schema_errors("2.1", "UpdateDynamicScheduleRequest", payload) == []
            assert payload["chargingProfileId"] == 1
        assert sim.dynamic_updates >= len(calls(sim, "UpdateDynamicSchedule")) + 1  # + pulls
        ((request, status),) = site.rows(sa.select(OcppProfile.request, OcppProfile.status))
        assert (
            status == "Accepted" and request["chargingProfile"]["chargingProfileKind"] == "Dynamic"
        )
