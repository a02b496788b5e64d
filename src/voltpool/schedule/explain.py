"""Plain-words explanations: why a vehicle misses its target, where a site limit is exceeded.

A problem with a ``start`` is told in local clock time (``18:00-20:15 (Tue 14 Jan)``, in the
problem's time zone); one without keeps slot numbers (``slots 23-32``).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from voltpool.model import Problem
from voltpool.model.physics import fleet_cycle_depth_cost_slots, true_runs

SHORTFALL_TOLERANCE_KWH = 1e-3
"""Shortfalls below 1 Wh are numerical noise, not a missed target."""

LIMIT_TOLERANCE_KW = 1e-4


def local_time(problem: Problem, slot: int) -> pd.Timestamp | None:
    """Where ``slot`` starts (``slot = T`` is where the last one ends) in the problem's time
    zone, or None when the problem has no start."""
    clock = problem.clock
    return None if clock is None else clock.time(slot).tz_convert(ZoneInfo(problem.timezone))


def _day(stamp: pd.Timestamp) -> str:
    return f"{stamp:%a} {stamp.day} {stamp:%b}"


def moment(problem: Problem, slot: int) -> str:
    """``slot 23``, or with a start ``18:15 (Tue 14 Jan)``: where ``slot`` starts."""
    stamp = local_time(problem, slot)
    return f"slot {slot}" if stamp is None else f"{stamp:%H:%M} ({_day(stamp)})"


def span(problem: Problem, start_slot: int, end_slot: int) -> str:
    """Slots ``start_slot .. end_slot - 1``: ``slots 23-32``, or with a start
    ``18:00-20:15 (Tue 14 Jan)`` (``23:00-01:15 (Tue 14 - Wed 15 Jan)`` across midnight)."""
    begin, end = local_time(problem, start_slot), local_time(problem, end_slot)
    if begin is None or end is None:
        return f"slots {start_slot}-{end_slot - 1}"
    last = end - pd.Timedelta(minutes=problem.slot_minutes)
    days = _day(begin) if begin.date() == last.date() else f"{_day(begin)} - {_day(last)}"
    return f"{begin:%H:%M}-{end:%H:%M} ({days})"


def reachable_energy_kwh(problem: Problem) -> np.ndarray:
    """Most energy each vehicle can hold at departure charging flat out, ignoring the site. [kWh]"""
    fleet = problem.fleet
    added_kwh = fleet.charge_efficiency * fleet.max_charge_kw * problem.dt_h * fleet.plugged_slots
    return np.minimum(fleet.energy_ceiling_kwh, fleet.energy_initial_kwh + added_kwh)


def shortfall_reasons(problem: Problem, net_kw: np.ndarray, shortfall_kwh: np.ndarray) -> list[str]:
    """One reason per vehicle ('' when the target is met), most fundamental cause first.

    1. The vehicle alone cannot get there: plugged in too short or charger too slow.
    2. The site import limit was reached while it was plugged in.
    3. Otherwise the optimizer chose to: the unmet penalty is cheaper than the energy.
    """
    fleet = problem.fleet
    dt_h = problem.dt_h
    reachable = reachable_energy_kwh(problem)
    limit_kw = problem.site.import_limit_slots_kw
    at_limit = net_kw >= limit_kw - LIMIT_TOLERANCE_KW
    reasons = [""] * fleet.n_vehicles
    for n in np.flatnonzero(shortfall_kwh > SHORTFALL_TOLERANCE_KWH):
        capacity = fleet.capacity_kwh[n]
        target = fleet.soc_target[n]
        hours = fleet.plugged_slots[n] * dt_h
        window = slice(fleet.arrival_slot[n], fleet.departure_slot[n])
        short = f"{shortfall_kwh[n]:.2f} kWh short"
        if fleet.max_charge_kw[n] == 0:
            reasons[n] = f"{short}: its charger cannot charge (max_charge_kw = 0)"
        elif reachable[n] < fleet.energy_target_kwh[n] - SHORTFALL_TOLERANCE_KWH:
            reasons[n] = (
                f"{short}: plugged in too short or charger too slow: {hours:.2f} h at "
                f"{fleet.max_charge_kw[n]:g} kW reaches at most {reachable[n] / capacity:.0%} "
                f"(target {target:.0%})"
            )
        elif at_limit[window].any():
            reasons[n] = (
                f"{short}: site import limit {describe_limit(limit_kw[window])} kW reached in "
                f"{int(at_limit[window].sum())} of its {fleet.plugged_slots[n]} plugged-in slots"
            )
        else:
            price = problem.tariff.import_price_per_kwh[window]
            reasons[n] = (
                f"{short}: the energy is worth more than the unmet penalty "
                f"({problem.unmet_penalty_per_kwh:g} per kWh); energy costs "
                f"{price.min():g} to {price.max():g} per kWh while it is plugged in"
            )
    return reasons


def transfer_reasons(
    problem: Problem,
    energy_kwh: np.ndarray,
    transfer_shortfall_kwh: np.ndarray,
    vehicle_shortfall_kwh: np.ndarray,
) -> list[str]:
    """One reason per V2V transfer ('' when delivered), most fundamental cause first.

    1. The two cars are never plugged in together inside the window.
    2. Their chargers cannot move that much in the shared slots.
    3. The giver has too little above its floor (the "keep me above" rule or its reserve).
    4. The giver itself leaves short of its own target: its driver's need comes first (both
       are priced alike, and a kWh given costs the giver more than a kWh delivered).
    5. Otherwise the optimizer chose to (a site limit or the receiver's ceiling).
    """
    transfers = problem.transfers
    if transfers is None:
        return []
    fleet = problem.fleet
    dt_h = problem.dt_h
    plugged = fleet.plugged_mask(problem.n_slots)
    reasons = [""] * transfers.n_transfers
    for n in np.flatnonzero(transfer_shortfall_kwh > SHORTFALL_TOLERANCE_KWH):
        giver, receiver = int(transfers.giver[n]), int(transfers.receiver[n])
        window = slice(int(transfers.start_slot[n]), int(transfers.end_slot[n]))
        shared = int((plugged[giver, window] & plugged[receiver, window]).sum())
        rate_kw = min(fleet.max_discharge_kw[giver], fleet.max_charge_kw[receiver])
        floor = max(transfers.giver_floor_kwh[n], fleet.energy_floor_kwh[giver])
        spare_ac_kwh = (
            max(float(energy_kwh[giver, window.start]) - floor, 0.0)
            * fleet.discharge_efficiency[giver]
        )
        short = f"{transfer_shortfall_kwh[n]:.2f} kWh of {transfers.energy_kwh[n]:.2f} undelivered"
        names = f"{fleet.ids[giver]!r} -> {fleet.ids[receiver]!r}"
        if shared == 0:
            reasons[n] = f"{short}: {names} are never plugged in together in the window"
        elif rate_kw * shared * dt_h < transfers.energy_kwh[n] - SHORTFALL_TOLERANCE_KWH:
            reasons[n] = (
                f"{short}: {shared * dt_h:.2f} h together at {rate_kw:g} kW moves at most "
                f"{rate_kw * shared * dt_h:.2f} kWh"
            )
        elif spare_ac_kwh < transfers.energy_kwh[n] - SHORTFALL_TOLERANCE_KWH:
            reasons[n] = (
                f"{short}: the giver holds only {spare_ac_kwh:.2f} kWh (AC) above its floor of "
                f"{floor:.2f} kWh when the window opens"
            )
        elif vehicle_shortfall_kwh[giver] > SHORTFALL_TOLERANCE_KWH:
            reasons[n] = (
                f"{short}: the giver needs it for its own departure target "
                f"({vehicle_shortfall_kwh[giver]:.2f} kWh short already)"
            )
        else:
            reasons[n] = f"{short}: a site limit or the receiver's ceiling stood in the way"
    return reasons


def describe_limit(limit_kw: np.ndarray) -> str:
    """``250`` for a constant limit, ``150-250`` for one that changes over the slots."""
    low, high = float(limit_kw.min()), float(limit_kw.max())
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def site_limit_notes(problem: Problem, net_kw: np.ndarray) -> list[str]:
    """Describe every run of slots where net load breaks the import or export limit."""
    notes: list[str] = []
    site = problem.site
    checks = (
        ("import", net_kw - site.import_limit_slots_kw),
        ("export", -net_kw - site.export_limit_slots_kw),
    )
    for direction, excess_kw in checks:
        over = excess_kw > LIMIT_TOLERANCE_KW
        if not over.any():
            continue
        limit = site.import_limit_slots_kw if direction == "import" else site.export_limit_slots_kw
        base_over = (site.base_load_kw if direction == "import" else -site.base_load_kw) > limit
        cause = (
            "the base load alone breaks it there"
            + ("; the vehicles take off what they can" if direction == "import" else "")
            + ("; the surplus beyond it is curtailed" if direction == "export" else "")
            if base_over[over].all()
            else "the vehicles' power pushes the site over it"
        )
        slots = np.flatnonzero(over)
        notes.append(
            f"site {direction} limit {describe_limit(limit[over])} kW exceeded in "
            f"{slots.size} slot(s) "
            f"(first {moment(problem, int(slots[0]))}, worst by {excess_kw.max():.2f} kW at "
            f"{moment(problem, int(np.argmax(excess_kw)))}): {cause}"
        )
    return notes


@dataclass(frozen=True)
class DischargeBlock:
    """One uninterrupted run of discharging by one vehicle, with what it earned and cost.

    ``worth_per_kwh`` values each discharged kWh (AC side) at the import price where the site
    still imports (it replaces bought energy) and at the export price where it exports;
    ``wear_per_kwh`` is the throughput cost plus the cycle-depth cost the block incurred;
    ``when`` says when it runs (:func:`span`: clock time when the problem has a start).
    """

    vehicle_id: str
    start_slot: int
    end_slot: int
    energy_kwh: float
    worth_per_kwh: float
    wear_per_kwh: float
    when: str

    def __str__(self) -> str:
        return (
            f"{self.vehicle_id} {self.when}: gave "
            f"{self.energy_kwh:.2f} kWh worth {self.worth_per_kwh:.3f}/kWh against battery wear "
            f"{self.wear_per_kwh:.3f}/kWh"
        )


def discharge_blocks(
    problem: Problem, power_kw: np.ndarray, net_kw: np.ndarray
) -> list[DischargeBlock]:
    """Every discharge block of a schedule, in vehicle then time order."""
    fleet = problem.fleet
    dt_h = problem.dt_h
    tariff = problem.tariff
    price = np.where(net_kw >= 0, tariff.import_price_per_kwh, tariff.export_price_per_kwh)
    cycle = fleet_cycle_depth_cost_slots(fleet, power_kw, dt_h)
    blocks = []
    for n, start, end in true_runs(power_kw < -1e-9):
        window = slice(start, end)
        energy = float(-power_kw[n, window].sum() * dt_h)
        worth = float((-power_kw[n, window] * dt_h * price[window]).sum())
        wear = energy * fleet.degradation_cost_per_kwh[n] + float(cycle[n, window].sum())
        blocks.append(
            DischargeBlock(
                fleet.ids[n],
                start,
                end,
                energy,
                worth / energy,
                wear / energy,
                span(problem, start, end),
            )
        )
    return blocks
