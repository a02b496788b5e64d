"""The LP is exact: hand-computed optima, and agreement with an independent MILP formulation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

from helpers import one_site
from reference import reference_optimum
from strategies import problems
from voltpool.example import example_problem
from voltpool.model import PeakPeriod
from voltpool.model.wear import BatteryWear
from voltpool.schedule import schedule, verify
from voltpool.schedule.lp import build_lp


def assert_optimal(problem, result) -> None:
    report = verify(problem, result)
    assert report.ok, [str(v) for v in report.violations]
    reference = reference_optimum(problem)
    assert reference.feasible
    assert result.status == "optimal"
    assert result.solver.solver_objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)


def test_arbitrage_with_losses_matches_hand_computation() -> None:
    # 10 kWh car at 50 % that must leave at 50 %, 1 h slots, price 0.1 then 0.5, 90 % each way.
    # Charge x in slot 0, give y in slot 1 with 0.9 x = y / 0.9, so y = 0.81 x; the margin
    # 0.5 * 0.81 - 0.1 > 0 per kW, so x = 4 kW (the charger), y = 3.24 kW: cost 0.4 - 1.62.
    problem = one_site(
        [{"charge_efficiency": 0.9, "discharge_efficiency": 0.9, "soc_target": 0.5}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.1, 0.5],
    )
    result = schedule(problem, "lp")
    np.testing.assert_allclose(result.power_kw, [[4.0, -3.24]], atol=1e-7)
    np.testing.assert_allclose(result.soc[0], [0.5, 0.86, 0.5], atol=1e-7)
    assert result.objective == pytest.approx(-1.22)
    assert_optimal(problem, result)


@pytest.mark.parametrize(("wear_per_kwh", "v2g_kwh"), [(0.15, 0.0), (0.05, 4.0)])
def test_degradation_cost_decides_whether_v2g_pays(wear_per_kwh: float, v2g_kwh: float) -> None:
    # Buy at 0.1, sell at 0.2, leave as full as arrived: V2G pays only if wear < 0.1 per kWh.
    problem = one_site(
        [{"degradation_cost_per_kwh": wear_per_kwh, "soc_target": 0.5}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.1, 0.2],
    )
    result = schedule(problem, "lp")
    assert result.discharged_kwh == pytest.approx(v2g_kwh, abs=1e-7)
    assert_optimal(problem, result)


def test_peak_charge_spreads_charging() -> None:
    # Need 4 kWh over two flat-priced hours, demand charge 1/kW: 2 kW each hour, peak 2 kW.
    problem = one_site(
        [{"soc_initial": 0.1, "soc_target": 0.5, "max_discharge_kw": 0.0}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.2, 0.2],
        peak_price_per_kw=1.0,
    )
    result = schedule(problem, "lp")
    np.testing.assert_allclose(result.power_kw, [[2.0, 2.0]], atol=1e-7)
    assert result.objective_terms["peak_cost"] == pytest.approx(2.0)
    assert_optimal(problem, result)


def test_import_limit_is_held_by_discharging() -> None:
    # Base load 6 kW against a 4 kW limit in slot 1: the car must give 2 kW.
    problem = one_site(
        [{"soc_target": 0.0}],
        base_load_kw=[0.0, 6.0],
        import_price=[0.2, 0.2],
        import_limit_kw=4.0,
    )
    result = schedule(problem, "lp")
    assert result.status == "optimal"
    assert result.site_net_load_kw[1] <= 4.0 + 1e-7
    assert_optimal(problem, result)


def test_negative_prices_never_charge_and_discharge_at_once() -> None:
    # Paid to consume: the relaxation would burn energy by charging and discharging together.
    problem = one_site(
        [
            {
                "soc_initial": 0.9,
                "charge_efficiency": 0.9,
                "discharge_efficiency": 0.9,
                "soc_target": 0.0,
            }
        ],
        base_load_kw=[0.0, 0.0, 0.0],
        import_price=[-0.5, -0.5, 0.3],
        slot_minutes=60,
    )
    result = schedule(problem, "lp")
    assert result.solver.notes, "expected the lazy binaries to be used"
    assert_optimal(problem, result)


@settings(max_examples=60)
@given(problems())
def test_lp_equals_independent_formulation(problem) -> None:
    result = schedule(problem, "lp")
    reference = reference_optimum(problem)
    if not reference.feasible:
        assert result.status == "site_limit_exceeded"
        assert result.site_notes
        return
    report = verify(problem, result)
    assert report.ok, [str(v) for v in report.violations]
    assert result.solver.solver_objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=40)
@given(problems(negative_prices=True))
def test_lp_exact_with_negative_prices(problem) -> None:
    result = schedule(problem, "lp")
    reference = reference_optimum(problem)
    if reference.feasible:
        assert verify(problem, result).ok
        assert result.solver.solver_objective == pytest.approx(
            reference.objective, rel=1e-6, abs=1e-6
        )


@settings(max_examples=60)
@given(problems())
def test_lp_never_worse_than_uncontrolled(problem) -> None:
    optimal = schedule(problem, "lp")
    baseline = schedule(problem, "uncontrolled")
    # where the base load alone breaks a limit, the LP may pay to reduce the excess
    if verify(problem, baseline).ok and not baseline.site_notes:
        assert optimal.objective <= baseline.objective + 1e-6 * max(1.0, abs(baseline.objective))


def test_interior_point_agrees_with_simplex() -> None:

    problem = example_problem(30, seed=3)
    simplex = schedule(problem, "lp", solver="simplex")
    ipm = schedule(problem, "lp", solver="ipm")
    assert verify(problem, ipm).ok
    assert ipm.objective == pytest.approx(simplex.objective, rel=1e-6)


def test_peak_baseline_charges_only_the_increase() -> None:
    # The billing period already saw 3 kW: charging 2 kW per hour costs no demand charge.
    from voltpool.model import Tariff

    problem = one_site(
        [{"soc_initial": 0.1, "soc_target": 0.5, "max_discharge_kw": 0.0}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.1, 0.2],
        peak_price_per_kw=1.0,
    )
    tariff = problem.tariff
    with_baseline = type(problem)(
        problem.fleet,
        problem.site,
        Tariff(tariff.import_price_per_kwh, tariff.export_price_per_kwh, 1.0, peak_baseline_kw=3.0),
        problem.slot_minutes,
        problem.unmet_penalty_per_kwh,
    )
    result = schedule(with_baseline, "lp")
    # 4 kWh needed: 3 kW in the cheap hour (up to the baseline), 1 kW in the dear one.
    np.testing.assert_allclose(result.power_kw, [[3.0, 1.0]], atol=1e-7)
    assert result.objective_terms["peak_cost"] == pytest.approx(0.0, abs=1e-9)
    assert_optimal(with_baseline, result)


def test_a_horizon_into_the_next_billing_month_bills_each_months_peak() -> None:
    # Slots 0-1 end a month whose peak is already 3 kW; slots 2-3 start the next one (its
    # minimum 1 kW). 8 kWh needed at flat prices: 3 kW twice in the old month costs no demand
    # charge, the 2 kWh left go at 1 kW a slot in the new month (its minimum, free too).
    problem = one_site(
        [{"soc_initial": 0.1, "soc_target": 0.9, "max_discharge_kw": 0.0, "departure_slot": 4}],
        base_load_kw=[0.0] * 4,
        import_price=[0.1] * 4,
        peak_price_per_kw=5.0,
    )
    crossing = dataclasses.replace(
        problem,
        tariff=dataclasses.replace(
            problem.tariff, peak_baseline_kw=3.0, next_period=PeakPeriod(2, 5.0, 1.0)
        ),
    )
    result = schedule(crossing, "lp")
    np.testing.assert_allclose(result.power_kw, [[3.0, 3.0, 1.0, 1.0]], atol=1e-7)
    assert result.objective_terms["peak_cost"] == pytest.approx(0.0, abs=1e-9)
    assert_optimal(crossing, result)
    # One more kWh: 0.5 kW more in both slots of either month, 2.5 of demand charge.
    more = dataclasses.replace(
        crossing, fleet=dataclasses.replace(crossing.fleet, soc_target=np.array([1.0]))
    )
    result = schedule(more, "lp")
    assert result.objective_terms["peak_cost"] == pytest.approx(2.5, abs=1e-6)
    assert_optimal(more, result)


@pytest.mark.parametrize("seed", range(6))
def test_random_problems_crossing_a_billing_period_match_the_reference(seed: int) -> None:
    problem = example_problem(3, seed=seed)
    rng = np.random.default_rng(seed)
    tariff = dataclasses.replace(
        problem.tariff,
        peak_price_per_kw=float(rng.uniform(0.5, 3.0)),
        peak_baseline_kw=float(rng.uniform(0.0, 8.0)),
        next_period=PeakPeriod(int(rng.integers(1, 96)), float(rng.uniform(0.5, 3.0)), 2.5),
    )
    crossing = dataclasses.replace(problem, tariff=tariff)
    assert_optimal(crossing, schedule(crossing, "lp"))


def test_time_varying_import_limit() -> None:
    # A congestion event lowers the limit to 2 kW in slot 1 while the homes draw 4 kW.
    problem = one_site(
        [{"soc_target": 0.0}],
        base_load_kw=[4.0, 4.0],
        import_price=[0.2, 0.2],
        import_limit_kw=np.array([10.0, 2.0]),
    )
    result = schedule(problem, "lp")
    assert result.status == "optimal"
    assert result.power_kw[0, 1] == pytest.approx(-2.0)
    assert verify(problem, result).ok


@pytest.mark.slow
@settings(max_examples=600)
@given(problems(max_vehicles=5, max_slots=12, negative_prices=True))
def test_lp_equals_independent_formulation_many_examples(problem) -> None:
    """The exactness check on ten times more, larger problems (``make test-slow``)."""
    result = schedule(problem, "lp")
    reference = reference_optimum(problem)
    if not reference.feasible:
        assert result.status == "site_limit_exceeded"
        return
    assert verify(problem, result).ok
    assert result.solver.solver_objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=60)
@given(problems(wear=True))
def test_lp_with_wear_costs_equals_independent_formulation(problem) -> None:
    """Cycle-depth and SoC-dwell costs never make charging and discharging at once pay (no
    binaries for it; a car arriving below its reserve may still need the reserve's), same
    optimum."""
    result = schedule(problem, "lp")
    reference = reference_optimum(problem)
    if not reference.feasible:
        assert result.status == "site_limit_exceeded"
        return
    report = verify(problem, result)
    assert report.ok, [str(v) for v in report.violations]
    assert not any("at once" in note for note in result.solver.notes)
    assert result.solver.solver_objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)


def test_deep_cycles_cost_more_than_shallow_ones() -> None:
    """Depth-rising costs: V2G takes the shallow half of the battery, not the deep half."""
    from voltpool.model.wear import BatteryWear

    problem = one_site(
        [{"soc_initial": 1.0, "soc_target": 0.0, "max_discharge_kw": 8.0, "departure_slot": 1}],
        base_load_kw=[0.0],
        import_price=[0.5],
    )
    fleet = problem.fleet
    # 10 kWh in two 5 kWh depth segments: 0.01 per kWh from the top half, 0.6 from the bottom
    wear = BatteryWear(np.array([[0.01, 0.6]]), np.zeros(0), np.zeros((1, 0)))
    fields = {f: getattr(fleet, f) for f in fleet.__dataclass_fields__ if f != "wear"}
    problem = type(problem)(
        type(fleet)(**fields, wear=wear),
        problem.site,
        problem.tariff,
        problem.slot_minutes,
        problem.unmet_penalty_per_kwh,
    )
    result = schedule(problem, "lp")
    np.testing.assert_allclose(result.power_kw[:, 0], [-5.0], atol=1e-7)
    assert result.objective_terms["cycle_depth_cost"] == pytest.approx(5 * 0.01)
    assert_optimal(problem, result)


def test_non_convex_wear_is_refused() -> None:
    from voltpool.errors import ProblemError
    from voltpool.model.wear import BatteryWear

    with pytest.raises(ProblemError, match="must not decrease with depth"):
        BatteryWear(np.array([[0.2, 0.1]]), np.zeros(0), np.zeros((1, 0)))
    with pytest.raises(ProblemError, match="must be convex in soc"):
        BatteryWear(np.zeros((1, 0)), np.array([0.0, 0.5, 1.0]), np.array([[0.0, 1.0, 1.2]]))


def test_equal_depth_segments_are_solved_as_one_band() -> None:
    """Adjacent depth segments of one cost are one band of the LP (fewer columns), a car whose
    segments all cost the same has none (its cost is on the discharge), and the optimum is the
    independent formulation's, which keeps every segment."""
    price = [0.1] * 4 + [0.45] * 4 + [0.1] * 4
    common = {"capacity_kwh": 40.0, "soc_initial": 0.7, "soc_target": 0.7, "departure_slot": 12}
    banded = {"cycle_depth_cost_per_kwh": [0.01, 0.01, 0.04, 0.04]}
    flat = {"cycle_depth_cost_per_kwh": [0.03, 0.03, 0.03, 0.03]}
    distinct = {"cycle_depth_cost_per_kwh": [0.01, 0.02, 0.03, 0.04]}

    def problem(*batteries: dict[str, list[float]]):
        cars = [{**common, "battery": b} for b in batteries]
        return one_site(cars, base_load_kw=[1.0] * 12, import_price=price, export_price=price)

    def n_columns(p) -> int:
        return build_lp(p).cost.size

    merged = problem(banded, flat)
    assert n_columns(problem(banded)) - n_columns(problem(flat)) == 3 * 2 * 12  # two bands
    assert n_columns(problem(distinct)) - n_columns(problem(banded)) == 3 * 2 * 12  # four
    result = schedule(merged, "lp")
    assert (result.power_kw < 0).any(), "the evening price should be worth giving back"
    assert_optimal(merged, result)


def test_depth_bands_merge_equal_neighbours_and_keep_the_fill() -> None:
    """A 30 kWh car at 15 kWh with costs (0.01, 0.01, 0.02): the two shallow segments are one
    20 kWh band holding 5 kWh, the deep one holds its 10 kWh; a car of one cost is one band;
    no segments, no bands."""
    wear = BatteryWear(np.array([[0.01, 0.01, 0.02], [0.03] * 3]), np.zeros(0), np.zeros((2, 0)))
    bands = wear.depth_bands(np.array([30.0, 60.0]), np.array([15.0, 30.0]))
    assert bands.count.tolist() == [2, 1] and bands.first.tolist() == [0, 2]
    assert bands.cost_per_kwh.tolist() == [0.01, 0.02, 0.03]
    assert bands.size_kwh.tolist() == [20.0, 10.0, 60.0]
    assert bands.fill_kwh == pytest.approx([5.0, 10.0, 30.0])
    none = BatteryWear(np.zeros((2, 0)), np.zeros(0), np.zeros((2, 0)))
    assert none.depth_bands(np.array([30.0, 60.0]), np.array([15.0, 30.0])).count.tolist() == [0, 0]
