"""The owners' rules (:mod:`voltpool.model.rules`) checked on a schedule, for :mod:`.verify`.

Written apart from the LP's rows (:mod:`voltpool.schedule.rules_lp`): the slots' local times
and days are recomputed here from the problem's ``start`` and ``timezone``, and every rule is
checked on the schedule's power, car by car and local day by local day:

- ``owner_rules.discharge_hours`` / ``owner_rules.no_discharge_hours`` /
  ``owner_rules.no_discharge_until``: no discharge in a slot that starts outside the car's
  allowed windows, inside a forbidden window, or before its "not today" time;
- ``owner_rules.daily_cap``: the energy that leaves the cells (``-power * dt_h / eta_d``, the
  battery side) per local day is at most the cap, less ``v2g_kwh_today`` on day 0 (never
  below 0: a cap already used up allows nothing, and is no error);
- ``owner_rules.weekly_cycles``: for every local day d of the plan, the battery-side energy of
  the plan's days ``d-6 .. d`` plus the history that lies in that rolling week (today's and the
  six past days') is at most ``max_cycles_per_week * capacity`` (or nothing more is given once
  the history alone reaches it);
- the **V2G floor** is checked by the verifier's reserve rule, with the floor of
  :func:`discharge_floor_soc` (a car discharges in a slot only if its energy after the slot is
  at least the floor): its message says "V2G floor" where the owner's floor is the higher one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from voltpool.model import Fleet, Problem

OWNER_RULES = (
    "owner_rules.discharge_hours",
    "owner_rules.no_discharge_hours",
    "owner_rules.no_discharge_until",
    "owner_rules.daily_cap",
    "owner_rules.weekly_cycles",
)
"""Rules checked on a problem whose fleet has owners' rules."""
HISTORY_DAYS = 6
"""Days of history before today in a rolling week."""


def owner_rule_names(problem: Problem) -> list[str]:
    """The rule names :func:`check_owner_rules` checks on ``problem`` (none without rules)."""
    return list(OWNER_RULES) if problem.fleet.rules is not None else []


def discharge_floor_soc(fleet: Fleet) -> np.ndarray:
    """``[N]`` the SoC V2G/V2V never discharge below: the reserve ``soc_min`` or the owner's
    ``v2g_floor_soc``, whichever is higher."""
    floor = np.asarray(fleet.soc_min, dtype=float)
    if fleet.rules is None:
        return floor
    return np.where(fleet.rules.v2g_floor_soc > floor, fleet.rules.v2g_floor_soc, floor)


def floor_label(fleet: Fleet, n: int) -> str:
    """Car ``n``'s binding discharge floor in words: ``reserve 0.2`` or ``V2G floor 0.6``."""
    rules = fleet.rules
    if rules is not None and rules.v2g_floor_soc[n] > fleet.soc_min[n]:
        return f"V2G floor {float(rules.v2g_floor_soc[n])} (the owner's)"
    return f"reserve {float(fleet.soc_min[n])}"


def check_owner_rules(
    problem: Problem, power_kw: np.ndarray, fail: Callable[[str, str, str], None]
) -> None:
    """Report through ``fail(rule, where, detail)`` every owner's rule ``power_kw`` ``[N, T]``
    breaks (see the module docstring); nothing when the fleet has no rules."""
    from voltpool.schedule.verify import POWER_TOLERANCE_KW, SOC_TOLERANCE

    fleet = problem.fleet
    rules = fleet.rules
    if rules is None or problem.start is None:  # clock rules need a start (Problem says so)
        return
    n_slots, dt_h = problem.n_slots, problem.dt_h
    power = np.asarray(power_kw, dtype=float)
    starts_utc = pd.Timestamp(problem.start).tz_convert("UTC") + pd.to_timedelta(
        np.arange(n_slots) * problem.slot_minutes, unit="min"
    )
    local = pd.DatetimeIndex(starts_utc).tz_convert(problem.timezone)
    minute = np.asarray(local.hour * 60 + local.minute)
    dates = np.asarray(local.tz_localize(None).floor("D").values.astype("datetime64[D]"))
    day = (dates - dates[0]).astype(np.int64)  # 0 = the local day slot 0 starts in
    n_days = int(day.max()) + 1 if n_slots else 0
    shown = [f"{d}" for d in dates[0] + np.arange(n_days)]
    giving = power < -POWER_TOLERANCE_KW
    battery_kwh = np.maximum(-power, 0.0) * dt_h / fleet.discharge_efficiency[:, None]

    def slot_text(t: int) -> str:
        return f"slot {t} ({local[t].strftime('%a %d %b %H:%M')})"

    # the clock rules: cars grouped by their windows (most share a few), each window set once
    for rule, windows_of, word, broken_if_inside in (
        ("owner_rules.discharge_hours", rules.discharge_hours, "outside its discharge", False),
        (
            "owner_rules.no_discharge_hours",
            rules.no_discharge_hours,
            "inside its no-discharge",
            True,
        ),
    ):
        groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for n, windows in enumerate(windows_of):
            if windows:
                groups.setdefault(windows, []).append(n)
        for windows, cars in groups.items():
            bad = giving[cars] & (_inside(minute, windows) == broken_if_inside)
            for row in np.flatnonzero(bad.any(axis=1)):
                n, t = cars[row], int(np.argmax(bad[row]))
                fail(
                    rule,
                    f"vehicle {fleet.ids[n]!r}",
                    f"discharged {-power[n, t]:.6f} kW in {slot_text(t)}, {word} hours "
                    f"{_windows_text(windows)}",
                )
    never = np.iinfo(np.int64).min
    until_ns = np.array(
        [never if u is None else pd.Timestamp(u).value for u in rules.no_discharge_until],
        dtype=np.int64,
    )
    early = giving & (np.asarray(starts_utc.as_unit("ns").asi8)[None, :] < until_ns[:, None])
    for n in np.flatnonzero(early.any(axis=1)):
        t = int(np.argmax(early[n]))
        until = pd.Timestamp(rules.no_discharge_until[n]).tz_convert(problem.timezone)
        fail(
            "owner_rules.no_discharge_until",
            f"vehicle {fleet.ids[n]!r}",
            f"discharged {-power[n, t]:.6f} kW in {slot_text(t)}, before {until.isoformat()}",
        )

    # the caps, on the battery side: [N, D] per local day, then per rolling week
    per_day = battery_kwh @ (day[:, None] == np.arange(n_days)[None, :]).astype(float)
    tolerance_kwh = SOC_TOLERANCE * fleet.capacity_kwh[:, None]
    cap = rules.v2g_max_kwh_per_day[:, None]
    used = np.zeros((fleet.n_vehicles, n_days))
    used[:, :1] = rules.v2g_kwh_today[:, None]
    daily_left = np.maximum(cap - used, 0.0)
    for n, d in zip(*np.nonzero(per_day > daily_left + tolerance_kwh), strict=True):
        fail(
            "owner_rules.daily_cap",
            f"vehicle {fleet.ids[n]!r}",
            f"discharged {per_day[n, d]:.6f} kWh (battery side) on {shown[d]}, more than the "
            f"{daily_left[n, d]:.6f} kWh its daily cap of {float(cap[n, 0])} kWh leaves"
            + (f" after {used[n, d]} kWh given earlier today" if used[n, d] else ""),
        )
    # history by day, oldest first: six days ago .. yesterday, then today (HISTORY_DAYS + 1)
    history = np.concatenate([rules.v2g_kwh_past_days, rules.v2g_kwh_today[:, None]], axis=1)
    # the week to plan day d holds history days from d - 6 on, i.e. columns d .. 6 of history
    kept = np.cumsum(history[:, ::-1], axis=1)[:, ::-1]  # kept[:, j] = history[:, j:].sum()
    before = np.zeros((fleet.n_vehicles, n_days))
    reach = min(n_days, HISTORY_DAYS + 1)
    before[:, :reach] = kept[:, :reach]
    running = np.concatenate([np.zeros((fleet.n_vehicles, 1)), np.cumsum(per_day, axis=1)], axis=1)
    ends = np.arange(n_days) + 1
    planned = running[:, ends] - running[:, np.maximum(ends - HISTORY_DAYS - 1, 0)]
    allowance = (rules.max_cycles_per_week * fleet.capacity_kwh)[:, None]
    weekly_left = np.maximum(allowance - before, 0.0)
    for n, d in zip(*np.nonzero(planned > weekly_left + tolerance_kwh), strict=True):
        fail(
            "owner_rules.weekly_cycles",
            f"vehicle {fleet.ids[n]!r}",
            f"discharged {planned[n, d]:.6f} kWh (battery side) in the week to {shown[d]}, more "
            f"than the {weekly_left[n, d]:.6f} kWh its {float(rules.max_cycles_per_week[n])} "
            f"cycles a week ({float(allowance[n, 0]):.6f} kWh) leave after "
            f"{before[n, d]:.6f} kWh already given",
        )


def _inside(minute: np.ndarray, windows: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Whether each minute of day lies in one of the windows ``[start, end)`` (a window whose
    end is before its start runs over midnight)."""
    hit = np.zeros(minute.shape, dtype=bool)
    for start, end in windows:
        if end > start:
            hit |= (start <= minute) & (minute < end)
        else:
            hit |= (minute >= start) | (minute < end)
    return hit


def _windows_text(windows: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in windows)
