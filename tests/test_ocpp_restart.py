"""The central system killed (SIGKILL) and restarted mid-transaction: ``voltpool ocpp`` as its
own process on a SQLite file, a simulated 2.1 station discharging as told. The station queues
its TransactionEvents while the central system is gone and sends them when it is back; each
is booked once, no meter value is lost, the stored profile is pushed again (the EV still known
as bidirectional: the station discharges again) and the transaction settles in the ledger."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ocpp_helpers import (
    Site,
    calls,
    is_discharge,
    ocpp_site,
    registers_wh,
    wait_until,
)
from voltpool.api.store.tables import (
    OcppMeterValue,
    OcppProfile,
    OcppTransaction,
    OcppTransactionEvent,
)
from voltpool.settlement.accounts import exported_account

START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Csms:
    """``voltpool ocpp`` in a subprocess on ``db_url`` and ``port``."""

    def __init__(self, db_url: str, port: int, log: Path) -> None:
        self.db_url, self.port, self.log = db_url, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "voltpool", "ocpp", "--db", self.db_url]
        command += ["--port", str(self.port), "--max-offline-s", "60"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    async def listening(self) -> None:
        async def accepts() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not await accepts():
            assert loop.time() < deadline, "the central system did not start"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with ocpp_site(tmp_path, csms=False) as running:
        yield running


def test_a_csms_killed_and_restarted_loses_nothing_and_resumes_control(
    site: Site, tmp_path: Path
) -> None:
    home, car = site.car(soc_now=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
    site.station("cs-1", home, car)
    site.capacity_event(import_limit_kw=0.0)
    csms = Csms(site.db_url, _free_port(), tmp_path / "csms.log")
    url = f"ws://127.0.0.1:{csms.port}/ocpp"
    sim = site.sim("cs-1", url=url, soc=0.8, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)

    async def scenario() -> tuple[int, int]:
        csms.start()
        await csms.listening()
        running = asyncio.create_task(sim.run())
        try:
            await wait_until(lambda: sim.battery.power_w < 0, timeout_s=30)  # discharging
            await wait_until(lambda: site.count(OcppTransactionEvent) >= 3)
            csms.kill()  # no goodbye: the socket just dies
            await wait_until(lambda: not sim.online.is_set())
            await wait_until(lambda: len(sim.queued) >= 3)  # metered while it was gone
            offline_events = len(sim.queued)
            before = sim.profiles_received
            csms.start()
            await csms.listening()
            await wait_until(lambda: sim.connects >= 2 and not sim.queued, timeout_s=30)
            await wait_until(lambda: sim.profiles_received > before)  # pushed again
            await wait_until(lambda: sim.battery.power_w < 0)  # and followed
            clears = sim.clears  # a clear may have come before the first plan
            await sim.unplug()
            await wait_until(
                lambda: site.count(OcppTransaction, OcppTransaction.settled_at.is_not(None)) == 1
            )
            await wait_until(lambda: sim.clears > clears)  # the session ended: profile cleared
            return before, offline_events
        finally:
            sim.stop()
            await running
            csms.stop()

    before, offline_events = asyncio.run(scenario())
    # every event once, none lost; the ones queued offline said so
    assert site.count(OcppTransactionEvent) == sim.seq_no
    assert site.count(OcppTransactionEvent, OcppTransactionEvent.offline.is_(True)) >= (
        offline_events
    )
    assert site.count(OcppTransaction) == 1
    sampled = sum(len(item["sampled_value"]) for e in sim.sent_events for item in e.meter_value)
    assert site.count(OcppMeterValue) == sampled
    # the profile after the restart is the stored one: still a discharge (V2X resumed)
    after = calls(sim, "SetChargingProfile")[before:]
    assert after and is_discharge(after[0])
    # the transaction settled: metered Wh == ledger Wh
    ((settled_export_wh,),) = site.rows(sa.select(OcppTransaction.settled_export_wh))
    _, export_wh = registers_wh(sim)
    assert settled_export_wh == export_wh > 0
    with site.ledger() as ledger:
        assert ledger.balance(exported_account(site.owner.id)).net == export_wh
        assert ledger.verify().ok
    ((status,),) = site.rows(sa.select(OcppProfile.action))
    assert status == "ClearChargingProfile"  # the session ended: no profile wanted
