"""Bad input gets an error that names the field and the rule; all problems are reported at once."""

from __future__ import annotations

import copy

import pytest

from helpers import one_site
from voltpool.errors import ProblemError
from voltpool.example import example_problem
from voltpool.io import problem_from_dict, problem_to_dict

GOOD = problem_to_dict(example_problem(3, seed=1))


def errors_for(mutate) -> list[str]:
    document = copy.deepcopy(GOOD)
    mutate(document)
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    return [str(issue) for issue in caught.value.issues]


def set_vehicle(index: int, **fields):
    def mutate(document):
        document["vehicles"][index].update(fields)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            set_vehicle(1, departure_slot=10, arrival_slot=20),
            "vehicles[1].departure_slot (id 'ev-0002'): 10 must be after arrival_slot (20)",
        ),
        (
            set_vehicle(0, soc_initial=1.2),
            "vehicles[0].soc_initial: 1.2 is greater than the maximum of 1",
        ),
        (
            set_vehicle(2, soc_target=0.95, soc_max=0.9),
            "vehicles[2].soc_target (id 'ev-0003'): 0.95 must be <= soc_max (0.9)",
        ),
        (
            set_vehicle(0, charge_efficiency=0.0),
            "vehicles[0].charge_efficiency: 0.0 is less than or equal to the minimum of 0",
        ),
        (
            set_vehicle(0, discharge_efficiency=1.5),
            "vehicles[0].discharge_efficiency: 1.5 is greater than the maximum of 1",
        ),
        (
            set_vehicle(1, max_discharge_kw=-3.0),
            "vehicles[1].max_discharge_kw: -3.0 is less than the minimum of 0",
        ),
        (
            set_vehicle(0, departure_slot=500),
            "vehicles[0].departure_slot (id 'ev-0001'): 500 must be <= the number of slots (96)",
        ),
        (
            set_vehicle(1, id="ev-0001"),
            "vehicles[1].id: 'ev-0001' repeats vehicles[0].id; ids must be unique",
        ),
        (
            set_vehicle(0, capacity_kwh="sixty"),
            "vehicles[0].capacity_kwh: 'sixty' is not of type 'number'",
        ),
        (
            set_vehicle(0, arrival_slot=2.5),
            "vehicles[0].arrival_slot: 2.5 is not of type 'integer'",
        ),
        (
            set_vehicle(0, soc_min=0.95, soc_max=0.9, soc_target=0.8, soc_initial=0.5),
            "vehicles[0].soc_min (id 'ev-0001'): 0.95 must be <= soc_max (0.9)",
        ),
        (
            lambda d: d["tariff"].update(import_price_per_kwh=[0.1] * 95),
            "tariff.import_price_per_kwh: must have 96 values (one per slot), got 95",
        ),
        (
            lambda d: d["tariff"]["export_price_per_kwh"].__setitem__(5, 9.0),
            "tariff.export_price_per_kwh[5]: 9.0 must be <= import_price_per_kwh[5]",
        ),
        (
            lambda d: d["site"].update(import_limit_kw=-1),
            "site.import_limit_kw: -1 is less than the minimum of 0",
        ),
        (
            lambda d: d["site"].update(import_limt_kw=5),
            "site: Additional properties are not allowed ('import_limt_kw' was unexpected)",
        ),
        (lambda d: d.pop("vehicles"), "(top level): 'vehicles' is a required property"),
        (
            lambda d: d["vehicles"][0].pop("capacity_kwh"),
            "vehicles[0]: 'capacity_kwh' is a required property",
        ),
        (lambda d: d.update(slot_minutes=0), "slot_minutes: 0 is less than the minimum of 1"),
    ],
)
def test_bad_field_is_named_with_its_rule(mutate, expected: str) -> None:
    messages = errors_for(mutate)
    assert any(m.startswith(expected) for m in messages), messages


def test_all_problems_reported_at_once() -> None:
    def mutate(document):
        document["vehicles"][0].update(soc_target=0.99, soc_max=0.9)
        document["vehicles"][1].update(arrival_slot=50, departure_slot=40)

    messages = errors_for(mutate)
    assert len(messages) == 2, messages


def test_python_api_validates_too() -> None:
    with pytest.raises(
        ProblemError, match=r"vehicles\[0\]\.soc_initial .* must be within \[0, 1\]"
    ):
        one_site([{"soc_initial": -0.1}], [0.0, 0.0], [0.1, 0.1])
    with pytest.raises(ProblemError, match=r"tariff\.peak_price_per_kw: -1\.0 must be >= 0"):
        one_site([{}], [0.0, 0.0], [0.1, 0.1], peak_price_per_kw=-1.0)


def test_valid_document_round_trips() -> None:
    problem = problem_from_dict(GOOD)
    again = problem_to_dict(problem)
    assert again["vehicles"] == GOOD["vehicles"]
    assert again["site"] == GOOD["site"]


def test_a_limit_unlimited_in_some_slots_is_written_as_strict_json_and_read_back() -> None:
    """A per-slot limit with unlimited slots is null there (never the non-JSON ``Infinity``);
    an all-unlimited one is left out."""
    import json
    import math

    document = copy.deepcopy(GOOD)
    slots = len(document["site"]["base_load_kw"])
    document["site"]["import_limit_kw"] = [None] + [5.0] * (slots - 1)
    document["site"].pop("export_limit_kw", None)
    problem = problem_from_dict(document)
    assert math.isinf(problem.site.import_limit_slots_kw[0])
    written = problem_to_dict(problem)
    text = json.dumps(written, allow_nan=False)  # raises on inf or nan
    assert json.loads(text)["site"]["import_limit_kw"] == document["site"]["import_limit_kw"]
    assert "export_limit_kw" not in written["site"]


def test_battery_block_round_trips_and_is_checked() -> None:
    document = copy.deepcopy(GOOD)
    document["vehicles"][0]["battery"] = {
        "cycle_depth_cost_per_kwh": [0.01, 0.02, 0.05],
        "soc_dwell_cost_per_h": {"soc": [0.0, 0.5, 1.0], "cost": [0.0, 0.001, 0.004]},
    }
    problem = problem_from_dict(document)
    assert problem.fleet.wear is not None
    assert problem_to_dict(problem)["vehicles"][0]["battery"] == document["vehicles"][0]["battery"]
    assert "battery" not in problem_to_dict(problem)["vehicles"][1]

    document["vehicles"][1]["battery"] = {"cycle_depth_cost_per_kwh": [0.01, 0.02]}
    with pytest.raises(ProblemError, match="same number of segments"):
        problem_from_dict(document)
    document["vehicles"][1]["battery"] = {"cycle_depth_cost_per_kwh": [0.05, 0.02, 0.01]}
    with pytest.raises(ProblemError, match=r"vehicles\[1\]\.battery\.cycle_depth_cost_per_kwh"):
        problem_from_dict(document)
