"""An independent formulation of problem format v1, for checking the production LP.

Built differently on purpose: variables over the *whole* horizon for every vehicle (bounds zero
while unplugged), SoC as a fraction instead of energy, an epigraph for the energy cost instead of
an import/export split, hard site limits instead of priced excess, a binary per (vehicle, slot)
forbidding simultaneous charge and discharge, assembled row by row with Python loops and solved as
a MILP with scipy. Small problems only. The reserve is a binary per (vehicle, slot) too
("reserve reached", monotone): a car discharges only once it holds its reserve (or its owner's
higher V2G floor), and then never below it. The owners' other rules are read here from the
problem's start and time zone with pandas, slot by slot: a forbidden slot bounds the discharge
at 0, and each local day and each rolling week (the plan's days d-6..d plus the history in it)
gets a row on the battery-side discharge. Surplus the base load alone exports above the
export limit may be curtailed (a column worth nothing); the cars never add to it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from voltpool.model import Problem


@dataclass
class Reference:
    feasible: bool
    objective: float
    power_kw: np.ndarray | None


def reference_optimum(problem: Problem) -> Reference:
    fleet = problem.fleet
    n_veh, n_t, dt = problem.n_vehicles, problem.n_slots, problem.dt_h
    tariff, site = problem.tariff, problem.site

    names: list[tuple] = []
    index: dict[tuple, int] = {}

    def var(*key: object) -> int:
        index[key] = len(names)
        names.append(key)
        return index[key]

    for n in range(n_veh):
        for t in range(n_t):
            var("pc", n, t)
            var("pd", n, t)
            var("u", n, t)
            var("z", n, t)
        for t in range(n_t + 1):
            var("soc", n, t)
        var("short", n)
    wear = fleet.wear
    segments = wear.n_segments if wear is not None else 0
    for n in range(n_veh):
        for j in range(segments):
            for t in range(n_t):
                var("seg_c", n, j, t)
                var("seg_d", n, j, t)
            for t in range(n_t + 1):
                var("seg_e", n, j, t)
        if wear is not None and wear.dwell_soc.size:
            for t in range(n_t):
                var("dwell", n, t)
        if wear is not None and wear.rate_c.size:
            for t in range(n_t):
                for b in range(wear.rate_c.size):
                    var("band", n, t, b)
    for t in range(n_t):
        var("net", t)
        var("cost", t)
        var("curtailed", t)
    var("peak", 0)  # the billing period the horizon starts in
    var("peak", 1)  # the next one (tariff.next_period), when the horizon reaches it
    size = len(names)

    c = np.zeros(size)
    lo = np.zeros(size)
    hi = np.full(size, np.inf)
    integrality = np.zeros(size)
    rows: list[tuple[dict[int, float], float, float]] = []
    may_discharge, reserve = _owner_slots(problem)

    for n in range(n_veh):
        plugged = [fleet.arrival_slot[n] <= t < fleet.departure_slot[n] for t in range(n_t)]
        floor = min(fleet.soc_min[n], fleet.soc_initial[n])
        for t in range(n_t):
            pc, pd, u = index["pc", n, t], index["pd", n, t], index["u", n, t]
            hi[pc] = fleet.max_charge_kw[n] if plugged[t] else 0.0
            hi[pd] = fleet.max_discharge_kw[n] if plugged[t] and may_discharge[n][t] else 0.0
            hi[u] = 1.0
            integrality[u] = 1
            c[pd] = fleet.degradation_cost_per_kwh[n] * dt
            rows.append(({pc: 1.0, u: -fleet.max_charge_kw[n]}, -np.inf, 0.0))
            rows.append(
                ({pd: 1.0, u: fleet.max_discharge_kw[n]}, -np.inf, float(fleet.max_discharge_kw[n]))
            )
            # the reserve: z = "reserve reached", once reached for good; discharge only then,
            # and then SoC stays at or above the reserve
            z = index["z", n, t]
            hi[z] = 1.0
            integrality[z] = 1
            rows.append(({pd: 1.0, z: -fleet.max_discharge_kw[n]}, -np.inf, 0.0))
            rows.append(({index["soc", n, t + 1]: 1.0, z: -reserve[n]}, 0.0, np.inf))
            if t:
                rows.append(({z: 1.0, index["z", n, t - 1]: -1.0}, 0.0, np.inf))
            cap = fleet.capacity_kwh[n]
            rows.append(
                (
                    {
                        index["soc", n, t + 1]: 1.0,
                        index["soc", n, t]: -1.0,
                        pc: -dt * fleet.charge_efficiency[n] / cap,
                        pd: dt / fleet.discharge_efficiency[n] / cap,
                    },
                    0.0,
                    0.0,
                )
            )
        for t in range(n_t + 1):
            s = index["soc", n, t]
            lo[s], hi[s] = floor, fleet.soc_max[n]
        lo[index["soc", n, 0]] = hi[index["soc", n, 0]] = fleet.soc_initial[n]
        short = index["short", n]
        c[short] = problem.unmet_penalty_per_kwh
        rows.append(
            (
                {short: 1.0, index["soc", n, int(fleet.departure_slot[n])]: fleet.capacity_kwh[n]},
                fleet.soc_target[n] * fleet.capacity_kwh[n],
                np.inf,
            )
        )
    _cap_rows(problem, index, rows)
    for n in range(n_veh):
        _wear_rows(problem, n, index, c, lo, hi, rows)
        _rate_rows(problem, n, index, c, hi, rows)
    later = tariff.next_period
    c[index["peak", 0]] = tariff.peak_price_per_kw
    c[index["peak", 1]] = 0.0 if later is None else later.price_per_kw
    for t in range(n_t):
        net, cost = index["net", t], index["cost", t]
        lo[net], hi[net] = -site.export_limit_kw, site.import_limit_kw
        lo[cost] = -np.inf
        c[cost] = 1.0
        # surplus the base load alone exports above the limit may be curtailed (earns nothing)
        curtailed = index["curtailed", t]
        hi[curtailed] = max(0.0, -float(site.base_load_kw[t]) - float(site.export_limit_kw))
        balance = {net: 1.0, curtailed: -1.0}  # grid net = base + cars + curtailed
        for n in range(n_veh):
            balance[index["pc", n, t]] = -1.0
            balance[index["pd", n, t]] = 1.0
        rows.append((balance, float(site.base_load_kw[t]), float(site.base_load_kw[t])))
        rows.append(({cost: 1.0, net: -dt * tariff.import_price_per_kwh[t]}, 0.0, np.inf))
        rows.append(({cost: 1.0, net: -dt * tariff.export_price_per_kwh[t]}, 0.0, np.inf))
        if later is not None and t >= later.start_slot:
            rows.append(({index["peak", 1]: 1.0, net: -1.0}, -later.baseline_kw, np.inf))
        else:
            rows.append(({index["peak", 0]: 1.0, net: -1.0}, -tariff.peak_baseline_kw, np.inf))

    matrix = lil_matrix((len(rows), size))
    row_lo = np.empty(len(rows))
    row_hi = np.empty(len(rows))
    for r, (coefficients, low, high) in enumerate(rows):
        for col, value in coefficients.items():
            matrix[r, col] = value
        row_lo[r], row_hi[r] = low, high
    result = milp(
        c,
        constraints=LinearConstraint(matrix.tocsr(), row_lo, row_hi),
        bounds=Bounds(lo, hi),
        integrality=integrality,
        options={"mip_rel_gap": 1e-10},
    )
    if result.status == 2:
        return Reference(False, np.inf, None)
    assert result.status == 0, result.message
    x = result.x
    power = np.array(
        [[x[index["pc", n, t]] - x[index["pd", n, t]] for t in range(n_t)] for n in range(n_veh)]
    ).reshape(n_veh, n_t)
    return Reference(True, float(result.fun), power)


def _local_slots(problem: Problem) -> tuple[list[int], list[int]]:
    """Per slot: the local minute of day it starts at, and its local day (0 = slot 0's)."""
    times = pd.date_range(
        pd.Timestamp(problem.start), periods=problem.n_slots, freq=f"{problem.slot_minutes}min"
    ).tz_convert(problem.timezone)
    first = times[0].date()
    minutes = [stamp.hour * 60 + stamp.minute for stamp in times]
    days = [(stamp.date() - first).days for stamp in times]
    return minutes, days


def _in_window(minute: int, window: tuple[int, int]) -> bool:
    start, end = window
    return start <= minute < end if start < end else minute >= start or minute < end


def _owner_slots(problem: Problem) -> tuple[list[list[bool]], list[float]]:
    """Per car and slot whether its owner allows discharging (hours, "not today"), and per car
    the SoC it is never discharged below (the reserve or the owner's higher V2G floor)."""
    fleet, n_t = problem.fleet, problem.n_slots
    rules = fleet.rules
    if rules is None:
        return [[True] * n_t for _ in range(fleet.n_vehicles)], list(fleet.soc_min)
    floors = zip(fleet.soc_min, rules.v2g_floor_soc, strict=True)
    reserve = [max(float(a), float(b)) for a, b in floors]
    if problem.start is None:
        return [[True] * n_t for _ in range(fleet.n_vehicles)], reserve
    minutes, _ = _local_slots(problem)
    start = pd.Timestamp(problem.start)
    may = []
    for n in range(fleet.n_vehicles):
        row = []
        for t in range(n_t):
            ok = not rules.discharge_hours[n] or any(
                _in_window(minutes[t], w) for w in rules.discharge_hours[n]
            )
            ok = ok and not any(_in_window(minutes[t], w) for w in rules.no_discharge_hours[n])
            until = rules.no_discharge_until[n]
            slot_start = start + pd.Timedelta(minutes=problem.slot_minutes * t)
            ok = ok and (until is None or slot_start >= pd.Timestamp(until))
            row.append(ok)
        may.append(row)
    return may, reserve


def _cap_rows(problem: Problem, index: dict, rows: list) -> None:
    """The daily cap and the weekly cycles as rows on the battery-side discharge."""
    fleet = problem.fleet
    rules = fleet.rules
    if rules is None or problem.start is None:
        return
    _, days = _local_slots(problem)
    dt = problem.dt_h
    for n in range(fleet.n_vehicles):
        per_kw = dt / float(fleet.discharge_efficiency[n])
        cap = float(rules.v2g_max_kwh_per_day[n])
        for d in sorted(set(days)):
            if np.isfinite(cap):
                left = cap - (float(rules.v2g_kwh_today[n]) if d == 0 else 0.0)
                slots = [t for t in range(problem.n_slots) if days[t] == d]
                rows.append(({index["pd", n, t]: per_kw for t in slots}, -np.inf, max(left, 0.0)))
            cycles = float(rules.max_cycles_per_week[n])
            if np.isfinite(cycles):
                # the history by day: 0 today, -1 yesterday (the last of the six past days), ..
                history = {0: float(rules.v2g_kwh_today[n])}
                for ago in range(1, 7):
                    history[-ago] = float(rules.v2g_kwh_past_days[n][6 - ago])
                given = sum(kwh for h, kwh in history.items() if d - 6 <= h <= d)
                left = cycles * float(fleet.capacity_kwh[n]) - given
                slots = [t for t in range(problem.n_slots) if d - 6 <= days[t] <= d]
                rows.append(({index["pd", n, t]: per_kw for t in slots}, -np.inf, max(left, 0.0)))


def _wear_rows(problem: Problem, n: int, index: dict, c, lo, hi, rows) -> None:
    """Segments (Xu et al.) and the dwell epigraph of vehicle n, over the whole horizon."""
    fleet = problem.fleet
    wear = fleet.wear
    if wear is None:
        return
    dt = problem.dt_h
    cap = float(fleet.capacity_kwh[n])
    segments = wear.n_segments
    if segments:
        width = cap / segments
        energy = float(fleet.soc_initial[n]) * cap
        for j in range(segments):
            # segment j covers SoC from 1 - (j + 1) / J to 1 - j / J
            start = min(max(energy - (1 - (j + 1) / segments) * cap, 0.0), width)
            first = index["seg_e", n, j, 0]
            lo[first] = hi[first] = start
            for t in range(problem.n_slots + 1):
                e = index["seg_e", n, j, t]
                if t:
                    lo[e], hi[e] = 0.0, width
            for t in range(problem.n_slots):
                sc, sd = index["seg_c", n, j, t], index["seg_d", n, j, t]
                c[sd] = wear.cycle_depth_cost_per_kwh[n, j] * dt / fleet.discharge_efficiency[n]
                rows.append(
                    (
                        {
                            index["seg_e", n, j, t + 1]: 1.0,
                            index["seg_e", n, j, t]: -1.0,
                            sc: -dt * fleet.charge_efficiency[n],
                            sd: dt / fleet.discharge_efficiency[n],
                        },
                        0.0,
                        0.0,
                    )
                )
        for t in range(problem.n_slots):
            for kind in ("c", "d"):
                link = {index[f"seg_{kind}", n, j, t]: 1.0 for j in range(segments)}
                link[index[f"p{kind}", n, t]] = -1.0
                rows.append((link, 0.0, 0.0))
    if wear.dwell_soc.size:
        points = list(zip(wear.dwell_soc, wear.dwell_cost_per_h[n], strict=True))
        for t in range(fleet.arrival_slot[n], fleet.departure_slot[n]):
            w = index["dwell", n, t]
            lo[w] = -np.inf
            c[w] = dt
            for (s0, g0), (s1, g1) in itertools.pairwise(points):
                slope = (g1 - g0) / (s1 - s0)
                rows.append(({w: 1.0, index["soc", n, t + 1]: -slope}, g0 - slope * s0, np.inf))


def _rate_rows(problem: Problem, n: int, index: dict, c, hi, rows) -> None:
    """Charge-rate bands of vehicle n: charging power = sum of band powers, each capped."""
    wear = problem.fleet.wear
    if wear is None or wear.rate_c.size == 0:
        return
    cap = float(problem.fleet.capacity_kwh[n])
    edges = [float(e) * cap for e in wear.rate_c] + [np.inf]
    for t in range(problem.n_slots):
        link = {index["pc", n, t]: -1.0}
        for b in range(wear.rate_c.size):
            band = index["band", n, t, b]
            hi[band] = edges[b + 1] - edges[b]
            c[band] = problem.dt_h * wear.rate_cost_per_kwh[n, b]
            link[band] = 1.0
        rows.append((link, 0.0, 0.0))
