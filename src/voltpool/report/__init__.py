"""Reports of a simulation: CSV/Parquet time series and one HTML file; the terminal tables
(Rich) are in :mod:`voltpool.report.terminal`, imported only by the CLI."""

from __future__ import annotations

from voltpool.report._format import format_metric, metric_label
from voltpool.report.cars import soc_cars
from voltpool.report.html import write_html_report
from voltpool.report.timeseries import site_timeseries, vehicle_timeseries, write_timeseries

__all__ = [
    "format_metric",
    "metric_label",
    "site_timeseries",
    "soc_cars",
    "vehicle_timeseries",
    "write_html_report",
    "write_timeseries",
]
