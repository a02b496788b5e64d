"""The live planner: one controller per community, re-planned on a slot tick and at once on
every event (plug-in, departure or target change, unplug, rule change, grid event, a V2V
agreement made or ended); the slot tick also settles, expires and matches V2V
(:func:`voltpool.api.v2v.tick`).

Each re-plan reads the community's plugged-in cars from the database, builds the one
controller of :mod:`voltpool.control` (the simulator's) on them with the community's
forecast (:mod:`voltpool.api.forecast`), solves in a worker thread so the event loop and the
API stay responsive, and stores the plan with its inputs (problem format v1) and its schedule
so it can be replayed. The controller verifies every plan independently; a plan that fails is
stored as not applied, with the reason, and the last applied plan stays the answer. Each
community's LP starts from the simplex basis of its previous plan (:class:`WarmStarts`), so a
re-plan after one event costs a fraction of a cold solve (the schedule's ``solver.start``
says how it started).

Events that arrive while a community is being planned are coalesced: one more re-plan follows
with the newest state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voltpool.api.charge_now import charge_now_goal
from voltpool.api.events import Publisher
from voltpool.api.forecast import CommunityForecast, EventWindow
from voltpool.api.history import history_kwh, month_peak_kw, record_slot
from voltpool.api.limits import limits_kw
from voltpool.api.outages import cuts_off, islanded_home_ids
from voltpool.api.plan_views import car_views, site_view
from voltpool.api.settings import ServeSettings
from voltpool.api.store.tables import (
    Car,
    CarPlan,
    Community,
    GridEvent,
    Home,
    Plan,
    PlugSession,
)
from voltpool.api.v2v import planner_inputs, tick
from voltpool.control import CarTable, Controller, Observation, PlanningConfig, V2VInputs
from voltpool.io import problem_to_dict, schedule_to_dict
from voltpool.ledger import Ledger
from voltpool.model import SlotGrid
from voltpool.model.rules import OwnerRules
from voltpool.model.tariff import PeakBilling
from voltpool.model.tariffs import RetailTariff, tariff_preset
from voltpool.schedule import Basis

log = logging.getLogger("voltpool.planner")
MAX_SLOTS_PER_TICK = 96
"""At most this many ended slots are booked at one tick (a clock that jumped a day)."""


@dataclass(frozen=True, eq=False)
class SiteSnapshot:
    """A community's state at ``now``: its homes, its plugged-in cars with their sessions
    and their V2G history ``[N, 7]`` (:func:`voltpool.api.history.history_kwh`)."""

    community: Community
    homes: tuple[Home, ...]
    cars: tuple[tuple[Car, PlugSession], ...]
    now: datetime
    v2g_kwh_history: np.ndarray
    events: tuple[EventWindow, ...] = ()
    v2v: V2VInputs | None = None
    """Running V2V agreements between the cars and what their open offers keep."""
    peak_so_far_kw: float = 0.0
    """The highest site import of the local month so far (:func:`month_peak_kw`). [kW]"""
    islanded_home_ids: frozenset[str] = frozenset()
    """Homes an outage cuts off now: their cars are not the plan's (V2H powers the house,
    :mod:`voltpool.api.outages`)."""


def _event_window(event: GridEvent, homes: tuple[Home, ...]) -> EventWindow:
    off_kw = 0.0
    if event.kind == "outage":
        off_kw = sum(h.house_load_kw for h in homes if cuts_off(event, h.id))
    return EventWindow(
        pd.Timestamp(event.start),
        pd.Timestamp(event.end),
        event.import_limit_kw,
        event.export_limit_kw,
        event.price_per_kwh,
        off_kw,
    )


def read_site(
    db: Session, community_id: str, now: datetime, slot_minutes: int = 15
) -> SiteSnapshot | None:
    community = db.get(Community, community_id)
    if community is None:
        return None
    homes = tuple(db.scalars(sa.select(Home).where(Home.community_id == community_id)))
    rows = db.execute(
        sa.select(Car, PlugSession)
        .join(Home, Car.home_id == Home.id)
        .join(PlugSession, PlugSession.car_id == Car.id)
        .where(
            Home.community_id == community_id,
            PlugSession.ended_at.is_(None),
            PlugSession.departure > now,
        )
        .order_by(Car.id)
    ).all()
    today = now.astimezone(ZoneInfo(community.timezone)).date()
    history = history_kwh(db, [car.id for car, _ in rows], today)
    events = tuple(
        _event_window(e, homes)
        for e in db.scalars(
            sa.select(GridEvent).where(GridEvent.community_id == community_id, GridEvent.end > now)
        )
    )
    cars = tuple((car, s) for car, s in rows)
    origin = pd.Timestamp(now).floor(pd.Timedelta(minutes=slot_minutes)).to_pydatetime()
    v2v = planner_inputs(db, community_id, [c for c, _ in cars], now, origin, slot_minutes)
    peak_kw = month_peak_kw(db, community, now)
    islanded = islanded_home_ids(db, community_id, homes, now)
    return SiteSnapshot(community, homes, cars, now, history, events, v2v, peak_kw, islanded)


def _rules(cars: tuple[tuple[Car, PlugSession], ...]) -> OwnerRules | None:
    """The owners' rules; a car on "charge now" may not discharge before it leaves."""
    records = []
    for car, plug in cars:
        record = dict(car.rules) if car.rules else None
        if plug.charge_now:
            record = (record or {}) | {"no_discharge_until": plug.departure.isoformat()}
        records.append(record)
    return OwnerRules.from_records(records)


def _goal(
    car: Car, plug: PlugSession, clock: SlotGrid, settings: ServeSettings
) -> tuple[int, float]:
    """The slot the plan must reach the car's target by and that target: its departure and
    the session's, or on "charge now" the full-power steps of :func:`voltpool.api.charge_now.
    charge_now_goal`."""
    leaves = int(clock.end_slot(pd.Timestamp(plug.departure)))
    if not plug.charge_now:
        return leaves, plug.soc_target
    slots, target = charge_now_goal(
        car.soc_now,
        plug.soc_target,
        car.capacity_kwh,
        limits_kw(car, plug)[0],
        car.charge_efficiency,
        settings.slot_minutes / 60,
    )
    return (slots, target) if slots <= leaves else (leaves, plug.soc_target)


@dataclass(frozen=True)
class SitePlan:
    """A re-plan's result, ready to store."""

    start: datetime
    problem: dict
    schedule: dict
    applied: bool
    notes: dict
    solve_s: float
    basis: Basis | None = None
    """The simplex basis of the plan's LP, to warm-start the community's next re-plan."""


class WarmStarts:
    """The last LP basis of each community, to warm-start its next re-plan from
    (:meth:`voltpool.control.Controller.plan`): after one event (a plug-in, a new departure
    or target, a grid event) the LP re-solves in a fraction of a cold solve's time with the
    same optimum (``bench/bench_warm.py``). A re-plan whose horizon starts ``n`` slots later
    takes the basis shifted by ``n``. Used from the planner's one worker thread only."""

    def __init__(self, slot_minutes: int) -> None:
        self._slot = pd.Timedelta(minutes=slot_minutes)
        self._bases: dict[str, tuple[pd.Timestamp, Basis]] = {}

    def get(self, community_id: str, origin: pd.Timestamp) -> Basis | None:
        """The basis to start ``community_id``'s plan from slot ``origin``, if any."""
        kept = self._bases.get(community_id)
        if kept is None:
            return None
        start, basis = kept
        moved = int((origin - start) / self._slot)
        if moved < 0:
            return None
        return basis.shifted(moved) if moved else basis

    def keep(self, community_id: str, planned: SitePlan) -> None:
        if planned.basis is None:
            self._bases.pop(community_id, None)
        else:
            self._bases[community_id] = (pd.Timestamp(planned.start), planned.basis)


def monthly_peak_billing(
    tariff: RetailTariff, origin: pd.Timestamp, settings: ServeSettings, timezone: str
) -> PeakBilling | None:
    """A capacity tariff's demand charge on the plan's slots from ``origin``: raising this
    local month's peak costs the month's capacity price (with VAT) per kW above the peak so
    far, and a new month in the horizon starts its own peak. None without a capacity tariff."""
    monthly = tariff.capacity_price_billed_per_kw_month
    if not monthly:
        return None
    local = origin.tz_convert(timezone)
    next_month = (local + pd.offsets.MonthBegin(1)).normalize()
    slot = pd.Timedelta(minutes=settings.slot_minutes)
    starts = [0]
    boundary = int((next_month - local) / slot)
    if boundary < settings.horizon_slots:
        starts.append(boundary)
    return PeakBilling(np.array(starts), np.full(len(starts), monthly), tariff.capacity_min_kw)


def plan_site(
    site: SiteSnapshot, settings: ServeSettings, warm_starts: WarmStarts | None = None
) -> SitePlan:
    """Plan ``site`` from the slot that holds ``site.now`` over the configured horizon,
    warm-started from the community's last basis in ``warm_starts``."""
    started = time.perf_counter()
    community = site.community
    slot = pd.Timedelta(minutes=settings.slot_minutes)
    origin = pd.Timestamp(site.now).floor(slot)
    clock = SlotGrid(origin, settings.slot_minutes)
    cars = [car for car, _ in site.cars]
    limits = [limits_kw(car, plug) for car, plug in site.cars]
    goals = [_goal(car, plug, clock, settings) for car, plug in site.cars]
    table = CarTable(
        ids=tuple(car.id for car in cars),
        capacity_kwh=np.array([c.capacity_kwh for c in cars]),
        max_charge_kw=np.array([kw for kw, _ in limits]),
        max_discharge_kw=np.array([kw for _, kw in limits]),
        charge_efficiency=np.array([c.charge_efficiency for c in cars]),
        discharge_efficiency=np.array([c.discharge_efficiency for c in cars]),
        soc_min=np.array([c.soc_min for c in cars]),
        soc_max=np.array([c.soc_max for c in cars]),
        soc_target=np.array([target for _, target in goals]),
        degradation_cost_per_kwh=np.array([c.wear_per_kwh for c in cars]),
        rules=_rules(site.cars),
    )
    tariff = tariff_preset(community.tariff, "community.tariff")
    forecasts = CommunityForecast(
        clock=clock,
        prices=tariff,
        house_load_kw=sum(home.house_load_kw for home in site.homes),
        import_limit_kw=community.import_limit_kw or math.inf,
        export_limit_kw=community.export_limit_kw or math.inf,
        events=site.events,
    )
    config = PlanningConfig(
        slot_minutes=settings.slot_minutes,
        horizon_slots=settings.horizon_slots,
        clock=clock,
        timezone=community.timezone,
        on_invalid_plan="fallback",
        time_budget_s=settings.plan_time_budget_s,
        peak_billing=monthly_peak_billing(tariff, origin, settings, community.timezone),
    )
    controller = Controller(table, forecasts, config, name=f"community {community.id}")
    departure = np.array([slot for slot, _ in goals], dtype=np.int64)
    islanded = np.array([c.home_id in site.islanded_home_ids for c in cars], dtype=bool)
    observed = Observation(
        t=0,
        energy_kwh=np.array([c.soc_now * c.capacity_kwh for c in cars]),
        on_grid=(departure > 0) & ~islanded,
        departure_slot=departure,
        v2g_kwh_history=site.v2g_kwh_history,
        peak_so_far_kw=site.peak_so_far_kw,
    )
    warm = None if warm_starts is None else warm_starts.get(community.id, origin)
    outcome = controller.plan(observed, site.v2v, warm_start=warm)
    problem = {} if outcome.problem is None else problem_to_dict(outcome.problem)
    schedule = (
        {}
        if outcome.schedule is None or outcome.problem is None
        else schedule_to_dict(outcome.problem, outcome.schedule)
    )
    notes = {"controller": list(controller.notes)}
    if outcome.rejected:
        notes["rejected"] = outcome.rejected
    return SitePlan(
        start=origin.to_pydatetime(),
        problem=problem,
        schedule=schedule,
        applied=outcome.rejected is None,
        notes=notes,
        solve_s=time.perf_counter() - started,
        basis=outcome.basis if outcome.rejected is None else None,
    )


def replan(
    sessions: sessionmaker[Session],
    settings: ServeSettings,
    community_id: str,
    reason: str,
    warm_starts: WarmStarts | None = None,
) -> Plan | None:
    """Read, plan and store one community (runs in the planner's worker thread), at the
    time of ``settings.clock``; the plan is stamped with that time (a microsecond after the
    community's newest plan if that is not later, so the newest plan is always the last).
    With ``warm_starts`` the LP starts from the community's last basis and leaves its own."""
    now = settings.clock.now()
    with sessions() as db:
        site = read_site(db, community_id, now, settings.slot_minutes)
    if site is None:
        return None
    planned = plan_site(site, settings, warm_starts)
    if warm_starts is not None:
        warm_starts.keep(community_id, planned)
    zone = ZoneInfo(site.community.timezone)
    views = {}
    view = {}
    if planned.schedule:
        views = car_views(planned.problem, planned.schedule, planned.start, zone)
        view = site_view(planned.problem, planned.schedule, planned.start, zone)
        for car, plug in site.cars:
            if plug.charge_now and car.id in views:
                views[car.id]["charge_now"] = True
    with sessions() as db:
        latest = db.scalar(
            sa.select(sa.func.max(Plan.created_at)).where(Plan.community_id == community_id)
        )
        if latest is not None:  # plans stay ordered on a clock that stands still (tests)
            now = max(now, latest.replace(tzinfo=now.tzinfo) + timedelta(microseconds=1))
        row = Plan(
            community_id=community_id,
            start=planned.start,
            reason=reason,
            problem=planned.problem,
            schedule=planned.schedule,
            applied=planned.applied,
            notes=planned.notes,
            site=view,
            solve_s=planned.solve_s,
            created_at=now,
        )
        db.add(row)
        db.flush()
        db.add_all(CarPlan(plan_id=row.id, car_id=car, view=v) for car, v in views.items())
        db.commit()
        return row


class LivePlanner:
    """Re-plans communities off the event loop (see the module docstring).

    ``notify`` may be called from any thread (the API's handlers run in a thread pool).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: ServeSettings,
        events: Publisher,
        ledger: Ledger | None = None,
    ) -> None:
        self._sessions = sessions
        self._ledger = ledger
        self._events = events
        self._settings = settings
        self._clock = settings.clock
        self._slot = pd.Timedelta(minutes=settings.slot_minutes)
        self._ticked = pd.Timestamp(self._clock.now()).floor(self._slot)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voltpool-plan")
        self._pending: dict[str, str] = {}
        self._replan_all: str | None = None
        self._warm_starts = WarmStarts(settings.slot_minutes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.plans_made = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="voltpool-live-planner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True, cancel_futures=True)

    def notify(self, community_id: str, reason: str) -> None:
        """Re-plan ``community_id`` as soon as possible because of ``reason``."""
        if self._loop is None or not self._settings.plan_on_events:
            return
        self._loop.call_soon_threadsafe(self._queue, community_id, reason)

    def replan_all(self, reason: str) -> None:
        """Re-plan every community with plugged-in cars as soon as possible (from any thread)."""
        if self._loop is None or not self._settings.plan_on_events:
            return
        self._loop.call_soon_threadsafe(self._queue_all, reason)

    def _queue_all(self, reason: str) -> None:
        self._replan_all = reason
        assert self._wake is not None
        self._wake.set()

    def _queue(self, community_id: str, reason: str) -> None:
        self._pending.setdefault(community_id, reason)
        assert self._wake is not None
        self._wake.set()

    def _seconds_to_next_slot(self) -> float:
        """Real seconds until the clock's next slot boundary."""
        now = pd.Timestamp(self._clock.now())
        left = (now.floor(self._slot) + self._slot) - now
        return max(0.01, self._clock.real_seconds(left.to_pytimedelta()))

    def _ended_slots(self) -> list[datetime]:
        """The slots that ended since the last tick, oldest first (a fast clock may pass
        several while a plan is solved); the newest :data:`MAX_SLOTS_PER_TICK`."""
        current = pd.Timestamp(self._clock.now()).floor(self._slot)
        ended = pd.date_range(self._ticked, current, freq=self._slot, inclusive="left")
        self._ticked = max(self._ticked, current)
        return [stamp.to_pydatetime() for stamp in ended[-MAX_SLOTS_PER_TICK:]]

    def _record_ended_slots(self, ended: list[datetime]) -> None:
        """Book the V2G energy of the slots that just ended (:mod:`voltpool.api.history`) for
        every community planned in the day before."""
        with self._sessions() as db:
            recent = sa.select(Plan.community_id).where(
                Plan.created_at >= ended[0] - timedelta(days=1)
            )
            communities = list(db.scalars(sa.select(Community).where(Community.id.in_(recent))))
            for community in communities:
                for slot_start in ended:
                    record_slot(db, community, slot_start, self._settings.slot_minutes)

    def _plugged_communities(self) -> list[str]:
        now = self._clock.now()
        with self._sessions() as db:
            query = (
                sa.select(Home.community_id)
                .join(Car, Car.home_id == Home.id)
                .join(PlugSession, PlugSession.car_id == Car.id)
                .where(PlugSession.ended_at.is_(None), PlugSession.departure > now)
                .distinct()
            )
            return list(db.scalars(query))

    async def _run(self) -> None:
        assert self._wake is not None and self._loop is not None
        while True:
            timeout = self._seconds_to_next_slot() if self._settings.tick else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:  # a slot boundary: book the slot, re-plan the plugged-in
                ended = self._ended_slots()
                if not ended:
                    continue
                await self._loop.run_in_executor(self._executor, self._record_ended_slots, ended)
                if self._ledger is not None:  # settle, expire and match V2V
                    for community_id in await self._loop.run_in_executor(
                        self._executor,
                        tick,
                        self._sessions,
                        self._ledger,
                        self._clock.now(),
                        self._settings.slot_minutes,
                    ):
                        self._pending.setdefault(community_id, "V2V agreements changed")
                for community_id in await self._loop.run_in_executor(
                    self._executor, self._plugged_communities
                ):
                    self._pending.setdefault(community_id, "slot tick")
            self._wake.clear()
            if self._replan_all is not None:
                reason, self._replan_all = self._replan_all, None
                for community_id in await self._loop.run_in_executor(
                    self._executor, self._plugged_communities
                ):
                    self._pending.setdefault(community_id, reason)
            while self._pending:
                community_id, reason = self._pending.popitem()
                try:
                    stored = await self._loop.run_in_executor(
                        self._executor,
                        replan,
                        self._sessions,
                        self._settings,
                        community_id,
                        reason,
                        self._warm_starts,
                    )
                    self.plans_made += 1
                    if stored is not None and stored.applied:
                        self._events.publish(
                            {"community_id": community_id, "plan_id": stored.id, "reason": reason}
                        )
                except Exception:  # one community's failure must not stop the others
                    log.exception("re-planning community %s failed", community_id)
