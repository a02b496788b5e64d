"""The credit policy: integer arithmetic, multipliers, fees, V2V losses, clear errors."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.parametrize(
    ("energy_kwh", "expected_wh"),
    [
        (0.0, 0),
        (1.0, 1_000),  # exact Wh
        (0.001, 1),
        (1.2345, 1_234),  # a fraction of a Wh is not metered
        (0.1 + 0.2, 300),  # 300.00000000000006 Wh
        (0.7 * 3, 2_100),  # 2099.9999999999995 Wh: float round-off forgiven
        (9.9999999, 10_000),  # 0.1 mWh short: solver round-off, forgiven
        (9.9999991, 10_000),  # 0.9 mWh short: still forgiven
        (9.999998, 9_999),  # 2 mWh short: a Wh not delivered
        (10.0000001, 10_000),  # a hair above
        (10.0009, 10_000),  # 0.9 Wh above: not a whole Wh more
        (10.000999, 10_001),  # 1 mWh short of the next Wh: forgiven
        (-1e-7, 0),  # a hair below zero (0.1 mWh): round-off around nothing
        (1e15, 10**18),
    ],
)
def test_the_meter_rule_at_its_edges(energy_kwh: float, expected_wh: int) -> None:
    wh = kwh_to_wh(energy_kwh)
    assert wh == expected_wh and type(wh) is int
    assert kwh_to_wh(np.float64(energy_kwh)) == expected_wh


@pytest.mark.parametrize("energy_kwh", [-0.000002, -0.5, float("nan"), float("inf"), -np.inf])
def test_the_meter_rule_refuses_what_no_meter_reads(energy_kwh: float) -> None:
    with pytest.raises(ProblemError) as caught:
        kwh_to_wh(energy_kwh, "metered.ac_kwh")
    assert caught.value.issues[0].field == "metered.ac_kwh"
    assert "finite and >= 0" in caught.value.issues[0].rule


def test_the_meter_rule_is_element_wise_on_arrays() -> None:
    energy_kwh = np.array([[1.0, 9.9999999, 9.999998], [0.7 * 3, -1e-7, 1.2345]])
    wh = kwh_to_wh(energy_kwh)
    assert wh.dtype == np.int64 and wh.shape == (2, 3)
    np.testing.assert_array_equal(wh, [[1_000, 10_000, 9_999], [2_100, 0, 1_234]])
    expected = np.array([kwh_to_wh(float(v)) for v in energy_kwh.ravel()]).reshape(2, 3)
    np.testing.assert_array_equal(wh, expected)
    assert kwh_to_wh(np.zeros(0)).shape == (0,)
    with pytest.raises(ProblemError) as caught:
        kwh_to_wh(np.array([[1.0, 2.0], [np.nan, 3.0]]), "given_kwh")
    assert caught.value.issues[0].field == "given_kwh[2]"  # the flat index of the bad element


@given(st.integers(0, 10**9), st.floats(-0.99e-3, 0.99e-3), st.floats(0.0011, 0.999))
def test_the_meter_rule_reads_whole_wh_through_round_off(
    whole_wh: int, off_wh: float, short_wh: float
) -> None:
    # within a milli-Wh of a whole Wh, from above or below, reads that Wh; further below does not
    assert kwh_to_wh((whole_wh + off_wh) / 1000) == whole_wh
    assert kwh_to_wh((whole_wh + 1 - short_wh) / 1000) == whole_wh
