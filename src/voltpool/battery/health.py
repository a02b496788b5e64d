"""Battery health per car: what each charging policy costs the battery, in kWh and in money.

For every policy the cars' simulated SoC traces go through the cell ageing model of their
chemistry (:func:`voltpool.battery.fade_by_chemistry`, BLAST-Lite's models): capacity fade over
the simulated period split into its calendar and cycling parts, and the same period repeated
until the end of the warranty, against the end-of-life threshold. The **counterfactual** is the
same cars on the same trips with smart one-way charging (``smart``): a policy's extra wear is the
capacity it has lost by the end of the warranty beyond the counterfactual's, valued with the one
valuation of wear the LP's costs use too (:func:`voltpool.battery.valuation.value_per_fade_per_kwh`;
by default the pack's value per kWh of capacity lost), and divided by the energy the car gave
back over those years.
(Differences over one simulated week of a new battery would exaggerate: fade is steepest at the
start of life.) Each repetition of the period is detrended so that it ends at the SoC it started
from: a jump at the seam would add an artificial cycle every period.

Assumptions, stated because they matter: cars start new; the cell temperature is one constant
(no thermal model, no pack buffer, no knee: BLAST-Lite's fitted cells age smoothly); the period's
SoC pattern repeats unchanged for the whole projection. :attr:`HealthReport.warnings` names every
cell whose fitted temperature range the battery temperature is outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from voltpool.battery.ageing import fade_by_chemistry
from voltpool.battery.cells import temperature_warnings
from voltpool.battery.valuation import DEFAULT_VALUATION, value_per_fade_per_kwh

SECONDS_PER_YEAR = 365 * 86_400.0
COUNTERFACTUAL = "smart"


class BatterySpec(Protocol):
    """What the health report needs of the fleet's batteries (a scenario's ``[battery]``)."""

    pack_value_per_kwh: float
    end_of_life_capacity: float
    temperature_c: float
    warranty_years: float


@dataclass(frozen=True, eq=False)
class PolicyHealth:
    """Per car [N]: fade over the period and projected to the warranty's end."""

    policy: str
    loss_calendar: np.ndarray
    loss_cycling: np.ndarray
    capacity_at_warranty: np.ndarray
    v2g_kwh: np.ndarray

    @property
    def loss_total(self) -> np.ndarray:
        return self.loss_calendar + self.loss_cycling


@dataclass(frozen=True, eq=False)
class HealthReport:
    """Battery health of every policy, with the V2G policies compared to the counterfactual."""

    vehicle_ids: tuple[str, ...]
    chemistry: np.ndarray
    capacity_kwh: np.ndarray
    battery: BatterySpec
    period_days: float
    policies: dict[str, PolicyHealth]
    counterfactual: str
    valuation: str = DEFAULT_VALUATION

    @property
    def value_per_fade_per_kwh(self) -> float:
        """What one unit of relative fade costs per kWh of capacity. [EUR/kWh]"""
        battery = self.battery
        return value_per_fade_per_kwh(
            battery.pack_value_per_kwh, battery.end_of_life_capacity, self.valuation
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """One per cell of the fleet whose fitted temperature range excludes the battery's."""
        return temperature_warnings(self.chemistry.tolist(), self.battery.temperature_c)

    @property
    def repetitions(self) -> float:
        """How many periods make the warranty."""
        return self.battery.warranty_years * 365.0 / self.period_days

    def per_car(self) -> pd.DataFrame:
        """One row per car and policy: fade, projection and the V2G cost against smart."""
        base = self.policies[self.counterfactual]
        frames = []
        for name, health in self.policies.items():
            extra_loss = base.capacity_at_warranty - health.capacity_at_warranty
            extra_kwh = extra_loss * self.capacity_kwh
            extra_eur = extra_kwh * self.value_per_fade_per_kwh
            lifetime_v2g = health.v2g_kwh * self.repetitions
            with np.errstate(divide="ignore", invalid="ignore"):
                per_kwh = np.where(lifetime_v2g > 1e-6, extra_eur / lifetime_v2g, np.nan)
            frames.append(
                pd.DataFrame(
                    {
                        "policy": name,
                        "vehicle_id": list(self.vehicle_ids),
                        "chemistry": self.chemistry,
                        "capacity_kwh": self.capacity_kwh,
                        "fade_calendar_pct": 100 * health.loss_calendar,
                        "fade_cycling_pct": 100 * health.loss_cycling,
                        "v2g_kwh": health.v2g_kwh,
                        "v2g_kwh_warranty": lifetime_v2g,
                        "extra_fade_kwh": extra_kwh,
                        "extra_fade_eur": extra_eur,
                        "extra_fade_eur_per_v2g_kwh": per_kwh,
                        "capacity_at_warranty_pct": 100 * health.capacity_at_warranty,
                        "above_end_of_life": health.capacity_at_warranty
                        >= self.battery.end_of_life_capacity,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Fleet totals per policy (columns), in report order (rows)."""
        cars = self.per_car()
        rows = {}
        for name, group in cars.groupby("policy", sort=False):
            v2g = group["v2g_kwh_warranty"].sum()
            extra = group["extra_fade_eur"].sum()
            rows[name] = {
                "fade_calendar_pct_mean": group["fade_calendar_pct"].mean(),
                "fade_cycling_pct_mean": group["fade_cycling_pct"].mean(),
                "extra_fade_kwh_total": group["extra_fade_kwh"].sum(),
                "extra_fade_eur_total": extra,
                "v2g_kwh_total": group["v2g_kwh"].sum(),
                "v2g_kwh_warranty_total": v2g,
                "extra_fade_eur_per_v2g_kwh": extra / v2g if v2g > 1e-6 else np.nan,
                "capacity_at_warranty_pct_mean": group["capacity_at_warranty_pct"].mean(),
                "capacity_at_warranty_pct_min": group["capacity_at_warranty_pct"].min(),
                "cars_below_end_of_life": float((~group["above_end_of_life"]).sum()),
            }
        return pd.DataFrame(rows)


SUMMARY_LABELS = {
    "fade_calendar_pct_mean": "Calendar fade over the period, mean (%)",
    "fade_cycling_pct_mean": "Cycling fade over the period, mean (%)",
    "v2g_kwh_total": "V2G given back over the period (kWh)",
    "v2g_kwh_warranty_total": "  repeated to the warranty's end (kWh)",
    "extra_fade_kwh_total": "Capacity lost beyond smart by then, all cars (kWh)",
    "extra_fade_eur_total": "  valued at the pack price (EUR)",
    "extra_fade_eur_per_v2g_kwh": "Extra wear per kWh given back (EUR/kWh)",
    "capacity_at_warranty_pct_mean": "Capacity at warranty end, mean (%)",
    "capacity_at_warranty_pct_min": "Capacity at warranty end, worst car (%)",
    "cars_below_end_of_life": "Cars below the warranty threshold",
}


def repeat_to(soc: np.ndarray, dt_h: float, years: float) -> tuple[np.ndarray, np.ndarray]:
    """Repeat a SoC trace ``[N, T+1]`` (one period) until ``years``; returns time_s and SoC.

    The period is detrended first (a ramp from 0 to ``soc[0] - soc[T]``) so that repetitions
    join without a jump.
    """
    steps = soc.shape[1] - 1
    drift = (soc[:, :1] - soc[:, -1:]) * (np.arange(steps) / steps)
    period = np.clip(soc[:, :-1] + drift, 0.0, 1.0)
    slots = int(np.ceil(years * SECONDS_PER_YEAR / (dt_h * 3600.0)))
    reps = int(np.ceil((slots + 1) / period.shape[1]))
    tiled = np.tile(period, (1, reps))[:, : slots + 1]
    return np.arange(tiled.shape[1]) * dt_h * 3600.0, tiled


def health_report(
    soc_by_policy: dict[str, np.ndarray],
    v2g_kwh_by_policy: dict[str, np.ndarray],
    dt_h: float,
    vehicle_ids: tuple[str, ...],
    chemistry: np.ndarray,
    capacity_kwh: np.ndarray,
    battery: BatterySpec,
    valuation: str = DEFAULT_VALUATION,
    aged: dict[str, PolicyHealth] | None = None,
) -> HealthReport:
    """Fade per car and policy from SoC traces ``[N, T+1]`` (see the module docstring).

    The counterfactual is ``smart`` when simulated, else the first policy; ``valuation`` is
    ``"capacity"`` or ``"replacement"`` (:mod:`voltpool.battery.valuation`). ``aged``: the
    :func:`policy_health` of policies already aged elsewhere (their traces are not aged again).
    """
    # refuse a bad valuation before the ageing runs
    value_per_fade_per_kwh(battery.pack_value_per_kwh, battery.end_of_life_capacity, valuation)
    aged = aged or {}
    to_age = [name for name in soc_by_policy if name not in aged]
    policies = {
        **aged,
        **policy_health(
            {name: soc_by_policy[name] for name in to_age},
            {name: v2g_kwh_by_policy[name] for name in to_age},
            dt_h,
            chemistry,
            battery,
        ),
    }
    policies = {name: policies[name] for name in soc_by_policy}  # in the callers' order
    counterfactual = COUNTERFACTUAL if COUNTERFACTUAL in policies else next(iter(policies))
    first_soc = next(iter(soc_by_policy.values()))
    return HealthReport(
        vehicle_ids=tuple(vehicle_ids),
        chemistry=np.asarray(chemistry),
        capacity_kwh=np.asarray(capacity_kwh, dtype=float),
        battery=battery,
        period_days=(first_soc.shape[1] - 1) * dt_h / 24.0,
        policies=policies,
        counterfactual=counterfactual,
        valuation=valuation,
    )


def policy_health(
    soc_by_policy: dict[str, np.ndarray],
    v2g_kwh_by_policy: dict[str, np.ndarray],
    dt_h: float,
    chemistry: np.ndarray,
    battery: BatterySpec,
) -> dict[str, PolicyHealth]:
    """Each policy's fade over the period and projected to the warranty's end, from SoC traces
    ``[N, T+1]`` (see the module docstring)."""
    # Policies with traces of one length age in one run per chemistry (the model ages each car
    # on its own, so stacking them changes no number and halves the steps of two policies).
    by_length: dict[int, list[str]] = {}
    for name, soc in soc_by_policy.items():
        by_length.setdefault(np.shape(soc)[1], []).append(name)
    policies: dict[str, PolicyHealth] = {}
    for names in by_length.values():
        soc = np.vstack([soc_by_policy[name] for name in names])
        cars = np.tile(np.asarray(chemistry), len(names))
        time_s = np.arange(soc.shape[1]) * dt_h * 3600.0
        period = fade_by_chemistry(cars, time_s, soc, battery.temperature_c, daily=False)
        long_time, long_soc = repeat_to(soc, dt_h, battery.warranty_years)
        projected = fade_by_chemistry(cars, long_time, long_soc, battery.temperature_c, daily=False)
        for name, rows in zip(names, np.split(np.arange(soc.shape[0]), len(names)), strict=True):
            policies[name] = PolicyHealth(
                policy=name,
                loss_calendar=period.loss_calendar[rows],
                loss_cycling=period.loss_cycling[rows],
                capacity_at_warranty=projected.capacity_remaining[rows],
                v2g_kwh=np.asarray(v2g_kwh_by_policy[name], dtype=float),
            )
    return policies


def health_from_runs(
    runs: dict[str, object],
    chemistry: np.ndarray,
    battery: BatterySpec,
    valuation: str = DEFAULT_VALUATION,
) -> HealthReport:
    """:func:`health_report` of simulated :class:`~voltpool.simulate.result.PolicyRun` objects
    (a run that carries its ``health`` is not aged again)."""
    first = next(iter(runs.values()))
    return health_report(
        {name: run.soc for name, run in runs.items()},  # type: ignore[attr-defined]
        {name: run_v2g_kwh(run) for name, run in runs.items()},
        first.dt_h,  # type: ignore[attr-defined]
        first.vehicle_ids,  # type: ignore[attr-defined]
        chemistry,
        first.capacity_kwh,  # type: ignore[attr-defined]
        battery,
        valuation,
        aged={
            name: run.health  # type: ignore[attr-defined]
            for name, run in runs.items()
            if getattr(run, "health", None) is not None
        },
    )


def run_health(name: str, run: object, chemistry: np.ndarray, battery: BatterySpec) -> PolicyHealth:
    """:func:`policy_health` of one simulated run
    (a :class:`~voltpool.simulate.result.PolicyRun`)."""
    return policy_health(
        {name: run.soc},  # type: ignore[attr-defined]
        {name: run_v2g_kwh(run)},
        run.dt_h,  # type: ignore[attr-defined]
        chemistry,
        battery,
    )[name]


def run_v2g_kwh(run: object) -> np.ndarray:
    """Energy each car of a run discharged, AC side (V2G, V2V and V2H) ``[N]``. [kWh]"""
    return run.dt_h * np.maximum(-run.power_kw, 0.0).sum(axis=1)  # type: ignore[attr-defined]
