"""Shortfalls come with plain-words reasons; the baseline acts like today's chargers."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import one_site
from voltpool.schedule import schedule, verify


def test_uncontrolled_charges_flat_out_on_arrival_until_target() -> None:
    problem = one_site(
        [
            {
                "soc_initial": 0.2,
                "soc_target": 0.7,
                "arrival_slot": 1,
                "departure_slot": 4,
                "max_charge_kw": 2.0,
                "charge_efficiency": 0.9,
            }
        ],
        base_load_kw=[0.0] * 5,
        import_price=[0.1] * 5,
    )
    result = schedule(problem, "uncontrolled")
    # needs 5 kWh in the battery = 5/0.9 kWh at the AC side: 2, 2, 1.5556 kW
    np.testing.assert_allclose(result.power_kw[0], [0, 2, 2, 5 / 0.9 - 4, 0], atol=1e-9)
    assert result.soc[0, -1] == pytest.approx(0.7)
    assert result.discharged_kwh == 0.0
    assert verify(problem, result).ok


def test_too_short_a_stay_is_explained() -> None:
    problem = one_site(
        [{"soc_initial": 0.1, "soc_target": 0.9, "departure_slot": 1, "max_charge_kw": 3.0}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.1, 0.1],
    )
    for method in ("lp", "uncontrolled"):
        result = schedule(problem, method)
        assert result.shortfall_kwh[0] == pytest.approx(5.0)
        assert "plugged in too short or charger too slow" in result.reasons[0]
        assert "reaches at most 40%" in result.reasons[0]


def test_site_import_limit_is_explained() -> None:
    problem = one_site(
        [
            {"soc_initial": 0.1, "soc_target": 0.9, "max_discharge_kw": 0.0},
            {"soc_initial": 0.1, "soc_target": 0.9, "max_discharge_kw": 0.0},
        ],
        base_load_kw=[1.0, 1.0],
        import_price=[0.1, 0.1],
        import_limit_kw=5.0,
    )
    result = schedule(problem, "lp")
    assert result.status == "optimal"
    assert result.shortfall_kwh.sum() == pytest.approx(16.0 - 8.0)
    assert all("site import limit 5 kW reached in 2 of its 2" in r for r in result.reasons if r)


def test_cheap_penalty_is_explained_as_a_choice() -> None:
    problem = one_site(
        [{"soc_initial": 0.1, "soc_target": 0.5, "max_discharge_kw": 0.0}],
        base_load_kw=[0.0, 0.0],
        import_price=[0.3, 0.4],
        unmet_penalty_per_kwh=0.1,
    )
    result = schedule(problem, "lp")
    assert result.shortfall_kwh[0] == pytest.approx(4.0)
    assert result.reasons[0] == (
        "4.00 kWh short: the energy is worth more than the unmet penalty (0.1 per kWh); "
        "energy costs 0.3 to 0.4 per kWh while it is plugged in"
    )


def test_base_load_above_the_limit_gives_best_effort_and_a_note() -> None:
    # 10 kW base load against a 6 kW limit; the car can give at most 3 kW: 1 kW must remain.
    problem = one_site(
        [{"soc_target": 0.0, "max_discharge_kw": 3.0}],
        base_load_kw=[10.0, 2.0],
        import_price=[0.2, 0.2],
        import_limit_kw=6.0,
    )
    result = schedule(problem, "lp")
    assert result.status == "site_limit_exceeded"
    assert result.power_kw[0, 0] == pytest.approx(-3.0)
    assert result.site_net_load_kw[0] == pytest.approx(7.0)
    assert "site import limit 6 kW exceeded in 1 slot(s)" in result.site_notes[0]
    assert "the base load alone breaks it there" in result.site_notes[0]
    # the vehicles did not add to it (they took 3 kW off): the plan keeps every rule
    assert verify(problem, result).ok


def test_uncontrolled_overloading_the_site_is_flagged() -> None:
    problem = one_site(
        [{"soc_initial": 0.0, "soc_target": 1.0, "max_charge_kw": 11.0}],
        base_load_kw=[2.0, 2.0],
        import_price=[0.2, 0.2],
        import_limit_kw=8.0,
    )
    assert schedule(problem, "uncontrolled").status == "site_limit_exceeded"
    assert schedule(problem, "lp").status == "optimal"


def test_site_notes_name_the_cause() -> None:
    base_over = one_site(
        [{"soc_target": 0.0, "max_discharge_kw": 1.0}],
        base_load_kw=[10.0, 2.0],
        import_price=[0.2, 0.2],
        import_limit_kw=6.0,
    )
    assert "the base load alone breaks it there" in schedule(base_over, "lp").site_notes[0]
    cars_over = one_site(
        [{"soc_initial": 0.0, "soc_target": 1.0, "max_charge_kw": 11.0}],
        base_load_kw=[2.0, 2.0],
        import_price=[0.2, 0.2],
        import_limit_kw=8.0,
    )
    note = schedule(cars_over, "uncontrolled").site_notes[0]
    assert "the vehicles' power pushes the site over it" in note


def test_discharge_blocks_show_worth_against_wear() -> None:
    from voltpool.schedule.explain import discharge_blocks

    # 1 h slots: charge at 0.1, give back 4 kW in slots 1-2 at 0.5 and 0.4 (site imports)
    problem = one_site(
        [
            {
                "soc_initial": 0.5,
                "soc_target": 0.5,
                "departure_slot": 4,
                "degradation_cost_per_kwh": 0.05,
            }
        ],
        base_load_kw=[0.0, 6.0, 6.0, 0.0],
        import_price=[0.1, 0.5, 0.4, 0.1],
    )
    result = schedule(problem, "lp")
    blocks = discharge_blocks(problem, result.power_kw, result.site_net_load_kw)
    assert len(blocks) == 1
    block = blocks[0]
    assert (block.start_slot, block.end_slot) == (1, 3)
    assert block.energy_kwh == pytest.approx(-result.power_kw[0, 1:3].sum())
    expected_worth = -(result.power_kw[0, 1] * 0.5 + result.power_kw[0, 2] * 0.4)
    assert block.worth_per_kwh == pytest.approx(expected_worth / block.energy_kwh)
    assert block.wear_per_kwh == pytest.approx(0.05)
    assert "worth" in str(block) and "battery wear 0.050/kWh" in str(block)
