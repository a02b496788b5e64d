"""Battery ageing (voltpool.battery) against NREL BLAST-Lite, rainflow against ASTM E1049.

The BLAST-Lite reference runs in its own environment (``scripts/make_blast_env.sh`` makes
``.venv-blast``: blast-lite 1.1.1 pins numpy < 2). Without it the comparison tests are skipped,
except under CI (``CI=true``), where a missing environment is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rainflow
from hypothesis import given
from hypothesis import strategies as st

import battery_profiles
from voltpool.battery import (
    CELLS,
    CHEMISTRY_CELLS,
    chemistry_for_model,
    chemistry_for_models,
    fade,
    fade_by_chemistry,
    rainflow_cycles,
)
from voltpool.battery.ageing import _turning_points
from voltpool.data.ev_models import ev_models
from voltpool.errors import ProblemError

ROOT = Path(__file__).resolve().parents[1]
BLAST_PYTHON = ROOT / ".venv-blast" / "bin" / "python"
REFERENCE_SCRIPT = ROOT / "tests" / "blast_reference" / "reference.py"
TOLERANCE = 0.01  # the acceptance criterion: 1 % relative

STANDARD = battery_profiles.standard_profiles()
STRESS = battery_profiles.stress_profiles()


@pytest.fixture(scope="module")
def blast(tmp_path_factory) -> dict:
    """BLAST-Lite's results for the standard and stress profiles, keyed by class name."""
    if not BLAST_PYTHON.exists():
        reason = f"BLAST-Lite environment missing ({BLAST_PYTHON}); run scripts/make_blast_env.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("blast") / "reference.json"
    run = subprocess.run(
        [str(BLAST_PYTHON), str(REFERENCE_SCRIPT), str(out), "--stress"],
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"BLAST-Lite reference run failed:\n{run.stderr[-4000:]}"
    payload = json.loads(out.read_text())
    assert payload["blast_lite_version"] == "1.1.1"
    return payload["results"]


def _relative(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


@pytest.mark.parametrize("profile", battery_profiles.PROFILE_NAMES)
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_standard_profiles_match_blast_lite(blast, cell, profile):
    """Done criterion of issue #4: total, calendar and cycling loss within 1 % of BLAST-Lite."""
    ref = blast[CELLS[cell].blast_class][profile]
    p = STANDARD[profile]
    ours = fade(cell, p["time_s"], p["soc"], p["temperature_c"])
    assert _relative(1 - ours.capacity_remaining[0], 1 - ref["q"]) < TOLERANCE
    assert _relative(ours.loss_calendar[0], ref["qLoss_t"]) < TOLERANCE
    assert _relative(ours.loss_cycling[0], ref["qLoss_EFC"]) < TOLERANCE
    # The same stepping, so in fact the same numbers up to floating-point rounding.
    assert ours.capacity_remaining[0] == pytest.approx(ref["q"], rel=1e-9)
    assert ours.loss_calendar[0] == pytest.approx(ref["qLoss_t"], rel=1e-9)
    assert ours.loss_cycling[0] == pytest.approx(ref["qLoss_EFC"], rel=1e-9)
    assert ours.simulated_days[0] == pytest.approx(ref["t_days"], rel=1e-12)
    assert ours.efc[0] == pytest.approx(ref["efc"], rel=1e-9)


def test_fleet_matches_blast_lite_per_vehicle(blast):
    """All profiles (standard and stress) at once per cell, and the daily trajectory."""
    profiles = {**STANDARD, **STRESS}
    horizon = min(p["soc"].size for p in profiles.values())  # the stress profiles' length
    names = list(profiles)
    t = STANDARD["driving"]["time_s"][:horizon]
    soc = np.stack([profiles[n]["soc"][:horizon] for n in names])
    temperature = np.stack([profiles[n]["temperature_c"][:horizon] for n in names])
    for cell in CELLS:
        ours = fade(cell, t, soc, temperature)
        for i, name in enumerate(names):
            if name in STRESS:  # stress profiles were run by BLAST-Lite at this length
                ref = blast[CELLS[cell].blast_class][name]
                assert ours.capacity_remaining[i] == pytest.approx(ref["q"], rel=1e-9), name
                assert _relative(ours.loss_calendar[i], ref["qLoss_t"]) < 1e-9, name
                assert _relative(ours.loss_cycling[i], ref["qLoss_EFC"]) < 1e-9, name
                expected = np.interp(
                    np.arange(1, ours.daily_capacity.shape[1] + 1),
                    ref["trajectory_t_days"],
                    ref["trajectory_q"],
                )
                np.testing.assert_allclose(ours.daily_capacity[i], expected, rtol=1e-9)


def test_astm_e1049_worked_example():
    """ASTM E1049-85 (2011), section 5.4.4 rainflow counting, example of its Fig. 6.

    Load history -2, 1, -3, 5, -1, 3, -4, 4, -2: one full cycle of range 4 (-1 -> 3) and half
    cycles of ranges 3, 4, 6, 8, 8, 9, i.e. ranges 3: 0.5, 4: 1.5, 6: 0.5, 8: 1.0, 9: 0.5
    (the table in the standard and in the ``rainflow`` package's own tests).
    """
    series = [-2, 1, -3, 5, -1, 3, -4, 4, -2]
    assert rainflow_cycles(series) == [(3, 0.5), (4, 1.5), (6, 0.5), (8, 1.0), (9, 0.5)]
    cycles = sorted((rng, count) for rng, _, count, _, _ in rainflow.extract_cycles(series))
    full = [rng for rng, count in cycles if count == 1.0]
    half = [rng for rng, count in cycles if count == 0.5]
    assert full == [4]
    assert half == [3, 4, 6, 8, 8, 9]
    assert rainflow_cycles(np.array(series, dtype=float) / 10, ndigits=6) == [
        (0.3, 0.5),
        (0.4, 1.5),
        (0.6, 0.5),
        (0.8, 1.0),
        (0.9, 0.5),
    ]


@given(
    st.lists(st.integers(min_value=0, max_value=6).map(lambda x: x / 6), min_size=3, max_size=60)
)
def test_turning_points_match_rainflow_on_raw_series(values):
    """The numpy pre-pass (reversals only) gives BLAST-Lite's turning points exactly."""
    soc = np.array(values)
    expected = np.unique([cycle[4] for cycle in rainflow.extract_cycles(soc.tolist())])
    np.testing.assert_array_equal(_turning_points(soc), expected)


def _evening_profile(days: int, v2g_depth: float, top: float = 0.8) -> np.ndarray:
    """Commute of 25 % and a V2G discharge of ``v2g_depth`` from 18:00 at 10 %/h, then charge."""
    arrive = top - 0.25
    low = max(arrive - v2g_depth, 0.0)
    end = 22.0 + (top - low) / 0.1
    day = [(7.5, top), (8.25, top - 0.125), (17.25, top - 0.125), (18.0, arrive)]
    day += [(18.0 + (arrive - low) / 0.1, low), (22.0, low)]
    if end <= 24.0:
        knots = [(0.0, top), *day, (end, top), (24.0, top)]
    else:
        midnight = low + 0.2
        knots = [(0.0, midnight), (end - 24.0, top), *day, (24.0, midnight)]
    return battery_profiles.daily_soc(sorted(set(knots)), days)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("top", [0.6, 0.8, 1.0])
def test_more_v2g_never_reduces_cycling_loss(cell, top):
    days = 60
    depths = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]
    soc = np.stack([_evening_profile(days, d, top) for d in depths])
    result = fade(cell, battery_profiles.time_s(days), soc, 20.0, daily=False)
    assert np.all(np.diff(result.loss_cycling) >= 0)
    assert np.all(np.diff(result.efc) >= 0)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_higher_temperature_never_reduces_calendar_loss(cell):
    days = 30
    t = battery_profiles.time_s(days)
    temperatures = np.array([0.0, 10.0, 20.0, 25.0, 30.0, 40.0, 45.0])
    for soc_level in (0.1, 0.3, 0.5, 0.7, 0.9, 1.0):
        soc = np.full((temperatures.size, t.size), soc_level)
        temperature = np.repeat(temperatures[:, None], t.size, axis=1)
        loss = fade(cell, t, soc, temperature, daily=False).loss_calendar
        assert np.all(np.diff(loss) >= 0), soc_level
    # also with cycling: the standard V2G day at 15 and 35 degrees C
    p = STANDARD["driving_v2g"]
    cool, warm = (fade(cell, p["time_s"][:5760], p["soc"][:5760], c) for c in (15.0, 35.0))
    assert warm.loss_calendar[0] >= cool.loss_calendar[0]


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_fade_is_monotone_in_time(cell):
    profiles = {**STANDARD, **STRESS}
    for name, p in profiles.items():
        n = p["time_s"].size
        result = fade(cell, p["time_s"], p["soc"], p["temperature_c"])
        assert np.all(np.diff(result.daily_capacity[0]) <= 0), name
        assert result.daily_capacity[0, 0] < 1.0
        shorter = fade(
            cell, p["time_s"][: n // 2], p["soc"][: n // 2], p["temperature_c"][: n // 2]
        )
        assert shorter.capacity_remaining[0] > result.capacity_remaining[0], name
        assert shorter.loss_calendar[0] < result.loss_calendar[0], name
        assert shorter.loss_cycling[0] <= result.loss_cycling[0], name


def test_capacity_is_one_minus_the_two_losses():
    p = STANDARD["driving_v2g"]
    for cell in CELLS:
        r = fade(cell, p["time_s"], p["soc"], 20.0)
        np.testing.assert_allclose(r.capacity_remaining, 1 - r.loss_calendar - r.loss_cycling)
        assert np.all(r.loss_calendar > 0) and np.all(r.loss_cycling > 0)


def test_fade_by_chemistry_groups_vehicles_by_cell():
    days = 30
    t = battery_profiles.time_s(days)
    soc = np.stack([_evening_profile(days, d) for d in (0.0, 0.1, 0.2, 0.3, 0.4)])
    chemistry = np.array(["lfp", "NMC", "nca", "nmc", "lfp"])
    mixed = fade_by_chemistry(chemistry, t, soc, 20.0)
    for i, chem in enumerate(np.char.lower(chemistry)):
        alone = fade(CHEMISTRY_CELLS[chem], t, soc[i], 20.0)
        assert mixed.capacity_remaining[i] == alone.capacity_remaining[0]
        assert mixed.loss_cycling[i] == alone.loss_cycling[0]
        np.testing.assert_array_equal(mixed.daily_capacity[i], alone.daily_capacity[0])
    assert mixed.daily_capacity.shape == (5, days - 1)  # whole days spanned by the samples


def test_every_shipped_ev_model_has_a_chemistry():
    models = ev_models()["model"].tolist()
    chemistry = chemistry_for_models(models, default=None)
    assert set(chemistry) <= set(CHEMISTRY_CELLS)
    assert chemistry_for_model("Tesla Model 3") == "lfp"
    assert chemistry_for_model("  volkswagen   ID.3 ") == "nmc"
    assert chemistry_for_model("Unknown Car") == "nmc"
    with pytest.raises(ProblemError, match="model"):
        chemistry_for_model("Unknown Car", default=None)


def test_bad_input_names_the_field():
    t = battery_profiles.time_s(3)
    soc = np.full((2, t.size), 0.5)
    with pytest.raises(ProblemError, match="cell"):
        fade("no-such-cell", t, soc, 20.0)
    with pytest.raises(ProblemError, match="soc"):
        fade("lfp_gr_250ah_prismatic", t, soc + 0.6, 20.0)
    with pytest.raises(ProblemError, match="soc"):
        fade("lfp_gr_250ah_prismatic", t, soc[:, :-1], 20.0)
    with pytest.raises(ProblemError, match="time_s"):
        fade("lfp_gr_250ah_prismatic", t[::-1], soc, 20.0)
    with pytest.raises(ProblemError, match="temperature_c"):
        fade("lfp_gr_250ah_prismatic", t, soc, np.full(5, 20.0))
    with pytest.raises(ProblemError, match="temperature_c"):
        fade("lfp_gr_250ah_prismatic", t, soc, np.nan)
    with pytest.raises(ProblemError, match="chemistry"):
        fade_by_chemistry(np.array(["lfp", "lead-acid"]), t, soc, 20.0)
