"""``voltpool station-sim``: a charging station with an EV plugged in, on the ``ocpp``
library's ChargePoint classes: the real OCPP peer of voltpool's tests, demos and load runs.

The EV (:class:`EvSpec`) has a battery and a charger with limits and efficiencies (the
project's convention: the battery gains ``eta_charge * p * dt`` charging and loses
``p * dt / eta_discharge`` discharging, ``p`` at the charger). The station boots, reports its
connector, starts a transaction when the EV plugs in, announces the EV's needs
(``NotifyEVChargingNeeds``; on 2.1 with ``v2xChargingParameters`` and ``AC_BPT`` when
bidirectional), and then follows the profile it was sent:

- 2.1 ``CentralSetpoint``: the setpoint, charging (> 0) or discharging (< 0), within the EV's
  limits and its battery's bounds (``soc_min``..1);
- a ``limit`` (2.0.1, 1.6, ``ChargingOnly``): charge up to it while below the target;
- no profile (none yet, or cleared by ``ClearChargingProfile``): charge at full power to the
  target, as a station does by default;
- never more than its own limit (``charger_max_kw``) nor a discharge that the EV or the last
  ``NotifyAllowedEnergyTransfer`` (2.1) does not allow; ``GetCompositeSchedule`` (2.x)
  answers what it will do within them;
- a profile sooner than ``profile_rate_limit_s`` after the last is answered with a
  ``RateLimitExceeded`` CallError (2.1's ``ChargingProfileUpdateRateLimit``);
- a 2.1 profile with ``invalidAfterOfflineDuration`` is dropped once the station has been
  without the CSMS for ``maxOfflineDuration``: it stops discharging by itself;
- 2.1 ``ExternalLimits``: its own controller goes to the bound in the plan's direction
  (``limit`` when it is above 0, else ``dischargeLimit``), within the same limits;
- a 2.1 ``Dynamic`` profile holds its one period's value until ``UpdateDynamicSchedule``
  moves it (an update for another profile id is ``Rejected``); when none came for
  ``dynUpdateInterval`` (or ``pull_dynamic_s``) it asks with ``PullDynamicScheduleUpdate``.

Every ``meter_interval_s`` it sends its meter (energy imported and exported, Wh; power, W;
SoC, %) in a TransactionEvent (2.x) or MeterValues (1.6). Transaction events it cannot send
while offline are queued (``offline: true``) and sent in order on reconnect.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voltpool.ocpp.keys import schema_name, to_camel
from voltpool.ocpp.peer import SUBPROTOCOLS, Peer16, Peer21, Peer201, RateLimitExceededError
from voltpool.ocpp.profiles import BIDIRECTIONAL, power_at_w, with_update

log = logging.getLogger("voltpool.ocpp.sim")


@dataclass
class EvSpec:
    """The EV and its charger. Powers at the charger (AC), kW; SoC as fractions."""

    capacity_kwh: float = 60.0
    soc: float = 0.5
    soc_min: float = 0.1
    soc_target: float = 0.8
    max_charge_kw: float = 11.0
    max_discharge_kw: float = 11.0
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    stay_h: float = 10.0
    """Hours until it leaves (its ``departureTime``)."""
    bidirectional: bool = True


@dataclass
class Battery:
    """The EV's battery and the station's meter (AC side)."""

    ev: EvSpec
    energy_kwh: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    power_w: float = 0.0
    """The power at the charger now (+ charging)."""

    def __post_init__(self) -> None:
        self.energy_kwh = self.ev.soc * self.ev.capacity_kwh

    @property
    def soc(self) -> float:
        return self.energy_kwh / self.ev.capacity_kwh

    def run(self, power_w: float, seconds: float) -> float:
        """Draw ``power_w`` (+ charging) for ``seconds``, within the limits and the battery's
        bounds; the power it ran at."""
        ev = self.ev
        hours = seconds / 3600.0
        power_kw = min(max(power_w / 1000.0, -ev.max_discharge_kw), ev.max_charge_kw)
        if not ev.bidirectional:
            power_kw = max(power_kw, 0.0)
        if hours <= 0:
            self.power_w = power_kw * 1000.0
            return self.power_w
        if power_kw > 0:
            room_kwh = ev.capacity_kwh - self.energy_kwh
            power_kw = min(power_kw, max(room_kwh, 0.0) / ev.charge_efficiency / hours)
            self.energy_kwh += power_kw * hours * ev.charge_efficiency
            self.import_wh += power_kw * hours * 1000.0
        elif power_kw < 0:
            above_kwh = self.energy_kwh - ev.soc_min * ev.capacity_kwh
            power_kw = -min(-power_kw, max(above_kwh, 0.0) * ev.discharge_efficiency / hours)
            self.energy_kwh += power_kw * hours / ev.discharge_efficiency
            self.export_wh += -power_kw * hours * 1000.0
        self.power_w = power_kw * 1000.0
        return self.power_w


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wall_clock() -> datetime:
    return datetime.now(UTC)


class _SimPeer:
    """The station's end: records every frame it gets and keeps the profile it was sent."""

    sim: StationSim
    _ocpp_version: str

    async def route_message(self, raw_msg: str | bytes) -> None:
        self.sim.received.append(raw_msg if isinstance(raw_msg, str) else raw_msg.decode())
        await super().route_message(raw_msg)  # type: ignore[misc]

    def _keep(self, request: dict[str, Any]) -> None:
        version = self._ocpp_version
        self.sim.profile = to_camel(
            request, version, schema_name(version, "SetChargingProfile", False)
        )
        self.sim.profiles_received += 1
        self.sim._dynamic_at = None  # a Dynamic profile's interval counts from now
        self.sim.profile_changed.set()


class SimPeer2x(_SimPeer):
    _results: Any

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict, **_: Any) -> Any:
        if self.sim.rate_limit():
            return self._results.SetChargingProfile(
                status="Rejected", status_info={"reason_code": "RateLimitExceeded"}
            )
        self._keep({"evse_id": evse_id, "charging_profile": charging_profile})
        return self._results.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_: Any) -> Any:
        had = self.sim.profile is not None
        self.sim.profile = None
        self.sim.clears += 1
        return self._results.ClearChargingProfile(status="Accepted" if had else "Unknown")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, duration: int, evse_id: int, **_: Any) -> Any:
        if evse_id != self.sim.options.evse_id:
            return self._results.GetCompositeSchedule(status="Rejected")
        return self._results.GetCompositeSchedule(
            status="Accepted", schedule=self.sim.composite(duration)
        )


class SimPeer21(SimPeer2x, Peer21):
    _results = result21

    @on("UpdateDynamicSchedule")
    def on_update_dynamic_schedule(
        self, charging_profile_id: int, schedule_update: dict, **_: Any
    ) -> Any:
        if not self.sim.dynamic_update(charging_profile_id, schedule_update):
            return result21.UpdateDynamicSchedule(status="Rejected")
        return result21.UpdateDynamicSchedule(status="Accepted")

    @on("NotifyAllowedEnergyTransfer")
    def on_notify_allowed_energy_transfer(
        self, transaction_id: str, allowed_energy_transfer: list, **_: Any
    ) -> Any:
        if transaction_id != self.sim.transaction_id:
            return result21.NotifyAllowedEnergyTransfer(status="Rejected")
        self.sim.allowed_modes = frozenset(allowed_energy_transfer)
        return result21.NotifyAllowedEnergyTransfer(status="Accepted")


class SimPeer201(SimPeer2x, Peer201):
    _results = result201


class SimPeer16(_SimPeer, Peer16):
    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict, **_: Any
    ) -> Any:
        if self.sim.rate_limit():
            return result16.SetChargingProfile(status="Rejected")
        self._keep({"connector_id": connector_id, "cs_charging_profiles": cs_charging_profiles})
        return result16.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_: Any) -> Any:
        had = self.sim.profile is not None
        self.sim.profile = None
        self.sim.clears += 1
        return result16.ClearChargingProfile(status="Accepted" if had else "Unknown")


PEERS = {"2.1": SimPeer21, "2.0.1": SimPeer201, "1.6": SimPeer16}
CALLS = {"2.1": call21, "2.0.1": call201, "1.6": call16}


@dataclass
class SimOptions:
    """Where the station connects and how it behaves."""

    url: str
    """The CSMS's base URL (``ws://host:port/ocpp``); the station id is appended."""
    station_id: str
    password: str
    protocol: str = "ocpp2.1"
    meter_interval_s: float = 5.0
    speed: float = 1.0
    """Battery seconds per real second (a demo's fast battery; profiles keep real time)."""
    evse_id: int = 1
    reconnect_s: float = 1.0
    response_timeout_s: float = 10.0
    charger_max_kw: float | None = None
    """The station's own power limit, both ways (None: the EV's): not announced, so a
    profile above it shows in the composite schedule (a station rated lower than its EV)."""
    profile_rate_limit_s: float = 0.0
    """``ChargingProfileUpdateRateLimit``: a profile sooner than this after the last one is
    answered with a ``RateLimitExceeded`` CallError (0: no limit)."""
    rate_limit_reply: Literal["CallError", "Rejected"] = "CallError"
    """How a profile sent too soon is refused: the CallError, or ``status: Rejected`` with
    ``statusInfo.reasonCode: RateLimitExceeded``."""
    ssl: ssl.SSLContext | None = None
    """TLS for a ``wss://`` URL (:func:`voltpool.ocpp.tls.client_context`): the central
    system's CA, and the station's client certificate for security profile 3."""
    pull_dynamic_s: float | None = None
    """Seconds without an update after which a Dynamic profile is pulled (None: the
    profile's ``dynUpdateInterval``; real seconds, like every profile time)."""


@dataclass
class StationSim:
    """See the module docstring; ``run()`` until ``stop()``."""

    options: SimOptions
    ev: EvSpec = field(default_factory=EvSpec)
    clock: Any = wall_clock

    def __post_init__(self) -> None:
        self.version = SUBPROTOCOLS[self.options.protocol]
        self.battery = Battery(self.ev)
        self.received: list[str] = []
        self.profile: dict[str, Any] | None = None
        self.profiles_received = 0
        self.profile_changed = asyncio.Event()
        self.peer: Any = None
        self.socket: ClientConnection | None = None
        self.booted = False
        self.online = asyncio.Event()
        self.offline_since: datetime | None = None
        self.transaction_id: str | None = None
        self.seq_no = 0
        self.queued: list[Any] = []
        self.sent_events: list[Any] = []
        self._last = self.clock()
        self._commanded_w = 0.0
        self._stop = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._plugged = False
        self.connects = 0
        self.clears = 0
        self.rate_limited = 0
        self._profile_at: float | None = None
        self.allowed_modes: frozenset[str] | None = None
        """What NotifyAllowedEnergyTransfer allowed last (None: the EV's own modes)."""
        self.dynamic_updates = 0
        """UpdateDynamicSchedule messages taken (and PullDynamicScheduleUpdate answers)."""
        self.pulls = 0
        self._dynamic_at: float | None = None

    # --- the connection -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if not self.options.password:  # security profile 3: the client certificate
            return {}
        token = f"{self.options.station_id}:{self.options.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode()}

    def rate_limit(self) -> bool:
        """Whether to refuse a profile that comes sooner than ``profile_rate_limit_s`` after
        the last one taken (as EVerest does with ``ChargingProfileUpdateRateLimit``): True to
        answer ``Rejected`` (``rate_limit_reply``), else a ``RateLimitExceeded`` CallError is
        raised; False: take it."""
        now = asyncio.get_running_loop().time()
        limit = self.options.profile_rate_limit_s
        if limit > 0 and self._profile_at is not None and now - self._profile_at < limit:
            self.rate_limited += 1
            if self.options.rate_limit_reply == "Rejected":
                return True
            raise RateLimitExceededError(details={"cause": f"one profile per {limit:g} s"})
        self._profile_at = now
        return False

    def _dynamic(self) -> dict[str, Any] | None:
        """The profile's body when it is a 2.1 Dynamic one."""
        body = None if self.profile is None else self.profile.get("chargingProfile")
        return body if body and body.get("chargingProfileKind") == "Dynamic" else None

    def dynamic_update(self, profile_id: int, update: dict[str, Any]) -> bool:
        """Apply a ``scheduleUpdate`` (snake_case, as the library hands it) to the Dynamic
        profile ``profile_id``; False when the station holds no such profile."""
        body = self._dynamic()
        if body is None or body["id"] != profile_id:
            return False
        wire = to_camel(
            {"charging_profile_id": profile_id, "schedule_update": update},
            self.version,
            schema_name(self.version, "UpdateDynamicSchedule", False),
        )["scheduleUpdate"]
        assert self.profile is not None
        with_update(self.profile, wire)
        self.dynamic_updates += 1
        self._dynamic_at = asyncio.get_running_loop().time()
        self.profile_changed.set()
        return True

    async def _pull_dynamic(self) -> None:
        """Ask for the Dynamic profile's value when no update came within its interval."""
        body = self._dynamic()
        if body is None or not self.online.is_set():
            return
        every_s = self.options.pull_dynamic_s or body.get("dynUpdateInterval")
        now = asyncio.get_running_loop().time()
        if self._dynamic_at is None:
            self._dynamic_at = now
        if not every_s or now - self._dynamic_at < every_s:
            return
        self._dynamic_at = now
        self.pulls += 1
        answer = await self._call(
            CALLS["2.1"].PullDynamicScheduleUpdate(charging_profile_id=body["id"])
        )
        if answer.status == "Accepted" and answer.schedule_update:
            self.dynamic_update(body["id"], answer.schedule_update)

    def limits_w(self) -> tuple[float, float]:
        """(most charging, most discharging) power now, W: the EV's and the station's
        limits, no discharge when the EV or the allowed energy transfer modes forbid it."""
        ev = self.ev
        charger_kw = self.options.charger_max_kw
        charge_kw = ev.max_charge_kw if charger_kw is None else min(ev.max_charge_kw, charger_kw)
        discharge_kw = (
            ev.max_discharge_kw if charger_kw is None else min(ev.max_discharge_kw, charger_kw)
        )
        allowed = self.allowed_modes
        if not ev.bidirectional or (allowed is not None and not allowed & BIDIRECTIONAL):
            discharge_kw = 0.0
        return charge_kw * 1000.0, discharge_kw * 1000.0

    def composite(self, duration_s: int) -> dict[str, Any]:
        """What the station will do in the next ``duration_s`` (``GetCompositeSchedule``): its
        profile's periods from now, within its limits (no profile: full charge)."""
        now = self.clock().replace(microsecond=0)
        charge_w, discharge_w = self.limits_w()
        starts = [0]
        if self.profile is not None:
            body = self.profile.get("chargingProfile") or self.profile["csChargingProfiles"]
            schedule = body["chargingSchedule"]
            schedule = schedule[0] if isinstance(schedule, list) else schedule
            if "startSchedule" in schedule:  # absolute: every period that starts in it
                begin = datetime.fromisoformat(schedule["startSchedule"].replace("Z", "+00:00"))
                for period in schedule["chargingSchedulePeriod"]:
                    offset = int((begin - now).total_seconds()) + period["startPeriod"]
                    if 0 < offset < duration_s:
                        starts.append(offset)
        periods = []
        for offset in starts:
            said = (
                None
                if self.profile is None
                else power_at_w(self.profile, now + timedelta(seconds=offset), self.version)
            )
            if said is None:
                periods.append({"start_period": offset, "limit": charge_w})
            elif said[0] == "setpoint":
                setpoint = min(max(said[1], -discharge_w), charge_w)
                periods.append(
                    {
                        "start_period": offset,
                        "operation_mode": "CentralSetpoint",
                        "setpoint": setpoint,
                    }
                )
            elif said[0] == "limits":
                watts = min(max(said[1], -discharge_w), charge_w)
                periods.append(
                    {
                        "start_period": offset,
                        "operation_mode": "ExternalLimits",
                        "limit": max(watts, 0.0),
                        "discharge_limit": min(watts, 0.0),
                    }
                )
            else:
                periods.append({"start_period": offset, "limit": min(max(said[1], 0.0), charge_w)})
        return {
            "evse_id": self.options.evse_id,
            "duration": duration_s,
            "schedule_start": _stamp(now),
            "charging_rate_unit": "W",
            "charging_schedule_period": periods,
        }

    async def run(self) -> None:
        """Connect, boot, plug the EV in and follow; reconnect when the link drops."""
        meter = asyncio.create_task(self._meter_loop())
        try:
            while not self._stop.is_set():
                try:
                    await self._connected()
                except (OSError, ConnectionClosed, TimeoutError) as error:
                    log.info("%s: offline (%s)", self.options.station_id, error)
                self._went_offline()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.options.reconnect_s)
        finally:
            meter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meter

    async def _connected(self) -> None:
        url = f"{self.options.url.rstrip('/')}/{self.options.station_id}"
        async with connect(
            url,
            subprotocols=[self.options.protocol],  # type: ignore[list-item]
            additional_headers=self._headers(),
            compression=None,
            ssl=self.options.ssl,
        ) as socket:
            self.socket = socket
            peer = PEERS[self.version](
                self.options.station_id, socket, response_timeout=self.options.response_timeout_s
            )
            peer.sim = self
            self.peer = peer
            reader = asyncio.create_task(peer.start())
            try:
                self.connects += 1
                if not self.booted:
                    await self._boot()
                self.online.set()
                self.offline_since = None
                await self._flush_queue()
                if not self._plugged:
                    await self.plug_in()
                stopped = asyncio.create_task(self._stop.wait())
                await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
            finally:
                self.online.clear()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await reader
                self.socket = None

    def _went_offline(self) -> None:
        self.online.clear()
        if self.offline_since is None:
            self.offline_since = self.clock()

    async def drop(self) -> None:
        """Lose the connection (the station reconnects after ``reconnect_s``)."""
        if self.socket is not None:
            await self.socket.close()

    def stop(self) -> None:
        self._stop.set()

    async def _call(self, payload: Any) -> Any:
        return await self.peer.call(payload, suppress=False)

    # --- messages -------------------------------------------------------------------------

    async def _boot(self) -> None:
        c = CALLS[self.version]
        if self.version == "1.6":
            answer = await self._call(
                c.BootNotification(charge_point_model="sim", charge_point_vendor="voltpool")
            )
            await self._call(
                c.StatusNotification(
                    connector_id=self.options.evse_id, error_code="NoError", status="Available"
                )
            )
        else:
            answer = await self._call(
                c.BootNotification(
                    charging_station={"model": "sim", "vendor_name": "voltpool"},
                    reason="PowerUp",
                )
            )
            await self._status("Available")
        self.booted = answer.status == "Accepted"

    async def _status(self, status: str) -> None:
        c = CALLS[self.version]
        if self.version == "1.6":  # 1.6 has no "Occupied": a plugged-in EV is "Preparing"
            status = {"Occupied": "Preparing"}.get(status, status)
            await self._call(
                c.StatusNotification(
                    connector_id=self.options.evse_id, error_code="NoError", status=status
                )
            )
            return
        await self._call(
            c.StatusNotification(
                timestamp=_stamp(self.clock()),
                connector_status=status,
                evse_id=self.options.evse_id,
                connector_id=1,
            )
        )

    def _meter(self, context: str) -> list[dict[str, Any]]:
        b = self.battery
        if self.version == "1.6":
            values = [
                ("Energy.Active.Import.Register", round(b.import_wh, 1), "Wh"),
                ("Energy.Active.Export.Register", round(b.export_wh, 1), "Wh"),
                ("Power.Active.Import", round(max(b.power_w, 0.0), 1), "W"),
                ("Power.Active.Export", round(max(-b.power_w, 0.0), 1), "W"),
                ("SoC", round(b.soc * 100, 2), "Percent"),
            ]
            sampled = [
                {"value": str(v), "measurand": m, "unit": u, "context": context}
                for m, v, u in values
            ]
            return [{"timestamp": _stamp(self.clock()), "sampled_value": sampled}]
        values = [
            ("Energy.Active.Import.Register", round(b.import_wh, 3), "Wh"),
            ("Energy.Active.Export.Register", round(b.export_wh, 3), "Wh"),
            ("Power.Active.Import", round(max(b.power_w, 0.0), 1), "W"),
            ("Power.Active.Export", round(max(-b.power_w, 0.0), 1), "W"),
            ("SoC", round(b.soc * 100, 3), "Percent"),
        ]
        sampled = [
            {"value": v, "measurand": m, "context": context, "unit_of_measure": {"unit": u}}
            for m, v, u in values
        ]
        return [{"timestamp": _stamp(self.clock()), "sampled_value": sampled}]

    async def plug_in(self) -> None:
        """The EV arrives: occupied, a transaction, its needs."""
        self._plugged = True
        self._advance()
        await self._status("Occupied")
        c = CALLS[self.version]
        if self.version == "1.6":
            answer = await self._call(
                c.StartTransaction(
                    connector_id=self.options.evse_id,
                    id_tag="voltpool-sim",
                    meter_start=int(self.battery.import_wh),
                    timestamp=_stamp(self.clock()),
                )
            )
            self.transaction_id = str(answer.transaction_id)
            return
        self.transaction_id = uuid.uuid4().hex[:36]
        self.seq_no = 0
        await self._transaction_event("Started", "CablePluggedIn", "Transaction.Begin")
        await self._call(
            c.NotifyEVChargingNeeds(evse_id=self.options.evse_id, charging_needs=self.needs())
        )

    def needs(self) -> dict[str, Any]:
        ev = self.ev
        departure = _stamp(self.clock() + timedelta(hours=ev.stay_h))
        if self.version == "2.0.1":
            return {
                "requested_energy_transfer": "AC_three_phase",
                "departure_time": departure,
                "ac_charging_parameters": {
                    "energy_amount": int(
                        max(ev.soc_target - self.battery.soc, 0) * ev.capacity_kwh * 1000
                    ),
                    "ev_min_current": 6,
                    "ev_max_current": 16,
                    "ev_max_voltage": 400,
                },
            }
        params: dict[str, Any] = {
            "max_charge_power": ev.max_charge_kw * 1000.0,
            "min_charge_power": 0.0,
            "target_soc": round(ev.soc_target * 100),
            "ev_target_energy_request": max(ev.soc_target - self.battery.soc, 0)
            * ev.capacity_kwh
            * 1000.0,
        }
        mode = "AC_three_phase"
        if ev.bidirectional:
            mode = "AC_BPT"
            params |= {
                "max_discharge_power": ev.max_discharge_kw * 1000.0,
                "min_discharge_power": 0.0,
                "ev_min_v2x_energy_request": -(self.battery.soc - ev.soc_min)
                * ev.capacity_kwh
                * 1000.0,
                "ev_max_v2x_energy_request": (1.0 - self.battery.soc) * ev.capacity_kwh * 1000.0,
            }
        return {
            "requested_energy_transfer": mode,
            "available_energy_transfer": [mode],
            "departure_time": departure,
            "v2x_charging_parameters": params,
        }

    async def _transaction_event(self, event_type: str, trigger: str, context: str) -> None:
        c = CALLS[self.version]
        info: dict[str, Any] = {"transaction_id": self.transaction_id}
        if event_type == "Ended":
            info["stopped_reason"] = "EVDisconnected"
        event = c.TransactionEvent(
            event_type=event_type,
            timestamp=_stamp(self.clock()),
            trigger_reason=trigger,
            seq_no=self.seq_no,
            transaction_info=info,
            evse={"id": self.options.evse_id, "connector_id": 1},
            meter_value=self._meter(context),
        )
        self.seq_no += 1
        await self._send_event(event)

    async def _send_event(self, event: Any) -> None:
        """Send ``event`` after every one queued before it; offline, queue it."""
        if not self.online.is_set():
            event.offline = True
        self.queued.append(event)
        await self._flush_queue()

    async def _flush_queue(self) -> None:
        """Send the queued events in order while online; one that fails stays first."""
        async with self._flush_lock:
            while self.queued and self.online.is_set():
                event = self.queued[0]
                try:
                    await self._call(event)
                except (ConnectionClosed, TimeoutError):
                    event.offline = True  # sent again on reconnect, same seqNo
                    return
                self.sent_events.append(self.queued.pop(0))

    async def resend_last_event(self) -> None:
        """Send the last transaction event again, as a station that lost its answer does."""
        await self._call(self.sent_events[-1])

    async def unplug(self) -> None:
        self._advance()
        self._plugged = False
        if self.version == "1.6":
            await self._call(
                CALLS["1.6"].StopTransaction(
                    meter_stop=int(self.battery.import_wh),
                    timestamp=_stamp(self.clock()),
                    transaction_id=int(self.transaction_id or 0),
                    reason="EVDisconnected",
                )
            )
        else:
            await self._transaction_event("Ended", "EVDeparted", "Transaction.End")
        await self._status("Available")

    # --- physics --------------------------------------------------------------------------

    def wanted_power_w(self, at: datetime) -> float:
        """What the station draws at ``at`` (+ charging): the profile, or full charge."""
        profile = self.profile
        if profile is not None and self.version == "2.1" and self.offline_since is not None:
            body = profile["chargingProfile"]
            limit_s = body.get("maxOfflineDuration")
            gone_s = (at - self.offline_since).total_seconds()
            if body.get("invalidAfterOfflineDuration") and limit_s is not None and gone_s > limit_s:
                self.profile = profile = None  # voltpool is gone: drop its profile
        below_target = self.battery.soc < self.ev.soc_target - 1e-9
        said = None if profile is None else power_at_w(profile, at, self.version)
        if said is None:
            return self.limits_w()[0] if below_target else 0.0
        kind, watts = said
        charge_w, discharge_w = self.limits_w()
        if kind in ("setpoint", "limits"):  # limits: its controller goes to the bound
            return min(max(watts, -discharge_w), charge_w)
        return min(max(watts, 0.0), charge_w) if below_target else 0.0

    def _advance(self) -> None:
        """Run the battery from the last step to now at the power in force since, then
        decide the power from now on."""
        now = self.clock()
        seconds = max((now - self._last).total_seconds(), 0.0) * self.options.speed
        self._last = now
        self.battery.run(self._commanded_w, seconds)
        self._commanded_w = self.wanted_power_w(now) if self._plugged else 0.0
        self.battery.run(self._commanded_w, 0.0)

    async def _meter_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.meter_interval_s)
            self._advance()
            if not self._plugged or self.transaction_id is None:
                continue
            if self.version == "2.1":
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    await self._pull_dynamic()
            try:
                if self.version == "1.6":
                    if self.online.is_set():
                        await self._call(
                            CALLS["1.6"].MeterValues(
                                connector_id=self.options.evse_id,
                                transaction_id=int(self.transaction_id),
                                meter_value=self._meter("Sample.Periodic"),
                            )
                        )
                else:
                    await self._transaction_event(
                        "Updated", "MeterValuePeriodic", "Sample.Periodic"
                    )
            except (ConnectionClosed, TimeoutError):
                continue
            except Exception:
                log.exception("%s: metering failed", self.options.station_id)
