"""Does V2G pay? The same neighbourhood simulated under each tariff preset, V2G against smart
one-way charging, per car: what V2G earned, what it cost the battery, what is left
(``voltpool value``).

    outcome = run("owner-year", ["nl-dynamic-2024", "be-flanders-capacity-2024"], Path("out/v"))

Each tariff is one complete simulation run (:func:`voltpool.service.simulation.run`) in its own
folder ``DIR/<preset>/``: the scenario with its ``[tariff]`` section replaced by the preset,
every file, report, battery health and ledger of a run. The comparison is the scenario's last
bidirectional policy against ``smart``, car by car:

- **saved**: what the street's electricity (energy and demand charge, the planner's flat wear
  price left out) cost under ``smart`` minus under V2G, shared equally by the cars: the
  homes' own load is the same under both, so the difference is what the cars did (a car that
  covers its home's evening load saves the import price, more than an export earns);
- **battery**: the capacity the car loses beyond the same car under ``smart``, from the cell
  ageing models (:mod:`voltpool.battery.health`: the period repeated to the warranty's end,
  valued as the health report values it), spread evenly over the warranty's years;
- **net** = saved - battery, per year of the period's kind (the period scaled to 365 days).

Everything is whatever it is: where V2G does not pay, the table says so and why (what an
exported kWh earned against what it cost in losses and wear).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.tariffs import tariff_presets
from voltpool.scenario import load_scenario, scenario_text
from voltpool.scenario.model import SIMULATOR_CURRENCY
from voltpool.service import simulation
from voltpool.service.run_folder import check_run_folder, staged, write_manifest
from voltpool.service.simulation import Progress, SimulationOutcome
from voltpool.simulate.metrics import compare, per_car_table

COUNTERFACTUAL = "smart"
DAYS_PER_YEAR = 365.0
HARDLY_KWH_PER_YEAR = 10.0
"""Below this much given back a car a year, V2G "hardly gives back": a saving per kWh given back
would be a ratio of small numbers, and the difference comes from charging differently."""
VALUE_FILE = "value.csv"
_TARIFF_SECTION = re.compile(r"(?m)^\[tariff\][ \t]*(?:#.*)?\n(?:(?![ \t]*\[).*(?:\n|\Z))*")
"""A scenario's ``[tariff]`` table: its header line and every line up to the next line that
opens a table (a ``[`` inside a value or a comment does not end it)."""
_DAYS = re.compile(r"(?m)^days\s*=.*$")
"""The scenario's top-level ``days`` line (the top level comes before every table)."""


@dataclass(frozen=True)
class TariffValue:
    """What V2G is worth under one tariff: per car and the neighbourhood's totals."""

    preset: str
    policy: str
    per_car: pd.DataFrame
    """One row per car (index ``vehicle_id``): ``v2g_export_kwh_per_year``, ``saved_per_year``
    (the street's saving shared equally per car), ``battery_per_year`` and
    ``battery_pct_capacity`` (the car's own), ``net_per_year``; money in EUR."""
    saved_per_kwh: float
    """The street's saving per kWh the cars gave back (NaN below :data:`HARDLY_KWH_PER_YEAR`
    a car a year). [EUR/kWh]"""
    peak_kw: tuple[float, float]
    """The neighbourhood's peak import under ``smart`` and under the V2G policy. [kW]"""
    credits_per_household: float
    """Mean V2G credits a household earned over the period (milli-credits / 1000)."""
    outcome: SimulationOutcome

    @property
    def mean(self) -> pd.Series:
        """The per-car columns averaged over the cars."""
        return self.per_car.mean(numeric_only=True)

    def verdict(self) -> str:
        """One sentence: does V2G pay under this tariff, and why (not)."""
        mean = self.mean
        if mean["v2g_export_kwh_per_year"] < HARDLY_KWH_PER_YEAR:
            return (
                f"{self.preset}: almost nothing was worth giving back "
                f"({mean['v2g_export_kwh_per_year']:.1f} kWh a car a year: the price spreads do "
                "not pay for the round trip's losses and the wear); "
                f"{mean['net_per_year']:+,.0f} EUR a car a year from charging differently"
            )
        verb = "pays" if mean["net_per_year"] > 0 else "does not pay"
        return (
            f"{self.preset}: V2G {verb}: {mean['net_per_year']:+,.0f} EUR a car a year "
            f"(saved {mean['saved_per_year']:,.0f}, battery {mean['battery_per_year']:,.0f}); "
            f"each kWh given back saved {100 * self.saved_per_kwh:.1f} ct"
        )


@dataclass(frozen=True)
class ValueOutcome:
    """Every tariff's value, and where the runs are."""

    scenario: str
    tariffs: tuple[TariffValue, ...]
    output_dir: Path
    table: Path

    def summary(self) -> pd.DataFrame:
        """One row per tariff: the per-car means, the peaks and the credits."""
        rows = {
            value.preset: {
                **value.mean.to_dict(),
                "saved_per_kwh": value.saved_per_kwh,
                "peak_kw_smart": value.peak_kw[0],
                "peak_kw_v2g": value.peak_kw[1],
                "credits_per_household": value.credits_per_household,
            }
            for value in self.tariffs
        }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("tariff")


def with_tariff(text: str, preset: str, days: int | None = None) -> str:
    """The scenario's TOML with its ``[tariff]`` table replaced by one choosing ``preset`` (and
    with ``days`` days, if given)."""
    if days is not None:
        line = f"days = {days}"
        text = _DAYS.sub(line, text, count=1) if _DAYS.search(text) else f"{line}\n{text}"
    return _TARIFF_SECTION.sub("", text).rstrip() + f'\n\n[tariff]\npreset = "{preset}"\n'


def run(
    scenario_name_or_path: str | Path,
    presets: Sequence[str],
    output_dir: Path,
    progress: Callable[[str], Progress] | None = None,
    *,
    days: int | None = None,
    replace: bool = False,
    field: str = "output_dir",
) -> ValueOutcome:
    """Simulate the scenario (for ``days`` days from its start, if given) under each preset
    into ``output_dir/<preset>/`` and compare.

    ``progress(preset)`` gives the progress callback of that tariff's run. Raises
    :class:`~voltpool.errors.ProblemError` (nothing written) for an unknown preset, a scenario
    without ``smart`` and a bidirectional policy, or an output folder that cannot hold the runs.
    """
    check_run_folder(output_dir, field, replace)
    text, source = scenario_text(scenario_name_or_path)
    scenario = load_scenario(scenario_name_or_path)
    issues = _issues(scenario.policies, presets)
    if issues:
        raise ProblemError(issues)
    policy = next(p for p in reversed(scenario.policies) if p.startswith("v2g"))
    values = []
    with staged(output_dir) as folder:
        for preset in presets:
            path = folder / f"{preset}.toml"
            path.write_text(with_tariff(text, preset, days), encoding="utf-8")
            callback = progress(preset) if progress else simulation.ignore_progress
            outcome = simulation.run(
                path, folder / preset, progress=callback, source=f"{source}, tariff {preset}"
            )
            path.unlink()
            values.append(tariff_value(preset, policy, outcome))
        summary = ValueOutcome(scenario.name, tuple(values), output_dir, output_dir / VALUE_FILE)
        summary.summary().to_csv(folder / VALUE_FILE)
        write_manifest(
            folder, scenario=scenario.name, source=source, tariffs=list(presets), days=days
        )
    return ValueOutcome(
        scenario.name,
        tuple(_moved(value, folder, output_dir) for value in values),
        output_dir,
        output_dir / VALUE_FILE,
    )


def tariff_value(preset: str, policy: str, outcome: SimulationOutcome) -> TariffValue:
    """V2G (``policy``) against ``smart`` in one run (see the module docstring)."""
    runs = outcome.result.runs
    smart, v2g = runs[COUNTERFACTUAL], runs[policy]
    per_year = DAYS_PER_YEAR / outcome.scenario.days
    metrics = compare(outcome.result)
    money = metrics.loc["energy_cost_eur"] + metrics.loc["peak_cost_eur"]
    saved = float(money[COUNTERFACTUAL] - money[policy])
    cars = per_car_table(v2g)
    health = outcome.health.per_car().set_index("vehicle_id")
    health = health[health["policy"] == policy].reindex(cars.index)
    exported_kwh = float(cars["v2g_export_kwh"].sum())
    table = pd.DataFrame(
        {
            "v2g_export_kwh_per_year": cars["v2g_export_kwh"] * per_year,
            "saved_per_year": saved / len(cars) * per_year,
            "battery_per_year": health["extra_fade_eur"] / outcome.health.battery.warranty_years,
            "battery_pct_capacity": 100 * health["extra_fade_kwh"] / health["capacity_kwh"],
        },
        index=cars.index,
    )
    table["net_per_year"] = table["saved_per_year"] - table["battery_per_year"]
    credits = outcome.settled.get(policy)
    earned = 0.0 if credits is None else float(credits[0]["earned"].mean()) / 1000.0
    peaks = (float(np.max(smart.site_net_load_kw)), float(np.max(v2g.site_net_load_kw)))
    hardly = exported_kwh * per_year < HARDLY_KWH_PER_YEAR * len(cars)
    worth = float("nan") if hardly else saved / exported_kwh
    return TariffValue(preset, policy, table, worth, peaks, earned, outcome)


def _issues(policies: Sequence[str], presets: Sequence[str]) -> list[FieldIssue]:
    known = tariff_presets()
    issues = [
        FieldIssue("--tariff", f"{preset!r} is not a tariff preset ({', '.join(known)})")
        for preset in presets
        if preset not in known
    ]
    issues += [
        FieldIssue(
            "--tariff",
            f"{preset!r} prices in {known[preset].currency}; the simulator accounts in "
            f"{SIMULATOR_CURRENCY}",
        )
        for preset in presets
        if preset in known and known[preset].currency != SIMULATOR_CURRENCY
    ]
    if not presets:
        issues.append(FieldIssue("--tariff", "name at least one tariff preset"))
    if len(set(presets)) != len(presets):
        issues.append(FieldIssue("--tariff", "a preset is named twice"))
    if COUNTERFACTUAL not in policies or not any(p.startswith("v2g") for p in policies):
        issues.append(
            FieldIssue(
                "policies",
                f"must include {COUNTERFACTUAL!r} and a V2G policy to compare (has "
                f"{', '.join(policies)})",
            )
        )
    return issues


def _moved(value: TariffValue, staging: Path, final: Path) -> TariffValue:
    """``value`` with its run's paths where the swap put them (``staging`` became ``final``)."""
    outcome = value.outcome

    def moved(path: Path) -> Path:
        return final / path.relative_to(staging)

    return dataclasses.replace(
        value,
        outcome=dataclasses.replace(
            outcome,
            output_dir=moved(outcome.output_dir),
            timeseries=tuple(moved(path) for path in outcome.timeseries),
            scenario_file=moved(outcome.scenario_file),
            cars_file=moved(outcome.cars_file),
            health_file=moved(outcome.health_file),
            report=moved(outcome.report),
        ),
    )
