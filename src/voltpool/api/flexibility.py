"""What a community's plugged-in cars could do for the grid now, beside what they are planned
to do: the headroom an operator (a DSO, an aggregator) can call on in this slot.

For each plugged-in car, with ``p`` its planned power now (positive: charging) [kW]:

- ``up``: it could stop giving back (``-p`` when ``p < 0``) and draw up to ``max_charge_kw``,
  while below its ``soc_max``;
- ``down``: it could draw ``p + max_discharge_kw`` less (stop charging, then give back), the
  giving part only above its floor (the owner's V2G floor, at least the driving reserve) and
  not while the owner said "no discharge" (``no_discharge_until`` ahead);
- the energy behind each: room to ``soc_max`` at the plug (``/ charge_efficiency``), and what
  lies above the floor at the plug (``* discharge_efficiency``).

``down_hours`` is how long the cars could hold ``down_kw`` from the energy above their floors
(all of it if the cars only stop charging). The physical headroom now: the owners' targets for
their departures are not held back here, the plan is what keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CarNow:
    """One plugged-in car as the planner sees it now."""

    planned_kw: float
    max_charge_kw: float
    max_discharge_kw: float
    capacity_kwh: float
    soc_now: float
    soc_min: float
    soc_max: float
    v2g_floor_soc: float
    charge_efficiency: float
    discharge_efficiency: float
    no_discharge_until: datetime | None


@dataclass(frozen=True)
class Headroom:
    cars: int
    planned_kw: float
    up_kw: float
    down_kw: float
    up_energy_kwh: float
    down_energy_kwh: float
    down_hours: float | None
    """None: ``down_kw`` is zero, or only stopped charging (held as long as it lasts)."""


def headroom(cars: list[CarNow], now: datetime) -> Headroom:
    """The community's headroom now (see the module docstring)."""
    planned = up = down = up_kwh = down_kwh = give_kw = 0.0
    for car in cars:
        planned += car.planned_kw
        up += max(-car.planned_kw, 0.0)  # stop giving back
        if car.soc_now < car.soc_max:
            up += car.max_charge_kw - max(car.planned_kw, 0.0)
            up_kwh += (car.soc_max - car.soc_now) * car.capacity_kwh / car.charge_efficiency
        floor = max(car.soc_min, car.v2g_floor_soc)
        paused = car.no_discharge_until is not None and car.no_discharge_until > now
        can_give = car.max_discharge_kw > 0 and car.soc_now > floor and not paused
        giving = car.max_discharge_kw + min(car.planned_kw, 0.0) if can_give else 0.0
        down += max(car.planned_kw, 0.0) + max(giving, 0.0)
        give_kw += max(giving, 0.0)
        if can_give:
            down_kwh += (car.soc_now - floor) * car.capacity_kwh * car.discharge_efficiency
    hours = down_kwh / give_kw if give_kw > 0 else None
    return Headroom(len(cars), planned, up, down, up_kwh, down_kwh, hours)
