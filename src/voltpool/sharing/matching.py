"""Match requests to offers with a transport linear program on HiGHS.

Candidates
    A (request i, offer j) pair is a candidate only when: the giver is another member; the
    offer's consent names the receiver (or the whole circle); the offer's price is at most the
    request's maximum; both cars are plugged in and the request window, the offer window and
    both plug-in sessions overlap in at least one whole slot. The pair's window is that overlap.
    **Mode**: *direct* when both cars are plugged in at the same site (the energy goes from one
    charger to the other behind one connection), else *grid* (each car at its own site: the
    giver exports, the receiver imports at the same time; the grid carries the energy, the
    credit moves between the friends).

Variables and limits (``x_p`` = AC kWh moved by pair p, at the chargers)
    - battery energy, honestly through the losses: the receiver's battery gets
      ``eta_charge * x``, the giver's battery gives ``x / eta_discharge``;
    - per request: ``sum eta_charge * x <= energy_kwh``; per receiving car: what it gets fits
      below its ``soc_max``;
    - per offer: ``sum x / eta_discharge <= energy_kwh``; per giving car and offer j (floors
      nested): what the offers whose floor is at least j's take from the battery is at most the
      energy above j's floor, ``max(soc_min, keep_above_soc) * capacity``;
    - per pair ``x <= min(giver max_discharge_kw, receiver max_charge_kw) * overlap hours``,
      and per car the same over the union of its pairs' windows (the scheduler then checks the
      slot-by-slot physics and reports any shortfall).

Objective, lexicographic (each stage keeps the optimum of the ones before, to 1e-7 relative)
    1. deliver as much requested energy as possible into the receivers' batteries;
    2. then pay as few credits as possible (the offer's price times the kWh the credit policy
       bills: delivered, given or their mean, as ``CreditPolicy.v2v_losses`` says);
    3. tie-break: move as little energy through the grid as possible (prefer *direct*);
    4. tie-break: take as little from the givers' batteries as possible (fewer losses).
    Remaining ties are resolved by HiGHS's deterministic simplex (same input, same answer).

The agreed price is the offer's (pay as offered). Amounts are rounded down to whole Wh at the
charger, and pairs below ``MIN_MATCH_KWH`` are dropped.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from voltpool.credits import MILLI, WH_PER_KWH, CreditPolicy, kwh_to_wh
from voltpool.errors import SolverError
from voltpool.model.clock import DEFAULT_SLOT_MINUTES, SlotGrid
from voltpool.schedule.highs import highs_for, run_highs
from voltpool.sharing.circle import Cars, Circle
from voltpool.sharing.requests import Book, Offer, Request, resolve

MIN_MATCH_KWH = 0.01
STAGE_TOLERANCE = 1e-7

Mode = Literal["direct", "grid"]


def match_key(circle_id: str, request_id: str, offer_id: str) -> str:
    """The deterministic id stem of a match (ledger transfer ids derive from it)."""
    digest = hashlib.sha256(f"{circle_id}/{request_id}/{offer_id}".encode()).hexdigest()
    return f"v2v-{digest[:20]}"


@dataclass(frozen=True)
class Match:
    """One agreed V2V transfer: who gives, who receives, how, when, how much, at what price.

    Energies: ``ac_kwh`` at the chargers (what the giver's charger delivers and the receiver's
    takes), ``giver_battery_kwh = ac_kwh / eta_discharge`` leaves the giver's battery,
    ``receiver_battery_kwh = eta_charge * ac_kwh`` arrives in the receiver's. The window is
    slots ``[start_slot, end_slot)`` of ``grid``, the clock of the :func:`match` call.
    """

    key: str
    circle: str
    request_id: str
    offer_id: str
    giver: str
    receiver: str
    giver_car: str
    receiver_car: str
    mode: Mode
    site: str
    start: pd.Timestamp
    end: pd.Timestamp
    start_slot: int
    end_slot: int
    ac_kwh: float
    giver_battery_kwh: float
    receiver_battery_kwh: float
    price_millicredits_per_kwh: int
    estimate_millicredits: int
    giver_floor_kwh: float
    grid: SlotGrid

    @property
    def losses_kwh(self) -> float:
        """Conversion losses of both chargers. [kWh]"""
        return self.giver_battery_kwh - self.receiver_battery_kwh

    @property
    def planned_wh(self) -> tuple[int, int]:
        """(delivered AC Wh, Wh out of the giver's battery) as agreed, rounded down."""
        delivered = kwh_to_wh(self.ac_kwh)
        return delivered, max(kwh_to_wh(self.giver_battery_kwh), delivered)

    def payment_millicredits(self, policy: CreditPolicy, delivered_wh: int, given_wh: int) -> int:
        """What the receiver pays for the metered energy: the policy's V2V amount at the agreed
        price, never more than the estimate held at acceptance."""
        credits = v2v_millicredits(policy, delivered_wh, given_wh, self.price_millicredits_per_kwh)
        return min(credits, self.estimate_millicredits)


def v2v_millicredits(
    policy: CreditPolicy, delivered_wh: int, given_wh: int, price_millicredits_per_kwh: int
) -> int:
    """Milli-credits for a V2V transfer at a price in milli-credits per kWh.

    ``CreditPolicy.v2v_millicredits`` takes whole credits per kWh; applied to a price in
    milli-credits it returns ``billed_wh * price_mc`` (a thousandth of a milli-credit per unit),
    which is divided by 1,000 rounding down: identical to the policy's own answer when the
    price is a whole number of credits, and exact to the milli-credit otherwise.
    """
    return policy.v2v_millicredits(delivered_wh, given_wh, price_millicredits_per_kwh) // MILLI


@dataclass(frozen=True)
class Candidate:
    """A pair the rules allow, with the window it can use and its mode."""

    request: int
    offer: int
    start_slot: int
    end_slot: int
    mode: Mode


def candidates(circle: Circle, book: Book) -> tuple[list[Candidate], dict[int, list[str]]]:
    """Every allowed (request, offer) pair, and per request why each other offer is not one."""
    cars = circle.cars
    first, end = cars.plug_slots(book.grid)
    plugged = cars.plugged & (end > first)
    found: list[Candidate] = []
    why: dict[int, list[str]] = {}
    for i in range(len(book.req_ids)):
        reasons = why.setdefault(i, [])
        receiver, member = int(book.req_car[i]), book.req_member[i]
        if not plugged[receiver]:
            reasons.append(f"{cars.ids[receiver]} is not plugged in")
            continue
        for j in range(len(book.off_ids)):
            giver = int(book.off_car[j])
            offer = book.off_ids[j]
            if book.off_member[j] == member:
                reasons.append(f"{offer} is your own offer")
                continue
            if member not in book.off_consent[j]:
                reasons.append(
                    f"{offer}: {book.off_member[j]} shares only with "
                    f"{', '.join(sorted(book.off_consent[j]))}"
                )
                continue
            if book.off_price_mc[j] > book.req_max_price_mc[i]:
                reasons.append(
                    f"{offer} asks {book.off_price_mc[j] / 1000:g} credits/kWh, above your "
                    f"maximum of {book.req_max_price_mc[i] / 1000:g}"
                )
                continue
            if not plugged[giver]:
                reasons.append(f"{offer}: {cars.ids[giver]} is not plugged in")
                continue
            start = max(
                book.req_start_slot[i], book.off_start_slot[j], first[giver], first[receiver]
            )
            stop = min(book.req_end_slot[i], book.off_end_slot[j], end[giver], end[receiver])
            if stop <= start:
                reasons.append(
                    f"{offer}: the windows do not overlap while both cars are plugged in"
                )
                continue
            mode: Mode = "direct" if cars.site[giver] == cars.site[receiver] else "grid"
            found.append(Candidate(i, j, int(start), int(stop), mode))
    return found, why


def _solve_stages(
    matrix: sp.csc_matrix,
    row_upper: np.ndarray,
    col_upper: np.ndarray,
    objectives: list[np.ndarray],
) -> np.ndarray:
    """Minimise each objective in turn, keeping the earlier ones at their optimum."""
    n_cols = col_upper.size
    highs = highs_for(
        objectives[0],
        np.zeros(n_cols),
        col_upper,
        matrix,
        np.full(row_upper.size, -np.inf),
        row_upper,
    )
    columns = np.arange(n_cols, dtype=np.int32)
    for stage, cost in enumerate(objectives):
        if stage:
            highs.changeColsCost(n_cols, columns, cost)
        status = run_highs(highs)
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                f"matching stage {stage + 1}: HiGHS {highs.modelStatusToString(status)}"
            )
        value = float(highs.getInfo().objective_function_value)
        slack = STAGE_TOLERANCE * max(1.0, abs(value))
        nonzero = np.flatnonzero(cost)
        highs.addRow(-np.inf, value + slack, nonzero.size, nonzero.astype(np.int32), cost[nonzero])
    return np.asarray(highs.getSolution().col_value)


def _pairs_by(keys: np.ndarray) -> dict[int, np.ndarray]:
    """Pair indices grouped by key (one sort, no per-key scan of all pairs)."""
    order = np.argsort(keys, kind="stable")
    uniq, first = np.unique(keys[order], return_index=True)
    return dict(zip(uniq.tolist(), np.split(order, first[1:]), strict=True))


def _limit_rows(
    cars: Cars,
    book: Book,
    dt_h: float,
    req: np.ndarray,
    off: np.ndarray,
    giver: np.ndarray,
    receiver: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
) -> tuple[sp.csc_matrix, np.ndarray]:
    """The limit rows (module docstring) as a sparse matrix over the n pairs, and their bounds.

    Built from index arrays: each pair appears in a handful of rows, so the matrix stays
    O(pairs) in memory however many requests and offers there are.
    """
    n = req.size
    pair = np.arange(n)
    eta_c = cars.charge_efficiency[receiver]
    inv_eta_d = 1.0 / cars.discharge_efficiency[giver]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    count = 0

    def partition(keys: np.ndarray, coef: np.ndarray, bound: np.ndarray) -> None:
        """One row per distinct key over the pairs with that key; ``bound`` per distinct key."""
        nonlocal count
        uniq, inverse = np.unique(keys, return_inverse=True)
        rows.append(count + inverse)
        cols.append(pair)
        vals.append(coef)
        upper.append(bound(uniq))
        count += uniq.size

    partition(req, eta_c, lambda i: book.req_energy_kwh[i])
    partition(off, inv_eta_d, lambda j: book.off_energy_kwh[j])
    partition(receiver, eta_c, lambda car: cars.room_kwh[car])
    # Nested floors: what the offers of a car with a floor at least j's take stays above j's.
    by_giver = _pairs_by(giver)
    floor_of_pair = book.off_floor_kwh[off]
    for j in np.unique(off):
        car = int(book.off_car[j])
        floor = book.off_floor_kwh[j]
        mine = by_giver[car]
        nested = mine[floor_of_pair[mine] >= floor - 1e-12]
        rows.append(np.full(nested.size, count))
        cols.append(nested)
        vals.append(inv_eta_d[nested])
        upper.append(np.array([max(cars.energy_kwh[car] - floor, 0.0)]))
        count += 1
    # Charger power over the union of each car's pair windows.
    for cars_of_pair, limit_kw in ((giver, cars.max_discharge_kw), (receiver, cars.max_charge_kw)):
        for car, mine in _pairs_by(cars_of_pair).items():
            union = np.zeros(int(stop[mine].max()), dtype=bool)
            for a, b in zip(start[mine], stop[mine], strict=True):
                union[a:b] = True
            rows.append(np.full(mine.size, count))
            cols.append(mine)
            vals.append(np.ones(mine.size))
            upper.append(np.array([limit_kw[car] * union.sum() * dt_h]))
            count += 1
    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(count, n)
    )
    return matrix, np.concatenate(upper)


def billed_per_ac_kwh(
    policy: CreditPolicy, eta_discharge: float | np.ndarray
) -> float | np.ndarray:
    """kWh billed per kWh delivered at the charger under the policy's loss rule (element-wise
    over an array of the givers' discharge efficiencies)."""
    given = 1.0 / eta_discharge
    return {"giver": 1.0, "receiver": given, "split": (1.0 + given) / 2}[policy.v2v_losses]


def match_book(circle: Circle, book: Book, policy: CreditPolicy | None = None) -> list[Match]:
    """Match checked requests and offers (see the module docstring)."""
    policy = policy or CreditPolicy()
    found, _why = candidates(circle, book)
    if not found:
        return []
    cars = circle.cars
    grid = book.grid
    req = np.array([c.request for c in found])
    off = np.array([c.offer for c in found])
    start = np.array([c.start_slot for c in found])
    stop = np.array([c.end_slot for c in found])
    receiver = book.req_car[req]
    giver = book.off_car[off]
    eta_c = cars.charge_efficiency[receiver]
    eta_d = cars.discharge_efficiency[giver]
    rate_kw = np.minimum(cars.max_discharge_kw[giver], cars.max_charge_kw[receiver])
    col_upper = rate_kw * (stop - start) * grid.dt_h

    matrix, upper = _limit_rows(cars, book, grid.dt_h, req, off, giver, receiver, start, stop)
    price = book.off_price_mc[off].astype(float)
    billed = billed_per_ac_kwh(policy, eta_d)
    grid_mode = np.array([c.mode == "grid" for c in found], dtype=float)
    objectives = [-eta_c, price * billed / MILLI, grid_mode, 1.0 / eta_d]
    x = _solve_stages(matrix, upper, col_upper, objectives)
    # whole Wh at the charger, by the meter rule (LP round-off below zero clipped first)
    moved_kwh = kwh_to_wh(np.maximum(x, 0.0), "matched_kwh") / WH_PER_KWH

    matches: list[Match] = []
    for p in np.flatnonzero(moved_kwh >= MIN_MATCH_KWH):  # request order, then offer order
        ac_kwh = float(moved_kwh[p])
        i, j, g, r = int(req[p]), int(off[p]), int(giver[p]), int(receiver[p])
        candidate = found[p]
        site = cars.site[g] if candidate.mode == "direct" else f"{cars.site[g]} -> {cars.site[r]}"
        partial = Match(
            key=match_key(circle.id, book.req_ids[i], book.off_ids[j]),
            circle=circle.id,
            request_id=book.req_ids[i],
            offer_id=book.off_ids[j],
            giver=book.off_member[j],
            receiver=book.req_member[i],
            giver_car=cars.ids[g],
            receiver_car=cars.ids[r],
            mode=candidate.mode,
            site=site,
            start=grid.time(candidate.start_slot),
            end=grid.time(candidate.end_slot),
            start_slot=candidate.start_slot,
            end_slot=candidate.end_slot,
            ac_kwh=ac_kwh,
            giver_battery_kwh=float(ac_kwh / cars.discharge_efficiency[g]),
            receiver_battery_kwh=float(ac_kwh * cars.charge_efficiency[r]),
            price_millicredits_per_kwh=int(book.off_price_mc[j]),
            estimate_millicredits=0,
            giver_floor_kwh=float(book.off_floor_kwh[j]),
            grid=grid,
        )
        delivered, given = partial.planned_wh
        estimate = v2v_millicredits(policy, delivered, given, partial.price_millicredits_per_kwh)
        matches.append(replace(partial, estimate_millicredits=estimate))
    return matches


def match(
    requests: list[Request] | tuple[Request, ...],
    offers: list[Offer] | tuple[Offer, ...],
    circle: Circle,
    now: datetime | pd.Timestamp | str,
    policy: CreditPolicy | None = None,
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
) -> list[Match]:
    """Check the requests and offers (ProblemError naming every bad field) and match them on
    slots of ``slot_minutes`` from ``now``.

    Returns the matches in request order, then offer order; see the module docstring for the
    rules and the lexicographic objective.
    """
    return match_book(circle, resolve(circle, requests, offers, now, slot_minutes), policy)


def unmatched(
    requests: list[Request] | tuple[Request, ...],
    offers: list[Offer] | tuple[Offer, ...],
    circle: Circle,
    now: datetime | pd.Timestamp | str,
    matches: list[Match],
    refused: list[Match] | tuple[Match, ...] = (),
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
) -> dict[str, str]:
    """Per request that got less than it asked for: why, in plain words.

    ``matches`` are the matches that went ahead; ``refused`` those not booked (the receiver's
    credits did not cover them); ``slot_minutes`` is the slot length they were matched on.
    """
    book = resolve(circle, requests, offers, now, slot_minutes)
    found, why = candidates(circle, book)
    got_kwh: defaultdict[str, float] = defaultdict(float)
    for m in matches:
        got_kwh[m.request_id] += m.receiver_battery_kwh
    not_booked: defaultdict[str, set[str]] = defaultdict(set)
    for m in refused:
        not_booked[m.request_id].add(m.offer_id)
    allowed_offers: defaultdict[int, list[str]] = defaultdict(list)
    for c in found:
        allowed_offers[c.request].append(book.off_ids[c.offer])
    out: dict[str, str] = {}
    for i, request_id in enumerate(book.req_ids):
        got = got_kwh[request_id]
        wanted = float(book.req_energy_kwh[i])
        if got >= wanted - 1e-3:
            continue
        refused_offers = not_booked[request_id]
        parts = why.get(i, []) + [
            f"{offer}: not booked, your credits did not cover it"
            for offer in sorted(refused_offers)
        ]
        allowed = [offer for offer in allowed_offers[i] if offer not in refused_offers]
        if allowed:
            parts.append(
                f"{', '.join(allowed)}: no more to give in time (spare energy above the givers' "
                "floors, charger power, other requests)"
            )
        head = "no offer fits" if got < MIN_MATCH_KWH else f"got {got:.1f} of {wanted:.1f} kWh"
        out[request_id] = head + (": " + "; ".join(parts) if parts else ": there are no offers")
    return out


__all__ = [
    "MIN_MATCH_KWH",
    "Candidate",
    "Match",
    "billed_per_ac_kwh",
    "candidates",
    "match",
    "match_book",
    "match_key",
    "unmatched",
    "v2v_millicredits",
]
