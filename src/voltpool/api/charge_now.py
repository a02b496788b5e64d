"""The owner's "charge now" (evcc's *fast* mode): full power from now until the car reaches
its target, no discharge, whatever the prices.

It is the same exact LP with an earlier deadline, not a rule after it: a car on "charge now"
is planned as if it left at the first slot by which full power reaches its target
(:func:`earliest_full_slot`), and its owner's rules get ``no_discharge_until`` its real
departure. Reaching the target that soon needs every slot until then at full power, so the
optimum charges at full power (the unmet-energy penalty outweighs any price); where the
site's limit cannot give it, the plan charges what it can and says the car is short. Once at
its target the car idles until it leaves. Each re-plan recomputes the deadline from the
car's state of charge, so the switch lasts for the plug-in session.
"""

from __future__ import annotations

import math

ENERGY_TOLERANCE_KWH = 1e-6
"""Energy short of the target below this counts as reached. [kWh]"""


def earliest_full_slot(
    soc: float,
    soc_target: float,
    capacity_kwh: float,
    max_charge_kw: float,
    charge_efficiency: float,
    dt_h: float,
) -> int:
    """The number of slots full power needs to take ``soc`` to ``soc_target`` (0 when it is
    there already; 0 too for a car that cannot charge)."""
    missing_kwh = (soc_target - soc) * capacity_kwh
    per_slot_kwh = max_charge_kw * charge_efficiency * dt_h
    if missing_kwh <= ENERGY_TOLERANCE_KWH or per_slot_kwh <= 0:
        return 0
    return math.ceil(missing_kwh / per_slot_kwh - ENERGY_TOLERANCE_KWH / per_slot_kwh)
