"""Schemathesis fuzzes every operation of the OpenAPI document against a live server (loopback,
a fresh SQLite database), as an owner with a home and a plugged-in car (the path's ids are
theirs, so bodies reach the handlers): no answer is
a 500, and every 4xx is an RFC 9457 problem (``application/problem+json`` with ``status``,
``title`` and ``detail``). Examples per operation are bounded; seeds are fixed (the hypothesis
profile of ``conftest.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api_server import live_server

EXAMPLES_PER_OPERATION = 12
STREAMS = {"/v1/stream"}
"""Endpoints that answer with an endless event stream (tested in test_api_stream.py)."""


@pytest.fixture(scope="module")
def owner_site(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'voltpool.sqlite'}"
    with live_server(url, tick=False) as server:
        operator = server.register("op@example.org", role="operator")
        community = operator.client.post("/v1/communities", json={"name": "w"}).json()["id"]
        ann = server.register("ann@example.org")
        home = ann.client.post("/v1/homes", json={"name": "h", "community_id": community})
        car = ann.client.post(
            "/v1/cars", json={"name": "c", "home_id": home.json()["id"], "capacity_kwh": 60}
        )
        leave = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
        ann.client.post(f"/v1/cars/{car.json()['id']}/sessions", json={"departure": leave})
        token = ann.client.headers["Authorization"]
        ids = {"car_id": car.json()["id"], "home_id": home.json()["id"], "community_id": community}
        yield server, token, ids


def test_no_input_makes_a_500_and_every_4xx_is_a_problem(owner_site) -> None:
    server, token, ids = owner_site
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    seen: dict[str, set[int]] = {}
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in STREAMS]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case) -> None:
            for name in case.path_parameters or {}:  # the owner's real objects: deep bodies
                case.path_parameters[name] = ids.get(name, case.path_parameters[name])
            response = case.call(base_url=server.base_url, headers={"Authorization": token})
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.text)
            seen.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)
            if 400 <= response.status_code < 500:
                assert response.headers["content-type"] == ["application/problem+json"], where
                body = json.loads(response.text)
                assert body["status"] == response.status_code, (where, body)
                assert body["title"] and body["detail"], (where, body)

        call()
    assert len(seen) == len(operations)
    assert any(code < 300 for code in seen["PUT /v1/cars/{car_id}/rules"])
