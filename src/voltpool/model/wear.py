"""Battery wear an optimizer can carry without integers: cycle-depth and SoC-dwell costs.

Two convex, piecewise-linear costs per vehicle, on top of the flat throughput cost
(``Fleet.degradation_cost_per_kwh``):

- **Cycle depth** (Xu, Zhao, Zheng, Litvinov, Kirschen, "Factoring the Cycle Aging Cost of
  Batteries Participating in Electricity Markets", IEEE Trans. Power Syst. 33(2), 2018): the
  capacity is split into J equal depth segments, segment 0 the shallowest. Energy taken from the
  battery is taken from the shallowest segment holding energy and costs that segment's
  ``cycle_depth_cost_per_kwh``; charged energy refills the shallowest segment with room. Costs
  that do not decrease with depth make deep cycles dearer per kWh than shallow ones, as the
  Wöhler (cycle-life vs depth) curve says, and keep the model convex. At the start the energy
  sits in the deepest segments (a car at 40 % has the shallow 60 % empty).
- **SoC dwell** (calendar ageing grows with the state of charge the battery sits at): a convex
  piecewise-linear cost per hour of the SoC at the end of every plugged-in slot, given by its
  values at breakpoints ``dwell_soc`` (0 = first, 1 = last).
- **Charge rate** (fast charging ages some cells much faster, e.g. NMC's lithium-plating
  stress): the charging power of a slot is split into C-rate bands starting at ``rate_c``
  (kW per kWh of capacity); each kWh charged in band b costs ``rate_cost_per_kwh[b]``, not
  decreasing with the band (convex).

All vehicles of one problem share J and the breakpoints; a vehicle without a ``battery`` block
has zero costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue, ProblemError

TOLERANCE = 1e-12


@dataclass(frozen=True)
class DepthBands:
    """Each vehicle's depth segments with adjacent equal costs merged
    (:meth:`BatteryWear.depth_bands`): vehicle ``v`` has bands ``first[v]`` to
    ``first[v] + count[v] - 1`` of the flat arrays, the shallowest first."""

    count: np.ndarray
    """Bands per vehicle ``[N]``."""
    first: np.ndarray
    """Flat index of each vehicle's shallowest band ``[N]``."""
    cost_per_kwh: np.ndarray
    """Cost of each kWh taken out of the band (battery side) ``[B]``. [EUR/kWh]"""
    size_kwh: np.ndarray
    """Energy the band holds when full ``[B]``. [kWh]"""
    fill_kwh: np.ndarray
    """Energy in the band at the start (the deepest bands hold it all) ``[B]``. [kWh]"""


@dataclass(frozen=True, eq=False)
class BatteryWear:
    """Per-vehicle convex wear costs (struct of arrays).

    Parameters
    ----------
    cycle_depth_cost_per_kwh : array [N, J]
        Cost of each kWh taken from the battery (battery side) out of depth segment j. [EUR/kWh]
    dwell_soc : array [M]
        SoC breakpoints of the dwell cost, increasing from 0 to 1. [0..1]
    dwell_cost_per_h : array [N, M]
        Dwell cost rate at each breakpoint (linear in between, convex). [EUR/h]
    """

    cycle_depth_cost_per_kwh: np.ndarray
    dwell_soc: np.ndarray
    dwell_cost_per_h: np.ndarray
    rate_c: np.ndarray | None = None
    rate_cost_per_kwh: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = np.asarray(self.cycle_depth_cost_per_kwh).shape[0]
        rate_c = np.zeros(0) if self.rate_c is None else np.asarray(self.rate_c, dtype=float)
        rate_cost = (
            np.zeros((n, rate_c.size))
            if self.rate_cost_per_kwh is None
            else np.asarray(self.rate_cost_per_kwh, dtype=float)
        )
        object.__setattr__(self, "rate_c", rate_c.reshape(-1))
        object.__setattr__(self, "rate_cost_per_kwh", rate_cost)
        self._check_rate()
        self._post_init_costs()

    def _check_rate(self) -> None:
        name = "battery.charge_rate_cost"
        rate_c, cost = self.rate_c, self.rate_cost_per_kwh
        issues = []
        if rate_c.size and (abs(rate_c[0]) > TOLERANCE or (np.diff(rate_c) <= 0).any()):
            issues.append(
                FieldIssue(f"vehicles[*].{name}.c_rate", "must start at 0 and increase strictly")
            )
        elif cost.shape != (cost.shape[0], rate_c.size):
            issues.append(
                FieldIssue(f"vehicles[*].{name}.cost_per_kwh", "needs one value per c_rate band")
            )
        else:
            bad = ~np.isfinite(cost).all(axis=1) | (cost < 0).any(axis=1)
            bad |= (np.diff(cost, axis=1) < -TOLERANCE).any(axis=1)
            for n in np.flatnonzero(bad)[:5]:
                issues.append(
                    FieldIssue(
                        f"vehicles[{n}].{name}.cost_per_kwh",
                        "must be >= 0 and must not decrease with the C-rate (convex)",
                    )
                )
        if issues:
            raise ProblemError(issues)

    def _post_init_costs(self) -> None:
        cycle = np.asarray(self.cycle_depth_cost_per_kwh, dtype=float)
        soc = np.asarray(self.dwell_soc, dtype=float).reshape(-1)
        dwell = np.asarray(self.dwell_cost_per_h, dtype=float)
        object.__setattr__(self, "cycle_depth_cost_per_kwh", cycle)
        object.__setattr__(self, "dwell_soc", soc)
        object.__setattr__(self, "dwell_cost_per_h", dwell)
        issues: list[FieldIssue] = []
        self._check_cycle(cycle, issues)
        self._check_dwell(soc, dwell, issues)
        if issues:
            raise ProblemError(issues)

    @staticmethod
    def _check_cycle(cycle: np.ndarray, issues: list[FieldIssue]) -> None:
        name = "battery.cycle_depth_cost_per_kwh"
        if cycle.ndim != 2:
            issues.append(FieldIssue(f"vehicles[*].{name}", "must be one list per vehicle"))
            return
        for n in np.flatnonzero(~np.isfinite(cycle).all(axis=1) | (cycle < 0).any(axis=1))[:5]:
            issues.append(FieldIssue(f"vehicles[{n}].{name}", "values must be finite and >= 0"))
        falling = (np.diff(cycle, axis=1) < -TOLERANCE).any(axis=1)
        for n in np.flatnonzero(falling)[:5]:
            issues.append(
                FieldIssue(
                    f"vehicles[{n}].{name}",
                    "must not decrease with depth (deeper segments cost at least as much: "
                    "the cost must be convex)",
                )
            )

    @staticmethod
    def _check_dwell(soc: np.ndarray, dwell: np.ndarray, issues: list[FieldIssue]) -> None:
        name = "battery.soc_dwell_cost_per_h"
        if soc.size == 0:
            return
        if (
            soc.size < 2
            or abs(soc[0]) > TOLERANCE
            or abs(soc[-1] - 1) > TOLERANCE
            or (np.diff(soc) <= 0).any()
        ):
            issues.append(
                FieldIssue(
                    f"vehicles[*].{name}.soc",
                    "must increase strictly from 0 to 1 (at least 2 points)",
                )
            )
            return
        if dwell.ndim != 2 or dwell.shape[1] != soc.size:
            issues.append(FieldIssue(f"vehicles[*].{name}.cost", "needs one value per soc point"))
            return
        slopes = np.diff(dwell, axis=1) / np.diff(soc)
        for n in np.flatnonzero(~np.isfinite(dwell).all(axis=1))[:5]:
            issues.append(FieldIssue(f"vehicles[{n}].{name}.cost", "values must be finite"))
        concave = (np.diff(slopes, axis=1) < -TOLERANCE).any(axis=1)
        for n in np.flatnonzero(concave)[:5]:
            issues.append(
                FieldIssue(
                    f"vehicles[{n}].{name}.cost",
                    "must be convex in soc (slopes between points must not decrease)",
                )
            )

    def take(self, rows: np.ndarray) -> BatteryWear:
        """The costs of the vehicles ``rows`` (indices into this fleet), in that order."""
        return BatteryWear(
            self.cycle_depth_cost_per_kwh[rows],
            self.dwell_soc,
            self.dwell_cost_per_h[rows],
            self.rate_c,
            self.rate_cost_per_kwh[rows],
        )

    @property
    def n_segments(self) -> int:
        return int(self.cycle_depth_cost_per_kwh.shape[1])

    @property
    def has_cycle_cost(self) -> np.ndarray:
        """Vehicles with any cycle-depth cost (only they get segment variables)."""
        return (self.cycle_depth_cost_per_kwh > 0).any(axis=1)

    @property
    def has_rate_cost(self) -> np.ndarray:
        return (self.rate_cost_per_kwh > 0).any(axis=1)

    def rate_band_kw(self, capacity_kwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower edge and width of each C-rate band in kW, ``[N, B]`` each (last width inf)."""
        lower = capacity_kwh[:, None] * self.rate_c[None, :]
        upper = np.concatenate([lower[:, 1:], np.full((lower.shape[0], 1), np.inf)], axis=1)
        return lower, upper - lower

    @property
    def has_dwell_cost(self) -> np.ndarray:
        if self.dwell_soc.size == 0:
            return np.zeros(self.cycle_depth_cost_per_kwh.shape[0], dtype=bool)
        return (self.dwell_cost_per_h != 0).any(axis=1)

    def dwell_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Slope [EUR/h per unit SoC] and intercept [EUR/h] of each piece, ``[N, M-1]`` each."""
        slopes = np.diff(self.dwell_cost_per_h, axis=1) / np.diff(self.dwell_soc)
        intercepts = self.dwell_cost_per_h[:, :-1] - slopes * self.dwell_soc[:-1]
        return slopes, intercepts

    def initial_fill_kwh(self, capacity_kwh: np.ndarray, energy_kwh: np.ndarray) -> np.ndarray:
        """Energy in each depth segment ``[N, J]`` when the deepest segments hold it all. [kWh]"""
        segments = self.n_segments
        size = capacity_kwh[:, None] / segments
        # segment j spans SoC [1 - (j+1)/J, 1 - j/J]
        bottom = capacity_kwh[:, None] * (1.0 - (np.arange(segments) + 1) / segments)
        return np.clip(energy_kwh[:, None] - bottom, 0.0, size)

    def depth_bands(self, capacity_kwh: np.ndarray, energy_kwh: np.ndarray) -> DepthBands:
        """The depth segments with adjacent segments of equal cost merged into one band.

        Exact: under the shallowest-first bookkeeping two adjacent segments of one cost are
        one segment of their joint size (a kWh costs the same whichever of them it leaves),
        so an LP with the bands has the optimum of the LP with the segments, with fewer
        columns and without the degenerate choice between equal segments. The fits make such
        pairs common: segments wholly above the arrival SoC share the first band's cost, and
        the monotone fit pools violators into equal values (:mod:`voltpool.battery.calibrate`).
        """
        cost = self.cycle_depth_cost_per_kwh
        n, segments = cost.shape
        if not segments:
            none = np.zeros(0)
            return DepthBands(
                np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), none, none, none
            )
        starts = np.ones((n, segments), dtype=bool)
        starts[:, 1:] = cost[:, 1:] != cost[:, :-1]
        band = np.cumsum(starts, axis=1) - 1  # band of each segment within its vehicle
        count = band[:, -1] + 1
        first = np.cumsum(count) - count
        flat = (first[:, None] + band).ravel()
        total = int(count.sum())
        size = np.repeat(capacity_kwh / segments, segments)
        fill = self.initial_fill_kwh(capacity_kwh, energy_kwh).ravel()
        return DepthBands(
            count=count,
            first=first,
            cost_per_kwh=cost[starts],
            size_kwh=np.bincount(flat, weights=size, minlength=total),
            fill_kwh=np.bincount(flat, weights=fill, minlength=total),
        )

    @classmethod
    def from_records(cls, records: Sequence[dict[str, object]]) -> BatteryWear | None:
        """Collect the optional per-vehicle ``battery`` blocks; None when no vehicle has one."""
        blocks = [r.get("battery") or {} for r in records]
        if not any(blocks):
            return None
        issues: list[FieldIssue] = []
        n_seg = {len(b.get("cycle_depth_cost_per_kwh", [])) for b in blocks} - {0}
        socs = {
            tuple(b["soc_dwell_cost_per_h"]["soc"]) for b in blocks if "soc_dwell_cost_per_h" in b
        }
        rates = {tuple(b["charge_rate_cost"]["c_rate"]) for b in blocks if "charge_rate_cost" in b}
        if len(rates) > 1:
            issues.append(
                FieldIssue(
                    "vehicles[*].battery.charge_rate_cost.c_rate",
                    "all vehicles must use the same c_rate bands",
                )
            )
        if len(n_seg) > 1:
            issues.append(
                FieldIssue(
                    "vehicles[*].battery.cycle_depth_cost_per_kwh",
                    f"all vehicles must use the same number of segments, got {sorted(n_seg)}",
                )
            )
        if len(socs) > 1:
            issues.append(
                FieldIssue(
                    "vehicles[*].battery.soc_dwell_cost_per_h.soc",
                    "all vehicles must use the same soc breakpoints",
                )
            )
        if issues:
            raise ProblemError(issues)
        segments = n_seg.pop() if n_seg else 0
        soc = np.asarray(socs.pop() if socs else (), dtype=float)
        cycle = np.zeros((len(blocks), segments))
        dwell = np.zeros((len(blocks), soc.size))
        rate_c = np.asarray(rates.pop() if rates else (), dtype=float)
        rate_cost = np.zeros((len(blocks), rate_c.size))
        for n, block in enumerate(blocks):
            if "charge_rate_cost" in block:
                rate_cost[n] = block["charge_rate_cost"]["cost_per_kwh"]  # type: ignore[index]
            if block.get("cycle_depth_cost_per_kwh"):
                cycle[n] = block["cycle_depth_cost_per_kwh"]  # type: ignore[index]
            if "soc_dwell_cost_per_h" in block:
                dwell[n] = block["soc_dwell_cost_per_h"]["cost"]  # type: ignore[index]
        return cls(cycle, soc, dwell, rate_c, rate_cost)

    def to_record(self, n: int) -> dict[str, object]:
        block: dict[str, object] = {}
        if self.has_cycle_cost[n]:
            block["cycle_depth_cost_per_kwh"] = self.cycle_depth_cost_per_kwh[n].tolist()
        if self.has_dwell_cost[n]:
            block["soc_dwell_cost_per_h"] = {
                "soc": self.dwell_soc.tolist(),
                "cost": self.dwell_cost_per_h[n].tolist(),
            }
        if self.has_rate_cost[n]:
            block["charge_rate_cost"] = {
                "c_rate": self.rate_c.tolist(),
                "cost_per_kwh": self.rate_cost_per_kwh[n].tolist(),
            }
        return block


def charge_rate_cost(
    wear: BatteryWear | None, capacity_kwh: np.ndarray, power_kw: np.ndarray, dt_h: float
) -> np.ndarray:
    """Charge-rate cost of each vehicle ``[N]``: charging power split into C-rate bands. [EUR]"""
    if wear is None or wear.rate_c.size == 0:
        return np.zeros(power_kw.shape[0])
    lower, width = wear.rate_band_kw(capacity_kwh)
    charge = np.maximum(power_kw, 0.0)[:, :, None]
    in_band = np.clip(charge - lower[:, None, :], 0.0, width[:, None, :])
    return dt_h * (in_band * wear.rate_cost_per_kwh[:, None, :]).sum(axis=(1, 2))


def cycle_depth_cost_slots(
    wear: BatteryWear | None,
    capacity_kwh: np.ndarray,
    energy_kwh: np.ndarray,
    charge_efficiency: np.ndarray,
    discharge_efficiency: np.ndarray,
    power_kw: np.ndarray,
    dt_h: float,
) -> np.ndarray:
    """Cycle-depth cost of each vehicle and slot ``[N, T]`` for a power schedule. [EUR]

    Shallowest-first bookkeeping (see the module docstring): energy leaves the shallowest
    segment that holds some and refills the shallowest with room. With costs that do not
    decrease with depth this is the least cost over all ways of assigning energy to segments,
    i.e. what the LP charges at its optimum. ``energy_kwh`` is the stored energy at the start.
    Vectorized over vehicles and segments; loops over the slots that move energy (a slot where
    no vehicle moves any is skipped unless round-off left a segment a hair above its size: its
    refill step then settles it, so the result is the same as stepping through every slot).
    """
    if wear is None or wear.n_segments == 0:
        return np.zeros(power_kw.shape)
    cost = wear.cycle_depth_cost_per_kwh
    size = capacity_kwh / wear.n_segments
    fill = wear.initial_fill_kwh(capacity_kwh, energy_kwh)
    stored_kwh = charge_efficiency[:, None] * np.maximum(power_kw, 0.0) * dt_h
    taken_kwh = np.maximum(-power_kw, 0.0) * dt_h / discharge_efficiency[:, None]
    moving = ((stored_kwh != 0) | (taken_kwh != 0)).any(axis=0)
    total = np.zeros(power_kw.shape)
    overfull = False  # the initial fill is within the segments' sizes
    for t in range(power_kw.shape[1]):
        if not (moving[t] or overfull):
            continue  # nothing moves and every segment has room >= 0: the slot changes nothing
        slot = _slot_by_segment if overfull else _slot_all_segments
        total[:, t] = slot(fill, size, cost, taken_kwh[:, t], stored_kwh[:, t])
        overfull = bool((fill > size[:, None]).any())
    return total


def _slot_by_segment(
    fill: np.ndarray, size: np.ndarray, cost: np.ndarray, out: np.ndarray, into: np.ndarray
) -> np.ndarray:
    """One slot of the bookkeeping, segment by segment: take ``out`` and store ``into`` [N]
    (kWh, battery side), updating ``fill [N, J]`` in place; returns the slot's cost [N]."""
    out = out.copy()
    into = into.copy()
    total = np.zeros(fill.shape[0])
    for j in range(fill.shape[1]):
        moved = np.minimum(fill[:, j], out)
        fill[:, j] -= moved
        out -= moved
        total += moved * cost[:, j]
        added = np.minimum(size - fill[:, j], into)
        fill[:, j] += added
        into -= added
    return total


def _slot_all_segments(
    fill: np.ndarray, size: np.ndarray, cost: np.ndarray, out: np.ndarray, into: np.ndarray
) -> np.ndarray:
    """:func:`_slot_by_segment` for all segments at once, equal to it to the last bit when no
    segment holds more than its size. What is left to take after segment j is
    ``x - min(x, f_j)``, which is ``max(x - f_j, 0)`` exactly; with every ``f >= 0`` the clip
    can wait to the end of the running difference (once it reaches 0 it stays there). The same
    holds for what is left to store against the rooms ``size - fill >= 0``."""
    left = np.subtract.accumulate(np.concatenate((out[:, None], fill[:, :-1]), axis=1), axis=1)
    moved = np.minimum(fill, np.maximum(left, 0.0))
    fill -= moved
    room = size[:, None] - fill
    left = np.subtract.accumulate(np.concatenate((into[:, None], room[:, :-1]), axis=1), axis=1)
    fill += np.minimum(room, np.maximum(left, 0.0))
    return np.cumsum(moved * cost, axis=1)[:, -1]  # summed shallowest first, as segment by segment


def dwell_cost(
    wear: BatteryWear | None, soc_after: np.ndarray, plugged: np.ndarray, dt_h: float
) -> np.ndarray:
    """SoC-dwell cost of each vehicle ``[N]``: the convex rate at the SoC after every plugged-in
    slot, times ``dt_h``. ``soc_after`` and ``plugged`` are ``[N, T]``. [EUR]"""
    n_vehicles = soc_after.shape[0]
    if wear is None or wear.dwell_soc.size == 0:
        return np.zeros(n_vehicles)
    slopes, intercepts = wear.dwell_lines()
    rate = (slopes[:, None, :] * soc_after[:, :, None] + intercepts[:, None, :]).max(axis=2)
    return dt_h * np.where(plugged, rate, 0.0).sum(axis=1)
