"""The caller's own account over real HTTP: display name, email (with the current password,
unique), password (the registration rule; every refresh token revoked, a new pair for the
caller), log out, API keys; each change in the audit trail, no password in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from api_server import PASSWORD, LiveServer, User, live_server
from voltpool.api.store.schema import open_engine
from voltpool.api.store.tables import AuditEntry

NEW_PASSWORD = "a new and long enough password"
_serial = count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('account') / 'voltpool.sqlite'}"
    with live_server(url, tick=False) as running:
        yield running


@pytest.fixture
def ann(server: LiveServer) -> User:
    """A fresh owner for each test (the server is shared by the module)."""
    return server.register(f"ann{next(_serial)}@example.org")


def _log_in(server: LiveServer, email: str, password: str) -> httpx.Response:
    return server.client().post("/v1/auth/token", data={"username": email, "password": password})


def _fields(answer: httpx.Response) -> list[str]:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    return [error["field"] for error in answer.json()["errors"]]


def _audit(server: LiveServer, user_id: str) -> list[AuditEntry]:
    """The user's audit rows, oldest first."""
    engine = open_engine(server.settings.db)
    try:
        with Session(engine) as db:
            query = sa.select(AuditEntry).where(AuditEntry.user_id == user_id)
            return list(db.scalars(query.order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def test_the_display_name_changes_and_is_audited(server: LiveServer, ann: User) -> None:
    answer = ann.client.patch("/v1/me", json={"name": "  Ann de Vries "})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Ann de Vries"
    assert ann.client.get("/v1/me").json()["name"] == "Ann de Vries"
    assert ann.client.patch("/v1/me", json={}).json()["name"] == "Ann de Vries"  # no change
    too_long = ann.client.patch("/v1/me", json={"name": "x" * 129})
    assert too_long.status_code == 422 and _fields(too_long) == ["body.name"]
    unknown = ann.client.patch("/v1/me", json={"role": "admin"})
    assert unknown.status_code == 422 and _fields(unknown) == ["body.role"]
    assert ann.client.get("/v1/me").json()["role"] == "owner"
    changes = [e for e in _audit(server, ann.id) if e.action == "account.change"]
    assert [e.detail for e in changes] == [{"name": "Ann de Vries"}]


def test_a_new_email_needs_the_current_password(server: LiveServer, ann: User) -> None:
    new_email = ann.email.replace("ann", "anna")
    missing = ann.client.patch("/v1/me", json={"email": new_email})
    assert missing.status_code == 422 and _fields(missing) == ["body.current_password"]
    assert "is required to change the email" in missing.json()["detail"]
    wrong = ann.client.patch(
        "/v1/me", json={"email": new_email, "current_password": "not my password"}
    )
    assert wrong.status_code == 422 and _fields(wrong) == ["body.current_password"]
    assert wrong.json()["errors"][0]["rule"] == "is not your current password"
    assert ann.client.get("/v1/me").json()["email"] == ann.email  # nothing changed
    bad = ann.client.patch("/v1/me", json={"email": "not an email", "current_password": PASSWORD})
    assert bad.status_code == 422 and _fields(bad) == ["body.email"]

    changed = ann.client.patch(
        "/v1/me", json={"email": new_email.upper(), "current_password": PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == new_email  # stored as typed, lower case
    assert _log_in(server, new_email, PASSWORD).status_code == 200
    assert _log_in(server, ann.email, PASSWORD).status_code == 401
    entry = [e for e in _audit(server, ann.id) if e.action == "account.change"][-1]
    assert entry.detail == {"email": new_email, "email_was": ann.email}


def test_another_accounts_email_is_refused_with_409(server: LiveServer, ann: User) -> None:
    bob = server.register(f"bob{next(_serial)}@example.org")
    taken = ann.client.patch("/v1/me", json={"email": bob.email, "current_password": PASSWORD})
    assert taken.status_code == 409
    assert taken.json()["errors"] == [
        {"field": "body.email", "rule": "must not be registered already"}
    ]
    assert ann.client.get("/v1/me").json()["email"] == ann.email
    assert bob.client.get("/v1/me").json()["email"] == bob.email


def test_a_new_password_replaces_the_old_one(server: LiveServer, ann: User) -> None:
    answer = ann.client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert _log_in(server, ann.email, PASSWORD).status_code == 401
    assert _log_in(server, ann.email, NEW_PASSWORD).status_code == 200
    # the answer's pair is this session's from now on
    fresh = server.client(Authorization=f"Bearer {tokens['access_token']}")
    assert fresh.get("/v1/me").json()["id"] == ann.id
    again = server.client().post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 200
    entry = [e for e in _audit(server, ann.id) if e.action == "account.password"]
    assert [e.detail for e in entry] == [{"refresh_tokens_revoked": 1}]


def test_a_wrong_current_password_is_refused_with_its_field(server: LiveServer, ann: User) -> None:
    answer = ann.client.post(
        "/v1/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "body.current_password", "rule": "is not your current password"}
    ]
    assert _log_in(server, ann.email, PASSWORD).status_code == 200  # unchanged
    assert _log_in(server, ann.email, NEW_PASSWORD).status_code == 401
    missing = ann.client.post("/v1/me/password", json={"new_password": NEW_PASSWORD})
    assert missing.status_code == 422 and _fields(missing) == ["body.current_password"]


def test_a_weak_or_unchanged_new_password_is_refused(server: LiveServer, ann: User) -> None:
    weak = ann.client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"] == [
        {"field": "body.new_password", "rule": "must be at least 10 characters"}
    ]
    same = ann.client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD}
    )
    assert same.status_code == 422 and _fields(same) == ["body.new_password"]
    assert _log_in(server, ann.email, PASSWORD).status_code == 200


def test_a_new_password_ends_every_other_session_but_keeps_api_keys(
    server: LiveServer, ann: User
) -> None:
    """Every refresh token is revoked (the browser's, a phone's, a stolen one); the caller
    carries on with the answer's pair; a device's API key still works."""
    phone = server.log_in(ann.email)
    key = ann.client.post("/v1/api-keys", json={"name": "charger"}).json()
    answer = ann.client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    for old in (ann.refresh_token, phone.refresh_token):
        refused = server.client().post("/v1/auth/refresh", json={"refresh_token": old})
        assert refused.status_code == 401, refused.text
    kept = server.client().post(
        "/v1/auth/refresh", json={"refresh_token": answer.json()["refresh_token"]}
    )
    assert kept.status_code == 200
    device = server.client(**{"X-API-Key": key["key"]})
    assert device.get("/v1/me").json()["id"] == ann.id
    entry = [e for e in _audit(server, ann.id) if e.action == "account.password"][-1]
    assert entry.detail == {"refresh_tokens_revoked": 2}


def test_wrong_current_passwords_are_rate_limited_per_account(
    server: LiveServer, ann: User
) -> None:
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    codes = [ann.client.post("/v1/me/password", json=wrong).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    limited = ann.client.post("/v1/me/password", json=right)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    email = {"email": "elsewhere@example.org", "current_password": PASSWORD}
    assert ann.client.patch("/v1/me", json=email).status_code == 429  # the same account's limit
    assert _log_in(server, ann.email, PASSWORD).status_code == 200  # unchanged


def test_log_out_revokes_the_refresh_token_presented(server: LiveServer, ann: User) -> None:
    other = server.log_in(ann.email)
    anonymous = server.client()
    out = anonymous.post("/v1/auth/logout", json={"refresh_token": ann.refresh_token})
    assert out.status_code == 204
    used = anonymous.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert used.status_code == 401
    again = anonymous.post("/v1/auth/logout", json={"refresh_token": ann.refresh_token})
    assert again.status_code == 204  # the same answer: nothing to tell
    unknown = anonymous.post("/v1/auth/logout", json={"refresh_token": "nothing of the sort"})
    assert unknown.status_code == 204
    kept = anonymous.post("/v1/auth/refresh", json={"refresh_token": other.refresh_token})
    assert kept.status_code == 200  # the other session goes on
    assert [e.action for e in _audit(server, ann.id)].count("auth.logout") == 1


def test_api_keys_are_created_listed_and_revoked(server: LiveServer, ann: User) -> None:
    made = ann.client.post("/v1/api-keys", json={"name": "  wallbox  "})
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["name"] == "wallbox" and key["key"].startswith("vp_") and not key["revoked"]
    listed = ann.client.get("/v1/api-keys").json()
    assert [(k["id"], k["name"], k["revoked"]) for k in listed] == [(key["id"], "wallbox", False)]
    assert "key" not in listed[0] and listed[0]["created_at"] == key["created_at"]
    device = server.client(**{"X-API-Key": key["key"]})
    assert device.get("/v1/me").json()["id"] == ann.id
    empty = ann.client.post("/v1/api-keys", json={"name": "  "})
    assert empty.status_code == 422 and _fields(empty) == ["body.name"]

    assert ann.client.delete(f"/v1/api-keys/{key['id']}").status_code == 204
    assert device.get("/v1/me").status_code == 401
    assert device.get("/v1/cars").status_code == 401
    assert [k["revoked"] for k in ann.client.get("/v1/api-keys").json()] == [True]
    assert ann.client.delete("/v1/api-keys/no-such-key").status_code == 404
    actions = [e.action for e in _audit(server, ann.id)]
    assert actions.count("api_key.create") == 1 and actions.count("api_key.revoke") == 1


def test_no_password_reaches_the_audit_trail(server: LiveServer, ann: User) -> None:
    new_email = ann.email.replace("ann", "anne")
    ann.client.patch("/v1/me", json={"email": new_email, "current_password": PASSWORD})
    ann.client.post(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    entries = _audit(server, ann.id)
    assert {"register", "account.change", "account.password"} <= {e.action for e in entries}
    written = json.dumps([e.detail for e in entries])
    assert PASSWORD not in written and NEW_PASSWORD not in written
    assert "password_hash" not in written and "$argon2" not in written
