"""A small, physically consistent simulation result built by hand (no simulator involved).

2 homes, 3 cars, 2 days of 15-minute slots, three rule-based policies. SoC is stepped slot by slot
with the efficiency rule (docs/conventions.md, "Battery energy"); driving (and public charging)
is booked in the slot a car comes back; departures are recorded at the first slot a car is away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voltpool.model import PeakBilling
from voltpool.simulate.result import Departures, PolicyRun, SimulationResult

DT_H = 0.25
N_SLOTS = 2 * 96
SLOTS_PER_HOUR = 4
CAPACITY_KWH = np.array([40.0, 60.0, 50.0])
CHARGE_EFFICIENCY = np.array([0.95, 0.90, 0.92])
DISCHARGE_EFFICIENCY = np.array([0.95, 0.90, 0.92])
MAX_CHARGE_KW = np.array([7.4, 3.7, 11.0])
MAX_DISCHARGE_KW = np.array([5.0, 3.7, 7.0])
SOC_INITIAL = np.array([0.6, 0.5, 0.05])
SOC_TARGET = np.array([0.8, 0.8, 0.8])
VEHICLE_HOME = np.array([0, 0, 1])
# (leave hour, return hour, driving kWh, public charging kWh) per trip, per car; day 0 and day 1
TRIPS = {
    0: [(7.5, 17.5, 8.0, 0.0), (24 + 7.5, 24 + 17.5, 9.0, 0.0)],
    1: [(8.0, 18.0, 12.0, 0.0), (24 + 8.0, 24 + 18.0, 12.0, 0.0)],
    2: [(3.0, 16.0, 20.0, 0.0), (24 + 9.0, 24 + 15.0, 35.0, 15.0)],
}
POLICIES = ("uncontrolled", "smart", "v2g")


def _evening(hour: np.ndarray) -> np.ndarray:
    return np.exp(-((((hour % 24) - 19.0) / 2.0) ** 2))


def _inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-03-04", periods=N_SLOTS, freq="15min", tz="UTC")
    hour = np.arange(N_SLOTS) * DT_H
    home_load_kw = 0.4 + 1.6 * _evening(hour) + rng.uniform(0.0, 0.3, size=(2, N_SLOTS))
    import_price = 0.18 + 0.15 * _evening(hour)
    import_limit_kw = np.full(N_SLOTS, 16.0)
    import_limit_kw[(hour >= 24 + 17) & (hour < 24 + 19)] = 12.0  # a limit event on day 2
    plugged = np.ones((3, N_SLOTS), dtype=bool)
    driving_kwh = np.zeros((3, N_SLOTS))
    public_kwh = np.zeros((3, N_SLOTS))
    for n, trips in TRIPS.items():
        for leave_h, back_h, drive, public in trips:
            leave, back = int(leave_h * SLOTS_PER_HOUR), int(back_h * SLOTS_PER_HOUR)
            plugged[n, leave:back] = False
            driving_kwh[n, back] = drive
            public_kwh[n, back] = public
    return {
        "index": index,
        "hour": hour,
        "home_load_kw": home_load_kw,
        "import_price": import_price,
        "export_price": import_price - 0.04,
        "import_limit_kw": import_limit_kw,
        "plugged": plugged,
        "driving_kwh": driving_kwh,
        "public_kwh": public_kwh,
    }


def _wanted_kw(policy: str, n: int, hour: float, soc: float, price: float, cheap: float) -> float:
    """Rule-based AC power the policy asks for (before the SoC clamp)."""
    below_target = soc < SOC_TARGET[n]
    if policy == "uncontrolled":
        return MAX_CHARGE_KW[n] if below_target else 0.0
    if policy == "smart":
        return MAX_CHARGE_KW[n] if below_target and price <= cheap else 0.0
    if 17.0 <= hour % 24 < 21.0:
        return -MAX_DISCHARGE_KW[n]
    return MAX_CHARGE_KW[n] if below_target and hour % 24 < 7.0 else 0.0  # night only


def make_run(policy: str, seed: int = 11) -> PolicyRun:
    """One policy on the shared synthetic data (the same ``seed`` gives the same data)."""
    data = _inputs(seed)
    plugged = data["plugged"]
    cheap = float(np.median(data["import_price"]))
    power_kw = np.zeros((3, N_SLOTS))
    soc = np.zeros((3, N_SLOTS + 1))
    soc[:, 0] = SOC_INITIAL
    for n in range(3):
        for t in range(N_SLOTS):
            cap = CAPACITY_KWH[n]
            level = soc[n, t] + (data["public_kwh"][n, t] - data["driving_kwh"][n, t]) / cap
            p = 0.0
            if plugged[n, t]:
                p = _wanted_kw(policy, n, data["hour"][t], level, data["import_price"][t], cheap)
                if p > 0:  # charge no further than the target
                    room_kwh = max(0.0, SOC_TARGET[n] - level) * cap
                    p = min(p, room_kwh / (CHARGE_EFFICIENCY[n] * DT_H))
                elif p < 0:  # discharge no lower than 30 %
                    spare_kwh = max(0.0, level - 0.3) * cap
                    p = -min(-p, spare_kwh * DISCHARGE_EFFICIENCY[n] / DT_H)
            gain_kwh = (
                CHARGE_EFFICIENCY[n] * p * DT_H if p >= 0 else p * DT_H / DISCHARGE_EFFICIENCY[n]
            )
            power_kw[n, t] = p
            soc[n, t + 1] = level + gain_kwh / cap
    return PolicyRun(
        policy=policy,
        index=data["index"],
        dt_h=DT_H,
        vehicle_ids=("ev-a", "ev-b", "ev-c"),
        home_ids=("home-1", "home-2"),
        vehicle_home=VEHICLE_HOME.copy(),
        capacity_kwh=CAPACITY_KWH.copy(),
        power_kw=power_kw,
        soc=soc,
        plugged=plugged,
        driving_kwh=data["driving_kwh"],
        public_charging_kwh=data["public_kwh"],
        charge_efficiency=CHARGE_EFFICIENCY.copy(),
        discharge_efficiency=DISCHARGE_EFFICIENCY.copy(),
        home_load_kw=data["home_load_kw"],
        import_price_per_kwh=data["import_price"],
        export_price_per_kwh=data["export_price"],
        import_limit_kw=data["import_limit_kw"],
        export_limit_kw=np.full(N_SLOTS, 12.0),
        departures=_departures(soc, plugged),
        solver_time_s=np.array([])
        if policy == "uncontrolled"
        else np.random.default_rng(seed + 1).uniform(0.01, 0.05, size=N_SLOTS),
        curtailed_kwh=0.0,
        # two billing periods (months), the second with a minimum billed peak
        peak_billing=PeakBilling(np.array([0, N_SLOTS // 2]), np.array([0.8, 0.5]), 2.0),
        degradation_cost_per_kwh=np.array([0.03, 0.05, 0.0]),
    )


def _departures(soc: np.ndarray, plugged: np.ndarray) -> Departures:
    rows = []
    for n in range(plugged.shape[0]):
        plug_in = 0
        for t in range(1, plugged.shape[1]):
            if plugged[n, t] and not plugged[n, t - 1]:
                plug_in = t
            if plugged[n, t - 1] and not plugged[n, t]:
                flat_out_kwh = CHARGE_EFFICIENCY[n] * MAX_CHARGE_KW[n] * DT_H * (t - plug_in)
                best = soc[n, plug_in] + flat_out_kwh / CAPACITY_KWH[n]
                short = max(0.0, SOC_TARGET[n] - soc[n, t]) * CAPACITY_KWH[n]
                rows.append((n, t, soc[n, t], SOC_TARGET[n], short, best >= SOC_TARGET[n]))
    vehicle, slot, soc_left, target, short, reachable = (
        np.array(c) for c in zip(*rows, strict=True)
    )
    return Departures(
        vehicle=vehicle.astype(int),
        slot=slot.astype(int),
        soc=soc_left,
        soc_target=target,
        shortfall_kwh=short,
        reachable=reachable.astype(bool),
    )


def make_result(seed: int = 11) -> SimulationResult:
    return SimulationResult(
        scenario_name="Synthetic street",
        description="Two homes, three cars, two days; built by hand for the tests.",
        seed=seed,
        runs={policy: make_run(policy, seed) for policy in POLICIES},
    )
