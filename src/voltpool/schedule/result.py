"""What a scheduler returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

BASIS_LOWER, BASIS_BASIC, BASIS_UPPER, BASIS_ZERO = 0, 1, 2, 3
"""HiGHS ``HighsBasisStatus`` values: nonbasic at the lower bound, basic, nonbasic at the upper
bound, nonbasic free (at zero)."""


@dataclass(frozen=True, eq=False)
class BasisKey:
    """The layout of the LP a :class:`Basis` belongs to: a cheap fingerprint that tells whether
    the basis fits a new LP as it is, fits after mapping, or not at all.

    ``ids``, ``arrival_slot`` and ``departure_slot`` are the vehicles and their plugged-in
    windows, ``n_slots`` the horizon, ``n_peaks`` the demand-charge columns, ``n_columns`` and
    ``n_rows`` the LP's size and ``core_only`` whether it holds only the blocks of
    :func:`voltpool.schedule.lp.build_lp` (no wear, V2V or owner-rule blocks); the labels of
    the blocks after them say what each extra column and row is (the battery-wear blocks
    have them), so that a basis can be mapped onto a different layout.
    """

    ids: tuple[str, ...]
    arrival_slot: np.ndarray
    departure_slot: np.ndarray
    n_slots: int
    n_peaks: int
    n_columns: int
    n_rows: int
    core_only: bool
    extra_columns: np.ndarray | None = None
    """Labels of the columns after the core blocks (``LinearProgram.extra_columns``); ``None``
    where some have none (V2V transfers, owner rules): only a basis with labels is mapped."""
    extra_rows: np.ndarray | None = None
    """Labels of the rows after the core rows."""

    @property
    def mappable(self) -> bool:
        """Whether every block is labelled, so a basis can be mapped onto another layout."""
        return self.extra_columns is not None and self.extra_rows is not None

    def same_layout(self, other: BasisKey) -> bool:
        """Whether ``other`` describes an LP of exactly this layout (a basis fits as it is)."""
        return (
            self.n_columns == other.n_columns
            and self.n_rows == other.n_rows
            and self.n_slots == other.n_slots
            and self.n_peaks == other.n_peaks
            and self.core_only == other.core_only
            and self.ids == other.ids
            and np.array_equal(self.arrival_slot, other.arrival_slot)
            and np.array_equal(self.departure_slot, other.departure_slot)
        )


class Basis:
    """A simplex basis of a solved LP (HiGHS ``getBasis()``), to warm-start the next solve.

    ``col_status`` ``[n_columns]`` and ``row_status`` ``[n_rows]`` hold HiGHS
    ``HighsBasisStatus`` values (:data:`BASIS_LOWER`, :data:`BASIS_BASIC`, ...) as ``int8``;
    ``key`` is the layout of the LP (:class:`BasisKey`); ``shift`` the slots the next problem
    starts after this one's slot 0 (a rolling horizon: see :meth:`shifted`).

    Pass it back as ``schedule(problem, "lp", warm_start=basis)``; the scheduler uses it only
    where it is valid (see :func:`voltpool.schedule.exact.solve_lp`), so a stale basis costs at
    most a cold solve, never a wrong plan. The status arrays are read from HiGHS lazily: a basis
    passed back unchanged goes to HiGHS without a conversion.
    """

    def __init__(
        self,
        key: BasisKey,
        col_status: np.ndarray | None = None,
        row_status: np.ndarray | None = None,
        *,
        shift: int = 0,
        highs_basis: object | None = None,
    ) -> None:
        if highs_basis is None and (col_status is None or row_status is None):
            raise ValueError("Basis needs col_status and row_status (or a HiGHS basis)")
        self.key = key
        self.shift = int(shift)
        self._col = None if col_status is None else np.asarray(col_status, dtype=np.int8)
        self._row = None if row_status is None else np.asarray(row_status, dtype=np.int8)
        self._highs = highs_basis

    @property
    def col_status(self) -> np.ndarray:
        """Per column, its HiGHS basis status. [int8]"""
        if self._col is None:
            self._col = _statuses(self._highs.col_status)  # type: ignore[attr-defined]
        return self._col

    @property
    def row_status(self) -> np.ndarray:
        """Per row, its HiGHS basis status. [int8]"""
        if self._row is None:
            self._row = _statuses(self._highs.row_status)  # type: ignore[attr-defined]
        return self._row

    @property
    def highs_basis(self) -> object | None:
        """The ``highspy.HighsBasis`` this was read from, if any (passed back unconverted)."""
        return self._highs

    def shifted(self, slots: int) -> Basis:
        """This basis for a problem that starts ``slots`` later (a rolling horizon, or a live
        re-plan whose horizon moved on): its slot ``s`` is slot ``s + slots`` here, so the
        scheduler maps it by vehicle id and slot instead of taking it as it is."""
        return Basis(
            self.key,
            self._col,
            self._row,
            shift=self.shift + int(slots),
            highs_basis=self._highs,
        )

    def __repr__(self) -> str:
        return (
            f"Basis({self.key.n_columns} columns, {self.key.n_rows} rows, "
            f"{len(self.key.ids)} vehicles, shift={self.shift})"
        )


def _statuses(values: list) -> np.ndarray:
    return np.fromiter((v.value for v in values), dtype=np.int8, count=len(values))


@dataclass(frozen=True)
class SolverInfo:
    """How the answer was obtained.

    ``build_time_s`` is the time to assemble the model, ``solve_time_s`` the solver's own run time.
    ``solver_objective`` is the optimizer's objective value (``None`` for rule-based methods); it
    includes the penalty for any site-limit excess. ``status`` is ``optimal`` (proven) or,
    when the time budget ended first, ``feasible`` (every rule holds; ``gap`` bounds the loss).
    """

    name: str
    status: str
    build_time_s: float = 0.0
    solve_time_s: float = 0.0
    iterations: int = 0
    solver_objective: float | None = None
    notes: tuple[str, ...] = ()
    gap: float = 0.0
    """Proven relative gap to the optimum: 0 when optimal, else at most this above it."""
    start: Literal["cold", "warm", "mapped"] = "cold"
    """How the first LP solve started: from scratch, from the given basis as it was, or from
    the given basis mapped onto a changed layout (vehicles, windows, slots)."""
    basis: Basis | None = field(default=None, compare=False, repr=False)
    """The simplex basis of this plan's first LP solve (``None`` after interior point without
    crossover): pass it as ``warm_start`` to the next solve."""


@dataclass(frozen=True, eq=False)
class Schedule:
    """A schedule for every vehicle of a problem.

    Attributes
    ----------
    method : str
        ``"lp"`` or ``"uncontrolled"``.
    status : str
        ``"optimal"`` (lp), ``"feasible"`` (uncontrolled, all rules hold) or
        ``"site_limit_exceeded"`` (best effort: the site limits cannot be kept).
    dt_h : float
        Slot length. [h]
    power_kw : array [N, T]
        AC power per vehicle, positive when charging. [kW]
    soc : array [N, T+1]
        State of charge before slot 0 and after each slot. [0..1]
    site_net_load_kw : array [T]
        Base load plus vehicle power. [kW]
    objective_terms : dict
        The v1 objective's terms. [currency]
    shortfall_kwh : array [N]
        Energy missing at departure. [kWh]
    reasons : list of str
        Per vehicle: why it is short, in plain words (empty when not short).
    site_notes : list of str
        Plain-words account of any slot where the site limits are exceeded.
    transfer_kw : array [L, T]
        AC power each V2V transfer moves from its giver to its receiver per slot. [kW]
    transfer_shortfall_kwh : array [L]
        AC energy of each transfer left undelivered. [kWh]
    transfer_reasons : list of str
        Per transfer: why it is short, in plain words (empty when delivered).
    rule_notes : list of str
        What the owners' rules did to the plan, in plain words
        (:mod:`voltpool.schedule.explain_rules`).
    """

    method: str
    status: str
    dt_h: float
    power_kw: np.ndarray
    soc: np.ndarray
    site_net_load_kw: np.ndarray
    objective_terms: dict[str, float]
    shortfall_kwh: np.ndarray
    reasons: list[str]
    solver: SolverInfo
    site_notes: list[str] = field(default_factory=list)
    transfer_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    transfer_shortfall_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    transfer_reasons: list[str] = field(default_factory=list)
    rule_notes: list[str] = field(default_factory=list)

    @property
    def objective(self) -> float:
        return float(sum(self.objective_terms.values()))

    @property
    def peak_kw(self) -> float:
        return float(self.site_net_load_kw.max())

    @property
    def discharged_kwh(self) -> float:
        """Energy the vehicles gave back at the AC side (V2G/V2H/V2V) over the horizon. [kWh]"""
        return float(np.maximum(-self.power_kw, 0.0).sum() * self.dt_h)

    @property
    def transferred_kwh(self) -> np.ndarray:
        """AC energy each V2V transfer moved. [kWh]"""
        return self.transfer_kw.sum(axis=1) * self.dt_h

    @property
    def charged_kwh(self) -> float:
        """Energy the vehicles took at the AC side over the horizon. [kWh]"""
        return float(np.maximum(self.power_kw, 0.0).sum() * self.dt_h)
