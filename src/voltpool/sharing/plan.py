"""Schedule agreed V2V transfers with the one scheduler (``voltpool.schedule``), slot by slot.

Matches are grouped into problems: cars linked by a match (directly or through other matches)
share one :class:`~voltpool.model.Problem`, so a car that gives to two friends, or gives and is
shared with, has one battery and one charger in one optimisation. Each problem holds only the
cars involved, every car plugged in for its own session, and one
:class:`~voltpool.model.Transfers` row per match (window, AC energy, the giver's floor
``max(reserve, keep_above)``); :func:`voltpool.schedule.schedule` (``"lp"``) finds the flows and
:func:`voltpool.schedule.verify` checks them.

The site of a problem:

- **direct** (every car of the problem plugged in at one site): that site, with its import and
  export limits and its base load, so a transfer never pushes the house over its breaker.
- **through the grid** (cars at different sites): a site standing for "the grid" between the
  homes, with no connection limit of its own and no base load; each car is capped by its own
  charger. What grid mode does **not** model: the homes' own connection limits and base loads
  (a giver's export or a receiver's import could meet its house's breaker), grid losses and
  network fees, and the suppliers' metering - physically the giver exports and the receiver
  imports, each metered by their own supplier; the transfer pairs those two meter readings
  for the credits, it does not route electrons.
- **mixed** (a car gives car to car at its site *and* through the grid to another home): the
  problem is scheduled as through the grid, so that site's limits and base load are not
  applied to the direct transfer either (they net to zero at the site, but its base load could
  already be at the breaker).

Small prices keep the answer clean: importing costs 0.001 and exporting earns 0.0005 per kWh
and discharging wears 0.01 per kWh, so no car charges or discharges beyond its transfers;
undelivered transfer energy costs ``unmet_penalty_per_kwh`` (100 per kWh), so everything that
can be delivered is. Cars have no departure target here (``soc_target = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from voltpool.credits import kwh_to_wh
from voltpool.errors import SolverError
from voltpool.model import Fleet, Problem, Site, SlotGrid, Tariff, Transfers
from voltpool.schedule import Schedule, Verification, schedule, verify
from voltpool.sharing.circle import Circle
from voltpool.sharing.matching import Match

IMPORT_PRICE_PER_KWH = 0.001
EXPORT_PRICE_PER_KWH = 0.0005
WEAR_COST_PER_KWH = 0.01
GRID_SITE = "grid"


@dataclass(frozen=True)
class Metered:
    """Metered energy per match, whole Wh (rounded down, the meter's resolution).

    ``delivered_wh``: AC energy at the chargers; ``given_wh``: out of the giver's battery;
    ``received_wh``: into the receiver's battery.
    """

    delivered_wh: np.ndarray
    given_wh: np.ndarray
    received_wh: np.ndarray

    def __post_init__(self) -> None:
        for name in ("delivered_wh", "given_wh", "received_wh"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))

    @classmethod
    def nothing(cls, n_matches: int) -> Metered:
        """Nothing delivered (a cancelled or failed transfer)."""
        zeros = np.zeros(n_matches, dtype=np.int64)
        return cls(zeros, zeros, zeros)

    @classmethod
    def from_kwh(
        cls, ac_kwh: np.ndarray, giver_battery_kwh: np.ndarray, receiver_battery_kwh: np.ndarray
    ) -> Metered:
        """From kWh at the chargers and at the two batteries, read by the meter rule
        (:func:`voltpool.credits.kwh_to_wh`: whole Wh rounded down, round-off below a milli-Wh
        forgiven, so 9.9999999 kWh reads 10,000 Wh). ProblemError naming the field for a
        negative, NaN or infinite value."""
        delivered = kwh_to_wh(np.asarray(ac_kwh, dtype=float), "metered.ac_kwh")
        given = kwh_to_wh(np.asarray(giver_battery_kwh, dtype=float), "metered.giver_battery_kwh")
        received = kwh_to_wh(
            np.asarray(receiver_battery_kwh, dtype=float), "metered.receiver_battery_kwh"
        )
        return cls(delivered, np.maximum(given, delivered), np.minimum(received, delivered))


@dataclass(frozen=True, eq=False)
class PlannedProblem:
    """One scheduling problem: the cars, the matches (plan rows) and the verified answer."""

    problem: Problem
    schedule: Schedule
    verification: Verification
    rows: tuple[int, ...]
    car_ids: tuple[str, ...]
    site: str
    mode: Literal["direct", "grid"]


@dataclass(frozen=True, eq=False)
class Plan:
    """Per-slot flows and metered amounts of every match (rows in the order of ``matches``).

    ``transfer_kw [M, T]`` is the AC power each match moves per slot of ``grid``;
    ``delivered_kwh`` the AC energy, ``giver_battery_kwh`` / ``receiver_battery_kwh`` the
    battery sides, ``shortfall_kwh`` what was agreed but cannot be delivered, with
    ``reasons`` in plain words ('' when delivered in full).
    """

    matches: tuple[Match, ...]
    grid: SlotGrid
    transfer_kw: np.ndarray
    delivered_kwh: np.ndarray
    giver_battery_kwh: np.ndarray
    receiver_battery_kwh: np.ndarray
    shortfall_kwh: np.ndarray
    reasons: list[str]
    problems: list[PlannedProblem] = field(default_factory=list)

    def metered(self) -> Metered:
        """The scheduled flows read as meter values (what ``voltpool share run`` settles)."""
        return Metered.from_kwh(
            self.delivered_kwh, self.giver_battery_kwh, self.receiver_battery_kwh
        )


def _components(n_cars: int, matches: tuple[Match, ...], row_of: dict[str, int]) -> list[list[int]]:
    """Match indices grouped by connected cars (union-find over giver-receiver links)."""
    parent = list(range(n_cars))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for m in matches:
        a, b = find(row_of[m.giver_car]), find(row_of[m.receiver_car])
        parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for k, m in enumerate(matches):
        groups.setdefault(find(row_of[m.giver_car]), []).append(k)
    return sorted(groups.values(), key=lambda rows: rows[0])


def build_problem(
    circle: Circle, grid: SlotGrid, matches: list[Match]
) -> tuple[Problem, tuple[int, ...], str, Literal["direct", "grid"], dict[int, str]]:
    """The scheduling problem of one group of matches.

    Returns the problem, the circle rows of its cars, its site label, its mode and, per match
    of the group, a reason that is known before scheduling (a car that is not plugged in).
    """
    cars = circle.cars
    giver_rows = [cars.row(m.giver_car) for m in matches]
    receiver_rows = [cars.row(m.receiver_car) for m in matches]
    rows = sorted(set(giver_rows) | set(receiver_rows))
    local = {r: k for k, r in enumerate(rows)}
    first, end = cars.plug_slots(grid)
    plugged = cars.plugged & (end > first)
    idx = np.array(rows)
    arrival = np.where(plugged[idx], first[idx], 0)
    departure = np.where(plugged[idx], end[idx], 1)
    n_slots = int(max(departure.max(), max(m.end_slot for m in matches), 1))
    off = ~plugged[idx]
    fleet = Fleet(
        ids=tuple(cars.ids[r] for r in rows),
        capacity_kwh=cars.capacity_kwh[idx],
        soc_initial=cars.soc[idx],
        soc_min=cars.soc_min[idx],
        soc_max=cars.soc_max[idx],
        soc_target=np.zeros(idx.size),
        arrival_slot=arrival,
        departure_slot=departure,
        max_charge_kw=np.where(off, 0.0, cars.max_charge_kw[idx]),
        max_discharge_kw=np.where(off, 0.0, cars.max_discharge_kw[idx]),
        charge_efficiency=cars.charge_efficiency[idx],
        discharge_efficiency=cars.discharge_efficiency[idx],
        degradation_cost_per_kwh=np.full(idx.size, WEAR_COST_PER_KWH),
    )
    sites = {cars.site[r] for r in rows if plugged[r]}
    if len(sites) == 1:
        site_id = sites.pop()
        s = circle.sites.row(site_id)
        site = Site(
            np.full(n_slots, circle.sites.base_load_kw[s]),
            circle.sites.import_limit_kw[s],
            circle.sites.export_limit_kw[s],
        )
        label, mode = site_id, "direct"
    else:
        site = Site(np.zeros(n_slots))
        label, mode = GRID_SITE, "grid"
    known: dict[int, str] = {}
    for k, (g, r) in enumerate(zip(giver_rows, receiver_rows, strict=True)):
        missing = [cars.ids[c] for c in (g, r) if not plugged[c]]
        if missing:
            known[k] = f"{' and '.join(missing)} not plugged in (any more)"
    transfers = Transfers(
        ids=tuple(m.key for m in matches),
        giver=[local[g] for g in giver_rows],
        receiver=[local[r] for r in receiver_rows],
        start_slot=[m.start_slot for m in matches],
        end_slot=[m.end_slot for m in matches],
        energy_kwh=[m.ac_kwh for m in matches],
        giver_floor_kwh=[m.giver_floor_kwh for m in matches],
    )
    problem = Problem(
        fleet,
        site,
        Tariff(np.full(n_slots, IMPORT_PRICE_PER_KWH), np.full(n_slots, EXPORT_PRICE_PER_KWH)),
        slot_minutes=grid.slot_minutes,
        transfers=transfers,
    )
    return problem, tuple(rows), label, mode, known  # type: ignore[return-value]


def plan_transfers(circle: Circle, matches: list[Match] | tuple[Match, ...]) -> Plan:
    """Schedule every match with ``schedule(problem, "lp")``, verify it, collect the flows.

    Raises :class:`~voltpool.errors.SolverError` if a schedule fails its independent check
    (a bug, never bad input). A match whose cars are no longer plugged in when it is planned
    (the giver left early) gets zero flow and says so in ``reasons``.
    """
    matches = tuple(matches)
    grids = {m.grid for m in matches}
    if len(grids) > 1:
        raise ValueError("matches: all must come from one match() call (one slot grid)")
    grid = grids.pop() if grids else SlotGrid(pd.Timestamp(0, tz="UTC"))
    n = len(matches)
    n_slots = max((m.end_slot for m in matches), default=0)
    flows = np.zeros((n, n_slots))
    short = np.zeros(n)
    reasons = [""] * n
    problems: list[PlannedProblem] = []
    row_of = {car: k for k, car in enumerate(circle.cars.ids)}
    for group in _components(circle.cars.n_cars, matches, row_of):
        chosen = [matches[k] for k in group]
        problem, rows, label, mode, known = build_problem(circle, grid, chosen)
        result = schedule(problem, "lp")
        base_breaks = bool(
            (problem.site.base_load_kw > problem.site.import_limit_slots_kw).any()
            or (-problem.site.base_load_kw > problem.site.export_limit_slots_kw).any()
        )
        check = verify(problem, result, check_site_limits=not base_breaks)
        if not check.ok:
            broken = "; ".join(str(v) for v in check.violations[:5])
            raise SolverError(f"the V2V schedule at {label} failed its check: {broken}")
        width = min(n_slots, problem.n_slots)
        for local, k in enumerate(group):
            flows[k, :width] = result.transfer_kw[local, :width]
            short[k] = result.transfer_shortfall_kwh[local]
            reasons[k] = known.get(local) or result.transfer_reasons[local]
            if short[k] > 1e-3 and not reasons[k]:
                reasons[k] = f"{short[k]:.2f} kWh undelivered"
        problems.append(
            PlannedProblem(
                problem,
                result,
                check,
                tuple(group),
                tuple(circle.cars.ids[r] for r in rows),
                label,
                mode,
            )
        )
    delivered = flows.sum(axis=1) * grid.dt_h
    cars = circle.cars
    eta_d = cars.discharge_efficiency[[row_of[m.giver_car] for m in matches]]
    eta_c = cars.charge_efficiency[[row_of[m.receiver_car] for m in matches]]
    return Plan(
        matches=matches,
        grid=grid,
        transfer_kw=flows,
        delivered_kwh=delivered,
        giver_battery_kwh=delivered / eta_d,
        receiver_battery_kwh=delivered * eta_c,
        shortfall_kwh=short,
        reasons=reasons,
        problems=problems,
    )
