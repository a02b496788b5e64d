"""Hypothesis strategies: small random problems that satisfy every input rule."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.model.wear import BatteryWear


def random_wear(rng: np.random.Generator, n_veh: int) -> BatteryWear:
    """Convex wear costs: non-decreasing segment costs, a convex dwell curve (some vehicles 0)."""
    segments = int(rng.integers(2, 5))
    steps = rng.uniform(0.0, 0.08, (n_veh, segments))
    cycle = np.round(np.cumsum(steps, axis=1), 4) * (rng.random((n_veh, 1)) < 0.8)
    soc = np.array([0.0, 0.5, 0.8, 1.0])
    slopes = np.cumsum(rng.uniform(0.0, 0.02, (n_veh, 3)), axis=1)
    dwell = np.concatenate(
        [np.zeros((n_veh, 1)), np.cumsum(slopes * np.diff(soc), axis=1)], axis=1
    ) * (rng.random((n_veh, 1)) < 0.8)
    rate_c = np.array([0.0, 0.1, 0.25])
    rate_cost = np.round(np.cumsum(rng.uniform(0.0, 0.05, (n_veh, 3)), axis=1), 4)
    rate_cost *= rng.random((n_veh, 1)) < 0.7
    return BatteryWear(cycle, soc, np.round(dwell, 6), rate_c, rate_cost)


@st.composite
def problems(
    draw: st.DrawFn,
    max_vehicles: int = 3,
    max_slots: int = 8,
    negative_prices: bool = False,
    limits: bool = True,
    wear: bool = False,
) -> Problem:
    n_slots = draw(st.integers(1, max_slots))
    n_veh = draw(st.integers(1, max_vehicles))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    low_price = -0.1 if negative_prices else 0.0
    import_price = np.round(rng.uniform(low_price, 0.4, n_slots), 3)
    export_price = np.round(import_price - rng.uniform(0.0, 0.1, n_slots), 3)
    base = np.round(rng.uniform(-5.0, 20.0, n_slots), 2)
    arrival = rng.integers(0, n_slots, n_veh)
    departure = np.array([rng.integers(a + 1, n_slots + 1) for a in arrival])
    soc_max = np.round(rng.uniform(0.6, 1.0, n_veh), 2)
    soc_min = np.round(rng.uniform(0.0, 0.5, n_veh), 2)
    soc_initial = np.round(rng.uniform(0.0, 1.0, n_veh) * soc_max, 2)
    soc_target = np.round(rng.uniform(0.0, 1.0, n_veh) * soc_max, 2)
    max_charge = np.round(rng.uniform(0.0, 22.0, n_veh), 1)
    bidirectional = rng.random(n_veh) < 0.7
    fleet = Fleet(
        ids=tuple(f"v{i}" for i in range(n_veh)),
        capacity_kwh=np.round(rng.uniform(10.0, 90.0, n_veh), 1),
        soc_initial=soc_initial,
        soc_min=soc_min,
        soc_max=soc_max,
        soc_target=soc_target,
        arrival_slot=arrival,
        departure_slot=departure,
        max_charge_kw=max_charge,
        max_discharge_kw=np.where(bidirectional, np.round(rng.uniform(0.0, 22.0, n_veh), 1), 0.0),
        charge_efficiency=np.round(rng.uniform(0.8, 1.0, n_veh), 3),
        discharge_efficiency=np.round(rng.uniform(0.8, 1.0, n_veh), 3),
        degradation_cost_per_kwh=np.round(rng.uniform(0.0, 0.1, n_veh), 3),
        wear=random_wear(rng, n_veh) if wear else None,
    )
    use_limits = limits and draw(st.booleans())
    import_limit = (
        float(np.round(max(0.0, base.max() + rng.uniform(-8.0, 30.0)), 1)) if use_limits else np.inf
    )
    export_limit = (
        float(np.round(max(0.0, -base.min() + rng.uniform(-5.0, 30.0)), 1))
        if use_limits
        else np.inf
    )
    return Problem(
        fleet=fleet,
        site=Site(base, import_limit, export_limit),
        tariff=Tariff(
            import_price,
            export_price,
            float(draw(st.sampled_from([0.0, 0.5]))),
            float(draw(st.sampled_from([0.0, 8.0]))),
        ),
        slot_minutes=int(draw(st.sampled_from([15, 30, 60]))),
        unmet_penalty_per_kwh=float(draw(st.sampled_from([0.2, 5.0, 100.0]))),
    )
