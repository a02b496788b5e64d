"""Hypothesis strategies: small random problems that satisfy every input rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.model.wear import BatteryWear


def random_wear(rng: np.random.Generator, n_veh: int) -> BatteryWear:
    """Convex wear costs: non-decreasing segment costs (often equal neighbours, some vehicles one
    cost throughout), a convex dwell curve (some vehicles 0)."""
    segments = int(rng.integers(2, 5))
    steps = rng.uniform(0.0, 0.08, (n_veh, segments))
    steps[:, 1:] *= rng.random((n_veh, segments - 1)) < 0.6  # equal neighbours make bands
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


RULE_STARTS = (
    ("2024-01-15T00:00:00+01:00", "Europe/Amsterdam"),
    ("2024-03-30T20:00:00+01:00", "Europe/Amsterdam"),  # over midnight into the DST day
    ("2024-03-31T00:00:00+01:00", "Europe/Amsterdam"),  # 23 local hours
    ("2024-10-26T22:00:00+02:00", "Europe/Amsterdam"),  # into the 25-hour day
    ("2024-06-01T18:00:00Z", "UTC"),
    ("2024-06-01T15:30:00+05:30", "Asia/Kolkata"),
    ("2024-11-02T21:00:00-04:00", "America/New_York"),
)
"""Starts (and zones) for problems with owners' rules: midnight, DST days, a half-hour zone."""


def random_window(rng: np.random.Generator) -> str:
    """A local window ``HH:MM-HH:MM`` on a 5-minute grid (some over midnight)."""
    start, end = rng.choice(np.arange(0, 24 * 12 + 1), 2, replace=False) * 5
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def random_rules(rng: np.random.Generator, start: pd.Timestamp, hours: float) -> dict[str, object]:
    """One car's ``rules`` block with a random subset of the owner's rules (maybe none)."""
    block: dict[str, object] = {}
    if rng.random() < 0.5:
        block["v2g_floor_soc"] = float(np.round(rng.choice([0.0, rng.uniform(0, 1), 1.0]), 2))
    if rng.random() < 0.5:
        block["v2g_max_kwh_per_day"] = float(np.round(rng.choice([0.0, rng.uniform(0, 15)]), 2))
    if rng.random() < 0.4:
        block["discharge_hours"] = [random_window(rng) for _ in range(rng.integers(1, 3))]
    if rng.random() < 0.3:
        block["no_discharge_hours"] = [random_window(rng)]
    if rng.random() < 0.3:
        offset = pd.Timedelta(minutes=int(rng.integers(-300, int(hours * 60) + 60)))
        block["no_discharge_until"] = (start + offset).isoformat()
    if rng.random() < 0.5:
        block["max_cycles_per_week"] = float(np.round(rng.uniform(0, 1.5), 2))
    if rng.random() < 0.5:
        block["v2g_kwh_today"] = float(np.round(rng.uniform(0, 10), 2))
    if rng.random() < 0.5:
        block["v2g_kwh_past_days"] = [float(v) for v in np.round(rng.uniform(0, 15, 6), 2)]
    return block


@st.composite
def ruled_problems(
    draw: st.DrawFn,
    min_vehicles: int = 2,
    max_vehicles: int = 4,
    slots: tuple[int, int] = (24, 48),
) -> Problem:
    """A small site whose cars have random owners' rules, placed in local time (a start and a
    zone from :data:`RULE_STARTS`); dear evenings and price spikes make V2G pay, so the rules
    bind."""
    from voltpool.model.rules import OwnerRules

    n_slots = draw(st.integers(*slots))
    n_veh = draw(st.integers(min_vehicles, max_vehicles))
    slot_minutes = int(draw(st.sampled_from([60, 30, 15])))
    start_text, zone = draw(st.sampled_from(RULE_STARTS))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(start_text)
    if draw(st.booleans()):  # some other hour of the day
        start += pd.Timedelta(hours=draw(st.integers(1, 23)))
    hours = n_slots * slot_minutes / 60
    local_hour = np.asarray(
        pd.date_range(start, periods=n_slots, freq=f"{slot_minutes}min").tz_convert(zone).hour
    )
    evening = (local_hour >= 17) & (local_hour < 22)
    dear = evening | (rng.random(n_slots) < 0.2)
    import_price = np.round(rng.uniform(0.05, 0.25, n_slots) + 0.3 * dear, 3)
    export_price = np.round(import_price - rng.uniform(0.0, 0.05, n_slots), 3)
    base = np.round(rng.uniform(-3.0, 8.0, n_slots), 2)
    arrival = rng.integers(0, n_slots // 2, n_veh)
    departure = np.array([rng.integers(a + 1, n_slots + 1) for a in arrival])
    soc_max = np.round(rng.uniform(0.7, 1.0, n_veh), 2)
    soc_min = np.round(rng.uniform(0.0, 0.4, n_veh), 2)
    soc_initial = np.round(rng.uniform(0.1, 1.0, n_veh) * soc_max, 2)
    soc_target = np.round(rng.uniform(0.0, 1.0, n_veh) * soc_max, 2)
    blocks = [random_rules(rng, start, hours) for _ in range(n_veh)]
    rules = OwnerRules.from_records(blocks) or OwnerRules.none(n_veh)
    fleet = Fleet(
        ids=tuple(f"v{i}" for i in range(n_veh)),
        capacity_kwh=np.round(rng.uniform(10.0, 80.0, n_veh), 1),
        soc_initial=soc_initial,
        soc_min=soc_min,
        soc_max=soc_max,
        soc_target=soc_target,
        arrival_slot=arrival,
        departure_slot=departure,
        max_charge_kw=np.round(rng.uniform(3.0, 11.0, n_veh), 1),
        max_discharge_kw=np.round(rng.uniform(3.0, 11.0, n_veh), 1),
        charge_efficiency=np.round(rng.uniform(0.85, 1.0, n_veh), 3),
        discharge_efficiency=np.round(rng.uniform(0.85, 1.0, n_veh), 3),
        degradation_cost_per_kwh=np.round(rng.uniform(0.0, 0.05, n_veh), 3),
        rules=rules,
    )
    # limits the base load alone keeps, so the reference's hard limits are always feasible
    import_limit = float(np.round(base.max() + rng.uniform(0.0, 30.0), 1))
    export_limit = float(np.round(max(0.0, -base.min()) + rng.uniform(0.0, 30.0), 1))
    return Problem(
        fleet=fleet,
        site=Site(base, import_limit, export_limit),
        tariff=Tariff(import_price, export_price, float(draw(st.sampled_from([0.0, 0.3])))),
        slot_minutes=slot_minutes,
        unmet_penalty_per_kwh=float(draw(st.sampled_from([0.5, 100.0]))),
        start=start.to_pydatetime(),
        timezone=zone,
    )
