"""Discharge blocks book the wear the LP weighs: cycle depth, and the calendar ageing it saves.

A block's net wear is what the objective's wear terms lose when that block's discharge is taken
out of the plan (the SoC trajectory recomputed); its cycling is the cycle-depth cost booked in
its own slots, so the blocks' cycling adds up to the plan's ``cycle_depth_cost``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from helpers import one_site
from voltpool.battery.calibrate import calibrate
from voltpool.model import Problem
from voltpool.schedule import schedule
from voltpool.schedule.explain import DischargeBlock, discharge_blocks
from voltpool.schedule.objective import objective_terms, site_net_load_kw

WEAR_TERMS = ("degradation_cost", "cycle_depth_cost", "soc_dwell_cost", "charge_rate_cost")
N_SLOTS = 54
"""18:00 to 07:30 in quarter hours: the calibration's standard commute plug-in."""


def wear_terms(problem: Problem, power_kw: np.ndarray) -> float:
    terms = objective_terms(problem, power_kw, np.zeros(problem.fleet.n_vehicles))
    return sum(terms[term] for term in WEAR_TERMS)


def without(power_kw: np.ndarray, problem: Problem, block: DischargeBlock) -> np.ndarray:
    """The plan with the block's discharge taken out (everything else kept)."""
    n = problem.fleet.ids.index(block.vehicle_id)
    power = power_kw.copy()
    power[n, block.start_slot : block.end_slot] = 0.0
    return power


def blocks_of(problem: Problem, power_kw: np.ndarray) -> list[DischargeBlock]:
    return discharge_blocks(problem, power_kw, site_net_load_kw(problem, power_kw))


def night(vehicles: list[dict[str, Any]]) -> Problem:
    """Evening peak 18:00-21:00 at 0.40, night at 0.10: a 60 kWh car gives 30 % back at once."""
    price = np.full(N_SLOTS, 0.10)
    price[:12] = 0.40
    common = {
        "capacity_kwh": 60.0,
        "soc_initial": 0.55,
        "soc_target": 0.8,
        "departure_slot": N_SLOTS,
        "max_charge_kw": 6.0,
        "max_discharge_kw": 6.0,
    }
    return one_site(
        [{**common, **v} for v in vehicles],
        base_load_kw=[0.0] * N_SLOTS,
        import_price=list(price),
        export_price=list(0.9 * price),
        slot_minutes=15,
    )


@pytest.fixture(scope="module")
def nca_battery() -> dict[str, object]:
    return calibrate("nca", 120.0).battery_block(60.0)


def test_nca_block_books_the_calendar_saving(nca_battery: dict[str, object]) -> None:
    problem = night([{"battery": nca_battery}])
    power = schedule(problem, "lp").power_kw
    (block,) = blocks_of(problem, power)
    assert block.energy_kwh == pytest.approx(18.0)  # 55 % -> 25 % of 60 kWh, lossless
    net = wear_terms(problem, power) - wear_terms(problem, without(power, problem, block))
    assert block.wear == pytest.approx(net, abs=1e-9)
    assert block.cycling_wear + block.calendar_wear == pytest.approx(net, abs=1e-9)
    # the cycle depth is what the calibration books for this V2G (costs rounded to 1e-6)
    booked = calibrate("nca", 120.0).v2g_booked_per_kwh(0.25)["cycle_depth_cost"]
    assert block.cycling_wear / block.energy_kwh == pytest.approx(booked, rel=1e-3)
    # sitting 30 % lower until the morning ages the NCA cell less: the net is below the cycling
    assert block.calendar_wear < 0 < block.wear < block.cycling_wear
    assert block.wear_per_kwh == pytest.approx(net / block.energy_kwh)
    assert block.later_cycling_wear == block.throughput_wear == 0.0
    words = block.wear_words("EUR")
    assert words.startswith(f"wear {block.wear:.2f} EUR (cycling ")
    assert "calendar -" in words and "throughput" not in words
    assert block.wear_words() in str(block)


def test_net_wear_is_the_objective_difference_for_every_block(
    nca_battery: dict[str, object],
) -> None:
    """Two cars with losses and a throughput cost, one without dwell cost."""
    cycle_only = {"cycle_depth_cost_per_kwh": nca_battery["cycle_depth_cost_per_kwh"]}
    problem = night(
        [
            {
                "battery": nca_battery,
                "charge_efficiency": 0.9,
                "discharge_efficiency": 0.9,
                "degradation_cost_per_kwh": 0.01,
            },
            {"battery": cycle_only, "soc_initial": 0.7, "discharge_efficiency": 0.95},
        ]
    )
    power = schedule(problem, "lp").power_kw
    blocks = blocks_of(problem, power)
    assert {b.vehicle_id for b in blocks} == {"v0", "v1"}
    plan = wear_terms(problem, power)
    for block in blocks:
        net = plan - wear_terms(problem, without(power, problem, block))
        assert block.wear == pytest.approx(net, abs=1e-9)
    first, second = (next(b for b in blocks if b.vehicle_id == v) for v in ("v0", "v1"))
    assert first.throughput_wear == pytest.approx(0.01 * first.energy_kwh)
    assert first.calendar_wear < 0
    # no dwell cost: the cycle cost only
    assert second.calendar_wear == 0.0
    assert second.wear == pytest.approx(second.cycling_wear) and second.cycling_wear > 0
    assert second.wear_words() == f"wear {second.wear:.2f} (cycling {second.cycling_wear:.2f})"
    cycling = objective_terms(problem, power, np.zeros(2))["cycle_depth_cost"]
    assert sum(b.cycling_wear for b in blocks) == pytest.approx(cycling, abs=1e-9)


def test_a_block_that_pushes_a_later_discharge_deeper() -> None:
    """9 kWh in three 3 kWh segments, 4.5 kWh at first (the deepest full, the middle half).

    Giving 1.5 kWh empties the middle segment; the 3 kWh recharge fills the shallowest, so
    the later 4.5 kWh discharge reaches the deepest segment. Without the first block it stops
    in the middle one: the first block costs its own 1.5 kWh in the middle segment plus
    1.5 kWh moved from the middle to the deepest segment later.
    """
    costs = [0.01, 0.02, 0.06]
    problem = one_site(
        [
            {
                "capacity_kwh": 9.0,
                "departure_slot": 3,
                "soc_target": 0.0,
                "max_charge_kw": 5.0,
                "max_discharge_kw": 5.0,
                "battery": {
                    "cycle_depth_cost_per_kwh": costs,
                    "soc_dwell_cost_per_h": {"soc": [0.0, 1.0], "cost": [0.0, 0.09]},
                },
            }
        ],
        base_load_kw=[0.0] * 3,
        import_price=[0.3, 0.1, 0.3],
    )
    power = np.array([[-1.5, 3.0, -4.5]])
    early, late = blocks_of(problem, power)
    assert early.cycling_wear == pytest.approx(1.5 * costs[1])
    assert late.cycling_wear == pytest.approx(3.0 * costs[0] + 1.5 * costs[2])
    assert early.later_cycling_wear == pytest.approx(1.5 * (costs[2] - costs[1]))
    assert late.later_cycling_wear == 0.0  # nothing discharges after it
    # 0.09 EUR/h at full, linear: 1.5 kWh lower after each of the three 1 h slots
    assert early.calendar_wear == pytest.approx(-3 * 0.09 * 1.5 / 9)
    plan = wear_terms(problem, power)
    for block in (early, late):
        net = plan - wear_terms(problem, without(power, problem, block))
        assert block.wear == pytest.approx(net, abs=1e-9)
    assert "deeper later cycles 0.06" in early.wear_words()
    cycling = objective_terms(problem, power, np.zeros(1))["cycle_depth_cost"]
    assert early.cycling_wear + late.cycling_wear == pytest.approx(cycling, abs=1e-12)


def test_without_battery_costs_the_wear_is_the_throughput_cost() -> None:
    problem = one_site(
        [{"departure_slot": 3, "degradation_cost_per_kwh": 0.05}],
        base_load_kw=[0.0] * 3,
        import_price=[0.3] * 3,
    )
    (block,) = blocks_of(problem, np.array([[-2.0, -2.0, 0.0]]))
    assert (block.cycling_wear, block.later_cycling_wear, block.calendar_wear) == (0, 0, 0)
    assert block.wear == pytest.approx(0.2) and block.wear_per_kwh == pytest.approx(0.05)
    assert block.wear_words("EUR") == "wear 0.20 EUR (throughput 0.20)"
