"""Plain-words explanations: why a vehicle misses its target, where a site limit is exceeded,
what each discharge earned and what it cost the battery.

A problem with a ``start`` is told in local clock time (``18:00-20:15 (Tue 14 Jan)``, in the
problem's time zone); one without keeps slot numbers (``slots 23-32``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from voltpool.model import Fleet, Problem
from voltpool.model.fleet import FLOAT_FIELDS, INT_FIELDS
from voltpool.model.physics import fleet_cycle_depth_cost_slots, soc_trajectory, true_runs
from voltpool.model.wear import dwell_cost

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

    1. The two cars are never plugged in together inside the window, or never while the
       giver's owner allows discharging (the hours and "not today" of its rules).
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
    allowed = (
        np.ones_like(plugged)
        if fleet.rules is None
        else fleet.rules.discharge_allowed(problem.clock, problem.timezone, problem.n_slots)
    )
    reasons = [""] * transfers.n_transfers
    for n in np.flatnonzero(transfer_shortfall_kwh > SHORTFALL_TOLERANCE_KWH):
        giver, receiver = int(transfers.giver[n]), int(transfers.receiver[n])
        window = slice(int(transfers.start_slot[n]), int(transfers.end_slot[n]))
        together = plugged[giver, window] & plugged[receiver, window]
        shared = int((together & allowed[giver, window]).sum())
        rate_kw = min(fleet.max_discharge_kw[giver], fleet.max_charge_kw[receiver])
        floor = max(transfers.giver_floor_kwh[n], fleet.energy_floor_kwh[giver])
        spare_ac_kwh = (
            max(float(energy_kwh[giver, window.start]) - floor, 0.0)
            * fleet.discharge_efficiency[giver]
        )
        short = f"{transfer_shortfall_kwh[n]:.2f} kWh of {transfers.energy_kwh[n]:.2f} undelivered"
        names = f"{fleet.ids[giver]!r} -> {fleet.ids[receiver]!r}"
        if not together.any():
            reasons[n] = f"{short}: {names} are never plugged in together in the window"
        elif shared == 0:
            reasons[n] = (
                f"{short}: the giver's owner does not allow discharging while {names} are "
                "plugged in together (its rules' hours or 'not today')"
            )
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
        elif fleet.rules is not None and fleet.rules.to_record(giver):
            reasons[n] = (
                f"{short}: the giver's rules (its daily or weekly V2G cap, its V2G floor), a "
                "site limit or the receiver's ceiling stood in the way"
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


WEAR_SHOWN = 1e-12
"""Wear parts smaller than this (currency) are rounding noise and left out of the words."""


@dataclass(frozen=True)
class DischargeBlock:
    """One uninterrupted run of discharging by one vehicle, with what it earned and cost.

    ``worth_per_kwh`` values each discharged kWh (AC side) at the import price where the site
    still imports (it replaces bought energy) and at the export price where it exports;
    ``when`` says when it runs (:func:`span`: clock time when the problem has a start).

    The wear is what the objective's wear terms (``degradation_cost``, ``cycle_depth_cost``,
    ``soc_dwell_cost``, ``charge_rate_cost`` of
    :func:`~voltpool.schedule.objective.objective_terms`) lose when the block's discharge is
    taken out of the plan (see :func:`discharge_blocks`), in currency, split into:

    - ``throughput_wear``: the flat cost per kWh discharged (``degradation_cost_per_kwh``);
    - ``cycling_wear``: the cycle-depth cost booked in the block's own slots (the blocks'
      cycling adds up to the plan's ``cycle_depth_cost``);
    - ``later_cycling_wear``: what the block adds to the cycle-depth cost of the car's *later*
      discharges (taking energy out early can leave a later discharge in deeper segments);
      zero unless the car discharges again after recharging;
    - ``calendar_wear``: the SoC-dwell (calendar-ageing) cost the lower SoC adds from the
      block's first slot to the departure, negative when it saves (a lower SoC ages less).

    ``wear_per_kwh`` is their sum per kWh discharged (AC side): the net wear the LP weighs.
    """

    vehicle_id: str
    start_slot: int
    end_slot: int
    energy_kwh: float
    worth_per_kwh: float
    wear_per_kwh: float
    when: str
    throughput_wear: float = 0.0
    cycling_wear: float = 0.0
    later_cycling_wear: float = 0.0
    calendar_wear: float = 0.0

    @property
    def wear(self) -> float:
        """Net battery wear of the block. [currency]"""
        return self.wear_per_kwh * self.energy_kwh

    def wear_words(self, currency: str = "") -> str:
        """``wear 0.12 EUR (cycling 0.19, calendar -0.07)``: the net and its non-zero parts."""
        parts = (
            ("throughput", self.throughput_wear),
            ("cycling", self.cycling_wear),
            ("deeper later cycles", self.later_cycling_wear),
            ("calendar", self.calendar_wear),
        )
        said = ", ".join(
            f"{name} {_money(value)}" for name, value in parts if abs(value) > WEAR_SHOWN
        )
        unit = f" {currency}" if currency else ""
        return f"wear {_money(self.wear)}{unit}" + (f" ({said})" if said else "")

    def __str__(self) -> str:
        return (
            f"{self.vehicle_id} {self.when}: gave "
            f"{self.energy_kwh:.2f} kWh worth {self.worth_per_kwh:.3f}/kWh against battery wear "
            f"{self.wear_per_kwh:.3f}/kWh: {self.wear_words()}"
        )


def _money(value: float) -> str:
    return f"{round(value, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"


def discharge_blocks(
    problem: Problem, power_kw: np.ndarray, net_kw: np.ndarray
) -> list[DischargeBlock]:
    """Every discharge block of a schedule, in vehicle then time order.

    Each block's wear is its counterfactual: the objective's wear terms of the plan minus
    those of the same plan with that block's discharge set to zero (everything else kept,
    the car's SoC trajectory recomputed, :func:`_wear_without_blocks`). That is the wear the
    LP weighs against the block's worth: the LP prices the cycle depth and the SoC dwell of
    the energy trajectory the discharge changes, so taking the discharge out changes exactly
    these terms (the charge-rate cost only sees charging and does not move). The cycle-depth
    part is split into the cost booked in the block's own slots and the change it makes to
    the car's later discharges, so the blocks' ``cycling_wear`` adds up to the plan's
    ``cycle_depth_cost``. The calendar part runs from the block to the car's departure: the
    rest of the plug-in sits lower by what the block gave (dwell counts plugged-in slots only).

    Each block is taken out alone: with several blocks of one car the net wears need not add
    up to the plan's total wear (the dwell cost is convex, not linear). Without the block the
    car keeps its later charging too: the calendar part also counts the recharge's slots,
    where the plan climbs back from lower (a counterfactual that also dropped the recharge
    would save less), and where the plan refills what the block gave up to the ceiling the
    counterfactual ends above it, its dwell rate following the last piece of the convex fit as
    the objective's does.
    """
    fleet = problem.fleet
    dt_h = problem.dt_h
    tariff = problem.tariff
    price = np.where(net_kw >= 0, tariff.import_price_per_kwh, tariff.export_price_per_kwh)
    cycle = fleet_cycle_depth_cost_slots(fleet, power_kw, dt_h)
    runs = true_runs(power_kw < -1e-9)
    later, calendar = _wear_without_blocks(problem, power_kw, cycle, runs)
    blocks = []
    for b, (n, start, end) in enumerate(runs):
        window = slice(start, end)
        energy = float(-power_kw[n, window].sum() * dt_h)
        worth = float((-power_kw[n, window] * dt_h * price[window]).sum())
        throughput = energy * float(fleet.degradation_cost_per_kwh[n])
        cycling = float(cycle[n, window].sum())
        wear = throughput + cycling + float(later[b]) + float(calendar[b])
        blocks.append(
            DischargeBlock(
                fleet.ids[n],
                start,
                end,
                energy,
                worth / energy,
                wear / energy,
                span(problem, start, end),
                throughput,
                cycling,
                float(later[b]),
                float(calendar[b]),
            )
        )
    return blocks


def _wear_without_blocks(
    problem: Problem,
    power_kw: np.ndarray,
    cycle: np.ndarray,
    runs: list[tuple[int, int, int]],
) -> tuple[np.ndarray, np.ndarray]:
    """For each discharge block ``runs[b]``, with the plan's cycle-depth cost ``cycle`` [N, T]:
    the cycle-depth cost it adds outside its own slots and the SoC-dwell cost it adds, against
    the plan without it. ``[B]`` each. [currency]

    All blocks at once: one row per block (its vehicle, its slots' power set to zero), through
    the objective's own functions (:mod:`voltpool.model.wear`, :mod:`voltpool.model.physics`).
    """
    fleet = problem.fleet
    later, calendar = np.zeros(len(runs)), np.zeros(len(runs))
    wear = fleet.wear
    if wear is None or not runs:
        return later, calendar
    vehicle, start, end = (np.array(column) for column in zip(*runs, strict=True))
    priced = np.flatnonzero(wear.has_cycle_cost[vehicle] | wear.has_dwell_cost[vehicle])
    if not priced.size:
        return later, calendar
    rows = vehicle[priced]
    dt_h = problem.dt_h
    slots = np.arange(problem.n_slots)
    in_block = (start[priced, None] <= slots) & (slots < end[priced, None])
    without_kw = np.where(in_block, 0.0, power_kw[rows])
    alone = _fleet_rows(fleet, rows)
    cycle_without = fleet_cycle_depth_cost_slots(alone, without_kw, dt_h)
    later[priced] = np.where(in_block, 0.0, cycle[rows] - cycle_without).sum(axis=1)
    plugged = fleet.plugged_mask(problem.n_slots)
    dwell = dwell_cost(wear, soc_trajectory(fleet, power_kw, dt_h)[:, 1:], plugged, dt_h)
    soc_without = soc_trajectory(alone, without_kw, dt_h)[:, 1:]
    dwell_without = dwell_cost(alone.wear, soc_without, plugged[rows], dt_h)
    calendar[priced] = np.where(wear.has_dwell_cost[rows], dwell[rows] - dwell_without, 0.0)
    return later, calendar


def _fleet_rows(fleet: Fleet, rows: np.ndarray) -> Fleet:
    """The vehicles ``rows`` (repeats allowed) as a fleet of their own, one vehicle per row."""
    return replace(
        fleet,
        ids=tuple(str(k) for k in range(rows.size)),
        **{name: getattr(fleet, name)[rows] for name in FLOAT_FIELDS + INT_FIELDS},
        wear=None if fleet.wear is None else fleet.wear.take(rows),
    )
