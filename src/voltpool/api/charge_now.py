"""The owner's "charge now" (evcc's *fast* mode): full power from now until the car reaches
its target, no discharge, whatever the prices.

It is the same exact LP with an earlier goal, not a rule after it (:func:`charge_now_goal`):
a car on "charge now" is planned as if it left after the whole slots full power fills
before its target, with the level full power gives by then as its target, and its owner's
rules get ``no_discharge_until`` its real departure. That goal leaves no slack: every slot
until then must charge at full power (the unmet-energy penalty outweighs any price; a later
goal would let the optimum put the last part anywhere before it). The last part slot is
planned when only it is left, with the real target. Where the site's limits cannot give full
power, the plan charges what it can and says by how much it is short. Once at its target
the car idles until it leaves. Each re-plan recomputes the goal from the car's state of
charge, so the switch lasts for the plug-in session.
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


def charge_now_goal(
    soc: float,
    soc_target: float,
    capacity_kwh: float,
    max_charge_kw: float,
    charge_efficiency: float,
    dt_h: float,
) -> tuple[int, float]:
    """The slots to plan and the level to reach by their end: the whole slots full power
    fills before the target and what it gives by then, or, with at most one slot left, that
    slot and the target itself (at least one slot: the car keeps a plan at its target)."""
    slots = earliest_full_slot(
        soc, soc_target, capacity_kwh, max_charge_kw, charge_efficiency, dt_h
    )
    if slots <= 1:
        return 1, soc_target
    full = slots - 1
    return full, soc + full * max_charge_kw * charge_efficiency * dt_h / capacity_kwh
