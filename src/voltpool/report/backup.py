"""The backup plan as one self-contained HTML page (plotly.js inlined, works offline).

Outage: the load each circuit is served, stacked from the most important circuit up, with the
shed load on top, and each car's state of charge against its reserve. Overload (optional): the
house's load and its import with the cars against the limit, and the cars' power. Step lines
and plot options are those of the simulation report (:mod:`voltpool.report.figures`).
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from voltpool import GENERATOR
from voltpool.backup.home import OutageCase, OverloadCase
from voltpool.gate import new_file_mode
from voltpool.model import SlotGrid
from voltpool.report.figures import PLOT_CONFIG, name_local_time, step_y, wall_clock

_CIRCUIT_COLORS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#17becf",
    "#e377c2",
    "#bcbd22",
)
_CAR_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
_SHED_COLOR = "rgba(214, 39, 40, 0.35)"
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
p.note { color: #555; }
table.circuits { border-collapse: collapse; margin: 1em 0; }
table.circuits th, table.circuits td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }
table.circuits td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def local_edges(grid: SlotGrid, n_slots: int, timezone: str) -> pd.DatetimeIndex:
    """The starts of ``n_slots`` slots plus the end of the last, as local wall-clock times
    without offset (plotly.js has no time zones; the axis says which zone)."""
    return wall_clock(grid.index(n_slots + 1), timezone)


def _two_rows(
    case: OutageCase | OverloadCase, titles: tuple[str, str], **options: Any
) -> tuple[go.Figure, pd.DatetimeIndex]:
    """The frame both charts share: two rows over the window's local time (named on the lower
    x axis). Returns the figure and the T+1 slot edges."""
    tz = case.home.timezone
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=titles, **options)
    name_local_time(fig, tz, rows=2)
    return fig, local_edges(case.grid, case.index.size, tz)


def outage_figure(case: OutageCase) -> go.Figure:
    """Served circuits (stacked) and shed load; car SoC with reserve lines."""
    plan = case.plan
    fig, x = _two_rows(
        case,
        (
            "House load during the outage: served by the cars (stacked) and shed",
            "Cars' state of charge and driving reserve",
        ),
        row_heights=[0.62, 0.38],
        vertical_spacing=0.08,
    )
    for rank, c in enumerate(plan.circuits_by_tier):
        tag = " (critical)" if plan.critical[c] else ""
        color = _CIRCUIT_COLORS[rank % len(_CIRCUIT_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=step_y(plan.served_circuit_kw[c]),
                name=f"{plan.circuit_names[c]}{tag}",
                stackgroup="load",
                line={"shape": "hv", "width": 0.5, "color": color},
                hovertemplate="%{y:.2f} kW",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=step_y(plan.shed_kw),
            name="shed (not served)",
            stackgroup="load",
            line={"shape": "hv", "width": 0.5, "color": "#d62728"},
            fillcolor=_SHED_COLOR,
            hovertemplate="%{y:.2f} kW shed",
        ),
        row=1,
        col=1,
    )
    capacity = case.cars.capacity_kwh
    for n, name in enumerate(case.cars.names):
        color = _CAR_COLORS[n % len(_CAR_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=100 * plan.energy_kwh[n] / capacity[n],
                name=f"{name} SoC",
                mode="lines",
                line={"color": color},
                hovertemplate="%{y:.1f} %",
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[100 * plan.reserve_kwh[n] / capacity[n]] * 2,
                name=f"{name} reserve",
                mode="lines",
                line={"color": color, "dash": "dash", "width": 1},
                hovertemplate="reserve %{y:.1f} %",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="kW", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="SoC %", row=2, col=1, range=[0, 100])
    fig.update_layout(height=720, hovermode="x unified", legend={"traceorder": "normal"})
    return fig


def overload_figure(case: OverloadCase) -> go.Figure:
    """House load and import with the cars against the limit; car power (charging positive)."""
    plan = case.plan
    fig, x = _two_rows(
        case,
        (
            "House import under the limit: without and with the cars",
            "Cars' AC power (positive charging, negative V2H)",
        ),
        vertical_spacing=0.1,
    )
    step = {"mode": "lines", "line_shape": "hv"}
    for name, values, style in (
        ("house load (no cars)", plan.house_load_kw, {"color": "#7f7f7f"}),
        ("import with the cars", plan.import_kw, {"color": "#1f77b4", "width": 2.5}),
        ("limit", plan.limit_kw, {"color": "#d62728", "dash": "dash"}),
    ):
        fig.add_trace(
            go.Scatter(x=x, y=step_y(values), name=name, line=style, **step), row=1, col=1
        )
    for n, name in enumerate(plan.problem.fleet.ids):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=step_y(plan.power_kw[n]),
                name=f"{name} power",
                line={"color": _CAR_COLORS[n % len(_CAR_COLORS)]},
                **step,
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_yaxes(title_text="kW", row=2, col=1)
    fig.update_layout(height=620, hovermode="x unified")
    return fig


def circuits_html(case: OutageCase) -> str:
    """Each circuit, kept longest first: class, priority, when it is first shed, hours shed."""
    plan = case.plan
    starts = case.index.tz_convert(case.home.timezone)
    rows = []
    for c in plan.circuits_by_tier:
        first = int(plan.first_shed_slot[c])
        rows.append(
            f"<tr><th scope=row>{html.escape(plan.circuit_names[c])}</th>"
            f"<td>{'critical' if plan.critical[c] else ''}</td>"
            f'<td class="num">{plan.priority[c]}</td>'
            f'<td class="num">{"never" if first < 0 else f"{starts[first]:%d %b %H:%M}"}</td>'
            f'<td class="num">{plan.shed_hours[c]:.2f}</td>'
            f'<td class="num">{plan.shed_kwh_by_circuit[c]:.2f}</td></tr>'
        )
    return (
        '<table class="circuits"><thead><tr><th>circuit</th><th>class</th><th>priority</th>'
        "<th>shed from</th><th>hours shed</th><th>kWh shed</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def backup_html(
    outage: OutageCase, summary: dict[str, str], overload: OverloadCase | None = None
) -> str:
    """The whole page as a string; ``summary`` is shown as a definition list above the charts."""
    home = outage.home
    charts = [outage_figure(outage)]
    if overload is not None:
        charts.append(overload_figure(overload))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>voltpool backup plan: {html.escape(home.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Backup plan: {html.escape(home.name)}</h1>",
        f'<p class="note">{html.escape(home.description)}</p>',
        "<dl>",
        *(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in summary.items()),
        "</dl>",
        circuits_html(outage),
    ]
    for number, fig in enumerate(charts):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=number == 0, config=PLOT_CONFIG))
    parts.append(
        f'<p class="note">Made by {html.escape(GENERATOR)} (backup): relays per circuit '
        "planned with a "
        "mixed-integer program (critical circuits first, then by priority; earlier hours first)."
        "</p></body></html>"
    )
    return "\n".join(parts)


def write_backup_html(
    path: Path,
    outage: OutageCase,
    summary: dict[str, str],
    overload: OverloadCase | None = None,
) -> Path:
    """Write the page atomically (a temporary file beside ``path``, then a rename)."""
    text = backup_html(outage, summary, overload)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, new_file_mode())  # mkstemp makes it 0600: give it the umask's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
