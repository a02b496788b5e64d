"""Where the LP of :mod:`voltpool.schedule.lp` is looser than a real car, and how to close it.

The LP relaxes three rules; each is non-convex, so no LP states it exactly:

1. **One direction per slot.** A charger either charges or discharges in a slot; the LP may do
   both, which burns energy as conversion loss. That pays only where energy is worth less than
   nothing (negative prices, solar surplus above an export limit). Binary ``u[k]``:
   ``pc[k] <= Pc * u[k]``, ``pd[k] <= Pd * (1 - u[k])``.
2. **The reserve is a reserve.** A car is discharged (V2G or V2V) only while its stored energy
   after the slot is at least its reserve ``soc_min * capacity``; a car that arrives below it may
   charge, but only energy above the reserve ever leaves it. The LP's floor is
   ``min(reserve, arrival level)``, so it may charge such a car above its reserve and discharge
   it back below. The rule is non-convex: "charge from 10 % to 50 %, give back down to 30 %" and
   "stay at 10 %" both keep it, their midpoint gives from 30 % down to 20 %. Binary ``z[k]``
   ("reserve reached") on the slots where the car may discharge, monotone over the session:
   ``z[k] >= z[k-1]``, ``pd[k] <= Pd * z[k]``, ``e[k] >= arrival + (reserve - arrival) z[k]``,
   and a hull cut on the energy discharged so far (:func:`_add_reserve_binaries`).
3. **The giver's floor.** A V2V giver gives only while its energy is at least the transfer's
   ``giver_floor_kwh``. Binary ``y[l]`` per transfer: every flow ``f[l,t] <= F * y[l]``,
   ``e[k] >= giver_floor * y[l]`` in the window.

A relaxed optimum that keeps all three is optimal for the real problem, so the binaries are
added only for the (car, slot) pairs, cars and transfers whose rule the relaxed optimum broke
(lazy constraints), and the common case needs none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from voltpool.model import Problem
from voltpool.schedule.lp import LinearProgram

SIMULTANEOUS_TOLERANCE_KW = 1e-6
ENERGY_TOLERANCE = 1e-7
"""Energy below a floor by more than this fraction of capacity breaks it."""


@dataclass(frozen=True)
class Breaches:
    """What a solution does that no real car can: plugged-in slots k that charge and discharge at
    once, cars (fleet rows) discharged below their reserve, transfers given below their floor."""

    simultaneous: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reserve: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    giver_floor: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __bool__(self) -> bool:
        return bool(self.simultaneous.size or self.reserve.size or self.giver_floor.size)

    def union(self, other: Breaches) -> Breaches:
        return Breaches(
            np.union1d(self.simultaneous, other.simultaneous),
            np.union1d(self.reserve, other.reserve),
            np.union1d(self.giver_floor, other.giver_floor),
        )

    def minus(self, other: Breaches) -> Breaches:
        """The breaches not already in ``other``."""
        return Breaches(
            np.setdiff1d(self.simultaneous, other.simultaneous),
            np.setdiff1d(self.reserve, other.reserve),
            np.setdiff1d(self.giver_floor, other.giver_floor),
        )

    def describe(self) -> str:
        parts = []
        if self.simultaneous.size:
            parts.append(f"charged and discharged {self.simultaneous.size} car-slot(s) at once")
        if self.reserve.size:
            parts.append(f"discharged {self.reserve.size} car(s) below their reserve")
        if self.giver_floor.size:
            parts.append(f"gave {self.giver_floor.size} transfer(s) below the giver's floor")
        return ", ".join(parts)


def reserve_kwh(problem: Problem) -> np.ndarray:
    """Per car: the reserve V2G and V2V never take it below, or the owner's higher V2G floor
    (:attr:`voltpool.model.Fleet.discharge_floor_soc`). [kWh]"""
    return problem.fleet.discharge_floor_soc * problem.fleet.capacity_kwh


def below_reserve_at_arrival(problem: Problem) -> np.ndarray:
    """Cars (fleet rows) that arrive below their reserve and can discharge."""
    fleet = problem.fleet
    tolerance = ENERGY_TOLERANCE * fleet.capacity_kwh
    low = fleet.energy_initial_kwh < reserve_kwh(problem) - tolerance
    return np.flatnonzero(low & (fleet.max_discharge_kw > 0) & (fleet.plugged_slots > 0))


def guarded_transfers(problem: Problem) -> np.ndarray:
    """Transfers whose giver arrives below the transfer's floor (the LP's floor is lower)."""
    transfers = problem.transfers
    if transfers is None:
        return np.zeros(0, dtype=np.int64)
    fleet = problem.fleet
    giver = transfers.giver
    tolerance = ENERGY_TOLERANCE * fleet.capacity_kwh[giver]
    return np.flatnonzero(fleet.energy_initial_kwh[giver] < transfers.giver_floor_kwh - tolerance)


def find_breaches(problem: Problem, lp: LinearProgram, x: np.ndarray) -> Breaches:
    """Every rule of the module docstring that solution ``x`` of ``lp`` breaks."""
    lay = lp.layout
    fleet = problem.fleet
    charge = x[lay.charge : lay.discharge]
    discharge = x[lay.discharge : lay.energy]
    energy = x[lay.energy : lay.shortfall]
    simultaneous = np.flatnonzero(
        (charge > SIMULTANEOUS_TOLERANCE_KW) & (discharge > SIMULTANEOUS_TOLERANCE_KW)
    )
    tolerance = ENERGY_TOLERANCE * fleet.capacity_kwh
    veh = lay.vehicle
    below = energy < reserve_kwh(problem)[veh] - tolerance[veh]
    broken = (discharge > SIMULTANEOUS_TOLERANCE_KW) & below
    reserve = np.unique(veh[broken])
    return Breaches(simultaneous, reserve, _giver_floor_breaches(problem, lp, x))


def _giver_floor_breaches(problem: Problem, lp: LinearProgram, x: np.ndarray) -> np.ndarray:
    columns = lp.transfers
    transfers = problem.transfers
    if columns is None or transfers is None:
        return np.zeros(0, dtype=np.int64)
    lay = lp.layout
    flows = x[columns.first_flow : columns.first_flow + columns.link.size]
    k = columns.giver_k
    energy = x[lay.energy + k]
    giver = transfers.giver[columns.link]
    floor = transfers.giver_floor_kwh[columns.link]
    below = energy < floor - ENERGY_TOLERANCE * problem.fleet.capacity_kwh[giver]
    return np.unique(columns.link[(flows > SIMULTANEOUS_TOLERANCE_KW) & below])


@dataclass
class Binaries:
    """The binaries added to one HiGHS instance so far, to build a MIP start from a solution."""

    simultaneous: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(first column, k of each binary)"""
    reserve: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(first column, k of each binary: the guarded cars' slots that may discharge, in order)"""
    giver_floor: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(first column, transfer of each binary)"""
    discharged: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(first column, k of each): the energy a guarded car discharged up to slot k [kWh]"""
    covered: Breaches = field(default_factory=Breaches)
    """Every breach the binaries forbid."""

    @property
    def count(self) -> int:
        return sum(ks.size for group in self.groups() for _, ks in group)

    def groups(self) -> tuple[list[tuple[int, np.ndarray]], ...]:
        return self.simultaneous, self.reserve, self.giver_floor


def _add_columns(highs: highspy.Highs, count: int, lower: float, upper: float) -> int:
    """``count`` new costless columns in [lower, upper]; the first one's index."""
    first = highs.getNumCol()
    highs.addCols(
        count,
        np.zeros(count),
        np.full(count, lower),
        np.full(count, upper),
        0,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    return first


def _add_binary_columns(highs: highspy.Highs, count: int, integer: bool) -> int:
    """``count`` new columns in [0, 1]: binaries, or their relaxation until
    :func:`make_integer`."""
    first = _add_columns(highs, count, 0.0, 1.0)
    if integer:
        columns = np.arange(first, first + count, dtype=np.int32)
        highs.changeColsIntegrality(count, columns, np.full(count, highspy.HighsVarType.kInteger))
    return first


def make_integer(highs: highspy.Highs, added: Binaries) -> None:
    """Turn every column of ``added`` into a binary (its relaxation until now)."""
    columns = np.concatenate(
        [np.arange(first, first + ks.size) for group in added.groups() for first, ks in group]
    ).astype(np.int32)
    kinds = np.full(columns.size, highspy.HighsVarType.kInteger)
    highs.changeColsIntegrality(columns.size, columns, kinds)


def _add_pair_rows(
    highs: highspy.Highs,
    left: np.ndarray,
    right: np.ndarray,
    right_value: np.ndarray,
    lower: float | np.ndarray,
    upper: float | np.ndarray,
) -> None:
    """Rows ``lower <= x[left] + right_value * x[right] <= upper``, one per element."""
    count = left.size
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (count,))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (count,))
    index = np.empty(2 * count, dtype=np.int32)
    index[0::2] = left
    index[1::2] = right
    value = np.empty(2 * count)
    value[0::2] = 1.0
    value[1::2] = right_value
    starts = np.arange(0, 2 * count, 2, dtype=np.int32)
    highs.addRows(count, lower, upper, 2 * count, starts, index, value)


def add_binaries(
    highs: highspy.Highs,
    problem: Problem,
    lp: LinearProgram,
    breaches: Breaches,
    added: Binaries,
    integer: bool,
) -> None:
    """Add the binaries of the module docstring for ``breaches`` to ``highs`` (or their
    continuous relaxation in [0, 1] when not ``integer``); record them."""
    lay = lp.layout
    added.covered = added.covered.union(breaches)
    pairs = breaches.simultaneous
    if pairs.size:
        first = _add_binary_columns(highs, pairs.size, integer)
        u = np.arange(first, first + pairs.size)
        charge_max = lp.col_upper[lay.charge + pairs]
        discharge_max = lp.col_upper[lay.discharge + pairs]
        _add_pair_rows(highs, lay.charge + pairs, u, -charge_max, -np.inf, 0.0)  # pc <= Pc u
        _add_pair_rows(  # pd <= Pd (1 - u)
            highs, lay.discharge + pairs, u, discharge_max, -np.inf, discharge_max
        )
        added.simultaneous.append((first, pairs))
    if breaches.reserve.size:
        _add_reserve_binaries(highs, problem, lp, breaches.reserve, added, integer)
    if breaches.giver_floor.size:
        _add_giver_binaries(highs, problem, lp, breaches.giver_floor, added, integer)


def _add_reserve_binaries(
    highs: highspy.Highs,
    problem: Problem,
    lp: LinearProgram,
    cars: np.ndarray,
    added: Binaries,
    integer: bool,
) -> None:
    """Rule 2 of the module docstring for ``cars`` (each arriving below its reserve), on the
    slots where they may discharge at all. Per such slot k, with ``G = reserve - arrival``,
    ``D[k]`` the energy discharged up to k and ``Cmax[k]`` the most it can have charged by
    then (battery side):

    - ``pd[k] <= Pd z[k]``, ``z`` non-decreasing, ``e[k] >= arrival + G z[k]``;
    - ``D[k] <= (Cmax[k] - G) z[k]``: with ``z = 0`` nothing left, with ``z = 1`` what was
      charged beyond the reserve. Both disjuncts' hull in (charged, discharged, z) (Balas,
      "Disjunctive programming", 1979): the cut that keeps the relaxation from giving back
      energy charged while still below the reserve, which the rows above alone allow at
      fractional ``z``.
    """
    lay = lp.layout
    fleet = problem.fleet
    can_discharge = lp.col_upper[lay.discharge : lay.energy] > 0
    ks = np.flatnonzero(np.isin(lay.vehicle, cars) & can_discharge)
    veh = lay.vehicle[ks]
    first = _add_binary_columns(highs, ks.size, integer)
    z = np.arange(first, first + ks.size)
    arrival = fleet.energy_initial_kwh[veh]
    gap = reserve_kwh(problem)[veh] - arrival
    discharge_max = lp.col_upper[lay.discharge + ks]
    _add_pair_rows(highs, lay.discharge + ks, z, -discharge_max, -np.inf, 0.0)  # pd <= Pd z
    _add_pair_rows(highs, lay.energy + ks, z, -gap, arrival, np.inf)  # e >= arrival + G z
    follow = np.flatnonzero(veh[1:] == veh[:-1]) + 1  # z[k] >= z[k'], k' the car's slot before
    _add_pair_rows(highs, z[follow], z[follow] - 1, -np.ones(follow.size), 0.0, np.inf)

    # D[k] as columns: D[k] - D[k'] - pd[k] dt / eta_d = 0, then D[k] - (Cmax - G) z[k] <= 0
    discharged = _add_columns(highs, ks.size, 0.0, np.inf)
    d = np.arange(discharged, discharged + ks.size)
    battery_kwh = problem.dt_h / fleet.discharge_efficiency[veh]
    n = ks.size
    rows = np.concatenate([np.arange(n), follow, np.arange(n)])
    cols = np.concatenate([d, d[follow] - 1, lay.discharge + ks])
    vals = np.concatenate([np.ones(n), -np.ones(follow.size), -battery_kwh])
    _add_sparse_rows(highs, n, rows, cols, vals, np.zeros(n), np.zeros(n))
    charge_kwh = lp.col_upper[lay.charge : lay.discharge] * fleet.charge_efficiency[lay.vehicle]
    charged_max = np.cumsum(charge_kwh * problem.dt_h)
    charged_max -= np.concatenate([[0.0], charged_max])[lay.start][lay.vehicle]
    _add_pair_rows(highs, d, z, -(charged_max[ks] - gap), -np.inf, 0.0)
    added.reserve.append((first, ks))
    added.discharged.append((discharged, ks))


def _add_sparse_rows(
    highs: highspy.Highs,
    count: int,
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> None:
    """``count`` rows ``lower <= sum vals * x[cols] <= upper``, entry i in row ``rows[i]``."""
    order = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[order], np.arange(count)).astype(np.int32)
    highs.addRows(count, lower, upper, rows.size, starts, cols[order].astype(np.int32), vals[order])


def _add_giver_binaries(
    highs: highspy.Highs,
    problem: Problem,
    lp: LinearProgram,
    links: np.ndarray,
    added: Binaries,
    integer: bool,
) -> None:
    columns = lp.transfers
    transfers = problem.transfers
    assert columns is not None and transfers is not None
    lay = lp.layout
    first = _add_binary_columns(highs, links.size, integer)
    y_of_link = np.full(transfers.n_transfers, -1)
    y_of_link[links] = np.arange(first, first + links.size)
    chosen = np.flatnonzero(y_of_link[columns.link] >= 0)
    flow = columns.first_flow + chosen
    y = y_of_link[columns.link[chosen]]
    flow_max = lp.col_upper[flow]
    _add_pair_rows(highs, flow, y, -flow_max, -np.inf, 0.0)  # f <= F y
    k = columns.giver_k[chosen]
    floor = transfers.giver_floor_kwh[columns.link[chosen]]
    _add_pair_rows(highs, lay.energy + k, y, -floor, 0.0, np.inf)  # e >= floor y
    added.giver_floor.append((first, links))


def mip_start(
    problem: Problem, lp: LinearProgram, x: np.ndarray, added: Binaries, n_columns: int
) -> np.ndarray:
    """Values of every column (binaries included) for a solution ``x`` that breaks no rule."""
    lay = lp.layout
    start = np.zeros(n_columns)
    start[: lp.cost.size] = x[: lp.cost.size]
    charge = x[lay.charge : lay.discharge]
    energy = x[lay.energy : lay.shortfall]
    for first, pairs in added.simultaneous:
        start[first : first + pairs.size] = charge[pairs] > SIMULTANEOUS_TOLERANCE_KW
    tolerance = ENERGY_TOLERANCE * problem.fleet.capacity_kwh
    for first, ks in added.reserve:
        veh = lay.vehicle[ks]
        holds = energy[ks] >= reserve_kwh(problem)[veh] - tolerance[veh]
        starts_car = np.ones(ks.size, dtype=bool)
        starts_car[1:] = veh[1:] != veh[:-1]
        start[first : first + ks.size] = _running_or(holds, starts_car)
    discharge = x[lay.discharge : lay.energy]
    for first, ks in added.discharged:
        veh = lay.vehicle[ks]
        battery_kwh = discharge[ks] * problem.dt_h / problem.fleet.discharge_efficiency[veh]
        starts_car = np.ones(ks.size, dtype=bool)
        starts_car[1:] = veh[1:] != veh[:-1]
        start[first : first + ks.size] = _running_sum(battery_kwh, starts_car)
    columns = lp.transfers
    for first, links in added.giver_floor:
        assert columns is not None
        flows = x[columns.first_flow : columns.first_flow + columns.link.size]
        given = np.zeros(problem.n_transfers, dtype=bool)
        given[columns.link[flows > SIMULTANEOUS_TOLERANCE_KW]] = True
        start[first : first + links.size] = given[links]
    return start


def _running_or(flags: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per session (a new one starts where ``first``): true from its first true flag on."""
    count = np.cumsum(flags)
    session = np.cumsum(first) - 1
    before = (count - flags)[first]  # true flags before each session's first slot
    return count - before[session] > 0


def _running_sum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per session (a new one starts where ``first``): the cumulative sum of ``values``."""
    total = np.cumsum(values)
    session = np.cumsum(first) - 1
    before = (total - values)[first]
    return total - before[session]
