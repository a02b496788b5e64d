"""Benchmark: ``voltpool serve`` under a loopback load, and the time from an event to its plan.

The server runs as its own process (``python -m voltpool serve``, as deployed: uvicorn, one
worker unless ``--workers``, access log on) on a fresh database, so the load generator here
does not share its GIL. Over the API: one operator and one community, ``OWNERS`` owners with
one home per car and ``n_cars`` cars between them, every car plugged in (departures 6-14 h
ahead) and every owner granted credits by the admin. Setup is timed but not measured further.

- ``cold``: the first plan with every car (the community's plan polled by its operator):
  the planner's own ``solve_s`` and the wall time from the last plug-in's answer to its
  appearance.
- ``event``: ``REPLANS`` times, one owner moves a car's departure (``PATCH
  /v1/cars/{id}/sessions/current``) and polls ``GET /v1/cars/{id}/plan`` every
  ``POLL_S`` until a new plan says "session changed": the wall time, against
  ``EVENT_GOAL_S``.
- ``load``: per target rate, an open-loop load for ``step_s`` seconds (request ``i`` is due at
  ``i / rate``; its latency counts from then, so a late client or a queue in the server is
  not hidden): 60 % reads (``GET /v1/cars/{id}``, ``GET /v1/credits``, ``GET
  /v1/cars/{id}/rules``), 30 % plan fetches (``GET /v1/cars/{id}/plan``), 10 % credit
  transfers between owners (a fresh ``Idempotency-Key`` each, at most 0.01 credits, so
  nothing overdraws). Any answer but 200 (201 for a transfer), no answer within
  ``REQUEST_TIMEOUT_S`` (the whole request) or a request shed because ``MAX_IN_FLIGHT`` were
  open is an error; latencies are those of the answers expected. "server CPU" is the server
  process's CPU seconds per second of the step (2.0 is both cores), "client CPU" the load
  generator's (near 1.0: the client, not the server, sets the pace), "other CPU" what else
  ran on the machine meanwhile (a shared machine's results are only as good as that is
  small). After each step
  ``/healthz`` must answer within ``STALL_WAIT_S``; if it does not, the step is reported as
  stalled (with the exceptions the server logged and, when ``py-spy`` is installed, where its
  threads wait) and the higher rates are skipped. "server exceptions" counts the tracebacks
  in the server's log during the step, by exception.

SQLite is a file in a fresh temporary directory; PostgreSQL (``VOLTPOOL_BENCH_PG``, default
the test server) a fresh database, dropped after (:func:`bench_ledger.database`).

``python bench/bench_api.py [--quick] [sqlite|postgresql] [--rates 100,200] [--workers N]
[--keep-log DIR]`` prints the tables (``--workers N``: ``voltpool serve --workers N``, on
PostgreSQL; "server CPU" is then the sum over its processes, and ``/healthz``'s re-plan count
is the answering worker's, 0 for a follower)
(``--keep-log``: the server's log of each backend is kept as ``DIR/serve-<backend>.log``);
``--profile`` also profiles one re-plan of the site (cProfile, in this process, on the
benchmark's database after the server stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench_ledger import database, postgres_answers

PASSWORD = "a long enough bench password"
SECRET = "a bench secret of at least thirty-two bytes"
ADMIN = "admin@bench.example.org"
OWNERS = 50
OWNERS_QUICK = 10
CARS = 1000
CARS_QUICK = 100
RATES = (100, 200, 400)
RATES_QUICK = (100, 200)
STEP_S = 25.0
STEP_S_QUICK = 5.0
REPLANS = 3
IMPORT_LIMIT_KW_PER_CAR = 2.5
"""The community's import limit per car: 2,500 kW for 1,000 cars (binds in some slots)."""
CREDITS_EACH = 1000
READ_GOAL_P99_MS = 50.0
READ_GOAL_RATE = 200
EVENT_GOAL_S = 2.0
POLL_S = 0.05
MAX_IN_FLIGHT = 64
"""Open requests at most; one due while this many are open is shed (an error)."""
REQUEST_TIMEOUT_S = 5.0
"""The whole of one load request, queueing for a connection included."""
HEALTH_TIMEOUT_S = 2.0
STALL_WAIT_S = 20.0
"""After a step, ``/healthz`` must answer within this or the server is reported stalled."""
TOKEN_RENEW_S = 600.0
"""Log in again before the load when the set-up's access tokens are older (15 min life)."""
SETUP_TIMEOUT_S = 120.0
SETUP_CONCURRENCY = 8
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
PLAN_TIMEOUT_S = 900.0
CLASSES = ("read", "plan", "transfer")

T = TypeVar("T")


@dataclass
class Owner:
    email: str
    token: str
    cars: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Site:
    community_id: str
    operator: Owner
    owners: list[Owner]
    setup_s: float
    last_plug_in: float
    """``time.perf_counter()`` when the last plug-in was answered."""
    logged_in: float
    """``time.perf_counter()`` before the first owner logged in (their tokens' age)."""


# ------------------------------------------------------------------ the server and its database


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> list[str]:
    """``/proc/PID/stat``'s fields after the command name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_s(pid: int) -> float:
    try:
        fields = _stat(pid)
    except OSError:  # it ended meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return found


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout)(?=:|$)")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def cpu_s(self) -> float:
        """The server's user + system CPU seconds so far: its process and, with
        ``--workers``, its worker processes (the children that live now)."""
        return sum(_cpu_s(pid) for pid in (self.process.pid, *_children(self.process.pid)))

    def log_size(self) -> int:
        return self.log.stat().st_size

    def exceptions(self, since: int) -> dict[str, int]:
        """The tracebacks the server logged after byte ``since``, by their last line's
        exception (unindented ``package.module.SomeError: message``)."""
        with self.log.open("rb") as output:
            output.seek(since)
            text = output.read().decode(errors="replace")
        counts: dict[str, int] = {}
        for line in text.splitlines():
            match = _EXCEPTION_LINE.match(line)
            if match:
                counts[match.group(0)] = counts.get(match.group(0), 0) + 1
        return counts

    def threads(self) -> dict[str, int]:
        """Where the server's threads are, by their innermost frame of interest (``py-spy
        dump``; empty when py-spy is not installed or may not attach)."""
        spy = shutil.which("py-spy")
        if spy is None:
            return {}
        try:
            dump = subprocess.run(
                [spy, "dump", "--pid", str(self.process.pid)],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
        except (subprocess.SubprocessError, OSError):
            return {}
        counts: dict[str, int] = {}
        for thread in re.split(r"\n(?=Thread )", dump)[1:]:
            frames = [line.strip() for line in thread.splitlines()[1:]]
            counts[_where(frames)] = counts.get(_where(frames), 0) + 1
        return counts


def _where(frames: list[str]) -> str:
    """A thread's state in a few words, from its frames (innermost first)."""
    text = "\n".join(frames)
    if "QueuePool._do_get" in text:
        caller = next((f for f in frames if "voltpool/" in f), "?")
        return f"waits for a pooled connection ({caller.split(' (')[0]})"
    if "_on_begin" in text:
        caller = next((f for f in frames if "voltpool/api/" in f), "?")
        return f"waits for SQLite's write lock ({caller.split(' (')[0]})"
    if "WorkerThread.run (anyio" in text and frames and frames[0].startswith("Condition.wait"):
        return "idle worker"
    if frames and frames[0].startswith(("EpollSelector.select", "_worker")):
        return "idle (event loop / planner)"
    caller = next((f for f in frames if "voltpool/" in f), frames[0] if frames else "?")
    return f"runs {caller.split(' (')[0]}"


@contextlib.contextmanager
def serve(url: str, log: Path, options: tuple[str, ...] = ()) -> Iterator[Server]:
    """``voltpool serve`` on ``url`` and a free loopback port, with the admin and ``options``
    (``("--demo", "--speed", "1")``); stopped after."""
    port = _free_port()
    env = {**os.environ, "VOLTPOOL_ADMIN_PASSWORD": PASSWORD, "VOLTPOOL_SECRET": SECRET}
    command = [sys.executable, "-m", "voltpool", "serve", "--db", url, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--admin", ADMIN, *options], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"voltpool serve exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("voltpool serve did not answer /healthz")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:  # a stalled server may not finish its open requests: do not wait long
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------------- set-up


def _ok(answer: httpx.Response, *codes: int) -> dict:
    if answer.status_code not in (codes or (200,)):
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text[:500]}")
    return answer.json()


async def _log_in(client: httpx.AsyncClient, email: str) -> str:
    answer = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    return _ok(answer)["access_token"]


async def _user(client: httpx.AsyncClient, email: str, role: str) -> Owner:
    body = {"email": email, "password": PASSWORD, "role": role}
    _ok(await client.post("/v1/auth/register", json=body), 201)
    return Owner(email, await _log_in(client, email))


async def _gather_bounded(limit: int, jobs: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Await ``jobs``, at most ``limit`` at a time; their results in order."""
    gate = asyncio.Semaphore(limit)

    async def bounded(job: Coroutine[Any, Any, T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(bounded(job) for job in jobs))


async def _car(
    client: httpx.AsyncClient, owner: Owner, community_id: str, index: int, rng: random.Random
) -> float:
    """One home, one car, plugged in; when the plug-in was answered."""
    headers = owner.headers
    home = {"name": f"home {index}", "community_id": community_id}
    home_id = _ok(await client.post("/v1/homes", json=home, headers=headers), 201)["id"]
    car = {
        "name": f"car {index}",
        "home_id": home_id,
        "capacity_kwh": rng.choice((40.0, 60.0, 77.0)),
        "soc_now": round(rng.uniform(0.2, 0.6), 3),
    }
    car_id = _ok(await client.post("/v1/cars", json=car, headers=headers), 201)["id"]
    owner.cars.append(car_id)
    leave = datetime.now(UTC) + timedelta(hours=rng.uniform(6.0, 14.0))
    session = {"departure": leave.isoformat()}
    _ok(await client.post(f"/v1/cars/{car_id}/sessions", json=session, headers=headers), 201)
    return time.perf_counter()


async def set_up(
    client: httpx.AsyncClient, n_cars: int, rng: random.Random, n_owners: int = OWNERS
) -> Site:
    """The operator, community, owners, credits, homes and cars, all cars plugged in."""
    started = time.perf_counter()
    operator = await _user(client, "operator@bench.example.org", "operator")
    community = {
        "name": "Bench site",
        "timezone": "Europe/Amsterdam",
        "import_limit_kw": IMPORT_LIMIT_KW_PER_CAR * n_cars,
    }
    answer = await client.post("/v1/communities", json=community, headers=operator.headers)
    community_id = _ok(answer, 201)["id"]
    n_owners = min(n_owners, n_cars)
    logged_in = time.perf_counter()
    # one at a time: a registration holds the write lock while it hashes the password
    owners = [await _user(client, f"owner{i}@bench.example.org", "owner") for i in range(n_owners)]
    admin = {"Authorization": f"Bearer {await _log_in(client, ADMIN)}"}
    for owner in owners:
        grant = {"to_email": owner.email, "amount_credits": CREDITS_EACH}
        headers = {**admin, "Idempotency-Key": f"welcome-{owner.email}"}
        _ok(await client.post("/v1/credits/grants", json=grant, headers=headers), 201)
    plugged = await _gather_bounded(
        SETUP_CONCURRENCY,
        [
            _car(client, owners[index % n_owners], community_id, index, rng)
            for index in range(n_cars)
        ],
    )
    setup_s = time.perf_counter() - started
    return Site(community_id, operator, owners, setup_s, max(plugged), logged_in)


# ------------------------------------------------------------------------- plans and events


async def _plans_made(client: httpx.AsyncClient) -> int:
    return int(_ok(await client.get("/healthz"))["plans_made"])


async def _healthy_after(client: httpx.AsyncClient, wait_s: float) -> float | None:
    """Seconds until ``/healthz`` answered 200 (each probe given ``HEALTH_TIMEOUT_S``), or
    ``None`` when it did not within ``wait_s``."""
    started = time.perf_counter()
    while True:
        with contextlib.suppress(httpx.HTTPError):
            answer = await client.get("/healthz", timeout=HEALTH_TIMEOUT_S)
            if answer.status_code == 200:
                return time.perf_counter() - started
        if time.perf_counter() - started > wait_s:
            return None
        await asyncio.sleep(0.2)


async def cold_plan(client: httpx.AsyncClient, site: Site, n_cars: int) -> dict:
    """Wait for the first plan with every car; its solve time and when it appeared."""
    deadline = time.perf_counter() + PLAN_TIMEOUT_S
    path = f"/v1/communities/{site.community_id}/plan"
    while time.perf_counter() < deadline:
        answer = await client.get(path, headers=site.operator.headers)
        if answer.status_code == 200 and answer.json()["cars_planned"] == n_cars:
            plan = answer.json()
            binding = sum(
                s["site_import_kw"] >= s["import_limit_kw"] - 1e-3
                for s in plan["slots"]
                if s["import_limit_kw"] is not None
            )
            return {
                "wall_s": time.perf_counter() - site.last_plug_in,
                "solve_s": plan["solve_s"],
                "plans_made": await _plans_made(client),
                "slots_at_limit": binding,
                "slots": len(plan["slots"]),
            }
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no plan with {n_cars} cars after {PLAN_TIMEOUT_S} s")


async def event_to_plan(client: httpx.AsyncClient, site: Site, rng: random.Random) -> dict:
    """A new departure for one car; the wall time until its plan says "session changed"."""
    owner = rng.choice(site.owners)
    car_id = rng.choice(owner.cars)
    path = f"/v1/cars/{car_id}/plan"
    before = _ok(await client.get(path, headers=owner.headers))["plan_id"]
    made = await _plans_made(client)
    leave = datetime.now(UTC) + timedelta(hours=rng.uniform(4.0, 5.5))
    started = time.perf_counter()
    answer = await client.patch(
        f"/v1/cars/{car_id}/sessions/current",
        json={"departure": leave.isoformat()},
        headers=owner.headers,
    )
    _ok(answer)
    patch_s = time.perf_counter() - started
    deadline = started + PLAN_TIMEOUT_S
    while time.perf_counter() < deadline:
        answer = await client.get(path, headers=owner.headers)
        plan = _ok(answer)
        if plan["plan_id"] != before and plan["reason"] == "session changed":
            wall_s = time.perf_counter() - started
            site_plan = _ok(
                await client.get(
                    f"/v1/communities/{site.community_id}/plan", headers=site.operator.headers
                )
            )
            return {
                "wall_s": wall_s,
                "patch_s": patch_s,
                "solve_s": site_plan["solve_s"] if site_plan["plan_id"] == plan["plan_id"] else 0,
                "plans_made": await _plans_made(client) - made,
            }
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"no new plan for car {car_id} after {PLAN_TIMEOUT_S} s")


# -------------------------------------------------------------------------------------- load


def _request(site: Site, rng: random.Random) -> tuple[str, str, str, str, dict]:
    """One request of the mix: (class, endpoint, method, path, keyword arguments for httpx)."""
    owner = rng.choice(site.owners)
    car_id = rng.choice(owner.cars)
    draw = rng.random()
    if draw < 0.6:
        endpoint, path = rng.choice(
            (
                ("GET car", f"/v1/cars/{car_id}"),
                ("GET credits", "/v1/credits"),
                ("GET rules", f"/v1/cars/{car_id}/rules"),
            )
        )
        return "read", endpoint, "GET", path, {"headers": owner.headers}
    if draw < 0.9:
        path = f"/v1/cars/{car_id}/plan"
        return "plan", "GET plan", "GET", path, {"headers": owner.headers}
    friend = rng.choice([other for other in site.owners if other is not owner])
    body = {"to_email": friend.email, "amount_credits": rng.randint(1, 10) / 1000}
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    options = {"headers": headers, "json": body}
    return "transfer", "POST transfer", "POST", "/v1/credits/transfers", options


def _machine_busy_s() -> float:
    """CPU seconds all processes of the machine spent so far (``/proc/stat``)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def load_step(
    client: httpx.AsyncClient, server: Server, site: Site, rate: float, seconds: float, seed: int
) -> dict:
    """``rate`` requests per second for ``seconds``, open loop (see the module docstring);
    then whether the server still answers ``/healthz``."""
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    latencies: dict[str, list[float]] = {name: [] for name in CLASSES}
    by_endpoint: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    in_flight = 0
    made = await _plans_made(client)
    log_from = server.log_size()

    def failed(key: str) -> None:
        errors[key] = errors.get(key, 0) + 1

    async def send(
        kind: str, endpoint: str, method: str, path: str, options: dict, due: float
    ) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            answer = await asyncio.wait_for(
                client.request(method, path, **options), REQUEST_TIMEOUT_S
            )
        except TimeoutError:
            failed(f"{kind} timeout")
        except httpx.HTTPError as error:
            failed(f"{kind} {type(error).__name__}")
        else:
            if answer.status_code != (201 if kind == "transfer" else 200):
                failed(f"{kind} {answer.status_code}")
            else:
                latencies[kind].append(loop.time() - due)
                by_endpoint.setdefault(endpoint, []).append(loop.time() - due)
        finally:
            in_flight -= 1

    n_requests = int(rate * seconds)
    tasks = []
    cpu_before = server.cpu_s()
    client_cpu_before = time.process_time()
    machine_before = _machine_busy_s()
    start = loop.time() + 0.05
    for index in range(n_requests):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        kind, endpoint, method, path, options = _request(site, rng)
        if in_flight >= MAX_IN_FLIGHT:
            failed(f"{kind} shed")
            continue
        tasks.append(asyncio.create_task(send(kind, endpoint, method, path, options, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    server_cpu = (server.cpu_s() - cpu_before) / elapsed
    client_cpu = (time.process_time() - client_cpu_before) / elapsed
    other_cpu = (_machine_busy_s() - machine_before) / elapsed - server_cpu - client_cpu
    healthy_after_s = await _healthy_after(client, STALL_WAIT_S)
    row: dict = {
        "rate": rate,
        "seconds": elapsed,
        "requests": n_requests,
        "achieved_per_s": sum(len(v) for v in latencies.values()) / elapsed,
        "errors": errors,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "other_cpu": max(0.0, other_cpu),
        "stalled": healthy_after_s is None,
        "healthy_after_s": healthy_after_s,
        "server_exceptions": server.exceptions(log_from),
        "plans_made": None if healthy_after_s is None else await _plans_made(client) - made,
        "endpoints": {
            name: {
                "n": len(values),
                "p50_ms": 1e3 * _percentile(values, 0.50),
                "p99_ms": 1e3 * _percentile(values, 0.99),
            }
            for name, values in sorted(by_endpoint.items())
        },
    }
    if healthy_after_s is None:
        row["threads"] = server.threads()
    for kind, values in latencies.items():
        row[f"{kind}_n"] = len(values)
        row[f"{kind}_p50_ms"] = 1e3 * _percentile(values, 0.50)
        row[f"{kind}_p99_ms"] = 1e3 * _percentile(values, 0.99)
    return row


# ------------------------------------------------------------------------------------ a run


async def _measure(
    server: Server,
    n_cars: int,
    rates: tuple[float, ...],
    step_s: float,
    replans: int,
    n_owners: int,
) -> dict:
    rng = random.Random(1)
    # no more connections than requests may be open: none waits in the client's pool
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(
        base_url=server.base_url, limits=limits, timeout=SETUP_TIMEOUT_S
    ) as client:
        site = await set_up(client, n_cars, rng, n_owners)
        cold = await cold_plan(client, site, n_cars)
        events = [await event_to_plan(client, site, rng) for _ in range(replans)]
        if time.perf_counter() - site.logged_in > TOKEN_RENEW_S:  # they last 15 min
            for owner in site.owners:
                owner.token = await _log_in(client, owner.email)
        load: list[dict] = []
        for index, rate in enumerate(rates):
            if load and (load[-1]["stalled"] or load[-1].get("skipped")):
                load.append({"rate": rate, "skipped": True, "stalled": False})
                continue
            load.append(await load_step(client, server, site, rate, step_s, seed=index))
    return {
        "cars": n_cars,
        "owners": len(site.owners),
        "community_id": site.community_id,
        "setup_s": site.setup_s,
        "cold": cold,
        "events": events,
        "load": load,
    }


def run(
    backends: list[str] | None = None,
    n_cars: int = CARS,
    rates: tuple[float, ...] = RATES,
    step_s: float = STEP_S,
    replans: int = REPLANS,
    profile: bool = False,
    n_owners: int = OWNERS,
    keep_log: Path | None = None,
    workers: int = 1,
) -> list[dict]:
    """One result per backend (SQLite, and PostgreSQL when it answers), the server in
    ``workers`` processes (``voltpool serve --workers``; PostgreSQL only). A server that
    stalls under the load does not fail the run: its step says so (``stalled``, with the
    exceptions it logged and where its threads were) and the higher rates are skipped."""
    if backends is None:
        backends = ["sqlite", "postgresql"] if postgres_answers() else ["sqlite"]
    results = []
    for backend in backends:
        with database(backend) as url, tempfile.TemporaryDirectory() as logs:
            log = Path(logs) / "serve.log"
            try:
                options = () if workers == 1 else ("--workers", str(workers))
                with serve(url, log, options) as server:
                    result = asyncio.run(_measure(server, n_cars, rates, step_s, replans, n_owners))
            finally:
                if keep_log is not None and log.exists():
                    keep_log.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(log, keep_log / f"serve-{backend}.log")
            if profile:
                profile_replan(url, result["community_id"])
        results.append({"backend": backend, "workers": workers, **result})
    return results


def profile_replan(url: str, community_id: str) -> None:
    """cProfile of one re-plan of the community (as the live planner runs it), to stderr."""
    import cProfile
    import pstats

    from voltpool.api.planner import replan
    from voltpool.api.settings import ServeSettings
    from voltpool.api.store.schema import open_engine, sessions

    settings = ServeSettings(db=url, secret=SECRET)
    engine = open_engine(url)
    try:
        profiler = cProfile.Profile()
        profiler.runcall(replan, sessions(engine), settings, community_id, "profile")
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(40)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------- tables


def _counts(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    return f"{sum(counts.values())} (" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")"


def _after(step: dict) -> str:
    if step.get("skipped"):
        return "skipped (the server stalled)"
    if step["stalled"]:
        return f"STALLED (/healthz silent {STALL_WAIT_S:g} s)"
    plans = step.get("plans_made") or 0
    return f"answers in {step['healthy_after_s']:.1f} s; {plans} re-plan(s) during the step"


def _ms(step: dict, kind: str) -> str:
    if step.get("skipped") or not step[f"{kind}_n"]:
        return "-"
    return f"{step[f'{kind}_p50_ms']:.1f} / {step[f'{kind}_p99_ms']:.1f}"


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The load: one row per backend and target rate."""
    header = ["backend", "cars", "target /s", "achieved /s", "reads p50 / p99 ms"]
    header += ["plan fetch p50 / p99 ms", "transfers p50 / p99 ms", "errors"]
    header += ["server exceptions", "server CPU", "client CPU", "other CPU", "after the step"]
    body = []
    for result in rows:
        for step in result["load"]:
            backend = result["backend"]
            if result["workers"] > 1:
                backend += f" ({result['workers']} workers)"
            start = [backend, f"{result['cars']:,}", f"{step['rate']:,.0f}"]
            if step.get("skipped"):
                body.append([*start, *["-"] * 9, _after(step)])
                continue
            reads = _ms(step, "read")
            if step["rate"] >= READ_GOAL_RATE:
                met = (  # every request offered at the rate answered in time
                    step["read_p99_ms"] <= READ_GOAL_P99_MS
                    and not step["errors"]
                    and not step["stalled"]
                )
                reads += " ok" if met else " MISSED"
            body.append(
                [
                    *start,
                    f"{step['achieved_per_s']:,.0f}",
                    reads,
                    _ms(step, "plan"),
                    _ms(step, "transfer"),
                    _counts(step["errors"]),
                    _counts(step["server_exceptions"]),
                    f"{step['server_cpu']:.2f}",
                    f"{step['client_cpu']:.2f}",
                    f"{step['other_cpu']:.2f}",
                    _after(step),
                ]
            )
    return header, body


def endpoint_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The load's answers per endpoint, one row per backend, target rate and endpoint."""
    header = ["backend", "target /s", "endpoint", "answers", "p50 ms", "p99 ms"]
    body = []
    for result in rows:
        for step in result["load"]:
            for name, stats in step.get("endpoints", {}).items():
                body.append(
                    [
                        result["backend"],
                        f"{step['rate']:,.0f}",
                        name,
                        f"{stats['n']:,}",
                        f"{stats['p50_ms']:.1f}",
                        f"{stats['p99_ms']:.1f}",
                    ]
                )
    return header, body


def stalls(rows: list[dict]) -> list[str]:
    """What a stalled server's threads were doing (from ``py-spy dump``), one line each."""
    lines = []
    for result in rows:
        for step in result["load"]:
            if step["stalled"]:
                where = step.get("threads") or {"(py-spy not installed)": 0}
                lines.append(
                    f"{result['backend']} at {step['rate']:g}/s stalled; server threads: "
                    + ", ".join(f"{n} {state}" for state, n in where.items())
                )
    return lines


def event_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The event -> stored plan time against the cold solve, one row per backend."""
    header = ["backend", "cars", "setup s", "cold: solve s", "cold: last plug-in -> plan s"]
    header += ["event -> plan s median / max", "solve s of those", "goal s", "slots at limit"]
    body = []
    for result in rows:
        cold = result["cold"]
        walls = [event["wall_s"] for event in result["events"]]
        solves = [event["solve_s"] for event in result["events"]]
        met = "ok" if max(walls) <= EVENT_GOAL_S else "MISSED"
        body.append(
            [
                result["backend"],
                f"{result['cars']:,}",
                f"{result['setup_s']:.0f}",
                f"{cold['solve_s']:.2f}",
                f"{cold['wall_s']:.2f}",
                f"{statistics.median(walls):.2f} / {max(walls):.2f}",
                " / ".join(f"{s:.2f}" for s in solves),
                f"{EVENT_GOAL_S:g} {met}",
                f"{cold['slots_at_limit']} / {cold['slots']}",
            ]
        )
    return header, body


if __name__ == "__main__":
    from rich.console import Console

    from run import show

    quick = "--quick" in sys.argv
    chosen = [name for name in ("sqlite", "postgresql") if name in sys.argv] or None
    keep = sys.argv[sys.argv.index("--keep-log") + 1] if "--keep-log" in sys.argv else None
    rates = RATES_QUICK if quick else RATES
    if "--rates" in sys.argv:
        rates = tuple(float(r) for r in sys.argv[sys.argv.index("--rates") + 1].split(","))
    results = run(
        chosen,
        n_cars=CARS_QUICK if quick else CARS,
        rates=rates,
        step_s=STEP_S_QUICK if quick else STEP_S,
        n_owners=OWNERS_QUICK if quick else OWNERS,
        profile="--profile" in sys.argv,
        keep_log=None if keep is None else Path(keep),
        workers=int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1,
    )
    console = Console(width=200)
    markdown = [show(console, "The API under load", *table_rows(results))]
    markdown.append(show(console, "The API under load, per endpoint", *endpoint_rows(results)))
    markdown.append(show(console, "Event -> stored plan", *event_rows(results)))
    for line in stalls(results):
        console.print(line)
    print("\n".join(markdown))
