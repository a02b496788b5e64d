"""The policy comparison as a Rich table for the terminal."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from voltpool.report._format import format_metric, metric_label
from voltpool.report._period import describe_period
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


__all__ = ["comparison_table"]
