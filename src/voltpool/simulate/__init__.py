"""The neighbourhood simulator: real data, a slot clock, policies compared side by side.

Every policy is the one controller (:mod:`voltpool.control`) the live service runs; the
simulator is its test harness: it feeds the controller simulated measurements and forecasts
and enforces the physics on what it answers.
"""

from __future__ import annotations

from collections.abc import Callable

from voltpool.scenario import Scenario
from voltpool.simulate.engine import run_policy
from voltpool.simulate.policies import make_policy
from voltpool.simulate.result import Departures, PolicyRun, SimulationResult
from voltpool.simulate.world import World, build_world


def simulate(
    scenario: Scenario,
    progress: Callable[[str, int], None] | None = None,
    world: World | None = None,
    on_invalid_plan: str = "raise",
) -> SimulationResult:
    """Run every policy of ``scenario`` on the same world (same seed, same result).

    ``progress(policy, days_done)`` is called once per simulated day of each policy.
    ``on_invalid_plan``: a plan failing the independent verifier is an error (``"raise"``) or
    replaced by the safe plan with a note in the run (``"fallback"``).
    """
    world = world or build_world(scenario)
    runs: dict[str, PolicyRun] = {}
    for name in scenario.policies:
        policy = make_policy(name, world, on_invalid_plan)
        step = (lambda k, name=name: progress(name, k)) if progress else None
        runs[name] = run_policy(world, policy, step)
    return SimulationResult(
        scenario_name=scenario.name,
        description=scenario.description,
        seed=scenario.seed,
        runs=runs,
    )


__all__ = ["Departures", "PolicyRun", "SimulationResult", "World", "build_world", "simulate"]
