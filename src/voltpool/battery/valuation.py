"""What a unit of capacity fade costs: the one valuation of battery wear in voltpool.

The LP's wear costs (:mod:`voltpool.battery.calibrate`), the explanation of every discharge (it
reads those costs) and the health report (:mod:`voltpool.battery.health`) all turn relative
capacity fade into money with :func:`value_per_fade_per_kwh`, so they agree.

Two valuations (docs/battery.md, "One valuation of wear"):

- ``"capacity"`` (the default): a kWh of capacity lost is worth what a kWh of pack capacity is
  worth to the owner, ``pack_value_per_kwh``. A fade of ``f`` on a pack of ``C`` kWh costs
  ``f * C * pack_value_per_kwh``. This is the cost of the capacity itself: the owner keeps a
  smaller battery (less range, less to sell), and it needs no assumption about when or whether
  the pack is replaced.
- ``"replacement"``: the pack is written off at its end-of-life capacity ``eol`` (e.g. 70 %,
  the usual warranty threshold), so the whole pack value is spent over ``1 - eol`` of fade:
  ``pack_value_per_kwh / (1 - eol)`` per unit of fade per kWh of capacity (depreciation to end
  of life; 3.3 times the capacity valuation at 70 %). It fits an owner who will replace the
  pack at the threshold.
"""

from __future__ import annotations

from typing import Literal

from voltpool.errors import FieldIssue, ProblemError

Valuation = Literal["capacity", "replacement"]
VALUATIONS: tuple[Valuation, ...] = ("capacity", "replacement")
DEFAULT_VALUATION: Valuation = "capacity"


def value_per_fade_per_kwh(
    pack_value_per_kwh: float,
    end_of_life_capacity: float,
    valuation: str = DEFAULT_VALUATION,
) -> float:
    """Cost of one unit of relative capacity fade per kWh of capacity (see the module docstring).

    Parameters
    ----------
    pack_value_per_kwh : float
        Value of a kWh of pack capacity. [EUR/kWh]
    end_of_life_capacity : float
        Relative capacity at which the pack is used up (``"replacement"`` only). [0..1]
    valuation : {"capacity", "replacement"}

    Returns
    -------
    float
        [EUR per kWh of capacity per unit of relative fade]
    """
    issues = []
    if valuation not in VALUATIONS:
        issues.append(FieldIssue("valuation", f"{valuation!r} is not one of {list(VALUATIONS)}"))
    if not pack_value_per_kwh >= 0:
        issues.append(FieldIssue("pack_value_per_kwh", f"{pack_value_per_kwh} must be >= 0"))
    if not 0.0 < end_of_life_capacity < 1.0:
        issues.append(
            FieldIssue("end_of_life_capacity", f"{end_of_life_capacity} must be in (0, 1)")
        )
    if issues:
        raise ProblemError(issues)
    if valuation == "replacement":
        return pack_value_per_kwh / (1.0 - end_of_life_capacity)
    return float(pack_value_per_kwh)
