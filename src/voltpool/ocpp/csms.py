"""The central system (CSMS): a WebSocket server for charging stations, in the event loop of
``voltpool serve`` (or its own, ``voltpool ocpp``), on the service's database and planner.

    csms = CentralSystem(state, CsmsOptions(port=9000))
    await csms.start()          # ws://HOST:9000/ocpp/{station id}
    ...
    await csms.stop()

- **Connecting**: a station opens ``/ocpp/{its id}`` offering ``ocpp2.1``, ``ocpp2.0.1`` or
  ``ocpp1.6`` (the first of those it offers, in that order, is taken; none: HTTP 400), with
  HTTP basic auth, username = its id (security profile 1; profile 2 is the same behind TLS).
  An unknown station, another username or a wrong password: HTTP 401 at the upgrade, before
  any OCPP. The message set is the negotiated version's (:mod:`voltpool.ocpp.handlers`).
- **One connection per station**: a station that connects again replaces its old socket
  (closed, code 1000), never locked out.
- **Commands**: each stored plan of a community (the planner's :class:`EventHub` event)
  wakes the pusher of every connected station of it; the pusher makes the car's profile
  (:mod:`voltpool.ocpp.profiles`), stores it as the EVSE's wanted one, and sends it when it
  changed, or always after a boot or a reconnect. One call at a time per station (the
  library's lock), ``call_timeout_s`` per try, ``call_tries`` tries; a wake while a push
  runs makes one more push after it with the newest plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.orm import Session
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHeader, NegotiationError
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response

from voltpool.api.deps import AppState
from voltpool.api.store.tables import CarPlan, OcppTransaction, Plan
from voltpool.ocpp import records
from voltpool.ocpp.handlers import Station16, Station21, Station201, StationLink
from voltpool.ocpp.keys import schema_name, to_camel, to_snake
from voltpool.ocpp.peer import SUBPROTOCOLS
from voltpool.ocpp.profiles import MAX_OFFLINE_S, Setpoints, charging_profile, idle_profile

log = logging.getLogger("voltpool.ocpp")
PATH_PREFIX = "/ocpp/"
REALM = "voltpool OCPP"
STATIONS = {"2.1": Station21, "2.0.1": Station201, "1.6": Station16}


@dataclass(frozen=True)
class CsmsOptions:
    """Where the central system listens and how it talks to stations."""

    host: str = "127.0.0.1"
    port: int = 9000
    """0: any free port (:attr:`CentralSystem.port` says which)."""
    heartbeat_s: int = 300
    """The heartbeat interval a booting station is given."""
    call_timeout_s: float = 10.0
    call_tries: int = 3
    max_offline_s: int = MAX_OFFLINE_S
    """``maxOfflineDuration`` of every 2.1 profile."""
    ping_interval_s: float | None = 30.0
    """WebSocket pings (a station that stops answering is dropped after as long again)."""


@dataclass
class Connection:
    """A connected station: its protocol end and the task that pushes its profile."""

    link: StationLink
    socket: ServerConnection
    wanted: asyncio.Event = field(default_factory=asyncio.Event)
    force: bool = False
    pusher: asyncio.Task[None] | None = None
    pushes: int = 0
    """Profiles sent (tests wait on it)."""


class CentralSystem:
    """See the module docstring."""

    def __init__(self, state: AppState, options: CsmsOptions | None = None) -> None:
        self.state = state
        self.options = options or CsmsOptions()
        self.connections: dict[str, Connection] = {}
        self._server: Server | None = None
        self._follower: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return next(iter(self._server.sockets)).getsockname()[1]

    async def start(self) -> None:
        self._server = await serve(
            self._serve,
            self.options.host,
            self.options.port,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            select_subprotocol=_select_subprotocol,
            process_request=self._authenticate,
            ping_interval=self.options.ping_interval_s,
            ping_timeout=self.options.ping_interval_s,
            compression=None,
        )
        self._follower = asyncio.create_task(self._follow_plans(), name="voltpool-ocpp-plans")
        log.info(
            "OCPP central system on ws://%s:%d%s{id}", self.options.host, self.port, PATH_PREFIX
        )

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- the upgrade ----------------------------------------------------------------------

    async def _authenticate(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse (HTTP) a path that names no station, and an unknown station or a wrong
        password (401), before the WebSocket opens."""
        path = request.path.split("?", 1)[0]
        if not path.startswith(PATH_PREFIX) or "/" in path[len(PATH_PREFIX) :]:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "connect to /ocpp/{station id}\n")
        station_id = unquote(path[len(PATH_PREFIX) :])
        try:
            username, password = parse_authorization_basic(request.headers["Authorization"])
        except (KeyError, InvalidHeader):
            return _unauthorized(connection, "HTTP basic auth required: station id and password")
        if username != station_id:
            return _unauthorized(connection, "the username must be the station id")

        def check() -> records.StationInfo | None:
            with self.state.read_sessions() as db:
                return records.authenticate(db, station_id, password)

        station = await asyncio.to_thread(check)
        if station is None:
            return _unauthorized(connection, "unknown station or wrong password")
        connection.username = station_id
        connection.station = station  # type: ignore[attr-defined]
        return None

    # --- a connection -----------------------------------------------------------------------

    async def _serve(self, socket: ServerConnection) -> None:
        info: records.StationInfo = socket.station  # type: ignore[attr-defined]
        version = SUBPROTOCOLS[socket.subprotocol or ""]
        link = STATIONS[version](info.id, socket, response_timeout=self.options.call_timeout_s)
        link.bind(self, info)
        now = self.state.settings.clock.now()
        await link.db(records.connected, info.id, socket.subprotocol or "", now)
        link.evse_id = await link.db(_last_evse, info.id)
        old = self.connections.get(info.id)
        here = Connection(link, socket)
        self.connections[info.id] = here
        if old is not None:  # the station came back: its new socket wins
            log.info("%s reconnected: closing its old connection", info.id)
            await _close(old)
        here.pusher = asyncio.create_task(self._pusher(here), name=f"voltpool-ocpp-{info.id}")
        if info.booted:  # a known station back without a boot: it may have missed plans
            self.wake(info.id, force=True)
        try:
            await link.start()
        except ConnectionClosed:
            pass
        finally:
            if self.connections.get(info.id) is here:
                del self.connections[info.id]
            here.pusher.cancel()

    def wake(self, station_id: str, force: bool = False) -> None:
        """Make (and send) the station's profile soon; ``force``: send even if unchanged."""
        here = self.connections.get(station_id)
        if here is not None:
            here.force = here.force or force
            here.wanted.set()

    async def _follow_plans(self) -> None:
        async with self.state.events.subscribe() as queue:
            while True:
                event = await queue.get()
                if event.get("type") == "closing":
                    return
                community = event.get("community_id")
                for station_id, here in list(self.connections.items()):
                    if here.link.info.community_id == community:
                        self.wake(station_id)

    async def _pusher(self, here: Connection) -> None:
        while True:
            await here.wanted.wait()
            here.wanted.clear()
            force, here.force = here.force, False
            try:
                await self.push(here, force)
            except ConnectionClosed:
                return
            except Exception:  # the next plan tries again
                log.exception("%s: sending its profile failed", here.link.id)

    async def push(self, here: Connection, force: bool = False) -> str | None:
        """Make the station's profile from its car's plan, store it, send it if it changed
        (or ``force``); the station's answer (None: nothing sent)."""
        link = here.link
        bidirectional = link.bidirectional.get(link.evse_id, False)
        wire, changed = await link.db(
            self.wanted_profile, link.info, link.version, link.evse_id, bidirectional
        )
        if not (changed or force):
            return None
        payload = link._call.SetChargingProfile(**to_snake(wire))  # type: ignore[attr-defined]
        answer = await link.request(payload, tries=self.options.call_tries)
        status = answer.status
        here.pushes += 1
        await link.db(
            records.profile_answered,
            link.id,
            link.evse_id,
            wire,
            status,
            self.state.settings.clock.now(),
        )
        if status != "Accepted":
            log.warning("%s refused its profile: %s", link.id, answer)
        return status

    def wanted_profile(
        self,
        db: Session,
        station: records.StationInfo,
        version: str,
        evse_id: int,
        bidirectional: bool,
    ) -> tuple[dict[str, Any], bool]:
        """The wire ``SetChargingProfile`` the EVSE should have now, stored; whether it
        differs from the one stored before."""
        now = self.state.settings.clock.now()
        plan_id, plan = car_setpoints(db, station, self.state.settings.slot_minutes)
        if plan is None:
            snake = idle_profile(version, evse_id, now, bidirectional)
        else:
            snake = charging_profile(
                plan,
                version,
                evse_id,
                bidirectional=bidirectional,
                max_offline_s=self.options.max_offline_s,
            )
        wire = to_camel(snake, version, schema_name(version, "SetChargingProfile", False))
        row, changed = records.want_profile(db, station.id, evse_id, version, wire, plan_id, now)
        return wire, changed or row.status != "Accepted"


def car_setpoints(
    db: Session, station: records.StationInfo, slot_minutes: int
) -> tuple[str | None, Setpoints | None]:
    """The newest applied plan of the station's community and its car's part (None: the car
    is not in it, not plugged in, or the station serves no car)."""
    if station.car_id is None:
        return None, None
    plan = db.execute(
        sa.select(Plan.id, Plan.start)
        .where(Plan.community_id == station.community_id, Plan.applied.is_(True))
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    ).first()
    if plan is None:
        return None, None
    view = db.get(CarPlan, (plan.id, station.car_id))
    if view is None:
        return plan.id, None
    return plan.id, Setpoints.from_view(plan.start, slot_minutes, view.view)


def _last_evse(db: Session, station_id: str) -> int:
    evse = db.scalar(
        sa.select(OcppTransaction.evse_id)
        .where(OcppTransaction.station_id == station_id)
        .order_by(OcppTransaction.id.desc())
        .limit(1)
    )
    return 1 if evse is None else int(evse)


def _select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    for protocol in SUBPROTOCOLS:
        if protocol in offered:
            return protocol
    raise NegotiationError(f"offer one of {', '.join(SUBPROTOCOLS)}")


def _unauthorized(connection: ServerConnection, text: str) -> Response:
    response = connection.respond(http.HTTPStatus.UNAUTHORIZED, text + "\n")
    response.headers["WWW-Authenticate"] = build_www_authenticate_basic(REALM)
    return response


async def _close(old: Connection) -> None:
    if old.pusher is not None:
        old.pusher.cancel()
    with contextlib.suppress(Exception):
        await old.socket.close(code=1000, reason="replaced by a new connection")
