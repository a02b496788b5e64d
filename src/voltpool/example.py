"""A generated example problem: homes with cars plugging in for the night behind one transformer.

It stands in for real data until the simulator's data layer drives it: the shapes (evening
household peak, day-ahead prices with a morning and an evening peak, cars home around 18:00 and
away around 07:30) are the familiar ones, the numbers are drawn from a seeded generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voltpool.model import Fleet, Problem, Site, SlotGrid, Tariff

CLOCK = SlotGrid(pd.Timestamp(0, tz="UTC"))
"""The clock's slots (only their length matters here: slot 0 is at noon of no particular day)."""
START_HOUR = 12.0
"""Slot 0 starts at noon so that a whole overnight session fits in one 24-hour horizon."""
HOMES_PER_VEHICLE = 1.5
HOUSEHOLD_KWH_PER_DAY = 8.2
"""About 3,000 kWh a year, a typical Dutch household."""
NETWORK_FEE_PER_KWH = 0.10
CAPACITY_PRICE_PER_KW_DAY = 0.15
"""A capacity tariff of about 55 per kW-year, charged on the day's highest import."""
BATTERIES_KWH = np.array([40.0, 59.0, 64.0, 77.0, 82.0])
CHARGERS_KW = np.array([7.4, 11.0])


def _bump(hours: np.ndarray, centre_h: float, width_h: float) -> np.ndarray:
    distance = (hours - centre_h + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (distance / width_h) ** 2)


def household_shape(hours: np.ndarray) -> np.ndarray:
    """Relative load of a household by hour of day: night base, morning and evening peaks."""
    return 0.35 + 0.5 * _bump(hours, 7.5, 1.2) + 1.3 * _bump(hours, 19.0, 2.0)


def day_ahead_shape_per_kwh(hours: np.ndarray) -> np.ndarray:
    """Day-ahead price by hour of day: low at night and midday (solar), high at the peaks. [/kWh]"""
    return (
        0.07
        + 0.06 * _bump(hours, 8.0, 1.5)
        + 0.12 * _bump(hours, 19.0, 1.8)
        - 0.04 * _bump(hours, 13.0, 2.0)
    )


def example_problem(
    n_vehicles: int,
    seed: int = 0,
    n_slots: int = CLOCK.slots_per_day,
    bidirectional_share: float = 0.7,
) -> Problem:
    """A neighbourhood of ``1.5 * n_vehicles`` homes and ``n_vehicles`` cars over ``n_slots``.

    The transformer is rated at the homes' peak plus 2.5 kW per car: enough for smart charging,
    not for every car charging flat out at the evening peak.
    """
    if n_vehicles < 1:
        raise ValueError(f"n_vehicles: {n_vehicles} must be >= 1")
    rng = np.random.default_rng(seed)
    dt_h = CLOCK.dt_h
    hours = (START_HOUR + dt_h * np.arange(n_slots)) % 24.0
    n_homes = int(np.ceil(HOMES_PER_VEHICLE * n_vehicles))
    shape = household_shape(hours)
    per_home_kw = shape / shape[: CLOCK.slots_per_day].mean() * HOUSEHOLD_KWH_PER_DAY / 24.0
    noise = 1.0 + 0.08 * rng.standard_normal(n_slots) / np.sqrt(n_homes / 10.0)
    base_load_kw = n_homes * per_home_kw * noise

    day_ahead = day_ahead_shape_per_kwh(hours) * (1.0 + 0.05 * rng.standard_normal(n_slots))
    import_limit_kw = float(np.ceil(base_load_kw.max() + 2.5 * n_vehicles))

    arrival = np.clip(np.rint(rng.normal(6.0 / dt_h, 1.5 / dt_h, n_vehicles)), 2, 60)
    departure_mean = (7.5 + 24.0 - START_HOUR) / dt_h
    departure = np.clip(
        np.rint(rng.normal(departure_mean, 1.0 / dt_h, n_vehicles)), arrival + 8, n_slots
    )
    charger_kw = rng.choice(CHARGERS_KW, n_vehicles, p=[0.4, 0.6])
    bidirectional = rng.random(n_vehicles) < bidirectional_share
    fleet = Fleet(
        ids=tuple(f"ev-{i + 1:04d}" for i in range(n_vehicles)),
        capacity_kwh=rng.choice(BATTERIES_KWH, n_vehicles),
        soc_initial=np.round(rng.uniform(0.2, 0.6, n_vehicles), 3),
        soc_min=np.full(n_vehicles, 0.2),
        soc_max=np.where(rng.random(n_vehicles) < 0.3, 0.9, 1.0),
        soc_target=np.full(n_vehicles, 0.8),
        arrival_slot=arrival.astype(int),
        departure_slot=np.minimum(departure, n_slots).astype(int),
        max_charge_kw=charger_kw,
        max_discharge_kw=np.where(bidirectional, charger_kw, 0.0),
        charge_efficiency=np.round(rng.uniform(0.92, 0.95, n_vehicles), 3),
        discharge_efficiency=np.round(rng.uniform(0.92, 0.95, n_vehicles), 3),
        degradation_cost_per_kwh=np.where(bidirectional, 0.03, 0.0),
    )
    return Problem(
        fleet=fleet,
        site=Site(
            base_load_kw=base_load_kw,
            import_limit_kw=import_limit_kw,
            export_limit_kw=import_limit_kw,
        ),
        tariff=Tariff(
            import_price_per_kwh=day_ahead + NETWORK_FEE_PER_KWH,
            export_price_per_kwh=day_ahead,
            peak_price_per_kw=CAPACITY_PRICE_PER_KW_DAY,
        ),
        slot_minutes=CLOCK.slot_minutes,
    )


def sunny_surplus_problem(
    n_vehicles: int,
    seed: int = 0,
    n_slots: int = 34,
    export_limit_kw: float = 10.6,
) -> Problem:
    """An adversarial day for the exact scheduler: hourly slots from 06:00, rooftop solar on
    every home far above the feeder's export limit at midday, day-ahead prices negative then,
    cars at home all day (some nearly full, some below their reserve).

    Burning surplus as conversion loss (charging and discharging one car at once) pays here,
    and cars below their reserve profit from charging above it and giving back: the LP
    relaxation breaks both rules in many car-slots, which is what the exact step must close
    within its time budget.
    """
    if n_vehicles < 1:
        raise ValueError(f"n_vehicles: {n_vehicles} must be >= 1")
    rng = np.random.default_rng(seed)
    hours = (6.0 + np.arange(n_slots)) % 24.0
    n_homes = int(np.ceil(HOMES_PER_VEHICLE * n_vehicles))
    household_kw = n_homes * HOUSEHOLD_KWH_PER_DAY / 24.0 * household_shape(hours) / 0.75
    solar_kw = n_homes * 4.0 * np.clip(np.cos((hours - 13.0) / 7.0 * np.pi / 2.0), 0.0, None)
    base_load_kw = household_kw - solar_kw * (1.0 + 0.1 * rng.standard_normal(n_slots))
    day_ahead = day_ahead_shape_per_kwh(hours) - 0.12 * _bump(hours, 13.0, 1.5)
    day_ahead = np.round(day_ahead * (1.0 + 0.1 * rng.standard_normal(n_slots)), 4)
    arrival = rng.integers(0, min(4, n_slots), n_vehicles)
    departure = np.clip(rng.integers(n_slots - 12, n_slots + 1, n_vehicles), arrival + 1, n_slots)
    charger_kw = rng.choice(CHARGERS_KW, n_vehicles, p=[0.4, 0.6])
    soc_max = np.where(rng.random(n_vehicles) < 0.5, 0.8, 1.0)
    fleet = Fleet(
        ids=tuple(f"ev-{i + 1:04d}" for i in range(n_vehicles)),
        capacity_kwh=rng.choice(BATTERIES_KWH, n_vehicles),
        soc_initial=np.round(rng.uniform(0.05, 1.0, n_vehicles) * soc_max, 3),
        soc_min=np.round(rng.uniform(0.15, 0.4, n_vehicles), 2),
        soc_max=soc_max,
        soc_target=np.round(rng.uniform(0.3, 1.0, n_vehicles) * soc_max, 2),
        arrival_slot=arrival,
        departure_slot=departure,
        max_charge_kw=charger_kw,
        max_discharge_kw=np.where(rng.random(n_vehicles) < 0.8, charger_kw, 0.0),
        charge_efficiency=np.round(rng.uniform(0.88, 0.95, n_vehicles), 3),
        discharge_efficiency=np.round(rng.uniform(0.88, 0.95, n_vehicles), 3),
        degradation_cost_per_kwh=np.round(rng.uniform(0.0, 0.03, n_vehicles), 3),
    )
    return Problem(
        fleet=fleet,
        site=Site(
            base_load_kw=np.round(base_load_kw, 2),
            import_limit_kw=float(np.ceil(household_kw.max() + 3.0 * n_vehicles)),
            export_limit_kw=export_limit_kw,
        ),
        tariff=Tariff(
            import_price_per_kwh=day_ahead + NETWORK_FEE_PER_KWH,
            export_price_per_kwh=day_ahead,
        ),
        slot_minutes=60,
    )
