"""Standard one-year SoC profiles for the battery-ageing tests (numpy only).

Imported both by ``tests/test_battery.py`` (project venv, numpy 2) and by
``tests/blast_reference/reference.py`` (BLAST-Lite venv, numpy 1.26), so it must not import
voltpool or anything beyond numpy.

Both standard profiles are 365 days at 15-minute steps (35,040 samples, ``time_s`` starts at 0),
every day identical, at a fixed cell temperature of 20 °C (a thermally managed pack in a
temperate climate):

- ``driving``: plugged in at home overnight, commute on every day. Leave at 07:30 at 80 %,
  drive 45 minutes to work (-12.5 %), drive 45 minutes back from 17:15 (-12.5 %), arrive 18:00
  at 55 %; charge 22:00-00:30 at 10 %/h back to 80 %.
- ``driving_v2g``: the same commute plus a daily 30 % V2G discharge at the evening peak,
  18:00-21:00 at 10 %/h (55 % -> 25 %), then recharge 22:00-03:30 at 10 %/h back to 80 %.

SoC is a fraction 0..1, time in seconds, temperature in °C. ``stress_profiles`` adds varied
profiles (seasonal temperature, irregular days, deep and frequent cycling) that exercise the
parts of BLAST-Lite's stepping the standard profiles do not reach.
"""

from __future__ import annotations

import numpy as np

DT_S = 900.0
DAYS = 365
STEPS_PER_DAY = 96
TEMPERATURE_C = 20.0
PROFILE_NAMES = ("driving", "driving_v2g")

# (hour of day, SoC) knots of one day; SoC is linear between knots and 24:00 equals 00:00.
_DRIVING_KNOTS = [
    (0.0, 0.75),
    (0.5, 0.80),
    (7.5, 0.80),
    (8.25, 0.675),
    (17.25, 0.675),
    (18.0, 0.55),
    (22.0, 0.55),
    (24.0, 0.75),
]
_V2G_KNOTS = [
    (0.0, 0.45),
    (3.5, 0.80),
    (7.5, 0.80),
    (8.25, 0.675),
    (17.25, 0.675),
    (18.0, 0.55),
    (21.0, 0.25),
    (22.0, 0.25),
    (24.0, 0.45),
]


def time_s(days: int = DAYS, dt_s: float = DT_S) -> np.ndarray:
    """Sample times [s] of ``days`` days at ``dt_s`` steps, starting at 0."""
    return np.arange(round(days * 86400.0 / dt_s)) * dt_s


def daily_soc(knots: list[tuple[float, float]], days: int = DAYS, dt_s: float = DT_S) -> np.ndarray:
    """SoC [0..1] at each sample of ``days`` identical days given by (hour, SoC) knots."""
    hour_of_day = (time_s(days, dt_s) / 3600.0) % 24.0
    hours, socs = zip(*knots, strict=True)
    return np.round(np.interp(hour_of_day, hours, socs), 12)


def standard_profiles(days: int = DAYS) -> dict[str, dict[str, np.ndarray]]:
    """The two standard profiles as ``{name: {"time_s", "soc", "temperature_c"}}``."""
    t = time_s(days)
    out = {}
    for name, knots in zip(PROFILE_NAMES, (_DRIVING_KNOTS, _V2G_KNOTS), strict=True):
        out[name] = {
            "time_s": t,
            "soc": daily_soc(knots, days),
            "temperature_c": np.full(t.size, TEMPERATURE_C),
        }
    return out


def stress_profiles(days: int = 120, seed: int = 7) -> dict[str, dict[str, np.ndarray]]:
    """Irregular profiles that reach BLAST-Lite's less common paths.

    - ``irregular``: random departure times, trip energies and V2G depths, some days parked,
      charging at 15 %/h to a random target; some days end at 100 % or empty the battery, so
      BLAST-Lite's SoC rescaling clips at 1 and at 0; seasonal temperature 2..32 °C.
    - ``heavy``: two deep cycles a day (> 1 equivalent full cycle between turning points, so
      BLAST-Lite's EFC breakpoints are used), 35 °C.
    - ``parked``: long rests at constant SoC (breakpoints added only at the next turning point),
      then a few cycles, 10 °C.
    """
    rng = np.random.default_rng(seed)
    t = time_s(days)
    n = t.size
    hour = (t / 3600.0) % 24.0
    day = (t // 86400).astype(int)

    # irregular: step through the days; each night charge at 10 %/h to a random target.
    rate_per_step = 0.1 * DT_S / 3600.0
    irregular_soc = np.empty(n)
    soc = 0.7
    for d in range(days):
        parked = rng.random() < 0.15
        leave, back = rng.uniform(6.0, 9.5), rng.uniform(16.0, 19.0)
        trip = 0.0 if parked else rng.uniform(0.05, 0.35)
        trip = 1.6 if rng.random() < 0.07 else trip  # a long trip that empties the battery
        v2g = rng.uniform(0.0, 0.4) if rng.random() < 0.6 else 0.0
        target = 1.0 if rng.random() < 0.3 else rng.uniform(0.6, 1.0)
        for k in np.flatnonzero(day == d):
            h = hour[k]
            if leave <= h < leave + 0.75 or back <= h < back + 0.75:
                soc -= trip / 6.0  # three 15-minute steps per drive
            elif 19.0 <= h < 21.0:
                soc -= v2g / 8.0
            elif h >= 22.0 or h < 5.0:
                soc = min(soc + rate_per_step * 1.5, max(target, soc))
            soc = min(max(soc, 0.0), 1.0)
            irregular_soc[k] = soc
    irregular_t = 17.0 + 15.0 * np.sin(2 * np.pi * (t / 86400.0 - 100.0) / 365.0)

    heavy_knots = [(0.0, 0.95), (3.0, 0.05), (6.0, 0.95), (12.0, 0.95), (15.0, 0.1)]
    heavy_knots += [(19.0, 0.9), (24.0, 0.95)]
    heavy_soc = daily_soc(heavy_knots, days)

    parked_soc = np.full(n, 0.9)
    cycling = (day >= 40) & (day < 45)
    parked_soc[cycling] = daily_soc(_V2G_KNOTS, days)[cycling]
    parked_soc[day >= 45] = parked_soc[np.flatnonzero(cycling)[-1]]
    parked_soc[day >= 90] = 0.3

    return {
        "irregular": {
            "time_s": t,
            "soc": np.round(irregular_soc, 12),
            "temperature_c": irregular_t,
        },
        "heavy": {"time_s": t, "soc": heavy_soc, "temperature_c": np.full(n, 35.0)},
        "parked": {"time_s": t, "soc": parked_soc, "temperature_c": np.full(n, 10.0)},
    }
