"""The headline numbers at the top of the simulation report: one tile per metric, one line per
policy in its colour, each value as the metric table writes it."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from voltpool.report._format import format_metric
from voltpool.report._tables import policy_label

HEADLINE_METRICS = {
    "total_cost_eur": "Money: total cost (EUR)",
    "transformer_peak_kw": "Transformer peak (kW)",
    "v2g_export_kwh": "V2G exported (kWh)",
    "departures_met_pct": "Departures meeting target (%)",
    "shortfall_kwh_total": "Energy short at departure (kWh)",
}
"""The metrics of :func:`~voltpool.simulate.metrics.compare` the tiles show, with short labels
(the metric table below has the long ones)."""
HEADLINE_NOTE = (
    "Total cost: the neighbourhood's energy bill, its peak (demand) charge and the priced "
    "battery wear of V2G. Short: energy missing at departure against the owners' targets, "
    "over all cars and departures."
)


def headline_html(metrics: pd.DataFrame, colors: Mapping[str, str]) -> str:
    """The tiles of :data:`HEADLINE_METRICS` from ``metrics`` (metrics as rows, policies as
    columns, as :func:`~voltpool.simulate.metrics.compare` returns them)."""
    tiles = []
    for key, title in HEADLINE_METRICS.items():
        lines = "".join(
            f"<div><dt>{policy_label(str(policy), colors)}</dt>"
            f"<dd>{format_metric(key, metrics.at[key, policy])}</dd></div>"
            for policy in metrics.columns
        )
        tiles.append(
            f'<article class="tile" data-metric="{html.escape(key)}">'
            f"<h3>{html.escape(title)}</h3><dl>{lines}</dl></article>"
        )
    return (
        '<section aria-labelledby="headline"><h2 id="headline">Headline numbers</h2>'
        f'<div class="tiles">{"".join(tiles)}</div>'
        f'<p class="note">{html.escape(HEADLINE_NOTE)}</p></section>'
    )


__all__ = ["HEADLINE_METRICS", "headline_html"]
