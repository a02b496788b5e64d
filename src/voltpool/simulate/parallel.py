"""The scenario's policies side by side on the machine's cores: one worker process per policy.

Each policy is its own controller over the same world, with nothing shared while it runs, so
the policies are independent jobs: a worker process gets the world once (pickled, a few MB
for a year of ten cars) and returns its :class:`~voltpool.simulate.result.PolicyRun`. Every
re-plan is solved cold (:mod:`voltpool.control.controller`), so a run is the same bit for bit
whichever process runs it. Workers are started with ``spawn``, not ``fork``: a forked child
of a process that has run HiGHS inherits its thread pool's state without its threads.

What follows a run can overlap the runs still going: a worker ages its run's batteries
(``health``) before returning it, and the caller hands each run to ``on_run`` as soon as it
is back (``voltpool simulate`` and ``value`` write its time series there). On ``owner-year``'s
year the ``smart`` run is back after ~13 s of the ``v2g-wear`` run's ~55 s, so its ageing
(~2 s) and files (~2 s) no longer add to the end.

A worker costs 3-4 s on this machine (a fresh interpreter importing numpy, pandas and voltpool,
the world unpickled, a ``v2g-wear`` policy's wear fit made again): policies run in parallel
only when a run has at least :data:`PARALLEL_MIN_VEHICLE_SLOTS` planned vehicle-slots, where
that is a small part of the run's time.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait

from voltpool.battery.health import BatterySpec, run_health
from voltpool.simulate.engine import run_policy
from voltpool.simulate.policies import POLICIES, make_policy
from voltpool.simulate.result import PolicyRun
from voltpool.simulate.world import World

PARALLEL_MIN_VEHICLE_SLOTS = 200_000
"""Planned vehicle-slots (cars x simulated slots x LP policies) from which the policies run in
worker processes. Measured on this machine (2 cores, ``owner-year``: 10 cars, ``smart`` and
``v2g-wear``): one week (13,440) 1.6 s in the calling process against 5.9 s in two workers,
two weeks (26,880) 2.1 against 5.8 s, the whole year (702,720) 100 against 70 s end to end
(``voltpool value``, one tariff); the demo week (40 cars, three LP policies, 80,640) 17.5
against 18.0 s (``v2g-wear`` is 14 of its 17.5 s)."""

PROGRESS_POLL_S = 0.1
"""How often the caller looks for the workers' progress while they run. [s]"""
PROGRESS_WAIT_S = 10.0
"""How long the caller waits for progress still in the queue's pipe once every run is back. [s]"""

_world: World | None = None
_progress: multiprocessing.Queue | None = None


def auto_workers(world: World, policies: Sequence[str]) -> int:
    """How many worker processes :func:`run_policies` takes for ``policies`` on ``world``: one
    per policy up to the machine's cores when the planned work is worth a worker's start-up
    (see :data:`PARALLEL_MIN_VEHICLE_SLOTS`), else 1 (the calling process)."""
    planned = sum(1 for name in policies if name != "uncontrolled")
    vehicle_slots = world.n_vehicles * (world.end_slot - world.first_slot) * planned
    if len(policies) < 2 or vehicle_slots < PARALLEL_MIN_VEHICLE_SLOTS:
        return 1
    return max(1, min(len(policies), len(os.sched_getaffinity(0))))


def run_policies(
    world: World,
    policies: Sequence[str],
    on_invalid_plan: str = "raise",
    progress: Callable[[str, int], None] | None = None,
    workers: int = 1,
    health: BatterySpec | None = None,
    on_run: Callable[[str, PolicyRun], None] | None = None,
) -> dict[str, PolicyRun]:
    """Every policy of ``policies`` simulated on ``world``, in that order.

    ``health``: age each run's batteries with these settings in the process that ran it
    (:func:`~voltpool.battery.health.run_health`, in the run's ``health``), so that the ageing
    of a policy that ends early overlaps the simulation of the others. ``on_run(policy, run)``
    is called in the calling process with each run as soon as it is there (with workers, while
    the others still run: e.g. to write its files).

    ``workers`` > 1 runs them in that many worker processes; ``progress(policy, days)`` (the
    days simulated since its last call) is still called in the calling process, for every
    message (a worker's run answers how many it sent). An error in one policy (an invalid plan
    with ``on_invalid_plan="raise"``) is raised here once the policies already running have
    ended; those not started yet are cancelled."""
    if workers <= 1 or len(policies) < 2:
        runs: dict[str, PolicyRun] = {}
        for name in policies:
            step = (lambda k, name=name: progress(name, k)) if progress else None
            run = run_policy(world, make_policy(name, world, on_invalid_plan), step)
            runs[name] = _aged(name, run, world, health)
            if on_run is not None:
                on_run(name, runs[name])
        return runs
    context = multiprocessing.get_context("spawn")
    days: multiprocessing.Queue = context.Queue()
    with ProcessPoolExecutor(
        max_workers=min(workers, len(policies)),
        mp_context=context,
        initializer=_take_world,
        initargs=(world, days),
    ) as pool:
        # the dearest first, so that it does not start last
        rank = {name: -i for i, name in enumerate(POLICIES)}  # POLICIES: cheapest first
        dearest_first = sorted(policies, key=lambda name: rank.get(name, 0))
        futures = {
            name: pool.submit(_run_one, name, on_invalid_plan, health) for name in dearest_first
        }
        name_of = {future: name for name, future in futures.items()}
        pending: set[Future[tuple[PolicyRun, int]]] = set(futures.values())
        received = 0
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_POLL_S, return_when=FIRST_EXCEPTION)
            received += _report(days, progress)
            if any(future.exception() is not None for future in done):
                for future in pending:
                    future.cancel()
                break
            for future in done if on_run is not None else ():
                on_run(name_of[future], future.result()[0])
        answers = {name: futures[name].result() for name in policies}
        sent = sum(count for _, count in answers.values())
        while received < sent:  # messages still on their way through the queue's pipe
            received += _report(days, progress, wait_s=PROGRESS_WAIT_S)
        return {name: run for name, (run, _) in answers.items()}


def _report(
    days: multiprocessing.Queue,
    progress: Callable[[str, int], None] | None,
    wait_s: float = 0.0,
) -> int:
    """Hand the workers' progress messages on; how many there were (``wait_s``: wait up to that
    long for the first)."""
    count = 0
    while True:
        try:
            name, k = days.get(timeout=wait_s) if wait_s and not count else days.get_nowait()
        except queue.Empty:
            if wait_s and not count:
                raise RuntimeError("a worker's progress messages did not arrive") from None
            return count
        count += 1
        if progress is not None:
            progress(name, k)


def _take_world(world: World, days: multiprocessing.Queue) -> None:
    """A worker's initializer: keep the world and the progress queue for its policies."""
    global _world, _progress
    _world, _progress = world, days


def _run_one(name: str, on_invalid_plan: str, health: BatterySpec | None) -> tuple[PolicyRun, int]:
    """Policy ``name``'s run (aged with ``health``, if given), and how many progress messages
    it sent."""
    assert _world is not None and _progress is not None
    days = _progress
    sent = 0

    def step(k: int) -> None:
        nonlocal sent
        days.put((name, k))
        sent += 1

    run = run_policy(_world, make_policy(name, _world, on_invalid_plan), step)
    return _aged(name, run, _world, health), sent


def _aged(name: str, run: PolicyRun, world: World, health: BatterySpec | None) -> PolicyRun:
    if health is None:
        return run
    return dataclasses.replace(run, health=run_health(name, run, world.chemistry, health))
