"""Benchmark: the event planners - V2H outage backup and V2V sharing between friends.

- ``outage``: :func:`voltpool.backup.plan_outage` (tier-by-tier MILP on HiGHS) for one house
  with C circuits and two cars, a winter outage of 6 h, 24 h or 72 h starting at 17:00,
  15-minute slots. Circuit loads are seeded random: a log-uniform 0.05-3 kW level per circuit
  times a daily profile (evening peak, morning bump, night trough) and noise, some circuits
  cycling on and off; the first third of the circuits are critical, every circuit has its own
  priority (so C tiers). The cars (60 kWh at 70 %, 40 kWh at 50 %, 20 % reserve, 11 / 7.4 kW)
  carry the short outage whole and must shed in the long ones: ``unserved kWh`` shows the MILP
  has work to do (``tiers solved`` 0 = one LP found that everything fits).
- ``match``: :func:`voltpool.sharing.match` (resolve + transport LP, 4 lexicographic stages)
  on an in-memory circle of R + O members with one car each, plugged in at home for the
  evening (about one home in five holds two members, so some pairs are *direct*); R members
  ask, O offer, with varied amounts, windows, prices and consents (80 % of the offers to the
  whole circle). ``candidate pairs`` is :func:`voltpool.sharing.matching.candidates` on the
  same book, timed apart (``candidates s``, not part of ``s``). Each matching case runs under
  an address-space cap (``MATCH_MEMORY_CAP_GIB``, or 60 % of the free memory), so a case that
  runs out of memory is reported as such instead of taking the machine down.
- ``plan``: :func:`voltpool.sharing.plan_transfers` on those matches (the LP scheduler,
  verified), for circles of up to ``PLAN_MAX_REQUESTS`` requests.

Each case runs in a fresh process (its own peak memory, ``ru_maxrss``, which includes the
interpreter and imports, ~130 MB). Times are the median of 5 runs when a run takes under 1 s,
of 3 under 10 s, else one run (``runs`` column). ``python bench/bench_events.py outage 6 72``
or ``match 100 100`` runs one case and prints its JSON.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _isolated import run_isolated

DT_H = 0.25
OUTAGE_HOURS = (6, 24, 72)
OUTAGE_HOURS_QUICK = (6, 24)
CIRCUITS = (3, 6, 10)
MATCH_SIZES = ((10, 10), (100, 100), (300, 300))
MATCH_SIZES_QUICK = ((10, 10), (100, 100))
MATCH_MEMORY_CAP_GIB = 8
"""A matching case may use at most this much address space (or 60 % of what is free)."""
PLAN_MAX_REQUESTS = 100
"""plan_transfers is timed for circles up to this many requests."""
TZ = "Europe/Amsterdam"
NOW = "2025-01-14 16:55"
"""The matching clock: slot 0 starts at 17:00 local."""


def timed(function, *args, fast_s: float = 1.0, slow_s: float = 10.0):
    """``(result, seconds, runs)``: median of 5 runs under ``fast_s``, of 3 under ``slow_s``."""
    started = time.perf_counter()
    result = function(*args)
    times = [time.perf_counter() - started]
    runs = 5 if times[0] < fast_s else 3 if times[0] < slow_s else 1
    for _ in range(runs - 1):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return result, statistics.median(times), runs


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- V2H outage --------------------------------------------------------------------------


def house(n_circuits: int, n_slots: int, seed: int = 1) -> dict:
    """Keyword arguments of ``plan_outage`` for a seeded house; the outage starts at 17:00.

    The loads of a shorter outage are the start of a longer one (same seed, same circuits).
    """
    rng = np.random.default_rng(seed + 1000 * n_circuits)
    full = int(max(OUTAGE_HOURS) / DT_H)
    hour = (17.0 + np.arange(full) * DT_H) % 24.0
    # evening peak ~19:00, morning bump ~07:30, night trough
    day = (
        0.15
        + 0.85 * np.exp(-0.5 * ((hour - 19.0) / 2.5) ** 2)
        + 0.4 * np.exp(-0.5 * ((hour - 7.5) / 1.5) ** 2)
    )
    level = np.exp(rng.uniform(np.log(0.05), np.log(3.0), n_circuits))
    noise = rng.uniform(0.7, 1.3, (n_circuits, full))
    load = level[:, None] * np.minimum(day, 1.0)[None, :] * noise
    cycling = rng.random(n_circuits) < 0.4  # heat pump, fridge: on/off
    duty = rng.random((n_circuits, full)) < 0.35
    load = np.where(cycling[:, None] & ~duty, 0.0, load)
    load = np.round(load[:, :n_slots], 3)
    critical = np.zeros(n_circuits, dtype=bool)
    critical[: max(1, n_circuits // 3)] = True
    return {
        "circuit_load_kw": load,
        "critical": critical,
        "priority": rng.permutation(n_circuits),
        "energy_kwh": np.array([0.7 * 60.0, 0.5 * 40.0]),
        "reserve_kwh": np.array([0.2 * 60.0, 0.2 * 40.0]),
        "max_discharge_kw": np.array([11.0, 7.4]),
        "discharge_efficiency": np.array([0.9, 0.92]),
        "dt_h": DT_H,
    }


def measure_outage(n_circuits: int, hours: int) -> dict:
    from voltpool.backup import plan_outage

    n_slots = int(hours / DT_H)
    case = house(n_circuits, n_slots)
    plan, seconds, runs = timed(lambda: plan_outage(**case))
    return {
        "circuits": n_circuits,
        "hours": hours,
        "slots": n_slots,
        "seconds": seconds,
        "runs": runs,
        "tiers": int(plan.tier.max()) + 1,
        "levels": plan.solver.levels,
        "status": plan.solver.status,
        "load_kwh": float(plan.load_kw.sum() * DT_H),
        "unserved_kwh": plan.unserved_kwh,
        "unserved_critical_kwh": plan.unserved_critical_kwh,
        "hours_full": plan.hours_full,
        "peak_rss_mb": peak_mb(),
    }


def run_outage(hours: tuple[int, ...] = OUTAGE_HOURS) -> list[dict]:
    """Every house size for each outage length, each in a fresh process."""
    return [run_isolated(__file__, "outage", str(c), str(h)) for c in CIRCUITS for h in hours]


def outage_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "circuits",
        "hours",
        "slots",
        "s",
        "runs",
        "tiers solved / all",
        "status",
        "load kWh",
        "unserved kWh",
        "of it critical",
        "h before shedding",
        "peak MB",
    ]
    body = [
        [
            str(r["circuits"]),
            str(r["hours"]),
            str(r["slots"]),
            f"{r['seconds']:.3f}",
            str(r["runs"]),
            f"{r['levels']} / {r['tiers']}",
            str(r["status"]),
            f"{r['load_kwh']:.1f}",
            f"{r['unserved_kwh']:.1f}",
            f"{r['unserved_critical_kwh']:.1f}",
            f"{r['hours_full']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for r in rows
    ]
    return header, body


# --- V2V sharing -------------------------------------------------------------------------


def sharing_case(n_requests: int, n_offers: int, seed: int = 1):
    """``(circle, requests, offers, now)``: one car per member, plugged in at home tonight."""
    import pandas as pd

    from voltpool.sharing import Cars, Circle, Offer, Request, Sites

    rng = np.random.default_rng(seed)
    n = n_requests + n_offers
    members = tuple(f"m{k}" for k in range(n))
    giver = np.arange(n) >= n_requests
    now = pd.Timestamp(NOW, tz=TZ)
    evening = pd.Timestamp("2025-01-14 17:00", tz=TZ)

    def at(hours: float) -> pd.Timestamp:
        return evening + pd.Timedelta(minutes=15 * round(hours * 4))

    # homes: about one in five holds two members (a shared driveway: direct V2V)
    home = np.arange(n)
    shared = rng.random(n) < 0.2
    home[shared] = rng.integers(0, n, shared.sum())
    site_ids = tuple(f"h{k}" for k in np.unique(home))
    capacity = rng.choice([40.0, 58.0, 64.0, 77.0, 100.0], n)
    soc = np.where(giver, rng.uniform(0.6, 0.95, n), rng.uniform(0.1, 0.45, n))
    reserve = rng.uniform(0.1, 0.25, n)
    plugged_from = [at(rng.uniform(0.0, 3.0)) for _ in range(n)]
    plugged_until = [at(rng.uniform(13.5, 15.5)) for _ in range(n)]  # 06:30-08:30
    cars = Cars(
        ids=tuple(f"car{k}" for k in range(n)),
        owner=members,
        capacity_kwh=capacity,
        charge_efficiency=rng.uniform(0.88, 0.95, n),
        discharge_efficiency=rng.uniform(0.88, 0.95, n),
        max_charge_kw=rng.choice([7.4, 11.0], n),
        max_discharge_kw=np.where(giver, rng.choice([7.4, 11.0], n), 0.0),
        soc=soc,
        soc_min=reserve,
        soc_max=np.full(n, 0.95),
        site=tuple(f"h{k}" for k in home),
        plugged_from=plugged_from,
        plugged_until=plugged_until,
        timezone=TZ,
    )
    sites = Sites(
        ids=site_ids,
        import_limit_kw=np.full(len(site_ids), 25.0),
        export_limit_kw=np.full(len(site_ids), 25.0),
        base_load_kw=np.round(rng.uniform(0.2, 1.5, len(site_ids)), 2),
    )
    circle = Circle("bench", members, cars, sites, TZ)
    requests = []
    for k in range(n_requests):
        room = (0.95 - soc[k]) * capacity[k]
        price = None if rng.random() < 0.2 else float(rng.integers(30, 71)) / 2  # 15-35
        requests.append(
            Request(
                id=f"r{k}",
                member=members[k],
                car=f"car{k}",
                energy_kwh=float(np.floor(10 * min(rng.uniform(4.0, 25.0), room)) / 10),
                deadline=at(rng.uniform(13.0, 15.0)),
                earliest_start=None if rng.random() < 0.5 else at(rng.uniform(2.0, 6.0)),
                max_price_credits_per_kwh=price,
            )
        )
    offers = []
    for k in range(n_requests, n):
        friends = "circle"
        if rng.random() < 0.2:  # only to a few friends
            friends = [members[f] for f in rng.choice(n, 6, replace=False) if f != k]
        offers.append(
            Offer(
                id=f"o{k}",
                member=members[k],
                car=f"car{k}",
                energy_kwh=round(float(rng.uniform(5.0, 30.0)), 1),
                end=at(rng.uniform(12.0, 15.0)),
                start=None if rng.random() < 0.5 else at(rng.uniform(1.0, 4.0)),
                keep_above_soc=round(float(min(rng.uniform(0.3, 0.5), soc[k] - 0.05)), 2),
                price_credits_per_kwh=float(rng.integers(20, 61)) / 2,  # 10-30
                consent=friends,
            )
        )
    return circle, requests, offers, now


def memory_cap_bytes() -> int:
    """Address-space cap of a matching case: 8 GiB or 60 % of the memory available now."""
    available = 8 * 2**30
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(min(MATCH_MEMORY_CAP_GIB * 2**30, 0.6 * available))


def measure_match(n_requests: int, n_offers: int) -> dict:
    cap = memory_cap_bytes()
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from voltpool.sharing import match, plan_transfers
    from voltpool.sharing.matching import candidates
    from voltpool.sharing.requests import resolve

    circle, requests, offers, now = sharing_case(n_requests, n_offers)
    started = time.perf_counter()
    found, _why = candidates(circle, resolve(circle, requests, offers, now))
    candidates_s = time.perf_counter() - started
    row = {
        "requests": n_requests,
        "offers": n_offers,
        "candidates": len(found),
        "candidates_s": candidates_s,
        "direct": sum(c.mode == "direct" for c in found),
        "asked_kwh": sum(r.energy_kwh for r in requests),
        "cap_gib": cap / 2**30,
    }
    del found, _why
    started = time.perf_counter()
    try:
        matches, seconds, runs = timed(match, requests, offers, circle, now)
    except MemoryError:
        return row | {
            "error": f"out of memory ({cap / 2**30:.0f} GiB cap) "
            f"after {time.perf_counter() - started:.0f} s",
            "peak_rss_mb": peak_mb(),
        }
    row |= {
        "matches": len(matches),
        "receiver_kwh": sum(m.receiver_battery_kwh for m in matches),
        "seconds": seconds,
        "runs": runs,
        "peak_rss_mb": peak_mb(),
    }
    if n_requests <= PLAN_MAX_REQUESTS:
        plan, plan_s, plan_runs = timed(plan_transfers, circle, matches)
        row |= {
            "plan_s": plan_s,
            "plan_runs": plan_runs,
            "plan_problems": len(plan.problems),
            "plan_delivered_kwh": float(plan.delivered_kwh.sum()),
            "plan_shortfall_kwh": float(plan.shortfall_kwh.sum()),
            "plan_peak_rss_mb": peak_mb(),
        }
    return row


def run_match(sizes: tuple[tuple[int, int], ...] = MATCH_SIZES) -> list[dict]:
    """Each size in a fresh process; a case that dies or overruns becomes a row saying so."""
    rows = []
    for n_requests, n_offers in sizes:
        try:
            rows.append(run_isolated(__file__, "match", str(n_requests), str(n_offers)))
        except subprocess.CalledProcessError as error:
            last = (error.stderr or "").strip().splitlines()[-1:] or [f"exit {error.returncode}"]
            rows.append({"requests": n_requests, "offers": n_offers, "error": last[0][:80]})
    return rows


def match_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "requests",
        "offers",
        "candidate pairs",
        "of them direct",
        "matches",
        "kWh into batteries / asked",
        "s",
        "runs",
        "candidates s",
        "peak MB",
    ]
    body = []
    for r in rows:
        known = [
            f"{r['requests']:,}",
            f"{r['offers']:,}",
            f"{r['candidates']:,}" if "candidates" in r else "-",
            f"{r['direct']:,}" if "direct" in r else "-",
        ]
        if "error" in r:
            peak = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-"
            candidates_s = f"{r['candidates_s']:.3f}" if "candidates_s" in r else "-"
            body.append([*known, "-", str(r["error"]), "-", "-", candidates_s, peak])
            continue
        body.append(
            [
                *known,
                f"{r['matches']:,}",
                f"{r['receiver_kwh']:,.0f} / {r['asked_kwh']:,.0f}",
                f"{r['seconds']:.3f}",
                str(r["runs"]),
                f"{r['candidates_s']:.3f}",
                f"{r['peak_rss_mb']:.0f}",
            ]
        )
    return header, body


def plan_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "requests x offers",
        "matches",
        "LP problems",
        "s",
        "runs",
        "delivered AC kWh",
        "shortfall kWh",
        "peak MB",
    ]
    body = [
        [
            f"{r['requests']:,} x {r['offers']:,}",
            f"{r['matches']:,}",
            str(r["plan_problems"]),
            f"{r['plan_s']:.3f}",
            str(r["plan_runs"]),
            f"{r['plan_delivered_kwh']:,.1f}",
            f"{r['plan_shortfall_kwh']:,.2f}",
            f"{r['plan_peak_rss_mb']:.0f}",
        ]
        for r in rows
        if "plan_s" in r
    ]
    return header, body


if __name__ == "__main__":
    kind, first, second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind == "outage":
        print(json.dumps(measure_outage(first, second)))
    elif kind == "match":
        print(json.dumps(measure_match(first, second)))
    else:
        raise SystemExit(f"unknown case {kind!r} (outage C HOURS | match R O)")
