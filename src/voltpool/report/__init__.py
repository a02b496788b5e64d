"""Reports of a simulation: a terminal table, CSV/Parquet time series and one HTML file."""

from __future__ import annotations

from voltpool.report._format import format_metric, metric_label
from voltpool.report.html import soc_cars, write_html_report
from voltpool.report.terminal import comparison_table
from voltpool.report.timeseries import site_timeseries, vehicle_timeseries, write_timeseries

__all__ = [
    "comparison_table",
    "format_metric",
    "metric_label",
    "site_timeseries",
    "soc_cars",
    "vehicle_timeseries",
    "write_html_report",
    "write_timeseries",
]
