"""What every voltpool HTML page draws with: plotly's options, one colour per policy, local time
named with its zone, and slot values as step lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
"""plotly.js options of every chart (no logo, resizes with the page)."""
TEMPLATE = "plotly_white"
"""plotly's layout template of every chart: a white plot area, on which the colours below keep
at least 3:1 contrast (WCAG 2.2, 1.4.11 non-text contrast)."""
POLICY_COLORS = ("#0072B2", "#D55E00", "#009E73", "#AA3377", "#996600", "#6A3D9A", "#555555")
"""Policy colours in scenario order (Okabe-Ito's blue, vermillion and green, then darker hues
that keep the contrast), repeated when there are more policies than colours."""


def policy_colors(policies: Iterable[str]) -> dict[str, str]:
    """The colour of each policy, by its place in ``policies`` (the scenario's order): the one
    mapping every chart, tile and table of a report uses."""
    return {p: POLICY_COLORS[n % len(POLICY_COLORS)] for n, p in enumerate(policies)}


def wall_clock(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Instants as the clocks of ``timezone`` show them, written without offset (plotly.js has
    no time zones: :func:`name_local_time` names the zone on the axis)."""
    return pd.DatetimeIndex(index).tz_convert(timezone).tz_localize(None)


def local_time_title(timezone: str) -> str:
    """The title of every time axis: ``Local time (Europe/Amsterdam)``."""
    return f"Local time ({timezone})"


def name_local_time(fig: go.Figure, timezone: str, rows: int = 1) -> None:
    """Title the time axis of ``fig``'s lowest row (of ``rows``, subplots stacked in one column
    sharing it) with the zone, and make every hover label read local time with the zone."""
    fig.update_xaxes(hoverformat=f"%a %d %b %Y %H:%M ({timezone})")
    fig.update_xaxes(title_text=local_time_title(timezone), row=rows, col=1)


def step_y(values: np.ndarray) -> np.ndarray:
    """Slot values for a ``hv`` step line over the T+1 slot edges: the last value held to the
    end; an infinite value (no limit) draws no line."""
    held = np.append(np.asarray(values, dtype=float), values[-1])
    return np.where(np.isfinite(held), held, np.nan)
