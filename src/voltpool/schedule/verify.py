"""An independent check of any schedule against the rules of problem format v1.

It shares no code with the schedulers: SoC is recomputed from power by stepping through time,
and the objective is recomputed from scratch. The CLI runs it on every schedule it writes and
the tests run it on every schedule they make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voltpool.model import Problem
from voltpool.schedule.result import Schedule
from voltpool.schedule.verify_rules import (
    check_owner_rules,
    discharge_floor_soc,
    floor_label,
    owner_rule_names,
)

POWER_TOLERANCE_KW = 1e-6
SOC_TOLERANCE = 1e-6
OBJECTIVE_RELATIVE_TOLERANCE = 1e-6


TRANSFER_RULES = (
    "transfers",
    "transfer_sign",
    "transfer_window",
    "transfer_floor",
    "transfer_shortfall",
    "transfer_give",
    "transfer_take",
)
"""Rules checked on a problem with V2V transfers (``transfers``: the flows' shape)."""


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.where}: {self.detail}"


@dataclass
class Verification:
    """What ``verify`` found; ``ok`` when no rule is broken."""

    violations: list[Violation] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules_broken(self) -> set[str]:
        return {v.rule for v in self.violations}


def verify(problem: Problem, schedule: Schedule, check_site_limits: bool = True) -> Verification:
    """Check every rule of the problem on ``schedule``; returns all violations found.

    Rules: every number finite; shapes; zero power while unplugged; charger limits; SoC
    recomputed from power matches the reported SoC; SoC within ``[min(soc_min, soc_initial),
    soc_max]``; the reserve: no discharge in a slot that ends below ``soc_min`` (or the owner's
    higher V2G floor), so a car that arrives below it only ever gives energy above it; the
    owners' rules (:mod:`voltpool.schedule.verify_rules`); site net load equals base load
    plus vehicle power; the vehicles never push the site over its import/export limit, nor
    further over it where the base load alone breaks it (unless ``check_site_limits`` is false);
    reported shortfall and objective terms match a recomputation; V2V transfers (flows inside
    their windows, within what the cars discharge and charge, giver floors, undelivered energy).
    """
    result = Verification()
    fleet = problem.fleet
    n_vehicles, n_slots, dt_h = problem.n_vehicles, problem.n_slots, problem.dt_h
    power = np.asarray(schedule.power_kw, dtype=float)
    soc = np.asarray(schedule.soc, dtype=float)

    def fail(rule: str, where: str, detail: str) -> None:
        result.violations.append(Violation(rule, where, detail))

    result.checked.append("finite")
    for name, values in _numbers(schedule):
        bad = ~np.isfinite(values)
        if bad.any():
            fail("finite", name, f"{int(bad.sum())} value(s) are not finite numbers (NaN or inf)")
    if not result.ok:
        return result

    result.checked.append("shape")
    if power.shape != (n_vehicles, n_slots) or soc.shape != (n_vehicles, n_slots + 1):
        fail(
            "shape",
            "schedule",
            f"power {power.shape}, soc {soc.shape}; "
            f"expected ({n_vehicles}, {n_slots}) and ({n_vehicles}, {n_slots + 1})",
        )
        return result

    # Sharing no code with the schedulers: the efficiency rule applied as written to every slot,
    # then the SoC recursion as a running sum over slots (sequential, as stepping through time).
    plugged = fleet.plugged_mask(n_slots)
    capacity = fleet.capacity_kwh
    level = fleet.soc_initial.astype(float)
    floor = np.minimum(fleet.soc_min, level)
    step = np.where(
        power >= 0,
        dt_h * fleet.charge_efficiency[:, None] * power / capacity[:, None],
        dt_h * power / fleet.discharge_efficiency[:, None] / capacity[:, None],
    )
    expected_soc = np.cumsum(np.concatenate([level[:, None], step], axis=1), axis=1)
    unplugged_kw = np.abs(np.where(plugged, 0.0, power)).max(axis=1, initial=0.0)
    highest_kw = power.max(axis=1, initial=0.0)
    lowest_kw = power.min(axis=1, initial=0.0)
    gap = np.abs(expected_soc - soc)
    at_departure = expected_soc[np.arange(n_vehicles), fleet.departure_slot]
    short = np.maximum(0.0, fleet.soc_target - at_departure) * capacity
    gap_max = gap.max(axis=1)
    soc_high, soc_low = expected_soc.max(axis=1), expected_soc.min(axis=1)
    reported_short = np.asarray(schedule.shortfall_kwh, dtype=float)
    given_low = (power < -POWER_TOLERANCE_KW) & (
        expected_soc[:, 1:] < discharge_floor_soc(fleet)[:, None] - SOC_TOLERANCE
    )
    per_vehicle = (
        (
            "unplugged_power",
            unplugged_kw > POWER_TOLERANCE_KW,
            lambda n: "power is non-zero while not plugged in",
        ),
        (
            "charge_limit",
            highest_kw > fleet.max_charge_kw + POWER_TOLERANCE_KW,
            lambda n: f"{highest_kw[n]:.6f} kW > {fleet.max_charge_kw[n]} kW",
        ),
        (
            "discharge_limit",
            -lowest_kw > fleet.max_discharge_kw + POWER_TOLERANCE_KW,
            lambda n: f"{-lowest_kw[n]:.6f} kW > {fleet.max_discharge_kw[n]} kW",
        ),
        (
            "soc_consistency",
            gap_max > SOC_TOLERANCE,
            lambda n: (
                f"reported SoC differs from power by {gap_max[n]:.2e} at step "
                f"{int(np.argmax(gap[n]))}"
            ),
        ),
        (
            "soc_max",
            soc_high > fleet.soc_max + SOC_TOLERANCE,
            lambda n: f"SoC reaches {soc_high[n]:.6f} > {fleet.soc_max[n]}",
        ),
        (
            "soc_min",
            soc_low < floor - SOC_TOLERANCE,
            lambda n: f"SoC falls to {soc_low[n]:.6f} < {floor[n]}",
        ),
        (
            "reserve",
            given_low.any(axis=1),
            lambda n: (
                f"discharged in slot {int(np.argmax(given_low[n]))} down to "
                f"{expected_soc[n, int(np.argmax(given_low[n])) + 1]:.6f} < "
                f"{floor_label(fleet, n)}"
            ),
        ),
        (
            "shortfall",
            np.abs(short - reported_short) > SOC_TOLERANCE * capacity,
            lambda n: f"reported {reported_short[n]:.6f} kWh, recomputed {short[n]:.6f} kWh",
        ),
    )
    for rule, broken, detail in per_vehicle:  # only the offending vehicles are named
        for n in np.flatnonzero(broken):
            fail(rule, f"vehicle {fleet.ids[n]!r}", detail(n))
    result.checked += [rule for rule, _, _ in per_vehicle]
    check_owner_rules(problem, power, fail)
    result.checked += owner_rule_names(problem)

    net = problem.site.base_load_kw + power.sum(axis=0)
    result.checked.append("site_balance")
    if np.abs(net - schedule.site_net_load_kw).max() > POWER_TOLERANCE_KW * max(1, n_vehicles):
        fail("site_balance", "site", "site_net_load_kw is not base load plus vehicle power")
    if check_site_limits:
        result.checked += ["import_limit", "export_limit"]
        site = problem.site
        base = site.base_load_kw
        for rule, load, alone, limit in (
            ("import_limit", net, base, site.import_limit_slots_kw),
            ("export_limit", -net, -base, site.export_limit_slots_kw),
        ):
            allowed = np.maximum(alone - limit, 0.0)  # where the base load alone breaks it
            added = load - limit - allowed
            if added.max(initial=0.0) > POWER_TOLERANCE_KW * max(1, n_vehicles):
                t = int(np.argmax(added))
                fail(
                    rule,
                    f"slot {t}",
                    f"the vehicles push the site {added[t]:.4f} kW over its limit"
                    + (f" (the base load alone is {allowed[t]:.4f} kW over)" if allowed[t] else ""),
                )

    result.checked.append("objective")
    tariff = problem.tariff
    energy_cost = 0.0
    for t in range(n_slots):
        price = tariff.import_price_per_kwh[t] if net[t] >= 0 else tariff.export_price_per_kwh[t]
        energy_cost += dt_h * price * net[t]
    peak_cost = 0.0
    reset = n_slots if tariff.next_period is None else tariff.next_period.start_slot
    if reset > 0:
        peak_cost += tariff.peak_price_per_kw * max(
            0.0, float(net[:reset].max()) - tariff.peak_baseline_kw
        )
    if tariff.next_period is not None:
        later = tariff.next_period
        peak_cost += later.price_per_kw * max(0.0, float(net[reset:].max()) - later.baseline_kw)
    wear = sum(
        fleet.degradation_cost_per_kwh[n] * dt_h * float(np.clip(-power[n], 0, None).sum())
        for n in range(n_vehicles)
    )
    undelivered = _check_transfers(problem, schedule, power, soc, fail)
    if problem.transfers is not None:
        result.checked += list(TRANSFER_RULES)
    unmet = problem.unmet_penalty_per_kwh * (float(np.sum(schedule.shortfall_kwh)) + undelivered)
    cycle, dwell = _wear_costs(problem, power, soc)
    rate = _rate_cost(problem, power)
    recomputed = {
        "energy_cost": energy_cost,
        "peak_cost": peak_cost,
        "degradation_cost": wear,
        "cycle_depth_cost": cycle,
        "soc_dwell_cost": dwell,
        "charge_rate_cost": rate,
        "unmet_penalty": unmet,
    }
    scale = max(1.0, sum(abs(v) for v in recomputed.values()))
    for term, value in recomputed.items():
        reported = schedule.objective_terms.get(term)
        if reported is None or abs(reported - value) > OBJECTIVE_RELATIVE_TOLERANCE * scale:
            fail("objective", term, f"reported {reported}, recomputed {value:.6f}")
    return result


def _numbers(schedule: Schedule) -> list[tuple[str, np.ndarray]]:
    """Every number of a schedule, by the field it is reported in."""
    terms = schedule.objective_terms
    return [
        ("power_kw", np.asarray(schedule.power_kw, dtype=float)),
        ("soc", np.asarray(schedule.soc, dtype=float)),
        ("site_net_load_kw", np.asarray(schedule.site_net_load_kw, dtype=float)),
        ("shortfall_kwh", np.asarray(schedule.shortfall_kwh, dtype=float)),
        ("transfer_kw", np.asarray(schedule.transfer_kw, dtype=float)),
        ("transfer_shortfall_kwh", np.asarray(schedule.transfer_shortfall_kwh, dtype=float)),
        *(
            (f"objective_terms.{name}", np.asarray(value, dtype=float))
            for name, value in terms.items()
        ),
    ]


def _check_transfers(
    problem: Problem,
    schedule: Schedule,
    power: np.ndarray,
    soc: np.ndarray,
    fail: Callable[[str, str, str], None],
) -> float:
    """V2V rules, transfer by transfer and slot by slot; returns the undelivered AC kWh.

    Flows are non-negative and only inside the window where both cars are plugged in; in every
    slot a car gives at most what it discharges and receives at most what it charges (summed
    over its transfers); the giver stays above its floor while plugged in during the window;
    the reported shortfall is the agreed energy minus the flows.
    """
    transfers = problem.transfers
    if transfers is None:
        return 0.0
    fleet = problem.fleet
    n_slots, dt_h = problem.n_slots, problem.dt_h
    flows = np.asarray(schedule.transfer_kw, dtype=float)
    if flows.shape != (transfers.n_transfers, n_slots):
        fail("transfers", "schedule", f"transfer_kw has shape {flows.shape}")
        return float(transfers.energy_kwh.sum())
    given = np.zeros((problem.n_vehicles, n_slots))
    taken = np.zeros((problem.n_vehicles, n_slots))
    undelivered = 0.0
    for n, transfer_id in enumerate(transfers.ids):
        where = f"transfer {transfer_id!r}"
        giver, receiver = int(transfers.giver[n]), int(transfers.receiver[n])
        start, end = int(transfers.start_slot[n]), int(transfers.end_slot[n])
        for t in range(n_slots):
            flow = float(flows[n, t])
            if flow < -POWER_TOLERANCE_KW:
                fail("transfer_sign", where, f"negative flow {flow} kW at slot {t}")
            allowed = start <= t < end and all(
                fleet.arrival_slot[v] <= t < fleet.departure_slot[v] for v in (giver, receiver)
            )
            if flow > POWER_TOLERANCE_KW and not allowed:
                fail("transfer_window", where, f"{flow:.6f} kW at slot {t}, outside its window")
            given[giver, t] += flow
            taken[receiver, t] += flow
        floor = min(transfers.giver_floor_kwh[n], fleet.energy_initial_kwh[giver])
        first = max(start, int(fleet.arrival_slot[giver]))
        last = min(end, int(fleet.departure_slot[giver]))
        after = soc[giver, first + 1 : last + 1] * fleet.capacity_kwh[giver]
        low = float(after.min(initial=np.inf))
        if low < floor - SOC_TOLERANCE * fleet.capacity_kwh[giver]:
            fail("transfer_floor", where, f"giver falls to {low:.4f} kWh < {floor:.4f} kWh")
        level = soc[giver, 1:] * fleet.capacity_kwh[giver]
        below = (flows[n] > POWER_TOLERANCE_KW) & (
            level < transfers.giver_floor_kwh[n] - SOC_TOLERANCE * fleet.capacity_kwh[giver]
        )
        if below.any():
            t = int(np.argmax(below))
            fail(
                "transfer_floor",
                where,
                f"gives in slot {t} down to {level[t]:.4f} kWh < the giver's floor "
                f"{transfers.giver_floor_kwh[n]:.4f} kWh",
            )
        moved = float(flows[n].sum()) * dt_h
        short = max(float(transfers.energy_kwh[n]) - moved, 0.0)
        undelivered += short
        if abs(short - float(schedule.transfer_shortfall_kwh[n])) > 1e-6 * max(1.0, moved):
            fail(
                "transfer_shortfall",
                where,
                f"reported {schedule.transfer_shortfall_kwh[n]:.6f} kWh, recomputed {short:.6f}",
            )
    tolerance = POWER_TOLERANCE_KW * max(1, transfers.n_transfers)
    if (given - np.maximum(-power, 0.0)).max(initial=0.0) > tolerance:
        fail("transfer_give", "transfers", "a giver gives more than it discharges")
    if (taken - np.maximum(power, 0.0)).max(initial=0.0) > tolerance:
        fail("transfer_take", "transfers", "a receiver takes more than it charges")
    return undelivered


def _wear_costs(problem: Problem, power: np.ndarray, soc: np.ndarray) -> tuple[float, float]:
    """Cycle-depth and dwell costs recomputed from the power and the reported SoC."""
    wear = problem.fleet.wear
    if wear is None:
        return 0.0, 0.0
    cycle = _cycle_cost(problem, power) if wear.n_segments else 0.0
    dwell = 0.0
    if wear.dwell_soc.size:
        level = np.clip(soc[:, 1:], 0.0, 1.0)  # after every slot
        knots = wear.dwell_soc
        piece = np.clip(np.searchsorted(knots, level, side="right") - 1, 0, knots.size - 2)
        along = np.clip((level - knots[piece]) / (knots[piece + 1] - knots[piece]), 0.0, 1.0)
        rates = wear.dwell_cost_per_h
        row = np.arange(problem.n_vehicles)[:, None]
        rate = rates[row, piece] + along * (rates[row, piece + 1] - rates[row, piece])
        plugged = problem.fleet.plugged_mask(problem.n_slots)
        dwell = problem.dt_h * float(rate[plugged].sum())
    return cycle, dwell


def _cycle_cost(problem: Problem, power: np.ndarray) -> float:
    """Cycle-depth cost recomputed slot by slot, all vehicles and segments at once: the energy
    starts in the deepest segments, a discharge empties the shallowest holding energy first and a
    charge refills the shallowest with room. Slots where no vehicle moves energy are skipped."""
    fleet = problem.fleet
    wear = fleet.wear
    assert wear is not None
    dt_h = problem.dt_h
    segments = wear.n_segments
    size = (fleet.capacity_kwh / segments)[:, None]
    deeper = fleet.capacity_kwh[:, None] * (1.0 - (np.arange(segments) + 1) / segments)
    fill = np.clip((fleet.soc_initial * fleet.capacity_kwh)[:, None] - deeper, 0.0, size)
    needs = np.where(power < 0, -power * dt_h / fleet.discharge_efficiency[:, None], 0.0)
    rooms = np.where(power > 0, power * dt_h * fleet.charge_efficiency[:, None], 0.0)
    cycle = 0.0
    for t in np.flatnonzero((power != 0).any(axis=0)):
        held_above = np.cumsum(fill, axis=1) - fill  # in the shallower segments
        used = np.clip(needs[:, t, None] - held_above, 0.0, fill)
        cycle += float((used * wear.cycle_depth_cost_per_kwh).sum())
        fill -= used
        space = np.maximum(size - fill, 0.0)
        space_above = np.cumsum(space, axis=1) - space
        fill += np.clip(rooms[:, t, None] - space_above, 0.0, space)
    return cycle


def _rate_cost(problem: Problem, power: np.ndarray) -> float:
    """Charge-rate cost recomputed band by band: each kW above a band edge (and below the next
    edge) pays that band's cost."""
    wear = problem.fleet.wear
    if wear is None or wear.rate_c.size == 0:
        return 0.0
    capacity = problem.fleet.capacity_kwh[:, None]
    charge_kw = np.maximum(power, 0.0)
    edges = wear.rate_c
    tops = np.append(edges[1:], np.inf)
    total = 0.0
    for b, edge in enumerate(edges):
        share = np.maximum(np.minimum(charge_kw, tops[b] * capacity) - edge * capacity, 0.0)
        total += problem.dt_h * float((share * wear.rate_cost_per_kwh[:, b : b + 1]).sum())
    return total
