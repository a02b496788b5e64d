"""The ledger under concurrent writer processes and SIGKILL crashes, on SQLite and PostgreSQL.

Promises checked (docs/conventions.md, "Ledger promises"): owner accounts never go below zero
even with concurrent writers; every acknowledged transfer is in the ledger exactly once and every
rejected one is absent; balances are the sum of their transfers and the total is conserved;
batches commit all or nothing; a pending transfer is resolved at most once; a retry answers
"exists"; a crash loses nothing acknowledged and leaves nothing half-written.

``ledger_url`` (tests/ledger_backends.py) runs each test on SQLite and on PostgreSQL. The writers
are separate OS processes running ``tests/ledger_workers.py`` (see its docstring).
``test_racy_writers_are_caught`` runs the same scenario with a check-then-write writer and asserts
that the invariant check fails, so the check has teeth.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import ledger_workers
from voltpool.ledger import Ledger, NotFound

# Writers are forked from a server that has already imported the ledger: a restart after a
# SIGKILL takes milliseconds, not the 0.6 s of a fresh interpreter's imports.
PROCESSES = multiprocessing.get_context("forkserver")
PROCESSES.set_forkserver_preload(
    ["ledger_workers", "voltpool.ledger", "sqlalchemy.dialects.sqlite", "psycopg"]
)
UNIT = "credit"
GRID = "grid"
FEES = "fees"
OWNERS = ["owner-0", "owner-1", "owner-2"]
ACCOUNTS = [GRID, FEES, *OWNERS]
FUNDING = 1000
N_WRITERS = 4
SEED = 20250
ACKED = ("created", "exists")


# ---------------------------------------------------------------- scenario and processes


def open_scenario(url: str, allow_overdraft: bool | None = None) -> Ledger:
    """A grid account funds three owner accounts with ``FUNDING`` credits each."""
    ledger = Ledger.open(url)
    ledger.create_account(GRID, "utility", "grid", UNIT)
    ledger.create_account(FEES, "operator", "fees", UNIT)
    for index, owner in enumerate(OWNERS):
        ledger.create_account(
            owner, f"user-{index}", "owner", UNIT, allow_overdraft=allow_overdraft
        )
        ledger.transfer(f"fund-{owner}", GRID, owner, FUNDING, UNIT, "funding")
    return ledger


def base_config(url: str, tmp_path: Path, worker: int, mode: str, tag: str = "") -> dict:
    return {
        "url": url,
        "mode": mode,
        "worker": worker,
        "seed": SEED,
        "accounts": {"owners": OWNERS, "fees": FEES, "grid": GRID},
        "ready": str(tmp_path / f"ready-{mode}{tag}-{worker}"),
        "go": str(tmp_path / f"go-{mode}{tag}"),
        "out": str(tmp_path / f"out-{mode}{tag}-{worker}.jsonl"),
    }


def start(config: dict) -> multiprocessing.Process:
    process = PROCESSES.Process(target=ledger_workers.run, args=(config,), daemon=True)
    process.start()
    return process


def failure(config: dict) -> str:
    err = Path(config["out"] + ".err")
    return err.read_text(encoding="utf-8") if err.exists() else "(no traceback)"


def wait_ready(processes: list, configs: list[dict], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(os.path.exists(config["ready"]) for config in configs):
        for process, config in zip(processes, configs, strict=True):
            if process.exitcode is not None:
                pytest.fail(f"writer died before starting:\n{failure(config)}")
        assert time.monotonic() < deadline, "writers did not open the ledger in time"
        time.sleep(0.002)


def read_log(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.endswith("\n")]


def run_writers(configs: list[dict], timeout_s: float = 60.0) -> list[list[dict]]:
    """Start one process per config, release them together, wait, return their logs."""
    processes = [start(config) for config in configs]
    try:
        wait_ready(processes, configs, timeout_s=30.0)
        Path(configs[0]["go"]).touch()
        deadline = time.monotonic() + timeout_s
        for process, config in zip(processes, configs, strict=True):
            process.join(max(0.0, deadline - time.monotonic()))
            assert process.exitcode == 0, f"writer failed ({process.exitcode}):\n{failure(config)}"
    finally:
        for process in processes:
            if process.exitcode is None:
                process.kill()
                process.join()
    return [read_log(config["out"]) for config in configs]


# ---------------------------------------------------------------- what the ledger must hold


def net(balance) -> int:
    return int(balance.credits_posted) - int(balance.debits_posted)


def history_ids(ledger: Ledger, account_id: str) -> list[str]:
    """Every transfer id in the account's history, paging until the end."""
    ids: list[str] = []
    after = None
    for _ in range(10_000):
        page = ledger.history(account_id, limit=500, after=after)
        if not page:
            return ids
        ids += [transfer.id for transfer in page]
        after = page[-1].id
    raise AssertionError(f"history of {account_id} does not end")


def fetch(ledger: Ledger, transfer_id: str):
    """The stored transfer, or None if the ledger does not hold it."""
    try:
        return ledger.get_transfer(transfer_id)
    except NotFound:
        return None


def tally(logs: list[list[dict]]) -> tuple[dict[str, tuple], set[str], list[str]]:
    """Acknowledged legs (id -> debit, credit, amount), rejected ids, and protocol violations.

    Each id belongs to one writer, so a writer's log is the full order of answers for its ids:
    the first acknowledgement must be "created" (or "exists" after a crash), every later one
    "exists"; a rejection is final; a changed payload is never acknowledged.
    """
    acked: dict[str, tuple] = {}
    rejected: set[str] = set()
    problems: list[str] = []
    for log in logs:
        for record in log:
            status, legs, kind = record["status"], record["legs"], record.get("kind")
            ids = [leg[0] for leg in legs]
            if status in ("error", "mixed"):
                problems.append(f"{ids}: {status} {record['detail']}")
            elif kind == "conflict":
                if status not in ("conflict", "rejected"):  # rejected: the id stays rejected
                    problems.append(f"{ids}: a changed payload was answered {status!r}")
            elif status in ACKED:
                first = [leg_id for leg_id in ids if leg_id not in acked]
                if status == "exists" and first and not record.get("after_crash"):
                    problems.append(f"{first}: first answer 'exists' without a crash")
                if status == "created" and len(first) < len(ids):
                    problems.append(f"{ids}: acknowledged 'created' twice")
                if rejected.intersection(ids):
                    problems.append(f"{ids}: acknowledged after a rejection")
                acked.update((leg[0], tuple(leg[1:])) for leg in legs)
            elif status == "rejected":
                if acked.keys() & set(ids):
                    problems.append(f"{ids}: rejected after an acknowledgement")
                rejected.update(ids)
            elif status == "conflict":
                problems.append(f"{ids}: unchanged payload answered 'conflict'")
    return acked, rejected, problems


def ledger_problems(
    ledger: Ledger, acked: dict[str, tuple], rejected: set[str], others: frozenset = frozenset()
) -> list[str]:
    """Everything wrong with the ledger's state given what the writers were told.

    ``others`` are ids the test wrote itself that move no posted balance (pending, void).
    """
    problems: list[str] = []
    report = ledger.verify()
    if not report.ok:
        problems += [f"verify: {problem}" for problem in report.problems]
    expected = dict.fromkeys(ACCOUNTS, 0)
    for owner in OWNERS:
        expected[owner] += FUNDING
        expected[GRID] -= FUNDING
    for debit, credit, amount in acked.values():
        expected[debit] -= amount
        expected[credit] += amount
    balances = {account: ledger.balance(account) for account in ACCOUNTS}
    for account, balance in balances.items():
        if net(balance) != expected[account]:
            problems.append(
                f"balance of {account} is {net(balance)}, acknowledged transfers say "
                f"{expected[account]}"
            )
        if balance.debits_pending or balance.credits_pending:
            problems.append(f"{account} has pending amounts left: {balance}")
    for owner in OWNERS:
        if net(balances[owner]) < 0:
            problems.append(f"overdraft: {owner} is at {net(balances[owner])}")
        if expected[owner] < 0:
            problems.append(f"overdraft: {owner}'s acknowledged transfers sum to {expected[owner]}")
    if sum(net(balance) for balance in balances.values()) != 0:
        problems.append("debits and credits do not sum to zero")
    counts = Counter(i for account in ACCOUNTS for i in history_ids(ledger, account))
    for transfer_id, (debit, credit, amount) in acked.items():
        if counts[transfer_id] != 2:  # once in its debit and once in its credit account
            problems.append(f"{transfer_id}: in histories {counts[transfer_id]} times, not 2")
        stored = fetch(ledger, transfer_id)
        found = None if stored is None else (stored.debit_account, stored.credit_account)
        if found != (debit, credit) or stored.amount != amount:
            problems.append(
                f"{transfer_id}: stored as {stored}, acknowledged {debit, credit, amount}"
            )
    for transfer_id in rejected:
        if counts[transfer_id]:
            problems.append(f"{transfer_id}: rejected but in the histories")
    unknown = set(counts) - set(acked) - others - {f"fund-{owner}" for owner in OWNERS}
    if unknown:
        problems.append(f"transfers nobody was told about: {sorted(unknown)[:5]}")
    return problems


def random_writers(
    url: str, tmp_path: Path, mode: str, n_writers: int, tag: str = "", **limits
) -> list[list[dict]]:
    configs = []
    for worker in range(n_writers):
        config = base_config(url, tmp_path, worker, mode, tag)
        config.update(n_ops=300, duration_s=4.0, prefix=f"{mode}{tag}")
        config.update(limits)
        configs.append(config)
    return run_writers(configs)


# ---------------------------------------------------------------- tests


def test_concurrent_writers_keep_every_promise(ledger_url, tmp_path):
    """4 processes move credits between the same 3 owners at once: transfers, energy+fee
    batches, grid top-ups, replays of their own ids and re-uses of them with a changed amount."""
    ledger = open_scenario(ledger_url)
    try:
        logs = random_writers(ledger_url, tmp_path, "safe", N_WRITERS)
        acked, rejected, problems = tally(logs)
        problems += ledger_problems(ledger, acked, rejected)
        assert not problems, "\n".join(problems[:20])
        statuses = Counter(record["status"] for log in logs for record in log)
        kinds = Counter(record["kind"] for log in logs for record in log)
        print(f"\n{ledger_url.split(':')[0]}: {dict(statuses)} {dict(kinds)}")
        # the scenario is only a test if it made the writers collide and overdraw
        assert statuses["rejected"] >= 20, statuses
        assert statuses["created"] >= 100, statuses
        assert statuses["exists"] >= 5, statuses
        assert statuses["conflict"] >= 1, statuses
    finally:
        ledger.close()


def test_racy_writers_are_caught(ledger_url, tmp_path):
    """The same scenario through a ledger without its locking step must fail the same check."""
    ledger = open_scenario(ledger_url)
    try:
        # control: one unsafe writer alone is correct, so a failure below is the race's doing
        solo = random_writers(ledger_url, tmp_path, "racy", 1, "-solo", n_ops=150)
        acked, rejected, problems = tally(solo)
        assert not problems + ledger_problems(ledger, acked, rejected)

        logs = random_writers(ledger_url, tmp_path, "racy", N_WRITERS, duration_s=2.5)
        more_acked, more_rejected, problems = tally(logs)
        problems += ledger_problems(ledger, acked | more_acked, rejected | more_rejected)
        # both detectors must fire: the ledger's own verify() and this test's independent sums
        found = {
            kind: [problem for problem in problems if problem.startswith(kind)]
            for kind in ("verify", "overdraft", "balance of")
        }
        summary = ", ".join(f"{len(hits)} {kind}" for kind, hits in found.items())
        print(f"\n{ledger_url.split(':')[0]} racy writers caught: {summary}")
        print("\n".join(problem for kind in found for problem in found[kind][:2]))
        assert found["verify"], "verify() missed the racy writers' lost updates"
        assert found["overdraft"] or found["balance of"], "the balance check missed them"
    finally:
        ledger.close()


def test_pending_transfers_resolve_at_most_once(ledger_url, tmp_path):
    """4 processes race to post (a random part) or void each of 40 pending transfers."""
    ledger = open_scenario(ledger_url)
    try:
        rng = random.Random(SEED)
        pendings = []
        for index in range(40):
            debit, credit = rng.sample(OWNERS, 2)
            amount = rng.randint(1, 40)
            pending_id = f"pend-{index}"
            ledger.transfer(pending_id, debit, credit, amount, UNIT, "session", pending=True)
            pendings.append((pending_id, debit, credit, amount))
        configs = []
        for worker in range(N_WRITERS):
            config = base_config(ledger_url, tmp_path, worker, "resolve")
            config["pendings"] = [[pending_id, amount] for pending_id, _, _, amount in pendings]
            configs.append(config)
        logs = run_writers(configs)

        problems = []
        winners: dict[str, list[dict]] = {pending_id: [] for pending_id, *_ in pendings}
        for record in (record for log in logs for record in log):
            if record["status"] not in ("created", "refused:Rejected"):
                problems.append(f"{record['id']}: {record['status']}")
            elif record["status"] == "created":
                winners[record["pending"]].append(record)
        posted = {}
        others = {pending_id for pending_id, *_ in pendings}
        for pending_id, debit, credit, _ in pendings:
            if len(winners[pending_id]) != 1:
                problems.append(f"{pending_id} resolved {len(winners[pending_id])} times")
            for record in winners[pending_id]:
                if record["action"] == "post":
                    posted[record["id"]] = (debit, credit, record["amount"])
                else:
                    others.add(record["id"])
        problems += ledger_problems(ledger, posted, set(), frozenset(others))
        assert not problems, "\n".join(problems[:20])
    finally:
        ledger.close()


# ---------------------------------------------------------------- crash test

KILLS_PER_WRITER = 25
CRASH_ITEMS = 250
REPLAY_BACK = 3
KILL_AFTER_S = (0.01, 0.3)  # after the start: some kills land while the ledger is being opened


def crash_configs(url: str, tmp_path: Path) -> list[dict]:
    configs = []
    for worker in range(N_WRITERS):
        config = base_config(url, tmp_path, worker, "crash")
        config.update(n_items=CRASH_ITEMS, replay_back=REPLAY_BACK)
        configs.append(config)
    Path(configs[0]["go"]).touch()  # crash writers start at once
    return configs


def in_flight_problems(ledger: Ledger, config: dict) -> list[str]:
    """After a kill: the items past the writer's last acknowledgement are all there or absent."""
    log = read_log(config["out"])
    last = max((record["item"] for record in log), default=-1)
    items = ledger_workers.plan_crash(SEED, config["worker"], CRASH_ITEMS, config["accounts"])
    problems = []
    for index in range(last + 1, min(last + 4, len(items))):
        present = [fetch(ledger, leg[0]) is not None for leg in items[index]]
        if len(set(present)) > 1:
            problems.append(f"item {index} of writer {config['worker']}: legs {present}")
        if index > last + 1 and any(present):
            problems.append(f"item {index} of writer {config['worker']} was never sent")
    return problems


def crash_writers(ledger: Ledger, configs: list[dict]) -> tuple[int, int, list[str]]:
    """Each writer is SIGKILLed ``KILLS_PER_WRITER`` times at a seeded random moment and restarted
    at once (the others keep writing meanwhile); its next incarnation runs to the end of its list.
    Returns (kills, incarnations, problems found right after the kills)."""
    rngs = [random.Random(f"{SEED}-kill-{config['worker']}") for config in configs]
    kills = [0] * len(configs)
    incarnations = [0] * len(configs)
    running: dict[int, tuple[multiprocessing.Process, float | None]] = {}
    problems: list[str] = []

    def launch(index: int) -> None:
        process = start({**configs[index], "round": incarnations[index]})
        incarnations[index] += 1
        kill = kills[index] < KILLS_PER_WRITER
        running[index] = (
            process,
            time.monotonic() + rngs[index].uniform(*KILL_AFTER_S) if kill else None,
        )

    for index in range(len(configs)):
        launch(index)
    deadline = time.monotonic() + 120.0
    try:
        while running:
            assert time.monotonic() < deadline, "crash writers did not finish"
            for index, (process, kill_at) in list(running.items()):
                if (
                    process.exitcode is not None
                ):  # finished its list (killed ones are handled below)
                    assert process.exitcode == 0, f"writer failed:\n{failure(configs[index])}"
                    del running[index]
                elif kill_at is not None and time.monotonic() >= kill_at:
                    process.kill()
                    process.join()
                    kills[index] += 1
                    problems += in_flight_problems(ledger, configs[index])
                    launch(index)
            time.sleep(0.001)
    finally:
        for process, _ in running.values():
            process.kill()
            process.join()
    return sum(kills), sum(incarnations), problems


def test_killed_writers_lose_nothing_acknowledged(ledger_url, tmp_path):
    """4 crash writers are SIGKILLed at seeded random moments and restarted, again and again,
    while the others keep writing; a restart replays its last acknowledged ids and goes on."""
    ledger = open_scenario(ledger_url)
    try:
        configs = crash_configs(ledger_url, tmp_path)
        kills, incarnations, problems = crash_writers(ledger, configs)

        logs = [read_log(config["out"]) for config in configs]
        for log in logs:
            seen: set[int] = set()
            resumed: set[int] = set()
            for record in log:
                # the first new item of a restarted writer may have committed before the kill
                first_new = not record["replay"] and record["round"] not in resumed
                if first_new:
                    resumed.add(record["round"])
                record["after_crash"] = first_new and record["round"] > 0
                seen.add(record["item"])
            missing = set(range(CRASH_ITEMS)) - seen
            if missing:
                problems.append(f"items never acknowledged: {sorted(missing)[:5]}")
        acked, rejected, protocol = tally(logs)
        problems += protocol + ledger_problems(ledger, acked, rejected)
        assert not problems, "\n".join(problems[:20])

        replays = [record for log in logs for record in log if record["replay"]]
        found_own = [r for log in logs for r in log if r["after_crash"] and r["status"] == "exists"]
        counts = f"{incarnations} processes, {kills} kills, {len(replays)} replays"
        print(f"\n{ledger_url.split(':')[0]}: {counts}, {len(found_own)} commits found un-acked")
        assert kills >= 2 * N_WRITERS, "the writers finished before they could be killed"
        assert replays, "no writer replayed an acknowledged id"
    finally:
        ledger.close()


def test_contending_writers_wait_instead_of_retrying(ledger_url):
    """4 writers (each its own Ledger, own connections) hammer the same 3 owner accounts: on
    PostgreSQL the locks taken first make them queue, so transfers are (almost) never retried;
    under SERIALIZABLE most contended transfers failed once or more (more retries than
    transfers). Every promise still holds."""
    ledger = open_scenario(ledger_url)
    per_writer = 60
    writers = [Ledger.open(ledger_url) for _ in range(N_WRITERS)]
    go = threading.Barrier(N_WRITERS)
    acked: dict[str, tuple] = {}
    rejected: set[str] = set()
    lock = threading.Lock()

    def write(worker: int, writer: Ledger) -> None:
        rng = random.Random(f"contend-{worker}")
        go.wait()
        for k in range(per_writer):
            debit, credit = rng.sample(OWNERS, 2)
            transfer_id, amount = f"c{worker}-{k}", rng.randint(1, 300)
            try:
                writer.transfer(transfer_id, debit, credit, amount, UNIT, "p2p")
                with lock:
                    acked[transfer_id] = (debit, credit, amount)
            except Exception as exc:
                assert type(exc).__name__ == "Rejected", exc
                with lock:
                    rejected.add(transfer_id)

    threads = [threading.Thread(target=write, args=pair) for pair in enumerate(writers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        stats = [writer.write_stats for writer in writers]
    finally:
        for writer in writers:
            writer.close()
    try:
        assert len(acked) + len(rejected) == N_WRITERS * per_writer
        assert not ledger_problems(ledger, acked, rejected)
        transactions = sum(s.transactions for s in stats)
        retries = sum(s.retries for s in stats)
        print(f"\n{ledger_url.split(':')[0]}: {retries} retries / {transactions} transfers")
        assert transactions == N_WRITERS * per_writer
        assert retries <= transactions * 0.05, (retries, transactions)
    finally:
        ledger.close()
