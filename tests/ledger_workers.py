"""Writer processes for the ledger concurrency and crash tests (``test_ledger_concurrency.py``).

The tests start ``run(config)`` in one OS process per writer (multiprocessing, forkserver), so the
writers really race on the database (no shared Python state, no GIL); by hand,
``python tests/ledger_workers.py '<json config>'`` runs one. The config's ``mode``:

- ``safe``: random transfers (single and two-leg batches) between the same owner accounts through
  the ledger's API, plus replays (same id and payload) and conflicting re-uses of ids.
- ``racy``: the same scenario through ``RacyLedger``: check-then-write without the ledger's lock
  (read the balances, sleep, write with a raw SQLAlchemy connection). Kept only here, to prove
  that the test's invariant check fails when the ledger's locking is missing.
- ``resolve``: every writer tries to post or void the same pending transfers (at most once wins).
- ``crash``: a deterministic list of transfers from a seed; after each answer an "acknowledged" line
  is appended and fsynced. The parent SIGKILLs it at random moments and restarts it; a restart
  resumes a few items before its last acknowledged one (those replays must answer the same).

Every writer opens its own ``Ledger``, writes a ready file, waits for the go file, and logs each
outcome as one JSON line to ``out``: ``{"legs", "status", "detail", ...}`` where ``legs`` is the
list of ``[id, debit, credit, amount]`` it sent (one transfer, or one all-or-nothing batch) and
``status`` is ``created``, ``exists``, ``rejected``, ``conflict``, ``mixed`` or ``error``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

UNIT = "credit"
CODE = "p2p"
FEE_CODE = "fee"


# ---------------------------------------------------------------- deterministic work lists


def plan_ops(seed: int, worker: int, n_ops: int, accounts: dict, prefix: str) -> list[dict]:
    """The operations one ``safe``/``racy`` writer attempts, from its seed (replayable).

    ``accounts``: ``owners`` (list), ``fees`` and ``grid``. Amounts are large against the owners'
    balances so that overdrafts are attempted all the time; grid top-ups keep money flowing in.
    """
    rng = random.Random(f"{seed}-{worker}")
    owners, fees, grid = accounts["owners"], accounts["fees"], accounts["grid"]
    ops: list[dict[str, Any]] = []
    for k in range(n_ops):
        debit, credit = rng.sample(owners, 2)
        amount = rng.randint(1, 800)
        op_id = f"{prefix}-w{worker}-{k}"
        roll = rng.random()
        if roll < 0.2:  # energy + fee: all or nothing
            legs = [
                [f"{op_id}-e", debit, credit, amount],
                [f"{op_id}-f", debit, fees, amount // 20 + 1],
            ]
            ops.append({"kind": "batch", "legs": legs})
        elif roll < 0.24:
            ops.append({"kind": "topup", "legs": [[op_id, grid, credit, rng.randint(20, 150)]]})
        elif roll < 0.34 and ops:
            ops.append({"kind": "replay", "of": rng.randrange(len(ops))})
        elif roll < 0.39 and ops:
            ops.append({"kind": "conflict", "of": rng.randrange(len(ops))})
        else:
            ops.append({"kind": "transfer", "legs": [[op_id, debit, credit, amount]]})
    return ops


def plan_crash(seed: int, worker: int, n_items: int, accounts: dict) -> list[list[list]]:
    """The fixed list of transfers (or two-leg batches) one crash writer owns."""
    rng = random.Random(f"crash-{seed}-{worker}")
    owners, fees, grid = accounts["owners"], accounts["fees"], accounts["grid"]
    items = []
    for k in range(n_items):
        debit, credit = rng.sample(owners, 2)
        amount = rng.randint(1, 700)
        item_id = f"c{worker}-{k}"
        roll = rng.random()
        if roll < 0.25:
            legs = [
                [f"{item_id}-e", debit, credit, amount],
                [f"{item_id}-f", debit, fees, amount // 20 + 1],
            ]
        elif roll < 0.29:
            legs = [[item_id, grid, credit, rng.randint(20, 150)]]
        else:
            legs = [[item_id, debit, credit, amount]]
        items.append(legs)
    return items


# ---------------------------------------------------------------- talking to the ledger


def leg_kwargs(leg: list, worker: int) -> dict[str, Any]:
    transfer_id, debit, credit, amount = leg
    return {
        "transfer_id": transfer_id,
        "debit_account": debit,
        "credit_account": credit,
        "amount": int(amount),
        "unit": UNIT,
        "code": FEE_CODE if transfer_id.endswith("-f") else CODE,
        "metadata": {"worker": worker},
    }


def submit(ledger, legs: list[list], worker: int) -> tuple[str, list[str]]:
    """Send one transfer (1 leg) or one all-or-nothing batch; map the answer to a status."""
    from voltpool.ledger import Conflict, Rejected

    try:
        if len(legs) == 1:
            results = [ledger.transfer(**leg_kwargs(legs[0], worker))]
        else:
            results = ledger.transfer_batch([leg_kwargs(leg, worker) for leg in legs])
    except Rejected as exc:
        return "rejected", [type(exc).__name__]
    except Conflict as exc:
        return "conflict", [type(exc).__name__]
    statuses = [result.status for result in results]
    if len(set(statuses)) != 1:
        return "mixed", statuses
    return statuses[0], statuses


class RacyLedger:
    """Check-then-write without a lock: the bug the real ledger must not have (tests only).

    New transfers are checked against balances read through the ledger's public API (no lock),
    then, after a short sleep that widens the race window, written with a plain SQLAlchemy
    connection of its own (SQLite: deferred transaction; PostgreSQL: READ COMMITTED, no
    ``FOR UPDATE``): the transfer rows plus the account balances computed from the stale read.
    Alone it is correct; with concurrent writers it loses updates and overdraws. Retries,
    conflicts, stored rejections and transfers the stale check refuses go to the real ledger.
    It knows the ledger's tables by name only (reflected), not its Python internals.
    """

    race_window_s = (0.002, 0.01)

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        from voltpool.ledger import Ledger

        self.ledger = Ledger.open(url)  # also runs the migrations
        raw = sa.engine.make_url(url)
        if raw.get_backend_name() == "postgresql":
            raw = raw.set(drivername="postgresql+psycopg")
            self.engine = sa.create_engine(raw, isolation_level="READ COMMITTED")
        else:
            self.engine = sa.create_engine(raw, connect_args={"timeout": 30.0})
        tables = sa.MetaData()
        tables.reflect(self.engine, only=["ledger_transfers", "ledger_accounts"])
        self.transfers = tables.tables["ledger_transfers"]
        self.accounts = tables.tables["ledger_accounts"]
        self.rng = random.Random(os.getpid())

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()

    def transfer(self, **spec: Any):
        return self.transfer_batch([spec])[0]

    def transfer_batch(self, specs: list[dict[str, Any]]) -> list:
        from voltpool.ledger import NotFound

        def real() -> list:
            if len(specs) == 1:
                return [self.ledger.transfer(**specs[0])]
            return self.ledger.transfer_batch(specs)

        for spec in specs:
            try:
                self.ledger.get_transfer(spec["transfer_id"])
                return real()  # a retry (or a conflict): the real ledger answers
            except NotFound:
                if self.ledger.rejection(spec["transfer_id"]) is not None:
                    return real()
        names = {name for spec in specs for name in (spec["debit_account"], spec["credit_account"])}
        balances = {name: _balance_dict(self.ledger.balance(name)) for name in names}
        overdraft = {name: self.ledger.get_account(name).allow_overdraft for name in names}
        for spec in specs:
            debit, credit = balances[spec["debit_account"]], balances[spec["credit_account"]]
            available = debit["credits_posted"] - debit["debits_posted"] - debit["debits_pending"]
            if not overdraft[spec["debit_account"]] and spec["amount"] > available:
                return real()  # the real ledger re-checks and records the rejection
            debit["debits_posted"] += spec["amount"]
            credit["credits_posted"] += spec["amount"]
        time.sleep(self.rng.uniform(*self.race_window_s))
        self._write(specs, balances)
        return [_Created() for _ in specs]

    def _write(self, specs: list[dict[str, Any]], balances: dict[str, dict[str, int]]) -> None:
        now_us = time.time_ns() // 1000
        rows = [
            {
                "id": spec["transfer_id"],
                "kind": "single",
                "debit_account_id": spec["debit_account"],
                "credit_account_id": spec["credit_account"],
                "amount": spec["amount"],
                "unit": spec["unit"],
                "code": spec["code"],
                "session": spec.get("session"),
                "metadata_json": json.dumps(
                    spec.get("metadata") or {}, sort_keys=True, separators=(",", ":")
                ),
                "pending_id": None,
                "timeout_s": None,
                "expires_at_us": None,
                "created_at_us": now_us,
            }
            for spec in specs
        ]
        with self.engine.begin() as conn:
            conn.execute(self.transfers.insert(), rows)
            for name, balance in balances.items():
                update = self.accounts.update().where(self.accounts.c.id == name)
                conn.execute(update.values(**balance))


class _Created:
    status = "created"


def _balance_dict(balance) -> dict[str, int]:
    names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    return {name: int(getattr(balance, name)) for name in names}


# ---------------------------------------------------------------- process plumbing


def wait_for_go(config: dict) -> None:
    Path(config["ready"]).touch()
    deadline = time.monotonic() + 60.0
    while not os.path.exists(config["go"]):
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal within 60 s")
        time.sleep(0.001)


class Log:
    """Append-only JSON lines; ``durable`` fsyncs each line (a crash writer's acknowledgement)."""

    def __init__(self, path: str, durable: bool) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.durable = durable

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.durable:
            os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def run_random(ledger, config: dict, log: Log) -> None:
    """``safe`` and ``racy`` modes: the planned operations until done or out of time."""
    worker = config["worker"]
    ops = plan_ops(config["seed"], worker, config["n_ops"], config["accounts"], config["prefix"])
    done: list[list[list]] = []  # legs of each op already sent, in order, for replays
    stop_at = time.monotonic() + config["duration_s"]
    for op in ops:
        if time.monotonic() > stop_at:
            break
        kind = op["kind"]
        if kind in ("replay", "conflict"):
            if not done:
                continue
            legs = done[op["of"] % len(done)]
            if kind == "conflict":  # same id, different amount: must not be written
                legs = [[leg[0], leg[1], leg[2], int(leg[3]) + 1] for leg in legs]
        else:
            legs = op["legs"]
        started = time.perf_counter()
        try:
            status, detail = submit(ledger, legs, worker)
        except Exception as exc:
            status, detail = "error", [f"{type(exc).__name__}: {exc}"[:500]]
        elapsed_s = time.perf_counter() - started
        log.write({"kind": kind, "legs": legs, "status": status, "detail": detail, "s": elapsed_s})
        if kind in ("batch", "transfer", "topup"):
            done.append(legs)


def run_resolve(ledger, config: dict, log: Log) -> None:
    """``resolve`` mode: race to post or void every pending transfer listed in the config."""
    from voltpool.ledger import LedgerError

    worker = config["worker"]
    rng = random.Random(f"resolve-{config['seed']}-{worker}")
    pendings = list(config["pendings"])
    rng.shuffle(pendings)
    for pending_id, amount in pendings:
        transfer_id = f"{pending_id}-r{worker}"
        action = "post" if rng.random() < 0.6 else "void"
        try:
            if action == "post":
                posted = rng.randint(1, amount)
                ledger.post(transfer_id, pending_id, amount=posted)
            else:
                posted = 0
                ledger.void(transfer_id, pending_id)
            status = "created"
        except LedgerError as exc:
            status, posted = f"refused:{type(exc).__name__}", 0
        except Exception as exc:
            status, posted = f"error:{type(exc).__name__}: {exc}"[:500], 0
        record = {"pending": pending_id, "id": transfer_id, "action": action}
        log.write({**record, "amount": posted, "status": status})


def run_crash(ledger, config: dict, log: Log) -> None:
    """``crash`` mode: resume the fixed list a few items before the last acknowledged one."""
    worker = config["worker"]
    items = plan_crash(config["seed"], worker, config["n_items"], config["accounts"])
    acked = -1
    if os.path.exists(config["out"]):
        with open(config["out"], "r+b") as file:
            text = file.read()
            file.truncate(text.rfind(b"\n") + 1)  # a torn last line is no acknowledgement
        for line in text.splitlines(keepends=True):
            if line.endswith(b"\n"):
                acked = max(acked, json.loads(line)["item"])
    start = max(0, acked + 1 - config["replay_back"])
    for index in range(start, len(items)):
        try:
            status, detail = submit(ledger, items[index], worker)
        except Exception as exc:
            status, detail = "error", [f"{type(exc).__name__}: {exc}"[:500]]
        record = {"item": index, "legs": items[index], "status": status, "detail": detail}
        log.write({**record, "replay": index <= acked, "round": config["round"]})


def main(config: dict) -> None:
    from voltpool.ledger import Ledger

    opener = RacyLedger if config["mode"] == "racy" else Ledger.open
    ledger = opener(config["url"])
    log = Log(config["out"], durable=config["mode"] == "crash")
    try:
        wait_for_go(config)
        if config["mode"] in ("safe", "racy"):
            run_random(ledger, config, log)
        elif config["mode"] == "resolve":
            run_resolve(ledger, config, log)
        elif config["mode"] == "crash":
            run_crash(ledger, config, log)
        else:
            raise ValueError(f"unknown mode {config['mode']!r}")
    finally:
        log.close()
        ledger.close()


def run(config: dict) -> None:
    """Process entry point (the tests' multiprocessing target): ``main``, keeping a traceback in
    ``<out>.err`` for the test's failure message."""
    try:
        main(config)
    except Exception:
        Path(config["out"] + ".err").write_text(traceback.format_exc(), encoding="utf-8")
        raise SystemExit(1) from None


if __name__ == "__main__":  # by hand: python tests/ledger_workers.py '<json config>'
    try:
        main(json.loads(sys.argv[1]))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
