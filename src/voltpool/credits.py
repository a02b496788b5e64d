"""How metered energy becomes credits: the credit policy, as data.

Amounts are integers: energy in Wh, credits in milli-credits (1 credit = 1,000 milli-credits).
Multipliers are integer percentages, and every product is rounded down, so the same metered
energy always gives the same credits on every machine.

- **V2G** (a car gives energy back at home): the car's household earns ``v2g_credits_per_kwh``
  per kWh metered at the charger (AC side), times ``peak_multiplier_pct`` during the local peak
  hours and ``event_multiplier_pct`` during a grid event (the larger one applies), plus
  ``wear_compensation_credits_per_kwh`` (the battery model's cost of the discharge). The credits
  come from the community pool, which charges the households that used that energy.
- **V2V** (a friend's car): the receiver pays the giver the agreed rate per kWh *delivered*;
  conversion losses are borne by the giver, the receiver or split (``v2v_losses``).
- **Community fee**: ``community_fee_pct`` of every earning goes to the fees account.
- **Starting credits**: every household is granted ``starting_credits`` once.
- **Meters**: every kWh amount becomes whole Wh by one rule, :func:`kwh_to_wh` (rounded down,
  round-off below a milli-Wh forgiven), for V2G sessions, V2V meters and V2V estimates alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from voltpool.errors import FieldIssue, ProblemError

MILLI = 1_000
WH_PER_KWH = 1_000
METER_ROUND_OFF_WH = 1e-3
"""Round-off forgiven below a whole Wh by :func:`kwh_to_wh` (a thousandth of a meter's Wh)."""


@dataclass(frozen=True)
class CreditPolicy:
    """The rules that turn metered Wh into milli-credits (all integers)."""

    v2g_credits_per_kwh: int = 20
    peak_multiplier_pct: int = 150
    peak_hours_local: tuple[int, int] = (17, 21)
    event_multiplier_pct: int = 200
    wear_compensation_credits_per_kwh: int = 0
    community_fee_pct: int = 5
    v2v_losses: Literal["giver", "receiver", "split"] = "giver"
    starting_credits: int = 500
    """Credits the community grants each household once, so it can pay for energy it uses
    before it has earned any."""

    def __post_init__(self) -> None:
        issues = []
        for name in (
            "v2g_credits_per_kwh",
            "wear_compensation_credits_per_kwh",
            "starting_credits",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                issues.append(
                    FieldIssue(f"credits.{name}", f"{value!r} must be a whole number >= 0")
                )
        for name in ("peak_multiplier_pct", "event_multiplier_pct"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 100:
                issues.append(
                    FieldIssue(f"credits.{name}", f"{value!r} must be a whole percentage >= 100")
                )
        fee = self.community_fee_pct
        if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= 100:
            issues.append(
                FieldIssue(
                    "credits.community_fee_pct", f"{fee!r} must be a whole percentage 0..100"
                )
            )
        start, end = self.peak_hours_local
        if not (0 <= start < end <= 24):
            issues.append(
                FieldIssue(
                    "credits.peak_hours_local",
                    f"{self.peak_hours_local!r} must be (start, end) hours, 0 <= start < end <= 24",
                )
            )
        if self.v2v_losses not in ("giver", "receiver", "split"):
            issues.append(
                FieldIssue(
                    "credits.v2v_losses", f"{self.v2v_losses!r} must be giver, receiver or split"
                )
            )
        if issues:
            raise ProblemError(issues)

    def multiplier_pct(self, local_hour: int, grid_event: bool) -> int:
        """The multiplier in force at a local hour (the larger of peak and event)."""
        start, end = self.peak_hours_local
        peak = self.peak_multiplier_pct if start <= local_hour < end else 100
        return max(peak, self.event_multiplier_pct if grid_event else 100)

    def v2g_millicredits(self, energy_wh: int, local_hour: int, grid_event: bool = False) -> int:
        """Milli-credits earned for ``energy_wh`` given back in one slot (rounded down)."""
        check_wh(energy_wh)
        base = (
            energy_wh
            * self.v2g_credits_per_kwh
            * MILLI
            * self.multiplier_pct(local_hour, grid_event)
            // (WH_PER_KWH * 100)
        )
        wear = energy_wh * self.wear_compensation_credits_per_kwh * MILLI // WH_PER_KWH
        return base + wear

    def fee_millicredits(self, earned_millicredits: int) -> int:
        return earned_millicredits * self.community_fee_pct // 100

    def v2v_millicredits(self, delivered_wh: int, given_wh: int, credits_per_kwh: int) -> int:
        """What the receiver pays the giver: delivered energy, losses borne as the policy says."""
        check_wh(delivered_wh)
        check_wh(given_wh)
        if delivered_wh > given_wh:
            raise ProblemError(
                [FieldIssue("delivered_wh", f"{delivered_wh} must be <= given_wh ({given_wh})")]
            )
        billed = {
            "giver": delivered_wh,
            "receiver": given_wh,
            "split": (delivered_wh + given_wh) // 2,
        }[self.v2v_losses]
        return billed * credits_per_kwh * MILLI // WH_PER_KWH


def check_wh(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProblemError(
            [FieldIssue("energy_wh", f"{value!r} must be a whole number of Wh >= 0")]
        )
    return value


@overload
def kwh_to_wh(energy_kwh: float, field: str = ...) -> int: ...


@overload
def kwh_to_wh(energy_kwh: np.ndarray, field: str = ...) -> np.ndarray: ...


def kwh_to_wh(energy_kwh: float | np.ndarray, field: str = "energy_kwh") -> int | np.ndarray:
    """The meter rule: kWh to whole Wh, rounded down, forgiving round-off below a milli-Wh.

    A meter counts whole Wh and never shows a Wh that has not passed, so a reading rounds
    down: 1.2345 kWh reads 1,234 Wh and earns no credit for the 0.5 Wh that did not make a
    whole one. The kWh given to this rule come from floating-point sums of power x time and
    from LP solutions, which land a hair off the true amount in either direction: 10 kWh
    delivered may arrive as 9.9999999 kWh. Rounding that down to 9,999 Wh would take a whole
    Wh for a ten-millionth of one, and the same energy would read differently depending on
    how it was summed. So a shortfall of at most :data:`METER_ROUND_OFF_WH` (1 mWh, a
    thousandth of the meter's resolution) is forgiven: the reading is
    ``floor(energy_kwh * 1000 + 0.001)`` (9.9999999 kWh reads 10,000 Wh, 9.999998 kWh
    reads 9,999 Wh). A reading is never more than 1 mWh above the energy.

    One rule for every kWh -> Wh conversion (V2G sessions, V2V meters and estimates, the
    matcher's agreed amounts). Scalars give an ``int``, arrays an ``int64`` array of the same
    shape. A value a hair below zero (above -1 mWh) reads 0; a meter register does not run
    backwards, so a more negative value, NaN or an infinity is refused with a ProblemError
    naming ``field`` (and, for arrays, the flat index of the first bad element).
    """
    values = np.asarray(energy_kwh, dtype=float)
    wh = values * WH_PER_KWH + METER_ROUND_OFF_WH
    bad = ~np.isfinite(wh) | (wh < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = f"{field}[{first}]" if values.ndim else field
        rule = f"{values.flat[first]:g} kWh is not a meter reading: it must be finite and >= 0"
        raise ProblemError([FieldIssue(where, rule)])
    whole_wh = np.floor(wh).astype(np.int64)
    return int(whole_wh) if whole_wh.ndim == 0 else whole_wh
