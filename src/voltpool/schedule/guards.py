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
   ("reserve reached"), monotone over the session: ``z[k] >= z[k-1]``, ``pd[k] <= Pd * z[k]``,
   ``e[k] >= reserve * z[k]``.
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
    """(first column, k of each binary: every plugged-in slot of the guarded cars, in order)"""
    giver_floor: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(first column, transfer of each binary)"""
    covered: Breaches = field(default_factory=Breaches)
    """Every breach the binaries forbid."""

    @property
    def count(self) -> int:
        return sum(ks.size for group in self.groups() for _, ks in group)

    def groups(self) -> tuple[list[tuple[int, np.ndarray]], ...]:
        return self.simultaneous, self.reserve, self.giver_floor


def _add_binary_columns(highs: highspy.Highs, count: int) -> int:
    first = highs.getNumCol()
    highs.addCols(
        count,
        np.zeros(count),
        np.zeros(count),
        np.ones(count),
        0,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    columns = np.arange(first, first + count, dtype=np.int32)
    highs.changeColsIntegrality(count, columns, np.full(count, highspy.HighsVarType.kInteger))
    return first


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
) -> None:
    """Add the binaries of the module docstring for ``breaches`` to ``highs``; record them."""
    lay = lp.layout
    added.covered = added.covered.union(breaches)
    pairs = breaches.simultaneous
    if pairs.size:
        first = _add_binary_columns(highs, pairs.size)
        u = np.arange(first, first + pairs.size)
        charge_max = lp.col_upper[lay.charge + pairs]
        discharge_max = lp.col_upper[lay.discharge + pairs]
        _add_pair_rows(highs, lay.charge + pairs, u, -charge_max, -np.inf, 0.0)  # pc <= Pc u
        _add_pair_rows(  # pd <= Pd (1 - u)
            highs, lay.discharge + pairs, u, discharge_max, -np.inf, discharge_max
        )
        added.simultaneous.append((first, pairs))
    if breaches.reserve.size:
        ks = np.flatnonzero(np.isin(lay.vehicle, breaches.reserve))  # every slot of those cars
        first = _add_binary_columns(highs, ks.size)
        z = np.arange(first, first + ks.size)
        floor = reserve_kwh(problem)[lay.vehicle[ks]]
        discharge_max = lp.col_upper[lay.discharge + ks]
        _add_pair_rows(highs, lay.discharge + ks, z, -discharge_max, -np.inf, 0.0)  # pd <= Pd z
        _add_pair_rows(highs, lay.energy + ks, z, -floor, 0.0, np.inf)  # e >= reserve z
        follow = ~lay.first[ks]  # z[k] - z[k-1] >= 0 within each car's session
        _add_pair_rows(highs, z[follow], z[follow] - 1, -np.ones(int(follow.sum())), 0.0, np.inf)
        added.reserve.append((first, ks))
    if breaches.giver_floor.size:
        _add_giver_binaries(highs, problem, lp, breaches.giver_floor, added)


def _add_giver_binaries(
    highs: highspy.Highs,
    problem: Problem,
    lp: LinearProgram,
    links: np.ndarray,
    added: Binaries,
) -> None:
    columns = lp.transfers
    transfers = problem.transfers
    assert columns is not None and transfers is not None
    lay = lp.layout
    first = _add_binary_columns(highs, links.size)
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
        start[first : first + ks.size] = _running_or(holds, lay.first[ks])
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
