"""Pytest plugin: run ledger tests against SQLite and PostgreSQL.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["ledger_backends"]``. Fixtures:

- ``ledger_backend``: ``"sqlite"`` or ``"postgresql"`` (parametrizes every test that uses it);
- ``ledger_url_factory``: a function returning the URL of a fresh, empty database on that backend
  each time it is called (SQLite: a new file under ``tmp_path``; PostgreSQL: a new schema
  ``ledger_test_<random>`` selected through ``search_path`` in the URL, dropped afterwards);
- ``ledger_url``: one such URL.

PostgreSQL: ``$VOLTPOOL_TEST_PG_URL`` or ``postgresql+psycopg://root@127.0.0.1:5432/test``. If no
server answers, the postgresql variants are skipped with the reason, except when ``CI=true``:
then they fail, so CI cannot pass without having run them.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
PG_URL_ENV = "VOLTPOOL_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")
CONNECT_TIMEOUT_S = 3


def pg_admin_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _libpq_conninfo(url: str) -> str:
    """The SQLAlchemy URL as a libpq URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def pg_unavailable() -> str | None:
    """None if the PostgreSQL test server answers, else why not (checked once per session)."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(
            _libpq_conninfo(pg_admin_url()), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def require_postgres() -> None:
    reason = pg_unavailable()
    if reason is None:
        return
    message = (
        f"no PostgreSQL server answers at {pg_admin_url()} ({reason}); start one (e.g."
        f" scripts/ensure_postgres.sh) or point {PG_URL_ENV} at one"
    )
    if in_ci():
        pytest.fail(f"CI=true requires the postgresql ledger tests: {message}", pytrace=False)
    pytest.skip(f"postgresql variant skipped: {message}")


class PgSchemas:
    """Creates throw-away schemas in the test database and drops them at teardown."""

    _admin = None  # one autocommit connection for the whole session (connecting costs ~20 ms)

    def __init__(self) -> None:
        self.created: list[str] = []

    @classmethod
    def admin(cls):  # -> psycopg.Connection (psycopg is imported lazily)
        import psycopg

        if cls._admin is None or cls._admin.closed:
            cls._admin = psycopg.connect(_libpq_conninfo(pg_admin_url()), autocommit=True)
        return cls._admin

    def new_url(self) -> str:
        from sqlalchemy.engine import make_url

        schema = f"ledger_test_{secrets.token_hex(6)}"
        self.admin().execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        url = make_url(pg_admin_url())
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = self.admin()
        admin.execute("SET lock_timeout = '10s'")
        for schema in self.created:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.created.clear()


@pytest.fixture(params=BACKENDS)
def ledger_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return request.param


@pytest.fixture
def ledger_url_factory(ledger_backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    if ledger_backend == "sqlite":
        counter = iter(range(1_000_000))
        yield lambda: f"sqlite:///{tmp_path / f'ledger-{next(counter)}.sqlite'}"
        return
    schemas = PgSchemas()
    try:
        yield schemas.new_url
    finally:
        schemas.drop_all()


@pytest.fixture
def ledger_url(ledger_url_factory: Callable[[], str]) -> str:
    return ledger_url_factory()
