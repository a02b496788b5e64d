"""``voltpool serve``: the API and the live planner on one database.

    voltpool serve --db sqlite:///voltpool.sqlite --port 8000

OpenAPI at ``/docs``, health at ``/healthz``. ``--admin EMAIL`` creates (or keeps) an admin
account with the password in ``$VOLTPOOL_ADMIN_PASSWORD``. FastAPI and uvicorn are imported
only when the command runs. ``--workers N`` (PostgreSQL only) serves in N processes on one
port, one of which runs the live planner (:mod:`voltpool.api.workers`).

    voltpool serve --demo --speed 60

runs it on a simulated neighbourhood (:mod:`voltpool.api.demo`): the built-in scenario's
homes and cars, simulated chargers and real day-ahead prices, on a clock ``--speed`` times
faster than real time; it prints the demo accounts and their password. Seeding is
idempotent, so the demo may share ``--db`` with itself across restarts (it goes on where it
left off); give it a database of its own (``--db sqlite:///demo.sqlite``) to keep it apart.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from voltpool.cli.ocpp import TlsCert, TlsClientCa, TlsKey, server_tls

if TYPE_CHECKING:
    from voltpool.api.settings import ServeSettings

ENV_ADMIN_PASSWORD = "VOLTPOOL_ADMIN_PASSWORD"
ENV_DEMO_PASSWORD = "VOLTPOOL_DEMO_PASSWORD"
DEMO_SPEED = 60.0
"""``--speed``'s default: one simulated hour per real minute."""


def serve_command(
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="VOLTPOOL_DB",
            help="Database URL for the ledger and the application (sqlite:///FILE or "
            "postgresql://...).",
        ),
    ] = "sqlite:///voltpool.sqlite",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8000,
    admin: Annotated[
        str | None,
        typer.Option(help=f"Create this admin account (password from ${ENV_ADMIN_PASSWORD})."),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Run on a simulated neighbourhood (the built-in scenario's homes and cars, "
            "simulated chargers, real prices) on a fast clock; prints the demo logins.",
        ),
    ] = False,
    speed: Annotated[
        float,
        typer.Option(
            min=0.001,
            max=100_000.0,
            help="With --demo: how many times faster than real time the clock runs "
            "(60: an hour a minute).",
        ),
    ] = DEMO_SPEED,
    ocpp_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Also run the OCPP central system for charging stations on this port "
            "(ws://HOST:PORT/ocpp/STATION-ID).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Serve in this many processes on one port (PostgreSQL only): one of them "
            "runs the live planner, another takes over if it dies.",
        ),
    ] = 1,
    demo_password: Annotated[
        str | None,
        typer.Option(
            envvar=ENV_DEMO_PASSWORD,
            help="With --demo: the password of every demo account "
            "(default: voltpool-demo-password).",
        ),
    ] = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_client_ca: TlsClientCa = None,
) -> None:
    """Serve the HTTP API and the live planner.

    Accounts, communities, homes, cars and their rules, plug-in sessions, the live plans and
    credits between friends; OpenAPI at /docs. With --demo: a simulated neighbourhood with
    no hardware, its clock --speed times faster than real time."""
    from voltpool.api.accounts import ensure_admin
    from voltpool.api.settings import ServeSettings
    from voltpool.api.workers import check_workers, serve

    settings = ServeSettings(db=db)
    if demo:
        settings = _demo_settings(db, speed, demo_password, host, port)
    if ocpp_port is not None:
        from dataclasses import replace

        from voltpool.ocpp import CsmsOptions, csms_service

        tls = server_tls(tls_cert, tls_key, tls_client_ca)
        options = CsmsOptions(host, ocpp_port, tls=tls)
        settings = replace(settings, services=(csms_service(options),))
        scheme = "ws" if tls is None else "wss"
        typer.echo(f"OCPP central system: {scheme}://{host}:{ocpp_port}/ocpp/{{station id}}")
    if (reason := check_workers(settings, workers)) is not None:
        raise typer.BadParameter(reason, param_hint="--workers")
    if admin is not None:
        password = os.environ.get(ENV_ADMIN_PASSWORD)
        if not password:
            raise typer.BadParameter(
                f"set ${ENV_ADMIN_PASSWORD} to its password", param_hint="--admin"
            )
        ensure_admin(settings, admin, password)
    serve(settings, host, port, workers)


def _demo_settings(
    db: str, speed: float, password: str | None, host: str, port: int
) -> ServeSettings:
    """The demo's settings (its clock), after printing how to log in to it."""
    from voltpool.api.demo import (
        DEFAULT_PASSWORD,
        OPERATOR_EMAIL,
        DemoOptions,
        demo_settings,
        owner_email,
    )
    from voltpool.api.settings import ServeSettings
    from voltpool.scenario import load_scenario

    options = DemoOptions(password=password or DEFAULT_PASSWORD)
    if len(options.password) < ServeSettings.password_min_length:
        raise typer.BadParameter(
            f"must be at least {ServeSettings.password_min_length} characters",
            param_hint="--demo-password",
        )
    settings = demo_settings(db, speed, options)
    scenario = load_scenario(options.scenario)
    homes = scenario.home_ids
    local = settings.clock.now().astimezone(ZoneInfo(scenario.timezone))
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    typer.echo(
        f"voltpool demo: {scenario.name} ({len(homes)} homes, {scenario.vehicles.count} cars), "
        f"clock from {local:%Y-%m-%d %H:%M} {scenario.timezone} at {speed:g}x real time\n"
        f"  app:      http://{shown}:{port}/app/\n"
        f"  API:      http://{shown}:{port}/docs\n"
        f"  operator: {OPERATOR_EMAIL}\n"
        f"  owners:   {owner_email(homes[0])} .. {owner_email(homes[-1])}\n"
        f"  password: {options.password}"
    )
    return settings
