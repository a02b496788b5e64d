"""Small builders for hand-made test problems."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from voltpool.model import Fleet, Problem, Site, Tariff

VEHICLE_DEFAULTS: dict[str, Any] = {
    "capacity_kwh": 10.0,
    "soc_initial": 0.5,
    "soc_min": 0.0,
    "soc_max": 1.0,
    "soc_target": 0.5,
    "arrival_slot": 0,
    "departure_slot": 2,
    "max_charge_kw": 4.0,
    "max_discharge_kw": 4.0,
    "charge_efficiency": 1.0,
    "discharge_efficiency": 1.0,
    "degradation_cost_per_kwh": 0.0,
}


def one_site(
    vehicles: list[dict[str, Any]],
    base_load_kw: list[float],
    import_price: list[float],
    export_price: list[float] | None = None,
    import_limit_kw: float = math.inf,
    export_limit_kw: float = math.inf,
    peak_price_per_kw: float = 0.0,
    slot_minutes: int = 60,
    unmet_penalty_per_kwh: float = 100.0,
) -> Problem:
    records = [{"id": f"v{i}", **VEHICLE_DEFAULTS, **v} for i, v in enumerate(vehicles)]
    return Problem(
        fleet=Fleet.from_records(records),
        site=Site(np.asarray(base_load_kw, float), import_limit_kw, export_limit_kw),
        tariff=Tariff(
            np.asarray(import_price, float),
            None if export_price is None else np.asarray(export_price, float),
            peak_price_per_kw,
        ),
        slot_minutes=slot_minutes,
        unmet_penalty_per_kwh=unmet_penalty_per_kwh,
    )
