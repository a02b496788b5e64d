"""Locate the data files shipped in ``voltpool/data/files/`` (works from an installed wheel)."""

from __future__ import annotations

from importlib.resources import as_file, files
from typing import Any

import pandas as pd

PRICES_FILE = "nl_day_ahead_prices.csv.gz"
ARRIVAL_FILE = "elaad_arrival_probability.csv"
QUANTILES_FILE = "elaad_session_quantiles.csv"
BY_ARRIVAL_FILE = "elaad_mean_by_arrival.csv"
EV_MODELS_FILE = "ev_models_v2g.csv"


def read_csv(name: str, **kwargs: Any) -> pd.DataFrame:
    """Read a shipped CSV (``.csv`` or ``.csv.gz``) by file name.

    Parameters
    ----------
    name : str
        File name inside ``voltpool/data/files/``.
    **kwargs
        Passed to :func:`pandas.read_csv`.
    """
    resource = files("voltpool.data").joinpath("files", name)
    with as_file(resource) as path:
        return pd.read_csv(path, **kwargs)
