"""The one controller without the simulator: a hand-made car table and forecast in."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

import voltpool.control.controller as controller_module
from strategies import problems
from voltpool.control import (
    CarTable,
    Controller,
    Forecast,
    ForecastSource,
    InvalidPlanError,
    Observation,
    PlanningConfig,
    V2VInputs,
    safe_plan_kw,
)
from voltpool.errors import ProblemError
from voltpool.model import PeakBilling, PeakPeriod, Transfers
from voltpool.schedule import schedule, verify
from voltpool.schedule.uncontrolled import uncontrolled_power_kw

HORIZON = 8


class FlatForecast:
    """Evening peak prices from slot 4 of every 8; a fixed import limit."""

    def __init__(self, import_limit_kw: float = 40.0) -> None:
        self.import_limit_kw = import_limit_kw
        self.asked: list[tuple[int, int]] = []

    def forecast(self, t: int, horizon_slots: int) -> Forecast:
        self.asked.append((t, horizon_slots))
        slots = np.arange(t, t + horizon_slots)
        price = np.where(slots % 8 >= 4, 0.40, 0.10)
        return Forecast(
            base_load_kw=np.full(horizon_slots, 5.0),
            import_price_per_kwh=price,
            export_price_per_kwh=price + 0.05,  # above import: the controller caps it
            import_limit_kw=np.full(horizon_slots, self.import_limit_kw),
            export_limit_kw=np.full(horizon_slots, np.inf),
        )


def three_cars() -> CarTable:
    return CarTable(
        ids=("a", "b", "c"),
        capacity_kwh=np.array([40.0, 60.0, 80.0]),
        max_charge_kw=np.array([11.0, 7.4, 11.0]),
        max_discharge_kw=np.array([11.0, 0.0, 7.4]),
        charge_efficiency=np.array([0.9, 0.92, 0.95]),
        discharge_efficiency=np.array([0.9, 0.92, 0.95]),
        soc_min=np.array([0.2, 0.1, 0.3]),
        soc_max=np.array([0.9, 1.0, 0.8]),
        soc_target=np.array([0.8, 0.5, 0.7]),
        degradation_cost_per_kwh=np.array([0.01, 0.0, 0.03]),
    )


def observed(t: int = 10, on_grid=(True, True, True), changed=None) -> Observation:
    return Observation(
        t=t,
        energy_kwh=np.array([16.0, 30.0, 60.0]),
        on_grid=np.array(on_grid),
        departure_slot=np.array([t + 5, t + 20, t + 8]),
        changed=None if changed is None else np.array(changed),
        peak_so_far_kw=12.0,
    )


def config(**changes) -> PlanningConfig:
    return PlanningConfig(horizon_slots=HORIZON, replan_every_slots=4, **changes)


def test_forecast_source_is_a_protocol() -> None:
    assert isinstance(FlatForecast(), ForecastSource)


def test_problem_is_built_from_the_car_table_and_the_forecast() -> None:
    cars = three_cars()
    controller = Controller(cars, FlatForecast(), config(peak_billing=PeakBilling.single(3.0)))
    rows = np.array([0, 2])
    problem = controller.problem(observed(), rows, None)
    fleet = problem.fleet
    assert fleet.ids == ("a", "c")
    np.testing.assert_allclose(fleet.soc_initial, [0.4, 0.75])
    np.testing.assert_allclose(fleet.soc_min, [0.2, 0.3])  # per car, not one scalar
    np.testing.assert_allclose(fleet.soc_max, [0.9, 0.8])
    np.testing.assert_allclose(fleet.soc_target, [0.8, 0.7])
    np.testing.assert_array_equal(fleet.arrival_slot, [0, 0])
    np.testing.assert_array_equal(fleet.departure_slot, [5, HORIZON])  # clipped to the horizon
    np.testing.assert_allclose(fleet.max_discharge_kw, [11.0, 7.4])
    np.testing.assert_allclose(fleet.degradation_cost_per_kwh, [0.01, 0.03])
    assert problem.n_slots == HORIZON and problem.slot_minutes == 15
    np.testing.assert_allclose(
        problem.tariff.export_price_per_kwh, problem.tariff.import_price_per_kwh
    )
    assert problem.tariff.peak_price_per_kw == 3.0
    assert problem.tariff.peak_baseline_kw == 12.0
    assert problem.tariff.next_period is None


def test_a_horizon_into_the_next_billing_period_bills_it_on_its_own() -> None:
    # Periods start at slots 0 and 16 (absolute); at t = 10 the horizon reaches slot 16: the
    # new period starts at horizon slot 6, with its own price and the minimum as baseline.
    billing = PeakBilling(np.array([0, 16]), np.array([3.0, 2.0]), min_kw=14.0)
    controller = Controller(three_cars(), FlatForecast(), config(peak_billing=billing))
    tariff = controller.problem(observed(), np.array([0, 1]), None).tariff
    assert (tariff.peak_price_per_kw, tariff.peak_baseline_kw) == (3.0, 14.0)  # min above 12
    assert tariff.next_period == PeakPeriod(6, 2.0, 14.0)
    later = controller.problem(observed(t=20), np.array([0, 1]), None).tariff
    assert (later.peak_price_per_kw, later.next_period) == (2.0, None)


def test_step_follows_the_verified_plan_of_the_cars_on_the_grid() -> None:
    cars = three_cars()
    forecasts = FlatForecast()
    controller = Controller(cars, forecasts, config())
    now = observed(on_grid=(True, False, True))
    setpoints = controller.step(now)
    assert setpoints.replanned and controller.plan_count == 1
    assert forecasts.asked == [(10, HORIZON)]
    expected = schedule(controller.problem(now, np.array([0, 2]), None), "lp")
    np.testing.assert_allclose(setpoints.power_kw[[0, 2]], expected.power_kw[:, 0], atol=1e-9)
    assert setpoints.power_kw[1] == 0.0  # not on the grid: no setpoint
    assert (setpoints.power_kw <= cars.max_charge_kw + 1e-9).all()
    assert (-setpoints.power_kw <= cars.max_discharge_kw + 1e-9).all()


def test_one_way_planning_never_discharges() -> None:
    controller = Controller(three_cars(), FlatForecast(), config(bidirectional=False))
    problem = controller.problem(observed(), np.arange(3), None)
    assert (problem.fleet.max_discharge_kw == 0).all()
    for t in range(10, 18):
        assert (controller.step(observed(t)).power_kw >= -1e-9).all()
    assert not controller.bidirectional


def test_replans_periodically_and_on_events() -> None:
    controller = Controller(three_cars(), FlatForecast(), config())
    replanned = [controller.step(observed(t, changed=[False] * 3)).replanned for t in range(10, 19)]
    assert replanned == [True, False, False, False, True, False, False, False, True]
    assert controller.step(observed(19, changed=[False, True, False])).replanned
    assert controller.step(observed(20), V2VInputs(np.zeros(3), new=True)).replanned
    periodic_only = Controller(three_cars(), FlatForecast(), config(replan_on_events=False))
    periodic_only.step(observed(10))
    assert not periodic_only.step(observed(11, changed=[True, True, True])).replanned


def test_energy_reserved_for_friends_raises_the_floor() -> None:
    controller = Controller(three_cars(), FlatForecast(), config())
    v2v = V2VInputs(reserved_kwh=np.array([20.0, 0.0, 100.0]))
    problem = controller.problem(observed(), np.arange(3), v2v)
    # car a: 20 kWh of 40 = 0.5 above its 0.2 reserve; car c: capped at its soc_max
    np.testing.assert_allclose(problem.fleet.soc_min, [0.5, 0.1, 0.8])


def test_transfers_map_onto_the_planned_rows_and_horizon() -> None:
    controller = Controller(three_cars(), FlatForecast(), config())
    transfers = Transfers(
        ids=("a->c", "b->c"),
        giver=[0, 1],
        receiver=[2, 2],
        start_slot=[9, 10],
        end_slot=[14, 40],
        energy_kwh=[2.0, 3.0],
        giver_floor_kwh=[10.0, 5.0],
    )
    v2v = V2VInputs(np.zeros(3), transfers)
    problem = controller.problem(observed(on_grid=(True, False, True)), np.array([0, 2]), v2v)
    planned = problem.transfers
    assert planned is not None and planned.ids == ("a->c",)  # b is not on the grid
    np.testing.assert_array_equal(planned.giver, [0])
    np.testing.assert_array_equal(planned.receiver, [1])
    np.testing.assert_array_equal(planned.start_slot, [0])
    np.testing.assert_array_equal(planned.end_slot, [4])
    setpoints = controller.step(observed(on_grid=(True, False, True)), v2v)
    assert setpoints.transfer_ids == ("a->c",)
    flows = setpoints.transfer_flows_kw()
    assert 0.0 <= flows["a->c"] <= -setpoints.power_kw[0] + 1e-9


def test_uncontrolled_charges_each_car_to_its_own_target() -> None:
    cars = three_cars()
    controller = Controller(cars, FlatForecast(), PlanningConfig(method="uncontrolled"))
    now = observed()
    power = controller.step(now).power_kw
    missing_kwh = cars.soc_target * cars.capacity_kwh - now.energy_kwh
    expected = np.minimum(cars.max_charge_kw, missing_kwh / (cars.charge_efficiency * 0.25))
    np.testing.assert_allclose(power, np.maximum(expected, 0.0))
    assert len(controller.solver_time_s) == 1


def _corrupted_schedule(problem, method="lp", **options):
    """A plan that breaks a charger limit: what a solver bug would hand the controller."""
    result = schedule(problem, method, **options)
    power = result.power_kw.copy()
    power[0, 0] = problem.fleet.max_charge_kw[0] + 5.0
    return dataclasses.replace(result, power_kw=power)


def test_a_plan_failing_verification_is_an_error_in_strict_mode(monkeypatch) -> None:
    monkeypatch.setattr(controller_module, "schedule", _corrupted_schedule)
    controller = Controller(three_cars(), FlatForecast(), config(), name="v2g")
    with pytest.raises(InvalidPlanError, match=r"v2g, slot 10: the plan failed verification"):
        controller.step(observed())


def test_a_plan_failing_verification_falls_back_to_the_safe_plan(monkeypatch) -> None:
    monkeypatch.setattr(controller_module, "schedule", _corrupted_schedule)
    cars = three_cars()
    controller = Controller(
        cars, FlatForecast(import_limit_kw=12.0), config(on_invalid_plan="fallback")
    )
    now = observed()
    power = controller.step(now).power_kw
    assert len(controller.notes) == 1 and "charge_limit" in controller.notes[0]
    assert (power >= 0).all()  # never discharges: no car goes below its reserve
    assert (power <= cars.max_charge_kw + 1e-9).all()
    assert 5.0 + power.sum() <= 12.0 + 1e-9  # base load plus charging within the limit


def test_bad_car_tables_name_the_field() -> None:
    with pytest.raises(ProblemError) as error:
        dataclasses.replace(three_cars(), soc_min=np.array([0.2, 1.5, 0.9]))
    fields = [issue.field for issue in error.value.issues]
    assert "cars[1].soc_min (id 'b')" in fields
    assert "cars[2].soc_min (id 'c')" in fields  # above its soc_max 0.8
    with pytest.raises(ProblemError, match=r"cars\.capacity_kwh"):
        dataclasses.replace(three_cars(), capacity_kwh=np.array([40.0, 60.0]))


def test_bad_forecasts_name_the_field() -> None:
    with pytest.raises(ProblemError, match=r"forecast.import_price_per_kwh"):
        Forecast(np.zeros(3), np.array([0.1, np.nan, 0.1]), np.zeros(3), np.ones(3), np.ones(3))
    with pytest.raises(ProblemError, match=r"forecast.export_limit_kw"):
        Forecast(np.zeros(3), np.zeros(3), np.zeros(3), np.ones(3), np.ones(2))


@settings(max_examples=60)
@given(problems(max_vehicles=4, max_slots=10))
def test_safe_plan_never_discharges_and_keeps_the_import_limit(problem) -> None:
    power = safe_plan_kw(problem)
    site = problem.site
    assert (power >= 0).all()
    assert (power <= uncontrolled_power_kw(problem) + 1e-9).all()  # within chargers, no overfill
    room = np.maximum(site.import_limit_slots_kw - site.base_load_kw, 0.0)
    assert (power.sum(axis=0) <= room + 1e-6).all()
    plan = dataclasses.replace(schedule(problem, "uncontrolled"), power_kw=power)
    broken = verify(problem, plan, check_site_limits=False).rules_broken()
    # a charge-only plan keeps every physical rule; only the reported SoC/objective differ
    assert not broken & {"unplugged_power", "charge_limit", "discharge_limit", "soc_max"}


def test_a_car_table_from_a_problems_fleet_keeps_every_car_field() -> None:
    from voltpool.example import example_problem

    fleet = example_problem(5, seed=2).fleet
    cars = CarTable.from_fleet(fleet)
    assert cars.ids == fleet.ids
    for name in ("capacity_kwh", "soc_min", "soc_max", "soc_target", "max_discharge_kw"):
        np.testing.assert_array_equal(getattr(cars, name), getattr(fleet, name))


def test_each_plan_is_solved_within_the_configured_budget(monkeypatch) -> None:
    """The budget reaches the solver, and a plan cut short by it is followed with a note."""
    budgets: list[float] = []

    def budgeted(problem, method, time_limit_s):
        budgets.append(time_limit_s)
        result = schedule(problem, method, time_limit_s=time_limit_s)
        solver = dataclasses.replace(
            result.solver, status="feasible", gap=0.02, notes=("time budget of 2.5 s reached",)
        )
        return dataclasses.replace(result, solver=solver)

    monkeypatch.setattr(controller_module, "schedule", budgeted)
    controller = Controller(three_cars(), FlatForecast(), config(time_budget_s=2.5))
    controller.step(observed())
    assert budgets == [2.5]
    assert controller.notes == ["slot 10: time budget of 2.5 s reached"]


@pytest.mark.parametrize("budget", [0.0, -1.0, float("nan")])
def test_a_budget_must_be_positive(budget: float) -> None:
    with pytest.raises(ValueError, match="time_budget_s"):
        config(time_budget_s=budget)
