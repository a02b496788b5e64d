"""One self-contained HTML report of a simulation (plotly.js inlined, works offline).

Sections: neighbourhood load per policy against the no-EV base load and the import limit, with
the import price; state of charge of a few cars; value per car against the first policy; peak
and cost per policy; the metric table. Every number comes from the :class:`SimulationResult`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from voltpool import GENERATOR
from voltpool.battery.health import HealthReport
from voltpool.report._format import format_metric, metric_label
from voltpool.report._period import describe_period, slot_end
from voltpool.report.events import events_html, outage_figure
from voltpool.report.figures import PLOT_CONFIG, step_y
from voltpool.report.health import health_figure, health_html_table
from voltpool.simulate.metrics import compare, per_car_table
from voltpool.simulate.result import PolicyRun, SimulationResult
from voltpool.simulate.rules_effect import RulesEffect

SOC_CARS = 4
"""How many cars the state-of-charge section shows."""

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
table.metrics { border-collapse: collapse; }
table.metrics th, table.metrics td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }
table.metrics td { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics th[scope=row] { text-align: left; font-weight: normal; }
p.note { color: #555; }
"""


def _color(result: SimulationResult, policy: str) -> str:
    return _COLORS[list(result.runs).index(policy) % len(_COLORS)]


def _edges(run: PolicyRun, timezone: str) -> pd.DatetimeIndex:
    """Slot starts plus the end of the last slot: T+1 instants as the clocks of ``timezone``
    show them, written without offset (plotly.js has no time zones; the axes name the zone)."""
    index = pd.DatetimeIndex(run.index).append(pd.DatetimeIndex([slot_end(run)]))
    return index.tz_convert(timezone).tz_localize(None)


def _time_axis(timezone: str) -> str:
    return f"Local time ({timezone})"


def _load_figure(result: SimulationResult, timezone: str) -> go.Figure:
    first = next(iter(result.runs.values()))
    x = _edges(first, timezone)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    step = {"mode": "lines", "line_shape": "hv"}
    for policy, run in result.runs.items():
        fig.add_trace(
            go.Scatter(
                x=_edges(run, timezone),
                y=step_y(run.site_net_load_kw),
                name=f"{policy}: site net load",
                line={"color": _color(result, policy), "width": 1.5},
                **step,
            ),
            secondary_y=False,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=step_y(first.base_load_kw),
            name="Base load, no cars",
            line={"color": "#444", "dash": "dash", "width": 1.2},
            **step,
        ),
        secondary_y=False,
    )
    limit_line = {"color": "#000", "dash": "dot", "width": 1.5}
    price_line = {"color": "#bcbd22", "width": 1}
    lines = (
        ("Import limit", first.import_limit_kw, True, False, limit_line, 1.0),
        (
            "Export limit (as negative load)",
            -np.asarray(first.export_limit_kw),
            "legendonly",
            False,
            limit_line,
            1.0,
        ),
        (
            "Import price",
            first.import_price_per_kwh,
            True,
            True,
            {**price_line, "dash": "solid"},
            0.6,
        ),
        (
            "Export price",
            first.export_price_per_kwh,
            "legendonly",
            True,
            {**price_line, "dash": "dashdot"},
            0.6,
        ),
    )
    for name, values, visible, on_price_axis, line, opacity in lines:
        if not np.isfinite(values).any():
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=step_y(values),
                name=name,
                visible=visible,
                opacity=opacity,
                line=line,
                **step,
            ),
            secondary_y=on_price_axis,
        )
    fig.update_xaxes(title_text=_time_axis(timezone))
    fig.update_yaxes(title_text="Load (kW), import positive", secondary_y=False)
    fig.update_yaxes(title_text="Price (EUR/kWh)", secondary_y=True, showgrid=False)
    fig.update_layout(height=520, hovermode="x unified", legend={"orientation": "h", "y": -0.15})
    return fig


def soc_cars(result: SimulationResult, count: int = SOC_CARS) -> list[int]:
    """Indices of the cars to show: most V2G energy over all policies, then most energy charged,
    then vehicle order (deterministic)."""
    runs = list(result.runs.values())
    discharged = sum(np.maximum(-run.power_kw, 0.0).sum(axis=1) for run in runs)
    charged = sum(np.maximum(run.power_kw, 0.0).sum(axis=1) for run in runs)
    order = np.lexsort((np.arange(len(discharged)), -charged, -discharged))
    return [int(n) for n in order[:count]]


def _away_intervals(
    run: PolicyRun, n: int, timezone: str
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Unplugged stretches of car ``n`` as (start, end) instants."""
    away = ~np.asarray(run.plugged[n], dtype=bool)
    change = np.diff(np.concatenate(([False], away, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    edges = _edges(run, timezone)
    return [(edges[s], edges[e]) for s, e in zip(starts, ends, strict=True)]


def _soc_figure(result: SimulationResult, cars: list[int], timezone: str) -> go.Figure:
    first = next(iter(result.runs.values()))
    titles = [
        f"{first.vehicle_ids[n]} (home {first.home_ids[int(first.vehicle_home[n])]}, "
        f"{first.capacity_kwh[n]:.0f} kWh)"
        for n in cars
    ]
    fig = make_subplots(
        rows=max(1, len(cars)), cols=1, shared_xaxes=True, subplot_titles=titles or None
    )
    for row, n in enumerate(cars, start=1):
        for start, end in _away_intervals(first, n, timezone):
            fig.add_vrect(x0=start, x1=end, row=row, col=1, fillcolor="#888", opacity=0.12)
        for policy, run in result.runs.items():
            fig.add_trace(
                go.Scatter(
                    x=_edges(run, timezone),
                    y=100.0 * run.soc[n],
                    mode="lines",
                    name=policy,
                    legendgroup=policy,
                    showlegend=row == 1,
                    line={"color": _color(result, policy), "width": 1.5},
                ),
                row=row,
                col=1,
            )
        mine = np.asarray(first.departures.vehicle) == n
        fig.add_trace(
            go.Scatter(
                x=_edges(first, timezone)[np.asarray(first.departures.slot)[mine]],
                y=100.0 * np.asarray(first.departures.soc_target)[mine],
                mode="markers",
                name="Target at departure",
                legendgroup="target",
                showlegend=row == 1,
                marker={"symbol": "x", "color": "#000", "size": 8},
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="SoC (%)", range=[0, 105], row=row, col=1)
    fig.update_xaxes(title_text=_time_axis(timezone), row=max(1, len(cars)), col=1)
    fig.update_layout(height=120 + 220 * max(1, len(cars)), hovermode="x unified")
    return fig


def _value_figure(result: SimulationResult) -> go.Figure:
    baseline_policy, baseline = next(iter(result.runs.items()))
    others = [p for p in result.runs if p != baseline_policy]
    fig = make_subplots(
        rows=max(1, len(others)),
        cols=1,
        subplot_titles=[f"{p} vs {baseline_policy}" for p in others] or None,
    )
    for row, policy in enumerate(others, start=1):
        value = per_car_table(result.runs[policy], baseline)["value_vs_baseline_eur"]
        value = value.sort_values(ascending=False, kind="stable")
        fig.add_trace(
            go.Bar(
                x=list(value.index),
                y=value.to_numpy(),
                name=policy,
                marker_color=_color(result, policy),
                hovertemplate="%{x}: %{y:.2f} EUR<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="Saving (EUR)", row=row, col=1)
    if not others:
        fig.add_annotation(text="Only one policy: nothing to compare.", showarrow=False)
    fig.update_layout(height=120 + 280 * max(1, len(others)), showlegend=False)
    return fig


def _peak_cost_figure(result: SimulationResult, metrics: pd.DataFrame) -> go.Figure:
    panels = ("transformer_peak_kw", "energy_cost_eur", "v2g_revenue_eur")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[metric_label(k) for k in panels])
    policies = list(metrics.columns)
    for col, key in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                x=policies,
                y=metrics.loc[key].to_numpy(),
                marker_color=[_color(result, p) for p in policies],
                text=[format_metric(key, v) for v in metrics.loc[key]],
                textposition="outside",
                hovertemplate="%{x}: %{y}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    first = next(iter(result.runs.values()))
    limits = np.asarray(first.import_limit_kw, dtype=float)
    lines = [("base-load peak", float(first.base_load_kw.max()), "dash")]
    if np.isfinite(limits).any():
        lines.append(("import limit", float(limits[np.isfinite(limits)].max()), "dot"))
    for label, level, dash in lines:
        fig.add_hline(
            y=level,
            row=1,
            col=1,
            line={"dash": dash, "color": "#000", "width": 1},
            annotation_text=label,
            annotation_position="top left",
        )
    fig.update_layout(height=420, showlegend=False)
    return fig


def _metrics_table(metrics: pd.DataFrame) -> str:
    head = "".join(f'<th scope="col">{html.escape(str(p))}</th>' for p in metrics.columns)
    rows = []
    for key, row in metrics.iterrows():
        cells = "".join(f"<td>{format_metric(str(key), v)}</td>" for v in row.to_numpy())
        rows.append(f'<tr><th scope="row">{html.escape(metric_label(str(key)))}</th>{cells}</tr>')
    return (
        f'<table class="metrics"><thead><tr><th scope="col">Metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _header(result: SimulationResult) -> str:
    first = next(iter(result.runs.values()))
    policies = list(result.runs)
    esc = html.escape
    facts = {
        "Seed": str(result.seed),
        "Period": describe_period(result),
        "Homes": str(len(first.home_ids)),
        "Cars": str(len(first.vehicle_ids)),
        "Policies": ", ".join(policies),
    }
    listing = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items())
    how_to = (
        "Each policy was simulated on the same homes, cars, trips and prices. "
        "Site net load is what the transformer carries: positive for import, negative for export. "
        "Car power is positive when charging and negative when discharging (V2G). "
        f"Savings per car are measured against the first policy, {esc(policies[0])}: "
        "positive means the car's owner pays less. A car's cost is its home charging and public "
        "charging at the import price minus its V2G discharge at the export price. "
        "Rows starting with 'Check' are consistency residuals recomputed from the time series "
        "and should be close to zero."
    )
    return (
        f"<h1>{esc(result.scenario_name)}</h1><p>{esc(result.description)}</p>"
        f"<dl>{listing}</dl><h2>How to read this</h2><p>{how_to}</p>"
    )


def _rules_html(rules: RulesEffect) -> str:
    """The owners' rules section: per policy the site with and without them, per car what
    they kept of its battery."""
    note = (
        "The V2G policies once more on the same world with the owners' rules lifted: what the "
        "rules cost the neighbourhood (peak, money) and what they saved each battery (capacity "
        "kept at the end of the warranty, valued as in the battery-health section)."
    )
    site = rules.site.round(2).rename_axis("policy")
    cars = rules.cars.round(3).set_index(["policy", "vehicle_id"])
    return (
        f'<h2>The owners\' rules</h2><p class="note">{html.escape(note)}</p>{site.to_html()}'
        f"<details><summary>Per car</summary>{cars.to_html()}</details>"
    )


def write_html_report(
    result: SimulationResult,
    path: str | Path,
    health: HealthReport | None = None,
    credits: dict[str, tuple[pd.DataFrame, Any]] | None = None,
    timezone: str = "UTC",
    rules: RulesEffect | None = None,
) -> Path:
    """Write the report of ``result`` to ``path`` (one HTML file, no network needed to view it).

    plotly.js is inlined once, before the first chart; outages and V2V agreements (times in
    ``timezone``) follow the charts, then with ``health`` a battery-health section. Returns the
    path written.
    """
    if not result.runs:
        raise ValueError("result.runs: empty; there is nothing to report")
    metrics = compare(result)
    first = next(iter(result.runs.values()))
    cars = soc_cars(result)
    car_names = ", ".join(first.vehicle_ids[n] for n in cars)
    sections = [
        (
            "Neighbourhood load",
            "Site net load of every policy over the whole period, the load of the homes alone, "
            "the import limit in force, and the import price (right axis).",
            _load_figure(result, timezone),
        ),
        (
            "State of charge",
            f"Cars {car_names}: most V2G energy over all policies (ties: most charged). "
            "Grey bands: car away; crosses: target SoC at departure.",
            _soc_figure(result, cars, timezone),
        ),
        (
            "Value per car",
            "Owner's saving of each policy against the first one, per car, largest first.",
            _value_figure(result),
        ),
        (
            "Peak and cost",
            "Per policy; lines on the peak panel: base-load peak and import limit.",
            _peak_cost_figure(result, metrics),
        ),
    ]
    parts = [_header(result)]
    for number, (title, note, fig) in enumerate(sections):
        chart = fig.to_html(
            full_html=False,
            include_plotlyjs=number == 0,
            div_id=f"voltpool-figure-{number}",
            config=PLOT_CONFIG,
        )
        parts.append(f'<h2>{html.escape(title)}</h2><p class="note">{html.escape(note)}</p>{chart}')
    events = events_html(result, timezone)
    if events:
        figure = outage_figure(result)
        chart = (
            ""
            if figure is None
            else figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id="voltpool-figure-outage",
                config=PLOT_CONFIG,
            )
        )
        note = (
            "Homes cut off by an outage run on the cars plugged in there (V2H), critical circuits "
            "first, each car above its driving reserve; one-way charging cannot help. V2V: "
            "requests matched to offers once both cars are plugged in, moved through the "
            "scheduler, metered and settled in the ledger (credits receiver to giver)."
        )
        parts.append(
            f'<h2>Outages and V2V</h2><p class="note">{html.escape(note)}</p>{chart}{events}'
        )
    if health is not None:
        chart = health_figure(health).to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id="voltpool-figure-health",
            config=PLOT_CONFIG,
        )
        note = (
            "Cell ageing models (NREL BLAST-Lite) run on every car's simulated SoC; the period "
            f"repeated to {health.battery.warranty_years:g} years. Extra wear is each car's "
            f"fade minus its fade under {health.counterfactual}, valued at "
            f"{health.battery.pack_value_per_kwh:g} EUR per kWh of capacity. Cars start new; "
            f"one cell temperature ({health.battery.temperature_c:g} °C); no pack buffer or knee."
        )
        parts.append(
            f'<h2>Battery health</h2><p class="note">{html.escape(note)}</p>{chart}'
            f"{health_html_table(health)}"
        )
    for policy, (table, check) in (credits or {}).items():
        shown = (table / 1000).round(2).rename_axis("household")
        note = (
            f"Every V2G session and V2V agreement of {policy} settled two-phase in the credit "
            "ledger (pending at plug-in or acceptance, posted with the metered energy, voided if "
            "nothing flowed); households pay "
            "the community pool for the V2G energy they used, pro rata to their load, from a "
            f"starting grant. Credits (1 credit = 1,000 milli-credits). Ledger verify: "
            f"{'all promises hold' if check.ok else 'FAILED'}, {check.transfers} transfers."
        )
        parts.append(
            f'<h2>Credits: {html.escape(policy)}</h2><p class="note">'
            f"{html.escape(note)}</p>{shown.to_html()}"
        )
    if rules is not None:
        parts.append(_rules_html(rules))
    parts.append(f"<h2>All metrics</h2>{_metrics_table(metrics)}")
    parts.append(f'<p class="note">Made by {html.escape(GENERATOR)}.</p>')
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(result.scenario_name)}: voltpool simulation</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["SOC_CARS", "soc_cars", "write_html_report"]
