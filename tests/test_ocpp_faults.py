"""The central system under faults, on loopback against real peers: wrong credentials refused
at the upgrade, malformed and unknown frames answered with CallErrors (the server lives on),
a station that drops and reconnects gets its profile again and books no transaction event
twice, a station alone past ``maxOfflineDuration`` stops discharging, and 2.0.1 and 1.6
stations are never sent a discharge."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ocpp_helpers import STATION_PASSWORD, Site, calls, ocpp_site, schema_errors, wait_until
from voltpool.api.store.tables import (
    Car,
    OcppMeterValue,
    OcppTransaction,
    OcppTransactionEvent,
    PlugSession,
    Station,
)
from voltpool.cli import app as cli
from voltpool.settlement.accounts import imported_account


@pytest.fixture
def site(tmp_path: Path):
    with ocpp_site(tmp_path, max_offline_s=1) as running:
        yield running


def _auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _status_of(url: str, headers: dict[str, str], protocol: str = "ocpp2.1") -> int:
    try:
        async with connect(url, subprotocols=[protocol], additional_headers=headers):  # type: ignore[list-item]
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_unknown_stations_wrong_passwords_and_other_usernames_are_refused_at_the_upgrade(
    site: Site,
) -> None:
    home, car = site.car()
    site.station("cs-1", home, car)
    site.station("cs-2", home, None)
    base = site.ocpp_url

    async def statuses() -> list[int]:
        return [
            await _status_of(f"{base}/cs-1", _auth("cs-1", STATION_PASSWORD)),
            await _status_of(f"{base}/cs-1", _auth("cs-1", "not the password!!")),
            await _status_of(f"{base}/cs-9", _auth("cs-9", STATION_PASSWORD)),
            await _status_of(f"{base}/cs-1", _auth("cs-2", STATION_PASSWORD)),
            await _status_of(f"{base}/cs-1", {}),
            await _status_of(f"{base}/cs-1", _auth("cs-1", STATION_PASSWORD), "ocpp1.5"),
        ]

    assert asyncio.run(statuses()) == [101, 401, 401, 401, 401, 400]


def test_a_refused_station_sim_says_why_and_exits_1(site: Site) -> None:
    home, car = site.car()
    site.station("cs-1", home, car)
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["station-sim", site.ocpp_url, "cs-1", "--password", "not the password!!"]
    )
    assert refused.exit_code == 1
    assert "refused cs-1 (HTTP 401): check the station id and its password" in refused.output
    assert "Traceback" not in refused.output


BAD_FRAMES = [
    ("not json at all", "-1", "FormatViolation"),
    ('{"an": "object"}', "-1", "ProtocolError"),
    ("[]", "-1", "ProtocolError"),
    ('[2, "a1", "Heartbeat"]', "a1", "ProtocolError"),
    ('[2, 17, "Heartbeat", {}]', "-1", "ProtocolError"),
    ('[2, "a2", ["Heartbeat"], {}]', "a2", "FormatViolation"),
    ('[2, "a3", "Heartbeat", []]', "a3", "FormatViolation"),
    ('[9, "a4", "Heartbeat", {}]', "a4", "MessageTypeNotSupported"),
    ('[2, "a5", "NoSuchAction", {}]', "a5", "NotSupported"),
    ('[2, "a6", "NotifyDisplayMessages", {"requestId": 1}]', "a6", "NotImplemented"),
    ('[2, "a7", "StatusNotification", {"evseId": "one"}]', "a7", "TypeConstraintViolation"),
    ('[2, "a8", "BootNotification", {"reason": "PowerUp"}]', "a8", "OccurrenceConstraintViolation"),
]


def test_malformed_and_unknown_frames_get_call_errors_and_the_server_lives_on(site: Site) -> None:
    home, car = site.car()
    site.station("cs-1", home, car)
    url = f"{site.ocpp_url}/cs-1"

    async def exchange() -> tuple[list[Any], Any]:
        answers = []
        async with connect(
            url, subprotocols=["ocpp2.1"], additional_headers=_auth("cs-1", STATION_PASSWORD)
        ) as ws:  # type: ignore[list-item]
            for raw, _, _ in BAD_FRAMES:
                await ws.send(raw)
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            await ws.send('[6, "s1", "NotifyPeriodicEventStream", {}]')  # a SEND: no answer
            await ws.send('[2, "ok", "Heartbeat", {}]')
            alive = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return answers, alive

    answers, alive = asyncio.run(exchange())
    for (raw, unique_id, code), answer in zip(BAD_FRAMES, answers, strict=True):
        assert answer[0] == 4 and answer[1] == unique_id, (raw, answer)
        assert answer[2] in (code, "ProtocolError" if code.startswith("Occ") else code), (
            raw,
            answer,
        )
        assert schema_errors("2.1", "HeartbeatResponse", {"currentTime": "x"}) == []
    assert alive[:2] == [3, "ok"] and "currentTime" in alive[2]


def _first_periods(sim) -> list[dict[str, Any]]:
    found = []
    for payload in calls(sim, "SetChargingProfile"):
        if "csChargingProfiles" in payload:
            found += payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
        else:
            found += payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"]
    return found


@pytest.mark.parametrize("protocol", ["ocpp2.0.1", "ocpp1.6"])
def test_a_201_or_16_station_is_charged_and_never_sent_a_discharge(
    site: Site, protocol: str
) -> None:
    version = protocol.removeprefix("ocpp")
    home, car = site.car(soc_now=0.3, soc_min=0.2, soc_target=0.9, max_discharge_kw=11.0)
    site.station("cs-1", home, car)
    site.capacity_event(import_limit_kw=0.0)  # a 2.1 car would discharge here
    sim = site.sim("cs-1", protocol, soc=0.3, soc_min=0.2, soc_target=0.9)

    async def scenario() -> None:
        running = asyncio.create_task(sim.run())
        try:
            await wait_until(lambda: sim.profiles_received >= 1)
            await wait_until(lambda: site.count(OcppMeterValue) >= 10)
            await sim.unplug()  # StopTransaction / Ended: settled in the ledger
            await wait_until(
                lambda: site.count(OcppTransaction, OcppTransaction.settled_at.is_not(None))
            )
        finally:
            sim.stop()
            await running

    asyncio.run(scenario())
    name = "SetChargingProfile" if version == "1.6" else "SetChargingProfileRequest"
    for payload in calls(sim, "SetChargingProfile"):
        assert schema_errors(version, name, payload) == []
    periods = _first_periods(sim)
    assert periods and all("setpoint" not in p and p["limit"] >= 0 for p in periods)
    assert sim.battery.export_wh == 0.0
    ((discharge_kw,),) = site.rows(sa.select(PlugSession.max_discharge_kw))
    assert discharge_kw == 0.0  # the planner does not count on a discharge in this stay
    ((own_kw,),) = site.rows(sa.select(Car.max_discharge_kw))
    assert own_kw == 11.0  # the car's own limit is its owner's: a two-way charger next time
    ((imported_wh, exported_wh),) = site.rows(
        sa.select(OcppTransaction.settled_import_wh, OcppTransaction.settled_export_wh)
    )
    assert imported_wh > 0 and exported_wh == 0
    with site.ledger() as ledger:  # metered Wh == ledger Wh, on 1.6's whole-Wh registers too
        assert ledger.balance(imported_account(site.owner.id)).net == imported_wh
        assert ledger.verify().ok


def test_a_station_that_reconnects_gets_its_profile_again_and_books_no_event_twice(
    site: Site,
) -> None:
    home, car = site.car(soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
    site.station("cs-1", home, car)
    site.capacity_event(import_limit_kw=0.0)
    sim = site.sim("cs-1", soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)

    async def scenario() -> int:
        running = asyncio.create_task(sim.run())
        try:
            await wait_until(lambda: sim.profiles_received >= 1 and sim.battery.power_w < 0)
            before = sim.profiles_received
            await sim.drop()  # the link drops; events metered meanwhile are queued offline
            await wait_until(lambda: sim.connects >= 2 and sim.profiles_received > before)
            await wait_until(lambda: not sim.queued and len(sim.sent_events) >= 4)
            await sim.resend_last_event()  # as a station that lost the answer does
            return before
        finally:
            sim.stop()
            await running

    asyncio.run(scenario())
    assert sim.connects >= 2 and sim.booted
    sent = {e.seq_no for e in sim.sent_events}
    assert site.count(OcppTransactionEvent) == len(sent) == sim.seq_no
    assert site.count(OcppTransaction) == 1
    assert site.count(Station, Station.booted_at.is_not(None)) == 1


def test_a_station_alone_past_max_offline_duration_stops_discharging(site: Site) -> None:
    home, car = site.car(soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
    site.station("cs-1", home, car)
    site.capacity_event(import_limit_kw=0.0)
    sim = site.sim("cs-1", soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)

    async def scenario() -> None:
        running = asyncio.create_task(sim.run())
        try:
            await wait_until(lambda: sim.battery.power_w < 0)  # discharging as told
            sim.options.url = "ws://127.0.0.1:9/ocpp"  # the CSMS is gone for good
            await sim.drop()
            await wait_until(lambda: sim.offline_since is not None)
            await asyncio.sleep(0.5)
            assert sim.battery.power_w < 0  # within maxOfflineDuration (1 s): goes on
            await wait_until(lambda: sim.battery.power_w >= 0, timeout_s=5)
            assert sim.profile is None
        finally:
            sim.stop()
            await running

    asyncio.run(scenario())
