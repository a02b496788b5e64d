"""Every car's exact minimum cost for a broadcast price: the lower-bound half of the certificate.

For a price signal ``price_per_kwh[t]`` (what the coordinator charges per kWh the car draws at
the AC side, and pays per kWh it gives), car n alone solves the per-car part of the exact LP
(:mod:`voltpool.schedule.lp`)::

    min  sum_t price[t] dt (pc[t] - pd[t]) + c_deg dt pd[t] + penalty * s
    s.t. e[t+1] = e[t] + eta_c dt pc[t] - dt pd[t] / eta_d,   e[0] = e_arrival,
         floor <= e <= ceiling,  0 <= pc <= Pc[t],  0 <= pd <= Pd[t],  e[T] + s >= target

(``Pd[t] = 0`` where the owner's hours forbid discharging; the floor is the LP's
``min(reserve, arrival level)``; charging and discharging in one slot are both allowed, as in
the LP). Its minimum is found exactly by backward dynamic programming on the cost-to-go
``V[t](e)``, a convex piecewise-linear function of the stored energy (Bellman; the same
recursion as the classic storage-arbitrage DP): ``V[t] = (g[t] inf-convolved with V[t+1])``
restricted to ``[floor, ceiling]``, where the slot's cost ``g[t]`` of an energy change is
linear on the charging side (``price / eta_c`` per kWh stored) and on the discharging side
(``(c_deg - price) * eta_d`` per kWh taken out). A convex piecewise-linear function is kept as
its value at the floor and its slopes in increasing order with their lengths; the
inf-convolution merges the two new slopes in, the restriction cuts ``eta_c dt Pc`` kWh off the
left end and ``dt Pd / eta_d`` off the right. All cars at once: each array is ``[N, K]`` and the
loop runs over time slots only.

The per-car rows the DP leaves out (daily and weekly discharge caps, the reserve of a car that
arrives below it, cycle-depth, dwell and charge-rate wear) only restrict the car further or add
non-negative cost, so its minimum stays a valid lower bound of the car's true minimum.
"""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem

PAD_SLOPE = 1e300
"""Slope of the unused columns (length 0) at the right end of every row: above any real slope,
so the rows stay sorted."""
COMPACT_EVERY = 8
"""Slots between two compactions of the slope arrays (zero-length segments dropped)."""


def car_minimum_cost(
    problem: Problem,
    price_per_kwh: np.ndarray,
    discharge_limit_kw: np.ndarray,
) -> np.ndarray:
    """``[N]`` each car's exact minimum cost for ``price_per_kwh`` ``[T]`` (module docstring).
    [currency]

    ``discharge_limit_kw`` ``[N, T]`` is each car's discharge bound per slot (0 where it is
    unplugged or its owner forbids discharging)."""
    fleet = problem.fleet
    dt_h = problem.dt_h
    n_vehicles, n_slots = fleet.n_vehicles, problem.n_slots
    plugged = fleet.plugged_mask(n_slots)
    lo = fleet.energy_floor_kwh
    hi = fleet.energy_ceiling_kwh
    target = fleet.energy_target_kwh
    penalty = problem.unmet_penalty_per_kwh
    eta_c, eta_d = fleet.charge_efficiency, fleet.discharge_efficiency
    stored_kwh = eta_c[:, None] * dt_h * fleet.max_charge_kw[:, None] * plugged
    taken_kwh = dt_h * discharge_limit_kw / eta_d[:, None]

    # V[T](e) = penalty * max(0, target - e) on [lo, hi]
    below = np.clip(target - lo, 0.0, hi - lo)
    slopes = np.stack([np.full(n_vehicles, -penalty), np.zeros(n_vehicles)], axis=1)
    lengths = np.stack([below, hi - lo - below], axis=1)
    value_lo = penalty * np.maximum(target - lo, 0.0)
    rows = np.arange(n_vehicles)[:, None]
    for t in range(n_slots - 1, -1, -1):
        cost_in = price_per_kwh[t] / eta_c
        cost_out = (fleet.degradation_cost_per_kwh - price_per_kwh[t]) * eta_d
        slopes, lengths = _insert_two(
            slopes, lengths, -cost_in, stored_kwh[:, t], cost_out, taken_kwh[:, t], rows
        )
        value_lo = value_lo + cost_in * stored_kwh[:, t]
        value_lo = value_lo + _cut_left(slopes, lengths, stored_kwh[:, t])
        _cut_right(lengths, taken_kwh[:, t])
        if t % COMPACT_EVERY == 0:
            slopes, lengths = _compact(slopes, lengths, rows)
    walk = fleet.energy_initial_kwh - lo
    start = np.cumsum(lengths, axis=1) - lengths
    return value_lo + (slopes * np.clip(walk[:, None] - start, 0.0, lengths)).sum(axis=1)


def _insert_two(
    slopes: np.ndarray,
    lengths: np.ndarray,
    slope_a: np.ndarray,
    length_a: np.ndarray,
    slope_b: np.ndarray,
    length_b: np.ndarray,
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows with the segments (slope_a, length_a) and (slope_b, length_b) merged in sorted."""
    first = slope_a <= slope_b
    s_lo, s_hi = np.where(first, slope_a, slope_b), np.where(first, slope_b, slope_a)
    l_lo, l_hi = np.where(first, length_a, length_b), np.where(first, length_b, length_a)
    at_lo = (slopes < s_lo[:, None]).sum(axis=1)
    at_hi = (slopes < s_hi[:, None]).sum(axis=1) + 1
    column = np.arange(slopes.shape[1] + 2)[None, :]
    source = column - (column > at_lo[:, None]) - (column > at_hi[:, None])
    source = np.minimum(source, slopes.shape[1] - 1)
    is_lo, is_hi = column == at_lo[:, None], column == at_hi[:, None]
    new_slopes = np.where(
        is_lo, s_lo[:, None], np.where(is_hi, s_hi[:, None], slopes[rows, source])
    )
    new_lengths = np.where(
        is_lo, l_lo[:, None], np.where(is_hi, l_hi[:, None], lengths[rows, source])
    )
    return new_slopes, new_lengths


def _cut_left(slopes: np.ndarray, lengths: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Remove ``amount`` of length from each row's left end (in place); returns the cost of
    walking over it."""
    start = np.cumsum(lengths, axis=1) - lengths
    taken = np.clip(amount[:, None] - start, 0.0, lengths)
    lengths -= taken
    return (np.where(taken > 0, slopes, 0.0) * taken).sum(axis=1)


def _cut_right(lengths: np.ndarray, amount: np.ndarray) -> None:
    """Remove ``amount`` of length from each row's right end (in place)."""
    after = np.cumsum(lengths[:, ::-1], axis=1)[:, ::-1] - lengths
    lengths -= np.clip(amount[:, None] - after, 0.0, lengths)


def _compact(
    slopes: np.ndarray, lengths: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop zero-length segments (order kept), narrowing the arrays to the longest row."""
    used = lengths > 0
    order = np.argsort(~used, axis=1, kind="stable")
    width = max(int(used.sum(axis=1).max(initial=0)), 1)
    order = order[:, :width]
    kept = used[rows, order]
    return (
        np.where(kept, slopes[rows, order], PAD_SLOPE),
        np.where(kept, lengths[rows, order], 0.0),
    )
