"""The credit policy: integer arithmetic, multipliers, fees, V2V losses, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltpool.credits import CreditPolicy, kwh_to_wh
from voltpool.errors import ProblemError

POLICY = CreditPolicy(
    v2g_credits_per_kwh=20,
    peak_multiplier_pct=150,
    peak_hours_local=(17, 21),
    event_multiplier_pct=200,
    community_fee_pct=5,
)


def test_v2g_rates_by_hour_and_event() -> None:
    assert POLICY.v2g_millicredits(1_000, local_hour=12) == 20_000
    assert POLICY.v2g_millicredits(1_000, local_hour=18) == 30_000
    assert POLICY.v2g_millicredits(1_000, local_hour=12, grid_event=True) == 40_000
    assert POLICY.v2g_millicredits(1_000, local_hour=18, grid_event=True) == 40_000
    assert POLICY.v2g_millicredits(1, local_hour=12) == 20  # 1 Wh = 0.02 credits


def test_wear_compensation_and_fee() -> None:
    policy = CreditPolicy(v2g_credits_per_kwh=20, wear_compensation_credits_per_kwh=3)
    assert policy.v2g_millicredits(2_000, local_hour=3) == 46_000
    assert POLICY.fee_millicredits(30_000) == 1_500
    assert POLICY.fee_millicredits(19) == 0  # rounded down


@pytest.mark.parametrize(
    ("losses", "expected"), [("giver", 9_000), ("receiver", 10_000), ("split", 9_500)]
)
def test_v2v_losses_borne_as_configured(losses: str, expected: int) -> None:
    policy = CreditPolicy(v2v_losses=losses)  # type: ignore[arg-type]
    # 10 kWh left the giver's battery side, 9 kWh reached the receiver; 1 credit per kWh
    assert (
        policy.v2v_millicredits(delivered_wh=9_000, given_wh=10_000, credits_per_kwh=1) == expected
    )


@given(st.integers(0, 10**9), st.integers(0, 23), st.booleans())
def test_credits_are_whole_monotone_and_additive_bounds(wh: int, hour: int, event: bool) -> None:
    amount = POLICY.v2g_millicredits(wh, hour, event)
    assert isinstance(amount, int) and amount >= 0
    assert POLICY.v2g_millicredits(wh + 1, hour, event) >= amount
    # splitting energy never earns more than booking it at once (rounding down)
    half = wh // 2
    assert (
        POLICY.v2g_millicredits(half, hour, event) + POLICY.v2g_millicredits(wh - half, hour, event)
    ) <= amount


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"v2g_credits_per_kwh": -1}, "credits.v2g_credits_per_kwh"),
        ({"v2g_credits_per_kwh": 1.5}, "credits.v2g_credits_per_kwh"),
        ({"peak_multiplier_pct": 90}, "credits.peak_multiplier_pct"),
        ({"community_fee_pct": 120}, "credits.community_fee_pct"),
        ({"peak_hours_local": (21, 17)}, "credits.peak_hours_local"),
    ],
)
def test_bad_policy_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ProblemError) as caught:
        CreditPolicy(**kwargs)
    assert caught.value.issues[0].field == field


def test_bad_energy_is_refused() -> None:
    for value in (-1, 1.5, True, "10"):
        with pytest.raises(ProblemError, match="energy_wh"):
            POLICY.v2g_millicredits(value, 12)  # type: ignore[arg-type]
    with pytest.raises(ProblemError, match="delivered_wh"):
        POLICY.v2v_millicredits(delivered_wh=11, given_wh=10, credits_per_kwh=1)
    assert kwh_to_wh(1.2345) == 1234
