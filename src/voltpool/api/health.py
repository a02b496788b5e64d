"""How a car's battery is doing, and what V2G costs it: fade so far and projected to the end
of its warranty, split into calendar and cycling, against the same car without V2G.

The input is the car's own recorded trace (:class:`~voltpool.api.store.tables.CarSlot`, the
service's last :data:`~voltpool.api.history.TRACE_DAYS` days): its state of charge at the end
of every slot, plugged in or not, and the power it was commanded. The **counterfactual** is
the same trace without V2G (:func:`without_v2g`): each stay keeps what the car gave, charging
in the same hours but stopping at the level the car left with, and never below where it
arrived; a car that left fuller for it stays that much fuller until its next stay. Both traces
go through the cell model of the car's chemistry (BLAST-Lite's laws,
:func:`voltpool.battery.fade_by_chemistry`), the recorded period repeated back to when the
battery went into service ("so far") and on to the end of the warranty ("projected", as the
simulator's health report does: :func:`voltpool.battery.health.repeat_to`). The extra fade is
valued with the one valuation of wear (:func:`voltpool.battery.valuation.value_per_fade_per_kwh`,
the pack's value per kWh of capacity lost) and divided by the energy given back over the same
years.

Assumptions, stated because they matter: the recorded days stand for the battery's whole life
(before voltpool and after); one cell temperature (the scenario default, 15 °C); commanded
power until chargers report metered energy (OCPP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from voltpool.api.history import TRACE_DAYS
from voltpool.api.store.tables import Car, CarSlot
from voltpool.battery.ageing import fade_by_chemistry
from voltpool.battery.cells import temperature_warnings
from voltpool.battery.health import repeat_to
from voltpool.battery.valuation import DEFAULT_VALUATION, value_per_fade_per_kwh
from voltpool.scenario.model import BatterySpec

MIN_RECORDED_H = 24.0
"""Hours of trace the estimate needs (one daily cycle)."""
DAYS_PER_YEAR = 365.0
FADE_FLOOR_YEARS = 1 / DAYS_PER_YEAR
"""The shortest life aged "so far" (a battery new today has a day of it)."""


@dataclass(frozen=True, eq=False)
class Trace:
    """A car's recorded slots [T], oldest first, on a gapless grid (a slot not recorded, the
    service being down, keeps the state before it, away and idle)."""

    start: datetime
    dt_h: float
    soc: np.ndarray
    """State of charge at the end of each slot. [0..1]"""
    plugged: np.ndarray
    power_kw: np.ndarray
    """Commanded AC power, + charging. [kW]"""

    @property
    def hours(self) -> float:
        return self.soc.size * self.dt_h

    def start_soc(self, car: Car) -> float:
        """The state of charge at the start of the first slot (before its power)."""
        kw = float(self.power_kw[0])
        energy = (
            kw * self.dt_h * (car.charge_efficiency if kw > 0 else 1 / car.discharge_efficiency)
        )
        return float(np.clip(self.soc[0] - energy / car.capacity_kwh, 0.0, 1.0))


def both_traces(trace: Trace, car: Car) -> np.ndarray:
    """``[2, T+1]``: the recorded state of charge and the one without V2G, from the start of
    the first slot to the end of the last (what the cell models take)."""
    start = trace.start_soc(car)
    return np.vstack([np.r_[start, trace.soc], np.r_[start, without_v2g(trace, car)]])


def read_trace(db: Session, car_id: str, now: datetime, slot_minutes: int) -> Trace | None:
    """The car's recorded trace of the last :data:`TRACE_DAYS` days, None when there is none."""
    rows = db.execute(
        sa.select(CarSlot.slot_start, CarSlot.soc, CarSlot.plugged, CarSlot.power_kw)
        .where(CarSlot.car_id == car_id, CarSlot.slot_start >= now - timedelta(TRACE_DAYS))
        .order_by(CarSlot.slot_start)
    ).all()
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["start", "soc", "plugged", "power_kw"])
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    grid = pd.date_range(frame["start"].iloc[0], frame["start"].iloc[-1], freq=f"{slot_minutes}min")
    frame = frame.set_index("start").reindex(grid)
    return Trace(
        start=grid[0].to_pydatetime(),
        dt_h=slot_minutes / 60,
        soc=frame["soc"].ffill().to_numpy(dtype=float),
        plugged=frame["plugged"].fillna(False).to_numpy(dtype=bool),
        power_kw=frame["power_kw"].fillna(0.0).to_numpy(dtype=float),
    )


def without_v2g(trace: Trace, car: Car) -> np.ndarray:
    """The trace's state of charge without its discharges (see the module docstring). [T]"""
    given = np.where(trace.power_kw < 0, -trace.power_kw * trace.dt_h / car.discharge_efficiency, 0)
    taken = np.where(trace.power_kw > 0, trace.power_kw * trace.dt_h * car.charge_efficiency, 0)
    soc, plugged = trace.soc, trace.plugged
    before = soc - (taken - given) / car.capacity_kwh  # each slot's state of charge at its start
    result = soc.copy()
    offset = 0.0
    k = 0
    while k < soc.size:
        if not plugged[k]:
            result[k] = soc[k] + offset
            k += 1
            continue
        end = k + int(np.argmin(plugged[k:])) if not plugged[k:].all() else soc.size
        arrived = before[k] + offset
        kept = np.cumsum(given[k:end]) / car.capacity_kwh
        result[k:end] = np.minimum(soc[k:end] + kept + offset, max(arrived, soc[end - 1]))
        offset = result[end - 1] - soc[end - 1]
        k = end
    return np.clip(result, 0.0, 1.0)


@dataclass(frozen=True)
class Battery:
    """How the service values a battery's wear: the scenario's ``[battery]`` defaults."""

    pack_value_per_kwh: float
    end_of_life_capacity: float
    temperature_c: float
    warranty_years: float

    @classmethod
    def default(cls) -> Battery:
        spec = BatterySpec()
        return cls(
            spec.pack_value_per_kwh,
            spec.end_of_life_capacity,
            spec.temperature_c,
            spec.warranty_years,
        )


@dataclass(frozen=True)
class Outlook:
    """Fade of the car with and without V2G after ``years`` (index 0: with, 1: without)."""

    years: float
    loss_calendar: np.ndarray
    loss_cycling: np.ndarray

    @property
    def capacity(self) -> np.ndarray:
        return 1.0 - self.loss_calendar - self.loss_cycling


def outlook(
    chemistry: str, traces: np.ndarray, dt_h: float, years: float, temperature_c: float
) -> Outlook:
    """Both traces ``[2, T]`` repeated for ``years`` through the chemistry's cell model."""
    time_s, soc = repeat_to(traces, dt_h, years)
    fade = fade_by_chemistry(np.array([chemistry] * 2), time_s, soc, temperature_c, daily=False)
    return Outlook(years, fade.loss_calendar, fade.loss_cycling)


def battery_age_years(car: Car, now: datetime) -> float:
    since: date = car.battery_since or car.created_at.astimezone(UTC).date()
    return max((now.date() - since).days / DAYS_PER_YEAR, FADE_FLOOR_YEARS)


@dataclass(frozen=True)
class CarHealth:
    """The estimate for one car (see the module docstring); money in EUR."""

    trace: Trace
    age_years: float
    battery: Battery
    so_far: Outlook
    projected: Outlook
    v2g_kwh_recorded: float
    """AC energy the car gave in the recorded period (V2G and V2V). [kWh]"""
    value_per_fade_per_kwh: float
    warnings: tuple[str, ...]

    def v2g_cost_eur(self, outlook: Outlook, capacity_kwh: float) -> float:
        """What V2G's extra fade over ``outlook.years`` costs (0 when V2G added none)."""
        extra = max(float(outlook.capacity[1] - outlook.capacity[0]), 0.0)
        return extra * capacity_kwh * self.value_per_fade_per_kwh

    def v2g_kwh_over(self, years: float) -> float:
        """The recorded V2G energy repeated over ``years``. [kWh]"""
        return self.v2g_kwh_recorded * years * DAYS_PER_YEAR * 24 / self.trace.hours


def car_health(car: Car, trace: Trace, now: datetime, battery: Battery) -> CarHealth:
    """Age ``car``'s recorded ``trace`` with and without its V2G (see the module docstring)."""
    traces = both_traces(trace, car)
    age = battery_age_years(car, now)
    return CarHealth(
        trace=trace,
        age_years=age,
        battery=battery,
        so_far=outlook(car.chemistry, traces, trace.dt_h, age, battery.temperature_c),
        projected=outlook(
            car.chemistry,
            traces,
            trace.dt_h,
            max(battery.warranty_years, age),
            battery.temperature_c,
        ),
        v2g_kwh_recorded=float(np.maximum(-trace.power_kw, 0.0).sum() * trace.dt_h),
        value_per_fade_per_kwh=value_per_fade_per_kwh(
            battery.pack_value_per_kwh, battery.end_of_life_capacity, DEFAULT_VALUATION
        ),
        warnings=temperature_warnings([car.chemistry], battery.temperature_c),
    )


@dataclass(frozen=True)
class FleetCar:
    """One car of :func:`fleet_health`: its capacity now and at the end of the warranty,
    with and without V2G, and the V2G cost by then (EUR) per kWh given back."""

    car: Car
    age_years: float
    capacity_now: float
    capacity_at_warranty: float
    capacity_at_warranty_without_v2g: float
    v2g_cost_eur: float
    v2g_kwh_to_warranty: float


def fleet_health(cars: list[tuple[Car, Trace]], now: datetime, battery: Battery) -> list[FleetCar]:
    """Every car's outlook in one pass of the cell models per trace length (a car's daily
    capacity read at its own age and at the warranty's end)."""
    value = value_per_fade_per_kwh(
        battery.pack_value_per_kwh, battery.end_of_life_capacity, DEFAULT_VALUATION
    )
    groups: dict[int, list[tuple[Car, Trace]]] = {}
    for car, trace in cars:
        groups.setdefault(trace.soc.size, []).append((car, trace))
    found: dict[str, FleetCar] = {}
    for group in groups.values():
        ages = [battery_age_years(car, now) for car, _ in group]
        years = max(battery.warranty_years, *ages)
        traces = np.vstack([both_traces(t, car) for car, t in group])
        chemistry = np.array([car.chemistry for car, _ in group for _ in range(2)])
        time_s, soc = repeat_to(traces, group[0][1].dt_h, years)
        fade = fade_by_chemistry(chemistry, time_s, soc, battery.temperature_c, daily=True)
        assert fade.daily_capacity is not None
        daily = np.hstack([np.ones((traces.shape[0], 1)), fade.daily_capacity])
        last = daily.shape[1] - 1
        at_warranty = min(round(battery.warranty_years * DAYS_PER_YEAR), last)
        for i, ((car, trace), age) in enumerate(zip(group, ages, strict=True)):
            with_v2g, without = daily[2 * i], daily[2 * i + 1]
            given_kwh = float(np.maximum(-trace.power_kw, 0.0).sum() * trace.dt_h)
            extra = max(float(without[at_warranty] - with_v2g[at_warranty]), 0.0)
            found[car.id] = FleetCar(
                car=car,
                age_years=age,
                capacity_now=float(with_v2g[min(round(age * DAYS_PER_YEAR), last)]),
                capacity_at_warranty=float(with_v2g[at_warranty]),
                capacity_at_warranty_without_v2g=float(without[at_warranty]),
                v2g_cost_eur=extra * car.capacity_kwh * value,
                v2g_kwh_to_warranty=given_kwh
                * battery.warranty_years
                * DAYS_PER_YEAR
                * 24
                / trace.hours,
            )
    return [found[car.id] for car, _ in cars]
