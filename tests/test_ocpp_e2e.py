"""End to end on loopback: voltpool's central system inside ``voltpool serve`` and simulated
stations on the ``ocpp`` library's ChargePoint classes (:mod:`voltpool.ocpp.simulator`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ocpp_helpers import calls, ocpp_site, schema_errors, wait_until
from voltpool.api.store.tables import (
    OcppMeterValue,
    OcppProfile,
    OcppTransaction,
    OcppTransactionEvent,
    PlugSession,
)
from voltpool.ocpp.simulator import StationSim


def profiles(sim: StationSim) -> list[dict[str, Any]]:
    return calls(sim, "SetChargingProfile")


def first_period(payload: dict[str, Any]) -> dict[str, Any]:
    """The first period of a 2.x SetChargingProfile's first schedule."""
    return payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]


def test_a_21_station_announces_a_bidirectional_car_and_follows_its_discharge_setpoints(
    tmp_path: Path,
) -> None:
    with ocpp_site(tmp_path) as site:
        home, car = site.car(soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
        site.station("cs-001", home, car)
        site.capacity_event(import_limit_kw=0.0)  # the feeder is shut: the car powers the home
        sim = site.sim("cs-001", soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)

        async def scenario() -> None:
            running = asyncio.create_task(sim.run())
            try:
                await wait_until(
                    lambda: any(first_period(p).get("setpoint", 0) < 0 for p in profiles(sim))
                )
                start_export = sim.battery.export_wh
                start_soc = sim.battery.soc
                await wait_until(lambda: sim.battery.export_wh > start_export + 10)
                assert sim.battery.soc < start_soc
                assert sim.battery.power_w < 0
            finally:
                sim.stop()
                await running

        asyncio.run(scenario())
        received = profiles(sim)
        for payload in received:
            assert schema_errors("2.1", "SetChargingProfileRequest", payload) == []
            profile = payload["chargingProfile"]
            assert profile["maxOfflineDuration"] > 0 and profile["invalidAfterOfflineDuration"]
        first = first_period(received[-1])
        assert first["operationMode"] == "CentralSetpoint" and first["setpoint"] < 0
        # the session the station opened is the car's, with the EV's departure and limits
        (plug,) = site.rows(sa.select(PlugSession.soc_target, PlugSession.departure))
        assert plug.soc_target == 0.5
        (limits,) = site.rows(sa.select(PlugSession.max_charge_kw, PlugSession.max_discharge_kw))
        assert limits == (11.0, 7.4)
        (tx,) = site.rows(sa.select(OcppTransaction))
        assert tx[0].export_wh > 0
        exported = site.count(
            OcppMeterValue, OcppMeterValue.measurand == "Energy.Active.Export.Register"
        )
        assert exported >= 2
        assert site.count(OcppTransactionEvent) == sim.seq_no
        (stored,) = site.rows(sa.select(OcppProfile.status))
        assert stored.status == "Accepted"
