"""V2H backup: the outage MILP (invariants, lexicographic order, brute-force optimality), the
overload planner on the one scheduler, and the home file's validation."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltpool.backup import (
    Car,
    Circuit,
    Home,
    House,
    Window,
    circuit_tiers,
    plan_home_outage,
    plan_home_overload,
    plan_outage,
    plan_overload,
    reserve_kwh_from,
)
from voltpool.backup.outage import OutagePlan, slot_discount
from voltpool.errors import ProblemError
from voltpool.files.home import home_from_dict, load_home
from voltpool.model import DEFAULT_DISCHARGE_EFFICIENCY
from voltpool.schedule import verify

TOL = 1e-6


def random_outage(seed: int, max_c: int = 4, max_t: int = 12, max_n: int = 3) -> dict[str, Any]:
    """A random islanded house: some idle circuits, cars below reserve, away or one-way."""
    rng = np.random.default_rng(seed)
    n_c = int(rng.integers(1, max_c + 1))
    n_t = int(rng.integers(1, max_t + 1))
    n_v = int(rng.integers(0, max_n + 1))
    load = np.round(rng.uniform(0.0, 3.0, (n_c, n_t)), 2) * (rng.random((n_c, n_t)) < 0.85)
    energy = np.round(rng.uniform(0.0, 20.0, n_v), 2)
    return {
        "circuit_load_kw": load,
        "critical": rng.random(n_c) < 0.4,
        "priority": rng.integers(0, 3, n_c),
        "energy_kwh": energy,
        "reserve_kwh": np.round(rng.uniform(0.0, 12.0, n_v), 2),
        "max_discharge_kw": np.round(rng.uniform(0.0, 6.0, n_v) * (rng.random(n_v) < 0.8), 1),
        "discharge_efficiency": np.round(rng.uniform(0.8, 1.0, n_v), 2),
        "dt_h": float(rng.choice([0.25, 0.5, 1.0])),
        "available": rng.random((n_v, n_t)) < 0.8,
    }


def check_invariants(plan: OutagePlan, case: dict[str, Any]) -> None:
    load = case["circuit_load_kw"]
    dt_h = case["dt_h"]
    energy0 = case["energy_kwh"]
    reserve = case["reserve_kwh"]
    eta = case["discharge_efficiency"]
    limit = case["max_discharge_kw"][:, None] * case["available"]
    assert plan.on.dtype == np.bool_ and plan.on.shape == load.shape
    # house load = served + shed, per slot and per circuit
    np.testing.assert_allclose(plan.served_kw + plan.shed_kw, load.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(plan.served_kw, (load * plan.on).sum(axis=0), atol=1e-12)
    # served = the cars' AC discharge; nothing charges (discharge is negative:
    # docs/conventions.md, "Signs")
    assert (plan.power_kw <= 0).all()
    np.testing.assert_allclose(plan.served_kw, plan.discharge_kw.sum(axis=0), atol=TOL)
    assert (plan.discharge_kw <= limit + TOL).all()
    # battery: e[t] - e[t+1] = AC * dt / eta, never below the reserve
    drop = plan.energy_kwh[:, :-1] - plan.energy_kwh[:, 1:]
    np.testing.assert_allclose(drop, plan.discharge_kw * dt_h / eta[:, None], atol=1e-9)
    np.testing.assert_allclose(plan.energy_kwh[:, 0], energy0)
    floor = np.minimum(reserve, energy0)
    assert (plan.energy_kwh >= floor[:, None] - TOL).all()
    below = energy0 <= reserve
    assert (plan.discharge_kw[below] == 0).all()
    # summaries agree with the arrays
    assert plan.unserved_kwh == pytest.approx(plan.shed_kw.sum() * dt_h)
    back = plan.if_grid_returns(plan.n_slots)
    assert back.served_kwh == pytest.approx(plan.served_kwh)
    assert back.shed_kwh == pytest.approx(plan.unserved_kwh)
    assert plan.if_grid_returns(0).served_kwh == 0
    assert plan.hours_full <= plan.hours_critical or not plan.critical.any()


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_outage_invariants_on_random_houses(seed: int) -> None:
    case = random_outage(seed)
    plan = plan_outage(**case)
    check_invariants(plan, case)
    assert plan.solver.status == "optimal"


def reference_scores(case: dict[str, Any], time_discount: float) -> tuple[np.ndarray, np.ndarray]:
    """Brute force, no solver: every on/off pattern, feasibility by the max-flow min-cut rule,
    then the lexicographic maximum of each tier's run (slots on from the start), then its
    discounted served energy, tier by tier. Returns (runs, scores) of the best pattern.

    Cars give at most ``A[n] = (energy - reserve) * eta`` kWh at the AC side and
    ``P[n, t] * dt`` per slot; served energies ``s[t] * dt`` can be met iff for every set S of
    slots ``sum_{t in S} s[t] dt <= sum_n min(A[n], sum_{t in S} P[n, t] dt)`` (the cut of the
    transport network source -> car -> slot -> sink).
    """
    load = case["circuit_load_kw"]
    dt_h = case["dt_h"]
    n_c, n_t = load.shape
    budget = np.maximum(case["energy_kwh"] - case["reserve_kwh"], 0.0)
    supply = budget * case["discharge_efficiency"]
    power = case["max_discharge_kw"][:, None] * case["available"] * (budget > 0)[:, None]
    cells = np.flatnonzero(load.reshape(-1) > 0)
    patterns = np.array(list(itertools.product((0, 1), repeat=cells.size)), dtype=float)
    on = np.ones((patterns.shape[0], n_c * n_t))
    on[:, cells] = patterns
    on = on.reshape(-1, n_c, n_t)
    served = (on * load).sum(axis=1) * dt_h  # [P, T] kWh
    subsets = np.array(list(itertools.product((0, 1), repeat=n_t)), dtype=float)  # [S, T]
    cut = np.minimum(supply[:, None], (power * dt_h) @ subsets.T).sum(axis=0)  # [S]
    feasible = (served @ subsets.T <= cut + 1e-9).all(axis=1)
    # tiers: critical first, then higher priority first (independent of circuit_tiers)
    ranks = [(not c, -int(p)) for c, p in zip(case["critical"], case["priority"], strict=True)]
    keys = sorted(set(ranks))
    tier = np.array([keys.index(rank) for rank in ranks])
    weight = load * dt_h * (1 - time_discount * np.arange(n_t) / n_t)
    tiers = range(len(keys))
    scores = np.stack(
        [(on[:, tier == k] * weight[tier == k]).sum(axis=(1, 2)) for k in tiers], axis=1
    )[feasible]
    all_on = [(on[:, tier == k] > 0.5).all(axis=1) for k in tiers]  # [P, T] per tier
    runs = np.stack([np.cumprod(o, axis=1).sum(axis=1) for o in all_on], axis=1)[feasible]
    for k in tiers:
        keep = runs[:, k] == runs[:, k].max()
        runs, scores = runs[keep], scores[keep]
        keep = scores[:, k] >= scores[:, k].max() - 1e-7
        runs, scores = runs[keep], scores[keep]
    return runs[0], scores[0]


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1))
def test_outage_matches_brute_force_on_small_houses(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c = int(rng.integers(2, 4))
    n_t = int(rng.integers(3, 6 if n_c == 2 else 5))
    n_v = int(rng.integers(1, 3))
    case = {
        "circuit_load_kw": np.round(rng.uniform(0.1, 3.0, (n_c, n_t)), 2)
        * (rng.random((n_c, n_t)) < 0.9),
        "critical": rng.random(n_c) < 0.4,
        "priority": rng.integers(0, 3, n_c),
        "energy_kwh": np.round(rng.uniform(1.0, 8.0, n_v), 2),
        "reserve_kwh": np.round(rng.uniform(0.0, 2.0, n_v), 2),
        "max_discharge_kw": np.round(rng.uniform(1.0, 6.0, n_v), 1),
        "discharge_efficiency": np.round(rng.uniform(0.8, 1.0, n_v), 2),
        "dt_h": 1.0,
        "available": rng.random((n_v, n_t)) < 0.85,
    }
    plan = plan_outage(**case)
    runs, scores = reference_scores(case, plan.solver.time_discount)
    np.testing.assert_array_equal(plan.level_runs(), runs)
    np.testing.assert_allclose(plan.level_scores(), scores, rtol=1e-6, atol=1e-6)
    check_invariants(plan, case)


def one_car(energy_kwh: float, reserve_kwh: float = 0.0, max_kw: float = 100.0) -> dict[str, Any]:
    return {
        "energy_kwh": np.array([energy_kwh]),
        "reserve_kwh": np.array([reserve_kwh]),
        "max_discharge_kw": np.array([max_kw]),
        "discharge_efficiency": np.array([1.0]),
        "dt_h": 1.0,
    }


def test_critical_circuits_are_kept_longer_than_the_rest() -> None:
    load = np.ones((2, 8))
    # the non-critical circuit has the higher priority number, but class comes first
    plan = plan_outage(load, np.array([False, True]), np.array([9, 0]), **one_car(10.0))
    assert plan.on[1].all()
    assert plan.on[0].tolist() == [True] * 2 + [False] * 6
    assert plan.hours_critical == 8 and plan.hours_full == 2
    assert plan.first_shed_slot.tolist() == [2, -1]
    assert plan.unserved_critical_kwh == 0 and plan.unserved_kwh == pytest.approx(6.0)


def test_lower_priority_is_shed_first() -> None:
    load = np.ones((3, 4))
    plan = plan_outage(load, np.zeros(3, bool), np.array([1, 2, 3]), **one_car(7.0))
    assert plan.first_shed_slot.tolist() == [0, 3, -1]
    assert plan.on.sum(axis=1).tolist() == [0, 3, 4]
    assert plan.shed_order() == [0, 1]
    assert circuit_tiers(np.zeros(3, bool), np.array([1, 2, 3])).tolist() == [2, 1, 0]


def test_tiers_are_lexicographic_not_a_weighted_trade() -> None:
    """A tiny critical load beats a big heater even when the heater would serve far more kWh
    (any fixed weight ratio below ~500 would run the heater for an hour instead)."""
    load = np.vstack([np.full(10, 0.001), np.full(10, 5.0)])
    plan = plan_outage(load, np.array([True, False]), np.array([0, 0]), **one_car(5.005))
    assert plan.on[0].all() and not plan.on[1].any()
    # the same house with the heater ranked first: one hour of heat, the router gets the rest
    heater_first = plan_outage(load, np.array([False, False]), np.array([0, 1]), **one_car(5.005))
    assert heater_first.on[1].tolist() == [True] + [False] * 9
    assert heater_first.on[0].tolist() == [True] * 5 + [False] * 5


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1))
def test_coverage_is_a_run_from_the_start(seed: int) -> None:
    """Constant loads, power to spare: every circuit is on for a run from slot 0 (energy used
    early is never wasted), and a more important tier never loses a slot to a lesser one."""
    rng = np.random.default_rng(seed)
    n_c, n_t = int(rng.integers(1, 5)), int(rng.integers(2, 25))
    load = np.repeat(np.round(rng.uniform(0.1, 2.0, (n_c, 1)), 2), n_t, axis=1)
    critical = rng.random(n_c) < 0.4
    priority = rng.integers(0, 4, n_c)
    energy = float(rng.uniform(0.0, 1.2) * load.sum() * 0.25)
    case = one_car(energy, 0.0, 100.0) | {"dt_h": 0.25}
    plan = plan_outage(load, critical, priority, **case)
    for c in range(n_c):
        run = int(plan.on[c].sum())
        assert plan.on[c, :run].all(), plan.on.astype(int)
    left = energy - plan.served_kwh
    tier = plan.tier
    for c in range(n_c):
        if not plan.on[c].all():
            # whatever is left cannot carry one more slot of this circuit, even by shedding
            # every circuit of a lower tier
            lower = plan.served_circuit_kw[tier > tier[c]].sum() * 0.25
            assert left + lower < load[c, 0] * 0.25 + 1e-9


def test_time_discount_serves_earlier_slots_first() -> None:
    load = np.array([[1.0, 1.0, 1.0, 1.0]])
    plan = plan_outage(load, np.array([True]), np.array([0]), **one_car(2.5))
    assert plan.on[0].tolist() == [True, True, False, False]
    assert plan.hours_full == 2 and plan.reserve_stop_slot.tolist() == [-1]


def test_the_house_stays_on_from_the_start_before_energy_is_packed_later() -> None:
    """3 kWh: the dear first hour (2 kWh) and then darkness, not darkness now and the two cheaper
    hours after it (3 kWh served, but the house goes dark the moment the grid fails)."""
    load = np.array([[2.0, 1.5, 1.5]])
    plan = plan_outage(load, np.array([False]), np.array([0]), **one_car(3.0))
    assert plan.on[0].tolist() == [True, False, False]
    assert plan.hours_full == 1 and plan.served_kwh == pytest.approx(2.0)


def test_reserve_availability_and_efficiency() -> None:
    load = np.full((1, 6), 2.0)
    cars = {
        "energy_kwh": np.array([20.0, 5.0, 30.0]),
        "reserve_kwh": np.array([10.0, 8.0, 0.0]),  # the second car starts below its reserve
        "max_discharge_kw": np.array([11.0, 11.0, 0.0]),  # the third is one-way
        "discharge_efficiency": np.array([0.9, 0.9, 0.9]),
        "dt_h": 1.0,
    }
    available = np.ones((3, 6), bool)
    available[0, :2] = False  # the first comes home after two hours
    plan = plan_outage(load, np.array([True]), np.array([0]), available=available, **cars)
    assert plan.on[0].tolist() == [False, False, True, True, True, True]
    assert plan.hours_full == 0 and plan.hours_critical == 0
    assert (plan.discharge_kw[1:] == 0).all()
    assert plan.energy_kwh[0, -1] == pytest.approx(20 - 8 / 0.9)
    # 9 kWh usable x 0.9 = 8.1 kWh: four 2 kWh slots; the car stays 0.1 kWh above its reserve
    assert plan.reserve_stop_slot.tolist() == [-1, 0, -1]
    back = plan.if_grid_returns(3, consumption_kwh_per_km=0.2)
    assert back.served_kwh == pytest.approx(2.0)
    assert back.range_km is not None
    np.testing.assert_allclose(back.range_km, back.energy_kwh / 0.2)
    np.testing.assert_allclose(back.usable_kwh, [20 - 2 / 0.9 - 10, 0.0, 30.0])
    assert not back.nothing_shed and not back.critical_kept
    with pytest.raises(ProblemError, match="slot"):
        plan.if_grid_returns(7)


def test_outage_reaches_the_reserve_exactly() -> None:
    plan = plan_outage(
        np.full((1, 4), 1.0), np.array([True]), np.array([0]), **one_car(3.0, reserve_kwh=1.0)
    )
    assert plan.on[0].tolist() == [True, True, False, False]
    assert plan.reserve_stop_slot.tolist() == [2]
    assert plan.if_grid_returns(4).usable_kwh[0] == pytest.approx(0.0)


def test_outage_discount_weights() -> None:
    np.testing.assert_allclose(slot_discount(4, 0.05), [1.0, 0.9875, 0.975, 0.9625])


def test_outage_input_errors_name_the_field() -> None:
    good = {
        "circuit_load_kw": np.ones((2, 3)),
        "critical": np.array([True, False]),
        "priority": np.array([0, 1]),
        **one_car(5.0),
    }
    cases = [
        ({"circuit_load_kw": np.array([[1.0, -1.0, 1.0], [1, 1, 1]])}, "circuit_load_kw[0, 1]"),
        ({"priority": np.array([0])}, "priority"),
        ({"reserve_kwh": np.array([-1.0])}, "reserve_kwh[0]"),
        ({"discharge_efficiency": np.array([1.5])}, "discharge_efficiency[0]"),
        ({"dt_h": 0.0}, "dt_h"),
        ({"available": np.ones((1, 2), bool)}, "available"),
        ({"circuit_names": ("a", "a")}, "circuit_names"),
    ]
    for change, field in cases:
        with pytest.raises(ProblemError) as caught:
            plan_outage(**(good | change))
        assert caught.value.issues[0].field == field


def test_reserve_from_soc_and_range() -> None:
    np.testing.assert_allclose(
        reserve_kwh_from(np.array([77.0, 50.0]), 0.1, np.array([50.0, 100.0]), 0.18),
        [9.0, 18.0],
    )
    assert reserve_kwh_from(60.0)[0] == 0
    with pytest.raises(ProblemError) as caught:
        reserve_kwh_from(20.0, min_range_km=200, consumption_kwh_per_km=0.18)
    assert caught.value.issues[0].field == "min_range_km"
    assert "capacity_kwh" in caught.value.issues[0].rule
    with pytest.raises(ProblemError, match="consumption_kwh_per_km"):
        reserve_kwh_from(20.0, min_range_km=50)
    with pytest.raises(ProblemError, match=r"soc_min\[1\]"):
        reserve_kwh_from(np.array([20.0, 30.0]), np.array([0.2, 1.5]))


# ----------------------------------------------------------------------------- overload


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1))
def test_overload_keeps_the_limit_when_the_cars_can(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(2, 17))
    limit = float(rng.uniform(3.0, 8.0))
    peak_kw = float(rng.uniform(0.0, 6.0))
    load = np.round(rng.uniform(0.2, 1.0, n_t) * limit + rng.uniform(0, peak_kw, n_t), 2)
    excess_kwh = np.maximum(load - limit, 0.0).sum() * 0.25
    eta = 0.9
    reserve = float(rng.uniform(5.0, 20.0))
    energy = reserve + excess_kwh / eta + float(rng.uniform(0.0, 3.0))
    plan = plan_overload(
        load,
        limit,
        np.array([77.0, 50.0]),
        np.array([energy, 30.0]),
        np.array([reserve, 10.0]),
        np.array([11.0, 7.4]),
        np.array([peak_kw + 0.1, 0.0]),
        target_kwh=np.array([energy, float(rng.uniform(30.0, 50.0))]),
        charge_efficiency=eta,
        discharge_efficiency=eta,
    )
    assert plan.schedule.method == "lp"
    assert (plan.import_kw <= limit + 1e-6).all()
    assert plan.excess_kwh == pytest.approx(0.0, abs=1e-6) and plan.excess_slots.size == 0
    assert (plan.energy_kwh >= np.array([[reserve], [10.0]]) - 1e-6).all()
    assert plan.v2h_kwh >= excess_kwh - 1e-6
    assert plan.excess_without_cars_kwh == pytest.approx(excess_kwh)
    assert verify(plan.problem, plan.schedule, check_site_limits=False).ok


def test_overload_reports_what_the_cars_cannot_cover() -> None:
    load = np.array([3.0, 9.0, 9.0, 3.0])
    plan = plan_overload(
        load,
        5.0,
        np.array([60.0]),
        np.array([12.0]),
        np.array([10.0]),
        np.array([11.0]),
        np.array([3.0]),
        discharge_efficiency=1.0,
        charge_efficiency=1.0,
    )
    # 4 kW over the limit in slots 1 and 2, the car gives at most 3 kW: 1 kW stays over
    assert plan.excess_slots.tolist() == [1, 2]
    np.testing.assert_allclose(plan.excess_kw, [0.0, 1.0, 1.0, 0.0], atol=1e-9)
    assert plan.excess_kwh == pytest.approx(0.5)
    assert plan.energy_kwh.min() >= 10.0 - 1e-9
    assert plan.v2h_kwh == pytest.approx(1.5)
    assert any("import limit 5 kW exceeded in 2 slot(s)" in note for note in plan.notes)


def test_overload_input_errors() -> None:
    args = (np.ones(4), 5.0, np.array([60.0]), np.array([30.0]))
    with pytest.raises(ProblemError) as caught:
        plan_overload(*args, np.array([70.0]), np.array([11.0]), np.array([11.0]))
    assert caught.value.issues[0].field == "reserve_kwh[0]"
    with pytest.raises(ProblemError) as caught:
        plan_overload(*args, np.array([5.0]), np.array([11.0]), np.array([-1.0]))
    assert "max_discharge_kw" in caught.value.issues[0].field


# ----------------------------------------------------------------------------- home file


def test_builtin_home_plans_the_evening() -> None:
    home = load_home("home")
    case = plan_home_outage(home)
    plan = case.plan
    assert plan.n_slots == 24 and plan.n_circuits == 6 and plan.n_vehicles == 2
    assert plan.hours_full == 6.0 and plan.unserved_kwh == 0
    assert (plan.discharge_kw[1] == 0).all()  # the one-way car
    assert not case.available[1, :6].any() and case.available[1, 6:].all()  # home at 18:30
    assert plan.reserve_kwh[0] == pytest.approx(9.0)
    longer = plan_home_outage(home, hours=16).plan
    assert longer.hours_critical == 16 and longer.unserved_critical_kwh == 0
    names = [longer.circuit_names[c] for c in longer.shed_order()]
    assert names[0] == "Washer & dryer"
    overload = plan_home_overload(home).plan
    assert overload.excess_without_cars_kwh > 0 and overload.excess_kwh == pytest.approx(0)
    assert overload.v2h_kwh > 0


def home_document() -> dict[str, Any]:
    return {
        "name": "test",
        "breaker_kw": 17.25,
        "house": {"load_kw": [0.5, 0.6, 0.7, 0.8]},
        "circuits": [
            {"name": "fridge", "load_kw": 0.1, "critical": True},
            {"name": "rest", "share": 1.0, "priority": 1},
        ],
        "cars": [
            {
                "name": "ev",
                "capacity_kwh": 60.0,
                "soc": 0.5,
                "max_discharge_kw": 11.0,
                "min_range_km": 50,
            }
        ],
        "outage": {"start": "2025-01-15T17:00:00", "duration_hours": 1.0},
    }


def test_home_with_explicit_load() -> None:
    case = plan_home_outage(home_from_dict(home_document()))
    np.testing.assert_allclose(case.circuit_load_kw, [[0.1] * 4, [0.5, 0.6, 0.7, 0.8]])
    assert case.plan.hours_full == 1.0
    assert case.cars.reserve_kwh[0] == pytest.approx(9.0)


def issue_fields(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        plan_home_outage(home_from_dict(document))
    return [issue.field for issue in caught.value.issues]


def test_home_errors_name_the_field() -> None:
    doc = home_document()
    doc["cars"][0]["min_range_km"] = 500
    assert issue_fields(doc) == ["cars[0].min_range_km"]
    doc = home_document()
    doc["cars"][0]["colour"] = "red"
    doc["house"]["anual_kwh"] = 3000
    assert sorted(issue_fields(doc)) == ["cars[0].colour", "house.anual_kwh"]
    doc = home_document()
    doc["outage"] = {"start": "2025-01-15T17:00:00", "end": "2025-01-15T16:00:00"}
    assert issue_fields(doc) == ["outage.end"]
    doc = home_document()
    doc["house"]["load_kw"][2] = -0.3
    doc["circuits"][0]["load_kw"] = -1
    assert sorted(issue_fields(doc)) == ["circuits[0].load_kw", "house.load_kw[2]"]
    doc = home_document()
    doc["circuits"][1]["share"] = 0.8
    assert issue_fields(doc) == ["circuits[*].share"]
    doc = home_document()
    doc["outage"]["end"] = "2025-01-15T19:00:00"
    assert issue_fields(doc) == ["outage.end"]
    doc = home_document()
    doc["outage"]["duration_hours"] = 2.0  # longer than the explicit load
    assert issue_fields(doc) == ["house.load_kw"]
    doc = home_document()
    doc["cars"][0]["soc"] = 1.2
    doc["timezone"] = "Mars/Olympus"
    assert sorted(issue_fields(doc)) == ["cars[0].soc", "timezone"]


def test_unknown_home_name(tmp_path: Path) -> None:
    with pytest.raises(ProblemError, match=r"neither a \.toml file nor a built-in home"):
        load_home("castle")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(ProblemError, match="not valid TOML"):
        load_home(broken)


def test_old_home_car_keys_are_unknown_and_name_their_new_name() -> None:
    doc = home_document()
    doc["cars"][0]["min_soc"] = 0.2
    doc["cars"][0]["target_soc"] = 0.8
    with pytest.raises(ProblemError) as caught:
        home_from_dict(doc)
    rules = {issue.field: issue.rule for issue in caught.value.issues}
    assert set(rules) == {"cars[0].min_soc", "cars[0].target_soc"}
    assert rules["cars[0].min_soc"].startswith("unknown key (check its spelling")
    assert rules["cars[0].min_soc"].endswith("renamed to soc_min")
    assert rules["cars[0].target_soc"].endswith("renamed to soc_target")


def test_a_window_given_as_its_length_is_reported_as_its_length() -> None:
    doc = home_document()
    doc["outage"]["duration_hours"] = 0.1  # not a whole slot
    assert issue_fields(doc) == ["outage.duration_hours"]
    doc["outage"]["end"] = "2025-01-15T18:00:00"  # both end and duration_hours
    assert issue_fields(doc) == ["outage.end"]


def test_a_home_built_in_code_matches_its_file() -> None:
    start = pd.Timestamp("2025-01-15 16:00", tz="UTC")  # 17:00 in Amsterdam
    home = Home(
        name="test",
        breaker_kw=17.25,
        house=House(load_kw=(0.5, 0.6, 0.7, 0.8)),
        circuits=(
            Circuit("fridge", load_kw=0.1, critical=True),
            Circuit("rest", share=1.0, priority=1),
        ),
        cars=(Car("ev", capacity_kwh=60.0, soc=0.5, max_discharge_kw=11.0, min_range_km=50),),
        outage=Window(start, start + pd.Timedelta(hours=1)),
    )
    assert home == home_from_dict(home_document())
    assert home.cars[0].discharge_efficiency == DEFAULT_DISCHARGE_EFFICIENCY
    case = plan_home_outage(home)
    assert case.grid.origin == start and case.grid.dt_h == 0.25
    assert list(case.index) == [case.grid.time(k) for k in range(4)]
    with pytest.raises(ProblemError) as caught:
        Home(
            "bad",
            17.25,
            House(annual_kwh=3000.0),
            (Circuit("a", share=0.5), Circuit("a", share=0.4)),
            Window(start + pd.Timedelta(minutes=5), start),
        )
    assert [issue.field for issue in caught.value.issues] == [
        "circuits[1].name",
        "circuits[*].share",
        "outage.start",
        "outage.end",
    ]
