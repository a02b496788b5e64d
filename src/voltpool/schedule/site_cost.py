"""The coordinator's side of the fleet problem: what the site's net load costs, as the exact LP
prices it (:mod:`voltpool.schedule.lp`).

Per slot the LP splits the net load ``y`` into import, import excess, export and curtailed
export; the cheapest split makes the slot's cost a convex piecewise-linear function
``phi[t](y)``: the inf-convolution of four linear pieces (export at the export price up to the
limit, curtailed export at 0 up to what the base load alone exports beyond it, import at the
import price up to the limit, import excess at the import price plus
:func:`~voltpool.schedule.lp.site_excess_price_per_kwh` up to what the base load alone needs
beyond it), i.e. their slopes sorted. The demand charge adds, per billing period,
``price * max(0, max_t y[t] - baseline)``. ``y`` is also kept within what the cars can move
(``base -/+ the sum of their discharge/charge limits``), a bound every plan keeps.

Used by :mod:`voltpool.schedule.decentral` for the coordinator's prox step and for its exact
part of the Lagrangian lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.model import Problem
from voltpool.schedule.lp import base_excess_kw, site_excess_price_per_kwh


@dataclass(frozen=True)
class SiteCost:
    """``phi[t]`` as ``[T, J]`` sorted slopes (currency per kW and slot) over segments starting
    at ``start_kw`` ``[T, J]``, its value ``offset`` at ``start_kw[:, 0]``, on
    ``[lower_kw, upper_kw]``; plus the demand charge's billing periods."""

    slopes: np.ndarray
    start_kw: np.ndarray
    offset: np.ndarray
    lower_kw: np.ndarray
    upper_kw: np.ndarray
    period: np.ndarray
    """Per slot: its billing period."""
    peak_price_per_kw: np.ndarray
    peak_baseline_kw: np.ndarray

    def value(self, net_kw: np.ndarray, slots: np.ndarray | slice = slice(None)) -> np.ndarray:
        """``phi[t](net_kw[..., i])`` for the i-th of ``slots`` (no demand charge). [currency]"""
        start = self.start_kw[slots]
        y = np.clip(net_kw, self.lower_kw[slots], self.upper_kw[slots])
        widths = np.diff(start, axis=-1, append=np.inf)
        walked = np.clip(y[..., None] - start, 0.0, widths)
        return (self.slopes[slots] * walked).sum(axis=-1) + self.offset[slots]

    def prox(self, v_kw: np.ndarray, step: float) -> np.ndarray:
        """``argmin_y phi[t](y) + (y - v[t])^2 / (2 step)`` per slot (no demand charge)."""
        s = self.slopes
        y = v_kw - step * s[:, 0]
        for j in range(1, s.shape[1]):
            y = y - np.clip(
                v_kw - step * s[:, j - 1] - self.start_kw[:, j], 0.0, step * (s[:, j] - s[:, j - 1])
            )
        return np.clip(y, self.lower_kw, self.upper_kw)

    def lagrangian_min(self, price_kw: np.ndarray) -> float:
        """``min_y sum_t phi[t](y[t]) - price_kw[t] y[t]`` plus the demand charge, over the
        bounds of ``y``. [currency]

        Exact: each slot's own minimiser is one of its breakpoints or bounds; with a demand
        charge, for a peak level Q every slot of the period takes its minimiser capped at Q,
        and the period's total is convex piecewise linear in Q with kinks at the slots'
        breakpoints, their bounds and the baseline, so it is evaluated at all of them."""
        n_slots = self.slopes.shape[0]
        points = np.concatenate(
            [self.start_kw, self.lower_kw[:, None], self.upper_kw[:, None]], axis=1
        )
        points = np.clip(points, self.lower_kw[:, None], self.upper_kw[:, None])
        shifted = self.value(points.T).T - price_kw[:, None] * points  # [T, J + 2]
        best_kw = points[np.arange(n_slots), np.argmin(shifted, axis=1)]
        total = 0.0
        for p, price in enumerate(self.peak_price_per_kw):
            slots = np.flatnonzero(self.period == p)
            own = best_kw[slots]
            if price <= 0:
                total += float((self.value(own, slots) - price_kw[slots] * own).sum())
                continue
            levels = np.unique(np.append(points[slots].ravel(), self.peak_baseline_kw[p]))
            levels = levels[levels >= self.lower_kw[slots].max()]
            capped = np.minimum(own[None, :], levels[:, None])  # [Q, slots]
            cost = (self.value(capped, slots) - price_kw[slots] * capped).sum(axis=1)
            cost += price * np.maximum(levels - self.peak_baseline_kw[p], 0.0)
            total += float(cost.min())
        return total


def site_cost(problem: Problem) -> SiteCost:
    """The coordinator's cost of ``problem`` (module docstring)."""
    site, tariff, fleet = problem.site, problem.tariff, problem.fleet
    dt_h = problem.dt_h
    n_slots = problem.n_slots
    plugged = fleet.plugged_mask(n_slots)
    base = site.base_load_kw
    lower = base - (fleet.max_discharge_kw[:, None] * plugged).sum(axis=0)
    upper = base + (fleet.max_charge_kw[:, None] * plugged).sum(axis=0)
    reach = np.maximum(np.abs(lower), np.abs(upper)) + 1.0
    excess = site_excess_price_per_kwh(problem)
    # pieces: (slope per kW and slot, length, whether it lies left of 0)
    slopes = np.stack(
        [
            tariff.export_price_per_kwh * dt_h,
            np.zeros(n_slots),
            tariff.import_price_per_kwh * dt_h,
            (tariff.import_price_per_kwh + excess) * dt_h,
        ],
        axis=1,
    )
    lengths = np.stack(
        [
            np.minimum(site.export_limit_slots_kw, reach),
            np.minimum(base_excess_kw(problem, "export"), reach),
            np.minimum(site.import_limit_slots_kw, reach),
            np.minimum(base_excess_kw(problem, "import"), reach),
        ],
        axis=1,
    )
    leftmost = -(lengths[:, 0] + lengths[:, 1])
    offset = -slopes[:, 0] * lengths[:, 0]  # exporting up to the limit, curtailing the rest
    order = np.argsort(slopes, axis=1, kind="stable")
    rows = np.arange(n_slots)[:, None]
    slopes, lengths = slopes[rows, order], lengths[rows, order]
    start = leftmost[:, None] + np.cumsum(lengths, axis=1) - lengths
    periods = tariff.peak_periods(n_slots)
    return SiteCost(
        slopes=slopes,
        start_kw=start,
        offset=offset,
        lower_kw=np.maximum(lower, leftmost),
        upper_kw=np.minimum(upper, leftmost + lengths.sum(axis=1)),
        period=_periods(problem),
        peak_price_per_kw=np.array([price if tariff.has_peak else 0.0 for _, price, _ in periods]),
        peak_baseline_kw=np.array([baseline for _, _, baseline in periods]),
    )


def _periods(problem: Problem) -> np.ndarray:
    period = np.zeros(problem.n_slots, dtype=np.int64)
    for p, (slots, _price, _baseline) in enumerate(problem.tariff.peak_periods(problem.n_slots)):
        period[slots] = p
    return period
