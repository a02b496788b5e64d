"""The neighbourhood simulator: real data, a slot clock, policies compared side by side.

Every policy is the one controller (:mod:`voltpool.control`) the live service runs; the
simulator is its test harness: it feeds the controller simulated measurements and forecasts
and enforces the physics on what it answers.
"""

from __future__ import annotations

from collections.abc import Callable

from voltpool.scenario import Scenario
from voltpool.simulate.parallel import auto_workers, run_policies
from voltpool.simulate.result import Departures, PolicyRun, SimulationResult
from voltpool.simulate.world import World, build_world


def simulate(
    scenario: Scenario,
    progress: Callable[[str, int], None] | None = None,
    world: World | None = None,
    on_invalid_plan: str = "raise",
    workers: int = 1,
    health: bool = False,
    on_run: Callable[[str, PolicyRun], None] | None = None,
) -> SimulationResult:
    """Run every policy of ``scenario`` on the same world (same seed, same result).

    ``progress(policy, days)`` is called once per simulated day of each policy (``days`` = 1).
    ``on_invalid_plan``: a plan failing the independent verifier is an error (``"raise"``) or
    replaced by the safe plan with a note in the run (``"fallback"``). ``workers``: how many
    worker processes run the policies side by side (:mod:`voltpool.simulate.parallel`:
    :func:`~voltpool.simulate.parallel.auto_workers` says how many are worth it; a script
    that asks for more than one needs the ``if __name__ == "__main__":`` guard of
    :mod:`multiprocessing`'s ``spawn``); the result does not depend on it. ``health``: each
    run carries its cars' battery ageing (``PolicyRun.health``, with ``scenario.battery``),
    aged in the process that ran the policy. ``on_run(policy, run)``: called in this process
    with each run as soon as it is there (:func:`~voltpool.simulate.parallel.run_policies`).
    """
    world = world or build_world(scenario)
    battery = scenario.battery if health else None
    runs = run_policies(
        world, scenario.policies, on_invalid_plan, progress, workers, battery, on_run
    )
    return SimulationResult(
        scenario_name=scenario.name,
        description=scenario.description,
        seed=scenario.seed,
        runs=runs,
    )


__all__ = [
    "Departures",
    "PolicyRun",
    "SimulationResult",
    "World",
    "auto_workers",
    "build_world",
    "simulate",
]
