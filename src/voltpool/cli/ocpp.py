"""``voltpool ocpp`` (the OCPP central system on its own, with the live planner) and
``voltpool station-sim`` (a simulated charging station with an EV plugged in).

    voltpool ocpp --db sqlite:///voltpool.sqlite --port 9000
    voltpool station-sim ws://localhost:9000/ocpp cs-001 --protocol ocpp2.1

``voltpool serve --ocpp-port 9000`` runs the same central system inside the API's process.
The station's password comes from ``$VOLTPOOL_STATION_PASSWORD`` (or ``--password``).
TLS: ``--tls-cert``/``--tls-key`` (``wss://``, security profile 2) and ``--tls-client-ca``
(profile 3: stations' client certificates); the simulator's ``--ca``, ``--cert``/``--key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voltpool.cli.common import EXIT_FAILED, errors

if TYPE_CHECKING:
    from voltpool.ocpp.tls import ServerTls

ENV_STATION_PASSWORD = "VOLTPOOL_STATION_PASSWORD"
PROTOCOLS = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")
PemFile = Path | None
TlsCert = Annotated[
    PemFile,
    typer.Option(
        "--tls-cert",
        exists=True,
        dir_okay=False,
        help="The central system's TLS certificate (PEM): wss:// (security profile 2).",
    ),
]
TlsKey = Annotated[
    PemFile,
    typer.Option("--tls-key", exists=True, dir_okay=False, help="Its private key (PEM)."),
]
TlsClientCa = Annotated[
    PemFile,
    typer.Option(
        "--tls-client-ca",
        exists=True,
        dir_okay=False,
        help="CA of the stations' client certificates (PEM): security profile 3, the "
        "certificate's CN or DNS name is the station id.",
    ),
]


def server_tls(cert: PemFile, key: PemFile, client_ca: PemFile) -> ServerTls | None:
    """The central system's TLS from the options (None: plain ws://)."""
    from voltpool.ocpp.tls import ServerTls

    if cert is None and key is None and client_ca is None:
        return None
    if cert is None or key is None:
        raise typer.BadParameter("give --tls-cert and --tls-key together", param_hint="--tls-cert")
    return ServerTls(str(cert), str(key), None if client_ca is None else str(client_ca))


def ocpp_command(
    db: Annotated[
        str,
        typer.Option("--db", envvar="VOLTPOOL_DB", help="Database URL (the one serve uses)."),
    ] = "sqlite:///voltpool.sqlite",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="WebSocket port.")] = 9000,
    heartbeat_s: Annotated[
        int, typer.Option(min=10, help="Heartbeat interval given to booting stations (s).")
    ] = 300,
    max_offline_s: Annotated[
        int,
        typer.Option(
            min=10, help="maxOfflineDuration of every 2.1 profile: a station alone longer stops."
        ),
    ] = 300,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_client_ca: TlsClientCa = None,
) -> None:
    """Run the OCPP central system for charging stations.

    With the live planner, without the HTTP API. Stations connect to
    ws://HOST:PORT/ocpp/STATION-ID with HTTP basic auth (username = the station id),
    offering ocpp2.1, ocpp2.0.1 or ocpp1.6; register them first with
    POST /v1/communities/{id}/stations."""
    from voltpool.api.settings import ServeSettings
    from voltpool.ocpp.csms import CsmsOptions
    from voltpool.ocpp.service import run_alone

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # the library logs every frame
    options = CsmsOptions(
        host=host,
        port=port,
        heartbeat_s=heartbeat_s,
        max_offline_s=max_offline_s,
        tls=server_tls(tls_cert, tls_key, tls_client_ca),
    )
    scheme = "ws" if options.tls is None else "wss"
    typer.echo(f"voltpool OCPP central system on {scheme}://{host}:{port}/ocpp/{{station id}}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_alone(ServeSettings(db=db), options))


def station_sim_command(
    url: Annotated[
        str, typer.Argument(help="The central system's URL, e.g. ws://localhost:9000/ocpp.")
    ],
    station_id: Annotated[str, typer.Argument(help="The station's id (its username).")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar=ENV_STATION_PASSWORD, help=f"Its password (or ${ENV_STATION_PASSWORD})."
        ),
    ] = None,
    protocol: Annotated[
        str, typer.Option(help="The subprotocol: ocpp2.1, ocpp2.0.1 or ocpp1.6.")
    ] = "ocpp2.1",
    capacity_kwh: Annotated[float, typer.Option(min=1, help="Battery capacity (kWh).")] = 60.0,
    soc: Annotated[float, typer.Option(min=0, max=100, help="SoC at plug-in (%).")] = 50.0,
    target: Annotated[float, typer.Option(min=0, max=100, help="Target SoC (%).")] = 80.0,
    max_charge_kw: Annotated[float, typer.Option(min=0.1, help="Charging limit (kW).")] = 11.0,
    max_discharge_kw: Annotated[float, typer.Option(min=0, help="Discharging limit (kW).")] = 11.0,
    stay_h: Annotated[float, typer.Option(min=0.1, help="Hours until it leaves.")] = 10.0,
    one_way: Annotated[
        bool, typer.Option("--one-way", help="The EV cannot discharge (no AC_BPT).")
    ] = False,
    meter_interval_s: Annotated[
        float, typer.Option(min=0.05, help="Seconds between meter values.")
    ] = 5.0,
    speed: Annotated[
        float, typer.Option(min=0.001, help="Battery seconds per real second (a fast battery).")
    ] = 1.0,
    ca: Annotated[
        PemFile,
        typer.Option(
            exists=True, dir_okay=False, help="CA of the central system's certificate (wss://)."
        ),
    ] = None,
    cert: Annotated[
        PemFile,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The station's client certificate (PEM): security profile 3, no password.",
        ),
    ] = None,
    key: Annotated[
        PemFile, typer.Option(exists=True, dir_okay=False, help="Its private key (PEM).")
    ] = None,
) -> None:
    """Simulate a charging station with an EV plugged in.

    It boots, announces the EV's needs, follows the charging profiles it gets and reports its
    meter, until interrupted."""
    from websockets.exceptions import InvalidStatus

    from voltpool.ocpp.simulator import EvSpec, SimOptions, StationSim
    from voltpool.ocpp.tls import client_context

    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"one of {', '.join(PROTOCOLS)}", param_hint="--protocol")
    if not password and cert is None:
        raise typer.BadParameter(
            f"set ${ENV_STATION_PASSWORD}, --password or --cert", param_hint="--password"
        )
    if (cert is None) != (key is None):
        raise typer.BadParameter("give --cert and --key together", param_hint="--cert")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # the library logs every frame
    secure = url.startswith("wss://")
    options = SimOptions(
        url,
        station_id,
        password or "",
        protocol,
        meter_interval_s,
        speed,
        ssl=client_context(
            None if ca is None else str(ca),
            None if cert is None else str(cert),
            None if key is None else str(key),
        )
        if secure
        else None,
    )
    ev = EvSpec(
        capacity_kwh=capacity_kwh,
        soc=soc / 100,
        soc_target=target / 100,
        max_charge_kw=max_charge_kw,
        max_discharge_kw=0.0 if one_way else max_discharge_kw,
        stay_h=stay_h,
        bidirectional=not one_way,
    )
    sim = StationSim(options, ev)

    async def run() -> None:
        task = asyncio.create_task(sim.run())
        while not task.done():
            await asyncio.sleep(max(meter_interval_s, 1.0))
            b = sim.battery
            typer.echo(
                f"{station_id}: {b.power_w / 1000:+.2f} kW, SoC {b.soc:.1%}, "
                f"in {b.import_wh / 1000:.3f} kWh, out {b.export_wh / 1000:.3f} kWh, "
                f"{'online' if sim.online.is_set() else 'offline'}"
            )

        task.result()  # a refused login ends the simulator (an unreachable one it retries)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except InvalidStatus as refused:
        status = refused.response.status_code
        hint = (
            "check the station id and its password (the operator registers stations: "
            "POST /v1/communities/{id}/stations)"
            if status == 401
            else "check the URL and the subprotocol"
        )
        errors.print(f"error: the central system refused {station_id} (HTTP {status}): {hint}")
        raise typer.Exit(EXIT_FAILED) from None
