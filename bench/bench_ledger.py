"""Benchmark: ledger transfers per second, one per transaction and in all-or-nothing batches.

``single``: one ``Ledger.transfer`` call (one transaction, one durable commit) per transfer.
``batched``: ``Ledger.transfer_batch`` of ``BATCH`` transfers (one transaction each).
``contended``: ``N_WRITERS`` processes, each with its own ``Ledger``, send ``N_CONTENDED``
single transfers each between the same ``CONTENDED_OWNERS`` accounts at once; the row shows
their combined transfers/s and the retries per transfer (``Ledger.write_stats``: transactions
re-run after a transient failure such as a serialization failure or a deadlock).
SQLite runs durable (WAL, ``synchronous=FULL``) on a file in a fresh temporary directory;
PostgreSQL runs on a fresh database created for the run (``VOLTPOOL_BENCH_PG``, default the test
server) and dropped afterwards. Each case runs in a fresh process. ``floor`` is the same number of
commits done with the bare ``sqlite3`` module (one tiny insert each, same pragmas): the disk's
fsync cost, which no ledger on this machine can beat.

``python bench/bench_ledger.py sqlite single --profile`` prints a cProfile of one case;
``python bench/bench_ledger.py postgresql contended`` runs one case.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _isolated import run_isolated

GOAL_PER_S = {("sqlite", "single"): 2000, ("sqlite", "batched"): 5000}
"""Transfers per second the ledger should reach (SQLite, durable)."""

PG_URL = os.environ.get("VOLTPOOL_BENCH_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
BATCH = 100
N_SINGLE = 2000
N_BATCHES = 50
N_OWNERS = 10
UNIT = "credit"
N_WRITERS = 4
N_CONTENDED = 250  # transfers per contending writer
CONTENDED_OWNERS = 3
RETRIES_GOAL = 0.05  # retries per transfer with N_WRITERS contending writers


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    """A URL to an empty database for one run."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="voltpool-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'ledger.sqlite'}"
    elif backend == "postgresql":
        import psycopg

        name = f"voltpool_bench_{os.getpid()}"
        admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        try:
            yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        raise ValueError(f"unknown backend {backend!r}")


def setup(ledger) -> list[str]:
    owners = [f"owner-{index}" for index in range(N_OWNERS)]
    ledger.create_account("grid", "utility", "grid", UNIT)
    for owner in owners:
        ledger.create_account(owner, owner, "owner", UNIT)
        ledger.transfer(f"fund-{owner}", "grid", owner, 10**12, UNIT, "funding")
    return owners


def transfer_kwargs(rng: random.Random, owners: list[str], transfer_id: str) -> dict:
    debit, credit = rng.sample(owners, 2)
    return {
        "transfer_id": transfer_id,
        "debit_account": debit,
        "credit_account": credit,
        "amount": rng.randint(1, 10_000),
        "unit": UNIT,
        "code": "p2p",
        "metadata": {"session": transfer_id},
    }


def sqlite_settings(ledger) -> str:
    """journal_mode/synchronous as the ledger's own connection sees them ("?" if hidden)."""
    engine = getattr(ledger, "engine", None) or getattr(ledger, "_engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return "-"
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    return f"{journal}/{ {0: 'OFF', 1: 'NORMAL', 2: 'FULL', 3: 'EXTRA'}.get(synchronous) }"


def measure(backend: str, mode: str) -> dict:
    from voltpool.ledger import Ledger

    rng = random.Random(1)
    with database(backend) as url:
        ledger = Ledger.open(url)
        try:
            owners = setup(ledger)
            settings = sqlite_settings(ledger)
            latencies = []
            started = time.perf_counter()
            if mode == "single":
                for index in range(N_SINGLE):
                    call_started = time.perf_counter()
                    ledger.transfer(**transfer_kwargs(rng, owners, f"t{index}"))
                    latencies.append(time.perf_counter() - call_started)
                transfers = N_SINGLE
            elif mode == "batched":
                for batch in range(N_BATCHES):
                    legs = [transfer_kwargs(rng, owners, f"b{batch}-{i}") for i in range(BATCH)]
                    call_started = time.perf_counter()
                    ledger.transfer_batch(legs)
                    latencies.append(time.perf_counter() - call_started)
                transfers = N_BATCHES * BATCH
            else:
                raise ValueError(f"unknown mode {mode!r}")
            seconds = time.perf_counter() - started
            report = ledger.verify()
            assert report.ok, report.problems
        finally:
            ledger.close()
    latencies.sort()
    return {
        "backend": backend,
        "mode": mode,
        "transfers": transfers,
        "seconds": seconds,
        "per_s": transfers / seconds,
        "p50_ms": 1e3 * latencies[len(latencies) // 2],
        "p99_ms": 1e3 * latencies[int(len(latencies) * 0.99)],
        "settings": settings,
    }


def contended_writer(url: str, worker: int, barrier, results) -> None:
    """One contending writer process: ``N_CONTENDED`` transfers between the shared owners."""
    from voltpool.ledger import Ledger

    rng = random.Random(f"contended-{worker}")
    owners = [f"owner-{index}" for index in range(CONTENDED_OWNERS)]
    with Ledger.open(url) as ledger:
        barrier.wait()
        started = time.perf_counter()
        for index in range(N_CONTENDED):
            ledger.transfer(**transfer_kwargs(rng, owners, f"w{worker}-{index}"))
        seconds = time.perf_counter() - started
        stats = ledger.write_stats
    results.put({"seconds": seconds, "transactions": stats.transactions, "retries": stats.retries})


def contended(backend: str) -> dict:
    """``N_WRITERS`` processes transferring between the same ``CONTENDED_OWNERS`` accounts."""
    from voltpool.ledger import Ledger

    processes = multiprocessing.get_context("spawn")
    with database(backend) as url:
        with Ledger.open(url) as ledger:
            setup(ledger)
        barrier, results = processes.Barrier(N_WRITERS), processes.Queue()
        writers = [
            processes.Process(target=contended_writer, args=(url, worker, barrier, results))
            for worker in range(N_WRITERS)
        ]
        for writer in writers:
            writer.start()
        outcomes = [results.get(timeout=600) for _ in writers]
        for writer in writers:
            writer.join()
            assert writer.exitcode == 0, writer.exitcode
        with Ledger.open(url) as ledger:
            report = ledger.verify()
            assert report.ok, report.problems
    transfers = N_WRITERS * N_CONTENDED
    assert sum(outcome["transactions"] for outcome in outcomes) == transfers
    seconds = max(outcome["seconds"] for outcome in outcomes)
    retries = sum(outcome["retries"] for outcome in outcomes)
    return {
        "backend": backend,
        "mode": "contended",
        "transfers": transfers,
        "seconds": seconds,
        "per_s": transfers / seconds,
        "p50_ms": float("nan"),
        "p99_ms": float("nan"),
        "retries": retries,
        "settings": f"{N_WRITERS} writers, {CONTENDED_OWNERS} accounts",
    }


def floor(n_commits: int = N_SINGLE) -> dict:
    """Bare sqlite3, WAL + synchronous=FULL, one small insert per commit: the fsync bound."""
    with tempfile.TemporaryDirectory(prefix="voltpool-bench-") as directory:
        connection = sqlite3.connect(Path(directory) / "floor.sqlite", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, amount INTEGER)")
        started = time.perf_counter()
        for index in range(n_commits):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t VALUES (?, ?)", (f"t{index}", index))
            connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.close()
    return {
        "backend": "sqlite3 bare",
        "mode": "floor",
        "transfers": n_commits,
        "seconds": seconds,
        "per_s": n_commits / seconds,
        "p50_ms": 1e3 * seconds / n_commits,
        "p99_ms": float("nan"),
        "settings": "wal/FULL",
    }


def postgres_answers() -> bool:
    try:
        import psycopg

        admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return True
    except Exception:
        return False


def run(backends: list[str] | None = None) -> list[dict]:
    if backends is None:
        backends = ["sqlite", "postgresql"] if postgres_answers() else ["sqlite"]
    rows = [run_isolated(__file__, "floor")]
    for backend in backends:
        for mode in ("single", "batched", "contended"):
            rows.append(run_isolated(__file__, backend, mode))
    return rows


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["backend", "mode", "transfers", "s", "transfers/s", "goal /s", "p50 ms", "p99 ms"]
    header += ["retries /transfer", "journal/sync"]
    body = []
    for r in rows:
        goal = GOAL_PER_S.get((r["backend"], r["mode"]))
        call = "per batch" if r["mode"] == "batched" else "per call"
        retries = "-"
        if "retries" in r:
            per_transfer = r["retries"] / r["transfers"]
            verdict = "ok" if per_transfer <= RETRIES_GOAL else "MISSED"
            retries = f"{per_transfer:.3f} (goal <= {RETRIES_GOAL}) {verdict}"
        body.append(
            [
                str(r["backend"]),
                f"{r['mode']} ({BATCH}/tx)" if r["mode"] == "batched" else str(r["mode"]),
                f"{int(r['transfers']):,}",
                f"{r['seconds']:.2f}",
                f"{r['per_s']:,.0f}",
                f"{goal:,}" + (" ok" if r["per_s"] >= goal else " MISSED") if goal else "-",
                "-" if r["p50_ms"] != r["p50_ms"] else f"{r['p50_ms']:.2f} {call}",
                "-" if r["p99_ms"] != r["p99_ms"] else f"{r['p99_ms']:.2f}",
                retries,
                str(r["settings"]),
            ]
        )
    return header, body


def profile(backend: str, mode: str) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(measure, backend, mode)
    stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(35)
    stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        print(json.dumps(floor()))
    elif sys.argv[2] == "contended":
        print(json.dumps(contended(sys.argv[1])))
    elif "--profile" in sys.argv:
        profile(sys.argv[1], sys.argv[2])
    else:
        print(json.dumps(measure(sys.argv[1], sys.argv[2])))
