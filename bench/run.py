"""Run every benchmark and print one table each (``make bench``).

Usage: ``python bench/run.py [--quick]``; ``--quick`` runs only the small sizes. The tables are
also written as Markdown to ``bench/results.md`` for the README.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {cpu}, {memory_gib:.0f} GiB, Python {platform.python_version()}"
    )


def show(console: Console, title: str, header: list[str], body: list[list[str]]) -> str:
    table = Table(title=title)
    for column in header:
        table.add_column(column, justify="right")
    for row in body:
        table.add_row(*row)
    console.print(table)
    lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    lines += [f"| {' | '.join(row)} |" for row in body]
    return f"**{title}**\n\n" + "\n".join(lines) + "\n"


def main() -> None:
    import bench_adversarial
    import bench_api
    import bench_battery
    import bench_control
    import bench_decentral
    import bench_events
    import bench_ledger
    import bench_ocpp
    import bench_rules
    import bench_schedule
    import bench_simulate
    import bench_value
    import bench_warm
    import bench_web

    quick = "--quick" in sys.argv
    console = Console(width=180)
    stamp = f"{dt.date.today().isoformat()}, {machine()}"
    console.print(f"voltpool benchmarks, {stamp}")
    sections = [f"Measured {stamp}.\n"]
    with console.status("exact LP vs its anchor..."):
        header, body = bench_schedule.table_rows(
            bench_schedule.run(bench_schedule.SIZES_QUICK if quick else bench_schedule.SIZES)
        )
    sections.append(show(console, bench_schedule.TITLE, header, body))
    with console.status("exact vs decentralized..."):
        header, body = bench_decentral.table_rows(
            bench_decentral.run(bench_decentral.SIZES_QUICK if quick else bench_decentral.SIZES)
        )
    sections.append(
        show(
            console,
            "Exact LP vs decentralized scheduler (certified gap, 96 x 15 min)",
            header,
            body,
        )
    )
    with console.status("owners' rules in the exact LP..."):
        header, body = bench_rules.table_rows(bench_rules.run([100] if quick else [1000]))
    sections.append(
        show(
            console,
            "Owners' rules: the exact LP with every rule on every car vs without (same run)",
            header,
            body,
        )
    )
    with console.status("adversarial problems..."):
        header, body = bench_adversarial.table_rows(bench_adversarial.run())
    sections.append(
        show(
            console,
            "Exact scheduler on adversarial days (solar surplus, export limit, 5 seeds each)",
            header,
            body,
        )
    )
    with console.status("controller overhead..."):
        header, body = bench_control.table_rows(bench_control.run())
    sections.append(
        show(console, "The one controller: problem build and verification per plan", header, body)
    )
    with console.status("warm-started re-plans..."):
        header, body = bench_warm.table_rows(bench_warm.run(quick))
    sections.append(
        show(
            console,
            "A re-plan after one event: warm-started from the last basis vs cold (same run)",
            header,
            body,
        )
    )
    with console.status("V2H outage planner..."):
        outage = bench_events.run_outage(
            bench_events.OUTAGE_HOURS_QUICK if quick else bench_events.OUTAGE_HOURS
        )
    header, body = bench_events.outage_rows(outage)
    sections.append(
        show(console, "V2H outage planner (house, 2 cars, 15 min, tiered MILP)", header, body)
    )
    with console.status("V2V matching and scheduling..."):
        shared = bench_events.run_match(
            bench_events.MATCH_SIZES_QUICK if quick else bench_events.MATCH_SIZES
        )
    header, body = bench_events.match_rows(shared)
    sections.append(show(console, "V2V matching (transport LP, 4 stages)", header, body))
    header, body = bench_events.plan_rows(shared)
    sections.append(show(console, "V2V scheduling of the matches (LP, verified)", header, body))
    with console.status("the API under load (voltpool serve, SQLite and PostgreSQL)..."):
        served = bench_api.run(
            n_cars=bench_api.CARS_QUICK if quick else bench_api.CARS,
            rates=bench_api.RATES_QUICK if quick else bench_api.RATES,
            step_s=bench_api.STEP_S_QUICK if quick else bench_api.STEP_S,
            n_owners=bench_api.OWNERS_QUICK if quick else bench_api.OWNERS,
        )
    header, body = bench_api.table_rows(served)
    sections.append(show(console, "The API under load (loopback, open loop)", header, body))
    header, body = bench_api.endpoint_rows(served)
    sections.append(show(console, "The API under load, per endpoint", header, body))
    header, body = bench_api.event_rows(served)
    sections.append(show(console, "The API: event -> stored plan", header, body))
    for line in bench_api.stalls(served):
        console.print(line)
    with console.status("OCPP: a fleet-wide push to simulated stations..."):
        pushed = [bench_ocpp.run(n) for n in ([50] if quick else [50, 200])]
    header, body = bench_ocpp.table_rows(pushed)
    sections.append(
        show(console, "OCPP: a grid event -> a new profile at every 2.1 station", header, body)
    )
    with console.status("the web app's first screen (Chromium)..."):
        header, body = bench_web.table_rows(bench_web.run())
    sections.append(show(console, "The web app: first screen in the browser", header, body))
    if not quick:
        with console.status("simulator..."):
            header, body = bench_simulate.table_rows(bench_simulate.run())
        sections.append(show(console, "Simulator on real data", header, body))
        with console.status("voltpool value, a year..."):
            header, body = bench_value.table_rows(bench_value.run())
        sections.append(show(console, "Does V2G pay? voltpool value end to end", header, body))
        with console.status("battery ageing..."):
            header, body = bench_battery.table_rows(bench_battery.run())
        sections.append(show(console, "Battery ageing (health report engine)", header, body))
        with console.status("credit ledger..."):
            header, body = bench_ledger.table_rows(bench_ledger.run())
        sections.append(show(console, "Credit ledger (durable commits)", header, body))
    Path(__file__).with_name("results.md").write_text("\n".join(sections))


if __name__ == "__main__":
    main()
