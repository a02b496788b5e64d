"""What the outages and the V2V agreements of a run did, in tables and plain words."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from voltpool.report._tables import fold, html_table, policy_label
from voltpool.report.figures import TEMPLATE, name_local_time, wall_clock
from voltpool.simulate.metrics import outage_table
from voltpool.simulate.result import PolicyRun, SimulationResult

if TYPE_CHECKING:
    import plotly.graph_objects as go


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


def outage_figure(result: SimulationResult, timezone: str) -> go.Figure | None:
    """Load of the cut-off homes per policy: served by their cars vs shed (None: no outage),
    over the local time of ``timezone``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    runs = [r for r in result.runs.values() if r.islanded is not None and r.islanded.any()]
    if not runs:
        return None
    cut = np.asarray(runs[0].islanded, dtype=bool)
    slots = np.flatnonzero(cut.any(axis=0))
    window = slice(max(slots[0] - 4, 0), min(slots[-1] + 5, cut.shape[1]))
    figure = make_subplots(
        rows=len(runs), cols=1, shared_xaxes=True, subplot_titles=[r.policy for r in runs]
    )
    for row, run in enumerate(runs, start=1):
        islanded = np.asarray(run.islanded, dtype=bool)[:, window]
        load = np.where(islanded, run.home_load_kw[:, window], 0.0).sum(axis=0)
        shed = np.where(islanded, run.home_shed_kw[:, window], 0.0).sum(axis=0)
        x = wall_clock(run.index[window], timezone)
        for name, values, color in (
            ("served by the cars (V2H)", load - shed, "#2a9d8f"),
            ("shed", shed, "#e76f51"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=values,
                    name=name,
                    stackgroup=f"s{row}",
                    line={"shape": "hv", "color": color},
                    showlegend=row == 1,
                    hovertemplate="%{y:.2f} kW",
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(title_text="kW", row=row, col=1)
    name_local_time(figure, timezone, len(runs))
    figure.update_layout(
        template=TEMPLATE, height=220 * len(runs) + 100, margin={"t": 40}, hovermode="x unified"
    )
    return figure


def events_html(result: SimulationResult, timezone: str, colors: Mapping[str, str]) -> str:
    """The outage tables (folded when long) and the V2V agreements (times in ``timezone``) of
    every policy, as HTML ('' if none), each policy's colour beside its name."""
    parts = []
    for run in result.runs.values():
        table = outage_table(run)
        if not table.empty:
            rows = fold(html_table(table), len(table), f"Cut-off homes, {run.policy}")
            parts.append(
                f"<h3>Outage: {policy_label(run.policy, colors)}</h3><p class='note'>"
                f"{html.escape(outage_summary(run))}</p>{rows}"
            )
    for run in result.runs.values():
        lines = v2v_lines(run, timezone)
        if lines and (run.v2v_matches or run.v2v_unmatched):
            items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
            parts.append(f"<h3>V2V: {policy_label(run.policy, colors)}</h3><ul>{items}</ul>")
    return "".join(parts)
