"""Battery-health pictures and tables for the simulation report and ``voltpool battery report``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from voltpool.battery.health import SUMMARY_LABELS, HealthReport
from voltpool.report._tables import html_table, policy_label
from voltpool.report.figures import TEMPLATE


def format_health(key: str, value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if key.endswith(("_pct_mean", "_pct_min")):
        return f"{value:.3f}" if "fade" in key else f"{value:.1f}"
    if key == "cars_below_end_of_life":
        return f"{value:.0f}"
    if key.endswith("per_v2g_kwh"):
        return f"{value:.4f}"
    return f"{value:,.2f}"


def health_html_table(report: HealthReport, colors: Mapping[str, str]) -> str:
    """The health summary (:data:`~voltpool.battery.health.SUMMARY_LABELS` as rows, policies
    as columns in their ``colors``)."""
    summary = report.summary().loc[list(SUMMARY_LABELS)]
    labels = summary.rename(index=SUMMARY_LABELS).rename_axis("Metric")
    keys = dict(zip(SUMMARY_LABELS.values(), SUMMARY_LABELS, strict=True))
    return html_table(
        labels,
        cell=lambda label, _policy, value: format_health(keys[label], value),
        label=partial(policy_label, colors=colors),
    )


def health_figure(report: HealthReport, colors: Mapping[str, str]) -> go.Figure:
    """Fade split per policy, capacity at warranty end per car, extra wear vs V2G energy, each
    policy in its colour of ``colors``."""
    cars = report.per_car()
    policies = list(report.policies)
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.08,
        subplot_titles=(
            f"Fade over the {report.period_days:.0f} simulated days (mean, %)",
            f"Capacity after {report.battery.warranty_years:g} years (each car, %)",
            f"Extra wear vs {report.counterfactual} (EUR) against V2G kWh, per car",
        ),
    )
    means = cars.groupby("policy", sort=False)[["fade_calendar_pct", "fade_cycling_pct"]].mean()
    for column, name, color in (
        ("fade_calendar_pct", "calendar", "#aec7e8"),
        ("fade_cycling_pct", "cycling", "#ff9896"),
    ):
        fig.add_trace(
            go.Bar(x=policies, y=means.loc[policies, column], name=name, marker_color=color),
            row=1,
            col=1,
        )
    for policy in policies:
        group = cars[cars["policy"] == policy]
        color = colors[policy]
        fig.add_trace(
            go.Box(
                y=group["capacity_at_warranty_pct"],
                name=policy,
                marker_color=color,
                boxpoints="all",
                jitter=0.4,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
        if group["v2g_kwh"].sum() > 0:
            fig.add_trace(
                go.Scatter(
                    x=group["v2g_kwh"],
                    y=group["extra_fade_eur"],
                    mode="markers",
                    name=policy,
                    marker={"color": color},
                    text=group["vehicle_id"] + " (" + group["chemistry"] + ")",
                ),
                row=1,
                col=3,
            )
    fig.add_hline(
        y=100 * report.battery.end_of_life_capacity,
        line_dash="dot",
        row=1,
        col=2,
        annotation_text="warranty threshold",
    )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        height=420,
        margin={"t": 60, "l": 50, "r": 20, "b": 40},
    )
    fig.update_xaxes(title_text="V2G given back (kWh)", row=1, col=3)
    return fig


def write_health_csv(report: HealthReport, path: str) -> pd.DataFrame:
    cars = report.per_car()
    cars.to_csv(path, index=False)
    return cars
