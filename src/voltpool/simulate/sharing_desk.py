"""V2V in the simulator: offers and requests posted as events, matched, scheduled and metered.

An offer or a request is open from the slot it is posted. Each slot, open requests are matched
to open offers among the cars plugged in on the grid right then (the app matches when both
cars are connected) by :func:`voltpool.sharing.match`; a match becomes an **agreement**: the
AC energy to move, the window (until the deadline, the offer's end or the first of the two cars
to leave, as far as known) and the giver's floor (its "keep me above" SoC). The policy's
scheduler plans agreements as :class:`~voltpool.model.Transfers`; the engine meters, slot by
slot, the AC power that really passed (at most the planned flow, what the giver discharged and
what the receiver charged). An agreement closes when it is delivered, its window ends or a car
leaves: **delivered** (something moved) or **failed** (nothing did). Settlement books them in
the ledger afterwards (pending at acceptance, posted with the metered Wh or voided).

In the neighbourhood every car stands behind one transformer, so the energy moves *through
the grid* (the feeder), unless both cars share a home (*direct*).

Only bidirectional policies share energy: with one-way charging no request is served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from voltpool.model import Transfers
from voltpool.simulate.events import Offer, Request
from voltpool.simulate.world import World

DELIVERED_TOLERANCE_KWH = 1e-3


@dataclass
class Agreement:
    """A matched request and offer while it runs (world indices, AC energy)."""

    id: str
    request: Request
    offer: Offer
    giver: int
    receiver: int
    mode: str
    accepted_slot: int
    end_slot: int
    agreed_ac_kwh: float
    price_credits_per_kwh: float
    giver_floor_kwh: float
    delivered_ac_kwh: float = 0.0
    closed_slot: int = -1
    flow_kw: dict[int, float] = field(default_factory=dict)

    @property
    def remaining_ac_kwh(self) -> float:
        return max(self.agreed_ac_kwh - self.delivered_ac_kwh, 0.0)


class SharingDesk:
    """Open offers and requests, running agreements and the log of closed ones."""

    def __init__(self, world: World, enabled: bool) -> None:
        self.world = world
        self.enabled = enabled
        self.offers: list[Offer] = []
        self.requests: list[Request] = []
        self.given_kwh: dict[str, float] = {}
        """Battery energy each offer has given (or promised to running agreements). [kWh]"""
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
        expired = [r for r in self.requests if r.deadline_slot <= t]
        for request in expired:
            self.unmatched.setdefault(request.id, "no offer could serve it before its deadline")
        self.requests = [r for r in self.requests if r.deadline_slot > t]
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
        raise NotImplementedError

    def transfers_for(self, t: int, cars: np.ndarray) -> Transfers | None:
        """Running agreements between cars in ``cars`` as the LP's transfers (rows of cars)."""
        row = {int(c): i for i, c in enumerate(cars)}
        running = [
            a
            for a in self.active
            if a.giver in row and a.receiver in row and a.remaining_ac_kwh > 0
        ]
        if not running:
            return None
        return Transfers(
            ids=tuple(a.id for a in running),
            giver=[row[a.giver] for a in running],
            receiver=[row[a.receiver] for a in running],
            start_slot=np.zeros(len(running), dtype=np.int64),
            end_slot=[a.end_slot - t for a in running],
            energy_kwh=[a.remaining_ac_kwh for a in running],
            giver_floor_kwh=[a.giver_floor_kwh for a in running],
        )

    def meter(self, t: int, planned_kw: dict[str, float], power_kw: np.ndarray) -> None:
        """Book what passed in slot ``t``: the planned flow, within what the cars really did."""
        dt_h = self.world.dt_h
        for agreement in self.active:
            flow = min(
                planned_kw.get(agreement.id, 0.0),
                max(-power_kw[agreement.giver], 0.0),
                max(power_kw[agreement.receiver], 0.0),
                agreement.remaining_ac_kwh / dt_h,
            )
            if flow > 0:
                agreement.flow_kw[t] = flow
                agreement.delivered_ac_kwh += flow * dt_h

    def close_slot(self, t: int, plugged_next: np.ndarray) -> None:
        """Close agreements delivered, out of window, or whose car left, after slot ``t``."""
        still = []
        for agreement in self.active:
            done = agreement.remaining_ac_kwh <= DELIVERED_TOLERANCE_KWH
            left = not (plugged_next[agreement.giver] and plugged_next[agreement.receiver])
            if done or left or t + 1 >= agreement.end_slot:
                agreement.closed_slot = t + 1
                self.closed.append(agreement)
            else:
                still.append(agreement)
        self.active = still

    def log(self, first_slot: int, end_slot: int) -> pd.DataFrame:
        """One row per agreement (closed at the end of the run): energy, credits, status."""
        world = self.world
        for agreement in self.active:
            agreement.closed_slot = end_slot
        rows = []
        for a in self.closed + self.active:
            ac = a.delivered_ac_kwh
            rows.append(
                {
                    "agreement_id": a.id,
                    "request_id": a.request.id,
                    "offer_id": a.offer.id,
                    "giver": world.vehicle_ids[a.giver],
                    "receiver": world.vehicle_ids[a.receiver],
                    "mode": a.mode,
                    "accepted_slot": a.accepted_slot - first_slot,
                    "closed_slot": a.closed_slot - first_slot,
                    "agreed_ac_kwh": a.agreed_ac_kwh,
                    "price_credits_per_kwh": a.price_credits_per_kwh,
                    "delivered_ac_kwh": ac,
                    "giver_battery_kwh": ac / world.discharge_efficiency[a.giver],
                    "receiver_battery_kwh": ac * world.charge_efficiency[a.receiver],
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
    "status",
)
