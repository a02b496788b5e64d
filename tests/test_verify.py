"""The verifier has teeth.

Its rules are distinct and named; a schedule from the LP passes every one of them; every
corruption of a good schedule is caught: a physical one with honest bookkeeping (power above
the charger, SoC below the floor, a site limit broken...) by the rule it breaks, and any change
of a single reported number by at least one rule. Every rule the verifier lists is shown to fire.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import problems
from voltpool.example import example_problem
from voltpool.model import Problem
from voltpool.schedule import Schedule, schedule, verify
from voltpool.schedule.assemble import assemble_schedule

RULE_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
SITE_RULES = {"import_limit", "export_limit"}


def honest(problem: Problem, good: Schedule, power_kw: np.ndarray) -> Schedule:
    """A schedule for ``power_kw`` whose SoC, site load, shortfall and costs all match it."""
    return assemble_schedule(problem, good.method, power_kw, good.solver, good.status)


def corruptions(problem: Problem, good: Schedule, n: int) -> dict[str, tuple[Schedule, str]]:
    """Corruptions of ``good`` around car ``n``, each with the rule that must catch it.

    A corruption that does not apply to this problem (no unplugged slot, no site limit, a car
    whose target is met without charging) is left out.
    """
    fleet, site = problem.fleet, problem.site
    dt_h, n_slots = problem.dt_h, problem.n_slots
    t0 = int(fleet.arrival_slot[n])  # first plugged slot; nothing moves before it
    capacity_kwh = float(fleet.capacity_kwh[n])
    energy_kwh = float(good.soc[n, t0]) * capacity_kwh
    ceiling_kwh = float(fleet.soc_max[n]) * capacity_kwh
    floor_kwh = min(float(fleet.soc_min[n]), float(fleet.soc_initial[n])) * capacity_kwh
    eta_charge = float(fleet.charge_efficiency[n])
    eta_discharge = float(fleet.discharge_efficiency[n])

    def one_slot(t: int, value_kw: float) -> Schedule:
        power = good.power_kw.copy()
        power[n, t] = value_kw
        return honest(problem, good, power)

    soc = good.soc.copy()
    soc[n, t0 + 1] += 0.01
    nan_soc = good.soc.copy()
    nan_soc[n, t0 + 1] = np.nan
    found = {
        "power above the charger limit": (
            one_slot(t0, float(fleet.max_charge_kw[n]) + 1.0),
            "charge_limit",
        ),
        "discharge above the charger limit": (
            one_slot(t0, -float(fleet.max_discharge_kw[n]) - 1.0),
            "discharge_limit",
        ),
        "SoC above the ceiling": (  # 1 kWh above it after slot t0
            one_slot(t0, (ceiling_kwh + 1.0 - energy_kwh) / (dt_h * eta_charge)),
            "soc_max",
        ),
        "SoC below the floor": (  # 1 kWh below it after slot t0
            one_slot(t0, (floor_kwh - 1.0 - energy_kwh) * eta_discharge / dt_h),
            "soc_min",
        ),
        "discharged below the reserve": (  # the same slot, seen by the reserve rule
            one_slot(t0, (floor_kwh - 1.0 - energy_kwh) * eta_discharge / dt_h),
            "reserve",
        ),
        "SoC misreported": (dataclasses.replace(good, soc=soc), "soc_consistency"),
        "a NaN reported": (dataclasses.replace(good, soc=nan_soc), "finite"),
        "site load misreported": (
            dataclasses.replace(good, site_net_load_kw=good.site_net_load_kw + 1.0),
            "site_balance",
        ),
        "a cost misreported": (
            dataclasses.replace(
                good,
                objective_terms={
                    **good.objective_terms,
                    "energy_cost": good.objective_terms["energy_cost"]
                    + 1e-3 * max(1.0, sum(abs(v) for v in good.objective_terms.values())),
                },
            ),
            "objective",
        ),
        "schedule shorter than the problem": (
            dataclasses.replace(good, power_kw=good.power_kw[:, :-1]),
            "shape",
        ),
    }
    outside = [t for t in (t0 - 1, int(fleet.departure_slot[n])) if 0 <= t < n_slots]
    if outside:
        found["power while unplugged"] = (one_slot(outside[0], 1.0), "unplugged_power")
    never_charged = good.power_kw.copy()
    never_charged[n] = 0.0
    missed = honest(problem, good, never_charged)
    if missed.shortfall_kwh[n] > good.shortfall_kwh[n] + 1e-3:
        found["missed target reported as met"] = (
            dataclasses.replace(missed, shortfall_kwh=good.shortfall_kwh),
            "shortfall",
        )
    # 1 kW beyond the limit, or beyond what the base load alone draws where it breaks the limit
    # (the vehicles may only reduce that excess)
    net = good.site_net_load_kw[t0]
    base = float(site.base_load_kw[t0])
    import_limit = float(site.import_limit_slots_kw[t0])
    if np.isfinite(import_limit):
        power_kw = float(good.power_kw[n, t0]) + max(import_limit, base) - net + 1.0
        found["site import above its limit"] = (one_slot(t0, power_kw), "import_limit")
    export_limit = float(site.export_limit_slots_kw[t0])
    if np.isfinite(export_limit):
        power_kw = float(good.power_kw[n, t0]) - max(export_limit, -base) - net - 1.0
        found["site export above its limit"] = (one_slot(t0, power_kw), "export_limit")
    return found


# --- one fixed neighbourhood night: every corruption applies, every rule fires ------------------

PROBLEM = example_problem(8, seed=5)
GOOD = schedule(PROBLEM, "lp")
CAR = next(
    n for n in range(PROBLEM.n_vehicles) if len(corruptions(PROBLEM, GOOD, n)) == 14
)  # a car plugged in late, with V2G, that needs charging to reach its target
CORRUPTIONS = corruptions(PROBLEM, GOOD, CAR)


def test_the_good_schedule_passes() -> None:
    assert verify(PROBLEM, GOOD).ok


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_is_caught_by_its_rule(name: str) -> None:
    corrupted, rule = CORRUPTIONS[name]
    assert rule in verify(PROBLEM, corrupted).rules_broken()


def test_every_rule_the_verifier_lists_is_shown_to_fire() -> None:
    checked = set(verify(PROBLEM, GOOD).checked)
    shown = {rule for _, rule in CORRUPTIONS.values()}
    assert checked <= shown, f"no corruption shows these rules can fire: {checked - shown}"


def test_discharging_below_the_reserve_over_a_whole_stay_is_caught() -> None:
    fleet = PROBLEM.fleet
    n = int(np.argmax(fleet.max_discharge_kw))
    power = GOOD.power_kw.copy()
    power[n, fleet.arrival_slot[n] : fleet.departure_slot[n]] = -fleet.max_discharge_kw[n]
    broken = verify(PROBLEM, honest(PROBLEM, GOOD, power)).rules_broken()
    assert broken == {"soc_min", "reserve"}


# --- random problems ------------------------------------------------------------------------------


def lp_and_limits(problem: Problem) -> tuple[Schedule, bool]:
    """The LP's schedule and whether its site limits hold (it exceeds them only when they
    cannot be kept; then the site rules are left out)."""
    result = schedule(problem, "lp")
    return result, result.status != "site_limit_exceeded"


@settings(max_examples=40)
@given(problems(wear=True) | problems(negative_prices=True))
def test_rules_are_distinct_named_and_an_lp_schedule_passes_them(problem: Problem) -> None:
    result, limits_hold = lp_and_limits(problem)
    report = verify(problem, result)
    assert len(set(report.checked)) == len(report.checked), report.checked
    assert all(RULE_NAME.fullmatch(rule) for rule in report.checked), report.checked
    assert report.rules_broken() <= set(report.checked)
    without_site = verify(problem, result, check_site_limits=False)
    assert set(report.checked) - set(without_site.checked) == SITE_RULES
    assert without_site.ok, [str(v) for v in without_site.violations]
    if limits_hold:
        assert report.ok, [str(v) for v in report.violations]
    else:
        assert report.rules_broken() <= SITE_RULES


@settings(max_examples=40)
@given(problems(), st.data())
def test_every_corruption_of_a_random_schedule_is_caught_by_its_rule(
    problem: Problem, data: st.DataObject
) -> None:
    good, limits_hold = lp_and_limits(problem)
    n = data.draw(st.integers(0, problem.n_vehicles - 1), label="car")
    for name, (corrupted, rule) in corruptions(problem, good, n).items():
        if rule in SITE_RULES and not limits_hold:
            continue
        report = verify(problem, corrupted, check_site_limits=limits_hold)
        assert rule in report.rules_broken(), f"{name}: {[str(v) for v in report.violations]}"
        assert report.rules_broken() <= set(report.checked)


@settings(max_examples=60)
@given(problems(), st.data())
def test_changing_any_single_reported_number_is_caught(
    problem: Problem, data: st.DataObject
) -> None:
    good, limits_hold = lp_and_limits(problem)
    field = data.draw(
        st.sampled_from(["power_kw", "soc", "site_net_load_kw", "shortfall_kwh", "objective_terms"])
    )
    step = data.draw(st.sampled_from([-10.0, -0.01, 0.01, 1.0]), label="step")
    if field == "objective_terms":
        term = data.draw(st.sampled_from(sorted(good.objective_terms)), label="term")
        scale = max(1.0, sum(abs(v) for v in good.objective_terms.values()))
        terms = {**good.objective_terms, term: good.objective_terms[term] + step * scale}
        corrupted = dataclasses.replace(good, objective_terms=terms)
    else:
        values = np.array(getattr(good, field), dtype=float)
        index = tuple(data.draw(st.integers(0, size - 1)) for size in values.shape)
        values[index] += step if field != "soc" else step / 100
        corrupted = dataclasses.replace(good, **{field: values})
    report = verify(problem, corrupted, check_site_limits=limits_hold)
    assert not report.ok, f"{field} changed by {step} went unnoticed"


# --- the reserve means reserve ----------------------------------------------------------------

REPRODUCER = {  # issue 11: a car arriving at 10 % with a 30 % reserve, cheap then dear hours
    "format_version": 1,
    "slot_minutes": 60,
    "site": {"base_load_kw": [1, 1, 1, 1]},
    "tariff": {"import_price_per_kwh": [0.05, 0.05, 0.50, 0.50]},
    "vehicles": [
        {
            "id": "ev",
            "capacity_kwh": 10,
            "soc_initial": 0.1,
            "soc_min": 0.3,
            "soc_max": 1.0,
            "soc_target": 0.1,
            "arrival_slot": 0,
            "departure_slot": 4,
            "max_charge_kw": 2,
            "max_discharge_kw": 2,
            "charge_efficiency": 1,
            "discharge_efficiency": 1,
        }
    ],
}


def test_giving_back_below_the_reserve_is_caught() -> None:
    """The old LP's plan: charged 10 -> 50 %, then V2G back down to 10 % (below the 30 %)."""
    from voltpool.io import problem_from_dict

    problem = problem_from_dict(REPRODUCER)
    good = schedule(problem, "lp")
    old = honest(problem, good, np.array([[2.0, 2.0, -2.0, -2.0]]))
    report = verify(problem, old)
    assert report.rules_broken() == {"reserve"}
    assert "slot 3" in str(report.violations[0])


def test_the_reproducer_never_gives_below_the_reserve() -> None:
    from voltpool.io import problem_from_dict

    problem = problem_from_dict(REPRODUCER)
    result = schedule(problem, "lp")
    assert verify(problem, result).ok
    soc = result.soc[0]
    reached = np.flatnonzero(soc >= 0.3 - 1e-9)[0]
    assert (soc[reached:] >= 0.3 - 1e-9).all()  # never below 0.3 once reached
    assert result.status == "optimal"
    # the best it can do: charge 4 kWh at 0.05, give 2 kWh back at 0.50 (not 4)
    np.testing.assert_allclose(result.power_kw[0, :2], [2.0, 2.0], atol=1e-6)
    assert -result.power_kw[0, 2:].sum() == pytest.approx(2.0, abs=1e-6)
