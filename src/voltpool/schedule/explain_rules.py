"""Plain words for what the owner's rules (:mod:`voltpool.model.rules`) did to a plan.

One line per effect, naming the car, the time and the rule:

- ``held at 60 % from 20:15 (Mon 15 Jan): your V2G floor`` — a discharge stopped at the
  owner's floor (above the driving reserve);
- ``not discharged after 19:30 (Mon 15 Jan): your daily V2G cap of 6 kWh was reached`` — or
  ``no discharge on Mon 15 Jan: your daily V2G cap of 6 kWh was already used``;
- the same for the weekly cycles;
- ``no discharge 06:00-17:00 (Mon 15 Jan): outside your discharge hours 17:00-22:00`` (or
  the forbidden hours, or the "not today" switch) — said only where discharging would have
  paid: a slot whose price is above what the car's cheapest charging of the session costs
  after both conversions and its flat wear (a rule that costs nothing caused nothing).
"""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem
from voltpool.model.physics import true_runs
from voltpool.model.rules import in_windows, local_days, window_text
from voltpool.schedule.explain import local_time, moment, span
from voltpool.schedule.rules_lp import day_cap_kwh, week_cap_kwh

REACHED_KWH = 1e-4
"""A cap counts as reached when less than this is left of it (solver precision). [kWh]"""
DISCHARGING_KW = 1e-9


def rule_notes(problem: Problem, power_kw: np.ndarray, energy_kwh: np.ndarray) -> list[str]:
    """What the owners' rules did to the plan ``power_kw [N, T]`` (stored energy
    ``energy_kwh [N, T+1]``), in words; empty without rules."""
    fleet = problem.fleet
    rules = fleet.rules
    if rules is None:
        return []
    notes: list[str] = []
    given = np.maximum(-power_kw, 0.0) * problem.dt_h / fleet.discharge_efficiency[:, None]
    notes += _floor_notes(problem, power_kw, energy_kwh)
    if problem.clock is not None:
        notes += _cap_notes(problem, given)
        notes += _hour_notes(problem, power_kw)
    return notes


def _floor_notes(problem: Problem, power_kw: np.ndarray, energy_kwh: np.ndarray) -> list[str]:
    fleet = problem.fleet
    rules = fleet.rules
    assert rules is not None
    notes = []
    owner_floor = rules.v2g_floor_soc > fleet.soc_min
    for n, _start, end in true_runs(power_kw < -DISCHARGING_KW):
        floor_kwh = fleet.discharge_floor_soc[n] * fleet.capacity_kwh[n]
        if owner_floor[n] and energy_kwh[n, end] <= floor_kwh + REACHED_KWH:
            notes.append(
                f"{fleet.ids[n]} held at {100 * rules.v2g_floor_soc[n]:.0f} % from "
                f"{moment(problem, end)}: your V2G floor"
            )
    return notes


def _cap_notes(problem: Problem, given: np.ndarray) -> list[str]:
    fleet = problem.fleet
    rules = fleet.rules
    clock = problem.clock
    assert rules is not None and clock is not None
    day = local_days(clock, problem.timezone, problem.n_slots)
    n_days = int(day[-1]) + 1
    plugged = fleet.plugged_mask(problem.n_slots)
    daily, weekly = day_cap_kwh(problem, n_days), week_cap_kwh(problem, n_days)
    of_day = (day[:, None] == np.arange(n_days)[None, :]).astype(float)  # [T, D]
    per_day = given @ of_day  # [N, D] battery-side kWh given each local day
    present = (plugged @ of_day) > 0
    running = np.concatenate([np.zeros((fleet.n_vehicles, 1)), np.cumsum(per_day, axis=1)], 1)
    ends = np.arange(n_days) + 1
    per_week = running[:, ends] - running[:, np.maximum(ends - 7, 0)]
    daily_hit = (
        present & np.isfinite(rules.v2g_max_kwh_per_day)[:, None] & (per_day >= daily - REACHED_KWH)
    )
    weekly_hit = (
        present
        & ~daily_hit
        & np.isfinite(rules.max_cycles_per_week)[:, None]
        & (per_week >= weekly - REACHED_KWH)
    )
    notes = []
    for n, d in np.argwhere(daily_hit | weekly_hit):  # car by car, day by day
        slots = np.flatnonzero((day == d) & plugged[n])
        if daily_hit[n, d]:
            rule = f"your daily V2G cap of {rules.v2g_max_kwh_per_day[n]:g} kWh"
        else:
            cycles = rules.max_cycles_per_week[n]
            rule = (
                f"your weekly V2G limit of {cycles:g} cycles "
                f"({cycles * fleet.capacity_kwh[n]:.3g} kWh)"
            )
        notes.append(_reached(problem, int(n), slots, given, rule))
    return notes


def _reached(problem: Problem, n: int, slots: np.ndarray, given: np.ndarray, rule: str) -> str:
    """The words for a cap car ``n`` reached over ``slots`` (one local day of its session)."""
    car = problem.fleet.ids[n]
    gave = np.flatnonzero(given[n, slots] > 0)
    if not gave.size:
        stamp = local_time(problem, int(slots[0]))
        assert stamp is not None  # caps are told only with a clock
        return f"{car}: no discharge on {stamp:%a} {stamp.day} {stamp:%b}: {rule} was already used"
    after = int(slots[gave[-1]]) + 1
    return f"{car} not discharged after {moment(problem, after)}: {rule} was reached"


def _hour_notes(problem: Problem, power_kw: np.ndarray) -> list[str]:
    fleet = problem.fleet
    rules = fleet.rules
    clock = problem.clock
    assert rules is not None and clock is not None
    starts = clock.index(problem.n_slots)
    local = starts.tz_convert(problem.timezone)
    minute = np.asarray(local.hour * 60 + local.minute)
    tariff = problem.tariff
    worth = np.maximum(tariff.import_price_per_kwh, tariff.export_price_per_kwh)
    plugged = fleet.plugged_mask(problem.n_slots)
    notes = []
    for n in range(fleet.n_vehicles):
        if not (plugged[n].any() and fleet.max_discharge_kw[n] > 0):
            continue
        round_trip = fleet.charge_efficiency[n] * fleet.discharge_efficiency[n]
        cost = tariff.import_price_per_kwh[plugged[n]].min() / round_trip
        paid = plugged[n] & (worth > cost + fleet.degradation_cost_per_kwh[n] + 1e-9)
        causes = []
        if rules.no_discharge_until[n] is not None:
            before = np.asarray(starts < rules.no_discharge_until[n])
            until = moment(problem, int(before.sum())) if before.any() else ""
            causes.append((before, f"your 'not today' switch (no discharge before {until})"))
        if rules.discharge_hours[n]:
            hours = ", ".join(window_text(w) for w in rules.discharge_hours[n])
            outside = ~in_windows(minute, rules.discharge_hours[n])
            causes.append((outside, f"outside your discharge hours {hours}"))
        if rules.no_discharge_hours[n]:
            hours = ", ".join(window_text(w) for w in rules.no_discharge_hours[n])
            causes.append(
                (
                    in_windows(minute, rules.no_discharge_hours[n]),
                    f"your no-discharge hours {hours}",
                )
            )
        claimed = np.zeros(problem.n_slots, dtype=bool)
        for blocked, why in causes:
            mask = (blocked & paid & ~claimed)[None, :]
            for _, start, end in true_runs(mask):
                notes.append(f"{fleet.ids[n]}: no discharge {span(problem, start, end)}: {why}")
            claimed |= blocked
    return notes
