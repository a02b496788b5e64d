"""The exact bidirectional scheduler's linear program: one LP over the whole fleet.

Formulation (problem format v1, all vehicles at once, only their plugged-in slots):

- columns per plugged-in slot k of vehicle n: charge ``pc >= 0``, discharge ``pd >= 0`` (AC side,
  kW) and stored energy after the slot ``e`` (kWh, within the vehicle's floor and ceiling);
- per vehicle: shortfall ``s >= 0`` with ``e[departure] + s >= target`` (soft target, priced at
  ``unmet_penalty_per_kwh``);
- per slot: import ``imp`` and export ``exp`` within the site limits, plus excess columns
  ``imp_over``/``exp_over`` bounded by how far the base load alone breaks the limit: the LP is
  always feasible (idle cars are a solution), a limit yields only where the base load alone
  breaks it, and the cars never add to that excess in any slot (they may only reduce it).
  Import excess is priced far above anything else (cars give what they can to relieve the
  transformer); export excess is *curtailed* surplus (the site's inverters shed it): it earns
  nothing and costs nothing, so cars absorb it where free energy is worth storing, and never
  burn it as conversion loss by charging and discharging at once, which no charger can;
- ``peak_p >= imp + imp_over - baseline_p`` in every slot of billing period p when a demand
  charge applies (only the increase over the period's peak so far is charged); a horizon
  that crosses into the next billing period (``tariff.next_period``) has a peak column each.

Energy balance ``e[k] = e[k-1] + eta_c * pc * dt_h - pd * dt_h / eta_d``; site balance
``sum(pc - pd) - imp - imp_over + exp + exp_over = -base_load``. Because ``export <= import``
price, importing and exporting at once never pays, so the split is exact.

This LP is a *relaxation* in two places, which :mod:`voltpool.schedule.guards` closes with
binaries where (and only where) the relaxed optimum uses them: a car may charge and discharge
in one slot, and a car that arrives below its reserve may be discharged below it (the floor
here is ``min(reserve, arrival level)``). :func:`voltpool.schedule.exact.solve_lp` solves it.

The matrix is built as scipy.sparse COO from index arithmetic (no per-vehicle Python loop) and
handed to HiGHS (Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog.
Comp. 2018) directly, with no modelling layer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from voltpool.model import Problem
from voltpool.schedule.rules_lp import add_owner_rules


@dataclass(frozen=True)
class Layout:
    """Where each block of columns and rows starts, and which (vehicle, slot) each k is."""

    n_plugged: int
    vehicle: np.ndarray
    slot: np.ndarray
    first: np.ndarray
    start: np.ndarray
    """Per vehicle: k of its first plugged-in slot."""
    last: np.ndarray
    n_vehicles: int
    n_slots: int
    n_peaks: int
    """Peak columns: one per billing period the horizon touches, none without a charge."""

    @property
    def charge(self) -> int:
        return 0

    @property
    def discharge(self) -> int:
        return self.n_plugged

    @property
    def energy(self) -> int:
        return 2 * self.n_plugged

    @property
    def shortfall(self) -> int:
        return 3 * self.n_plugged

    @property
    def imports(self) -> int:
        return 3 * self.n_plugged + self.n_vehicles

    @property
    def exports(self) -> int:
        return self.imports + self.n_slots

    @property
    def import_excess(self) -> int:
        return self.imports + 2 * self.n_slots

    @property
    def export_excess(self) -> int:
        return self.imports + 3 * self.n_slots

    @property
    def peak(self) -> int:
        return self.imports + 4 * self.n_slots

    @property
    def n_columns(self) -> int:
        return self.peak + self.n_peaks


@dataclass(frozen=True)
class TransferColumns:
    """Where the V2V flow columns are: one per (transfer, slot) both cars are plugged in."""

    first_flow: int
    link: np.ndarray
    slot: np.ndarray
    first_shortfall: int
    giver_k: np.ndarray
    """Per flow: the giver's plugged-in slot k."""


@dataclass(frozen=True)
class LinearProgram:
    """``min cost @ x  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper``."""

    layout: Layout
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    transfers: TransferColumns | None = None
    extra_columns: np.ndarray | None = None
    """What each column after the core blocks is, ``[n, 3]`` of (kind, k, index): the block
    kind, the plugged-in slot k it belongs to and its index within that slot (a depth segment,
    a dwell piece, a rate band), so a basis can be mapped onto an LP of another layout
    (:func:`voltpool.schedule.exact.map_basis`). ``None`` where a block has no such labels
    (V2V transfers, owner rules): such an LP's basis is never mapped."""
    extra_rows: np.ndarray | None = None
    """The same for each row after the core rows."""


NO_LABELS = np.zeros((0, 3), dtype=np.int64)
"""The labels of an LP of the core blocks only (nothing after them)."""


def slot_labels(kind: int, ks: np.ndarray, per_slot: int) -> np.ndarray:
    """Labels (kind, k, index) of a block of ``per_slot`` columns or rows per plugged-in slot
    in ``ks``, laid out as ``[ks.size, per_slot]`` in C order."""
    return band_labels(kind, np.repeat(ks, per_slot), np.tile(np.arange(per_slot), ks.size))


def band_labels(kind: int, ks: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Labels (kind, k, index) of a block with a column or row per (plugged-in slot ``ks[i]``,
    index ``index[i]``)."""
    return np.column_stack([np.full(ks.size, kind, dtype=np.int64), ks, index]).astype(np.int64)


def site_excess_price_per_kwh(problem: Problem) -> float:
    """Price on site-limit excess: above any gain, so a limit yields only when it must. [/kWh]"""
    fleet = problem.fleet
    tariff = problem.tariff
    eta_min = float(fleet.discharge_efficiency.min(initial=1.0))
    scale = (
        problem.unmet_penalty_per_kwh / eta_min
        + np.abs(tariff.import_price_per_kwh).max()
        + np.abs(tariff.export_price_per_kwh).max()
        + fleet.degradation_cost_per_kwh.max(initial=0.0)
        + (fleet.wear.cycle_depth_cost_per_kwh.max(initial=0.0) / eta_min if fleet.wear else 0.0)
        + max(price for _, price, _ in tariff.peak_periods(problem.n_slots)) / problem.dt_h
    )
    return 10.0 * float(scale) + 1.0


def base_excess_kw(problem: Problem, direction: str) -> np.ndarray:
    """Per slot: how far the base load alone (idle cars) breaks the import or export limit. [kW]"""
    site = problem.site
    if direction == "import":
        return np.maximum(site.base_load_kw - site.import_limit_slots_kw, 0.0)
    return np.maximum(-site.base_load_kw - site.export_limit_slots_kw, 0.0)


def make_layout(problem: Problem) -> Layout:
    fleet = problem.fleet
    tariff = problem.tariff
    lengths = fleet.plugged_slots
    n_plugged = int(lengths.sum())
    starts = (np.cumsum(lengths) - lengths).astype(np.int64)
    vehicle = np.repeat(np.arange(fleet.n_vehicles), lengths)
    k = np.arange(n_plugged)
    slot = k - starts[vehicle] + fleet.arrival_slot[vehicle]
    return Layout(
        n_plugged=n_plugged,
        vehicle=vehicle,
        slot=slot,
        first=k == starts[vehicle],
        start=starts,
        last=starts + lengths - 1,
        n_vehicles=fleet.n_vehicles,
        n_slots=problem.n_slots,
        n_peaks=len(tariff.peak_periods(problem.n_slots)) if tariff.has_peak else 0,
    )


def build_lp(problem: Problem) -> LinearProgram:
    """Assemble the sparse LP of ``problem`` (see the module docstring)."""
    fleet = problem.fleet
    tariff = problem.tariff
    site = problem.site
    dt_h = problem.dt_h
    lay = make_layout(problem)
    n_k, n_v, n_t = lay.n_plugged, lay.n_vehicles, lay.n_slots
    k = np.arange(n_k)
    t = np.arange(n_t)
    veh = lay.vehicle

    # Rows: energy balance per k, target per vehicle, site balance per slot, peak per slot.
    target_row = n_k
    site_row = n_k + n_v
    peak_row = site_row + n_t
    n_rows = peak_row + (n_t if lay.n_peaks else 0)
    periods = tariff.peak_periods(n_t)
    period = np.zeros(n_t, dtype=np.int64)
    for p, (slots, _price, _baseline) in enumerate(periods):
        period[slots] = p

    not_first = k[~lay.first]
    blocks = [
        (k, lay.energy + k, np.ones(n_k)),
        (not_first, lay.energy + not_first - 1, -np.ones(not_first.size)),
        (k, lay.charge + k, -fleet.charge_efficiency[veh] * dt_h),
        (k, lay.discharge + k, dt_h / fleet.discharge_efficiency[veh]),
        (target_row + np.arange(n_v), lay.energy + lay.last, np.ones(n_v)),
        (target_row + np.arange(n_v), lay.shortfall + np.arange(n_v), np.ones(n_v)),
        (site_row + lay.slot, lay.charge + k, np.ones(n_k)),
        (site_row + lay.slot, lay.discharge + k, -np.ones(n_k)),
        (site_row + t, lay.imports + t, -np.ones(n_t)),
        (site_row + t, lay.import_excess + t, -np.ones(n_t)),
        (site_row + t, lay.exports + t, np.ones(n_t)),
        (site_row + t, lay.export_excess + t, np.ones(n_t)),
    ]
    if lay.n_peaks:
        blocks += [
            (peak_row + t, lay.peak + period, np.ones(n_t)),
            (peak_row + t, lay.imports + t, -np.ones(n_t)),
            (peak_row + t, lay.import_excess + t, -np.ones(n_t)),
        ]
    rows = np.concatenate([b[0] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_rows, lay.n_columns))

    row_lower = np.empty(n_rows)
    row_upper = np.empty(n_rows)
    energy_rhs = np.where(lay.first, fleet.energy_initial_kwh[veh], 0.0)
    row_lower[:n_k] = row_upper[:n_k] = energy_rhs
    row_lower[target_row:site_row] = fleet.energy_target_kwh
    row_upper[target_row:site_row] = np.inf
    row_lower[site_row:peak_row] = row_upper[site_row:peak_row] = -site.base_load_kw
    if lay.n_peaks:
        row_lower[peak_row:] = -np.array([baseline for _, _, baseline in periods])[period]
    row_upper[peak_row:] = np.inf

    excess = site_excess_price_per_kwh(problem) * dt_h
    cost = np.zeros(lay.n_columns)
    lower = np.zeros(lay.n_columns)
    upper = np.full(lay.n_columns, np.inf)
    cost[lay.discharge : lay.energy] = fleet.degradation_cost_per_kwh[veh] * dt_h
    cost[lay.shortfall : lay.imports] = problem.unmet_penalty_per_kwh
    cost[lay.imports : lay.exports] = tariff.import_price_per_kwh * dt_h
    cost[lay.exports : lay.import_excess] = -tariff.export_price_per_kwh * dt_h
    cost[lay.import_excess : lay.export_excess] = tariff.import_price_per_kwh * dt_h + excess
    cost[lay.export_excess : lay.peak] = 0.0  # curtailed: earns nothing, costs nothing
    if lay.n_peaks:
        cost[lay.peak : lay.n_columns] = [price for _, price, _ in periods]
    upper[lay.charge : lay.discharge] = fleet.max_charge_kw[veh]
    upper[lay.discharge : lay.energy] = fleet.max_discharge_kw[veh]
    lower[lay.energy : lay.shortfall] = fleet.energy_floor_kwh[veh]
    upper[lay.energy : lay.shortfall] = fleet.energy_ceiling_kwh[veh]
    upper[lay.imports : lay.exports] = site.import_limit_slots_kw
    upper[lay.exports : lay.import_excess] = site.export_limit_slots_kw
    upper[lay.import_excess : lay.export_excess] = base_excess_kw(problem, "import")
    upper[lay.export_excess : lay.peak] = base_excess_kw(problem, "export")
    lp = LinearProgram(
        lay, cost, lower, upper, matrix, row_lower, row_upper, None, NO_LABELS, NO_LABELS
    )
    if fleet.wear is not None:
        lp = add_wear_costs(problem, lp)
    if problem.n_transfers:
        lp = add_transfers(problem, lp)
    if fleet.rules is not None:
        lp = add_owner_rules(problem, lp)
    return lp


def plugged_column(
    lay: Layout, problem: Problem, vehicle: np.ndarray, slot: np.ndarray
) -> np.ndarray:
    """Index k of (vehicle, slot) among the plugged-in slots; -1 where the car is not plugged."""
    fleet = problem.fleet
    arrival = fleet.arrival_slot[vehicle]
    inside = (slot >= arrival) & (slot < fleet.departure_slot[vehicle])
    return np.where(inside, lay.start[vehicle] + slot - arrival, -1)


def _stack(
    lp: LinearProgram,
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    shape: tuple[int, int],
) -> sp.csc_matrix:
    coo = lp.matrix.tocoo()
    rows_all = np.concatenate([coo.row] + [e[0] for e in entries])
    cols_all = np.concatenate([coo.col] + [e[1] for e in entries])
    vals_all = np.concatenate([coo.data] + [e[2] for e in entries])
    return sp.csc_matrix((vals_all, (rows_all, cols_all)), shape=shape)


def add_transfers(problem: Problem, lp: LinearProgram) -> LinearProgram:
    """Append the V2V transfers (:mod:`voltpool.model.transfers`).

    Per transfer l and slot t of its window in which both cars are plugged in, a flow
    ``f[l,t] >= 0`` (AC kW); per transfer a shortfall ``u[l] >= 0`` priced at
    ``unmet_penalty_per_kwh``: ``sum_t f[l,t] * dt_h + u[l] = energy_kwh[l]``. Per car and slot
    the flows it gives stay within its discharge and the flows it receives within its charge
    (``sum f - pd <= 0``, ``sum f - pc <= 0``): the transfer is simultaneous. The giver's stored
    energy stays above ``min(giver_floor_kwh, energy at arrival)`` in every slot of the window,
    and inside the window the giver does not charge nor the receiver discharge: a giver offers
    what its battery holds, not grid energy passed through it.
    """
    transfers = problem.transfers
    assert transfers is not None
    lay = lp.layout
    fleet = problem.fleet
    dt_h = problem.dt_h
    n_cols, n_rows = lp.cost.size, lp.row_lower.size
    n_links = transfers.n_transfers

    spans = transfers.end_slot - transfers.start_slot
    link = np.repeat(np.arange(n_links), spans)
    slot = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    slot = slot + transfers.start_slot[link]
    k_giver = plugged_column(lay, problem, transfers.giver[link], slot)
    k_receiver = plugged_column(lay, problem, transfers.receiver[link], slot)

    lower = lp.col_lower.copy()
    upper = lp.col_upper.copy()
    upper[lay.charge + k_giver[k_giver >= 0]] = 0.0
    upper[lay.discharge + k_receiver[k_receiver >= 0]] = 0.0
    floor = np.minimum(
        transfers.giver_floor_kwh[link], fleet.energy_initial_kwh[transfers.giver[link]]
    )
    window = k_giver >= 0
    np.maximum.at(lower, lay.energy + k_giver[window], floor[window])

    both = (k_giver >= 0) & (k_receiver >= 0)
    link, slot, k_giver, k_receiver = link[both], slot[both], k_giver[both], k_receiver[both]
    n_flows = link.size
    flow = n_cols + np.arange(n_flows)
    shortfall = n_cols + n_flows + np.arange(n_links)
    flow_upper = np.minimum(
        fleet.max_discharge_kw[transfers.giver[link]], fleet.max_charge_kw[transfers.receiver[link]]
    )

    energy_row = n_rows + np.arange(n_links)
    givers, giver_row = np.unique(k_giver, return_inverse=True)
    receivers, receiver_row = np.unique(k_receiver, return_inverse=True)
    give_row0 = n_rows + n_links
    take_row0 = give_row0 + givers.size
    entries = [
        (energy_row[link], flow, np.full(n_flows, dt_h)),
        (energy_row, shortfall, np.ones(n_links)),
        (give_row0 + giver_row, flow, np.ones(n_flows)),
        (give_row0 + np.arange(givers.size), lay.discharge + givers, -np.ones(givers.size)),
        (take_row0 + receiver_row, flow, np.ones(n_flows)),
        (take_row0 + np.arange(receivers.size), lay.charge + receivers, -np.ones(receivers.size)),
    ]
    n_new_rows = n_links + givers.size + receivers.size
    shape = (n_rows + n_new_rows, n_cols + n_flows + n_links)
    return LinearProgram(
        lay,
        np.concatenate(
            [lp.cost, np.zeros(n_flows), np.full(n_links, problem.unmet_penalty_per_kwh)]
        ),
        np.concatenate([lower, np.zeros(n_flows + n_links)]),
        np.concatenate([upper, flow_upper, np.full(n_links, np.inf)]),
        _stack(lp, entries, shape),
        np.concatenate(
            [lp.row_lower, transfers.energy_kwh, np.full(n_new_rows - n_links, -np.inf)]
        ),
        np.concatenate([lp.row_upper, transfers.energy_kwh, np.zeros(n_new_rows - n_links)]),
        TransferColumns(n_cols, link, slot, n_cols + n_flows, k_giver),
    )


def add_wear_costs(problem: Problem, lp: LinearProgram) -> LinearProgram:
    """Append the cycle-depth segments and the SoC-dwell epigraph (:mod:`voltpool.model.wear`).

    Cycle depth (Xu et al. 2018): per plugged-in slot k of a vehicle with such costs and per
    depth band j (its segments, adjacent ones of equal cost merged:
    :meth:`~voltpool.model.wear.BatteryWear.depth_bands`), charge ``pc_j``, discharge ``pd_j``
    and band energy ``e_j`` in ``[0, band size]``; ``sum_j pc_j = pc``, ``sum_j pd_j = pd``,
    each band balanced like the battery, starting with the energy in the deepest bands;
    ``pd_j`` costs ``c_j * dt_h / eta_d`` (the kWh leaving the battery). Costs not decreasing
    with depth keep it convex. A vehicle with one band (every segment of one cost) gets no
    columns: its cost goes on the discharge column itself. SoC dwell:
    ``w[k] >= slope_m * e[k] / capacity + intercept_m`` for every piece m, costing
    ``dt_h * w[k]``. Charge rate: ``pc = sum_b q_b`` with ``q_b`` within band b's width,
    costing ``c_b * dt_h`` each (bands fill from the cheapest, as costs do not decrease).
    """
    fleet = problem.fleet
    wear = fleet.wear
    assert wear is not None
    lay = lp.layout
    dt_h = problem.dt_h
    veh = lay.vehicle
    n_cols, n_rows = lp.cost.size, lp.row_lower.size
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    costs, lowers, uppers, row_lo, row_hi = [], [], [], [], []
    col_labels, row_labels = [], []

    cyc_k = np.flatnonzero(wear.has_cycle_cost[veh]) if wear.n_segments else np.zeros(0, int)
    bands = wear.depth_bands(fleet.capacity_kwh, fleet.energy_initial_kwh)
    cost = lp.cost
    one_band = cyc_k[bands.count[veh[cyc_k]] == 1]
    if one_band.size:  # one band: the segments are the battery, its cost a flat one on discharge
        one_veh = veh[one_band]
        cost = cost.copy()
        cost[lay.discharge + one_band] += (
            bands.cost_per_kwh[bands.first[one_veh]] * dt_h / fleet.discharge_efficiency[one_veh]
        )
    cyc_k = cyc_k[bands.count[veh[cyc_k]] > 1]
    if cyc_k.size:
        count = cyc_k.size
        local = np.arange(count)
        cyc_veh = veh[cyc_k]
        per_slot = bands.count[cyc_veh]
        total = int(per_slot.sum())
        # one entry per (car-slot, band), car-slot by car-slot: charge, discharge, energy
        slot_of = np.repeat(local, per_slot)
        within = np.arange(total) - np.repeat(np.cumsum(per_slot) - per_slot, per_slot)
        band = bands.first[cyc_veh][slot_of] + within
        seg_veh = cyc_veh[slot_of]
        pc_j = n_cols + np.arange(total)
        pd_j = pc_j + total
        e_j = pd_j + total
        n_cols += 3 * total
        costs += [
            np.zeros(total),
            bands.cost_per_kwh[band] * dt_h / fleet.discharge_efficiency[seg_veh],
            np.zeros(total),
        ]
        lowers += [np.zeros(3 * total)]
        uppers += [np.full(2 * total, np.inf), bands.size_kwh[band]]
        link_charge = n_rows + local
        link_discharge = link_charge + count
        balance = n_rows + 2 * count + np.arange(total)
        n_rows += 2 * count + total
        ones = np.ones(total)
        entries += [
            (link_charge[slot_of], pc_j, ones),
            (link_charge, lay.charge + cyc_k, -np.ones(count)),
            (link_discharge[slot_of], pd_j, ones),
            (link_discharge, lay.discharge + cyc_k, -np.ones(count)),
            (balance, e_j, ones),
            (balance, pc_j, -fleet.charge_efficiency[seg_veh] * dt_h),
            (balance, pd_j, dt_h / fleet.discharge_efficiency[seg_veh]),
        ]
        # the band's energy in the previous slot (same vehicle, same bands): the car-slot
        # before in cyc_k order, ``per_slot`` entries back
        follow = np.flatnonzero(~lay.first[cyc_k][slot_of])
        entries.append(
            (balance[follow], e_j[follow - per_slot[slot_of[follow]]], -np.ones(follow.size))
        )
        rhs = np.where(lay.first[cyc_k][slot_of], bands.fill_kwh[band], 0.0)
        row_lo += [np.zeros(2 * count), rhs]
        row_hi += [np.zeros(2 * count), rhs]
        col_labels += [band_labels(kind, cyc_k[slot_of], within) for kind in _CYCLE_COLUMNS]
        row_labels += [
            slot_labels(_LINK_CHARGE, cyc_k, 1),
            slot_labels(_LINK_DISCHARGE, cyc_k, 1),
            band_labels(_SEGMENT_BALANCE, cyc_k[slot_of], within),
        ]

    dwell_k = np.flatnonzero(wear.has_dwell_cost[veh])
    if dwell_k.size:
        count = dwell_k.size
        slopes, intercepts = wear.dwell_lines()
        pieces = slopes.shape[1]
        w = n_cols + np.arange(count)
        n_cols += count
        costs.append(np.full(count, dt_h))
        lowers.append(np.full(count, -np.inf))
        uppers.append(np.full(count, np.inf))
        rows = n_rows + np.arange(count * pieces).reshape(count, pieces)
        n_rows += count * pieces
        dwell_veh = veh[dwell_k]
        entries += [
            (rows.ravel(), np.repeat(w, pieces), np.ones(count * pieces)),
            (
                rows.ravel(),
                np.repeat(lay.energy + dwell_k, pieces),
                (-slopes[dwell_veh] / fleet.capacity_kwh[dwell_veh, None]).ravel(),
            ),
        ]
        row_lo.append(intercepts[dwell_veh].ravel())
        row_hi.append(np.full(count * pieces, np.inf))
        col_labels.append(slot_labels(_DWELL, dwell_k, 1))
        row_labels.append(slot_labels(_DWELL, dwell_k, pieces))

    rate_k = np.flatnonzero(wear.has_rate_cost[veh])
    if rate_k.size:
        count = rate_k.size
        bands = wear.rate_c.size
        rate_veh = veh[rate_k]
        _lower, width = wear.rate_band_kw(fleet.capacity_kwh[rate_veh])
        q = n_cols + np.arange(count * bands).reshape(count, bands)
        n_cols += count * bands
        costs.append((wear.rate_cost_per_kwh[rate_veh] * dt_h).ravel())
        lowers.append(np.zeros(count * bands))
        uppers.append(width.ravel())
        link = n_rows + np.arange(count)
        n_rows += count
        entries += [
            (np.repeat(link, bands), q.ravel(), np.ones(count * bands)),
            (link, lay.charge + rate_k, -np.ones(count)),
        ]
        row_lo.append(np.zeros(count))
        row_hi.append(np.zeros(count))
        col_labels.append(slot_labels(_RATE, rate_k, bands))
        row_labels.append(slot_labels(_RATE, rate_k, 1))

    if not entries:
        return dataclasses.replace(lp, cost=cost)
    return LinearProgram(
        lp.layout,
        np.concatenate([cost, *costs]),
        np.concatenate([lp.col_lower, *lowers]),
        np.concatenate([lp.col_upper, *uppers]),
        _stack(lp, entries, (n_rows, n_cols)),
        np.concatenate([lp.row_lower, *row_lo]),
        np.concatenate([lp.row_upper, *row_hi]),
        lp.transfers,
        _more_labels(lp.extra_columns, col_labels),
        _more_labels(lp.extra_rows, row_labels),
    )


_CYCLE_COLUMNS = (1, 2, 3)
"""Label kinds of the depth segments' charge, discharge and energy columns."""
_DWELL, _RATE = 4, 5
"""Label kinds of the SoC-dwell epigraph (its column and rows) and of the rate bands."""
_LINK_CHARGE, _LINK_DISCHARGE, _SEGMENT_BALANCE = 1, 2, 3
"""Label kinds of the depth segments' rows."""


def _more_labels(labels: np.ndarray | None, more: list[np.ndarray]) -> np.ndarray | None:
    """``labels`` with the blocks ``more`` after them; ``None`` stays ``None``."""
    return None if labels is None else np.concatenate([labels, *more])
