"""V2V transfers in the one scheduler: delivered when possible, explained when not, verified."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import problems
from voltpool.errors import ProblemError
from voltpool.model import Fleet, Problem, Site, Tariff, Transfers
from voltpool.schedule import schedule, verify

T = 16
ETA = 0.9


def pair(
    soc_initial: tuple[float, float] = (0.8, 0.2),
    departure: tuple[int, int] = (T, T),
    arrival: tuple[int, int] = (0, 0),
) -> Fleet:
    """A giver (60 kWh, 11 kW both ways) and a receiver (50 kWh, one-way charger)."""
    return Fleet(
        ids=("giver", "receiver"),
        capacity_kwh=np.array([60.0, 50.0]),
        soc_initial=np.array(soc_initial),
        soc_min=np.array([0.2, 0.2]),
        soc_max=np.array([0.9, 0.9]),
        soc_target=np.array([0.2, 0.2]),
        arrival_slot=np.array(arrival),
        departure_slot=np.array(departure),
        max_charge_kw=np.array([11.0, 11.0]),
        max_discharge_kw=np.array([11.0, 0.0]),
        charge_efficiency=np.array([ETA, ETA]),
        discharge_efficiency=np.array([ETA, ETA]),
    )


def transfer(
    energy_kwh: float, start: int = 2, end: int = 10, floor_kwh: float = 30.0
) -> Transfers:
    return Transfers(("t1",), [0], [1], [start], [end], [energy_kwh], [floor_kwh])


def problem_of(fleet: Fleet, transfers: Transfers, import_limit_kw: float = 40.0) -> Problem:
    return Problem(
        fleet,
        Site(np.ones(T), import_limit_kw, import_limit_kw),
        Tariff(np.full(T, 0.3), np.full(T, 0.1)),
        transfers=transfers,
    )


def test_feasible_transfer_is_delivered_inside_its_window_and_conserves_energy() -> None:
    problem = problem_of(pair(), transfer(12.0))
    result = schedule(problem)
    assert verify(problem, result).ok
    assert result.transferred_kwh[0] == pytest.approx(12.0, abs=1e-6)
    assert result.transfer_shortfall_kwh[0] == pytest.approx(0.0, abs=1e-6)
    flows = result.transfer_kw[0]
    assert flows[:2].sum() == 0 and flows[10:].sum() == 0
    # The receiver only charges for the transfer (its own target is met), so its battery gains
    # eta_c x the AC energy moved, and the giver's battery loses that AC energy / eta_d.
    receiver_gain_kwh = (result.soc[1, -1] - result.soc[1, 0]) * 50.0
    assert receiver_gain_kwh == pytest.approx(ETA * 12.0, abs=1e-6)
    given_in_window_kwh = -result.power_kw[0, 2:10].clip(max=0).sum() * result.dt_h
    assert given_in_window_kwh >= 12.0 - 1e-6
    # the scheduler's objective is the objective recomputed from the schedule
    assert result.solver.solver_objective == pytest.approx(result.objective, abs=1e-6)


def test_giver_does_not_charge_and_receiver_does_not_discharge_in_the_window() -> None:
    fleet = dataclasses.replace(pair(), max_discharge_kw=np.array([11.0, 11.0]))
    problem = problem_of(fleet, transfer(20.0, floor_kwh=12.0))
    result = schedule(problem)
    assert verify(problem, result).ok
    assert result.power_kw[0, 2:10].max() <= 1e-9
    assert result.power_kw[1, 2:10].min() >= -1e-9


@pytest.mark.parametrize(
    ("fleet", "transfers", "reason"),
    [
        (pair(departure=(2, T)), transfer(5.0), "never plugged in together"),
        (pair(), transfer(30.0, start=2, end=4), "0.50 h together at 11 kW"),
        (pair(), transfer(30.0, start=2, end=14, floor_kwh=42.0), "above its floor of 42.00"),
    ],
)
def test_undelivered_transfer_is_explained(fleet: Fleet, transfers: Transfers, reason: str) -> None:
    problem = problem_of(fleet, transfers)
    result = schedule(problem)
    assert verify(problem, result).ok
    assert result.transfer_shortfall_kwh[0] > 0.1
    assert reason in result.transfer_reasons[0]


def test_giver_floor_holds_through_the_window() -> None:
    problem = problem_of(pair(), transfer(30.0, start=2, end=14, floor_kwh=42.0))
    result = schedule(problem)
    stored = result.soc[0] * 60.0
    assert stored[3:15].min() >= 42.0 - 1e-6


def test_uncontrolled_moves_nothing_and_says_so() -> None:
    problem = problem_of(pair(), transfer(12.0))
    result = schedule(problem, "uncontrolled")
    assert verify(problem, result).ok
    assert result.transfer_shortfall_kwh[0] == pytest.approx(12.0)


def test_bad_transfers_are_named() -> None:
    bad = Transfers(("t1",), [0], [0], [5], [3], [-1.0], [0.0])
    with pytest.raises(ProblemError) as caught:
        problem_of(pair(), bad)
    fields = {issue.field.split(" ")[0] for issue in caught.value.issues}
    assert fields == {"transfers[0].receiver", "transfers[0].end_slot", "transfers[0].energy_kwh"}


@settings(max_examples=40, deadline=None)
@given(problems(max_vehicles=4, max_slots=10), st.data())
def test_random_transfers_verify_and_balance(problem: Problem, data: st.DataObject) -> None:
    """Any transfer between any two cars: the schedule keeps every rule and the books balance."""
    n_veh, n_slots = problem.n_vehicles, problem.n_slots
    if n_veh < 2:
        return
    giver = data.draw(st.integers(0, n_veh - 1))
    receiver = data.draw(st.integers(0, n_veh - 2))
    receiver += receiver >= giver
    start = data.draw(st.integers(0, n_slots - 1))
    end = data.draw(st.integers(start + 1, n_slots))
    energy = data.draw(st.floats(0.0, 30.0))
    floor = data.draw(st.floats(0.0, float(problem.fleet.capacity_kwh[giver])))
    with_transfer = dataclasses.replace(
        problem, transfers=Transfers(("t",), [giver], [receiver], [start], [end], [energy], [floor])
    )
    result = schedule(with_transfer)
    report = verify(with_transfer, result, check_site_limits=False)
    assert report.ok, report.violations
    moved = result.transferred_kwh[0]
    assert moved + result.transfer_shortfall_kwh[0] == pytest.approx(energy, abs=1e-6)
    assert (result.transfer_shortfall_kwh[0] > 1e-3) == bool(result.transfer_reasons[0])


def test_transfers_round_trip_through_the_problem_format(tmp_path) -> None:
    """A problem file with a transfers block schedules, writes and verifies from the CLI."""
    import json

    from typer.testing import CliRunner

    from voltpool.cli import app
    from voltpool.io import problem_from_dict, problem_to_dict

    problem = problem_of(pair(), transfer(12.0))
    document = problem_to_dict(problem)
    assert document["transfers"][0]["giver"] == "giver"
    again = problem_from_dict(json.loads(json.dumps(document)))
    assert again.transfers is not None and again.transfers.energy_kwh[0] == 12.0
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document))
    runner = CliRunner()
    out = tmp_path / "s.json"
    result = runner.invoke(app, ["schedule", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["transfers"][0]["delivered_kwh"] == pytest.approx(12.0, abs=1e-4)
    assert runner.invoke(app, ["verify", str(path), str(out)]).exit_code == 0
    document["transfers"][0]["receiver"] = "nobody"
    path.write_text(json.dumps(document))
    bad = runner.invoke(app, ["schedule", str(path), "-o", str(tmp_path / "x.json")])
    assert bad.exit_code == 2
    assert "transfers[0].receiver" in bad.output
    assert not (tmp_path / "x.json").exists()
