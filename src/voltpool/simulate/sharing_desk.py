"""V2V in the simulator: offers and requests posted as events, matched, scheduled and metered.

An offer or a request is open from the slot it is posted. Each slot, open requests are matched
to open offers among the cars plugged in on the grid right then (the app matches when both
cars are connected) by :func:`voltpool.sharing.match`; a match becomes an **agreement** once
the receiver's credits are held in the :class:`~voltpool.sharing.wallet.Wallet` (in memory
here, the ledger live): the AC energy to move, the window (until the deadline, the offer's end
or the first of the two cars to leave, as far as known) and the giver's floor (its "keep me
above" SoC). The desk hands the controller plain :class:`~voltpool.control.V2VInputs` (energy
kept for friends, the agreements as :class:`~voltpool.model.Transfers`); the engine meters,
slot by slot, the AC power that really passed (at most the planned flow, what the giver
discharged and what the receiver charged). An agreement closes when it is delivered, its
window ends or a car leaves: **delivered** (something moved) or **failed** (nothing did).
Settlement books them in the ledger afterwards (pending at acceptance, posted with the
metered Wh or voided).

In the neighbourhood every car stands behind one transformer, so the energy moves *through
the grid* (the feeder), unless both cars share a home (*direct*).

Only bidirectional policies share energy: with one-way charging no request is served.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from voltpool.control import CarTable, V2VInputs
from voltpool.credits import MILLI, CreditPolicy
from voltpool.errors import ProblemError
from voltpool.model import Transfers
from voltpool.sharing import Cars, Circle, Match, Metered, Sites, match, unmatched
from voltpool.sharing import Offer as SharingOffer
from voltpool.sharing import Request as SharingRequest
from voltpool.sharing.wallet import MemoryWallet, Wallet
from voltpool.simulate.events import Offer, Request
from voltpool.simulate.world import World

DELIVERED_TOLERANCE_KWH = 1e-3
MIN_AGREEMENT_KWH = 0.05
"""Requests and offers with less than this left are done. [kWh]"""


@dataclass
class Agreement:
    """A matched request and offer while it runs (world indices, AC energy)."""

    id: str
    match: Match
    giver: int
    receiver: int
    mode: str
    accepted_slot: int
    end_slot: int
    agreed_ac_kwh: float
    giver_floor_kwh: float
    delivered_ac_kwh: float = 0.0
    closed_slot: int = -1
    paid_millicredits: int = 0

    @property
    def remaining_ac_kwh(self) -> float:
        return max(self.agreed_ac_kwh - self.delivered_ac_kwh, 0.0)


class SharingDesk:
    """Open offers and requests, running agreements and the log of closed ones."""

    def __init__(
        self,
        world: World,
        cars: CarTable,
        enabled: bool,
        policy: CreditPolicy | None = None,
        wallet: Wallet | None = None,
    ) -> None:
        self.world = world
        self.cars = cars
        """Each car's SoC ceiling, reserve and target, as the controller plans them."""
        self.enabled = enabled
        self.policy = policy or CreditPolicy()
        self.owners = tuple(
            world.home_ids[home] if home >= 0 else car
            for home, car in zip(world.vehicle_home, world.vehicle_ids, strict=True)
        )
        """The household of every car (its home; a car without one is its own member)."""
        self.offers: list[Offer] = []
        self.requests: list[Request] = []
        self.given_kwh: dict[str, float] = {}
        """Battery energy each offer has promised to agreements. [kWh]"""
        self.wanted_kwh: dict[str, float] = {}
        """Battery energy each request still wants after its agreements so far. [kWh]"""
        self.wallet = wallet or MemoryWallet(self.owners, self.policy.starting_credits * MILLI)
        """What each household can still pay: by default the starting credits, less V2V holds,
        plus V2V earnings (V2G credits are settled after the run and not counted)."""
        self.active: list[Agreement] = []
        self.closed: list[Agreement] = []
        self.unmatched: dict[str, str] = {}

    def open_slot(
        self, t: int, energy_kwh: np.ndarray, on_grid: np.ndarray, departure_slot: np.ndarray
    ) -> bool:
        """Post the slot's offers and requests and match what can be; True if anything new."""
        events = self.world.events
        self.offers += [o for o in events.offers if o.posted_slot == t]
        self.requests += [r for r in events.requests if r.posted_slot == t]
        self.offers = [o for o in self.offers if o.end_slot > t]
        expired = [r for r in self.requests if r.deadline_slot <= t + 1]
        for request in expired:
            self.unmatched.setdefault(request.id, "no offer could serve it before its deadline")
        self.requests = [r for r in self.requests if r.deadline_slot > t + 1]
        if not (self.enabled and self.offers and self.requests):
            if not self.enabled:
                for request in self.requests:
                    self.unmatched[request.id] = "the policy does not discharge cars (no V2V)"
            return False
        agreements = self._match(t, energy_kwh, on_grid, departure_slot)
        self.active += agreements
        return bool(agreements)

    def _match(
        self, t: int, energy_kwh: np.ndarray, on_grid: np.ndarray, departure_slot: np.ndarray
    ) -> list[Agreement]:
        """Match the open requests and offers whose cars are on the grid now (HiGHS)."""
        world = self.world
        now = world.index[t]
        # Energy already promised to running agreements is not there to match again.
        soc = (energy_kwh - self.promised_kwh()) / world.capacity_kwh
        requests = []
        for request in self.requests:
            car = request.vehicle
            room_kwh = (self.cars.soc_max[car] - soc[car]) * world.capacity_kwh[car]
            wanted = min(self.wanted_kwh.get(request.id, request.energy_kwh), room_kwh - 1e-6)
            if on_grid[car] and wanted >= MIN_AGREEMENT_KWH:
                requests.append(
                    SharingRequest(
                        request.id,
                        self.member(car),
                        world.vehicle_ids[car],
                        wanted,
                        self.time(request.deadline_slot),
                        max_price_credits_per_kwh=request.max_price_credits_per_kwh,
                    )
                )
        offers = []
        for offer in self.offers:
            car = offer.vehicle
            keep_above = max(offer.keep_above_soc, self.own_need_soc(offer, departure_slot))
            floor = max(keep_above, self.cars.soc_min[car])
            spare = offer.max_energy_kwh - self.given_kwh.get(offer.id, 0.0)
            if on_grid[car] and soc[car] > floor and spare >= MIN_AGREEMENT_KWH:
                offers.append(
                    SharingOffer(
                        offer.id,
                        self.member(car),
                        world.vehicle_ids[car],
                        spare,
                        self.time(offer.end_slot),
                        start=self.time(max(offer.start_slot, t)),
                        keep_above_soc=keep_above,
                        price_credits_per_kwh=offer.price_credits_per_kwh,
                    )
                )
        if not requests or not offers:
            return []
        circle = self.circle(t, soc, on_grid, departure_slot)
        try:
            matches = match(requests, offers, circle, now, self.policy, self.slot_minutes)
        except ProblemError as error:
            for request in requests:
                self.unmatched[request.id] = f"could not be matched at {now}: {error.issues[0]}"
            return []
        self.unmatched.update(
            unmatched(requests, offers, circle, now, matches, slot_minutes=self.slot_minutes)
        )
        agreements = []
        by_id = {r.id: r for r in self.requests}
        vehicle = {name: n for n, name in enumerate(world.vehicle_ids)}
        for m in matches:
            receiver_home = self.member(vehicle[m.receiver_car])
            giver_home = self.member(vehicle[m.giver_car])
            key = f"{m.key}.{t}"  # a request may match again later
            if not self.wallet.hold(key, receiver_home, giver_home, m.estimate_millicredits):
                self.unmatched[m.request_id] = (
                    f"{receiver_home} lacks the credits for {m.offer_id} "
                    f"({m.estimate_millicredits / 1000:g} needed)"
                )
                continue
            self.wanted_kwh[m.request_id] = (
                self.wanted(by_id[m.request_id]) - m.receiver_battery_kwh
            )
            self.given_kwh[m.offer_id] = self.given_kwh.get(m.offer_id, 0.0) + m.giver_battery_kwh
            self.unmatched.pop(m.request_id, None)
            m = dataclasses.replace(m, key=key)
            agreements.append(
                Agreement(
                    id=m.key,
                    match=m,
                    giver=vehicle[m.giver_car],
                    receiver=vehicle[m.receiver_car],
                    mode=m.mode,
                    accepted_slot=t,
                    end_slot=self.slot(m.end),
                    agreed_ac_kwh=m.ac_kwh,
                    giver_floor_kwh=m.giver_floor_kwh,
                )
            )
        self.requests = [r for r in self.requests if self.wanted(r) >= MIN_AGREEMENT_KWH]
        return agreements

    def own_need_soc(self, offer: Offer, departure_slot: np.ndarray) -> float:
        """The SoC the giver must keep at the end of the offer to reach its own departure
        target charging flat out afterwards: the driver's own trip comes first."""
        world = self.world
        car = offer.vehicle
        after_slots = max(int(departure_slot[car]) - offer.end_slot, 0)
        chargeable_kwh = (
            world.max_charge_kw[car] * world.charge_efficiency[car] * world.dt_h * after_slots
        )
        target_kwh = self.cars.soc_target[car] * world.capacity_kwh[car]
        return max(target_kwh - chargeable_kwh, 0.0) / world.capacity_kwh[car]

    def reserved_kwh(self, t: int, energy_kwh: np.ndarray) -> np.ndarray:
        """Per car, the energy its open offers keep in the battery for friends (not for V2G):
        the offer's floor plus what is still on offer, at most what the car holds. [kWh]"""
        world = self.world
        reserved = np.zeros(world.n_vehicles)
        if not self.enabled or not self.offers:
            return reserved
        promised = self.promised_kwh()
        for offer in self.offers:
            if offer.posted_slot <= t < offer.end_slot:
                car = offer.vehicle
                unpromised = max(offer.max_energy_kwh - self.given_kwh.get(offer.id, 0.0), 0.0)
                keep = offer.keep_above_soc * world.capacity_kwh[car] + unpromised
                leaving = max(energy_kwh[car] - max(promised[car], 0.0), 0.0)
                reserved[car] = max(reserved[car], min(keep, leaving))
        return reserved

    def promised_kwh(self) -> np.ndarray:
        """Per car, battery energy running agreements will still take out (+) or put in (-)."""
        world = self.world
        promised = np.zeros(world.n_vehicles)
        for a in self.active:
            promised[a.giver] += a.remaining_ac_kwh / world.discharge_efficiency[a.giver]
            promised[a.receiver] -= a.remaining_ac_kwh * world.charge_efficiency[a.receiver]
        return promised

    def wanted(self, request: Request) -> float:
        return self.wanted_kwh.get(request.id, request.energy_kwh)

    @property
    def slot_minutes(self) -> int:
        return self.world.scenario.slot_minutes

    def member(self, car: int) -> str:
        """The household a car belongs to (its home; a car without one is its own member)."""
        return self.owners[car]

    def time(self, slot: int) -> pd.Timestamp:
        return self.world.clock.time(slot)

    def slot(self, when: pd.Timestamp) -> int:
        """The slot ``when`` falls in."""
        return int((when - self.world.index[0]) // self.world.clock.slot)

    def circle(
        self, t: int, soc: np.ndarray, on_grid: np.ndarray, departure_slot: np.ndarray
    ) -> Circle:
        """The neighbourhood as one circle: households, every car, plugged in at home or not."""
        world = self.world
        homes = tuple(dict.fromkeys(self.owners))
        until = (world.index[0] + pd.to_timedelta(departure_slot * world.dt_h, unit="h")).where(
            on_grid
        )
        since = pd.DatetimeIndex(np.full(world.n_vehicles, world.index[t])).where(on_grid)
        cars = Cars(
            ids=world.vehicle_ids,
            owner=self.owners,
            capacity_kwh=world.capacity_kwh,
            charge_efficiency=world.charge_efficiency,
            discharge_efficiency=world.discharge_efficiency,
            max_charge_kw=world.max_charge_kw,
            max_discharge_kw=world.max_discharge_kw,
            soc=np.clip(soc, 0.0, 1.0),
            soc_min=np.minimum(self.cars.soc_min, np.clip(soc, 0.0, 1.0)),
            soc_max=self.cars.soc_max,
            site=tuple(np.where(on_grid, self.owners, "")),
            plugged_from=since,
            plugged_until=until,
            timezone="UTC",
        )
        infinite = np.full(len(homes), np.inf)
        return Circle(
            world.scenario.name,
            homes,
            cars,
            Sites(homes, infinite, infinite),
            timezone=world.scenario.timezone,
        )

    def inputs(self, t: int, energy_kwh: np.ndarray, new: bool) -> V2VInputs:
        """What the controller needs of V2V in slot ``t``, as plain arrays: the energy open
        offers keep for friends and the running agreements as transfers (car rows, slots)."""
        running = [a for a in self.active if a.remaining_ac_kwh > 0]
        transfers = None
        if running:
            transfers = Transfers(
                ids=tuple(a.id for a in running),
                giver=[a.giver for a in running],
                receiver=[a.receiver for a in running],
                start_slot=np.full(len(running), t, dtype=np.int64),
                end_slot=[a.end_slot for a in running],
                energy_kwh=[a.remaining_ac_kwh for a in running],
                giver_floor_kwh=[a.giver_floor_kwh for a in running],
            )
        return V2VInputs(self.reserved_kwh(t, energy_kwh), transfers, new)

    def meter(
        self, t: int, planned_kw: dict[str, float], power_kw: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Book what passed in slot ``t``: the planned flow, within what the cars really did.

        Returns the AC power each car gave and received in V2V transfers. [kW]
        """
        dt_h = self.world.dt_h
        given = np.zeros(self.world.n_vehicles)
        received = np.zeros(self.world.n_vehicles)
        for agreement in self.active:
            flow = min(
                planned_kw.get(agreement.id, 0.0),
                max(-power_kw[agreement.giver], 0.0),
                max(power_kw[agreement.receiver], 0.0),
                agreement.remaining_ac_kwh / dt_h,
            )
            if flow > 0:
                agreement.delivered_ac_kwh += flow * dt_h
                given[agreement.giver] += flow
                received[agreement.receiver] += flow
        return given, received

    def close_slot(self, t: int, plugged_next: np.ndarray) -> None:
        """Close agreements delivered, out of window, or whose car left, after slot ``t``."""
        still = []
        for agreement in self.active:
            done = agreement.remaining_ac_kwh <= DELIVERED_TOLERANCE_KWH
            left = not (plugged_next[agreement.giver] and plugged_next[agreement.receiver])
            if done or left or t + 1 >= agreement.end_slot:
                agreement.closed_slot = t + 1
                self.closed.append(agreement)
                self._pay(agreement)
            else:
                still.append(agreement)
        self.active = still

    def _pay(self, agreement: Agreement) -> None:
        """Release the receiver's hold and pay the giver what the metered energy is worth."""
        m = agreement.match
        metered = self.metered([agreement])
        paid = m.payment_millicredits(
            self.policy, int(metered.delivered_wh[0]), int(metered.given_wh[0])
        )
        self.wallet.release(agreement.id, paid)
        agreement.paid_millicredits = paid

    def metered(self, agreements: list[Agreement]) -> Metered:
        """What the meters read for these agreements, in whole Wh (as settlement books it)."""
        world = self.world
        ac_kwh = np.array([a.delivered_ac_kwh for a in agreements])
        givers = np.array([a.giver for a in agreements], dtype=np.int64)
        receivers = np.array([a.receiver for a in agreements], dtype=np.int64)
        return Metered.from_kwh(
            ac_kwh,
            ac_kwh / world.discharge_efficiency[givers],
            ac_kwh * world.charge_efficiency[receivers],
        )

    def agreements(self) -> list[Agreement]:
        """Every agreement, closed or running, in the order they were accepted."""
        return sorted(self.closed + self.active, key=lambda a: (a.accepted_slot, a.id))

    def matches(self) -> tuple[Match, ...]:
        """The matches behind every agreement, in the order of :meth:`log`'s rows."""
        return tuple(a.match for a in self.agreements())

    def log(self, first_slot: int, end_slot: int) -> pd.DataFrame:
        """One row per agreement (closed at the end of the run): energy, credits, status."""
        world = self.world
        for agreement in self.active:
            agreement.closed_slot = end_slot
            self._pay(agreement)
        rows = []
        for a in self.agreements():
            ac = a.delivered_ac_kwh
            rows.append(
                {
                    "agreement_id": a.id,
                    "request_id": a.match.request_id,
                    "offer_id": a.match.offer_id,
                    "giver": world.vehicle_ids[a.giver],
                    "receiver": world.vehicle_ids[a.receiver],
                    "mode": a.mode,
                    "accepted_slot": a.accepted_slot - first_slot,
                    "closed_slot": a.closed_slot - first_slot,
                    "agreed_ac_kwh": a.agreed_ac_kwh,
                    "price_credits_per_kwh": a.match.price_millicredits_per_kwh / MILLI,
                    "delivered_ac_kwh": ac,
                    "giver_battery_kwh": ac / world.discharge_efficiency[a.giver],
                    "receiver_battery_kwh": ac * world.charge_efficiency[a.receiver],
                    "credits": a.paid_millicredits / MILLI,
                    "status": "delivered" if ac > DELIVERED_TOLERANCE_KWH else "failed",
                }
            )
        return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


AGREEMENT_COLUMNS = (
    "agreement_id",
    "request_id",
    "offer_id",
    "giver",
    "receiver",
    "mode",
    "accepted_slot",
    "closed_slot",
    "agreed_ac_kwh",
    "price_credits_per_kwh",
    "delivered_ac_kwh",
    "giver_battery_kwh",
    "receiver_battery_kwh",
    "credits",
    "status",
)
