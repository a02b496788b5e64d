"""End to end on loopback: voltpool's central system inside ``voltpool serve`` and simulated
stations on the ``ocpp`` library's ChargePoint classes (:mod:`voltpool.ocpp.simulator`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ocpp_helpers import EXPORT, calls, ocpp_site, registers_wh, schema_errors, wait_until
from voltpool.api.store.tables import (
    OcppMeterValue,
    OcppTransaction,
    OcppTransactionEvent,
    PlugSession,
)
from voltpool.ocpp.settlement import POLICY, session_key
from voltpool.ocpp.simulator import StationSim
from voltpool.settlement import credit_account
from voltpool.settlement.accounts import exported_account, imported_account


def profiles(sim: StationSim) -> list[dict[str, Any]]:
    return calls(sim, "SetChargingProfile")


def first_period(payload: dict[str, Any]) -> dict[str, Any]:
    """The first period of a 2.x SetChargingProfile's first schedule."""
    return payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]


def test_stations_discharge_and_charge_and_their_metered_energy_settles_in_the_ledger_once(
    tmp_path: Path,
) -> None:
    with ocpp_site(tmp_path) as site:
        # homes of 1 kW each on a shut feeder: the giver discharges to power them and more, so
        # that the taker can charge from what is left over
        home, car = site.car(
            house_load_kw=1.0, soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4
        )
        home_b, car_b = site.car("b", house_load_kw=1.0, soc_now=0.3, soc_target=0.9)
        site.station("cs-001", home, car)
        site.station("cs-002", home_b, car_b)
        site.capacity_event(import_limit_kw=0.0)  # the feeder is shut
        giver = site.sim("cs-001", soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
        taker = site.sim(  # leaving in an hour: it must charge now, whatever the hour
            "cs-002", soc=0.3, soc_min=0.2, soc_target=0.9, bidirectional=False, stay_h=1.0
        )

        async def scenario() -> None:
            running = [asyncio.create_task(sim.run()) for sim in (giver, taker)]
            try:
                await wait_until(
                    lambda: any(first_period(p).get("setpoint", 0) < 0 for p in profiles(giver))
                )
                start_export = giver.battery.export_wh
                start_soc = giver.battery.soc
                await wait_until(lambda: giver.battery.export_wh > start_export + 50)
                await wait_until(lambda: taker.battery.import_wh > 50)
                assert giver.battery.soc < start_soc and giver.battery.power_w < 0
                clears = giver.clears  # a clear may have come before the first plan
                for sim in (giver, taker):
                    await sim.unplug()  # the transactions end: Ended with the final meter
                await wait_until(
                    lambda: (
                        site.count(OcppTransaction, OcppTransaction.settled_at.is_not(None)) == 2
                    )
                )
                await wait_until(lambda: giver.clears > clears)  # no session: profile cleared
                await giver.resend_last_event()  # the Ended again, as after a lost answer
            finally:
                for sim in (giver, taker):
                    sim.stop()
                await asyncio.gather(*running)

        asyncio.run(scenario())
        received = profiles(giver)
        for payload in received:
            assert schema_errors("2.1", "SetChargingProfileRequest", payload) == []
            profile = payload["chargingProfile"]
            assert profile["maxOfflineDuration"] > 0 and profile["invalidAfterOfflineDuration"]
        assert any(first_period(p)["operationMode"] == "CentralSetpoint" for p in received)
        for payload in calls(giver, "ClearChargingProfile"):
            assert schema_errors("2.1", "ClearChargingProfileRequest", payload) == []
        # the session the station opened is the car's, with the EV's departure and limits
        plugs = site.rows(
            sa.select(
                PlugSession.soc_target, PlugSession.max_charge_kw, PlugSession.max_discharge_kw
            ).where(PlugSession.car_id == car)
        )
        assert plugs == [(0.5, 11.0, 7.4)]
        assert site.count(OcppTransactionEvent) == giver.seq_no + taker.seq_no
        assert site.count(OcppMeterValue, OcppMeterValue.measurand == EXPORT) >= 2

        # metered Wh == ledger Wh, per station and per direction, booked once
        settled = {
            row.station_id: row
            for row in site.rows(
                sa.select(
                    OcppTransaction.station_id,
                    OcppTransaction.transaction_id,
                    OcppTransaction.settled_import_wh,
                    OcppTransaction.settled_export_wh,
                    OcppTransaction.settled_millicredits,
                )
            )
        }
        gave_in, gave_out = registers_wh(giver)
        took_in, took_out = registers_wh(taker)
        assert gave_out > 50 and took_in > 50 and took_out == 0
        assert (settled["cs-001"].settled_import_wh, settled["cs-001"].settled_export_wh) == (
            gave_in,
            gave_out,
        )
        assert (settled["cs-002"].settled_import_wh, settled["cs-002"].settled_export_wh) == (
            took_in,
            0,
        )
        owner = site.owner.id
        with site.ledger() as ledger:
            assert ledger.balance(exported_account(owner)).net == gave_out
            assert ledger.balance(imported_account(owner)).net == gave_in + took_in
            earned = settled["cs-001"].settled_millicredits
            assert earned == POLICY.v2g_millicredits(gave_out, 0, True)  # the event's rate
            assert settled["cs-002"].settled_millicredits == 0
            fee = POLICY.fee_millicredits(earned)
            wallet = ledger.history(credit_account(owner), limit=1000)
            assert sorted(t.amount for t in wallet if t.session is not None) == sorted(
                [earned, fee]
            )
            key = session_key("cs-001", settled["cs-001"].transaction_id)
            legs = [t for t in ledger.history(exported_account(owner)) if t.session == key]
            assert len(legs) == 1  # the repeated Ended booked nothing
            report = ledger.verify()  # debits = credits, balances = their transfers
            assert report.ok, report.problems
            totals = ledger.balances()
            for unit in ("energy", "credit"):
                accounts = {a.id for a in ledger.accounts() if a.unit == unit}
                assert sum(totals[a].net for a in accounts) == 0  # credits conserved
