"""Battery energy bookkeeping for a whole fleet at once."""

from __future__ import annotations

import numpy as np

from voltpool.model.fleet import Fleet
from voltpool.model.wear import cycle_depth_cost_slots


def energy_trajectory_kwh(fleet: Fleet, power_kw: np.ndarray, dt_h: float) -> np.ndarray:
    """Stored energy ``[N, T+1]`` after each slot, given AC power ``[N, T]``.

    ``e[t+1] = e[t] + dt_h * (eta_c * max(p, 0) + min(p, 0) / eta_d)``
    (docs/conventions.md, "Battery energy").

    Parameters
    ----------
    fleet : Fleet
    power_kw : array [N, T]
        AC power, positive when charging. [kW]
    dt_h : float
        Slot length. [h]
    """
    charge_kw = np.maximum(power_kw, 0.0)
    discharge_kw = np.minimum(power_kw, 0.0)
    delta_kwh = dt_h * (
        fleet.charge_efficiency[:, None] * charge_kw
        + discharge_kw / fleet.discharge_efficiency[:, None]
    )
    energy = np.empty((power_kw.shape[0], power_kw.shape[1] + 1))
    energy[:, 0] = fleet.energy_initial_kwh
    np.cumsum(delta_kwh, axis=1, out=energy[:, 1:])
    energy[:, 1:] += energy[:, :1]
    return energy


def soc_trajectory(fleet: Fleet, power_kw: np.ndarray, dt_h: float) -> np.ndarray:
    """State of charge ``[N, T+1]`` (fraction 0..1) after each slot, given AC power ``[N, T]``."""
    return energy_trajectory_kwh(fleet, power_kw, dt_h) / fleet.capacity_kwh[:, None]


def fleet_cycle_depth_cost_slots(fleet: Fleet, power_kw: np.ndarray, dt_h: float) -> np.ndarray:
    """Cycle-depth cost ``[N, T]`` of a fleet's schedule (:mod:`voltpool.model.wear`). [EUR]"""
    return cycle_depth_cost_slots(
        fleet.wear,
        fleet.capacity_kwh,
        fleet.energy_initial_kwh,
        fleet.charge_efficiency,
        fleet.discharge_efficiency,
        power_kw,
        dt_h,
    )


def true_runs(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """``(row, start, end)`` of every run of True in a boolean ``[N, T]`` array (end exclusive).

    Plug-in sessions, discharge blocks: one vectorized edge detection, rows in order.
    """
    edges = np.diff(np.asarray(mask, dtype=np.int8), axis=1, prepend=0, append=0)
    starts = np.argwhere(edges == 1)
    ends = np.argwhere(edges == -1)
    return [(int(n), int(s), int(e)) for (n, s), (_, e) in zip(starts, ends, strict=True)]
