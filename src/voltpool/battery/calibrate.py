"""Fit the optimizer's linear wear costs to a cell ageing model, at the margin of the car's use.

Every cost is the *marginal* capacity fade the ageing model (NREL BLAST-Lite's cells,
:mod:`voltpool.battery.cells`, stepped by :func:`voltpool.battery.fade`) predicts for a little
more use on top of a baseline (:class:`DrivingDay`, the car's daily driving and overnight
charge), over the horizon the decision affects (``horizon_years``, the warranty, after
``age_years`` of the same use; new by default), valued with the one valuation of wear
(:func:`voltpool.battery.valuation.value_per_fade_per_kwh`, as the health report values it)::

    cost = value * [fade(baseline + extra use) - fade(baseline)] / (extra use over the horizon)

BLAST-Lite's states are power laws in time and in equivalent full cycles (``q = k * x**p`` with
p from 0.5 to 0.83), so a new cell fades fastest: the marginal over a car's life is what a
decision made today costs, not the first year's rate. Calendar fade is charged once, by the
SoC-dwell cost; cycling fade once, by the cycle-depth and charge-rate costs.

- **Cycle depth** (segments after Xu, Zhao, Zheng, Litvinov, Kirschen, IEEE Trans. Power Syst.
  33(2), 2018, as :mod:`voltpool.model.wear` carries them): segment j holds the SoC band
  ``[1 - (j+1)/J, 1 - j/J]`` and the LP takes a discharge from the car's SoC downwards. Every
  evening the car gives back V2G from its arrival SoC down to each band edge below it (at 0.1 C,
  recharged at 0.1 C before it leaves); the model's extra *cycling* fade between two edges,
  per kWh, is that band's cost. Bands above the arrival SoC (energy charged and given back
  within one plug-in) get the cost of the first band below it, an over-estimate: such energy
  does not deepen the day's cycle. Costs are made non-decreasing with depth (convex) by
  isotonic regression weighted by band width, which keeps the LP's cost of V2G down to a
  pooled block's edges exact; :attr:`WearCoefficients.cycle_fit_error` is the largest relative
  error at any edge.
- **SoC dwell**: every evening one hour of the rest at the arrival SoC is spent at SoC s
  instead (one 15-minute step there and back); the model's extra *calendar* fade per hour is
  the cost rate at s, counted from the breakpoint that ages least (so it is >= 0). The LP's
  convex piecewise-linear rate is the convex, non-negative fit that minimises the largest
  error at the breakpoints (a small LP); :attr:`WearCoefficients.dwell_fit_error`.
- **Charge rate**: the overnight recharge at C-rate r instead of 0.1 C gives the extra cycling
  fade of charging fast, ``E(r)`` per kWh charged; as a cost per hour per kWh of capacity
  ``g(r) = value * E(r) * r``, whose slopes between the band edges (made non-decreasing) are the
  band costs per kWh charged. Charging up to 0.1 C costs nothing here: the cycle-depth cost was
  fitted with recharges at 0.1 C and already holds it.

:meth:`WearCoefficients.v2g_booked_per_kwh` runs the LP's own cost functions on the baseline
plug-in with and without a V2G discharge, so the printed cost of a V2G of some depth is exactly
what the LP books for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy.optimize import linprog

from voltpool.battery.ageing import fade
from voltpool.battery.cells import CELLS, CHEMISTRY_CELLS, temperature_warning
from voltpool.battery.valuation import DEFAULT_VALUATION, value_per_fade_per_kwh
from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.wear import BatteryWear, charge_rate_cost, cycle_depth_cost_slots, dwell_cost

DAYS_PER_YEAR = 365
STEPS_PER_DAY = 96
STEP_H = 24.0 / STEPS_PER_DAY
"""Resolution of the calibration profiles: 15 minutes, as the simulator's and the report's."""
DWELL_SOC = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
RATE_EDGES = np.array([0.0, 0.1, 0.2, 0.3])
"""C-rate band edges [kW per kWh of capacity]: home AC charging is 0.05..0.3 C."""
BASE_C_RATE = float(RATE_EDGES[1])
"""C-rate [1/h] of the baseline's charging and of the V2G discharges the costs are fitted on."""
TRIP_H = 0.75
"""Duration of each of the day's two trips. [h]"""
DWELL_RAMP_START_H = 0.75
DWELL_H = 1.0
"""The dwell hour: from 0.75 h after arrival, one step to s, 45 min at s, one step back. [h]"""


@dataclass(frozen=True)
class DrivingDay:
    """The car's use every day: the baseline the wear costs are the margin of.

    Leave at ``departure_hour`` with ``departure_soc``, use ``drive_soc`` in two equal
    45-minute trips (the first at departure, the second ending at ``arrival_hour``), plug in at
    home at ``arrival_soc``, rest until ``charge_start_hour`` and charge back at 0.1 C. The
    default is the standard commute of the BLAST-Lite comparison (``tests/battery_profiles.py``,
    ``driving``): leave 07:30 at 80 %, drive 25 %, home at 18:00 at 55 %, charge from 22:00.
    Hours are local clock hours on the 15-minute grid. [h], SoC [0..1]
    """

    departure_soc: float = 0.8
    drive_soc: float = 0.25
    departure_hour: float = 7.5
    arrival_hour: float = 18.0
    charge_start_hour: float = 22.0

    def __post_init__(self) -> None:
        issues = []
        if not 0.0 < self.departure_soc <= 1.0:
            issues.append(FieldIssue("departure_soc", f"{self.departure_soc} must be in (0, 1]"))
        elif not 0.0 < self.drive_soc <= self.departure_soc:
            issues.append(
                FieldIssue("drive_soc", f"{self.drive_soc} must be in (0, departure_soc]")
            )
        for name in ("departure_hour", "arrival_hour", "charge_start_hour"):
            hour = getattr(self, name)
            if not (0.0 <= hour < 24.0 and float(hour / STEP_H).is_integer()):
                issues.append(FieldIssue(name, f"{hour} must be a quarter hour in [0, 24)"))
        if not issues:
            if self.away_hours < 2 * TRIP_H:
                issues.append(FieldIssue("arrival_hour", "must leave 1.5 h for the two trips"))
            if self.rest_hours < DWELL_RAMP_START_H + DWELL_H + STEP_H:
                issues.append(
                    FieldIssue("charge_start_hour", "must be at least 2 h after arrival_hour")
                )
            if self.rest_hours + self.drive_soc / BASE_C_RATE > self.plugged_hours:
                issues.append(
                    FieldIssue("charge_start_hour", "charging at 0.1 C must end by departure")
                )
            if self.departure_soc / BASE_C_RATE >= self.plugged_hours:
                issues.append(
                    FieldIssue("departure_hour", "the plug-in must fit a recharge from 0 at 0.1 C")
                )
        if issues:
            raise ProblemError(issues)

    @property
    def arrival_soc(self) -> float:
        return self.departure_soc - self.drive_soc

    @property
    def away_hours(self) -> float:
        return (self.arrival_hour - self.departure_hour) % 24.0

    @property
    def plugged_hours(self) -> float:
        return 24.0 - self.away_hours

    @property
    def rest_hours(self) -> float:
        """Hours plugged in before the baseline starts charging."""
        return (self.charge_start_hour - self.arrival_hour) % 24.0

    def charging(self, c_rate: float = BASE_C_RATE) -> list[tuple[float, float]]:
        """Plug-in knots (hours after arrival, SoC) of the baseline, charging at ``c_rate``."""
        arrival, rest = self.arrival_soc, self.rest_hours
        return [
            (0.0, arrival),
            (rest, arrival),
            (rest + self.drive_soc / c_rate, self.departure_soc),
        ]

    def giving_back(self, low_soc: float) -> list[tuple[float, float]]:
        """Plug-in knots with a V2G discharge from arrival down to ``low_soc`` at once, then the
        recharge at 0.1 C (from the baseline's charge start, earlier if it must be); the
        discharge is faster than 0.1 C only if the plug-in is too short otherwise."""
        recharge_h = (self.departure_soc - low_soc) / BASE_C_RATE
        depth = self.arrival_soc - low_soc
        discharge_h = min(depth / BASE_C_RATE, self.plugged_hours - recharge_h)
        start = min(max(self.rest_hours, discharge_h), self.plugged_hours - recharge_h)
        return [
            (0.0, self.arrival_soc),
            (discharge_h, low_soc),
            (start, low_soc),
            (start + recharge_h, self.departure_soc),
        ]

    def dwelling(self, soc: float) -> list[tuple[float, float]]:
        """Baseline plug-in knots with one hour of the evening rest spent at ``soc``."""
        arrival, ramp = self.arrival_soc, DWELL_RAMP_START_H
        dwell = [(ramp, arrival), (ramp + STEP_H, soc), (ramp + DWELL_H, soc)]
        return [(0.0, arrival), *dwell, (ramp + DWELL_H + STEP_H, arrival), *self.charging()[1:]]

    def plugged_soc(self, knots: list[tuple[float, float]]) -> np.ndarray:
        """SoC at every 15-minute step from arrival to departure (both included) [T+1]."""
        hours = np.arange(round(self.plugged_hours / STEP_H) + 1) * STEP_H
        return _interp(hours, [*knots, (self.plugged_hours, self.departure_soc)])

    def soc(self, knots: list[tuple[float, float]]) -> np.ndarray:
        """SoC of one day [96 steps] from departure: the two trips, then the plug-in ``knots``."""
        between = self.departure_soc - self.drive_soc / 2
        away = self.away_hours
        driving = [(0.0, self.departure_soc), (TRIP_H, between), (away - TRIP_H, between)]
        plugged = [(away + h, s) for h, s in knots]
        hours = np.arange(STEPS_PER_DAY) * STEP_H
        return _interp(hours, [*driving, *plugged, (24.0, self.departure_soc)])


STANDARD_COMMUTE = DrivingDay()
"""The default baseline: leave 07:30 at 80 %, drive 25 %, home 18:00 at 55 %, charge from 22:00."""


def _interp(hours: np.ndarray, knots: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise-linear SoC through the knots (a knot repeating its predecessor's time is a
    jump: its value holds from that time on)."""
    x = np.array([k[0] for k in knots])
    y = np.array([k[1] for k in knots])
    keep = np.r_[x[1:] > x[:-1] + 1e-12, True]
    return np.round(np.interp(hours, x[keep], y[keep]), 12)


@dataclass(frozen=True, eq=False)
class WearCoefficients:
    """Linear wear costs of one cell model, for the LP and for reports.

    Attributes
    ----------
    cell : str
    pack_value_per_kwh : float
        Value of a kWh of pack capacity. [EUR/kWh]
    end_of_life_capacity : float
        Relative capacity at which the pack is used up. [0..1]
    valuation : str
        ``"capacity"`` or ``"replacement"`` (:mod:`voltpool.battery.valuation`).
    value_per_fade_per_kwh : float
        What one unit of relative fade costs per kWh of capacity. [EUR/kWh]
    temperature_c : float
        Cell temperature the fit assumes. [°C]
    horizon_years, age_years : float
        The costs are marginal over ``horizon_years`` of the baseline use, starting after
        ``age_years`` of it. [years]
    baseline : DrivingDay
    typical_depth : float
        The V2G depth :attr:`throughput_cost_per_kwh` is given for. [0..1]
    cycle_depth_cost_per_kwh : array [J]
        Cost per kWh taken from each depth segment, shallowest first. [EUR/kWh]
    v2g_soc : array [K]
        The band edges below the arrival SoC the V2G fits went down to, highest first. [0..1]
    v2g_cycling_cost_per_kwh, v2g_calendar_cost_per_kwh : array [K]
        The model's extra cycling and calendar fade of those discharges, valued, per kWh given
        back (battery side). [EUR/kWh]
    typical_model_cost_per_kwh : float
        The model's extra fade of a V2G of ``typical_depth`` per kWh given back. [EUR/kWh]
    dwell_soc : array [M]
    dwell_cost_per_h_per_kwh : array [M]
        The LP's calendar-ageing cost rate at each SoC breakpoint per kWh of capacity (convex,
        >= 0). [EUR/h/kWh]
    dwell_measured_per_h_per_kwh : array [M]
        The model's marginal calendar cost of an hour at each breakpoint, counted from the
        breakpoint that ages least. [EUR/h/kWh]
    rate_c : array [B]
        C-rate band edges. [1/h]
    rate_cost_per_kwh : array [B]
        Cost per kWh charged in each band, non-decreasing. [EUR/kWh]
    warnings : tuple of str
        Why the fit may not hold (the temperature is outside the cell's fitted range).
    """

    cell: str
    pack_value_per_kwh: float
    end_of_life_capacity: float
    valuation: str
    value_per_fade_per_kwh: float
    temperature_c: float
    horizon_years: float
    age_years: float
    baseline: DrivingDay
    typical_depth: float
    cycle_depth_cost_per_kwh: np.ndarray
    v2g_soc: np.ndarray
    v2g_cycling_cost_per_kwh: np.ndarray
    v2g_calendar_cost_per_kwh: np.ndarray
    typical_model_cost_per_kwh: float
    dwell_soc: np.ndarray
    dwell_cost_per_h_per_kwh: np.ndarray
    dwell_measured_per_h_per_kwh: np.ndarray
    rate_c: np.ndarray
    rate_cost_per_kwh: np.ndarray
    warnings: tuple[str, ...]

    def battery_block(self, capacity_kwh: float) -> dict[str, object]:
        """The problem format's per-vehicle ``battery`` block for a pack of ``capacity_kwh``."""
        return {
            "cycle_depth_cost_per_kwh": np.round(self.cycle_depth_cost_per_kwh, 6).tolist(),
            "soc_dwell_cost_per_h": {  # not rounded: rounding can break convexity
                "soc": self.dwell_soc.tolist(),
                "cost": (self.dwell_cost_per_h_per_kwh * capacity_kwh).tolist(),
            },
            "charge_rate_cost": {
                "c_rate": self.rate_c.tolist(),
                "cost_per_kwh": np.round(self.rate_cost_per_kwh, 6).tolist(),
            },
        }

    @cached_property
    def _wear(self) -> BatteryWear:
        """These costs for one vehicle of 1 kWh, in the LP's own form."""
        return BatteryWear(
            self.cycle_depth_cost_per_kwh[None, :],
            self.dwell_soc,
            self.dwell_cost_per_h_per_kwh[None, :],
            self.rate_c,
            self.rate_cost_per_kwh[None, :],
        )

    def booked_per_kwh_capacity(self, soc: np.ndarray) -> dict[str, float]:
        """What the LP books for one plug-in whose SoC at the 15-minute slot edges is ``soc``
        [T+1] (lossless charger), per kWh of capacity, by the LP's own cost functions
        (:mod:`voltpool.model.wear`): ``cycle_depth_cost``, ``soc_dwell_cost`` and
        ``charge_rate_cost``. [EUR/kWh]"""
        one = np.ones(1)
        power = np.diff(soc)[None, :] / STEP_H  # kW per kWh of capacity
        plugged = np.ones(power.shape, dtype=bool)
        cycle = cycle_depth_cost_slots(self._wear, one, soc[:1], one, one, power, STEP_H)
        return {
            "cycle_depth_cost": float(cycle.sum()),
            "soc_dwell_cost": float(dwell_cost(self._wear, soc[None, 1:], plugged, STEP_H)[0]),
            "charge_rate_cost": float(charge_rate_cost(self._wear, one, power, STEP_H)[0]),
        }

    def v2g_booked_per_kwh(self, low_soc: float) -> dict[str, float]:
        """What the LP books, per kWh given back, for the baseline plug-in with a V2G discharge
        from the arrival SoC down to ``low_soc`` against the same plug-in without it (each
        cost term's difference). [EUR/kWh]"""
        day = self.baseline
        with_v2g = self.booked_per_kwh_capacity(day.plugged_soc(day.giving_back(low_soc)))
        without = self.booked_per_kwh_capacity(day.plugged_soc(day.charging()))
        depth = day.arrival_soc - low_soc
        return {term: (with_v2g[term] - without[term]) / depth for term in with_v2g}

    @property
    def throughput_cost_per_kwh(self) -> float:
        """What the LP books per kWh for a V2G of ``typical_depth`` from the baseline's arrival
        SoC (cycle depth, dwell and charge rate together). [EUR/kWh]"""
        low = self.baseline.arrival_soc - self.typical_depth
        return sum(self.v2g_booked_per_kwh(low).values())

    @property
    def cycle_fit_error(self) -> float:
        """Largest relative error of the LP's cycle-depth cost of a V2G down to each fitted band
        edge against the model's extra cycling fade (0 when no pooling was needed)."""
        booked = np.array([self.v2g_booked_per_kwh(s)["cycle_depth_cost"] for s in self.v2g_soc])
        model = self.v2g_cycling_cost_per_kwh
        return float(np.max(np.abs(booked - model) / np.maximum(model, 1e-300)))

    @property
    def dwell_fit_error(self) -> float:
        """Largest error of the LP's dwell rate at a breakpoint against the model's marginal,
        relative to the model's largest (the spread between the gentlest and the harshest SoC)."""
        measured = self.dwell_measured_per_h_per_kwh
        scale = max(float(measured.max()), 1e-300)
        return float(np.max(np.abs(self.dwell_cost_per_h_per_kwh - measured)) / scale)


def pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in weighted least squares (isotonic
    regression by pool-adjacent-violators; a pooled block takes its weighted mean)."""
    blocks: list[tuple[float, float, int]] = []  # (mean, weight, count)
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        blocks.append((value, weight, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (v2, w2, n2), (v1, w1, n1) = blocks.pop(), blocks.pop()
            blocks.append(((v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2))
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


def convex_minimax_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Values at ``x`` of the convex, non-negative piecewise-linear function with the least
    largest error at the points (x, y); among those, the one with the least summed error.

    Two small LPs (HiGHS through :func:`scipy.optimize.linprog`) over the values ``v`` at ``x``:
    slopes between neighbours must not decrease, ``v >= 0``.
    """
    m = x.size
    scale = max(float(np.abs(y).max()), 1e-300)
    target = y / scale
    width = np.diff(x)
    convex = np.zeros((m - 2, m))
    for i in range(1, m - 1):  # slope(i-1, i) - slope(i, i+1) <= 0
        left, right = 1.0 / width[i - 1], 1.0 / width[i]
        convex[i - 1, i - 1 : i + 2] = [-left, left + right, -right]
    eye = np.eye(m)
    # stage 1: variables v, t; minimise t with |v - y| <= t
    first = linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.block(
            [[eye, -np.ones((m, 1))], [-eye, -np.ones((m, 1))], [convex, np.zeros((m - 2, 1))]]
        ),
        b_ub=np.r_[target, -target, np.zeros(m - 2)],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    largest = first.x[-1] * (1 + 1e-9) + 1e-12
    # stage 2: variables v, e; minimise sum e with |v - y| <= e <= largest
    second = linprog(
        np.r_[np.zeros(m), np.ones(m)],
        A_ub=np.block([[eye, -eye], [-eye, -eye], [convex, np.zeros((m - 2, m))]]),
        b_ub=np.r_[target, -target, np.zeros(m - 2)],
        bounds=[(0, None)] * m + [(0, largest)] * m,
        method="highs",
    )
    # exact convexity and non-negativity despite the solver's tolerances
    slopes = np.maximum.accumulate(np.diff(second.x[:m]) / width)
    values = second.x[0] + np.r_[0.0, np.cumsum(slopes * width)]
    return (values - min(values.min(), 0.0)) * scale


def _profiles(
    baseline: DrivingDay, days: list[np.ndarray], age_days: int, horizon_days: int
) -> np.ndarray:
    """Rows [R, (age + horizon) days]: the baseline for ``age_days``, then each day repeated."""
    before = np.tile(baseline.soc(baseline.charging()), age_days)
    return np.vstack([np.concatenate([before, np.tile(day, horizon_days)]) for day in days])


def _check(
    cell: str,
    segments: int,
    typical_depth: float,
    horizon_years: float,
    age_years: float,
    baseline: DrivingDay,
) -> None:
    issues = []
    if cell not in CELLS:
        issues.append(FieldIssue("cell", f"unknown cell {cell!r}; known: {sorted(CELLS)}"))
    if segments < 1:
        issues.append(FieldIssue("segments", f"{segments} must be >= 1"))
    if not 0.0 < typical_depth <= baseline.arrival_soc:
        issues.append(
            FieldIssue("typical_depth", f"{typical_depth} must be in (0, the arrival SoC]")
        )
    if not 1.0 / DAYS_PER_YEAR <= horizon_years <= 30.0:
        issues.append(FieldIssue("horizon_years", f"{horizon_years} must be a day to 30 years"))
    if not 0.0 <= age_years <= 30.0:
        issues.append(FieldIssue("age_years", f"{age_years} must be in [0, 30]"))
    if issues:
        raise ProblemError(issues)


@lru_cache(maxsize=64)
def calibrate(
    cell: str,
    pack_value_per_kwh: float,
    end_of_life_capacity: float = 0.7,
    temperature_c: float = 20.0,
    segments: int = 4,
    typical_depth: float = 0.3,
    *,
    horizon_years: float = 8.0,
    age_years: float = 0.0,
    valuation: str = DEFAULT_VALUATION,
    baseline: DrivingDay = STANDARD_COMMUTE,
) -> WearCoefficients:
    """Fit cycle-depth, SoC-dwell and charge-rate costs of ``cell`` (see the module docstring).

    Parameters
    ----------
    cell : str
        A cell name of :data:`~voltpool.battery.cells.CELLS` or a chemistry key.
    pack_value_per_kwh : float
        Value of a kWh of pack capacity. [EUR/kWh]
    end_of_life_capacity : float
        Relative capacity at which the pack is used up (the ``replacement`` valuation). [0..1]
    temperature_c : float
        Cell temperature. [°C]
    segments : int
        Depth segments J.
    typical_depth : float
        V2G depth below the arrival SoC for :attr:`WearCoefficients.throughput_cost_per_kwh`.
    horizon_years, age_years : float
        Margin over ``horizon_years`` of the baseline use after ``age_years`` of it. [years]
    valuation : {"capacity", "replacement"}
        :func:`~voltpool.battery.valuation.value_per_fade_per_kwh`.
    baseline : DrivingDay
        The car's daily use.

    Raises
    ------
    voltpool.errors.ProblemError
        Any argument out of range (all of them listed).
    """
    cell = CHEMISTRY_CELLS.get(cell, cell)
    _check(cell, segments, typical_depth, horizon_years, age_years, baseline)
    value = value_per_fade_per_kwh(pack_value_per_kwh, end_of_life_capacity, valuation)
    horizon_days = max(1, round(horizon_years * DAYS_PER_YEAR))
    age_days = round(age_years * DAYS_PER_YEAR)
    arrival = baseline.arrival_soc

    lower_edges = 1.0 - np.arange(1, segments + 1) / segments
    v2g_soc = lower_edges[lower_edges < arrival - 1e-9]
    typical_low = arrival - typical_depth
    at_edge = np.flatnonzero(np.isclose(v2g_soc, typical_low, atol=1e-9))
    extra_rates = np.r_[RATE_EDGES[2:], RATE_EDGES[-1] + 0.1]
    days = [baseline.soc(baseline.charging())]
    days += [baseline.soc(baseline.giving_back(s)) for s in v2g_soc]
    typical_row = int(at_edge[0]) + 1 if at_edge.size else len(days)
    if not at_edge.size:
        days.append(baseline.soc(baseline.giving_back(typical_low)))
    dwell_rows = slice(len(days), len(days) + DWELL_SOC.size)
    days += [baseline.soc(baseline.dwelling(s)) for s in DWELL_SOC]
    rate_rows = slice(len(days), len(days) + extra_rates.size)
    days += [baseline.soc(baseline.charging(r)) for r in extra_rates]

    soc = _profiles(baseline, days, age_days, horizon_days)
    time_s = np.arange(soc.shape[1]) * STEP_H * 3600.0
    result = fade(cell, time_s, soc, temperature_c, daily=False)
    cycling = (result.loss_cycling - result.loss_cycling[0]) * value / horizon_days
    calendar = (result.loss_calendar - result.loss_calendar[0]) * value / horizon_days
    # per day of the horizon, valued [EUR per kWh of capacity]

    depths = arrival - v2g_soc
    widths = np.diff(np.r_[0.0, depths])
    band_cost = pool_adjacent_violators(
        np.diff(np.r_[0.0, cycling[1 : v2g_soc.size + 1]]) / widths, widths
    )
    above = segments - v2g_soc.size  # segments wholly above the arrival SoC
    cycle_cost = np.maximum(np.r_[np.full(above, band_cost[0]), band_cost], 0.0)

    dwell = calendar[dwell_rows] / DWELL_H
    dwell_measured = dwell - dwell.min()

    charged = baseline.drive_soc
    g = cycling[rate_rows] / charged * extra_rates  # [EUR/h per kWh of capacity]
    rates = np.r_[RATE_EDGES[:2], extra_rates]
    slopes = np.diff(np.r_[0.0, 0.0, g]) / np.diff(rates)

    warning = temperature_warning(cell, temperature_c)
    return WearCoefficients(
        cell=cell,
        pack_value_per_kwh=pack_value_per_kwh,
        end_of_life_capacity=end_of_life_capacity,
        valuation=valuation,
        value_per_fade_per_kwh=value,
        temperature_c=temperature_c,
        horizon_years=horizon_years,
        age_years=age_years,
        baseline=baseline,
        typical_depth=typical_depth,
        cycle_depth_cost_per_kwh=cycle_cost,
        v2g_soc=v2g_soc,
        v2g_cycling_cost_per_kwh=cycling[1 : v2g_soc.size + 1] / depths,
        v2g_calendar_cost_per_kwh=calendar[1 : v2g_soc.size + 1] / depths,
        typical_model_cost_per_kwh=float(
            (cycling[typical_row] + calendar[typical_row]) / typical_depth
        ),
        dwell_soc=DWELL_SOC.copy(),
        dwell_cost_per_h_per_kwh=convex_minimax_fit(DWELL_SOC, dwell_measured),
        dwell_measured_per_h_per_kwh=dwell_measured,
        rate_c=RATE_EDGES.copy(),
        rate_cost_per_kwh=np.maximum.accumulate(np.maximum(slopes, 0.0)),
        warnings=() if warning is None else (warning,),
    )
