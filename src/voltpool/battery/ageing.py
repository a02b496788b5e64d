"""Capacity fade of a fleet from SoC and temperature series, stepped as NREL BLAST-Lite 1.1.1 steps.

:func:`fade` runs one cell model (:mod:`voltpool.battery.cells`) for N vehicles at once and gives,
per vehicle, the relative capacity left and its calendar and cycling losses. The pack is the cell
scaled to the car's capacity: fade is relative, so pack size does not enter.

How the time series is stepped (BLAST-Lite's ``simulate_battery_life`` with its defaults,
``is_conserve_energy_throughput=True``), per vehicle:

1. **Turning points.** The SoC series is rainflow counted (ASTM E1049-85 section 5.4.4, the
   ``rainflow`` package, which BLAST-Lite vendors); the end index of every full or half cycle is a
   turning point.
2. **Breakpoints.** Walking the turning points: once more than one day has passed since the last
   breakpoint, a breakpoint is put at every sample that lies more than a day after the previous
   one, up to (not including) that turning point; otherwise a turning point becomes a breakpoint
   when more than 1 EFC (half the summed |dSoC|) has passed. The last sample always closes.
3. **Chunks.** Chunk j spans samples ``[previous breakpoint + 1, breakpoint j]``: the step between
   two chunks belongs to neither (BLAST-Lite drops it), so a pass over the input simulates a
   little less time than it spans, and the simulation wraps around to the first chunk until the
   simulated time exceeds ``time_s[-1] - 1`` s. For a year at 15-minute steps that is ~0.25 days
   more than the year (``Fade.simulated_days``).
4. **Per chunk,** with q the relative capacity before it: the chunk's SoC swings are stretched by
   1/q around its first sample and clipped to [0, 1] (energy throughput is conserved as the
   battery fades); stressors are the duration, EFC (sum |dSoC| / 2, times q), DOD (max - min),
   mean |C-rate| (steps slower than 0.01 /h count as rest, times q), mean charging C-rate,
   per-sample SoC and temperature; the cell turns them into rates and advances its states.

Relative capacity is ``q = 1 - loss_calendar - loss_cycling`` exactly as BLAST-Lite defines it
(``qLoss_t`` and ``qLoss_EFC``). The engine loops over chunks in Python and handles all
vehicles of a chunk index at once in numpy; the per-vehicle work is the rainflow pass and the
breakpoint walk, a few ms per vehicle-year in Python (``bench/bench_battery.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import rainflow

from voltpool.battery.cells import CELLS, CHEMISTRY_CELLS, Cell
from voltpool.errors import FieldIssue, ProblemError

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY
MAX_CHUNK_S = 86_400.0
"""BLAST-Lite's ``breakpoints_max_time_diff_s``."""
MAX_CHUNK_EFC = 1.0
"""BLAST-Lite's ``breakpoints_max_EFC_diff``."""
REST_CRATE_PER_H = 1e-2
"""|dSoC/dt| below this [1/h] counts as rest in the C-rate averages."""


@dataclass(frozen=True)
class Fade:
    """Capacity fade of N vehicles.

    Attributes
    ----------
    capacity_remaining : array [N]
        Relative capacity q (1 = new) at the end: ``1 - loss_calendar - loss_cycling``.
    loss_calendar : array [N]
        Calendar (time-driven) capacity loss, BLAST-Lite's ``qLoss_t``. [fraction]
    loss_cycling : array [N]
        Cycling (throughput-driven) capacity loss, BLAST-Lite's ``qLoss_EFC``. [fraction]
    efc : array [N]
        Equivalent full cycles counted, in nominal-capacity units. [cycles]
    simulated_days : array [N]
        Time the model advanced, BLAST-Lite's final ``t_days``; slightly more than the input
        spans (see the module docstring). [days]
    daily_capacity : array [N, D] or None
        Relative capacity after day 1..D of simulated time (D = whole days the input spans),
        linearly interpolated between chunk ends.
    """

    capacity_remaining: np.ndarray
    loss_calendar: np.ndarray
    loss_cycling: np.ndarray
    efc: np.ndarray
    simulated_days: np.ndarray
    daily_capacity: np.ndarray | None = None


class Chunk:
    """Stressors of one chunk index for N vehicles; samples are flat, grouped by vehicle.

    ``rows[i]`` is the vehicle (0..N-1) of sample i; each vehicle's samples are contiguous and in
    time order; a vehicle with no samples has a zero-length chunk (no change). Per-vehicle
    results are arrays [N]; per-sample ones are flat arrays like ``soc``.
    """

    def __init__(
        self,
        n: int,
        rows: np.ndarray,
        time_s: np.ndarray,
        soc: np.ndarray,
        temperature_k: np.ndarray,
        q: np.ndarray,
    ) -> None:
        self.n = n
        self.rows = rows
        self.time_s = time_s
        self.soc = soc
        self.temperature_k = temperature_k
        self.q = q
        self.counts = np.bincount(rows, minlength=n)
        self.has = self.counts > 0
        last = np.cumsum(self.counts) - 1
        first = last - self.counts + 1
        self._first = first[self.has]
        self._last = last[self.has]
        self._same = same = rows[1:] == rows[:-1]
        self._pair_rows = rows[1:][same]
        self._pair_dt_s = np.diff(time_s)[same]
        self._pair_dsoc = np.diff(soc)[same]
        self._pair_t_end = time_s[1:][same]

    def _per_vehicle(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n)
        out[self.has] = values
        return out

    def _sum_pairs(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(
            self._pair_rows if rows is None else rows, weights=values, minlength=self.n
        )

    @cached_property
    def delta_s(self) -> np.ndarray:
        """Chunk duration [s] (last minus first sample)."""
        return self._per_vehicle(self.time_s[self._last] - self.time_s[self._first])

    @cached_property
    def delta_days(self) -> np.ndarray:
        """Chunk duration [days]."""
        days = self.time_s / SECONDS_PER_DAY
        return self._per_vehicle(days[self._last] - days[self._first])

    @cached_property
    def _valid(self) -> np.ndarray:
        return self.delta_s > 0

    def time_average(self, values: np.ndarray) -> np.ndarray:
        """Trapezoidal time average of per-sample ``values`` over each chunk (0 if no duration)."""
        pairs = 0.5 * (values[1:] + values[:-1])[self._same]
        area = self._sum_pairs(pairs * self._pair_dt_s)
        return np.divide(area, self.delta_s, out=np.zeros(self.n), where=self._valid)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Arithmetic mean of per-sample ``values`` over each chunk's samples (0 if none)."""
        total = np.bincount(self.rows, weights=values, minlength=self.n)
        return np.divide(total, self.counts, out=np.zeros(self.n), where=self.has)

    @cached_property
    def delta_efc(self) -> np.ndarray:
        """Equivalent full cycles in the chunk, in nominal-capacity units (sum |dSoC| / 2 * q)."""
        return self._sum_pairs(np.abs(self._pair_dsoc)) / 2 * self.q

    @cached_property
    def dod(self) -> np.ndarray:
        """Depth of discharge: max - min SoC over the chunk."""
        if not self.has.any():
            return np.zeros(self.n)
        hi = np.maximum.reduceat(self.soc, self._first)
        lo = np.minimum.reduceat(self.soc, self._first)
        return self._per_vehicle(hi - lo)

    @cached_property
    def _pair_crate(self) -> np.ndarray:
        """Signed C-rate of each step [1/h], zero below the rest threshold."""
        rate = self._pair_dsoc / (self._pair_dt_s / 3600.0)
        return np.where(np.abs(rate) < REST_CRATE_PER_H, 0.0, rate)

    @cached_property
    def crate(self) -> np.ndarray:
        """Mean |C-rate| over the chunk, rests included, in nominal-capacity units [1/h]."""
        rate = np.abs(self._pair_crate)
        rows = self._pair_rows
        same = rows[1:] == rows[:-1]
        area = self._sum_pairs(
            (0.5 * (rate[1:] + rate[:-1]) * np.diff(self._pair_t_end))[same], rows[1:][same]
        )
        mean = np.divide(area, self.delta_s, out=np.zeros(self.n), where=self._valid)
        return mean * self.q

    @cached_property
    def charge_crate(self) -> np.ndarray:
        """Mean charging C-rate over the charging steps only [1/h], 0 if none (BLAST ``Cchg``).

        As BLAST-Lite computes it: the charging steps are put end to end (``cumsum`` of their
        durations) and trapezoid-averaged; a single charging step gives its own rate.
        """
        rate = self._pair_crate
        charging = rate > 0
        c = rate[charging]
        dt = self._pair_dt_s[charging]
        rows = self._pair_rows[charging]
        same = rows[1:] == rows[:-1]
        count = np.bincount(rows, minlength=self.n)
        area = self._sum_pairs((0.5 * (c[1:] + c[:-1]) * dt[1:])[same], rows[1:][same])
        span = self._sum_pairs(dt[1:][same], rows[1:][same])
        single = np.bincount(rows, weights=c, minlength=self.n)
        many = np.divide(area, span, out=np.zeros(self.n), where=span > 0)
        out = np.where(count > 1, many, np.where(count == 1, single, 0.0))
        return np.where(self._valid, out, 0.0) * self.q


def rainflow_cycles(series: np.ndarray, ndigits: int | None = None) -> list[tuple[float, float]]:
    """Rainflow cycle table of a series per ASTM E1049-85 section 5.4.4 (``rainflow`` package).

    Returns sorted ``(range, count)`` pairs; count is 1.0 per full cycle and 0.5 per half cycle.
    ``ndigits`` rounds the ranges before counting.
    """
    return rainflow.count_cycles(np.asarray(series, dtype=float).tolist(), ndigits=ndigits)


def _turning_points(soc: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    """End indices of the rainflow cycles of ``soc`` (BLAST-Lite's ``idx_turning_point``);
    ``d`` is ``np.diff(soc)`` when the caller has it.

    The reversal points are found in numpy exactly as ``rainflow.reversals`` finds them (a
    plateau's reversal is its last sample; first and last samples are reversals), then only
    those are handed to ``rainflow.extract_cycles``.
    """
    last = soc.size - 1
    if d is None:
        d = np.diff(soc)
    nz = np.flatnonzero(d)
    moves = d[nz]
    reversal = nz[1:][moves[1:] * moves[:-1] < 0]
    index = np.concatenate(([0], reversal, [last]))
    if index.size < 3:  # monotone or constant: one half cycle, ending at the last sample
        return np.array([last])
    ends = [cycle[4] for cycle in rainflow.extract_cycles(soc[index].tolist())]
    return np.unique(index[ends])


def _first_after(t: np.ndarray, gap_s: float) -> np.ndarray:
    """For every sample i the smallest j with ``t[j] - t[i] > gap_s`` (``t.size`` if none),
    exact in floats: the search for the rounded ``t[i] + gap_s`` is the first guess, then each
    guess steps to the first j that passes the test as written (it is monotone in j)."""
    i = np.arange(t.size)
    j = np.searchsorted(t, t + gap_s, side="right")
    while (back := (j - 1 > i) & (t[j - 1] - t > gap_s)).any():
        j = j - back
    last = t.size - 1
    while (ahead := (j <= last) & ~(t[np.minimum(j, last)] - t > gap_s)).any():
        j = j + ahead
    return j


def _breakpoints(day_after: list[int], efc: np.ndarray, turning: np.ndarray) -> list[int]:
    """BLAST-Lite's ``_find_breakpoints`` plus its closing breakpoint at the last sample.

    ``day_after`` is :func:`_first_after` of the times for ``MAX_CHUNK_S``, as a list: sample i
    is more than a day after sample ``last`` exactly when ``i >= day_after[last]``.
    """
    points: list[int] = []
    last = 0
    for i in turning.tolist():
        if i >= day_after[last]:
            while (j := day_after[last]) < i:
                points.append(j)
                last = j
            continue
        if efc[i] - efc[last] > MAX_CHUNK_EFC:
            points.append(i)
            last = i
    if not points or points[-1] != len(day_after) - 1:
        points.append(len(day_after) - 1)
    return points


def _plan(t: np.ndarray, day_after: list[int], soc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample of every chunk simulated, wrap-arounds included.

    ``day_after`` is ``_first_after(t, MAX_CHUNK_S).tolist()`` (made once per fleet: the
    breakpoint walk is plain Python).
    """
    d = np.diff(soc)
    turning = _turning_points(soc, d)
    efc = np.empty(soc.size)  # sum of |dSoC| / 2 up to each sample, built in place (it is long)
    efc[0] = 0.0
    np.cumsum(np.abs(d, out=d), out=efc[1:])
    efc /= 2
    ends = np.array(_breakpoints(day_after, efc, turning))
    starts = np.concatenate(([0], ends[:-1] + 1))
    duration = t[ends] / SECONDS_PER_DAY - t[starts] / SECONDS_PER_DAY
    per_pass = duration.sum()
    threshold_years = (t[-1] - 1) / SECONDS_PER_YEAR
    if per_pass <= 0:
        raise ProblemError([FieldIssue("time_s", "chunks of the SoC series span no time")])
    passes = int(threshold_years * 365 / per_pass) + 2
    elapsed = np.cumsum(np.tile(duration, passes))
    count = int(np.argmax(elapsed / 365 > threshold_years)) + 1
    reps = np.arange(count) % starts.size
    return starts[reps], ends[reps]


def _validate(
    cell: str, time_s, soc, temperature_c
) -> tuple[Cell, np.ndarray, np.ndarray, np.ndarray]:
    issues: list[FieldIssue] = []
    model = CELLS.get(cell)
    if model is None:
        issues.append(FieldIssue("cell", f"unknown cell {cell!r}; known: {sorted(CELLS)}"))
    t = np.asarray(time_s, dtype=float)
    s = np.asarray(soc, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    temp = np.asarray(temperature_c, dtype=float)
    if t.ndim != 1 or t.size < 3:
        issues.append(FieldIssue("time_s", f"must be 1-D with >= 3 samples, got shape {t.shape}"))
    elif not np.all(np.isfinite(t)) or not np.all(np.diff(t) > 0):
        issues.append(FieldIssue("time_s", "must be finite and strictly increasing"))
    if s.ndim != 2 or (t.ndim == 1 and s.shape[1] != t.size):
        issues.append(FieldIssue("soc", f"must have shape [N, {t.size}], got {s.shape}"))
    elif not np.all((s >= 0) & (s <= 1)):  # also rejects NaN
        issues.append(FieldIssue("soc", "must be finite fractions in [0, 1]"))
    if not issues:
        try:
            temp = np.broadcast_to(temp, s.shape)
        except ValueError:
            issues.append(
                FieldIssue(
                    "temperature_c",
                    f"must be a scalar, [T] or [N, T] with shape {s.shape}, got {temp.shape}",
                )
            )
        else:
            if not np.all(np.isfinite(temp)) or np.any(temp <= -273.15):
                issues.append(FieldIssue("temperature_c", "must be finite and above -273.15 °C"))
    if issues:
        raise ProblemError(issues)
    assert model is not None
    return model, t - t[0], s, temp


def _simulate(
    cells: Sequence[Cell],
    cell_of: np.ndarray,
    t: np.ndarray,
    soc: np.ndarray,
    temperature_c: np.ndarray,
    daily: bool,
) -> Fade:
    """Fade of every row of ``soc``; row i ages by ``cells[cell_of[i]]``.

    All rows step through their chunks together. A row's ageing depends on its own samples only,
    so rows of several cells share each step: every cell's model runs on the whole chunk and
    keeps its own rows' results (the per-step work is mostly fixed cost, not per row).
    """
    n = soc.shape[0]
    day_after = _first_after(t, MAX_CHUNK_S).tolist()
    plans = [_plan(t, day_after, soc[v]) for v in range(n)]
    steps = max((p[0].size for p in plans), default=0)
    first = np.full((n, steps), -1, dtype=np.int64)
    last = np.full((n, steps), -1, dtype=np.int64)
    for i, (a, b) in enumerate(plans):
        first[i, : a.size] = a
        last[i, : b.size] = b

    own = [cell_of == c for c in range(len(cells))]
    loss_cal = np.zeros(n)
    loss_cyc = np.zeros(n)
    q = np.ones(n)
    efc = np.zeros(n)
    days = np.zeros(n)
    track_days = np.zeros((n, steps + 1))
    track_q = np.ones((n, steps + 1))
    everyone = np.arange(n)
    for k in range(steps):
        a, b = first[:, k], last[:, k]
        active = a >= 0
        counts = np.where(active, b - a + 1, 0)
        rows = np.repeat(everyone, counts)
        offsets = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        index = np.repeat(a, counts) + offsets
        start = soc[everyone, np.maximum(a, 0)][rows]
        stretched = np.clip(start + (soc[rows, index] - start) * (1 / q[rows]), 0.0, 1.0)
        chunk = Chunk(n, rows, t[index], stretched, temperature_c[rows, index] + 273.15, q)
        d_cal = np.zeros(n)
        d_cyc = np.zeros(n)
        for cell, mine in zip(cells, own, strict=True):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                cal, cyc = cell.step(chunk, loss_cal, loss_cyc)
            d_cal = np.where(mine, cal, d_cal)
            d_cyc = np.where(mine, cyc, d_cyc)
        loss_cal = loss_cal + np.where(active, d_cal, 0.0)
        loss_cyc = loss_cyc + np.where(active, d_cyc, 0.0)
        q = 1 - loss_cal - loss_cyc
        efc = efc + chunk.delta_efc
        days = days + chunk.delta_days
        track_days[:, k + 1] = days
        track_q[:, k + 1] = q

    daily_capacity = None
    if daily:
        grid = np.arange(1, int(np.floor(t[-1] / SECONDS_PER_DAY + 1e-9)) + 1, dtype=float)
        daily_capacity = np.empty((n, grid.size))
        for i in range(n):
            daily_capacity[i] = np.interp(grid, track_days[i], track_q[i])
    return Fade(
        capacity_remaining=q,
        loss_calendar=loss_cal,
        loss_cycling=loss_cyc,
        efc=efc,
        simulated_days=days,
        daily_capacity=daily_capacity,
    )


def fade(
    cell: str,
    time_s: np.ndarray,
    soc: np.ndarray,
    temperature_c: np.ndarray | float,
    *,
    daily: bool = True,
) -> Fade:
    """Capacity fade of N vehicles with the same cell model.

    Parameters
    ----------
    cell : str
        A name in :data:`voltpool.battery.cells.CELLS` (see ``CHEMISTRY_CELLS``).
    time_s : array [T]
        Sample times [s], strictly increasing (regular steps such as 900 s are typical; any
        steps work). Only differences matter: the series is taken to start at 0.
    soc : array [N, T] or [T]
        State of charge of each vehicle's battery at each sample. [fraction 0..1]
    temperature_c : float or array [T] or [N, T]
        Cell temperature. [°C]
    daily : bool, default True
        Also return ``Fade.daily_capacity``.

    Returns
    -------
    Fade
        Per-vehicle results; they agree with ``blast.models.<cell.blast_class>()
        .simulate_battery_life({"Time_s", "SOC", "Temperature_C"})`` (outputs ``q``, ``q_t``,
        ``q_EFC``) to floating-point rounding.

    Raises
    ------
    voltpool.errors.ProblemError
        Unknown cell, or arrays of the wrong shape or out of range (every problem is listed).
    """
    model, t, s, temp = _validate(cell, time_s, soc, temperature_c)
    return _simulate([model], np.zeros(s.shape[0], dtype=np.int64), t, s, temp, daily)


def fade_by_chemistry(
    chemistry: np.ndarray,
    time_s: np.ndarray,
    soc: np.ndarray,
    temperature_c: np.ndarray | float,
    *,
    daily: bool = True,
) -> Fade:
    """Capacity fade of a mixed fleet: each vehicle's chemistry picks its cell model.

    ``chemistry`` is an array [N] of keys of :data:`~voltpool.battery.cells.CHEMISTRY_CELLS`
    (``"nmc"``, ``"lfp"``, ``"nca"``; case-insensitive). All vehicles run in one vectorized pass,
    each aged by its own cell; other arguments and the result are as in :func:`fade`.
    """
    chem = np.char.lower(np.asarray(chemistry, dtype=str))
    unknown = sorted(set(np.unique(chem).tolist()) - set(CHEMISTRY_CELLS))
    issues = []
    if chem.ndim != 1:
        issues.append(FieldIssue("chemistry", f"must be 1-D [N], got shape {chem.shape}"))
    if unknown:
        issues.append(
            FieldIssue("chemistry", f"unknown {unknown}; known: {sorted(CHEMISTRY_CELLS)}")
        )
    if issues:
        raise ProblemError(issues)
    first_cell = CHEMISTRY_CELLS[chem[0]] if chem.size else next(iter(CELLS))
    _, t, s, temp = _validate(first_cell, time_s, soc, temperature_c)
    if chem.size != s.shape[0]:
        raise ProblemError(
            [FieldIssue("chemistry", f"has {chem.size} entries for {s.shape[0]} SoC rows")]
        )
    keys, cell_of = np.unique(chem, return_inverse=True)
    cells = [CELLS[CHEMISTRY_CELLS[key]] for key in keys]
    return _simulate(cells, cell_of.reshape(-1), t, s, temp, daily)
