"""The central system (CSMS): a WebSocket server for charging stations, in the event loop of
``voltpool serve`` (or its own, ``voltpool ocpp``), on the service's database and planner.

    csms = CentralSystem(state, CsmsOptions(port=9000))
    await csms.start()          # ws://HOST:9000/ocpp/{station id}
    ...
    await csms.stop()

- **Connecting**: a station opens ``/ocpp/{its id}`` offering ``ocpp2.1``, ``ocpp2.0.1`` or
  ``ocpp1.6`` (the first of those it offers, in that order, is taken; none: HTTP 400), with
  HTTP basic auth, username = its id (security profile 1; profile 2 the same over TLS,
  ``CsmsOptions.tls``), or a TLS client certificate whose CN or DNS name is its id (profile
  3, :mod:`voltpool.ocpp.tls`). An unknown station, another username or a wrong password:
  HTTP 401 at the upgrade, before any OCPP; a certificate of another station: 403; one no
  trusted CA signed: refused at the TLS handshake. The message set is the negotiated
  version's (:mod:`voltpool.ocpp.handlers`).
- **One connection per station**: a station that connects again replaces its old socket
  (closed, code 1000), never locked out.
- **Commands**: each stored plan of a community (the planner's :class:`EventHub` event)
  wakes the pusher of every connected station of it; the pusher sends what the station
  should have (:mod:`voltpool.ocpp.commands`: the allowed energy transfer, the car's profile
  or a clear, the composite-schedule check), stored per EVSE, when it changed, or always
  after a boot or a reconnect. One call at a time per station (the library's lock),
  ``call_timeout_s`` per try, ``call_tries`` tries, ``RateLimitExceeded`` waited out; a wake
  while a push runs makes one more push after it with the newest plan.
- **Restarts**: starting, it books every ended transaction not settled yet
  (:mod:`voltpool.ocpp.settlement`); a station that reconnects gets its wanted profile again
  and, from the stored transaction, its EV's bidirectional mode.
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
from voltpool.api.store.tables import OcppTransaction
from voltpool.ocpp import commands, records, settlement, tls
from voltpool.ocpp.batch import WriteBatch
from voltpool.ocpp.handlers import Station16, Station21, Station201, StationLink
from voltpool.ocpp.peer import SUBPROTOCOLS, RateLimitExceededError
from voltpool.ocpp.profiles import MAX_OFFLINE_S

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
    rate_limit_wait_s: float = 1.0
    """After a ``RateLimitExceeded`` answer, wait this long (times the try) and try again."""
    rate_limit_tries: int = 5
    tls: tls.ServerTls | None = None
    """TLS (``wss://``): security profile 2, and 3 with a client CA (:mod:`voltpool.ocpp.tls`)."""


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
        self.writes = WriteBatch(state.sessions)
        """The pushes' database writes, many stations' to a transaction."""
        self._server: Server | None = None
        self._follower: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def url(self) -> str:
        """The base URL stations connect to (their id appended)."""
        scheme = "ws" if self.options.tls is None else "wss"
        return f"{scheme}://{self.options.host}:{self.port}{PATH_PREFIX.rstrip('/')}"

    async def start(self) -> None:
        state = self.state
        now = state.settings.clock.now()
        booked = await asyncio.to_thread(
            settlement.settle_unsettled, state.sessions, state.ledger, now
        )
        if booked:
            log.info("settled %d transactions that ended before a restart", booked)
        self._server = await serve(
            self._serve,
            self.options.host,
            self.options.port,
            ssl=None if self.options.tls is None else self.options.tls.context(),
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            select_subprotocol=_select_subprotocol,
            process_request=self._authenticate,
            ping_interval=self.options.ping_interval_s,
            ping_timeout=self.options.ping_interval_s,
            compression=None,
        )
        self._follower = asyncio.create_task(self._follow_plans(), name="voltpool-ocpp-plans")
        log.info("OCPP central system on %s/{id}", self.url)

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
        certificate = connection.transport.get_extra_info("peercert")
        if certificate:  # security profile 3: the TLS client certificate is the station's
            return await self._by_certificate(connection, station_id, certificate)
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

    async def _by_certificate(
        self, connection: ServerConnection, station_id: str, certificate: dict[str, Any]
    ) -> Response | None:
        """Security profile 3 (OCPP 2.1 Part 2, A "Security": TLS with client-side
        certificates): the CA verified the certificate at the handshake; its CN or a DNS
        name must be the station id (else 403), and the station registered (else 401)."""
        if not tls.names_station(certificate, station_id):
            return connection.respond(
                http.HTTPStatus.FORBIDDEN, "the client certificate is not this station's\n"
            )

        def find() -> records.StationInfo | None:
            with self.state.read_sessions() as db:
                return records.registered(db, station_id)

        station = await asyncio.to_thread(find)
        if station is None:
            return _unauthorized(connection, "unknown station")
        connection.username = station_id
        connection.station = station  # type: ignore[attr-defined]
        return None

    # --- a connection -----------------------------------------------------------------------

    async def _serve(self, socket: ServerConnection) -> None:
        info: records.StationInfo = socket.station  # type: ignore[attr-defined]
        version = SUBPROTOCOLS[socket.subprotocol or ""]
        link = STATIONS[version](info.id, socket, response_timeout=self.options.call_timeout_s)
        link.bind(self, info)
        link.rate_limit_wait_s = self.options.rate_limit_wait_s
        link.rate_limit_tries = self.options.rate_limit_tries
        now = self.state.settings.clock.now()
        await link.db(records.connected, info.id, socket.subprotocol or "", now)
        link.evse_id, link.bidirectional = await link.db(_evses, info.id, version)
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

    def _wake_if_current(self, here: Connection) -> None:
        if self.connections.get(here.link.id) is here:
            self.wake(here.link.id, force=True)

    async def _pusher(self, here: Connection) -> None:
        while True:
            await here.wanted.wait()
            here.wanted.clear()
            force, here.force = here.force, False
            try:
                await commands.push(self, here, force)
            except ConnectionClosed:
                return
            except RateLimitExceededError:  # still too soon after every try: later, again
                later_s = self.options.rate_limit_wait_s * self.options.rate_limit_tries
                log.warning("%s: rate-limited, sending again in %g s", here.link.id, later_s)
                loop = asyncio.get_running_loop()
                loop.call_later(later_s, self._wake_if_current, here)
            except Exception:  # the next plan tries again
                log.exception("%s: sending its profile failed", here.link.id)


def _evses(db: Session, station_id: str, version: str) -> tuple[int, dict[int, bool]]:
    """The EVSE the car is on (the last transaction's; 1 before any) and, per EVSE with a
    transaction going on, whether its EV announced a bidirectional mode (2.1), as stored:
    a central system that restarts resumes control as it was."""
    evse = db.scalar(
        sa.select(OcppTransaction.evse_id)
        .where(OcppTransaction.station_id == station_id)
        .order_by(OcppTransaction.id.desc())
        .limit(1)
    )
    bidirectional = {
        tx.evse_id: bool(tx.ev_bidirectional)
        for tx in records.open_transactions(db, station_id)
        if version == "2.1" and tx.ev_bidirectional is not None
    }
    return (1 if evse is None else int(evse)), bidirectional


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
