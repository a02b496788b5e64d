"""Fit the optimizer's linear wear costs to a cell ageing model.

Three convex costs the LP carries without integers (:mod:`voltpool.model.wear`), each priced at
the value of the capacity it uses up. A pack is "used up" when it reaches its end-of-life
capacity (e.g. 70 %, the usual warranty threshold), so one unit of relative fade costs
``pack_value_per_kwh / (1 - end_of_life_capacity)`` per kWh of capacity.

- **Cycle depth** (Xu et al., IEEE TPWRS 33(2), 2018): the model is run for a year of one daily
  cycle of depth d around 50 % SoC, for d = 0.1 .. 1.0; ``phi(d)`` is the cycling fade per cycle.
  A Wöhler power law ``phi(d) = a * d**b`` with ``b >= 1`` (convex) is fitted in log space; the
  cost of segment j of J is ``value * J * (phi((j+1)/J) - phi(j/J))`` per kWh taken from the
  battery.
- **Throughput**: the same at one typical depth, ``value * phi(d) / d`` per kWh.
- **SoC dwell**: the model is run resting at constant SoC s for the warranty period; the mean
  calendar fade per hour times the value gives a cost rate per kWh of capacity; its lower convex
  envelope over the breakpoints keeps it convex (at most a small under-estimate, reported).
- **Charge rate**: a year of daily 30 % recharges at C-rate r (after a 30 % drive) against the
  slowest rate gives the extra cycling fade of charging fast; as a cost per hour per kWh of
  capacity ``g(r) = value * extra_fade(r) / 0.3 * r``, whose slopes between the band edges
  (made non-decreasing) are the band costs per kWh charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from voltpool.battery.ageing import fade

SECONDS_PER_DAY = 86_400.0
HOURS_PER_YEAR = 8_760.0
DEPTHS = np.round(np.arange(0.1, 1.01, 0.1), 2)
DWELL_SOC = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
RATE_EDGES = np.array([0.0, 0.1, 0.2, 0.3])
"""C-rate band edges [kW per kWh of capacity]: home AC charging is 0.05..0.3 C."""
SLOWEST_RATE = 0.05
RECHARGE_DEPTH = 0.3


@dataclass(frozen=True)
class WearCoefficients:
    """Linear wear costs of one cell model, for the LP and for reports.

    Attributes
    ----------
    cell : str
    pack_value_per_kwh : float
        Value of a kWh of pack capacity. [EUR/kWh]
    end_of_life_capacity : float
        Relative capacity at which the pack is used up. [0..1]
    temperature_c : float
        Cell temperature the fit assumes. [°C]
    wohler_a, wohler_b : float
        ``phi(d) = a * d**b``: cycling fade per cycle of depth d. [1/cycle]
    throughput_cost_per_kwh : float
        Cost per kWh taken from the battery at ``typical_depth``. [EUR/kWh]
    cycle_depth_cost_per_kwh : array [J]
        Cost per kWh taken from each depth segment, shallowest first. [EUR/kWh]
    dwell_soc : array [M]
    dwell_cost_per_h_per_kwh : array [M]
        Calendar-ageing cost rate at each SoC breakpoint per kWh of capacity. [EUR/h/kWh]
    """

    cell: str
    pack_value_per_kwh: float
    end_of_life_capacity: float
    temperature_c: float
    typical_depth: float
    wohler_a: float
    wohler_b: float
    throughput_cost_per_kwh: float
    cycle_depth_cost_per_kwh: np.ndarray
    dwell_soc: np.ndarray
    dwell_cost_per_h_per_kwh: np.ndarray
    rate_c: np.ndarray = field(default_factory=lambda: RATE_EDGES.copy())
    rate_cost_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(RATE_EDGES.size))
    phi_measured: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dwell_measured_per_h_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def value_per_fade_per_kwh(self) -> float:
        """Cost of one unit of relative fade per kWh of capacity. [EUR/kWh]"""
        return self.pack_value_per_kwh / (1.0 - self.end_of_life_capacity)

    def battery_block(self, capacity_kwh: float) -> dict[str, object]:
        """The problem format's per-vehicle ``battery`` block for a pack of ``capacity_kwh``."""
        return {
            "cycle_depth_cost_per_kwh": np.round(self.cycle_depth_cost_per_kwh, 6).tolist(),
            "soc_dwell_cost_per_h": {
                "soc": self.dwell_soc.tolist(),
                "cost": np.round(self.dwell_cost_per_h_per_kwh * capacity_kwh, 8).tolist(),
            },
            "charge_rate_cost": {
                "c_rate": self.rate_c.tolist(),
                "cost_per_kwh": np.round(self.rate_cost_per_kwh, 6).tolist(),
            },
        }


def daily_cycle_soc(depth: float, days: int, steps_per_day: int = 96) -> np.ndarray:
    """One cycle a day around 50 % SoC: 3 h down by ``depth``, 6 h back up, rest at 50 %."""
    hours = np.arange(steps_per_day) * 24.0 / steps_per_day
    down = np.clip((hours - 18.0) / 3.0, 0.0, 1.0) * (hours < 21.0)
    up = np.clip(1.0 - (hours - 21.0) / 6.0, 0.0, 1.0) * (hours >= 21.0)
    up_wrapped = np.clip(1.0 - (hours + 3.0) / 6.0, 0.0, 1.0) * (hours < 3.0)
    swing = np.maximum.reduce([down, up, up_wrapped])
    day = 0.5 + depth / 2.0 - depth * swing
    return np.tile(day, days)


def recharge_soc(c_rate: float, days: int, steps_per_day: int = 96) -> np.ndarray:
    """Daily: drive 30 % down at 08:00 (1 h), recharge 30 % from 17:00 at ``c_rate`` per hour."""
    hours = np.arange(steps_per_day) * 24.0 / steps_per_day
    drive = np.clip(hours - 8.0, 0.0, 1.0)
    charge = np.clip((hours - 17.0) * c_rate / RECHARGE_DEPTH, 0.0, 1.0)
    return np.tile(0.8 - RECHARGE_DEPTH * (drive - charge), days)


def rate_band_costs(cell: str, value: float, temperature_c: float) -> np.ndarray:
    """Cost per kWh charged in each band of :data:`RATE_EDGES` (see the module docstring)."""
    days = 365
    time_s = np.arange(days * 96) * 900.0
    rates = np.concatenate([[SLOWEST_RATE], RATE_EDGES[1:], [RATE_EDGES[-1] + 0.1]])
    profiles = np.vstack([recharge_soc(r, days) for r in rates])
    cycling = fade(cell, time_s, profiles, temperature_c, daily=False).loss_cycling
    extra = np.maximum(cycling - cycling[0], 0.0) / days  # per daily recharge
    g = value * extra / RECHARGE_DEPTH * rates  # [EUR/h per kWh of capacity]
    points_r = np.concatenate([[0.0], rates])
    points_g = np.concatenate([[0.0], g])
    edges = np.concatenate([RATE_EDGES, [rates[-1]]])
    slopes = np.diff(np.interp(edges, points_r, points_g)) / np.diff(edges)
    return np.maximum.accumulate(np.maximum(slopes, 0.0))


def lower_convex_envelope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Values at ``x`` of the greatest convex function below the points (x, y)."""
    hull: list[int] = []
    for i in range(x.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (y[b] - y[a]) * (x[i] - x[a]) >= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return np.interp(x, x[hull], y[hull])


@lru_cache(maxsize=64)
def calibrate(
    cell: str,
    pack_value_per_kwh: float,
    end_of_life_capacity: float = 0.7,
    temperature_c: float = 20.0,
    segments: int = 4,
    typical_depth: float = 0.3,
    dwell_years: float = 8.0,
) -> WearCoefficients:
    """Fit throughput, cycle-depth and SoC-dwell costs of ``cell`` (see the module docstring)."""
    if not 0.0 < end_of_life_capacity < 1.0:
        raise ValueError(f"end_of_life_capacity: {end_of_life_capacity} must be in (0, 1)")
    if pack_value_per_kwh < 0:
        raise ValueError(f"pack_value_per_kwh: {pack_value_per_kwh} must be >= 0")
    if segments < 1:
        raise ValueError(f"segments: {segments} must be >= 1")
    days = 365
    time_s = np.arange(days * 96) * 900.0
    profiles = np.vstack([np.full(days * 96, 0.5)] + [daily_cycle_soc(d, days) for d in DEPTHS])
    result = fade(cell, time_s, profiles, temperature_c)
    phi = np.maximum(result.loss_cycling[1:] - result.loss_cycling[0], 0.0) / days
    positive = phi > 0
    if positive.sum() >= 2:
        b = np.polyfit(np.log(DEPTHS[positive]), np.log(phi[positive]), 1)[0]
        b = max(b, 1.0)
        a = float(np.exp(np.mean(np.log(phi[positive]) - b * np.log(DEPTHS[positive]))))
    else:
        a, b = 0.0, 1.0
    value = pack_value_per_kwh / (1.0 - end_of_life_capacity)
    edges = np.arange(segments + 1) / segments
    cycle_cost = value * segments * np.diff(a * edges**b)
    throughput = value * a * typical_depth**b / typical_depth

    dwell_steps = int(dwell_years * 365)
    dwell_time = np.arange(dwell_steps + 1) * SECONDS_PER_DAY
    resting = np.repeat(DWELL_SOC[:, None], dwell_time.size, axis=1)
    calendar = fade(cell, dwell_time, resting, temperature_c).loss_calendar
    measured = value * calendar / (dwell_years * HOURS_PER_YEAR)
    return WearCoefficients(
        cell=cell,
        pack_value_per_kwh=pack_value_per_kwh,
        end_of_life_capacity=end_of_life_capacity,
        temperature_c=temperature_c,
        typical_depth=typical_depth,
        wohler_a=a,
        wohler_b=float(b),
        throughput_cost_per_kwh=float(throughput),
        cycle_depth_cost_per_kwh=cycle_cost,
        dwell_soc=DWELL_SOC.copy(),
        dwell_cost_per_h_per_kwh=lower_convex_envelope(DWELL_SOC, measured),
        phi_measured=phi,
        dwell_measured_per_h_per_kwh=measured,
        rate_c=RATE_EDGES.copy(),
        rate_cost_per_kwh=rate_band_costs(cell, value, temperature_c),
    )
