"""Islanded backup (V2H during a grid outage): which circuits the cars keep on, and for how long.

When the grid fails, a house with a grid-forming bidirectional charger runs on its cars alone,
as an *intentional island* in the terms of IEEE 1547-2018: the house is first separated from the
grid (a transfer switch or backup gateway opens), so nothing is fed into the dead network, which
an inverter must never do in an *unintentional* island. Nothing can be imported or exported, so
the circuits that stay on must be carried exactly by the cars' AC discharge, and each circuit's
relay is either on or off for a whole slot.

Model (a mixed-integer linear program, solved by HiGHS through highspy)
-----------------------------------------------------------------------
For circuits ``c``, slots ``t`` and cars ``n``:

- binaries ``on[c, t]`` (a relay per circuit; fixed on where the circuit draws nothing);
- AC discharge ``0 <= pd[n, t] <= max_discharge_kw[n] * available[n, t]`` (zero for a car that
  starts at or below its reserve: it does not discharge at all);
- served load equals discharge, every slot: ``sum_c load[c, t] * on[c, t] = sum_n pd[n, t]``
  (no grid, no export, no charging while islanded);
- stored energy ``e[n, t+1] = e[n, t] - pd[n, t] * dt_h / eta_d[n]`` must stay at or above the
  reserve. Energy only falls while islanded, so this is one row per car:
  ``sum_t pd[n, t] * dt_h / eta_d[n] <= energy_kwh[n] - reserve_kwh[n]``.

Objective: lexicographic (pre-emptive) optimization
---------------------------------------------------
Circuits are ranked into *tiers*: critical circuits before all others, and within each class a
higher ``priority`` before a lower one (equal class and priority share a tier). Tier 0 is kept on
longest, the last tier is shed first. Each tier has two scores: first its *run*, the number of
slots from the start of the outage in which all of it is on (the house stays on from the moment
the grid fails for as long as the cars can carry it), then the energy it is served, with a small
linear time discount::

    run[k]   = max L such that on[c, t] = 1 for every c in tier k and t < L
    score[k] = sum_{c in tier k, t} load[c, t] * dt_h * (1 - time_discount * t / T) * on[c, t]

The run comes first because energy alone can be packed better by leaving a dear slot dark and
serving cheaper ones later: the house would go dark at once although the cars could carry it for a
while (seen at some start times of the day on the H25 profile). A tier's run is found by bisection
on feasibility MIPs (a run that fits means every shorter one fits) and then kept by fixing its cells
on. Plans are compared on ``run[0]``, then ``score[0]``, then ``run[1]``, ``score[1]``, and so on. A
single weighted sum cannot guarantee that order: with on/off circuits, a tier's weight would have to
exceed the tiers below by about the ratio of the largest circuit-slot energy to the smallest (a 5 kW
heater against a 10 W router: 500), multiplied over the tiers, far past what a MIP solver's relative
tolerances (about 1e-6) resolve; ``tests/test_backup.py`` has such a case. So the tiers are
optimized one after the other, each solve keeping the scores of the tiers above at their optimum
(the hierarchical multi-objective scheme of MIP solvers); within a tier the weights are the
discounted energies above, which differ by at most ``time_discount`` (default 5 %) across the
horizon. Because a tier's weight is the very energy it uses, the discount makes it serve earlier
slots before later ones whenever that does not cost served energy: energy used early is never wasted
if the grid comes back early. A last linear program (circuits fixed) takes the served energy from
the cars that lose the least battery energy for it (highest ``discharge_efficiency``).

Each MIP solve stops at a relative gap of ``mip_rel_gap`` (default ``1e-6``, a milliwatt-hour
per kWh served: tight enough that the time discount, worth ``time_discount / T`` of a slot's
energy, still decides) or at ``time_limit_s`` over all tiers (then the best plan found is
returned and ``solver.status`` says ``"time_limit"``). Houses have a handful of circuits, so the
models are small: 6-8 circuits x 288 slots (three days) take about half a second per tier on a
2-core machine, and when the cars can carry everything a single LP settles it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import highspy
import numpy as np
import scipy.sparse as sp

from voltpool.errors import FieldIssue, ProblemError, SolverError
from voltpool.schedule.highs import highs_for, run_highs

DEFAULT_TIME_DISCOUNT = 0.05
"""A kWh served in the last slot is worth 5 % less than one served in the first."""
DEFAULT_MIP_REL_GAP = 1e-6
DEFAULT_TIME_LIMIT_S = 60.0
RESERVE_TOLERANCE_KWH = 1e-3
"""A car within 1 Wh of its reserve counts as having reached it."""
_ROUND = 0.5


def reserve_kwh_from(
    capacity_kwh: np.ndarray | float,
    soc_min: np.ndarray | float | None = None,
    min_range_km: np.ndarray | float | None = None,
    consumption_kwh_per_km: np.ndarray | float | None = None,
) -> np.ndarray:
    """The driving reserve of each car: the larger of a SoC floor and a range floor. [kWh]

    ``reserve = max(soc_min * capacity_kwh, min_range_km * consumption_kwh_per_km)``; a rule that
    is not given counts as 0. Raises :class:`ProblemError` naming the field when a value is
    negative or not finite, when ``min_range_km`` comes without ``consumption_kwh_per_km``, or
    when the reserve exceeds the capacity (the car could never be driven that far).
    """
    capacity = np.atleast_1d(np.asarray(capacity_kwh, dtype=float))
    issues: list[FieldIssue] = []
    n = capacity.size

    def as_array(name: str, value: np.ndarray | float | None) -> np.ndarray | None:
        if value is None:
            return None
        array = np.broadcast_to(np.asarray(value, dtype=float), capacity.shape)
        for i in np.flatnonzero(~np.isfinite(array) | (array < 0))[:5]:
            issues.append(
                FieldIssue(_at(name, i, n), f"{array[i].item()!r} must be a finite number >= 0")
            )
        return array

    for i in np.flatnonzero(~np.isfinite(capacity) | (capacity <= 0))[:5]:
        issues.append(FieldIssue(_at("capacity_kwh", i, n), "must be a finite number > 0"))
    soc = as_array("soc_min", soc_min)
    km = as_array("min_range_km", min_range_km)
    per_km = as_array("consumption_kwh_per_km", consumption_kwh_per_km)
    if soc is not None:
        for i in np.flatnonzero(soc > 1)[:5]:
            issues.append(FieldIssue(_at("soc_min", i, n), f"{soc[i].item()!r} must be <= 1"))
    if km is not None and per_km is None:
        issues.append(
            FieldIssue("consumption_kwh_per_km", "is required to turn min_range_km into kWh")
        )
    if issues:
        raise ProblemError(issues)
    reserve = np.zeros_like(capacity)
    if soc is not None:
        reserve = np.maximum(reserve, soc * capacity)
    if km is not None and per_km is not None:
        range_kwh = km * per_km
        for i in np.flatnonzero(range_kwh > capacity * (1 + 1e-12))[:5]:
            issues.append(
                FieldIssue(
                    _at("min_range_km", i, n),
                    f"{km[i]:g} km at {per_km[i]:g} kWh/km needs {range_kwh[i]:.1f} kWh, more "
                    f"than the battery's capacity_kwh ({capacity[i]:g})",
                )
            )
        reserve = np.maximum(reserve, range_kwh)
    if issues:
        raise ProblemError(issues)
    return reserve


def _at(name: str, index: int, size: int) -> str:
    return f"{name}[{index}]" if size > 1 else name


def circuit_tiers(critical: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Tier of each circuit ``[C]``: 0 is kept on longest, the highest tier is shed first.

    Critical circuits come before all others; within a class a higher priority comes first;
    circuits of equal class and priority share a tier.
    """
    critical = np.asarray(critical, dtype=bool)
    priority = np.asarray(priority, dtype=np.int64)
    keys = np.stack([~critical, -priority], axis=1)
    _unique, tier = np.unique(keys, axis=0, return_inverse=True)
    return tier.reshape(-1).astype(np.int64)


def slot_discount(n_slots: int, time_discount: float) -> np.ndarray:
    """The time weight of each slot: ``1 - time_discount * t / T``."""
    return 1.0 - time_discount * np.arange(n_slots) / max(n_slots, 1)


@dataclass(frozen=True)
class OutageSolverInfo:
    """How a plan was found: ``status`` is ``"optimal"`` (within ``mip_rel_gap``) or
    ``"time_limit"`` (the best plan found when the time ran out)."""

    status: str
    levels: int
    """Tiers optimized (each: its run, then its energy); 0 when the cars carry everything."""
    solve_time_s: float
    mip_rel_gap: float
    time_discount: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GridReturn:
    """What the cars still hold, and what was served, if the grid returns at the start of ``slot``.

    Energies are summed over slots ``< slot``; ``range_km`` is None unless a consumption is given.
    """

    slot: int
    hours: float
    energy_kwh: np.ndarray
    usable_kwh: np.ndarray
    range_km: np.ndarray | None
    served_kwh: float
    shed_kwh: float
    shed_critical_kwh: float
    nothing_shed: bool
    critical_kept: bool


@dataclass(frozen=True, eq=False)
class OutagePlan:
    """An islanded backup plan: relays per circuit and slot, and each car's discharge.

    Attributes
    ----------
    dt_h : float
        Slot length. [h]
    circuit_names : tuple of str
    circuit_load_kw : array [C, T]
        What each circuit would draw if on. [kW]
    critical : array [C] of bool
    priority : array [C] of int
    on : array [C, T] of bool
        Relay state; circuits drawing nothing are on.
    power_kw : array [N, T]
        AC power of each car, negative when discharging (docs/conventions.md, "Signs"; never
        positive here). [kW]
    energy_kwh : array [N, T+1]
        Stored energy at the start of each slot and at the end. [kWh]
    reserve_kwh : array [N]
        Driving reserve. [kWh]
    """

    dt_h: float
    circuit_names: tuple[str, ...]
    circuit_load_kw: np.ndarray
    critical: np.ndarray
    priority: np.ndarray
    on: np.ndarray
    power_kw: np.ndarray
    energy_kwh: np.ndarray
    reserve_kwh: np.ndarray
    solver: OutageSolverInfo

    @cached_property
    def tier(self) -> np.ndarray:
        """``[C]``: 0 is kept on longest (:func:`circuit_tiers` of ``critical``, ``priority``)."""
        return circuit_tiers(self.critical, self.priority)

    @property
    def circuits_by_tier(self) -> np.ndarray:
        """``[C]`` circuit indices, kept longest first (ties in circuit order)."""
        return np.argsort(self.tier, kind="stable")

    @property
    def n_circuits(self) -> int:
        return int(self.circuit_load_kw.shape[0])

    @property
    def n_slots(self) -> int:
        return int(self.circuit_load_kw.shape[1])

    @property
    def n_vehicles(self) -> int:
        return int(self.power_kw.shape[0])

    @property
    def load_kw(self) -> np.ndarray:
        """House load if every circuit were on ``[T]``. [kW]"""
        return self.circuit_load_kw.sum(axis=0)

    @property
    def served_circuit_kw(self) -> np.ndarray:
        """``[C, T]`` load each circuit is served. [kW]"""
        return np.where(self.on, self.circuit_load_kw, 0.0)

    @property
    def shed_circuit_kw(self) -> np.ndarray:
        """``[C, T]`` load each circuit loses. [kW]"""
        return np.where(self.on, 0.0, self.circuit_load_kw)

    @property
    def served_kw(self) -> np.ndarray:
        """``[T]`` load served, equal to the cars' total AC discharge. [kW]"""
        return self.served_circuit_kw.sum(axis=0)

    @property
    def shed_kw(self) -> np.ndarray:
        """``[T]`` load shed: house load minus served. [kW]"""
        return self.shed_circuit_kw.sum(axis=0)

    @property
    def discharge_kw(self) -> np.ndarray:
        """``[N, T]`` AC discharge as positive magnitudes. [kW]"""
        return -self.power_kw

    @property
    def hours_full(self) -> float:
        """Hours from the start during which nothing is shed. [h]"""
        return _leading_run(~self._shed_cells.any(axis=0)) * self.dt_h

    @property
    def hours_critical(self) -> float:
        """Hours from the start during which every critical circuit is on. [h]"""
        return _leading_run(~self._shed_cells[self.critical].any(axis=0)) * self.dt_h

    @property
    def served_kwh(self) -> float:
        return float(self.served_kw.sum() * self.dt_h)

    @property
    def unserved_kwh(self) -> float:
        return float(self.shed_kw.sum() * self.dt_h)

    @property
    def unserved_critical_kwh(self) -> float:
        return float(self.shed_circuit_kw[self.critical].sum() * self.dt_h)

    @property
    def reserve_stop_slot(self) -> np.ndarray:
        """``[N]``: index into ``energy_kwh`` of the first instant a car sits at its reserve
        (from then on it cannot discharge; ``T`` = at the very end), -1 if never."""
        at_reserve = self.energy_kwh <= self.reserve_kwh[:, None] + RESERVE_TOLERANCE_KWH
        first = np.argmax(at_reserve, axis=1)
        return np.where(at_reserve.any(axis=1), first, -1)

    @property
    def first_shed_slot(self) -> np.ndarray:
        """``[C]``: first slot each circuit is shed in, -1 if never."""
        cells = self._shed_cells
        return np.where(cells.any(axis=1), np.argmax(cells, axis=1), -1)

    @property
    def shed_hours(self) -> np.ndarray:
        """``[C]``: hours each circuit is shed while it would draw power. [h]"""
        return self._shed_cells.sum(axis=1) * self.dt_h

    @property
    def shed_kwh_by_circuit(self) -> np.ndarray:
        """``[C]``: energy each circuit loses. [kWh]"""
        return self.shed_circuit_kw.sum(axis=1) * self.dt_h

    def shed_order(self) -> list[int]:
        """Circuits that are shed at some point, earliest first (ties: least important first)."""
        first = self.first_shed_slot
        shed = np.flatnonzero(first >= 0)
        return shed[np.lexsort((-self.tier[shed], first[shed]))].tolist()

    def level_scores(self, time_discount: float | None = None) -> np.ndarray:
        """``[K]``: the discounted energy each tier is served (the lexicographic objective)."""
        discount = self.solver.time_discount if time_discount is None else time_discount
        weight = self.served_circuit_kw * self.dt_h * slot_discount(self.n_slots, discount)
        scores = np.zeros(int(self.tier.max(initial=-1)) + 1)
        np.add.at(scores, self.tier, weight.sum(axis=1))
        return scores

    def level_runs(self) -> np.ndarray:
        """``[K]``: each tier's run, the slots from the start in which all of it is on."""
        runs = np.zeros(int(self.tier.max(initial=-1)) + 1, dtype=np.int64)
        for k in range(runs.size):
            runs[k] = _leading_run(~self._shed_cells[self.tier == k].any(axis=0))
        return runs

    def if_grid_returns(
        self, slot: int, consumption_kwh_per_km: np.ndarray | float | None = None
    ) -> GridReturn:
        """What happens if the grid comes back at the start of ``slot`` (0..T).

        The cars keep what they have not given (their energy at that instant; ``usable_kwh`` is
        the part above the reserve) and ``range_km`` converts it to driving range when a
        consumption per km is given.
        """
        if not 0 <= slot <= self.n_slots:
            raise ProblemError([FieldIssue("slot", f"{slot!r} must be within 0..{self.n_slots}")])
        energy = self.energy_kwh[:, slot].copy()
        range_km = None
        if consumption_kwh_per_km is not None:
            per_km = np.broadcast_to(np.asarray(consumption_kwh_per_km, dtype=float), energy.shape)
            if (~np.isfinite(per_km) | (per_km <= 0)).any():
                raise ProblemError(
                    [FieldIssue("consumption_kwh_per_km", "must be finite numbers > 0")]
                )
            range_km = energy / per_km
        window = slice(0, slot)
        cells = self._shed_cells[:, window]
        return GridReturn(
            slot=slot,
            hours=slot * self.dt_h,
            energy_kwh=energy,
            usable_kwh=np.maximum(energy - self.reserve_kwh, 0.0),
            range_km=range_km,
            served_kwh=float(self.served_kw[window].sum() * self.dt_h),
            shed_kwh=float(self.shed_kw[window].sum() * self.dt_h),
            shed_critical_kwh=float(self.shed_circuit_kw[self.critical, window].sum() * self.dt_h),
            nothing_shed=not bool(cells.any()),
            critical_kept=not bool(cells[self.critical].any()),
        )

    @property
    def _shed_cells(self) -> np.ndarray:
        return ~self.on & (self.circuit_load_kw > 0)


def _leading_run(mask: np.ndarray) -> int:
    """Length of the run of True at the start of ``mask``."""
    return int(mask.size if mask.all() else np.argmin(mask))


def _check_inputs(
    load: np.ndarray,
    critical: np.ndarray,
    priority: np.ndarray,
    energy: np.ndarray,
    reserve: np.ndarray,
    max_kw: np.ndarray,
    eta: np.ndarray,
    dt_h: float,
    available: np.ndarray,
    names: tuple[str, ...],
    time_discount: float,
) -> None:
    issues: list[FieldIssue] = []
    if load.ndim != 2 or load.shape[0] < 1 or load.shape[1] < 1:
        raise ProblemError(
            [FieldIssue("circuit_load_kw", f"must be [circuits, slots], got shape {load.shape}")]
        )
    n_c, n_t = load.shape
    bad = np.argwhere(~np.isfinite(load) | (load < 0))
    for c, t in bad[:5]:
        issues.append(
            FieldIssue(
                f"circuit_load_kw[{c}, {t}]",
                f"{load[c, t].item()!r} ({names[c] if c < len(names) else c}) must be a finite "
                "number >= 0",
            )
        )
    for name, array in (("critical", critical), ("priority", priority)):
        if array.shape != (n_c,):
            issues.append(
                FieldIssue(name, f"needs one value per circuit ({n_c}), got {array.size}")
            )
    if len(names) != n_c:
        issues.append(FieldIssue("circuit_names", f"needs {n_c} names, got {len(names)}"))
    elif len(set(names)) != n_c:
        issues.append(FieldIssue("circuit_names", "must be unique"))
    n_v = energy.size
    for name, array in (
        ("reserve_kwh", reserve),
        ("max_discharge_kw", max_kw),
        ("discharge_efficiency", eta),
    ):
        if array.shape != (n_v,):
            issues.append(
                FieldIssue(
                    name, f"needs one value per car ({n_v}, as energy_kwh), got {array.size}"
                )
            )
    if available.shape != (n_v, n_t):
        issues.append(FieldIssue("available", f"must be [{n_v}, {n_t}], got {available.shape}"))
    if issues:
        raise ProblemError(issues)
    for name, array, rule, bad_mask in (
        ("energy_kwh", energy, "must be a finite number >= 0", ~(energy >= 0)),
        ("reserve_kwh", reserve, "must be a finite number >= 0", ~(reserve >= 0)),
        ("max_discharge_kw", max_kw, "must be a finite number >= 0", ~(max_kw >= 0)),
        ("discharge_efficiency", eta, "must be within (0, 1]", ~((eta > 0) & (eta <= 1))),
    ):
        bad_mask = bad_mask | ~np.isfinite(array)
        for i in np.flatnonzero(bad_mask)[:5]:
            issues.append(FieldIssue(f"{name}[{i}]", f"{array[i].item()!r} {rule}"))
    if not (np.isfinite(dt_h) and dt_h > 0):
        issues.append(FieldIssue("dt_h", f"{dt_h!r} must be a finite number > 0"))
    if not (0 <= time_discount < 1):
        issues.append(FieldIssue("time_discount", f"{time_discount!r} must be within [0, 1)"))
    if issues:
        raise ProblemError(issues)


def plan_outage(
    circuit_load_kw: np.ndarray,
    critical: np.ndarray,
    priority: np.ndarray,
    energy_kwh: np.ndarray,
    reserve_kwh: np.ndarray,
    max_discharge_kw: np.ndarray,
    discharge_efficiency: np.ndarray,
    dt_h: float,
    available: np.ndarray | None = None,
    circuit_names: tuple[str, ...] | None = None,
    *,
    time_discount: float = DEFAULT_TIME_DISCOUNT,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> OutagePlan:
    """Plan an islanded outage: keep the most important circuits on longest (module docstring).

    Parameters
    ----------
    circuit_load_kw : array [C, T]
        The house load split into circuits. [kW, >= 0]
    critical : array [C] of bool
        Critical circuits, shed only when nothing else is left.
    priority : array [C] of int
        Within the same class, a lower number is shed first.
    energy_kwh : array [N]
        Each car's stored energy now. [kWh]
    reserve_kwh : array [N]
        Driving reserve: never discharge below it (:func:`reserve_kwh_from`). [kWh]
    max_discharge_kw : array [N]
        AC discharge limit of each car's charger; 0 for a one-way charger. [kW]
    discharge_efficiency : array [N]
        Battery to AC. [0..1]
    dt_h : float
        Slot length. [h]
    available : array [N, T] of bool, optional
        The car is at home and plugged in (default: always).
    circuit_names : tuple of str, optional
    time_discount, mip_rel_gap, time_limit_s
        See the module docstring.

    Raises
    ------
    ProblemError
        Bad input, naming the field and the rule.
    SolverError
        HiGHS failed without a usable plan.
    """
    load = np.array(circuit_load_kw, dtype=float, ndmin=2)
    critical_a = np.asarray(critical, dtype=bool).reshape(-1)
    priority_raw = np.asarray(priority).reshape(-1)
    energy = np.asarray(energy_kwh, dtype=float).reshape(-1)
    reserve = np.asarray(reserve_kwh, dtype=float).reshape(-1)
    max_kw = np.asarray(max_discharge_kw, dtype=float).reshape(-1)
    eta = np.asarray(discharge_efficiency, dtype=float).reshape(-1)
    n_c, n_t = load.shape
    avail = (
        np.ones((energy.size, n_t), dtype=bool)
        if available is None
        else np.asarray(available, dtype=bool)
    )
    names = (
        tuple(f"circuit {c}" for c in range(n_c))
        if circuit_names is None
        else tuple(str(n) for n in circuit_names)
    )
    if priority_raw.size and not np.array_equal(priority_raw, np.round(priority_raw)):
        raise ProblemError([FieldIssue("priority", "must be whole numbers")])
    priority_a = priority_raw.astype(np.int64)
    _check_inputs(
        load,
        critical_a,
        priority_a,
        energy,
        reserve,
        max_kw,
        eta,
        float(dt_h),
        avail,
        names,
        time_discount,
    )
    budget_kwh = np.maximum(energy - reserve, 0.0)
    limit_kw = np.where((budget_kwh > 0)[:, None] & avail, max_kw[:, None], 0.0)
    on, discharge_kw, info = _solve(
        load,
        circuit_tiers(critical_a, priority_a),
        limit_kw,
        budget_kwh,
        eta,
        float(dt_h),
        time_discount,
        mip_rel_gap,
        time_limit_s,
    )
    drawn_kwh = np.cumsum(discharge_kw * dt_h / eta[:, None], axis=1)
    energy_path = np.concatenate([energy[:, None], energy[:, None] - drawn_kwh], axis=1)
    return OutagePlan(
        dt_h=float(dt_h),
        circuit_names=names,
        circuit_load_kw=load,
        critical=critical_a,
        priority=priority_a,
        on=on,
        power_kw=-discharge_kw,
        energy_kwh=energy_path,
        reserve_kwh=reserve,
        solver=info,
    )


@dataclass(frozen=True)
class _Model:
    """Column layout: ``on[c, t]`` at ``c * T + t``, then ``pd[n, t]`` at ``C*T + n*T + t``."""

    n_on: int
    n_cols: int
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray


def _build(
    load: np.ndarray, limit_kw: np.ndarray, budget_kwh: np.ndarray, eta: np.ndarray, dt_h: float
) -> _Model:
    n_c, n_t = load.shape
    n_v = limit_kw.shape[0]
    n_on = n_c * n_t
    n_cols = n_on + n_v * n_t
    cell = np.arange(n_on)
    slot_of_cell = cell % n_t
    pd_cols = n_on + np.arange(n_v * n_t)
    slot_of_pd = np.tile(np.arange(n_t), n_v)
    car_of_pd = np.repeat(np.arange(n_v), n_t)
    loaded = load.reshape(-1) > 0
    rows = np.concatenate([slot_of_cell[loaded], slot_of_pd, n_t + car_of_pd])
    cols = np.concatenate([cell[loaded], pd_cols, pd_cols])
    vals = np.concatenate(
        [load.reshape(-1)[loaded], -np.ones(n_v * n_t), np.repeat(dt_h / eta, n_t)]
    )
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_t + n_v, n_cols))
    col_lower = np.concatenate([np.where(loaded, 0.0, 1.0), np.zeros(n_v * n_t)])
    col_upper = np.concatenate([np.ones(n_on), limit_kw.reshape(-1)])
    row_lower = np.concatenate([np.zeros(n_t), np.full(n_v, -np.inf)])
    row_upper = np.concatenate([np.zeros(n_t), budget_kwh])
    return _Model(n_on, n_cols, col_lower, col_upper, matrix, row_lower, row_upper)


def _highs(model: _Model) -> highspy.Highs:
    return highs_for(
        np.zeros(model.n_cols),
        model.col_lower,
        model.col_upper,
        model.matrix,
        model.row_lower,
        model.row_upper,
        integer_columns=model.n_on,
    )


def _longest_run(
    highs: highspy.Highs,
    model: _Model,
    cells: np.ndarray,
    n_t: int,
    incumbent: np.ndarray,
    deadline: float,
) -> tuple[int, bool]:
    """The longest run from the start in which every one of a tier's ``cells`` (loaded on/off
    columns) can be on, with what was decided before kept, found by bisection on feasibility
    MIPs (a run that fits means every shorter one fits); those cells are left fixed on.
    ``incumbent`` is a feasible plan, so its run is the lower end. Returns the run and
    whether the search finished within the time limit."""
    slots = cells % n_t
    dark = np.zeros(n_t, dtype=bool)
    np.logical_or.at(dark, slots, incumbent[cells] < _ROUND)
    fits, too_long = _leading_run(~dark), n_t + 1
    highs.changeColsCost(
        model.n_cols, np.arange(model.n_cols, dtype=np.int32), np.zeros(model.n_cols)
    )
    finished = True
    while too_long - fits > 1:
        trial = (fits + too_long) // 2
        tried = cells[(slots >= fits) & (slots < trial)].astype(np.int32)
        highs.changeColsBounds(tried.size, tried, np.ones(tried.size), np.ones(tried.size))
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.1))
        status = run_highs(highs)
        if status == highspy.HighsModelStatus.kOptimal:
            fits = trial
            continue
        highs.changeColsBounds(tried.size, tried, np.zeros(tried.size), np.ones(tried.size))
        if status != highspy.HighsModelStatus.kInfeasible:
            finished = False
            break
        too_long = trial
    kept = cells[slots < fits].astype(np.int32)
    highs.changeColsBounds(kept.size, kept, np.ones(kept.size), np.ones(kept.size))
    return fits, finished


def _solve_tiers(
    highs: highspy.Highs,
    model: _Model,
    weight: np.ndarray,
    cell_tier: np.ndarray,
    n_t: int,
    incumbent: np.ndarray,
    deadline: float,
) -> tuple[str, int, list[str]]:
    """Per tier that draws power, most important first: its longest run from the start
    (:func:`_longest_run`), then one MIP for its discounted energy, each keeping what was
    decided before (the run's cells fixed on, the energy as an added row). Returns the status,
    the number of energy MIPs and notes."""
    all_cols = np.arange(model.n_cols, dtype=np.int32)
    loaded = model.col_lower[: model.n_on] < _ROUND
    levels = 0
    for k in np.unique(cell_tier[weight > 0]):
        levels += 1
        cells = np.flatnonzero((cell_tier == k) & loaded)
        _run, finished = _longest_run(highs, model, cells, n_t, incumbent, deadline)
        if not finished:
            return "time_limit", levels, [f"time limit reached at the run of tier {k}"]
        coef = np.where(cell_tier == k, weight, 0.0)
        cost = np.zeros(model.n_cols)
        cost[: model.n_on] = -coef
        highs.changeColsCost(model.n_cols, all_cols, cost)
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.1))
        run_status = run_highs(highs)
        if run_status not in (
            highspy.HighsModelStatus.kOptimal,
            highspy.HighsModelStatus.kTimeLimit,
        ):
            raise SolverError(
                f"HiGHS stopped with status {highs.modelStatusToString(run_status)!r} on "
                f"tier {k} of the outage plan"
            )
        x = np.asarray(highs.getSolution().col_value)
        if not np.isfinite(x).all() or x.size != model.n_cols:
            raise SolverError(f"HiGHS found no plan for tier {k} within the time limit")
        incumbent = x[: model.n_on]
        best = float(coef @ np.round(incumbent))
        # keep this tier at its optimum while the tiers below are decided
        index = np.flatnonzero(coef).astype(np.int32)
        tolerance = 1e-7 * max(best, 1.0)
        highs.addRow(best - tolerance, np.inf, index.size, index, coef[index])
        if run_status == highspy.HighsModelStatus.kTimeLimit:
            note = f"time limit reached at tier {k}: lower tiers get what is left"
            return "time_limit", levels, [note]
    return "optimal", levels, []


def _solve(
    load: np.ndarray,
    tier: np.ndarray,
    limit_kw: np.ndarray,
    budget_kwh: np.ndarray,
    eta: np.ndarray,
    dt_h: float,
    time_discount: float,
    mip_rel_gap: float,
    time_limit_s: float,
) -> tuple[np.ndarray, np.ndarray, OutageSolverInfo]:
    """Tier by tier MIP, then the car split LP. Returns ``on [C, T]``, ``pd [N, T]``, info."""
    started = time.perf_counter()
    n_c, n_t = load.shape
    n_v = limit_kw.shape[0]
    model = _build(load, limit_kw, budget_kwh, eta, dt_h)
    highs = _highs(model)
    highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    highs.setOptionValue("mip_abs_gap", 1e-9)
    on_cols = np.arange(model.n_on, dtype=np.int32)
    all_cols = np.arange(model.n_cols, dtype=np.int32)
    status, levels = "optimal", 0
    notes: list[str] = []

    # Everything on is the common case (a short outage, a full battery): one LP decides it.
    ones = np.ones(model.n_on)
    highs.changeColsBounds(model.n_on, on_cols, ones, ones)
    if run_highs(highs) != highspy.HighsModelStatus.kOptimal:
        highs.changeColsBounds(model.n_on, on_cols, model.col_lower[: model.n_on], ones)
        weight = (load * dt_h * slot_discount(n_t, time_discount)).reshape(-1)
        nothing_on = model.col_lower[: model.n_on].copy()  # feasible: the cars give nothing
        status, levels, notes = _solve_tiers(
            highs, model, weight, np.repeat(tier, n_t), n_t, nothing_on, started + time_limit_s
        )

    # Circuits fixed: serve them from the cars that lose the least battery energy. The tier
    # rows are dropped first (rounding the binaries must not make them bind).
    x = np.asarray(highs.getSolution().col_value)
    on = (x[: model.n_on] > _ROUND) | (model.col_lower[: model.n_on] > _ROUND)
    base_rows = model.row_lower.size
    extra_rows = highs.getNumRow() - base_rows
    if extra_rows:
        highs.deleteRows(extra_rows, np.arange(base_rows, base_rows + extra_rows, dtype=np.int32))
    fixed = on.astype(float)
    highs.changeColsIntegrality(
        model.n_on, on_cols, np.full(model.n_on, highspy.HighsVarType.kContinuous)
    )
    highs.changeColsBounds(model.n_on, on_cols, fixed, fixed)
    cost = np.zeros(model.n_cols)
    cost[model.n_on :] = np.repeat(dt_h / eta, n_t)
    highs.changeColsCost(model.n_cols, all_cols, cost)
    highs.setOptionValue("time_limit", np.inf)
    if run_highs(highs) == highspy.HighsModelStatus.kOptimal:
        x = np.asarray(highs.getSolution().col_value)
    else:  # keep the MIP's own split of the load over the cars
        notes.append("kept the MIP's split of the load over the cars")
    on_grid = on.reshape(n_c, n_t)
    discharge_kw = np.clip(x[model.n_on :].reshape(n_v, n_t), 0.0, limit_kw)
    # exact balance: served load equals discharge (removes solver round-off)
    served_kw = np.where(on_grid, load, 0.0).sum(axis=0)
    total_kw = discharge_kw.sum(axis=0)
    scale = np.divide(served_kw, total_kw, out=np.zeros(n_t), where=total_kw > 0)
    discharge_kw = discharge_kw * scale
    info = OutageSolverInfo(
        status=status,
        levels=levels,
        solve_time_s=time.perf_counter() - started,
        mip_rel_gap=float(mip_rel_gap),
        time_discount=float(time_discount),
        notes=tuple(notes),
    )
    return on_grid, discharge_kw, info
