"""Several ``voltpool serve`` processes on one PostgreSQL database (``voltpool serve
--workers``): each on its own free loopback port here, so that a test chooses which worker a
request goes to. A write on one worker is planned by the leader and read through another; a
stream on one worker hears a plan caused on another; exactly one worker leads at a time, and
killing it hands the planner to another within :data:`TAKEOVER_S`. SQLite refuses workers.

Skipped with the reason when no PostgreSQL answers (failed instead under ``CI=true``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Queue

import httpx
import pytest
from typer.testing import CliRunner

from api_server import PASSWORD, SECRET, wait_for
from ledger_backends import PgSchemas, require_postgres
from test_api_stream import next_event, sse_events
from voltpool.api.leader import LOCK_CLASS, POLL_S
from voltpool.cli import app as cli

START_TIMEOUT_S = 120.0
TAKEOVER_S = 10.0
"""A follower leads at most this long after the leader was killed (it tries every
``POLL_S``; the rest is slack for a busy machine)."""
PLAN_WAIT_S = 60.0
WORKER = textwrap.dedent(
    """
    import sys
    from voltpool.api.settings import ServeSettings
    from voltpool.api.workers import serve
    serve(ServeSettings(db=sys.argv[1], secret=sys.argv[2]), "127.0.0.1", int(sys.argv[3]))
    """
)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    base_url: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)

    def health(self) -> dict | None:
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=5).json()["worker"]
        except httpx.HTTPError:
            return None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def worker(url: str, log: Path) -> Iterator[Worker]:
    """One ``voltpool serve`` process (:func:`voltpool.api.workers.serve`) on a free port."""
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, url, SECRET, str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started = Worker(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while started.health() is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    schemas = PgSchemas()
    try:
        yield schemas.new_url()
    finally:
        schemas.drop_all()


@pytest.fixture
def workers(pg_url: str, tmp_path: Path) -> Iterator[Callable[[int], list[Worker]]]:
    """Start ``n`` workers on one fresh schema (one after the other: each migrates)."""
    with ExitStack() as stack:

        def start(n: int) -> list[Worker]:
            return [
                stack.enter_context(worker(pg_url, tmp_path / f"worker-{i}.log")) for i in range(n)
            ]

        yield start


def leaders(started: list[Worker]) -> list[int]:
    """The pids of the live workers that say they lead."""
    seen = [w.health() for w in started if w.process.poll() is None]
    return [h["pid"] for h in seen if h is not None and h["leading"]]


def the_leader(started: list[Worker]) -> Worker:
    (pid,) = wait_for(lambda: leaders(started), timeout_s=TAKEOVER_S)
    return next(w for w in started if w.process.pid == pid)


def log_in(at: Worker, email: str, role: str = "owner") -> httpx.Client:
    anonymous = at.client()
    made = anonymous.post(
        "/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
    )
    assert made.status_code == 201, made.text
    tokens = anonymous.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return at.client(tokens.json()["access_token"])


def owner_with_car(at: Worker, email: str, community_id: str) -> tuple[httpx.Client, str]:
    owner = log_in(at, email)
    home = owner.post("/v1/homes", json={"name": "h", "community_id": community_id})
    car = owner.post(
        "/v1/cars", json={"name": "c", "home_id": home.json()["id"], "capacity_kwh": 50}
    )
    assert car.status_code == 201, car.text
    return owner, car.json()["id"]


def community(at: Worker) -> str:
    operator = log_in(at, "op@example.org", role="operator")
    made = operator.post("/v1/communities", json={"name": "w", "timezone": "Europe/Amsterdam"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def on(client: httpx.Client, at: Worker) -> httpx.Client:
    """The same caller (its token: good at every worker, one secret) at worker ``at``."""
    return at.client(client.headers["Authorization"].removeprefix("Bearer "))


def plug_in(owner: httpx.Client, car_id: str, hours: float = 8) -> None:
    leave = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
    made = owner.post(f"/v1/cars/{car_id}/sessions", json={"departure": leave})
    assert made.status_code == 201, made.text


def planned(owner: httpx.Client, car_id: str, reason: str) -> dict | None:
    answer = owner.get(f"/v1/cars/{car_id}/plan")
    if answer.status_code != 200:
        return None
    plan = answer.json()
    return plan if plan.get("reason") == reason else None


def test_a_write_on_a_follower_is_planned_and_read_through_the_leader(workers) -> None:
    started = workers(2)
    leader = the_leader(started)
    (follower,) = (w for w in started if w is not leader)
    owner, car_id = owner_with_car(follower, "ann@example.org", community(follower))
    plug_in(owner, car_id)
    plan = wait_for(lambda: planned(on(owner, leader), car_id, "plug-in"), timeout_s=PLAN_WAIT_S)
    assert plan["slots"], plan
    moved = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    changed = owner.patch(f"/v1/cars/{car_id}/sessions/current", json={"departure": moved})
    assert changed.status_code == 200, changed.text
    wait_for(lambda: planned(on(owner, leader), car_id, "session changed"), timeout_s=PLAN_WAIT_S)


def test_a_stream_on_one_worker_hears_a_plan_caused_on_another(workers) -> None:
    first, second = workers(2)
    owner, car_id = owner_with_car(first, "ann@example.org", community(first))
    opened: list[httpx.Response] = []
    events: Queue = Queue()
    stream = threading.Thread(target=_read_stream, args=(on(owner, second), events, opened))
    stream.daemon = True
    stream.start()
    try:
        assert next_event(events, "status") == 200
        next_event(events, "state")
        plug_in(owner, car_id)  # on the first worker
        change = next_event(events, "plan")
        assert change["reason"] == "plug-in"
        assert [c["car_id"] for c in change["cars"]] == [car_id]
    finally:
        for response in opened:
            response.close()


def _read_stream(client: httpx.Client, into: Queue, opened: list) -> None:
    """:func:`sse_events` until the test closes the response (which ends the read)."""
    with suppress(httpx.ReadError, httpx.StreamClosed):
        sse_events(client, into, opened)


def test_exactly_one_worker_leads_and_a_killed_leader_is_replaced(workers, pg_url) -> None:
    started = workers(3)
    for _ in range(5):
        assert len(leaders(started)) <= 1
        time.sleep(POLL_S / 2)
    leader = the_leader(started)
    assert _advisory_locks(pg_url) == 1
    owner, car_id = owner_with_car(leader, "ann@example.org", community(leader))
    leader.process.kill()  # SIGKILL: no clean shutdown, its connections just drop
    killed = time.monotonic()
    alive = [w for w in started if w is not leader]
    successor = the_leader(alive)
    took_s = time.monotonic() - killed
    assert took_s <= TAKEOVER_S
    assert successor.health()["terms"] == 1
    for _ in range(5):
        assert leaders(alive) == [successor.process.pid]
        time.sleep(POLL_S / 2)
    assert _advisory_locks(pg_url) == 1
    plug_in(on(owner, alive[0]), car_id)  # the new leader plans what any worker is told
    wait_for(lambda: planned(on(owner, alive[-1]), car_id, "plug-in"), timeout_s=PLAN_WAIT_S)


def _advisory_locks(url: str) -> int:
    """Advisory locks held in the schema of ``url`` (the leader's)."""
    schema = url.split("search_path%3D")[-1].split("&")[0]
    row = (
        PgSchemas.admin()
        .execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s AND objid = (hashtext(%s)::bigint & 4294967295)",
            (LOCK_CLASS, schema),
        )
        .fetchone()
    )
    return row[0]


def test_serve_with_workers_runs_one_leader_behind_one_port(pg_url, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "VOLTPOOL_SECRET": SECRET}
    command = [sys.executable, "-m", "voltpool", "serve", "--db", pg_url, "--port", str(port)]
    with (tmp_path / "serve.log").open("wb") as output:
        process = subprocess.Popen(
            [*command, "--workers", "2"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    behind = Worker(process, f"http://127.0.0.1:{port}")
    try:
        seen: dict[int, bool] = {}

        def both_seen() -> bool:
            health = behind.health()
            if health is not None:
                seen[health["pid"]] = health["leading"]
            return len(seen) == 2 and sum(seen.values()) == 1

        wait_for(both_seen, timeout_s=START_TIMEOUT_S, every_s=0.05)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_serve_refuses_workers_on_sqlite(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'one.sqlite'}"
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--workers", "2"])
    assert result.exit_code == 2, result.output
    assert "--workers" in result.output and "PostgreSQL" in result.output


def test_wrong_passwords_count_across_workers(workers) -> None:
    """The failed-login limit is the database's: 5 wrong passwords spread over two workers, and
    the sixth, on either, is refused."""
    first, second = workers(2)
    wrong = {"username": "someone@example.org", "password": "not it at all"}
    codes = [
        (first if k % 2 else second).client().post("/v1/auth/token", data=wrong).status_code
        for k in range(5)
    ]
    assert codes == [401] * 5
    for at in (first, second):
        limited = at.client().post("/v1/auth/token", data=wrong)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
