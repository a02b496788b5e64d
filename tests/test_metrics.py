"""Simulation metrics match an independent, loop-by-loop recomputation; the checks have teeth."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from synthetic_runs import POLICIES, make_result, make_run
from voltpool.simulate.metrics import (
    METRIC_KEYS,
    METRIC_LABELS,
    PER_CAR_COLUMNS,
    car_energy_residual_kwh,
    compare,
    per_car_table,
    policy_metrics,
)
from voltpool.simulate.result import PolicyRun


def _car_costs(run: PolicyRun) -> list[float]:
    """Per car: home and public charging at import price, minus V2G at export price, plus wear."""
    costs = []
    for n in range(len(run.vehicle_ids)):
        cost = 0.0
        for t in range(len(run.index)):
            p = float(run.power_kw[n, t])
            if p > 0:
                cost += run.dt_h * p * run.import_price_per_kwh[t]
            else:
                cost += run.dt_h * p * run.export_price_per_kwh[t]
            cost += run.public_charging_kwh[n, t] * run.import_price_per_kwh[t]
            cost += run.dt_h * max(-p, 0.0) * run.degradation_cost_per_kwh[n]
        costs.append(cost)
    return costs


def _recompute(run: PolicyRun) -> dict[str, float]:
    """Every metric from plain Python loops over the run's arrays."""
    n_vehicles, n_slots = run.power_kw.shape
    net = []
    for t in range(n_slots):
        homes = sum(run.home_load_kw[h, t] for h in range(len(run.home_ids)))
        net.append(homes + sum(run.power_kw[n, t] for n in range(n_vehicles)))
    base = [sum(run.home_load_kw[:, t]) for t in range(n_slots)]
    imports = [max(x, 0.0) for x in net]
    cost = 0.0
    over_h, overload = 0.0, 0.0
    for t, x in enumerate(net):
        price = run.import_price_per_kwh[t] if x > 0 else run.export_price_per_kwh[t]
        cost += run.dt_h * x * price
        if x > run.import_limit_kw[t] + 1e-6:
            over_h += run.dt_h
        overload = max(overload, x - run.import_limit_kw[t])
    homes_cost = [
        sum(run.dt_h * run.home_load_kw[h, t] * run.import_price_per_kwh[t] for t in range(n_slots))
        for h in range(len(run.home_ids))
    ]
    charged = exported = revenue = wear = 0.0
    for n in range(n_vehicles):
        for t in range(n_slots):
            p = float(run.power_kw[n, t])
            charged += run.dt_h * max(p, 0.0)
            exported += run.dt_h * max(-p, 0.0)
            revenue += run.dt_h * max(-p, 0.0) * run.export_price_per_kwh[t]
            wear += run.dt_h * max(-p, 0.0) * run.degradation_cost_per_kwh[n]
    dep = run.departures
    met = [s < 1e-3 for s in dep.shortfall_kwh]
    met_reachable = [m for m, r in zip(met, dep.reachable, strict=True) if r]
    steps = list(run.solver_time_s)
    billing = run.peak_billing
    ends = [*billing.start_slot[1:], n_slots]
    peak_cost = sum(
        price * max(billing.min_kw, max(net[start:end]))
        for start, end, price in zip(billing.start_slot, ends, billing.price_per_kw, strict=True)
    )
    return {
        "transformer_peak_kw": max(net),
        "base_load_peak_kw": max(base),
        "load_factor": (sum(imports) / n_slots) / max(imports),
        "over_limit_h": over_h,
        "overload_kw_max": overload,
        "total_cost_eur": cost + peak_cost + wear,
        "energy_cost_eur": cost,
        "peak_cost_eur": peak_cost,
        "wear_cost_eur": wear,
        "household_cost_eur_mean": sum(homes_cost) / len(homes_cost),
        "car_cost_eur_mean": sum(_car_costs(run)) / n_vehicles,
        "v2g_export_kwh": exported,
        "v2g_revenue_eur": revenue,
        "energy_charged_kwh": charged,
        "public_charging_kwh": float(sum(sum(row) for row in run.public_charging_kwh)),
        "energy_driven_kwh": float(sum(sum(row) for row in run.driving_kwh)),
        "curtailed_kwh": run.curtailed_kwh,
        "departures_count": len(met),
        "departures_met_pct": 100.0 * sum(met) / len(met),
        "reachable_met_pct": 100.0 * sum(met_reachable) / len(met_reachable),
        "shortfall_kwh_total": float(sum(dep.shortfall_kwh)),
        "solver_steps_count": len(steps),
        "solver_time_s_mean": sum(steps) / len(steps) if steps else math.nan,
        "solver_time_s_max": max(steps) if steps else math.nan,
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_metrics_match_a_loop_recomputation(policy: str) -> None:
    run = make_run(policy)
    metrics = policy_metrics(run)
    assert list(metrics) == list(METRIC_KEYS)
    for key, expected in _recompute(run).items():
        assert metrics[key] == pytest.approx(expected, rel=1e-9, abs=1e-9, nan_ok=True), key


def test_the_synthetic_runs_exercise_every_metric() -> None:
    """Guards the fixture: V2G, overloads, misses and an unreachable target all occur."""
    uncontrolled, v2g = policy_metrics(make_run("uncontrolled")), policy_metrics(make_run("v2g"))
    assert v2g["v2g_export_kwh"] > 10.0
    assert uncontrolled["v2g_export_kwh"] == 0.0
    assert uncontrolled["over_limit_h"] > 0.0
    assert 0.0 < v2g["departures_met_pct"] < v2g["reachable_met_pct"] < 100.0
    assert uncontrolled["reachable_met_pct"] == 100.0
    assert math.isnan(uncontrolled["solver_time_s_mean"])
    assert v2g["energy_cost_eur"] < uncontrolled["energy_cost_eur"]


@pytest.mark.parametrize("policy", POLICIES)
def test_consistent_runs_balance(policy: str) -> None:
    metrics = policy_metrics(make_run(policy))
    assert metrics["car_balance_residual_kwh_max"] < 1e-9
    assert metrics["site_balance_residual_kw_max"] < 1e-9
    assert metrics["departure_residual_kwh_max"] < 1e-9


def test_car_balance_catches_a_tampered_soc() -> None:
    run = make_run("v2g")
    soc = run.soc.copy()
    soc[1, 50] += 0.01  # 0.6 kWh appears from nowhere in a 60 kWh battery
    residual = car_energy_residual_kwh(dataclasses.replace(run, soc=soc))
    assert np.abs(residual).max() == pytest.approx(0.6, rel=1e-6)
    assert np.argwhere(np.abs(residual) > 0.1).tolist() == [[1, 49], [1, 50]]
    tampered = policy_metrics(dataclasses.replace(run, soc=soc))
    assert tampered["car_balance_residual_kwh_max"] == pytest.approx(0.6, rel=1e-6)


def test_car_balance_catches_wrong_efficiency_and_missing_driving() -> None:
    run = make_run("v2g")
    wrong_eta = dataclasses.replace(run, charge_efficiency=np.ones(3))
    assert policy_metrics(wrong_eta)["car_balance_residual_kwh_max"] > 0.01
    no_trip = dataclasses.replace(run, driving_kwh=np.zeros_like(run.driving_kwh))
    assert policy_metrics(no_trip)["car_balance_residual_kwh_max"] == pytest.approx(35.0)


def test_site_balance_catches_a_car_booked_to_a_missing_home() -> None:
    run = make_run("smart")
    with pytest.raises(ValueError, match="vehicle_home"):
        policy_metrics(dataclasses.replace(run, vehicle_home=np.array([0, 0, 2])))


def test_departure_records_are_checked_against_soc() -> None:
    run = make_run("v2g")
    dep = run.departures
    shortfall = dep.shortfall_kwh.copy()
    shortfall[3] += 2.0
    tampered = dataclasses.replace(
        run, departures=dataclasses.replace(dep, shortfall_kwh=shortfall)
    )
    assert policy_metrics(tampered)["departure_residual_kwh_max"] == pytest.approx(2.0)


def test_bad_shapes_name_the_field() -> None:
    run = make_run("smart")
    with pytest.raises(ValueError, match="soc has shape"):
        policy_metrics(dataclasses.replace(run, soc=run.soc[:, :-1]))


def test_per_car_table_values_against_baseline() -> None:
    baseline, v2g = make_run("uncontrolled"), make_run("v2g")
    table = per_car_table(v2g, baseline)
    assert list(table.columns) == list(PER_CAR_COLUMNS)
    assert list(table.index) == list(v2g.vehicle_ids)
    np.testing.assert_allclose(table["cost_eur"], _car_costs(v2g), rtol=1e-12)
    expected_value = np.array(_car_costs(baseline)) - np.array(_car_costs(v2g))
    np.testing.assert_allclose(table["value_vs_baseline_eur"], expected_value, rtol=1e-12)
    assert table["cost_eur"].mean() == pytest.approx(policy_metrics(v2g)["car_cost_eur_mean"])
    assert table["v2g_export_kwh"].sum() == pytest.approx(policy_metrics(v2g)["v2g_export_kwh"])
    assert table["shortfall_kwh"].sum() == pytest.approx(v2g.departures.shortfall_kwh.sum())
    assert list(table["home_id"]) == ["home-1", "home-1", "home-2"]
    assert table["value_vs_baseline_eur"].gt(0).all()
    assert per_car_table(v2g)["value_vs_baseline_eur"].isna().all()


def test_per_car_table_rejects_a_baseline_with_other_cars() -> None:
    run = make_run("v2g")
    other = dataclasses.replace(run, vehicle_ids=("x", "y", "z"))
    with pytest.raises(ValueError, match="vehicle_ids"):
        per_car_table(run, other)


def test_compare_has_policies_as_columns_in_scenario_order() -> None:
    result = make_result()
    frame = compare(result)
    assert list(frame.columns) == list(POLICIES)
    assert list(frame.index) == list(METRIC_KEYS)
    assert set(METRIC_LABELS) == set(METRIC_KEYS)
    for policy, run in result.runs.items():
        expected = pd.Series(policy_metrics(run), name=policy)
        pd.testing.assert_series_equal(frame[policy], expected, check_names=False)
