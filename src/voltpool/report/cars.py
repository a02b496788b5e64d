"""The cars in the simulation report: the state of charge of the busiest cars, and a view of any
one car and its household, picked from a list.

Both charts draw the stretches a car is away (not plugged in) as grey bands over its rows,
named "Car away" in the legend, and each departure's target SoC as a cross. The view ships
every car's series once, as gzipped JSON in the page (:func:`pack_views`); a few lines of
script swap the picked car's into the chart (:data:`VIEW_SCRIPT`).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from voltpool.report._period import chart_time, slot_edges
from voltpool.report.figures import PLOT_CONFIG, TEMPLATE, name_local_time
from voltpool.simulate.result import PolicyRun, SimulationResult

SOC_CARS = 4
"""How many cars the state-of-charge section shows."""
AWAY_FILL = "rgba(80, 80, 80, 0.2)"
"""The band over the stretches a car is away."""
AWAY_NAME = "Car away"
VIEW_ID = "voltpool-figure-cars"
"""Element ids of the per-car view: its chart, its list, its caption, its data."""
SELECT_ID = "voltpool-car"
CAPTION_ID = "voltpool-car-caption"
VIEWS_ID = "voltpool-car-views"
VIEW_SCRIPT = f"""
(() => {{
  const packed = atob(document.getElementById("{VIEWS_ID}").textContent);
  const gzipped = new Blob([Uint8Array.from(packed, (c) => c.charCodeAt(0))]);
  const views = new Response(gzipped.stream().pipeThrough(new DecompressionStream("gzip"))).json();
  const chart = document.getElementById("{VIEW_ID}");
  document.getElementById("{SELECT_ID}").addEventListener("change", async (event) => {{
    const view = (await views)[event.target.value];
    const data = chart.data.map((trace) => ({{...trace, y: view.y[trace.uid]}}));
    data[data.length - 1].x = view.target_x;
    Plotly.react(chart, data, {{...chart.layout, shapes: view.shapes}});
    document.getElementById("{CAPTION_ID}").textContent = view.caption;
  }});
}})();
"""
"""Shows the car picked in the list from its entry in the views (JSON, gzipped and in base64:
1.8 MB of the demo's 40 cars take 87 kB; the browser's ``DecompressionStream`` unpacks them):
every trace's ``y`` by its ``uid``, the targets' times (the last trace), the away bands and the
caption."""


def soc_cars(result: SimulationResult, count: int = SOC_CARS) -> list[int]:
    """Indices of the cars to show: most V2G energy over all policies, then most energy charged,
    then vehicle order (deterministic)."""
    runs = list(result.runs.values())
    discharged = sum(np.maximum(-run.power_kw, 0.0).sum(axis=1) for run in runs)
    charged = sum(np.maximum(run.power_kw, 0.0).sum(axis=1) for run in runs)
    order = np.lexsort((np.arange(len(discharged)), -charged, -discharged))
    return [int(n) for n in order[:count]]


def away_slots(run: PolicyRun, n: int) -> list[tuple[int, int]]:
    """The stretches car ``n`` is not plugged in, as slot ranges ``[start, end)``."""
    away = ~np.asarray(run.plugged[n], dtype=bool)
    change = np.diff(np.concatenate(([False], away, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def away_shapes(
    run: PolicyRun, n: int, x: pd.DatetimeIndex, rows: Sequence[int], legend: bool = True
) -> list[dict[str, Any]]:
    """Layout shapes: a band from the start to the end of each stretch car ``n`` is away, on
    each of ``rows`` (subplots stacked in one column over the slot edges ``x``); with
    ``legend`` the first band stands for all in the legend."""
    shapes: list[dict[str, Any]] = []
    for start, end in away_slots(run, n):
        for row in rows:
            axis = "" if row == 1 else str(row)
            shapes.append(
                {
                    "type": "rect",
                    "xref": f"x{axis}",
                    "yref": f"y{axis} domain",
                    "x0": str(x[start]),
                    "x1": str(x[end]),
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": AWAY_FILL,
                    "line": {"width": 0},
                    "layer": "below",
                    "name": AWAY_NAME,
                    "legendgroup": "away",
                    "showlegend": legend and not shapes,
                }
            )
    return shapes


def _home_name(run: PolicyRun, n: int) -> str:
    home = int(np.asarray(run.vehicle_home)[n])
    return run.home_ids[home] if home >= 0 else "no home"


def _targets(run: PolicyRun, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Slots and target SoC [0..1] of car ``n``'s departures."""
    mine = np.asarray(run.departures.vehicle) == n
    return np.asarray(run.departures.slot)[mine], np.asarray(run.departures.soc_target)[mine]


def soc_figure(
    result: SimulationResult, cars: list[int], timezone: str, colors: Mapping[str, str]
) -> go.Figure:
    """State of charge of ``cars`` under every policy, one row per car, with its away bands
    and departure targets."""
    first = next(iter(result.runs.values()))
    x = slot_edges(first, timezone)
    axis = chart_time(first, timezone)
    rows = max(1, len(cars))
    titles = [
        f"{first.vehicle_ids[n]} ({_home_name(first, n)}, {first.capacity_kwh[n]:.0f} kWh)"
        for n in cars
    ]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, subplot_titles=titles or None)
    for row, n in enumerate(cars, start=1):
        for policy, run in result.runs.items():
            fig.add_trace(
                go.Scatter(
                    x=axis.edges,
                    y=100.0 * axis.states(run.soc[n]),
                    mode="lines",
                    name=policy,
                    legendgroup=policy,
                    showlegend=row == 1,
                    line={"color": colors[policy], "width": 1.5},
                    hovertemplate="%{y:.1f} %",
                ),
                row=row,
                col=1,
            )
        slots, target = _targets(first, n)
        fig.add_trace(
            go.Scatter(
                x=x[slots],
                y=100.0 * target,
                mode="markers",
                name="Target at departure",
                legendgroup="target",
                showlegend=row == 1,
                marker={"symbol": "x", "color": "#000", "size": 8},
                hovertemplate="target %{y:.0f} %",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="SoC (%)", range=[0, 105], row=row, col=1)
    fig.layout.shapes = [
        shape
        for row, n in enumerate(cars, start=1)
        for shape in away_shapes(first, n, x, [row], legend=row == 1)
    ]
    name_local_time(fig, timezone, rows)
    fig.update_layout(
        template=TEMPLATE, height=80 + 220 * rows, margin={"t": 50}, hovermode="x unified"
    )
    return fig


def _json_values(values: np.ndarray, decimals: int) -> list[float | None]:
    """``values`` rounded for the page's JSON; NaN becomes null (no line)."""
    rounded = np.round(np.asarray(values, dtype=float), decimals).astype(object)
    rounded[~np.isfinite(np.asarray(values, dtype=float))] = None
    return rounded.tolist()


def _household_kw(run: PolicyRun, home: int) -> np.ndarray:
    """``[T]`` what household ``home`` imports from the grid: its load and its cars' power less
    what an outage shed (NaN for ``home`` -1, no home). [kW]"""
    if home < 0:
        return np.full(len(run.index), np.nan)
    at_home = np.asarray(run.vehicle_home) == home
    return run.home_load_kw[home] + run.power_kw[at_home].sum(axis=0) - run.home_shed_kw[home]


def car_view(result: SimulationResult, n: int, timezone: str) -> dict[str, Any]:
    """What the view shows of car ``n``: ``y`` of every trace by its uid (``home:<policy>``:
    its household's import from the grid, ``home:base``: the household's load alone,
    ``power:<policy>``, ``soc:<policy>`` in %, ``target``), the departures' times
    ``target_x``, the away ``shapes`` and the ``caption``."""
    first = next(iter(result.runs.values()))
    x = slot_edges(first, timezone)
    axis = chart_time(first, timezone)
    homes = np.asarray(first.vehicle_home)
    home = int(homes[n])
    y: dict[str, list[float | None]] = {}
    for policy, run in result.runs.items():
        y[f"home:{policy}"] = _json_values(axis.means(_household_kw(run, home)), 2)
    base = first.home_load_kw[home] if home >= 0 else np.full(len(first.index), np.nan)
    y["home:base"] = _json_values(axis.means(base), 2)
    for policy, run in result.runs.items():
        y[f"power:{policy}"] = _json_values(axis.means(run.power_kw[n]), 2)
    for policy, run in result.runs.items():
        y[f"soc:{policy}"] = _json_values(100.0 * axis.states(run.soc[n]), 1)
    slots, target = _targets(first, n)
    y["target"] = _json_values(100.0 * target, 1)
    others = [first.vehicle_ids[m] for m in np.flatnonzero(homes == home) if m != n]
    shared = f"; also at this home: {', '.join(others)}" if home >= 0 and others else ""
    return {
        "y": y,
        "target_x": [str(t) for t in x[slots]],
        "shapes": away_shapes(first, n, x, [2, 3]),
        "caption": (
            f"{first.vehicle_ids[n]} at {_home_name(first, n)} "
            f"({first.capacity_kwh[n]:.0f} kWh{shared})"
        ),
    }


def car_figure(
    result: SimulationResult, view: dict[str, Any], timezone: str, colors: Mapping[str, str]
) -> go.Figure:
    """The view's chart of one car (``view`` from :func:`car_view`): its household's import,
    its power and its state of charge under every policy."""
    x = chart_time(next(iter(result.runs.values())), timezone).edges
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=(
            "Its household: import from the grid (kW), the household's load alone dashed",
            "The car: AC power (kW), positive charging, negative discharging",
            "The car: state of charge (%), crosses the target at departure",
        ),
    )
    step = {"mode": "lines", "line_shape": "hv"}
    rows = (("home", 1, "%{y:.2f} kW", step), ("power", 2, "%{y:.2f} kW", step))
    rows += (("soc", 3, "%{y:.1f} %", {"mode": "lines"}),)
    for prefix, row, hover, mode in rows:
        for policy in result.runs:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=view["y"][f"{prefix}:{policy}"],
                    uid=f"{prefix}:{policy}",
                    name=policy,
                    legendgroup=policy,
                    showlegend=row == 1,
                    line={"color": colors[policy], "width": 1.5},
                    hovertemplate=hover,
                    **mode,
                ),
                row=row,
                col=1,
            )
        if prefix == "home":
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=view["y"]["home:base"],
                    uid="home:base",
                    name="Household load, no cars",
                    line={"color": "#000", "dash": "dash", "width": 1.2},
                    hovertemplate=hover,
                    **step,
                ),
                row=1,
                col=1,
            )
    fig.add_trace(
        go.Scatter(
            x=view["target_x"],
            y=view["y"]["target"],
            uid="target",
            mode="markers",
            name="Target at departure",
            marker={"symbol": "x", "color": "#000", "size": 8},
            hovertemplate="target %{y:.0f} %",
        ),
        row=3,
        col=1,
    )
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_yaxes(title_text="kW", row=2, col=1)
    fig.update_yaxes(title_text="SoC (%)", range=[0, 105], row=3, col=1)
    fig.layout.shapes = view["shapes"]
    name_local_time(fig, timezone, 3)
    fig.update_layout(
        template=TEMPLATE,
        height=780,
        margin={"t": 50},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


def _options(first: PolicyRun, order: list[int]) -> str:
    """The list's options, one group per household."""
    groups: dict[str, list[str]] = {}
    for n in order:
        car = html.escape(first.vehicle_ids[n])
        groups.setdefault(_home_name(first, n), []).append(f'<option value="{car}">{car}</option>')
    return "".join(
        f'<optgroup label="{html.escape(home)}">{"".join(options)}</optgroup>'
        for home, options in groups.items()
    )


def pack_views(views: Mapping[str, dict[str, Any]]) -> str:
    """The views as the page holds them: compact JSON, gzipped (the same bytes for the same
    views), in base64."""
    text = json.dumps(views, separators=(",", ":"), allow_nan=False)
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def car_view_html(result: SimulationResult, timezone: str, colors: Mapping[str, str]) -> str:
    """The list of cars by household, the caption and chart of the first, every car's view as
    JSON and the script that shows the one picked."""
    first = next(iter(result.runs.values()))
    order = sorted(
        range(len(first.vehicle_ids)),
        key=lambda n: (int(first.vehicle_home[n]) < 0, _home_name(first, n), first.vehicle_ids[n]),
    )
    views = {first.vehicle_ids[n]: car_view(result, n, timezone) for n in order}
    shown = views[first.vehicle_ids[order[0]]]
    chart = car_figure(result, shown, timezone, colors).to_html(
        full_html=False, include_plotlyjs=False, div_id=VIEW_ID, config=PLOT_CONFIG
    )
    return (
        f'<p><label for="{SELECT_ID}">Car, by household:</label> '
        f'<select id="{SELECT_ID}">{_options(first, order)}</select></p>'
        f'<p id="{CAPTION_ID}" aria-live="polite">{html.escape(shown["caption"])}</p>{chart}'
        f'<script type="text/plain" id="{VIEWS_ID}">{pack_views(views)}</script>'
        f"<script>{VIEW_SCRIPT}</script>"
    )


__all__ = [
    "SOC_CARS",
    "away_shapes",
    "away_slots",
    "car_figure",
    "car_view",
    "car_view_html",
    "pack_views",
    "soc_cars",
    "soc_figure",
]
