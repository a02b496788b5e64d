"""Metrics of a simulated policy, computed only from the arrays of a :class:`PolicyRun`.

Nothing here is typed in or read from the simulator's internals: every number is a function of
the run's time series, so a test (or a sceptical reader) can recompute it. All functions are
vectorized over cars, homes and slots.

Conventions (docs/conventions.md, "Signs"): car AC power is positive when charging; site net
load is positive for import; ``soc[:, t]`` is the state of charge at the *start* of slot ``t``, so
``soc[:, t + 1] = soc[:, t] + (eta_c * charge - discharge / eta_d) * dt_h / capacity
- (driving - public charging) / capacity``, where driving and public charging are booked in the
slot the car comes back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voltpool.simulate.result import PolicyRun, SimulationResult

MET_TOLERANCE_KWH = 1e-3
"""A departure meets its target when it is short by less than this (1 Wh). [kWh]"""

OVERLOAD_TOLERANCE_KW = 1e-6
"""Net import above the limit by more than this counts as an overload. [kW]"""

SHED_TOLERANCE_KW = 1e-6
"""A cut-off home counts as powered in a slot when less than this is shed. [kW]"""

METRIC_LABELS: dict[str, str] = {
    "transformer_peak_kw": "Transformer peak (kW)",
    "base_load_peak_kw": "Base-load peak, homes only (kW)",
    "load_factor": "Load factor, mean/peak import (0..1)",
    "over_limit_h": "Time above import limit (h)",
    "overload_kw_max": "Largest overload (kW)",
    "total_cost_eur": "Total cost: energy + peak + battery wear (EUR)",
    "energy_cost_eur": "  energy (EUR)",
    "peak_cost_eur": "  peak (demand) charge (EUR)",
    "wear_cost_eur": "  battery wear of V2G (EUR)",
    "household_cost_eur_mean": "Cost per household, without car (EUR)",
    "car_cost_eur_mean": "Cost per car (EUR)",
    "v2g_export_kwh": "V2G exported, AC side (kWh)",
    "v2g_revenue_eur": "V2G revenue (EUR)",
    "energy_charged_kwh": "Energy charged, AC side (kWh)",
    "public_charging_kwh": "Public charging (kWh)",
    "energy_driven_kwh": "Energy driven (kWh)",
    "curtailed_kwh": "Charging curtailed by simulator (kWh)",
    "outage_home_h": "Outage: home-hours cut off from the grid (h)",
    "outage_covered_h": "Outage: home-hours fully powered by cars (h)",
    "outage_critical_covered_h": "Outage: home-hours with critical loads on (h)",
    "outage_unserved_kwh": "Outage: load unserved (kWh)",
    "outage_critical_unserved_kwh": "Outage: critical load unserved (kWh)",
    "v2h_backup_kwh": "V2H backup from cars in outages, AC side (kWh)",
    "v2v_agreements_count": "V2V: agreements (requests matched to offers)",
    "v2v_failed_count": "V2V: agreements that moved nothing",
    "v2v_delivered_kwh": "V2V: energy moved between cars, AC side (kWh)",
    "v2v_received_kwh": "V2V: energy into the receiving batteries (kWh)",
    "v2v_losses_kwh": "V2V: conversion losses, battery to battery (kWh)",
    "departures_count": "Departures",
    "departures_met_pct": "Departures meeting target (%)",
    "reachable_met_pct": "Reachable targets met (%)",
    "shortfall_kwh_total": "Energy short at departure (kWh)",
    "solver_steps_count": "Planning steps",
    "solver_time_s_mean": "Solver time per step, mean (s)",
    "solver_time_s_max": "Solver time per step, max (s)",
    "car_balance_residual_kwh_max": "Check: car energy balance residual (kWh)",
    "site_balance_residual_kw_max": "Check: site balance residual (kW)",
    "departure_residual_kwh_max": "Check: departure record residual (kWh)",
}
"""Human label of every metric, in the order reports show them."""

METRIC_KEYS: tuple[str, ...] = tuple(METRIC_LABELS)
"""Every key :func:`policy_metrics` returns, in report order."""

PER_CAR_COLUMNS: tuple[str, ...] = (
    "home_id",
    "energy_charged_kwh",
    "charging_cost_eur",
    "public_charging_kwh",
    "public_charging_cost_eur",
    "v2g_export_kwh",
    "v2h_backup_kwh",
    "v2g_revenue_eur",
    "energy_driven_kwh",
    "wear_cost_eur",
    "shortfall_kwh",
    "cost_eur",
    "value_vs_baseline_eur",
)


def _mean_or_nan(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else float("nan")


def _max_or_nan(values: np.ndarray) -> float:
    return float(np.max(values)) if values.size else float("nan")


def _check_shapes(run: PolicyRun) -> None:
    n_vehicles, n_slots = len(run.vehicle_ids), len(run.index)
    if n_slots == 0:
        raise ValueError(f"run {run.policy!r}: index is empty; a run needs at least one slot")
    expected = {
        "power_kw": (n_vehicles, n_slots),
        "soc": (n_vehicles, n_slots + 1),
        "plugged": (n_vehicles, n_slots),
        "driving_kwh": (n_vehicles, n_slots),
        "public_charging_kwh": (n_vehicles, n_slots),
        "home_load_kw": (len(run.home_ids), n_slots),
        "import_price_per_kwh": (n_slots,),
        "export_price_per_kwh": (n_slots,),
        "import_limit_kw": (n_slots,),
        "export_limit_kw": (n_slots,),
    }
    for name, shape in expected.items():
        actual = np.shape(getattr(run, name))
        if actual != shape:
            raise ValueError(f"run {run.policy!r}: {name} has shape {actual}, expected {shape}")
    slots = np.asarray(run.departures.slot)
    if slots.size and (slots.min() < 0 or slots.max() > n_slots):
        raise ValueError(f"run {run.policy!r}: departures.slot must lie in 0..{n_slots} (T)")


def car_energy_residual_kwh(run: PolicyRun) -> np.ndarray:
    """Per car and slot: stored-energy change minus what the bookings explain. [kWh]

    ``(soc[:, t+1] - soc[:, t]) * capacity
    - (eta_c * charge_kw - discharge_kw / eta_d) * dt_h + driving_kwh - public_charging_kwh``,
    an ``[N, T]`` array that is zero (to rounding) for a physically consistent run.
    """
    stored_kwh = np.diff(run.soc, axis=1) * run.capacity_kwh[:, None]
    charge_kw = np.maximum(run.power_kw, 0.0)
    discharge_kw = np.maximum(-run.power_kw, 0.0)
    battery_kwh = run.dt_h * (
        run.charge_efficiency[:, None] * charge_kw
        - discharge_kw / run.discharge_efficiency[:, None]
    )
    return stored_kwh - battery_kwh + run.driving_kwh - run.public_charging_kwh


def _car_totals(run: PolicyRun) -> dict[str, np.ndarray]:
    """Per-car energy and money over the run, each an array [N]."""
    charged_kwh = run.dt_h * np.maximum(run.power_kw, 0.0)
    all_discharged_kwh = run.dt_h * np.maximum(-run.power_kw, 0.0)
    backup_kwh = np.where(run.car_islanded, all_discharged_kwh, 0.0)
    shared_kwh = run.dt_h * run.v2v_given_slots_kw
    discharged_kwh = all_discharged_kwh - backup_kwh - shared_kwh
    charging_cost = charged_kwh @ run.import_price_per_kwh
    public_cost = run.public_charging_kwh @ run.import_price_per_kwh
    revenue = discharged_kwh @ run.export_price_per_kwh
    wear = all_discharged_kwh.sum(axis=1) * run.wear_cost_per_kwh
    n_vehicles = len(run.vehicle_ids)
    departures = run.departures
    shortfall = np.bincount(
        np.asarray(departures.vehicle, dtype=np.intp),
        weights=np.asarray(departures.shortfall_kwh, dtype=float),
        minlength=n_vehicles,
    )[:n_vehicles]
    return {
        "energy_charged_kwh": charged_kwh.sum(axis=1),
        "charging_cost_eur": charging_cost,
        "public_charging_kwh": run.public_charging_kwh.sum(axis=1),
        "public_charging_cost_eur": public_cost,
        "v2g_export_kwh": discharged_kwh.sum(axis=1),
        "v2h_backup_kwh": backup_kwh.sum(axis=1),
        "v2g_revenue_eur": revenue,
        "energy_driven_kwh": run.driving_kwh.sum(axis=1),
        "wear_cost_eur": wear,
        "shortfall_kwh": shortfall,
        "cost_eur": charging_cost + public_cost - revenue + wear,
    }


def _site_metrics(run: PolicyRun) -> dict[str, float]:
    net_kw = run.site_net_load_kw
    import_kw = np.maximum(net_kw, 0.0)
    peak_import_kw = float(import_kw.max())
    overload_kw = net_kw - run.import_limit_kw
    energy_cost = run.dt_h * (
        run.import_price_per_kwh @ import_kw - run.export_price_per_kwh @ np.maximum(-net_kw, 0.0)
    )
    home_kwh = run.dt_h * run.home_load_kw
    home_cost = np.maximum(home_kwh, 0.0) @ run.import_price_per_kwh - (
        np.maximum(-home_kwh, 0.0) @ run.export_price_per_kwh
    )
    peak_cost = 0.0 if run.peak_billing is None else float(run.peak_billing.bill(net_kw).sum())
    wear_cost = float(
        run.wear_cost_per_kwh @ (run.dt_h * np.maximum(-run.power_kw, 0.0)).sum(axis=1)
    )
    return {
        "total_cost_eur": float(energy_cost) + peak_cost + wear_cost,
        "peak_cost_eur": peak_cost,
        "wear_cost_eur": wear_cost,
        "transformer_peak_kw": float(net_kw.max()),
        "base_load_peak_kw": float(run.base_load_kw.max()),
        "load_factor": float(import_kw.mean()) / peak_import_kw
        if peak_import_kw > 0
        else float("nan"),
        "over_limit_h": run.dt_h * float(np.count_nonzero(overload_kw > OVERLOAD_TOLERANCE_KW)),
        "overload_kw_max": max(0.0, float(overload_kw.max())),
        "energy_cost_eur": float(energy_cost),
        "household_cost_eur_mean": _mean_or_nan(home_cost),
    }


def _departure_metrics(run: PolicyRun) -> dict[str, float]:
    departures = run.departures
    vehicle = np.asarray(departures.vehicle, dtype=np.intp)
    slot = np.asarray(departures.slot, dtype=np.intp)
    shortfall = np.asarray(departures.shortfall_kwh, dtype=float)
    met = shortfall < MET_TOLERANCE_KWH
    reachable = np.asarray(departures.reachable, dtype=bool)
    capacity = run.capacity_kwh[vehicle]
    soc_left = run.soc[vehicle, slot]
    recomputed_kwh = np.maximum(0.0, departures.soc_target - soc_left) * capacity
    record_residual = np.maximum(
        np.abs(recomputed_kwh - shortfall), np.abs(soc_left - departures.soc) * capacity
    )
    return {
        "departures_count": float(vehicle.size),
        "departures_met_pct": 100.0 * _mean_or_nan(met),
        "reachable_met_pct": 100.0 * _mean_or_nan(met[reachable]),
        "shortfall_kwh_total": float(shortfall.sum()),
        "departure_residual_kwh_max": _max_or_nan(record_residual),
    }


def _site_balance_residual_kw(run: PolicyRun) -> float:
    """Largest gap between the site net load and the sum over homes of home plus own cars. [kW]"""
    n_homes = len(run.home_ids)
    home_of_car = np.asarray(run.vehicle_home, dtype=np.intp)
    if home_of_car.size and (home_of_car.min() < 0 or home_of_car.max() >= n_homes):
        raise ValueError(f"run {run.policy!r}: vehicle_home must index home_ids (0..{n_homes - 1})")
    per_home_kw = np.array(run.home_load_kw, dtype=float) - run.home_shed_kw  # [H, T]
    np.add.at(per_home_kw, home_of_car, run.power_kw)  # each car onto its own home
    return float(np.abs(run.site_net_load_kw - per_home_kw.sum(axis=0)).max())


OUTAGE_COLUMNS = (
    "cars_backing_up",
    "cut_off_h",
    "powered_h",
    "critical_powered_h",
    "unserved_kwh",
    "critical_unserved_kwh",
    "v2h_kwh",
)


def outage_table(run: PolicyRun) -> pd.DataFrame:
    """One row per home cut off by an outage (index ``home_id``), columns :data:`OUTAGE_COLUMNS`.

    ``cars_backing_up`` names the cars that gave energy to the home; hours are slots times
    ``dt_h``: ``cut_off_h`` while cut off, ``powered_h`` of those with nothing shed,
    ``critical_powered_h`` with every critical circuit on; ``unserved_kwh`` and
    ``critical_unserved_kwh`` the load shed; ``v2h_kwh`` the cars' AC discharge into it.
    """
    empty = pd.DataFrame(columns=list(OUTAGE_COLUMNS), index=pd.Index([], name="home_id"))
    if run.islanded is None:
        return empty
    islanded = np.asarray(run.islanded, dtype=bool)
    homes = np.flatnonzero(islanded.any(axis=1))
    if homes.size == 0:
        return empty
    shed = run.home_shed_kw
    critical = (
        np.zeros_like(shed) if run.shed_critical_kw is None else np.asarray(run.shed_critical_kw)
    )
    v2h_kwh = run.dt_h * np.where(run.car_islanded, np.maximum(-run.power_kw, 0.0), 0.0).sum(1)
    car_home = np.asarray(run.vehicle_home)
    backing = [
        ", ".join(run.vehicle_ids[c] for c in np.flatnonzero((car_home == h) & (v2h_kwh > 0)))
        for h in homes
    ]
    home_v2h_kwh = np.bincount(car_home[car_home >= 0], v2h_kwh[car_home >= 0], len(run.home_ids))
    cut = islanded[homes]
    frame = pd.DataFrame(
        {
            "cars_backing_up": backing,
            "cut_off_h": run.dt_h * cut.sum(axis=1),
            "powered_h": run.dt_h * (cut & (shed[homes] <= SHED_TOLERANCE_KW)).sum(axis=1),
            "critical_powered_h": run.dt_h
            * (cut & (critical[homes] <= SHED_TOLERANCE_KW)).sum(axis=1),
            "unserved_kwh": run.dt_h * shed[homes].sum(axis=1),
            "critical_unserved_kwh": run.dt_h * critical[homes].sum(axis=1),
            "v2h_kwh": home_v2h_kwh[homes],
        },
        index=pd.Index([run.home_ids[h] for h in homes], name="home_id"),
    )
    return frame


def _outage_metrics(run: PolicyRun) -> dict[str, float]:
    """Totals of :func:`outage_table` over the cut-off homes."""
    totals = outage_table(run).drop(columns="cars_backing_up").sum()
    return {
        "outage_home_h": float(totals["cut_off_h"]),
        "outage_covered_h": float(totals["powered_h"]),
        "outage_critical_covered_h": float(totals["critical_powered_h"]),
        "outage_unserved_kwh": float(totals["unserved_kwh"]),
        "outage_critical_unserved_kwh": float(totals["critical_unserved_kwh"]),
    }


def _v2v_metrics(run: PolicyRun) -> dict[str, float]:
    """Agreements and energy moved car to car (from the run's V2V log)."""
    log = run.v2v
    if log is None or log.empty:
        return {
            "v2v_agreements_count": 0.0,
            "v2v_failed_count": 0.0,
            "v2v_delivered_kwh": 0.0,
            "v2v_received_kwh": 0.0,
            "v2v_losses_kwh": 0.0,
        }
    return {
        "v2v_agreements_count": float(len(log)),
        "v2v_failed_count": float((log["status"] == "failed").sum()),
        "v2v_delivered_kwh": float(log["delivered_ac_kwh"].sum()),
        "v2v_received_kwh": float(log["receiver_battery_kwh"].sum()),
        "v2v_losses_kwh": float((log["giver_battery_kwh"] - log["receiver_battery_kwh"]).sum()),
    }


def policy_metrics(run: PolicyRun) -> dict[str, float]:
    """Every metric of one policy run, keyed as in :data:`METRIC_KEYS` (unit last in each key).

    Site: ``transformer_peak_kw`` (max site net load), ``base_load_peak_kw`` (homes only),
    ``load_factor`` (mean over slots of ``max(net, 0)`` divided by its maximum; NaN without
    import) [0..1], ``over_limit_h`` (time with net load above ``import_limit_kw``) and
    ``overload_kw_max`` (largest excess, 0 when none).

    Money [EUR]: ``energy_cost_eur`` is the neighbourhood's energy bill,
    ``sum(dt_h * (import_price * max(net, 0) - export_price * max(-net, 0)))``;
    ``peak_cost_eur`` the demand charge, per billing period its price times the period's
    highest net load (at least its minimum, :meth:`~voltpool.model.tariff.PeakBilling.bill`);
    ``wear_cost_eur`` the battery wear of V2G, ``sum_n degradation_cost_per_kwh * discharge``;
    ``total_cost_eur`` their sum.
    ``household_cost_eur_mean`` values each home's own load (without its cars) at the import
    price (a negative load, if any, at the export price), averaged over homes.
    ``car_cost_eur_mean`` is, per car, its home charging energy (AC side) at the import price,
    **plus its public charging energy valued at the import price of the slot it is booked in**,
    minus its V2G discharge (AC side) at the export price, plus its battery wear, averaged
    over cars. Per-car costs price
    each car alone, so they do not add up to the neighbourhood bill: inside the neighbourhood a
    discharged kWh offsets a neighbour's import instead of being exported.

    Energy [kWh]: ``v2g_export_kwh`` (discharge on the grid, AC side, less what went to a
    friend's car), ``v2g_revenue_eur`` (that energy at the export price), ``v2h_backup_kwh``
    (discharge into a home cut off by an outage), ``energy_charged_kwh`` (AC side, at home),
    ``public_charging_kwh``, ``energy_driven_kwh``, ``curtailed_kwh`` (as the simulator reports).

    Outages: ``outage_home_h`` (hours each home was cut off, summed over homes),
    ``outage_covered_h`` (of those, hours with nothing shed), ``outage_critical_covered_h``
    (hours with every critical circuit on), ``outage_unserved_kwh`` and
    ``outage_critical_unserved_kwh`` (load shed).

    V2V: ``v2v_agreements_count``, ``v2v_failed_count`` (agreements that moved nothing),
    ``v2v_delivered_kwh`` (metered AC energy car to car), ``v2v_received_kwh`` (into the
    receivers' batteries) and ``v2v_losses_kwh`` (left the givers' batteries but never reached
    the receivers').

    Departures: ``departures_count``, ``departures_met_pct`` (short by less than 1 Wh),
    ``reachable_met_pct`` (the same over departures whose target was reachable; NaN when none),
    ``shortfall_kwh_total``.

    Solver: ``solver_steps_count``, ``solver_time_s_mean``, ``solver_time_s_max`` (NaN without
    steps).

    Checks, ~0 for a consistent run: ``car_balance_residual_kwh_max`` (largest
    :func:`car_energy_residual_kwh` in absolute value), ``site_balance_residual_kw_max`` (site net
    load minus the sum over homes of home load plus the cars of that home) and
    ``departure_residual_kwh_max`` (each departure's SoC and shortfall against
    ``soc[vehicle, slot]``).
    """
    _check_shapes(run)
    cars = _car_totals(run)
    solver_time_s = np.asarray(run.solver_time_s, dtype=float).ravel()
    metrics = {
        **_site_metrics(run),
        "car_cost_eur_mean": _mean_or_nan(cars["cost_eur"]),
        "v2g_export_kwh": float(cars["v2g_export_kwh"].sum()),
        "v2g_revenue_eur": float(cars["v2g_revenue_eur"].sum()),
        "energy_charged_kwh": float(cars["energy_charged_kwh"].sum()),
        "public_charging_kwh": float(cars["public_charging_kwh"].sum()),
        "energy_driven_kwh": float(cars["energy_driven_kwh"].sum()),
        "curtailed_kwh": float(run.curtailed_kwh),
        **_outage_metrics(run),
        "v2h_backup_kwh": float(cars["v2h_backup_kwh"].sum()),
        **_v2v_metrics(run),
        **_departure_metrics(run),
        "solver_steps_count": float(solver_time_s.size),
        "solver_time_s_mean": _mean_or_nan(solver_time_s),
        "solver_time_s_max": _max_or_nan(solver_time_s),
        "car_balance_residual_kwh_max": _max_or_nan(np.abs(car_energy_residual_kwh(run))),
        "site_balance_residual_kw_max": _site_balance_residual_kw(run),
    }
    assert set(metrics) == set(METRIC_KEYS), set(metrics) ^ set(METRIC_KEYS)
    return {key: metrics[key] for key in METRIC_KEYS}


def per_car_table(run: PolicyRun, baseline: PolicyRun | None = None) -> pd.DataFrame:
    """One row per car (index ``vehicle_id``), columns :data:`PER_CAR_COLUMNS`.

    ``cost_eur`` is the car's cost as in :func:`policy_metrics` (home charging and public
    charging at the import price, minus V2G discharge at the export price). [EUR]
    ``value_vs_baseline_eur`` is ``baseline cost - this cost`` (positive: this policy saves the
    owner money); NaN without a baseline. [EUR]
    """
    _check_shapes(run)
    cars = _car_totals(run)
    if baseline is None:
        value = np.full(len(run.vehicle_ids), np.nan)
    else:
        if tuple(baseline.vehicle_ids) != tuple(run.vehicle_ids):
            raise ValueError(
                f"baseline {baseline.policy!r}: vehicle_ids must equal those of {run.policy!r}"
            )
        _check_shapes(baseline)
        value = _car_totals(baseline)["cost_eur"] - cars["cost_eur"]
    home_ids = np.asarray(run.home_ids, dtype=object)[np.asarray(run.vehicle_home, dtype=np.intp)]
    frame = pd.DataFrame(
        {"home_id": home_ids, **cars, "value_vs_baseline_eur": value},
        index=pd.Index(list(run.vehicle_ids), name="vehicle_id"),
    )
    return frame[list(PER_CAR_COLUMNS)]


def compare(result: SimulationResult) -> pd.DataFrame:
    """Metrics of every policy side by side: rows :data:`METRIC_KEYS`, columns the policies."""
    columns = {policy: policy_metrics(run) for policy, run in result.runs.items()}
    frame = pd.DataFrame(columns, index=pd.Index(METRIC_KEYS, name="metric"), dtype=float)
    return frame[list(result.runs)]


__all__ = [
    "METRIC_KEYS",
    "METRIC_LABELS",
    "MET_TOLERANCE_KWH",
    "OUTAGE_COLUMNS",
    "OVERLOAD_TOLERANCE_KW",
    "PER_CAR_COLUMNS",
    "car_energy_residual_kwh",
    "compare",
    "outage_table",
    "per_car_table",
    "policy_metrics",
]
