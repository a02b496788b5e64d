"""Long runs in the report: drawn as means over whole groups of slots, energy kept, limits at
their tightest, states read at the edges, and the page says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from synthetic_runs import make_result
from voltpool.report import _period as period
from voltpool.report import write_html_report
from voltpool.report._period import chart_time

ZONE = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def run():
    return next(iter(make_result(seed=5).runs.values()))


def test_a_short_run_is_drawn_slot_by_slot(run) -> None:
    axis = chart_time(run, ZONE)
    assert not axis.grouped and axis.note() == ""
    assert axis.edges.size == len(run.index) + 1
    np.testing.assert_array_equal(axis.means(run.site_net_load_kw)[:-1], run.site_net_load_kw)


def test_a_long_run_is_drawn_as_means_that_keep_the_energy(run) -> None:
    n_slots = len(run.index)
    axis = chart_time(run, ZONE, max_points=n_slots // 3)
    assert axis.grouped and axis.edges.size - 1 <= n_slots // 3
    assert axis.group_minutes in period.GROUP_MINUTES
    counts = np.diff(np.append(axis.starts, n_slots))
    load = run.site_net_load_kw
    drawn = axis.means(load)
    assert drawn.size == axis.edges.size  # a step line: the last value held to the end
    assert np.isclose((drawn[:-1] * counts).sum(), load.sum())  # kWh kept
    lowest = axis.lowest(run.import_limit_kw)[:-1]
    for k, start in enumerate(axis.starts):
        group = slice(start, start + counts[k])
        assert lowest[k] == np.min(run.import_limit_kw[group])
    soc = run.soc[0]
    np.testing.assert_array_equal(axis.states(soc), np.append(soc[axis.starts], soc[-1]))
    first, last = axis.edges[0], axis.edges[-1]
    full = chart_time(run, ZONE, max_points=n_slots)
    assert first == full.edges[0] and last == full.edges[-1]


def test_the_report_of_a_long_run_says_how_it_is_drawn(tmp_path: Path, monkeypatch) -> None:
    result = make_result(seed=5)
    n_slots = len(next(iter(result.runs.values())).index)
    whole = write_html_report(result, tmp_path / "whole.html", timezone=ZONE)
    monkeypatch.setattr(period, "MAX_CHART_POINTS", n_slots // 4)
    grouped = write_html_report(result, tmp_path / "grouped.html", timezone=ZONE)
    text = grouped.read_text("utf-8")
    assert "means (the tables count every slot" in text
    assert "means (the tables count every slot" not in whole.read_text("utf-8")
    library = len(get_plotlyjs().encode("utf-8"))  # inlined in both
    assert grouped.stat().st_size - library < 0.6 * (whole.stat().st_size - library)
