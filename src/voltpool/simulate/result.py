"""What a simulation produces: one :class:`PolicyRun` per policy, all on the same real data.

Everything a metric or a picture needs is a time series here; metrics are computed from these
arrays (never typed in), so a test can recompute every number a report shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from voltpool.model import PeakBilling
from voltpool.sharing import Match

if TYPE_CHECKING:
    from voltpool.battery.health import PolicyHealth


@dataclass(frozen=True, eq=False)
class Departures:
    """One row per time a car unplugged (struct of arrays, length D).

    Attributes
    ----------
    vehicle : int array
        Index of the car (into ``PolicyRun.vehicle_ids``).
    slot : int array
        First slot the car is away.
    soc : array
        State of charge when it left. [0..1]
    soc_target : array
        What it asked for. [0..1]
    shortfall_kwh : array
        ``max(0, soc_target - soc) * capacity``. [kWh]
    reachable : bool array
        Whether the target was physically reachable (charging flat out from plug-in, alone).
    """

    vehicle: np.ndarray
    slot: np.ndarray
    soc: np.ndarray
    soc_target: np.ndarray
    shortfall_kwh: np.ndarray
    reachable: np.ndarray


@dataclass(frozen=True, eq=False)
class PolicyRun:
    """One policy simulated over the scenario's horizon of T slots.

    Attributes
    ----------
    policy : str
        ``uncontrolled``, ``smart`` or ``v2g`` (more later).
    index : pd.DatetimeIndex
        Start of each slot, tz-aware UTC, length T.
    dt_h : float
        Slot length. [h]
    vehicle_ids, home_ids : tuple of str
        N cars and H homes; ``vehicle_home[n]`` is the index of car n's home.
    vehicle_home : int array [N]
    capacity_kwh : array [N]
        Usable battery capacity. [kWh]
    power_kw : array [N, T]
        Car AC power, + charging, - discharging (V2G). [kW]
    soc : array [N, T+1]
        State of charge at the start of each slot and after the last. [0..1]
    plugged : bool array [N, T]
        Car plugged in during the slot.
    driving_kwh : array [N, T]
        Battery energy used driving, booked in the slot the car comes back. [kWh]
    public_charging_kwh : array [N, T]
        Energy charged away from home so a trip could be driven (booked like driving). [kWh]
    charge_efficiency, discharge_efficiency : array [N]
    home_load_kw : array [H, T]
        Household load without the car. [kW]
    import_price_per_kwh, export_price_per_kwh : array [T]
        What the neighbourhood pays per kWh imported / earns per kWh exported. [EUR/kWh]
    import_limit_kw : array [T]
        Transformer import limit in force (events can lower it). [kW]
    export_limit_kw : array [T]
    departures : Departures
    solver_time_s : array
        Wall time of each planning step of the policy. [s]
    curtailed_kwh : float
        Charging energy the simulator refused because it broke a physical rule. [kWh]
    peak_billing : PeakBilling or None
        The demand charge on the neighbourhood's import, per billing period (a capacity
        tariff's calendar months), slot 0 the run's first slot; None: no demand charge.
    degradation_cost_per_kwh : array [N] or None
        Battery wear priced per kWh discharged (AC side); None means zero. [EUR/kWh]
    islanded : bool array [H, T] or None
        Home cut off from the grid by an outage (None: no outage).
    shed_kw, shed_critical_kw : array [H, T] or None
        Home load left unserved in an outage, all of it and its critical circuits. [kW]
    v2v : DataFrame or None
        One row per V2V agreement (:data:`voltpool.simulate.sharing_desk.AGREEMENT_COLUMNS`):
        who gave to whom, when, the agreed and the metered energy, the price, the status.
    v2v_matches : tuple of :class:`voltpool.sharing.Match`
        The match behind each row of ``v2v`` (what settlement books).
    v2v_unmatched : dict
        Requests that got less than they asked for, and why.
    v2v_given_kw, v2v_received_kw : array [N, T] or None
        AC power each car gave to / received from friends (part of ``power_kw``). [kW]
    planner_notes : tuple of str
        Plans the controller did not follow, and why (``on_invalid_plan="fallback"``).
    health : :class:`voltpool.battery.health.PolicyHealth` or None
        The cars' battery ageing over this run, when the simulator was asked for it (aged in
        the process that ran the policy, :mod:`voltpool.simulate.parallel`).
    """

    policy: str
    index: pd.DatetimeIndex
    dt_h: float
    vehicle_ids: tuple[str, ...]
    home_ids: tuple[str, ...]
    vehicle_home: np.ndarray
    capacity_kwh: np.ndarray
    power_kw: np.ndarray
    soc: np.ndarray
    plugged: np.ndarray
    driving_kwh: np.ndarray
    public_charging_kwh: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    home_load_kw: np.ndarray
    import_price_per_kwh: np.ndarray
    export_price_per_kwh: np.ndarray
    import_limit_kw: np.ndarray
    export_limit_kw: np.ndarray
    departures: Departures
    solver_time_s: np.ndarray
    curtailed_kwh: float = 0.0
    peak_billing: PeakBilling | None = None
    degradation_cost_per_kwh: np.ndarray | None = None
    islanded: np.ndarray | None = None
    shed_kw: np.ndarray | None = None
    shed_critical_kw: np.ndarray | None = None
    v2v: pd.DataFrame | None = None
    v2v_matches: tuple[Match, ...] = ()
    v2v_given_kw: np.ndarray | None = None
    v2v_received_kw: np.ndarray | None = None
    v2v_unmatched: dict[str, str] = field(default_factory=dict)
    planner_notes: tuple[str, ...] = ()
    health: PolicyHealth | None = None

    @property
    def wear_cost_per_kwh(self) -> np.ndarray:
        """Battery wear per kWh discharged for every car (zeros when not given). [EUR/kWh]"""
        if self.degradation_cost_per_kwh is None:
            return np.zeros(len(self.vehicle_ids))
        return np.asarray(self.degradation_cost_per_kwh, dtype=float)

    @property
    def base_load_kw(self) -> np.ndarray:
        """Neighbourhood load without cars. [kW]"""
        return self.home_load_kw.sum(axis=0)

    @property
    def home_shed_kw(self) -> np.ndarray:
        """Load shed per home and slot (zeros without outages). [kW]"""
        if self.shed_kw is None:
            return np.zeros_like(self.home_load_kw)
        return np.asarray(self.shed_kw, dtype=float)

    @property
    def v2v_given_slots_kw(self) -> np.ndarray:
        """``[N, T]`` AC power given to friends' cars (zeros without V2V). [kW]"""
        if self.v2v_given_kw is None:
            return np.zeros_like(self.power_kw)
        return np.asarray(self.v2v_given_kw, dtype=float)

    @property
    def car_islanded(self) -> np.ndarray:
        """``[N, T]`` car plugged in at its home while the home is cut off (V2H, not V2G)."""
        if self.islanded is None or not len(self.home_ids):
            return np.zeros_like(self.plugged)
        home = np.maximum(np.asarray(self.vehicle_home, dtype=np.intp), 0)
        at_home = (np.asarray(self.vehicle_home) >= 0)[:, None]
        return self.plugged & at_home & np.asarray(self.islanded, dtype=bool)[home]

    @property
    def site_net_load_kw(self) -> np.ndarray:
        """Transformer load: homes plus cars, import positive. [kW]

        A home cut off by an outage is served by its own cars, and what they cannot serve is
        shed, so homes plus cars minus the shed load is what the transformer carries.
        """
        return self.base_load_kw + self.power_kw.sum(axis=0) - self.home_shed_kw.sum(axis=0)


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """All policies of one scenario; ``runs`` keeps the scenario's policy order."""

    scenario_name: str
    description: str
    seed: int
    runs: dict[str, PolicyRun] = field(default_factory=dict)
