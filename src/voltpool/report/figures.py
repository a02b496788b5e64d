"""What every voltpool HTML page draws with: plotly's options and slot values as step lines."""

from __future__ import annotations

import numpy as np

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
"""plotly.js options of every chart (no logo, resizes with the page)."""


def step_y(values: np.ndarray) -> np.ndarray:
    """Slot values for a ``hv`` step line over the T+1 slot edges: the last value held to the
    end; an infinite value (no limit) draws no line."""
    held = np.append(np.asarray(values, dtype=float), values[-1])
    return np.where(np.isfinite(held), held, np.nan)
