"""What the outages and the V2V agreements of a run did, in tables and plain words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voltpool.simulate.result import PolicyRun

OUTAGE_COLUMNS = (
    "cars_backing_up",
    "cut_off_h",
    "powered_h",
    "critical_powered_h",
    "unserved_kwh",
    "v2h_kwh",
)


def outage_table(run: PolicyRun) -> pd.DataFrame:
    """One row per home cut off by an outage (index ``home_id``), columns :data:`OUTAGE_COLUMNS`.

    ``cars_backing_up`` names the bidirectional cars that gave energy to the home; hours are
    slots times ``dt_h``; ``powered_h`` counts slots with nothing shed, ``critical_powered_h``
    slots with every critical circuit on.
    """
    if run.islanded is None or not np.asarray(run.islanded).any():
        return pd.DataFrame(columns=list(OUTAGE_COLUMNS), index=pd.Index([], name="home_id"))
    islanded = np.asarray(run.islanded, dtype=bool)
    shed = run.home_shed_kw
    critical = np.asarray(run.shed_critical_kw if run.shed_critical_kw is not None else shed)
    v2h_kw = np.where(run.car_islanded, np.maximum(-run.power_kw, 0.0), 0.0)
    rows = {}
    for home in np.flatnonzero(islanded.any(axis=1)):
        cars = np.flatnonzero((np.asarray(run.vehicle_home) == home) & (v2h_kw.sum(axis=1) > 0))
        cut = islanded[home]
        rows[run.home_ids[home]] = {
            "cars_backing_up": ", ".join(run.vehicle_ids[c] for c in cars),
            "cut_off_h": run.dt_h * float(cut.sum()),
            "powered_h": run.dt_h * float((cut & (shed[home] <= 1e-6)).sum()),
            "critical_powered_h": run.dt_h * float((cut & (critical[home] <= 1e-6)).sum()),
            "unserved_kwh": run.dt_h * float(shed[home].sum()),
            "v2h_kwh": run.dt_h * float(v2h_kw[cars].sum()),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(OUTAGE_COLUMNS))
    frame.index.name = "home_id"
    return frame


def outage_summary(run: PolicyRun) -> str:
    """One sentence: how many homes were cut off, how long they ran on their cars."""
    table = outage_table(run)
    if table.empty:
        return ""
    backed = int((table["v2h_kwh"] > 0).sum())
    return (
        f"{run.policy}: {len(table)} homes cut off for {table['cut_off_h'].sum():.1f} home-hours; "
        f"{backed} ran on their cars ({table['v2h_kwh'].sum():.1f} kWh V2H), fully powered "
        f"{table['powered_h'].sum():.1f} h and critical loads on "
        f"{table['critical_powered_h'].sum():.1f} h; "
        f"{table['unserved_kwh'].sum():.1f} kWh unserved"
    )


def _home(run: PolicyRun, car: str) -> str:
    home = int(np.asarray(run.vehicle_home)[run.vehicle_ids.index(car)])
    return run.home_ids[home] if home >= 0 else car


def v2v_lines(run: PolicyRun, timezone: str = "UTC") -> list[str]:
    """Each agreement in plain words, then every request that got less than it asked for."""
    lines = []
    log = run.v2v if run.v2v is not None else pd.DataFrame()
    for row in log.itertuples(index=False):
        how = "through the grid" if row.mode == "grid" else "car to car"
        start = run.index[min(int(row.accepted_slot), len(run.index) - 1)]
        when = start.tz_convert(timezone).strftime("%a %H:%M")
        if row.status == "failed":
            lines.append(
                f"{row.request_id} <- {row.offer_id} (accepted {when}): nothing moved; "
                "the hold is voided, no credits change hands"
            )
            continue
        lines.append(
            f"{row.request_id} <- {row.offer_id} (accepted {when}, {how}): "
            f"{row.giver} ({_home(run, row.giver)}) gave {row.delivered_ac_kwh:.2f} kWh, "
            f"{row.giver_battery_kwh:.2f} kWh left its battery, +{row.credits:,.2f} credits; "
            f"{row.receiver} ({_home(run, row.receiver)}) received "
            f"{row.receiver_battery_kwh:.2f} kWh into its battery, -{row.credits:,.2f} credits"
        )
    for request, why in run.v2v_unmatched.items():
        lines.append(f"{request}: {why}")
    return lines
