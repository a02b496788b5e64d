"""The live stream over real HTTP: the whole state first, then a ``plan`` event when the
planner stores a plan for the caller's community; another owner's stream never names the
first owner's cars."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from queue import Empty, Queue

import httpx

from api_server import LiveServer, User, live_server

WAIT_S = 20.0


def sse_events(client: httpx.Client, into: Queue, opened: list) -> None:
    """Read ``/v1/stream`` into ``into`` as (event, data) until the response is closed."""
    with client.stream("GET", "/v1/stream", timeout=None) as response:
        opened.append(response)
        into.put(("status", response.status_code))
        name, data = "message", []
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
            elif not line and data:
                into.put((name, json.loads("\n".join(data))))
                name, data = "message", []


def listen(user: User, opened: list) -> Queue:
    events: Queue = Queue()
    threading.Thread(target=sse_events, args=(user.client, events, opened), daemon=True).start()
    return events


def next_event(events: Queue, name: str) -> dict:
    while True:
        try:
            kind, data = events.get(timeout=WAIT_S)
        except Empty:
            raise AssertionError(f"no {name!r} event within {WAIT_S} s") from None
        if kind == name:
            return data


def test_the_stream_sends_the_state_then_each_new_plan(ledger_url: str) -> None:
    server: LiveServer
    with live_server(ledger_url, tick=False) as server:
        operator = server.register("op@example.org", role="operator")
        community = operator.client.post("/v1/communities", json={"name": "w"}).json()["id"]
        ann, bob = server.register("ann@example.org"), server.register("bob@example.org")
        cars: dict[str, str] = {}
        for owner in (ann, bob):
            home = owner.client.post("/v1/homes", json={"name": "h", "community_id": community})
            car = owner.client.post(
                "/v1/cars",
                json={"name": "c", "home_id": home.json()["id"], "capacity_kwh": 50},
            )
            cars[owner.email] = car.json()["id"]
        opened: list[httpx.Response] = []
        ann_events, bob_events, op_events = (listen(u, opened) for u in (ann, bob, operator))
        try:
            assert next_event(ann_events, "status") == 200
            state = next_event(ann_events, "state")
            assert [c["car_id"] for c in state["cars"]] == [cars[ann.email]]
            assert state["cars"][0]["plugged_in"] is False
            assert next_event(op_events, "state")["communities"][0]["plan_id"] is None
            next_event(bob_events, "state")
            leave = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
            ann.client.post(f"/v1/cars/{cars[ann.email]}/sessions", json={"departure": leave})
            change = next_event(ann_events, "plan")
            assert change["reason"] == "plug-in"
            (mine,) = change["cars"]
            assert mine["plugged_in"] and mine["plan_id"] == change["plan_id"]
            assert mine["now"]["power_kw"] is not None
            site = next_event(op_events, "plan")["communities"][0]
            assert site["cars_planned"] == 1 and site["plan_id"] == change["plan_id"]
            seen_by_bob = next_event(bob_events, "plan")
            assert cars[ann.email] not in json.dumps(seen_by_bob)
        finally:  # the client goes away: the server ends the stream
            for response in opened:
                response.close()
