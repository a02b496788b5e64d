"""A voltpool server with its OCPP central system on loopback, a community with homes, cars and
registered stations, and simulated stations (:mod:`voltpool.ocpp.simulator`) to run against it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft4Validator

from api_server import LiveServer, User, live_server
from voltpool.api.store.schema import open_engine, sessions
from voltpool.credits import kwh_to_wh
from voltpool.ledger import Ledger
from voltpool.ocpp import CsmsOptions, csms_service
from voltpool.ocpp.keys import load_schema
from voltpool.ocpp.service import CsmsService
from voltpool.ocpp.simulator import EvSpec, SimOptions, StationSim

STATION_PASSWORD = "a station password"
BIDIRECTIONAL_CAR = dict(soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
"""A car that may give back: 80 % now, 20 % reserve, 50 % wanted at departure."""
BIDIRECTIONAL_EV = dict(soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
"""The same car as the station simulator's EV."""
IMPORT = "Energy.Active.Import.Register"
EXPORT = "Energy.Active.Export.Register"


@dataclass
class Site:
    server: LiveServer
    service: CsmsService
    operator: User
    owner: User
    community_id: str
    db_url: str

    @property
    def ocpp_url(self) -> str:
        assert self.service.running is not None
        return self.service.running.url

    def car(self, name: str = "car", house_load_kw: float = 5.0, **car: Any) -> tuple[str, str]:
        """A home and its car: (home id, car id)."""
        home = self.owner.client.post(
            "/v1/homes",
            json={"name": name, "community_id": self.community_id, "house_load_kw": house_load_kw},
        )
        assert home.status_code == 201, home.text
        body = {"name": name, "home_id": home.json()["id"], "capacity_kwh": 60.0, **car}
        made = self.owner.client.post("/v1/cars", json=body)
        assert made.status_code == 201, made.text
        return home.json()["id"], made.json()["id"]

    def station(
        self, station_id: str, home_id: str, car_id: str | None, **control: Any
    ) -> dict[str, Any]:
        """Register a station (``control``: ``operation_mode``, ``dynamic_profile``)."""
        answer = self.operator.client.post(
            f"/v1/communities/{self.community_id}/stations",
            json={
                "id": station_id,
                "password": STATION_PASSWORD,
                "home_id": home_id,
                "car_id": car_id,
                **control,
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def capacity_event(self, import_limit_kw: float, hours: float = 3.0) -> None:
        """The feeder may import at most ``import_limit_kw`` from now: cars must discharge."""
        now = datetime.now(UTC)
        answer = self.operator.client.post(
            f"/v1/communities/{self.community_id}/grid-events",
            json={
                "kind": "capacity",
                "import_limit_kw": import_limit_kw,
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=hours)).isoformat(),
            },
        )
        assert answer.status_code == 201, answer.text

    def sim(
        self,
        station_id: str,
        protocol: str = "ocpp2.1",
        url: str | None = None,
        station: dict[str, Any] | None = None,
        **ev: Any,
    ) -> StationSim:
        """A simulated station with an EV (``ev``: :class:`EvSpec`'s fields; ``station``:
        more :class:`SimOptions`) on this site's central system or ``url``."""
        options = SimOptions(
            url=url or self.ocpp_url,
            station_id=station_id,
            password=STATION_PASSWORD,
            protocol=protocol,
            meter_interval_s=0.2,
            speed=60.0,
            reconnect_s=0.2,
            response_timeout_s=5.0,
            **(station or {}),
        )
        return StationSim(options, EvSpec(**ev))

    def rows(self, query: Any) -> list[Any]:
        engine = open_engine(self.db_url)
        try:
            with sessions(engine)() as db:
                return list(db.execute(query).all())
        finally:
            engine.dispose()

    def count(self, table: Any, *where: Any) -> int:
        return self.rows(sa.select(sa.func.count()).select_from(table).where(*where))[0][0]

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        opened = Ledger.open(self.db_url)
        try:
            yield opened
        finally:
            opened.close()


@contextmanager
def ocpp_site(tmp_path: Path, csms: bool = True, **options: Any) -> Iterator[Site]:
    """A server on a fresh SQLite file with an operator, an owner and a community; with the
    central system in it unless ``csms`` is False (a test runs its own)."""
    url = f"sqlite:///{tmp_path / 'voltpool.sqlite'}"
    service = csms_service(CsmsOptions(port=0, call_timeout_s=5.0, **options))
    with live_server(url, tick=False, services=(service,) if csms else ()) as server:
        operator = server.register("op@example.org", role="operator")
        owner = server.register("ann@example.org")
        community = operator.client.post(
            "/v1/communities", json={"name": "Zonnewijk", "timezone": "Europe/Amsterdam"}
        )
        assert community.status_code == 201, community.text
        yield Site(server, service, operator, owner, community.json()["id"], url)


async def wait_until(probe: Any, timeout_s: float = 20.0, every_s: float = 0.05) -> Any:
    """Await until ``probe()`` is truthy (its value) or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting after {timeout_s} s")
        await asyncio.sleep(every_s)


def registers_wh(sim: StationSim) -> tuple[int, int]:
    """What a 2.x station's meter says its transaction imported and exported (whole Wh): the
    energy registers of its last transaction event minus its first."""
    readings = [
        {v["measurand"]: float(v["value"]) for v in item["sampled_value"]}
        for event in sim.sent_events
        for item in event.meter_value
    ]
    first, last = readings[0], readings[-1]
    return (
        kwh_to_wh((last[IMPORT] - first[IMPORT]) / 1000),
        kwh_to_wh((last[EXPORT] - first[EXPORT]) / 1000),
    )


def is_discharge(payload: dict[str, Any]) -> bool:
    """A 2.x SetChargingProfile whose first period discharges."""
    first = payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    return first.get("setpoint", 0) < 0


def calls(sim: StationSim, action: str) -> list[dict[str, Any]]:
    """The payloads of every CALL of ``action`` the simulated station received, as sent."""
    found = []
    for raw in sim.received:
        frame = json.loads(raw)
        if frame[0] == 2 and frame[2] == action:
            found.append(frame[3])
    return found


def schema_errors(version: str, name: str, payload: dict[str, Any]) -> list[str]:
    """What the library's bundled schema says is wrong with ``payload`` (empty: valid)."""
    schema = load_schema(version, name)
    if version == "1.6":  # decimals, as the library validates (1.6 has multipleOf 0.1)
        schema = json.loads(json.dumps(schema), parse_float=Decimal)
        payload = json.loads(json.dumps(payload), parse_float=Decimal)
    validator = Draft4Validator(schema)
    return [error.message for error in validator.iter_errors(payload)]


def run_station(sim: StationSim, scenario: Any) -> None:
    """Run the simulated station while ``scenario()`` runs, then stop it."""

    async def main() -> None:
        running = asyncio.create_task(sim.run())
        try:
            await scenario()
        finally:
            sim.stop()
            await running

    asyncio.run(main())
