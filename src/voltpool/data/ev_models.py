"""V2G-capable EV models (top models registered in the Netherlands, EV2Gym's 2024 list).

Source: ``ev_specs_v2g_enabled2024.json`` from EV2Gym 2.0.0 (Orfanoudakis et al., MIT). The
V2G capability and discharge limits are EV2Gym's scenario assumptions, not manufacturer data;
see ``files/README.md``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from voltpool.data._files import EV_MODELS_FILE, read_csv
from voltpool.errors import FieldIssue, ProblemError


@lru_cache(maxsize=1)
def _models() -> pd.DataFrame:
    return read_csv(EV_MODELS_FILE)


def ev_models() -> pd.DataFrame:
    """Return the table of V2G-capable EV models, one row per model.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``registrations_nl`` (count, used as sampling weight),
        ``capacity_kwh`` [kWh], ``max_ac_charge_kw``, ``max_dc_charge_kw``,
        ``avg_dc_charge_kw``, ``max_ac_discharge_kw``, ``max_dc_discharge_kw`` [kW, all
        positive magnitudes] and ``charge_efficiency_ac_3ph_16a`` (fraction, 3-phase AC
        charging at 16 A). The source has no consumption figures.
    """
    return _models().copy()


def sample_models(
    n: int, rng: np.random.Generator | int | None = None, *, weighted: bool = True
) -> pd.DataFrame:
    """Draw ``n`` EV models with replacement.

    Parameters
    ----------
    n : int
        Number of vehicles, >= 0.
    rng : numpy.random.Generator or int or None
        Random generator, or a seed for :func:`numpy.random.default_rng`.
    weighted : bool, default True
        Weight models by ``registrations_nl``; otherwise uniformly.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows with the columns of :func:`ev_models`, index ``0..n-1``.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ProblemError([FieldIssue("n", f"must be an integer >= 0, got {n!r}")])
    models = _models()
    weights = models["registrations_nl"].to_numpy(dtype=float) if weighted else None
    p = None if weights is None else weights / weights.sum()
    index = np.random.default_rng(rng).choice(len(models), size=int(n), p=p)
    return models.iloc[index].reset_index(drop=True)
