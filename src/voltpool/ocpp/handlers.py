"""The central system's side of one station's connection: a handler for each message a
station sends that voltpool acts on, per protocol (:class:`Station21`, :class:`Station201`,
:class:`Station16`). Any other action gets NotImplemented/NotSupported at once
(:mod:`voltpool.ocpp.peer`); a few a station sends routinely (NotifyEvent, NotifyReport,
SecurityEventNotification, firmware and log status) are accepted and ignored.

Handled, 2.x: BootNotification, Heartbeat, StatusNotification, Authorize (every token is
accepted: the station authenticated itself and serves one car), TransactionEvent (booked
once per seqNo, :mod:`voltpool.ocpp.records`; Started opens the car's session, Ended closes
it, meter values kept, the metered SoC becomes the car's), NotifyEVChargingNeeds (the
session's departure, target and the car's limits, :mod:`voltpool.ocpp.carsessions`),
NotifyEVChargingSchedule (acknowledged), MeterValues; 2.1 also PullDynamicScheduleUpdate
(the current value of a Dynamic profile). 1.6: BootNotification, Heartbeat,
StatusNotification, Authorize, StartTransaction, StopTransaction, MeterValues (charge-only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ocpp.routing import after, on
from ocpp.v16 import call_result as result16
from ocpp.v21 import call_result as result21
from ocpp.v201 import call_result as result201
from sqlalchemy.orm import Session

from voltpool.ocpp import carsessions, commands, records, settlement
from voltpool.ocpp.carsessions import Needs
from voltpool.ocpp.keys import to_snake
from voltpool.ocpp.peer import Peer16, Peer21, Peer201
from voltpool.ocpp.profiles import BIDIRECTIONAL, schedule_update

if TYPE_CHECKING:
    from voltpool.ocpp.csms import CentralSystem

log = logging.getLogger("voltpool.ocpp")
T = TypeVar("T")
ACCEPTED = {"status": "Accepted"}


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class StationLink:
    """What every protocol's handlers share: the station, the central system, the database."""

    csms: CentralSystem
    info: records.StationInfo
    bidirectional: dict[int, bool]
    """Per EVSE: whether this session's EV announced a bidirectional transfer (2.1 only)."""
    _ocpp_version: str
    _results: Any
    """The protocol's ``call_result`` module."""
    id: str

    def bind(self, csms: CentralSystem, info: records.StationInfo) -> None:
        self.csms = csms
        self.info = info
        self.bidirectional = {}
        self.evse_id = 1

    @after("BootNotification")
    async def after_boot_notification(self, **_: Any) -> None:
        self.csms.wake(self.id, force=True)

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> Any:
        await self.db(records.seen, self.id, self.now())
        return self._results.Heartbeat(current_time=_now_text())

    @property
    def version(self) -> str:
        return self._ocpp_version

    @property
    def charge_only(self) -> bool:
        return self._ocpp_version != "2.1"

    def now(self) -> datetime:
        return self.csms.state.settings.clock.now()

    async def db(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(db, *args, **kwargs)`` in a worker thread on one session, committed."""

        def run() -> T:
            with self.csms.state.sessions() as db:
                value = work(db, *args, **kwargs)
                db.commit()
                return value

        return await asyncio.to_thread(run)

    # --- shared handling ----------------------------------------------------------------

    async def _booted(self, **said: str | None) -> None:
        await self.db(records.booted, self.id, self.now(), **said)
        self.info = records.StationInfo(**{**self.info.__dict__, "booted": True})

    async def _status(self, evse_id: int, connector_id: int, status: str) -> None:
        await self.db(records.connector_status, self.id, evse_id, connector_id, status, self.now())

    async def _needs(self, evse_id: int, needs: Needs) -> None:
        car_id = self.info.car_id
        if car_id is None:
            return
        self.evse_id = evse_id

        def work(db: Session) -> None:
            if needs.bidirectional is not None:
                records.ev_announced(db, self.id, evse_id, needs.bidirectional)
                db.commit()
            carsessions.plugged_in(db, self.csms.state, car_id, self.now(), needs, self.charge_only)

        await self.db(work)

    async def _transaction(
        self,
        transaction_id: str | None,
        evse_id: int,
        connector_id: int | None,
        started_at: datetime,
        readings: list[dict[str, Any]],
        ended: datetime | None = None,
        reason: str | None = None,
        seq: tuple[int, dict[str, Any]] | None = None,
        **values: Any,
    ) -> str | None:
        """Book one report on a transaction; its id (None: a repeat, nothing booked)."""
        car_id = self.info.car_id
        state = self.csms.state
        now = self.now()

        def work(db: Session) -> str | None:
            if seq is not None:
                assert transaction_id is not None
                if not records.book_event(db, self.id, transaction_id, seq[0], seq[1], now):
                    return None
            tx = records.open_transaction(
                db, self.id, transaction_id, evse_id, connector_id, started_at, **values
            )
            soc = records.add_meter_values(db, self.id, evse_id, tx, readings)
            newest = seq is None or tx.last_seq_no is None or seq[0] > tx.last_seq_no
            if seq is not None and newest:
                tx.last_seq_no = seq[0]
            if ended is not None and tx.ended_at is None:
                tx.ended_at, tx.stopped_reason = ended, reason
            if car_id is not None and soc is not None and newest:
                carsessions.metered_soc(db, car_id, soc)
            db.commit()
            if car_id is None:
                return tx.transaction_id
            if tx.ended_at is not None:
                if tx.session_id is not None:
                    carsessions.unplugged(db, state, car_id)
            elif tx.session_id is None:
                tx.session_id = carsessions.plugged_in(
                    db, state, car_id, now, Needs(soc_now=soc), self.charge_only
                )
            return tx.transaction_id

        booked = await self.db(work)
        if booked is not None:
            self.evse_id = evse_id
        if ended is not None and transaction_id is not None:
            await self._settle(transaction_id)
            self.csms.wake(self.id)  # the car's session ended: its profile is cleared
        return booked

    async def _settle(self, transaction_id: str) -> None:
        """Book the ended transaction in the ledger (once: a repeat books nothing); a failure
        is logged and booked when the central system starts again."""
        state = self.csms.state
        try:
            await asyncio.to_thread(
                settlement.settle,
                state.sessions,
                state.ledger,
                self.info,
                transaction_id,
                self.now(),
            )
        except Exception:
            log.exception("%s: settling transaction %s failed", self.id, transaction_id)

    async def _meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], transaction_id: str | None
    ) -> None:
        car_id = self.info.car_id

        def work(db: Session) -> None:
            tx = (
                None if transaction_id is None else records.transaction(db, self.id, transaction_id)
            )
            soc = records.add_meter_values(
                db, self.id, evse_id, tx, records.sampled_values(meter_value)
            )
            if car_id is not None and soc is not None:
                carsessions.metered_soc(db, car_id, soc)

        await self.db(work)


class _Handlers2x(StationLink):
    """OCPP 2.0.1 and 2.1 share these messages and their fields."""

    @on("BootNotification")
    async def on_boot_notification(self, charging_station: dict, reason: str, **_: Any) -> Any:
        await self._booted(
            vendor=charging_station.get("vendor_name"),
            model=charging_station.get("model"),
            firmware=charging_station.get("firmware_version"),
        )
        return self._results.BootNotification(
            current_time=_now_text(), interval=self.csms.options.heartbeat_s, status="Accepted"
        )

    @on("StatusNotification")
    async def on_status_notification(
        self, evse_id: int, connector_id: int, connector_status: str, **_: Any
    ) -> Any:
        await self._status(evse_id, connector_id, connector_status)
        return self._results.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_: Any) -> Any:
        return self._results.Authorize(id_token_info=ACCEPTED)

    @on("TransactionEvent")
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict,
        evse: dict | None = None,
        meter_value: list | None = None,
        offline: bool = False,
        id_token: dict | None = None,
        **_: Any,
    ) -> Any:
        at = records.parse_time(timestamp)
        evse_id = (evse or {}).get("id", self.evse_id)
        event = {
            "event_type": event_type,
            "trigger_reason": trigger_reason,
            "timestamp": timestamp,
            "offline": offline,
        }
        await self._transaction(
            transaction_info["transaction_id"],
            evse_id,
            (evse or {}).get("connector_id"),
            at,
            records.sampled_values(meter_value or []),
            ended=at if event_type == "Ended" else None,
            reason=transaction_info.get("stopped_reason"),
            seq=(seq_no, event),
            id_token=None if id_token is None else str(id_token.get("id_token"))[:255],
        )
        if id_token is not None:
            return self._results.TransactionEvent(id_token_info=ACCEPTED)
        return self._results.TransactionEvent()

    @on("MeterValues")
    async def on_meter_values(self, evse_id: int, meter_value: list, **_: Any) -> Any:
        await self._meter_values(evse_id, meter_value, None)
        return self._results.MeterValues()

    @on("NotifyEVChargingNeeds")
    async def on_notify_ev_charging_needs(
        self, evse_id: int, charging_needs: dict, **_: Any
    ) -> Any:
        needs = self.needs(charging_needs)
        if self.version == "2.1":
            self.bidirectional[evse_id] = bool(needs.bidirectional)
        await self._needs(evse_id, needs)
        return self._results.NotifyEVChargingNeeds(status="Accepted")

    def needs(self, charging_needs: dict[str, Any]) -> Needs:
        """The EV's needs from ``chargingNeeds`` (snake_case): 2.1's V2X parameters, else
        2.0.1's AC/DC ones."""
        departure = charging_needs.get("departure_time")
        mode = charging_needs.get("requested_energy_transfer")
        params = charging_needs.get("v2x_charging_parameters") or {}
        target = params.get("target_soc")
        charge_w = params.get("max_charge_power")
        discharge_w = params.get("max_discharge_power")
        if charge_w is None:
            dc = charging_needs.get("dc_charging_parameters") or {}
            charge_w = dc.get("ev_max_power")
            target = target if target is not None else dc.get("full_soc")
        return Needs(
            departure=None if departure is None else records.parse_time(departure),
            soc_target=None if target is None else target / 100.0,
            max_charge_kw=None if charge_w is None else charge_w / 1000.0,
            max_discharge_kw=None if discharge_w is None else abs(discharge_w) / 1000.0,
            bidirectional=mode in BIDIRECTIONAL,
        )

    @on("NotifyEVChargingSchedule")
    async def on_notify_ev_charging_schedule(self, **_: Any) -> Any:
        return self._results.NotifyEVChargingSchedule(status="Accepted")

    @on("NotifyEvent")
    async def on_notify_event(self, **_: Any) -> Any:
        return self._results.NotifyEvent()

    @on("NotifyReport")
    async def on_notify_report(self, **_: Any) -> Any:
        return self._results.NotifyReport()

    @on("SecurityEventNotification")
    async def on_security_event_notification(self, type: str, **_: Any) -> Any:
        log.info("%s: security event %s", self.id, type)
        return self._results.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_: Any) -> Any:
        return self._results.FirmwareStatusNotification()

    @on("LogStatusNotification")
    async def on_log_status_notification(self, **_: Any) -> Any:
        return self._results.LogStatusNotification()


class Station21(_Handlers2x, Peer21):
    """A station on OCPP 2.1: may be sent discharge setpoints."""

    _results = result21

    @on("PullDynamicScheduleUpdate")
    async def on_pull_dynamic_schedule_update(self, charging_profile_id: int, **_: Any) -> Any:
        """The value its Dynamic profile should hold now (K28): the newest plan's, as an
        ``UpdateDynamicSchedule`` would carry it; Rejected for a profile voltpool did not set
        or a station that holds none of voltpool's Dynamic profiles."""
        found = await self.db(
            commands.wanted,
            self.csms,
            self.info,
            self.version,
            self.evse_id,
            self.bidirectional.get(self.evse_id, False),
        )
        update = schedule_update(found.request) if found.action == commands.SET else None
        if charging_profile_id != self.evse_id or update is None:
            return result21.PullDynamicScheduleUpdate(status="Rejected")
        if found.update is not None or not found.changed:  # it holds this profile's shape
            await self.db(
                records.profile_answered,
                self.id,
                self.evse_id,
                found.request,
                "Accepted",
                self.now(),
            )
        else:  # it holds another profile: the whole one goes at the next push
            self.csms.wake(self.id)
        return result21.PullDynamicScheduleUpdate(
            status="Accepted", schedule_update=to_snake(update)
        )


class Station201(_Handlers2x, Peer201):
    """A station on OCPP 2.0.1: charge-only limits."""

    _results = result201


class Station16(StationLink, Peer16):
    """A station on OCPP 1.6: charge-only limits."""

    _results = result16

    @on("BootNotification")
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **said: Any
    ) -> Any:
        await self._booted(
            vendor=charge_point_vendor,
            model=charge_point_model,
            firmware=said.get("firmware_version"),
        )
        return result16.BootNotification(
            current_time=_now_text(), interval=self.csms.options.heartbeat_s, status="Accepted"
        )

    @on("StatusNotification")
    async def on_status_notification(self, connector_id: int, status: str, **_: Any) -> Any:
        await self._status(0 if connector_id == 0 else 1, connector_id, status)
        return result16.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_: Any) -> Any:
        return result16.Authorize(id_tag_info=ACCEPTED)

    @on("StartTransaction")
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> Any:
        at = records.parse_time(timestamp)
        readings = [_register_reading(at, "Transaction.Begin", meter_start)]
        self.evse_id = connector_id

        def find(db: Session) -> str | None:  # a StartTransaction sent again: the same id
            return records.repeated_start(db, self.id, connector_id, at)

        tx_id = await self.db(find)
        if tx_id is None:
            tx_id = await self._transaction(
                None,
                connector_id,
                connector_id,
                at,
                readings,
                id_token=id_tag[:255],
                meter_start_wh=float(meter_start),
            )
        return result16.StartTransaction(transaction_id=int(tx_id or 0), id_tag_info=ACCEPTED)

    @on("StopTransaction")
    async def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **said: Any
    ) -> Any:
        at = records.parse_time(timestamp)
        readings = [_register_reading(at, "Transaction.End", meter_stop)]
        readings += records.sampled_values(said.get("transaction_data") or [])
        await self._transaction(
            str(transaction_id),
            self.evse_id,
            None,
            at,
            readings,
            ended=at,
            reason=said.get("reason", "Local"),
        )
        return result16.StopTransaction(id_tag_info=ACCEPTED)

    @on("MeterValues")
    async def on_meter_values(
        self, connector_id: int, meter_value: list, transaction_id: int | None = None, **_: Any
    ) -> Any:
        tx = None if transaction_id is None else str(transaction_id)
        await self._meter_values(max(connector_id, 1), meter_value, tx)
        return result16.MeterValues()

    @on("DataTransfer")
    async def on_data_transfer(self, **_: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_: Any) -> Any:
        return result16.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    async def on_diagnostics_status_notification(self, **_: Any) -> Any:
        return result16.DiagnosticsStatusNotification()


def _register_reading(at: datetime, context: str, meter_wh: int) -> dict[str, Any]:
    """The energy register a 1.6 Start/StopTransaction carries, as a stored reading."""
    return {
        "timestamp": at,
        "measurand": records.ENERGY_IMPORT,
        "phase": None,
        "context": context,
        "unit": "Wh",
        "value": float(meter_wh),
    }
