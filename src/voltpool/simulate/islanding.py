"""Homes cut off from the grid in the simulator: V2H backup from the cars parked there.

When an outage starts at a home, the household's plan is made by the backup planner
(:func:`voltpool.backup.plan_outage`) for the announced duration, with the cars plugged in
there, their driving reserve and the home's circuits (``[backup]`` in the scenario). The home
knows its own load (no forecast error; a simplification). The plan is re-made when a car comes
or goes, and extended when the outage outlasts the announced end. If the grid comes back early,
the plan is simply dropped: the cars keep what they did not give.

Every slot the plan is applied under the physics: circuits the plan keeps on are served only if
the cars can deliver them without going below their reserve; otherwise the lowest-priority
circuits are shed first. So for each islanded home and slot, exactly

    load = served + shed,   served = sum of its cars' AC discharge,

and each car's battery drops by its AC discharge / discharge efficiency.

Only bidirectional policies (``v2g``, ``v2g-wear``) back homes up: with one-way charging an
outage sheds the whole home.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.backup import plan_outage
from voltpool.simulate.world import World

EXTEND_SLOTS = 4
"""When an outage outlasts its announced end, the plan is extended by this many slots."""


@dataclass
class HomePlan:
    start_slot: int
    cars: np.ndarray
    on: np.ndarray
    """[C, K] circuits kept on per planned slot."""


@dataclass(frozen=True)
class IslandStep:
    """One slot of every islanded home: car power and load shed."""

    power_kw: np.ndarray
    """[N] AC power of the cars at islanded homes (<= 0; zeros elsewhere). [kW]"""
    shed_kw: np.ndarray
    """[H] load shed per home. [kW]"""
    shed_critical_kw: np.ndarray
    """[H] critical load shed per home. [kW]"""


class HomeBackup:
    """Plans and applies V2H backup for every home while it is islanded."""

    def __init__(self, world: World, enabled: bool) -> None:
        self.world = world
        self.enabled = enabled
        spec = world.scenario.backup
        self.share = np.array([c.share for c in spec.circuits])
        self.critical = np.array([c.critical for c in spec.circuits])
        self.priority = np.array([c.priority for c in spec.circuits])
        self.names = tuple(c.name for c in spec.circuits)
        self.plans: dict[int, HomePlan] = {}
        self.expected_end = np.full(len(world.home_ids), -1, dtype=np.int64)
        for outage in world.events.outages:
            self.expected_end[outage.homes] = outage.expected_end_slot

    def step(
        self,
        t: int,
        energy_kwh: np.ndarray,
        at_home: np.ndarray,
        departure_slot: np.ndarray,
    ) -> IslandStep:
        """Car power and load shed of every islanded home in slot ``t``.

        ``at_home`` marks cars plugged in at their own home; ``departure_slot`` is when each
        plugged car leaves (known to the household).
        """
        world = self.world
        n_homes = len(world.home_ids)
        power = np.zeros(world.n_vehicles)
        shed = np.zeros(n_homes)
        shed_critical = np.zeros(n_homes)
        islanded = world.home_islanded[:, t]
        for home in [h for h in self.plans if not islanded[h]]:
            del self.plans[home]
        for home in np.flatnonzero(islanded):
            load_kw = self.share * world.home_load_kw[home, t]
            cars = np.flatnonzero(at_home & (world.vehicle_home == home))
            if self.enabled:
                cars = cars[world.max_discharge_kw[cars] > 0]
            if not self.enabled or cars.size == 0:
                shed[home] = load_kw.sum()
                shed_critical[home] = load_kw[self.critical].sum()
                continue
            plan = self._plan(home, t, cars, energy_kwh, departure_slot)
            on = plan.on[:, t - plan.start_slot].copy()
            reserve = np.minimum(world.backup_reserve_kwh[cars], energy_kwh[cars])
            available_kw = np.minimum(
                world.max_discharge_kw[cars],
                (energy_kwh[cars] - reserve) * world.discharge_efficiency[cars] / world.dt_h,
            )
            # Shed the least important circuits still on until the cars can carry the rest.
            shed_order = np.lexsort((self.priority, self.critical))
            for circuit in shed_order:
                if load_kw[on].sum() <= available_kw.sum() + 1e-9:
                    break
                on[circuit] = False
            served_kw = float(load_kw[on].sum())
            total_kw = float(available_kw.sum())
            if served_kw > 0:
                power[cars] = -available_kw * (served_kw / total_kw)
            shed[home] = float(load_kw[~on].sum())
            shed_critical[home] = float(load_kw[~on & self.critical].sum())
        return IslandStep(power, shed, shed_critical)

    def _plan(
        self,
        home: int,
        t: int,
        cars: np.ndarray,
        energy_kwh: np.ndarray,
        departure_slot: np.ndarray,
    ) -> HomePlan:
        """The home's current plan, re-made when its cars change or the plan has run out."""
        plan = self.plans.get(home)
        if (
            plan is not None
            and np.array_equal(plan.cars, cars)
            and t - plan.start_slot < plan.on.shape[1]
        ):
            return plan
        world = self.world
        end = max(int(self.expected_end[home]), t + EXTEND_SLOTS)
        end = min(end, world.home_load_kw.shape[1])
        slots = np.arange(t, end)
        load_kw = self.share[:, None] * world.home_load_kw[home, slots][None, :]
        outage = plan_outage(
            load_kw,
            self.critical,
            self.priority,
            energy_kwh[cars],
            np.minimum(world.backup_reserve_kwh[cars], energy_kwh[cars]),
            world.max_discharge_kw[cars],
            world.discharge_efficiency[cars],
            world.dt_h,
            available=slots[None, :] < departure_slot[cars, None],
            circuit_names=self.names,
        )
        plan = HomePlan(t, cars.copy(), np.asarray(outage.on, dtype=bool))
        self.plans[home] = plan
        return plan
