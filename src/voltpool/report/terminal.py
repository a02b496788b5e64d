"""Rich tables for the terminal: the policy comparison and the battery health."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from voltpool.battery.health import SUMMARY_LABELS, HealthReport
from voltpool.report._format import format_metric, metric_label
from voltpool.report._period import describe_period
from voltpool.report.health import format_health
from voltpool.simulate.metrics import compare
from voltpool.simulate.result import SimulationResult


def comparison_table(result: SimulationResult) -> Table:
    """Every metric of :func:`~voltpool.simulate.metrics.compare`, one column per policy.

    Labels carry their unit in round brackets (square brackets are Rich markup); names coming
    from the scenario are escaped.
    """
    frame = compare(result)
    table = Table(
        title=f"{escape(result.scenario_name)}: policy comparison",
        caption=escape(f"seed {result.seed}; {describe_period(result)}"),
        header_style="bold",
    )
    table.add_column("Metric", overflow="fold")  # labels wrap first on a narrow terminal
    for policy in frame.columns:
        table.add_column(escape(str(policy)), justify="right", no_wrap=True)
    for key, row in frame.iterrows():
        table.add_row(
            escape(metric_label(str(key))), *(format_metric(str(key), v) for v in row.to_numpy())
        )
    return table


def health_table(report: HealthReport) -> Table:
    """Rich table: one column per policy."""
    summary = report.summary()
    battery = report.battery
    table = Table(
        title=(
            f"Battery health ({report.period_days:.0f} days simulated, projected to "
            f"{battery.warranty_years:g} years; pack {battery.pack_value_per_kwh:g} EUR/kWh, "
            f"end of life at {battery.end_of_life_capacity:.0%}, {battery.temperature_c:g} °C)"
        )
    )
    table.add_column("Metric")
    for policy in summary.columns:
        table.add_column(policy, justify="right")
    for key, label in SUMMARY_LABELS.items():
        table.add_row(label, *(format_health(key, summary.at[key, p]) for p in summary.columns))
    return table


__all__ = ["comparison_table", "health_table"]
