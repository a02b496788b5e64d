"""The backup plan in words: local clock times of its slots and the headline numbers.

The terminal (``voltpool backup run``) and the HTML page (:mod:`voltpool.report.backup`) show the
same headline; times are local to the home, ``19:30`` on the outage's first day and
``+1d 07:00`` on later days.
"""

from __future__ import annotations

import numpy as np

from voltpool.backup.home import OutageCase


def slot_clock(case: OutageCase, slot: int) -> str:
    """The local time at which ``slot`` starts (``slot = T`` is the end of the outage)."""
    timezone = case.home.timezone
    local = case.grid.time(slot).tz_convert(timezone)
    first = case.grid.origin.tz_convert(timezone)
    days = (local.normalize() - first.normalize()).days
    return local.strftime("%H:%M") if days == 0 else f"+{days}d {local:%H:%M}"


def hours_text(value: float, digits: int = 2) -> str:
    """``2.5 h``, ``6 h``: hours without trailing zeros."""
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + " h"


def _kept_on(case: OutageCase, hours: float) -> str:
    """``6 h (the whole outage)`` or ``2 h, until 19:00`` for a run of ``hours`` from the start."""
    plan = case.plan
    if hours >= plan.n_slots * plan.dt_h:
        return f"{hours_text(hours)} (the whole outage)"
    return f"{hours_text(hours)}, until {slot_clock(case, round(hours / plan.dt_h))}"


def outage_summary(case: OutageCase) -> dict[str, str]:
    """The headline numbers of an outage plan, label -> text."""
    plan = case.plan
    home = case.home
    total_h = plan.n_slots * plan.dt_h
    load_kwh = float(plan.load_kw.sum() * plan.dt_h)
    summary = {
        "Outage": f"{case.index[0].tz_convert(home.timezone):%Y-%m-%d %H:%M} to "
        f"{slot_clock(case, plan.n_slots)} ({hours_text(total_h)}, {home.timezone})",
        "House load": f"{load_kwh:.1f} kWh, peak {plan.load_kw.max():.1f} kW",
        "Everything on": _kept_on(case, plan.hours_full),
        "Critical circuits on": _kept_on(case, plan.hours_critical),
    }
    summary["Served by the cars"] = f"{plan.served_kwh:.1f} kWh"
    summary["Not served"] = (
        f"{plan.unserved_kwh:.1f} kWh (critical {plan.unserved_critical_kwh:.1f} kWh)"
    )
    order = plan.shed_order()
    if order:
        summary["Shed first"] = ", ".join(
            f"{plan.circuit_names[c]} at {slot_clock(case, plan.first_shed_slot[c])}"
            for c in order[:3]
        )
    left_kwh = np.maximum(plan.energy_kwh[:, -1] - plan.reserve_kwh, 0.0)
    helping = case.cars.max_discharge_kw > 0
    if helping.any() and plan.hours_full >= total_h:
        spare_kwh = float((left_kwh * case.cars.discharge_efficiency)[helping].sum())
        mean_kw = float(plan.load_kw.mean())
        summary["Left above the reserves"] = (
            f"{spare_kwh:.1f} kWh at the house, about {hours_text(spare_kwh / mean_kw, 1)} more "
            "at this outage's average load"
            if mean_kw > 0
            else f"{spare_kwh:.1f} kWh at the house"
        )
    return summary
