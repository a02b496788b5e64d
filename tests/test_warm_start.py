"""Warm starts: a re-solve from the previous plan's simplex basis (HiGHS ``setBasis``) reaches
the same optimum as a cold solve, after every kind of small change an event brings, and a
basis that does not fit is ignored (a cold solve), never an error or a worse plan."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import problems, random_wear
from voltpool.control import CarTable, Controller, Observation, PlanningConfig, ProblemForecast
from voltpool.example import example_problem, sunny_surplus_problem
from voltpool.model import Problem
from voltpool.schedule import Basis, Schedule, schedule, verify
from voltpool.schedule.result import BASIS_BASIC

CHANGES = ("departure", "soc", "target", "price", "site_limit", "arrival", "leaves")


def with_fleet(problem: Problem, **fields: object) -> Problem:
    return dataclasses.replace(problem, fleet=dataclasses.replace(problem.fleet, **fields))


def small_change(problem: Problem, kind: str, rng: np.random.Generator) -> Problem:
    """``problem`` after one event of ``kind`` (one car, one slot or one limit)."""
    fleet = problem.fleet
    n = int(rng.integers(fleet.n_vehicles))
    if kind == "departure":  # earlier or later, within the horizon, after the arrival
        departure = fleet.departure_slot.copy()
        moved = departure[n] + int(rng.choice([-6, -3, -1, 1, 3, 6]))
        departure[n] = int(np.clip(moved, fleet.arrival_slot[n] + 1, problem.n_slots))
        return with_fleet(problem, departure_slot=departure)
    if kind == "soc":
        soc = fleet.soc_initial.copy()
        soc[n] = float(np.clip(soc[n] + rng.uniform(-0.2, 0.2), 0.0, fleet.soc_max[n]))
        return with_fleet(problem, soc_initial=soc)
    if kind == "target":
        target = fleet.soc_target.copy()
        target[n] = float(rng.uniform(0.0, fleet.soc_max[n]))
        return with_fleet(problem, soc_target=target)
    if kind == "price":
        prices = problem.tariff.import_price_per_kwh.copy()
        t = int(rng.integers(problem.n_slots))
        prices[t] *= float(rng.uniform(0.5, 1.5))
        exports = np.minimum(problem.tariff.export_price_per_kwh, prices)
        tariff = dataclasses.replace(
            problem.tariff, import_price_per_kwh=prices, export_price_per_kwh=exports
        )
        return dataclasses.replace(problem, tariff=tariff)
    if kind == "site_limit":
        site = problem.site
        limit = site.import_limit_slots_kw.copy()
        t = int(rng.integers(problem.n_slots))
        finite = np.where(np.isfinite(limit), limit, site.base_load_kw.max() + 20.0)
        limit[t : t + 4] = finite[t : t + 4] * float(rng.uniform(0.7, 0.95))
        return dataclasses.replace(problem, site=dataclasses.replace(site, import_limit_kw=limit))
    keep = np.arange(fleet.n_vehicles)
    if kind == "leaves":  # a car unplugs for good
        keep = keep[keep != n] if fleet.n_vehicles > 1 else keep
    elif kind == "arrival":  # another car plugs in (a copy of car n under a new id)
        keep = np.append(keep, n)
    else:
        raise ValueError(kind)
    ids = [fleet.ids[i] for i in keep]
    if kind == "arrival":
        ids[-1] = "newcomer"
    arrays = {
        f.name: getattr(fleet, f.name)[keep]
        for f in dataclasses.fields(fleet)
        if isinstance(getattr(fleet, f.name), np.ndarray)
    }
    if fleet.wear is not None:
        arrays["wear"] = fleet.wear.take(keep)
    if fleet.rules is not None:
        arrays["rules"] = fleet.rules.take(keep)
    return with_fleet(problem, ids=tuple(ids), **arrays)


def assert_same_optimum(problem: Problem, warm: Schedule, cold: Schedule) -> None:
    report = verify(problem, warm)
    assert report.ok, [str(v) for v in report.violations]
    assert warm.solver.status == cold.solver.status == "optimal"
    assert warm.solver.solver_objective == pytest.approx(
        cold.solver.solver_objective, rel=1e-6, abs=1e-6
    )
    assert warm.objective == pytest.approx(cold.objective, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("kind", CHANGES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_warm_start_after_a_small_change_is_the_cold_optimum(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem = example_problem(int(rng.integers(10, 40)), seed=seed)
    first = schedule(problem, "lp")
    assert first.solver.start == "cold"
    assert first.solver.basis is not None
    changed = small_change(problem, kind, rng)
    warm = schedule(changed, "lp", warm_start=first.solver.basis)
    cold = schedule(changed, "lp")
    assert_same_optimum(changed, warm, cold)
    same_layout = kind in ("soc", "target", "price", "site_limit") or (
        np.array_equal(changed.fleet.departure_slot, problem.fleet.departure_slot)
    )
    assert warm.solver.start == ("warm" if same_layout else "mapped")
    assert warm.solver.basis is not None  # and the next re-plan can start from this one
    again = schedule(small_change(changed, "price", rng), "lp", warm_start=warm.solver.basis)
    assert again.solver.start == "warm"


@settings(max_examples=40)
@given(problems(max_vehicles=4, max_slots=12), st.sampled_from(CHANGES), st.integers(0, 99))
def test_warm_start_on_random_problems(problem: Problem, kind: str, seed: int) -> None:
    basis = schedule(problem, "lp").solver.basis
    changed = small_change(problem, kind, np.random.default_rng(seed))
    warm = schedule(changed, "lp", warm_start=basis)
    assert warm.solver.start in ("warm", "mapped", "cold")
    assert_same_optimum(changed, warm, schedule(changed, "lp"))


def test_a_basis_of_another_site_is_ignored() -> None:
    problem = example_problem(20, seed=3)
    basis = schedule(example_problem(20, seed=4), "lp").solver.basis
    others = with_fleet(problem, ids=tuple(f"x{i}" for i in range(20)))
    for target in (problem, others):  # same ids but other windows: mapped; no ids: cold
        warm = schedule(target, "lp", warm_start=basis)
        assert_same_optimum(target, warm, schedule(target, "lp"))
    assert schedule(others, "lp", warm_start=basis).solver.start == "cold"


def test_a_basis_that_is_no_basis_is_rejected_quietly() -> None:
    problem = example_problem(12, seed=5)
    key = schedule(problem, "lp").solver.basis.key  # type: ignore[union-attr]
    everything_basic = Basis(
        key,
        np.full(key.n_columns, BASIS_BASIC, dtype=np.int8),
        np.full(key.n_rows, BASIS_BASIC, dtype=np.int8),
    )
    warm = schedule(problem, "lp", warm_start=everything_basic)
    assert warm.solver.start == "cold"
    assert_same_optimum(problem, warm, schedule(problem, "lp"))


def test_a_basis_from_plain_arrays_warm_starts() -> None:
    """What a service stores (two int8 arrays and the key) is enough to warm-start."""
    problem = example_problem(15, seed=6)
    stored = schedule(problem, "lp").solver.basis
    assert stored is not None
    plain = Basis(stored.key, stored.col_status.copy(), stored.row_status.copy())
    changed = small_change(problem, "soc", np.random.default_rng(6))
    warm = schedule(changed, "lp", warm_start=plain)
    assert warm.solver.start == "warm"
    assert_same_optimum(changed, warm, schedule(changed, "lp"))


def test_interior_point_ignores_a_warm_start_and_has_no_basis() -> None:
    problem = example_problem(10, seed=7)
    basis = schedule(problem, "lp").solver.basis
    ipm = schedule(problem, "lp", solver="ipm", warm_start=basis)
    assert ipm.solver.start == "cold"
    assert ipm.solver.basis is None
    assert schedule(problem, "lp", warm_start=basis).solver.name.endswith("simplex")


@pytest.mark.parametrize("kind", ["leaves", "arrival", "departure"])
def test_wear_blocks_warm_start_as_they_are_and_map_onto_another_layout(kind: str) -> None:
    problem = example_problem(8, seed=8)
    problem = with_fleet(problem, wear=random_wear(np.random.default_rng(8), 8))
    basis = schedule(problem, "lp").solver.basis
    assert basis is not None and not basis.key.core_only and basis.key.mappable
    rng = np.random.default_rng(8)
    priced = small_change(problem, "price", rng)
    warm = schedule(priced, "lp", warm_start=basis)
    assert warm.solver.start == "warm"
    assert_same_optimum(priced, warm, schedule(priced, "lp"))
    moved = small_change(problem, kind, rng)
    mapped = schedule(moved, "lp", warm_start=basis)
    assert mapped.solver.start == "mapped"
    assert_same_optimum(moved, mapped, schedule(moved, "lp"))


@pytest.mark.parametrize("shift", [0, 4])
def test_a_wear_basis_mapped_onto_its_own_layout_is_itself(shift: int) -> None:
    """Mapping by labels is exact: every wear column and row finds its own status again, on
    the same LP and on the LP of the same cars a few slots later (what both hold in common)."""
    from voltpool.schedule.exact import basis_key, map_basis
    from voltpool.schedule.lp import build_lp

    rng = np.random.default_rng(3)
    problem = example_problem(6, seed=3)
    problem = with_fleet(
        problem,
        arrival_slot=np.zeros(6, dtype=np.int64),
        departure_slot=np.full(6, problem.n_slots),
        wear=random_wear(rng, 6),
    )
    solved = schedule(problem, "lp").solver.basis
    assert solved is not None
    lp = build_lp(problem)
    n_core = lp.layout.n_columns
    assert lp.extra_columns is not None and lp.extra_columns.shape[0] == lp.cost.size - n_core
    statuses = map_basis(solved.shifted(shift), lp, basis_key(problem, lp))
    assert statuses is not None
    col, _row = statuses
    extra = lp.extra_columns
    k = extra[:, 1]
    slot = lp.layout.slot[k]
    kept = slot + shift < problem.n_slots  # the car-slots both LPs hold
    old_k = lp.layout.start[lp.layout.vehicle[k]] + slot + shift
    old = {tuple(row): i for i, row in enumerate(extra.tolist())}
    pairs = zip(extra[kept].tolist(), old_k[kept].tolist(), strict=True)
    want = [old[(kind, ok, j)] for (kind, _k, j), ok in pairs]
    got = col[n_core:][kept]
    expected = solved.col_status[n_core:][want]
    if shift == 0:
        assert np.array_equal(col, solved.col_status)
    else:  # the basic count is set right afterwards: a few may have left the basis
        assert np.mean(got == expected) > 0.9


@pytest.mark.parametrize(("n_cars", "seed"), [(6, 1), (10, 0), (20, 1)])
def test_warm_start_where_the_relaxation_needs_binaries(n_cars: int, seed: int) -> None:
    """Sunny surplus days break the LP's relaxed rules: the binaries come after the first LP,
    which alone starts from the basis; the answer is the same exact optimum (each within
    branch and bound's relative gap of 1e-6)."""
    problem = sunny_surplus_problem(n_cars, seed=seed)
    first = schedule(problem, "lp")
    assert first.solver.notes  # the exact steps ran
    assert first.solver.basis is not None
    assert first.solver.basis.key.n_columns == first.solver.basis.col_status.size
    changed = small_change(problem, "target", np.random.default_rng(seed))
    warm = schedule(changed, "lp", warm_start=first.solver.basis)
    cold = schedule(changed, "lp")
    assert warm.solver.start == "warm"
    assert verify(changed, warm).ok
    assert warm.solver.status == cold.solver.status == "optimal"
    assert warm.objective == pytest.approx(cold.objective, rel=2e-6, abs=1e-6)


def test_controller_plan_passes_the_basis_through() -> None:
    problem = example_problem(25, seed=9)
    fleet = problem.fleet
    controller = Controller(
        CarTable.from_fleet(fleet), ProblemForecast(problem), PlanningConfig(horizon_slots=48)
    )
    on_grid = np.ones(fleet.n_vehicles, dtype=bool)
    t = int(fleet.arrival_slot.max())
    observed = Observation(t, fleet.energy_initial_kwh, on_grid, fleet.departure_slot)
    first = controller.plan(observed)
    assert first.basis is not None and first.schedule is not None
    assert first.schedule.solver.start == "cold"

    energy = fleet.energy_initial_kwh.copy()
    energy[3] = min(energy[3] + 5.0, fleet.energy_ceiling_kwh[3])  # a new reading
    now = dataclasses.replace(observed, energy_kwh=energy)
    warm = controller.plan(now, warm_start=first.basis)
    cold = controller.plan(now)
    assert warm.schedule is not None and cold.schedule is not None and warm.problem is not None
    assert warm.schedule.solver.start == "warm"
    assert_same_optimum(warm.problem, warm.schedule, cold.schedule)

    later = Observation(t + 4, energy, on_grid, fleet.departure_slot)  # an hour on
    shifted = controller.plan(later, warm_start=warm.basis.shifted(4))  # type: ignore[union-attr]
    cold_later = controller.plan(later)
    assert shifted.schedule is not None and cold_later.schedule is not None
    assert shifted.problem is not None
    assert shifted.schedule.solver.start == "mapped"
    assert_same_optimum(shifted.problem, shifted.schedule, cold_later.schedule)


def test_controller_step_still_plans_cold() -> None:
    """The simulator solves cold, so a simulated run does not depend on which optimum a warm
    start would land on (see the controller's docstring)."""
    problem = example_problem(10, seed=10)
    fleet = problem.fleet
    controller = Controller(
        CarTable.from_fleet(fleet), ProblemForecast(problem), PlanningConfig(horizon_slots=32)
    )
    on_grid = np.ones(fleet.n_vehicles, dtype=bool)
    t = int(fleet.arrival_slot.max())
    for step in range(5):
        observed = Observation(t + step, fleet.energy_initial_kwh, on_grid, fleet.departure_slot)
        setpoints = controller.step(observed)
        assert setpoints.power_kw.shape == (fleet.n_vehicles,)
    assert controller.plan_count == 2
