"""A real voltpool API server for tests: uvicorn in a thread on a free loopback port, on a
fresh database (SQLite file or PostgreSQL schema from ``ledger_url_factory``), stopped after.

    with live_server(url) as server:
        client = server.client()          # httpx.Client on the server's base URL
        owner = server.register("ann@example.org")   # an owner, logged in
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import uvicorn

from voltpool.api.accounts import ensure_admin
from voltpool.api.app import create_app
from voltpool.api.settings import ServeSettings

PASSWORD = "a long enough password"
SECRET = "a test secret of at least thirty-two bytes"
START_TIMEOUT_S = 20.0


@dataclass
class User:
    """A logged-in user: ``client`` sends its bearer token."""

    email: str
    id: str
    role: str
    client: httpx.Client
    refresh_token: str


@dataclass
class LiveServer:
    base_url: str
    settings: ServeSettings

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)

    def log_in(self, email: str, password: str = PASSWORD) -> User:
        anonymous = self.client()
        answer = anonymous.post("/v1/auth/token", data={"username": email, "password": password})
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
        client = self.client(Authorization=f"Bearer {tokens['access_token']}")
        me = client.get("/v1/me").json()
        return User(email, me["id"], me["role"], client, tokens["refresh_token"])

    def register(self, email: str, role: str = "owner") -> User:
        answer = self.client().post(
            "/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
        )
        assert answer.status_code == 201, answer.text
        return self.log_in(email)

    def admin(self, email: str = "admin@example.org") -> User:
        ensure_admin(self.settings, email, PASSWORD)
        return self.log_in(email)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def live_server(db_url: str, **settings: Any) -> Iterator[LiveServer]:
    config_settings = replace(ServeSettings(db=db_url, secret=SECRET), **settings)
    sock = _free_socket()
    port = sock.getsockname()[1]
    app = create_app(config_settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", config_settings)
    finally:
        app.state.voltpool.events.close()  # ends the live streams, which would hold it up
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def neighbours(server: LiveServer, **community: Any) -> tuple[User, User, User, str]:
    """An operator, two owners (ann and bob) and the operator's community (``community``:
    its fields besides the name and the time zone, Europe/Amsterdam)."""
    operator = server.register("op@example.org", role="operator")
    ann = server.register("ann@example.org")
    bob = server.register("bob@example.org")
    body = {"name": "Zonnewijk", "timezone": "Europe/Amsterdam", **community}
    made = operator.client.post("/v1/communities", json=body)
    assert made.status_code == 201, made.text
    return operator, ann, bob, made.json()["id"]


def wait_for(probe: Any, timeout_s: float = 20.0, every_s: float = 0.1) -> Any:
    """Call ``probe`` until it returns something truthy (then return it) or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout_s} s")
        time.sleep(every_s)
