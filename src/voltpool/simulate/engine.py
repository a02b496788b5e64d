"""The simulation clock: slot by slot, cars come and go and the controller sets their power.

The engine, not the policy, enforces the physics: a setpoint is clipped to the charger, to the
battery's ceiling and to the driver's reserve, and charging (or discharging) is scaled down when
the transformer limit would be broken. Energy is booked so that for every car and slot

    capacity * (soc[t+1] - soc[t]) = dt_h * (eta_c * charge - discharge / eta_d)
                                     - driving_kwh[t] + public_charging_kwh[t]

holds exactly (a car coming back with too little energy for its trip charged the rest on the
way: public charging). Homes cut off by an outage leave the transformer and run on the cars
plugged in there (:mod:`voltpool.simulate.islanding`); V2V offers and requests are matched
and metered by :mod:`voltpool.simulate.sharing_desk`. Each slot the engine hands the
controller (:class:`voltpool.control.Controller`) plain arrays, an
:class:`~voltpool.control.Observation` and the desk's :class:`~voltpool.control.V2VInputs`, and
gets arrays back. Loops run over time only; every step is vectorized over the cars.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voltpool.control import CarTable, Controller, Observation
from voltpool.model import PeakBilling
from voltpool.model.rules import PAST_DAYS
from voltpool.simulate.islanding import HomeBackup
from voltpool.simulate.result import Departures, PolicyRun
from voltpool.simulate.sharing_desk import SharingDesk
from voltpool.simulate.world import World

DRIVING_FLOOR_SOC = 0.05
"""A car never arrives below 5 %: the driver charged on the way (booked as public charging)."""
TARGET_TOLERANCE_SOC = 1e-6


def enforce_physics(
    world: World,
    cars: CarTable,
    t: int,
    requested_kw: np.ndarray,
    energy_kwh: np.ndarray,
    plugged: np.ndarray,
    base_load_kw: float,
) -> tuple[np.ndarray, float]:
    """Clip requested power to what the cars, batteries and transformer allow.

    The world holds the physics (capacity, chargers, efficiencies), ``cars`` each car's SoC
    ceiling and the driver's reserve (as the controller was told them). ``plugged`` marks the
    cars on the grid, ``base_load_kw`` the homes' load the transformer carries (homes cut off by
    an outage are not on it). Returns the power to apply [kW] and the energy refused because of
    the transformer [kWh].
    """
    dt_h = world.dt_h
    capacity = world.capacity_kwh
    power = np.where(plugged, requested_kw, 0.0)
    headroom_kwh = np.maximum(cars.soc_max * capacity - energy_kwh, 0.0)
    floor_kwh = np.minimum(cars.soc_min * capacity, energy_kwh)
    available_kwh = np.maximum(energy_kwh - floor_kwh, 0.0)
    upper = np.minimum(world.max_charge_kw, headroom_kwh / (world.charge_efficiency * dt_h))
    lower = -np.minimum(world.max_discharge_kw, available_kwh * world.discharge_efficiency / dt_h)
    power = np.clip(power, lower, upper)

    refused_kwh = 0.0
    net_kw = base_load_kw + power.sum()
    excess_kw = net_kw - world.import_limit_kw[t]
    if excess_kw > 0:
        charging = np.maximum(power, 0.0)
        total = charging.sum()
        if total > 0:
            cut = min(excess_kw, total)
            power -= charging * (cut / total)
            refused_kwh += cut * dt_h
    excess_kw = -(base_load_kw + power.sum()) - world.export_limit_kw[t]
    if excess_kw > 0:
        discharging = np.maximum(-power, 0.0)
        total = discharging.sum()
        if total > 0:
            cut = min(excess_kw, total)
            power += discharging * (cut / total)
            refused_kwh += cut * dt_h
    return power, refused_kwh


class RuleHistory:
    """What each car gave for V2G and V2V (battery side) on today and the six local days
    before: the history the owners' daily caps and weekly cycles count."""

    def __init__(self, world: World) -> None:
        self.day = world.local_day
        self.kwh = np.zeros((world.n_vehicles, PAST_DAYS + 1))
        """``[N, 7]`` the six days before today (oldest first), then today. [kWh]"""
        self._today = -1

    def open_slot(self, t: int) -> None:
        """Start slot ``t``: on a new local day the week moves on by a day."""
        day = int(self.day[t])
        if self._today >= 0 and day != self._today:
            shift = min(day - self._today, PAST_DAYS + 1)
            self.kwh = np.roll(self.kwh, -shift, axis=1)
            self.kwh[:, -shift:] = 0.0
        self._today = day

    def record(self, power_kw: np.ndarray, discharge_efficiency: np.ndarray, dt_h: float) -> None:
        """Add a slot's discharge (AC power ``power_kw``, negative discharging)."""
        self.kwh[:, -1] += np.maximum(-power_kw, 0.0) * dt_h / discharge_efficiency


def run_policy(
    world: World, policy: Controller, progress: Callable[[int], None] | None = None
) -> PolicyRun:
    """Simulate one policy (its controller) over the scenario's slots; ``progress(k)`` is
    called every simulated day."""
    table = policy.cars
    n_vehicles = world.n_vehicles
    first, end = world.first_slot, world.end_slot
    n_slots = end - first
    dt_h = world.dt_h
    capacity = world.capacity_kwh
    target_kwh = table.soc_target * capacity
    sessions = world.sessions

    # Time-major buffers (one contiguous row per slot); exposed transposed as [N, T].
    power_tn = np.zeros((n_slots, n_vehicles))
    soc_tn = np.zeros((n_slots + 1, n_vehicles))
    plugged_tn = np.zeros((n_slots, n_vehicles), dtype=bool)
    driving_tn = np.zeros((n_slots, n_vehicles))
    public_tn = np.zeros((n_slots, n_vehicles))
    n_homes = len(world.home_ids)
    shed_tn = np.zeros((n_slots, n_homes))
    shed_critical_tn = np.zeros((n_slots, n_homes))
    given_tn = np.zeros((n_slots, n_vehicles))
    received_tn = np.zeros((n_slots, n_vehicles))
    backup = HomeBackup(world, enabled=policy.bidirectional)
    sharing = SharingDesk(world, table, enabled=policy.bidirectional)

    energy = world.soc_initial * capacity
    departure_slot = np.full(n_vehicles, -1, dtype=np.int64)
    arrival_energy = energy.copy()
    session_slots = np.zeros(n_vehicles, dtype=np.int64)
    # Sessions already under way at the start: plugged in with the initial SoC.
    ongoing = (sessions.arrival_slot < first) & (sessions.departure_slot > first)
    departure_slot[sessions.vehicle[ongoing]] = sessions.departure_slot[ongoing]
    session_slots[sessions.vehicle[ongoing]] = sessions.departure_slot[ongoing] - first
    bounds = np.searchsorted(sessions.arrival_slot, np.arange(first, end + 1))

    log_vehicle, log_slot, log_soc, log_reachable = [], [], [], []
    refused_kwh = 0.0
    peak_so_far_kw = 0.0
    was_plugged = departure_slot > first
    was_islanded = np.zeros(n_vehicles, dtype=bool)
    billing = world.peak_billing
    given = None if table.rules is None else RuleHistory(world)
    for step, t in enumerate(range(first, end)):
        soc_tn[step] = energy / capacity
        if given is not None:
            given.open_slot(t)
        if billing is not None and billing.starts_period(t):
            peak_so_far_kw = 0.0  # a new billing period (a capacity tariff's month)
        arriving = slice(bounds[step], bounds[step + 1])
        cars = sessions.vehicle[arriving]
        if cars.size:
            after_trip = energy[cars] - sessions.trip_kwh[arriving]
            public = np.maximum(DRIVING_FLOOR_SOC * capacity[cars] - after_trip, 0.0)
            driving_tn[step, cars] = sessions.trip_kwh[arriving]
            public_tn[step, cars] = public
            energy[cars] = after_trip + public
            departure_slot[cars] = sessions.departure_slot[arriving]
            arrival_energy[cars] = energy[cars]
            session_slots[cars] = sessions.departure_slot[arriving] - t
        plugged = departure_slot > t
        islanded_homes = world.home_islanded[:, t]
        islanded = plugged & world.cars_cut_off(t)
        new_agreements = sharing.open_slot(t, energy, plugged & ~islanded, departure_slot)
        observed = Observation(
            t=t,
            energy_kwh=energy,
            on_grid=plugged & ~islanded,
            departure_slot=departure_slot,
            changed=(plugged != was_plugged) | (islanded != was_islanded),
            peak_so_far_kw=peak_so_far_kw,
            v2g_kwh_history=None if given is None else given.kwh,
        )
        setpoints = policy.step(observed, sharing.inputs(t, energy, new_agreements))
        requested = setpoints.power_kw
        grid_base_kw = world.base_load_kw[t] - float(world.home_load_kw[islanded_homes, t].sum())
        power, refused = enforce_physics(
            world, table, t, requested, energy, plugged & ~islanded, grid_base_kw
        )
        refused_kwh += refused
        peak_so_far_kw = max(peak_so_far_kw, grid_base_kw + float(power.sum()))
        if given is not None:  # V2G and V2V; an outage's V2H below is not the rules' business
            given.record(power, world.discharge_efficiency, dt_h)
        if islanded_homes.any():
            island = backup.step(t, energy, islanded, departure_slot)
            power = np.where(islanded, island.power_kw, power)
            shed_tn[step] = island.shed_kw
            shed_critical_tn[step] = island.shed_critical_kw
        if sharing.active:
            given_tn[step], received_tn[step] = sharing.meter(
                t, setpoints.transfer_flows_kw(), power
            )
        energy = energy + dt_h * (
            world.charge_efficiency * np.maximum(power, 0.0)
            + np.minimum(power, 0.0) / world.discharge_efficiency
        )
        power_tn[step] = power
        plugged_tn[step] = plugged
        was_plugged = plugged
        was_islanded = islanded
        # A car cut off with its home cannot charge: its target is judged reachable from what it
        # holds when the grid is back (the outage is not the policy's fault).
        arrival_energy[islanded] = energy[islanded]
        session_slots[islanded] = departure_slot[islanded] - (t + 1)
        if sharing.active:
            sharing.close_slot(t, (departure_slot > t + 1) & ~world.cars_cut_off(t + 1))

        leaving = np.flatnonzero(departure_slot == t + 1)
        if leaving.size:
            reachable_kwh = np.minimum(
                table.soc_max[leaving] * capacity[leaving],
                arrival_energy[leaving]
                + world.charge_efficiency[leaving]
                * world.max_charge_kw[leaving]
                * dt_h
                * session_slots[leaving],
            )
            log_vehicle.append(leaving)
            log_slot.append(np.full(leaving.size, step + 1))
            log_soc.append(energy[leaving] / capacity[leaving])
            log_reachable.append(
                reachable_kwh >= target_kwh[leaving] - TARGET_TOLERANCE_SOC * capacity[leaving]
            )
        if progress is not None and (step + 1) % world.slots_per_day == 0:
            progress(1)
    soc_tn[n_slots] = energy / capacity

    vehicle_log = np.concatenate(log_vehicle) if log_vehicle else np.zeros(0, dtype=np.int64)
    soc_log = np.concatenate(log_soc) if log_soc else np.zeros(0)
    departures = Departures(
        vehicle=vehicle_log,
        slot=np.concatenate(log_slot) if log_slot else np.zeros(0, dtype=np.int64),
        soc=soc_log,
        soc_target=table.soc_target[vehicle_log],
        shortfall_kwh=np.maximum(table.soc_target[vehicle_log] - soc_log, 0.0)
        * capacity[vehicle_log],
        reachable=np.concatenate(log_reachable) if log_reachable else np.zeros(0, dtype=bool),
    )
    window = slice(first, end)
    return PolicyRun(
        policy=policy.name,
        index=world.index[window],
        dt_h=dt_h,
        vehicle_ids=world.vehicle_ids,
        home_ids=world.home_ids,
        vehicle_home=world.vehicle_home,
        capacity_kwh=capacity,
        power_kw=power_tn.T,
        soc=soc_tn.T,
        plugged=plugged_tn.T,
        driving_kwh=driving_tn.T,
        public_charging_kwh=public_tn.T,
        charge_efficiency=world.charge_efficiency,
        discharge_efficiency=world.discharge_efficiency,
        home_load_kw=world.home_load_kw[:, window],
        import_price_per_kwh=world.import_price_per_kwh[window],
        export_price_per_kwh=world.export_price_per_kwh[window],
        import_limit_kw=world.import_limit_kw[window],
        export_limit_kw=world.export_limit_kw[window],
        departures=departures,
        solver_time_s=np.asarray(policy.solver_time_s),
        curtailed_kwh=refused_kwh,
        peak_billing=None
        if billing is None
        else PeakBilling(billing.start_slot - first, billing.price_per_kw, billing.min_kw),
        degradation_cost_per_kwh=table.degradation_cost_per_kwh,
        islanded=world.home_islanded[:, window],
        v2v=sharing.log(first, end),
        v2v_given_kw=given_tn.T,
        v2v_received_kw=received_tn.T,
        v2v_matches=sharing.matches(),
        v2v_unmatched=dict(sharing.unmatched),
        shed_kw=shed_tn.T,
        shed_critical_kw=shed_critical_tn.T,
        planner_notes=tuple(policy.notes),
    )
