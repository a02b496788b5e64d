"""One self-contained HTML report of a simulation (plotly.js inlined, works offline).

Sections: the headline numbers per policy; what the run was; neighbourhood load per policy
against the no-EV base load and the import limit, with the import price; state of charge of
the busiest cars; any one car and its household, picked from a list; value per car against the
first policy; peak and cost per policy; outages and V2V, battery health, credits and the
owners' rules when the run has them; the metric table. Every number comes from the
:class:`SimulationResult` (and the health, credit and rules results passed in). Each policy has
one colour everywhere (:func:`~voltpool.report.figures.policy_colors`), every time axis is the
neighbourhood's local time named with its zone, and long tables are folded.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from voltpool import GENERATOR
from voltpool.battery.health import HealthReport
from voltpool.report._format import format_metric, metric_label
from voltpool.report._period import chart_time, describe_period
from voltpool.report._tables import fold, html_table, policy_label
from voltpool.report.cars import car_view_html, soc_cars, soc_figure
from voltpool.report.events import events_html, outage_figure
from voltpool.report.figures import (
    PLOT_CONFIG,
    TEMPLATE,
    name_local_time,
    policy_colors,
)
from voltpool.report.headline import headline_html
from voltpool.report.health import health_figure, health_html_table
from voltpool.simulate.metrics import compare, per_car_table
from voltpool.simulate.result import SimulationResult
from voltpool.simulate.rules_effect import RulesEffect

PRICE_COLOR = "#808000"
"""The price lines (olive: no policy's colour, 4.2:1 on white)."""
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em;
  color: #222; background: #fff; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; padding: 0; list-style: none; }
a { color: #0b57a4; }
a:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #0b57a4;
  outline-offset: 2px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.facts dt { font-weight: bold; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(17em, 1fr));
  gap: 0.8em; }
.tile { border: 1px solid #bbb; border-radius: 6px; padding: 0.2em 0.9em 0.6em; }
.tile h3 { font-size: 1em; margin: 0.6em 0 0.4em; }
.tile dl { margin: 0; }
.tile dl div { display: flex; justify-content: space-between; gap: 1em; }
.tile dt { font-weight: normal; white-space: nowrap; }
.tile dd { margin: 0; font-weight: bold; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.35em;
  border-radius: 2px; vertical-align: baseline; }
table.data { border-collapse: collapse; margin: 0.5em 0; }
table.data th, table.data td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }
table.data td { text-align: right; font-variant-numeric: tabular-nums; }
table.data th[scope=row] { text-align: left; font-weight: normal; white-space: pre; }
table.data thead th { text-align: right; vertical-align: bottom; }
table.data thead th:first-child { text-align: left; }
details { margin: 0.5em 0; }
summary { cursor: pointer; font-weight: bold; padding: 0.2em 0; }
select { font: inherit; padding: 0.2em; }
p.note { color: #555; }
"""


def _load_figure(result: SimulationResult, timezone: str, colors: Mapping[str, str]) -> go.Figure:
    first = next(iter(result.runs.values()))
    axis = chart_time(first, timezone)
    x = axis.edges
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    step = {"mode": "lines", "line_shape": "hv"}
    for policy, run in result.runs.items():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=axis.means(run.site_net_load_kw),
                name=f"{policy}: site net load",
                line={"color": colors[policy], "width": 1.5},
                hovertemplate="%{y:.1f} kW",
                **step,
            ),
            secondary_y=False,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=axis.means(first.base_load_kw),
            name="Base load, no cars",
            line={"color": "#444", "dash": "dash", "width": 1.2},
            hovertemplate="%{y:.1f} kW",
            **step,
        ),
        secondary_y=False,
    )
    limit_line = {"color": "#000", "dash": "dot", "width": 1.5}
    price_line = {"color": PRICE_COLOR, "width": 1}
    lines = (
        (
            "Import limit",
            axis.lowest(first.import_limit_kw),
            True,
            False,
            limit_line,
            "%{y:.1f} kW",
        ),
        (
            "Export limit (as negative load)",
            -axis.lowest(first.export_limit_kw),
            "legendonly",
            False,
            limit_line,
            "%{y:.1f} kW",
        ),
        (
            "Import price",
            axis.means(first.import_price_per_kwh),
            True,
            True,
            price_line,
            "%{y:.4f} EUR/kWh",
        ),
        (
            "Export price",
            axis.means(first.export_price_per_kwh),
            "legendonly",
            True,
            {**price_line, "dash": "dashdot"},
            "%{y:.4f} EUR/kWh",
        ),
    )
    for name, values, visible, on_price_axis, line, hover in lines:
        if not np.isfinite(values).any():
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                name=name,
                visible=visible,
                line=line,
                hovertemplate=hover,
                **step,
            ),
            secondary_y=on_price_axis,
        )
    name_local_time(fig, timezone)
    fig.update_yaxes(title_text="Load (kW), import positive", secondary_y=False)
    fig.update_yaxes(title_text="Price (EUR/kWh)", secondary_y=True, showgrid=False)
    fig.update_layout(
        template=TEMPLATE,
        height=480,
        margin={"t": 30},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
    )
    return fig


def _value_figure(result: SimulationResult, colors: Mapping[str, str]) -> go.Figure:
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
                marker_color=colors[policy],
                hovertemplate="%{x}: %{y:.2f} EUR<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="Saving (EUR)", row=row, col=1)
    if not others:
        fig.add_annotation(text="Only one policy: nothing to compare.", showarrow=False)
    fig.update_layout(template=TEMPLATE, height=120 + 280 * max(1, len(others)), showlegend=False)
    return fig


def _peak_cost_figure(
    result: SimulationResult, metrics: pd.DataFrame, colors: Mapping[str, str]
) -> go.Figure:
    panels = ("transformer_peak_kw", "energy_cost_eur", "v2g_revenue_eur")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[metric_label(k) for k in panels])
    policies = list(metrics.columns)
    for col, key in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                x=policies,
                y=metrics.loc[key].to_numpy(),
                marker_color=[colors[p] for p in policies],
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
    fig.update_layout(template=TEMPLATE, height=420, showlegend=False)
    return fig


def _metrics_table(metrics: pd.DataFrame, colors: Mapping[str, str]) -> str:
    """Every metric (rows) of every policy (columns), folded: the headline has the few."""
    table = html_table(
        metrics.rename_axis("Metric"),
        cell=lambda key, _policy, value: format_metric(str(key), value),
        label=lambda name: (
            policy_label(name, colors) if name in colors else html.escape(metric_label(name))
        ),
    )
    return fold(table, len(metrics), "Every metric of every policy")


def _about(result: SimulationResult) -> str:
    """What was simulated, and how to read the rest."""
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
    return f'<dl class="facts">{listing}</dl><p>{how_to}</p>'


def _rules_html(rules: RulesEffect, colors: Mapping[str, str]) -> str:
    """The owners' rules section: per policy the site with and without them, per car what
    they kept of its battery."""
    note = (
        "The V2G policies once more on the same world with the owners' rules lifted: what the "
        "rules cost the neighbourhood (peak, money) and what they saved each battery (capacity "
        "kept at the end of the warranty, valued as in the battery-health section)."
    )
    site = html_table(rules.site, label=partial(policy_label, colors=colors))
    cars = rules.cars.set_index("vehicle_id")
    per_car = html_table(cars, decimals=3)
    return (
        f'<p class="note">{html.escape(note)}</p>{site}'
        f"{fold(per_car, len(cars), 'Per car and policy')}"
    )


def _credits_html(
    credits: Mapping[str, tuple[pd.DataFrame, Any]], colors: Mapping[str, str]
) -> str:
    """Per settled policy: what its ledger says each household earned, spent and holds."""
    parts = []
    for policy, (table, check) in credits.items():
        shown = (table / 1000).rename_axis("household")
        note = (
            f"Every V2G session and V2V agreement of {policy} settled two-phase in the credit "
            "ledger (pending at plug-in or acceptance, posted with the metered energy, voided if "
            "nothing flowed); households pay the community pool for the V2G energy they used, "
            "pro rata to their load, from a starting grant. Credits (1 credit = 1,000 "
            f"milli-credits). Ledger verify: {'all promises hold' if check.ok else 'FAILED'}, "
            f"{check.transfers} transfers."
        )
        parts.append(
            f"<h3>{policy_label(policy, colors)}</h3><p class='note'>{html.escape(note)}</p>"
            f"{fold(html_table(shown), len(shown), f'Credits per household, {policy}')}"
        )
    return "".join(parts)


def _chart(fig: go.Figure, div_id: str, with_plotly_js: bool = False) -> str:
    return fig.to_html(
        full_html=False, include_plotlyjs=with_plotly_js, div_id=div_id, config=PLOT_CONFIG
    )


def _sections(
    result: SimulationResult,
    metrics: pd.DataFrame,
    colors: Mapping[str, str],
    timezone: str,
    health: HealthReport | None,
    credits: Mapping[str, tuple[pd.DataFrame, Any]],
    rules: RulesEffect | None,
) -> list[tuple[str, str, str, str]]:
    """``(id, title, note, body HTML)`` of every section after the headline, in page order;
    the first chart carries plotly.js."""
    first = next(iter(result.runs.values()))
    cars = soc_cars(result)
    names = ", ".join(first.vehicle_ids[n] for n in cars)
    zone = chart_time(first, timezone).note() + f"Times are local ({timezone})."
    sections = [
        ("about", "About this run", "", _about(result)),
        (
            "load",
            "Neighbourhood load",
            "Site net load of every policy over the whole period, the load of the homes alone, "
            f"the import limit in force, and the import price (right axis). {zone}",
            _chart(_load_figure(result, timezone, colors), "voltpool-figure-0", True),
        ),
        (
            "soc",
            "State of charge",
            f"The {len(cars)} cars that gave most V2G energy over all policies (ties: most "
            f"charged): {names}. Grey bands: car away; crosses: target SoC at departure. {zone}",
            _chart(soc_figure(result, cars, timezone, colors), "voltpool-figure-1"),
        ),
        (
            "cars",
            "Each household and car",
            "Pick a car: its household's import from the grid, the car's power and its state "
            "of charge under every policy, grey bands while it is away. Homes without a car "
            f"are not listed. {zone}",
            car_view_html(result, timezone, colors),
        ),
        (
            "value",
            "Value per car",
            "Owner's saving of each policy against the first one, per car, largest first.",
            _chart(_value_figure(result, colors), "voltpool-figure-2"),
        ),
        (
            "peak-cost",
            "Peak and cost",
            "Per policy; lines on the peak panel: base-load peak and import limit.",
            _chart(_peak_cost_figure(result, metrics, colors), "voltpool-figure-3"),
        ),
    ]
    events = events_html(result, timezone, colors)
    if events:
        figure = outage_figure(result, timezone)
        chart = "" if figure is None else _chart(figure, "voltpool-figure-outage")
        note = (
            "Homes cut off by an outage run on the cars plugged in there (V2H), critical circuits "
            "first, each car above its driving reserve; one-way charging cannot help. V2V: "
            "requests matched to offers once both cars are plugged in, moved through the "
            "scheduler, metered and settled in the ledger (credits receiver to giver). "
            f"{zone}"
        )
        sections.append(("events", "Outages and V2V", note, chart + events))
    if health is not None:
        note = (
            "Cell ageing models (NREL BLAST-Lite) run on every car's simulated SoC; the period "
            f"repeated to {health.battery.warranty_years:g} years. Extra wear is each car's "
            f"fade minus its fade under {health.counterfactual}, valued at "
            f"{health.battery.pack_value_per_kwh:g} EUR per kWh of capacity. Cars start new; "
            f"one cell temperature ({health.battery.temperature_c:g} °C); no pack buffer or knee."
        )
        body = _chart(health_figure(health, colors), "voltpool-figure-health")
        body += health_html_table(health, colors)
        sections.append(("health", "Battery health", note, body))
    if credits:
        sections.append(("credits", "Credits", "", _credits_html(credits, colors)))
    if rules is not None:
        sections.append(("rules", "The owners' rules", "", _rules_html(rules, colors)))
    sections.append(("metrics", "All metrics", "", _metrics_table(metrics, colors)))
    return sections


def write_html_report(
    result: SimulationResult,
    path: str | Path,
    health: HealthReport | None = None,
    credits: dict[str, tuple[pd.DataFrame, Any]] | None = None,
    timezone: str = "UTC",
    rules: RulesEffect | None = None,
) -> Path:
    """Write the report of ``result`` to ``path`` (one HTML file, no network needed to view it).

    The headline numbers come first, then the charts (times in ``timezone``, plotly.js inlined
    once, before the first), outages and V2V, with ``health`` a battery-health section, with
    ``credits`` (per policy its ledger's table and verify report) the credits, with ``rules``
    the owners' rules, and the metric table. Returns the path written.
    """
    if not result.runs:
        raise ValueError("result.runs: empty; there is nothing to report")
    metrics = compare(result)
    colors = policy_colors(result.runs)
    sections = _sections(result, metrics, colors, timezone, health, credits or {}, rules)
    contents = "".join(
        f'<li><a href="#{key}">{html.escape(title)}</a></li>'
        for key, title, _, _ in [("headline", "Headline numbers", "", ""), *sections]
    )
    parts = [
        f"<header><h1>{html.escape(result.scenario_name)}</h1>"
        f"<p>{html.escape(result.description)}</p></header>"
        f'<nav aria-label="Contents"><ul>{contents}</ul></nav><main>',
        headline_html(metrics, colors),
    ]
    for key, title, note, body in sections:
        note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
        parts.append(
            f'<section aria-labelledby="{key}"><h2 id="{key}">{html.escape(title)}</h2>'
            f"{note_html}{body}</section>"
        )
    parts.append(f'</main><footer><p class="note">Made by {html.escape(GENERATOR)}.</p></footer>')
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(result.scenario_name)}: voltpool simulation</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["write_html_report"]
