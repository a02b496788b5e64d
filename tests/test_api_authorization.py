"""Who may call what, for every endpoint of the API (the table below must list each one):
without credentials, with an expired token, as another owner and as the community operator.
Nobody but the owner reads or changes the owner's homes, cars, rules, sessions, keys or
credits; someone else's object answers 404, as a missing one does; nothing changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_server import SECRET, User, live_server, wait_for
from voltpool.api.app import create_app
from voltpool.api.security import issue_access_token

PUBLIC = {
    ("GET", "/healthz"),
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/logout"),  # the refresh token presented is the credential
}


@dataclass(frozen=True)
class Case:
    """A request on the owner's objects and what each other caller gets."""

    path: str
    body: dict[str, Any] | list[Any] | None = None
    other_owner: int = 404
    operator: int = 404
    headers: dict[str, str] | None = None
    stream: bool = False
    """A live stream: its first event is read, then it is closed."""


def cases(ids: dict[str, str]) -> dict[tuple[str, str], Case]:
    now = datetime.now(UTC).isoformat()
    leave = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    send = {"to_email": "ann@example.org", "amount_credits": 1}
    key = {"Idempotency-Key": "auth-test"}
    ask, offer = v2v_bodies(ids["car"])
    return {
        ("GET", "/v1/me"): Case("/v1/me", other_owner=200, operator=200),
        # the caller's own account: another caller changes only their own
        ("PATCH", "/v1/me"): Case("/v1/me", {"name": "x"}, other_owner=200, operator=200),
        # a wrong current password: refused with its field, every password stays
        ("POST", "/v1/me/password"): Case(
            "/v1/me/password",
            {"current_password": "not the password", "new_password": "another long password"},
            other_owner=422,
            operator=422,
        ),
        ("POST", "/v1/api-keys"): Case(
            "/v1/api-keys", {"name": "x"}, other_owner=201, operator=201
        ),
        ("GET", "/v1/api-keys"): Case("/v1/api-keys", other_owner=200, operator=200),
        ("DELETE", "/v1/api-keys/{key_id}"): Case(f"/v1/api-keys/{ids['key']}"),
        ("POST", "/v1/communities"): Case(
            "/v1/communities", {"name": "mine"}, other_owner=403, operator=201
        ),
        ("GET", "/v1/communities"): Case("/v1/communities", other_owner=200, operator=200),
        ("GET", "/v1/communities/{community_id}"): Case(
            f"/v1/communities/{ids['community']}", other_owner=200, operator=200
        ),
        ("GET", "/v1/communities/{community_id}/plan"): Case(
            f"/v1/communities/{ids['community']}/plan", operator=200
        ),
        ("GET", "/v1/communities/{community_id}/flexibility"): Case(
            f"/v1/communities/{ids['community']}/flexibility", operator=200
        ),
        ("GET", "/v1/communities/{community_id}/health"): Case(
            f"/v1/communities/{ids['community']}/health", operator=200
        ),
        ("GET", "/v1/cars/{car_id}/health"): Case(f"/v1/cars/{ids['car']}/health"),
        ("POST", "/v1/communities/{community_id}/grid-events"): Case(
            f"/v1/communities/{ids['community']}/grid-events",
            {"kind": "price", "price_per_kwh": 0.5, "start": now, "end": leave},
            operator=201,
        ),
        ("GET", "/v1/communities/{community_id}/grid-events"): Case(
            f"/v1/communities/{ids['community']}/grid-events", operator=200
        ),
        ("DELETE", "/v1/communities/{community_id}/grid-events/{event_id}"): Case(
            f"/v1/communities/{ids['community']}/grid-events/{ids['event']}", operator=200
        ),
        # registering a station is the operator's: an owner's role is refused first
        ("POST", "/v1/communities/{community_id}/stations"): Case(
            f"/v1/communities/{ids['community']}/stations",
            {"id": "cs-auth", "password": "a station password", "home_id": ids["home"]},
            other_owner=403,
            operator=201,
        ),
        ("GET", "/v1/communities/{community_id}/stations"): Case(
            f"/v1/communities/{ids['community']}/stations", operator=200
        ),
        ("POST", "/v1/homes"): Case(
            "/v1/homes",
            {"name": "h", "community_id": ids["community"]},
            other_owner=201,
            operator=403,
        ),
        ("GET", "/v1/homes"): Case("/v1/homes", other_owner=200, operator=200),
        ("GET", "/v1/homes/{home_id}"): Case(f"/v1/homes/{ids['home']}"),
        ("GET", "/v1/homes/{home_id}/backup"): Case(f"/v1/homes/{ids['home']}/backup"),
        ("PUT", "/v1/homes/{home_id}/circuits"): Case(
            f"/v1/homes/{ids['home']}/circuits", [{"name": "house", "share": 1.0}]
        ),
        ("POST", "/v1/cars"): Case(
            "/v1/cars", {"name": "c", "home_id": ids["home"], "capacity_kwh": 50}, operator=403
        ),
        ("GET", "/v1/cars"): Case("/v1/cars", other_owner=200, operator=200),
        ("GET", "/v1/cars/{car_id}"): Case(f"/v1/cars/{ids['car']}"),
        ("PATCH", "/v1/cars/{car_id}"): Case(f"/v1/cars/{ids['car']}", {"soc_target": 0.3}),
        ("GET", "/v1/cars/{car_id}/rules"): Case(f"/v1/cars/{ids['car']}/rules"),
        ("PUT", "/v1/cars/{car_id}/rules"): Case(
            f"/v1/cars/{ids['car']}/rules", {"v2g_floor_soc": 0.1}
        ),
        ("POST", "/v1/cars/{car_id}/sessions"): Case(
            f"/v1/cars/{ids['car']}/sessions", {"departure": leave}
        ),
        ("GET", "/v1/cars/{car_id}/sessions/current"): Case(
            f"/v1/cars/{ids['car']}/sessions/current"
        ),
        ("PATCH", "/v1/cars/{car_id}/sessions/current"): Case(
            f"/v1/cars/{ids['car']}/sessions/current", {"soc_target": 0.3}
        ),
        ("DELETE", "/v1/cars/{car_id}/sessions/current"): Case(
            f"/v1/cars/{ids['car']}/sessions/current"
        ),
        ("GET", "/v1/cars/{car_id}/plan"): Case(f"/v1/cars/{ids['car']}/plan"),
        ("GET", "/v1/credits"): Case("/v1/credits", other_owner=200, operator=200),
        ("GET", "/v1/stream"): Case("/v1/stream", other_owner=200, operator=200, stream=True),
        # another caller's transfer moves only that caller's credits (none here: refused)
        ("POST", "/v1/credits/transfers"): Case(
            "/v1/credits/transfers", send, other_owner=409, operator=409, headers=key
        ),
        ("POST", "/v1/credits/grants"): Case(
            "/v1/credits/grants", send, other_owner=403, operator=403, headers=key
        ),
        ("POST", "/v1/v2v/requests"): Case("/v1/v2v/requests", ask, operator=403),
        ("GET", "/v1/v2v/requests"): Case("/v1/v2v/requests", other_owner=200, operator=200),
        ("DELETE", "/v1/v2v/requests/{request_id}"): Case(f"/v1/v2v/requests/{ids['request']}"),
        ("POST", "/v1/v2v/offers"): Case("/v1/v2v/offers", offer, operator=403),
        ("GET", "/v1/v2v/offers"): Case("/v1/v2v/offers", other_owner=200, operator=200),
        ("DELETE", "/v1/v2v/offers/{offer_id}"): Case(f"/v1/v2v/offers/{ids['offer']}"),
        ("GET", "/v1/v2v/agreements"): Case("/v1/v2v/agreements", other_owner=200, operator=200),
        ("GET", "/v1/v2v/communities/{community_id}/agreements"): Case(
            f"/v1/v2v/communities/{ids['community']}/agreements", operator=200
        ),
        ("GET", "/v1/v2v/agreements/{agreement_id}"): Case(f"/v1/v2v/agreements/{ids['offer']}"),
        ("POST", "/v1/v2v/agreements/{agreement_id}/cancel"): Case(
            f"/v1/v2v/agreements/{ids['offer']}/cancel"
        ),
    }


def v2v_bodies(car_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request (3-6 h from now) and an offer (the next 2 h) of the owner's car that do not
    overlap (a car gives or receives, not both at once)."""
    now = datetime.now(UTC)
    ask = {
        "car_id": car_id,
        "energy_kwh": 1.0,
        "earliest_start": (now + timedelta(hours=3)).isoformat(),
        "deadline": (now + timedelta(hours=6)).isoformat(),
    }
    offer = {
        "car_id": car_id,
        "energy_kwh": 1.0,
        "end": (now + timedelta(hours=2)).isoformat(),
        "consent": "community",
    }
    return ask, offer


def every_route() -> set[tuple[str, str]]:
    """Every (method, path) of the API, from its OpenAPI document."""
    paths = create_app().openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_the_table_lists_every_endpoint() -> None:
    names = ("key", "community", "home", "car", "request", "offer", "event")
    listed = set(cases({name: "x" for name in names})) | PUBLIC
    assert every_route() == listed


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'voltpool.sqlite'}"
    with live_server(url, tick=False) as server:
        operator = server.register("op@example.org", role="operator")
        ann = server.register("ann@example.org")
        bob = server.register("bob@example.org")
        community = operator.client.post("/v1/communities", json={"name": "w"}).json()["id"]
        home = ann.client.post("/v1/homes", json={"name": "h", "community_id": community}).json()[
            "id"
        ]
        car = ann.client.post(
            "/v1/cars",
            json={
                "name": "c",
                "home_id": home,
                "capacity_kwh": 60,
                "rules": {"v2g_floor_soc": 0.4},
            },
        ).json()["id"]
        leave = (datetime.now(UTC) + timedelta(hours=10)).isoformat()
        ann.client.post(f"/v1/cars/{car}/sessions", json={"departure": leave})
        wait_for(lambda: ann.client.get(f"/v1/cars/{car}/plan").status_code == 200)
        key = ann.client.post("/v1/api-keys", json={"name": "charger"}).json()
        admin = server.admin()
        admin.client.post(
            "/v1/credits/grants",
            json={"to_email": ann.email, "amount_credits": 5},
            headers={"Idempotency-Key": "g"},
        )
        later = datetime.now(UTC) + timedelta(hours=5)
        event = operator.client.post(
            f"/v1/communities/{community}/grid-events",
            json={
                "kind": "outage",
                "start": later.isoformat(),
                "end": (later + timedelta(hours=1)).isoformat(),
            },
        ).json()["id"]
        ask, offer = v2v_bodies(car)
        request = ann.client.post("/v1/v2v/requests", json=ask).json()["id"]
        offer = ann.client.post("/v1/v2v/offers", json=offer).json()["id"]
        ids = {
            "key": key["id"],
            "community": community,
            "home": home,
            "car": car,
            "request": request,
            "offer": offer,
            "event": event,
        }
        yield server, {"operator": operator, "ann": ann, "bob": bob}, ids, key["key"]


def _snapshot(ann: User, ids: dict[str, str]) -> dict[str, Any]:
    car = ids["car"]
    return {
        "car": ann.client.get(f"/v1/cars/{car}").json(),
        "rules": ann.client.get(f"/v1/cars/{car}/rules").json(),
        "session": ann.client.get(f"/v1/cars/{car}/sessions/current").json(),
        "credits": ann.client.get("/v1/credits").json()["balance_credits"],
        "keys": ann.client.get("/v1/api-keys").json(),
        "homes": ann.client.get("/v1/homes").json(),
        "v2v": [ann.client.get(f"/v1/v2v/{kind}").json() for kind in ("requests", "offers")],
    }


class _Answer:
    """A stream's status, headers and first event (as ``text``)."""

    def __init__(self, response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        lines = []
        if response.status_code == 200:
            for line in response.iter_lines():
                if not line and lines:
                    break
                lines.append(line)
        else:
            response.read()
            self._body = response.json()
        self.text = "\n".join(lines)

    def json(self):
        return self._body


def _call(client, method: str, case: Case):
    if case.stream:
        with client.stream(method, case.path) as response:
            return _Answer(response)
    return client.request(method, case.path, json=case.body, headers=case.headers)


@pytest.mark.parametrize("caller", ["anonymous", "expired", "other_owner", "operator"])
def test_no_one_but_the_owner_reads_or_changes_the_owners_data(site, caller: str) -> None:
    server, users, ids, _ = site
    ann: User = users["ann"]
    before = _snapshot(ann, ids)
    if caller == "anonymous":
        client = server.client()
    elif caller == "expired":
        token, _ = issue_access_token(ann.id, "owner", SECRET, timedelta(seconds=-1))
        client = server.client(Authorization=f"Bearer {token}")
    else:
        client = users["bob" if caller == "other_owner" else "operator"].client
    for (method, template), case in cases(ids).items():
        answer = _call(client, method, case)
        expected = 401 if caller in ("anonymous", "expired") else getattr(case, caller)
        assert answer.status_code == expected, (caller, method, template, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["status"] == answer.status_code
        if caller == "expired":
            assert "expired" in answer.json()["detail"]
        if caller == "other_owner":  # nothing of the owner's in what another owner reads
            told = answer.text.replace(case.path, "")  # the path it sent comes back as instance
            assert ids["car"] not in told and ids["home"] not in told, template
    assert _snapshot(ann, ids) == before


def test_the_owner_may_call_every_endpoint_on_their_own_data(site) -> None:
    _server, users, ids, _ = site
    ann: User = users["ann"]
    allowed = {
        ("POST", "/v1/communities"): 403,  # owners do not run communities
        ("POST", "/v1/me/password"): 422,  # the wrong current password (tests/test_api_account)
        ("POST", "/v1/communities/{community_id}/grid-events"): 404,  # the operator's
        ("GET", "/v1/communities/{community_id}/grid-events"): 404,
        ("GET", "/v1/communities/{community_id}/plan"): 404,  # the operator's
        ("GET", "/v1/communities/{community_id}/flexibility"): 404,
        ("GET", "/v1/communities/{community_id}/health"): 404,  # the operator's
        ("POST", "/v1/communities/{community_id}/stations"): 403,  # the operator's
        ("GET", "/v1/communities/{community_id}/stations"): 404,
        ("POST", "/v1/credits/transfers"): 422,  # to oneself
        ("POST", "/v1/credits/grants"): 403,  # the admin's
        ("POST", "/v1/cars/{car_id}/sessions"): 409,  # plugged in already
        ("GET", "/v1/v2v/agreements/{agreement_id}"): 404,  # none made: nobody asks or offers
        ("POST", "/v1/v2v/agreements/{agreement_id}/cancel"): 404,
        ("GET", "/v1/v2v/communities/{community_id}/agreements"): 404,  # the operator's
    }
    for (method, template), case in cases(ids).items():
        if method == "DELETE":
            continue  # ends what the other tests read; covered by the walk-through
        answer = _call(ann.client, method, case)
        assert answer.status_code == allowed.get((method, template), answer.status_code), (
            method,
            template,
            answer.text,
        )
        assert answer.status_code < 300 or (method, template) in allowed, (template, answer.text)


def test_an_api_key_acts_as_its_owner_until_revoked(site) -> None:
    server, users, ids, secret = site
    device = server.client(**{"X-API-Key": secret})
    assert device.get(f"/v1/cars/{ids['car']}").status_code == 200
    assert server.client(**{"X-API-Key": secret + "x"}).get("/v1/me").status_code == 401
    made = users["ann"].client.post("/v1/api-keys", json={"name": "spare"}).json()
    spare = server.client(**{"X-API-Key": made["key"]})
    assert spare.get("/v1/me").json()["email"] == "ann@example.org"
    assert users["ann"].client.delete(f"/v1/api-keys/{made['id']}").status_code == 204
    assert spare.get("/v1/me").status_code == 401


def test_a_refresh_token_works_once(site) -> None:
    server, users, _ids, _ = site
    ann: User = users["ann"]
    fresh = server.client().post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert fresh.status_code == 200
    again = server.client().post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert again.status_code == 401
    rotated = fresh.json()["refresh_token"]
    assert (
        server.client().post("/v1/auth/refresh", json={"refresh_token": rotated}).status_code == 200
    )


def test_wrong_passwords_are_rate_limited_per_email_and_client(site) -> None:
    server, _users, _ids, _ = site
    anonymous = server.client()
    wrong = {"username": "bob@example.org", "password": "not it at all"}
    codes = [anonymous.post("/v1/auth/token", data=wrong).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    limited = anonymous.post("/v1/auth/token", data={**wrong, "password": "a long enough password"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    unknown = anonymous.post("/v1/auth/token", data={"username": "nobody@x.org", "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "wrong email or password"
