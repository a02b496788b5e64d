"""What the owners' rules cost the neighbourhood and saved each battery.

The bidirectional policies of a scenario with ``[[rules]]`` are run once more on the same
world with the rules lifted (same seed, same sessions, same prices): the difference is the
rules' doing. Per policy, the site's peak and total cost and the V2G/V2V energy with and
without the rules; per car, its discharge and its battery's projected capacity at the end of
the warranty with and without them (the cell models of :mod:`voltpool.battery`, valued as
the health report values wear).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from voltpool.battery.health import health_from_runs, run_v2g_kwh
from voltpool.simulate.engine import run_policy
from voltpool.simulate.metrics import policy_metrics
from voltpool.simulate.policies import make_policy
from voltpool.simulate.result import PolicyRun, SimulationResult
from voltpool.simulate.world import World


@dataclass(frozen=True, eq=False)
class RulesEffect:
    """The rules' effect (see the module docstring).

    ``site``: one row per bidirectional policy, ``peak_kw``, ``cost_eur`` and ``v2g_kwh``
    with the rules and ``..._without_rules``; ``cars``: one row per policy and car, its
    ``v2g_kwh`` with and without, and ``battery_saved_kwh`` / ``battery_saved_eur``: the
    capacity at the end of the warranty the rules kept. ``free_runs`` are the runs without.
    """

    site: pd.DataFrame
    cars: pd.DataFrame
    free_runs: dict[str, PolicyRun]


def rules_effect(
    world: World,
    result: SimulationResult,
    progress: Callable[[str, int], None] | None = None,
) -> RulesEffect | None:
    """The rules' effect on the bidirectional policies of ``result`` (None without rules or
    without such a policy); ``progress(policy, days)`` as :func:`~voltpool.simulate.simulate`."""
    if world.owner_rules is None:
        return None
    free_world = dataclasses.replace(world, owner_rules=None)
    ruled: dict[str, PolicyRun] = {}
    free: dict[str, PolicyRun] = {}
    for name, run in result.runs.items():
        policy = make_policy(name, free_world)
        if not policy.bidirectional:
            continue
        step = (lambda k, name=name: progress(name, k)) if progress else None
        ruled[name], free[name] = run, run_policy(free_world, policy, step)
    if not ruled:
        return None
    battery = world.scenario.battery
    with_health = health_from_runs(ruled, world.chemistry, battery)
    free_health = health_from_runs(free, world.chemistry, battery)
    site_rows, car_frames = [], []
    for name, run in ruled.items():
        kept, lifted = policy_metrics(run), policy_metrics(free[name])
        site_rows.append(
            {
                "policy": name,
                "peak_kw": kept["transformer_peak_kw"],
                "peak_kw_without_rules": lifted["transformer_peak_kw"],
                "cost_eur": kept["total_cost_eur"],
                "cost_eur_without_rules": lifted["total_cost_eur"],
                "v2g_kwh": float(run_v2g_kwh(run).sum()),
                "v2g_kwh_without_rules": float(run_v2g_kwh(free[name]).sum()),
            }
        )
        saved = (
            with_health.policies[name].capacity_at_warranty
            - free_health.policies[name].capacity_at_warranty
        ) * world.capacity_kwh
        car_frames.append(
            pd.DataFrame(
                {
                    "policy": name,
                    "vehicle_id": list(world.vehicle_ids),
                    "v2g_kwh": run_v2g_kwh(run),
                    "v2g_kwh_without_rules": run_v2g_kwh(free[name]),
                    "battery_saved_kwh": saved,
                    "battery_saved_eur": saved * with_health.value_per_fade_per_kwh,
                }
            )
        )
    return RulesEffect(
        pd.DataFrame(site_rows).set_index("policy"),
        pd.concat(car_frames, ignore_index=True),
        free,
    )
