"""The simulation report as a page to read: headline numbers first, local time named with its
zone on every time axis, one colour per policy everywhere, every car and its household to pick,
the away bands drawn, long tables folded, headings in order and header cells with a scope.

The charts are read back from the page itself (the arguments of each ``Plotly.newPlot``) and
the per-car views from the packed JSON the page carries; expectations come from the synthetic
run (its trips, its arrays), not from the report's code.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import html
import itertools
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthetic_runs import POLICIES, TRIPS, make_result
from voltpool.battery.health import health_from_runs
from voltpool.report import format_metric, soc_cars, write_html_report
from voltpool.report._tables import LONG_TABLE_ROWS
from voltpool.report.figures import POLICY_COLORS, policy_colors
from voltpool.report.headline import HEADLINE_METRICS
from voltpool.scenario.model import BatterySpec
from voltpool.simulate.metrics import compare

ZONE = "Europe/Amsterdam"
OUTAGE_SLOTS = slice(70, 78)  # Monday 17:30-19:30 UTC: home-2 cut off, its load shed


def with_outage(result):
    """The synthetic result with home-2 cut off for two hours under every policy, its whole
    load shed (a plain outage; enough for the report's outage section)."""
    runs = {}
    for policy, run in result.runs.items():
        islanded = np.zeros_like(run.home_load_kw, dtype=bool)
        islanded[1, OUTAGE_SLOTS] = True
        shed = np.where(islanded, run.home_load_kw, 0.0)
        runs[policy] = dataclasses.replace(
            run, islanded=islanded, shed_kw=shed, shed_critical_kw=0.5 * shed
        )
    return dataclasses.replace(result, runs=runs)


@pytest.fixture(scope="module")
def result():
    return with_outage(make_result(seed=11))


@pytest.fixture(scope="module")
def credits() -> dict[str, tuple[pd.DataFrame, Any]]:
    """A credit table longer than a table may be before it is folded."""
    rows = LONG_TABLE_ROWS + 8
    table = pd.DataFrame(
        {"earned": np.arange(rows) * 1000, "balance": np.arange(rows) * 500},
        index=pd.Index([f"home-{n:03d}" for n in range(rows)], name="home_id"),
    )
    return {"v2g": (table, SimpleNamespace(ok=True, transfers=7))}


@pytest.fixture(scope="module")
def page(result, credits, tmp_path_factory) -> str:
    health = health_from_runs(result.runs, np.array(["nmc", "lfp", "nmc"]), BatterySpec())
    path = tmp_path_factory.mktemp("page") / "report.html"
    write_html_report(result, path, health=health, credits=credits, timezone=ZONE)
    return path.read_text(encoding="utf-8")


def array(value: Any) -> np.ndarray:
    """A trace's array as plotly writes it: a list, or a typed array in base64."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def figures(text: str) -> dict[str, dict[str, Any]]:
    """Every chart of the page by its div id: ``{"data": [...], "layout": {...}}``."""
    decoder = json.JSONDecoder()
    found = {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', text):
        data, end = decoder.raw_decode(text, match.end())
        comma = re.compile(r"\s*,\s*").match(text, end)
        layout, _ = decoder.raw_decode(text, comma.end())
        found[match.group(1)] = {"data": data, "layout": layout}
    return found


def views(text: str) -> dict[str, dict[str, Any]]:
    """The per-car views the page carries (gzipped JSON in base64)."""
    packed = re.search(r'<script type="text/plain" id="voltpool-car-views">([^<]*)</script>', text)
    return json.loads(gzip.decompress(base64.b64decode(packed.group(1))))


def local(result, hours: float) -> pd.Timestamp:
    """The wall-clock time in ZONE ``hours`` after the run's start, without offset."""
    start = next(iter(result.runs.values())).index[0]
    return (start + pd.Timedelta(hours=hours)).tz_convert(ZONE).tz_localize(None)


def expected_away(result, n: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Car ``n``'s trips of the synthetic run as local (leave, back) times."""
    return [(local(result, leave), local(result, back)) for leave, back, *_ in TRIPS[n]]


def bands(shapes: list[dict[str, Any]], xref: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [
        (pd.Timestamp(s["x0"]), pd.Timestamp(s["x1"]))
        for s in shapes
        if s["xref"] == xref and s["type"] == "rect"
    ]


def test_the_soc_chart_draws_a_band_for_every_stretch_a_car_is_away(result, page) -> None:
    """The grey "car away" bands the note and the legend promise: one per trip of each car
    shown, from the slot it leaves to the slot it comes back, over its own row."""
    layout = figures(page)["voltpool-figure-1"]["layout"]
    shapes = layout["shapes"]
    cars = soc_cars(result)
    assert len(cars) == 3
    for row, n in enumerate(cars, start=1):
        xref = "x" if row == 1 else f"x{row}"
        assert bands(shapes, xref) == expected_away(result, n)
        assert {s["yref"] for s in shapes if s["xref"] == xref} == {f"y{xref[1:]} domain"}
    assert len(shapes) == sum(len(TRIPS[n]) for n in cars)
    legend = [s for s in shapes if s.get("showlegend")]
    assert [s["name"] for s in legend] == ["Car away"]
    assert "Grey bands: car away" in page


def test_every_time_axis_is_local_time_named_with_its_zone(page) -> None:
    """Each chart over time says its zone on its time axis and in every hover label."""
    timed = []
    for div, figure in figures(page).items():
        xs = [trace.get("x") for trace in figure["data"]]
        if not any(
            isinstance(x, list) and x and re.match(r"\d{4}-\d\d-\d\d", str(x[0])) for x in xs
        ):
            continue
        timed.append(div)
        axes = {k: v for k, v in figure["layout"].items() if re.fullmatch(r"xaxis\d*", k)}
        titles = [axis.get("title", {}).get("text") for axis in axes.values()]
        assert f"Local time ({ZONE})" in titles, div
        assert all(axis["hoverformat"].endswith(f"({ZONE})") for axis in axes.values()), div
    assert sorted(timed) == [
        "voltpool-figure-0",
        "voltpool-figure-1",
        "voltpool-figure-cars",
        "voltpool-figure-outage",
    ]
    assert "UTC" not in json.dumps(figures(page)["voltpool-figure-outage"]["layout"])


def test_the_outage_chart_is_in_local_time(result, page) -> None:
    x = figures(page)["voltpool-figure-outage"]["data"][0]["x"]
    first_cut = local(result, OUTAGE_SLOTS.start * 0.25)
    assert first_cut in [pd.Timestamp(t) for t in x]


def policy_of(trace: dict[str, Any]) -> str | None:
    """The policy a trace draws, by its legend group or its name (``v2g: site net load``)."""
    name = str(trace.get("name", ""))
    for policy in POLICIES:
        if policy in (trace.get("legendgroup"), name) or name.startswith(f"{policy}:"):
            return policy
    return None


def test_each_policy_has_one_colour_in_every_chart_tile_and_table(page) -> None:
    colors = policy_colors(POLICIES)
    assert len(set(colors.values())) == len(POLICIES)
    drawn: dict[str, set[str]] = {p: set() for p in POLICIES}
    for div, figure in figures(page).items():
        for trace in figure["data"]:
            policy = policy_of(trace)
            color = trace.get("line", {}).get("color") or trace.get("marker", {}).get("color")
            if policy is not None:
                drawn[policy].add(color)
            elif isinstance(color, list):  # one bar per policy
                assert color == [colors[p] for p in trace["x"]], div
                for p, c in zip(trace["x"], color, strict=True):
                    drawn[p].add(c)
    assert drawn == {p: {c} for p, c in colors.items()}
    pairs = re.findall(
        r'<span class="swatch" style="background:(#[0-9A-Fa-f]{6})"[^>]*></span>([^<]+)<', page
    )
    assert {name for _, name in pairs} == set(POLICIES)  # tiles, tables and headings
    assert all(colors[name] == color for color, name in pairs)


def contrast(color: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(hex_color: str) -> float:
        channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(color), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_policy_colours_stand_out_on_the_white_charts() -> None:
    """WCAG 2.2 1.4.11: lines and bars at least 3:1 against the plot's white."""
    assert all(contrast(c) >= 3.0 for c in POLICY_COLORS)
    assert len(set(POLICY_COLORS)) == len(POLICY_COLORS)
    many = [f"p{n}" for n in range(len(POLICY_COLORS) + 1)]
    assert policy_colors(many)[many[-1]] == POLICY_COLORS[0]  # repeats in order


def test_the_headline_tiles_come_first_and_show_the_computed_metrics(result, page) -> None:
    metrics = compare(result)
    assert page.index('id="headline"') < page.index('id="about"') < page.index("voltpool-figure-0")
    tiles = dict(
        re.findall(r'<article class="tile" data-metric="([a-z0-9_]+)">(.*?)</article>', page)
    )
    assert list(tiles) == list(HEADLINE_METRICS)
    for key, tile in tiles.items():
        lines = re.findall(r"<dt>(?:<span[^>]*></span>)?([^<]+)</dt><dd>([^<]+)</dd>", tile)
        assert lines == [(p, format_metric(key, metrics.at[key, p])) for p in POLICIES], key
        assert html.escape(HEADLINE_METRICS[key]) in tile


def test_every_car_can_be_picked_with_its_household(result, page) -> None:
    """The list groups the cars by household; each car's view holds its own series, its
    household's import (its load, both its cars, no shed outside the outage) and its bands."""
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page)
    assert [(home, re.findall(r'value="([^"]+)"', options)) for home, options in groups] == [
        ("home-1", ["ev-a", "ev-b"]),
        ("home-2", ["ev-c"]),
    ]
    first = result.runs["uncontrolled"]
    every = views(page)
    assert list(every) == ["ev-a", "ev-b", "ev-c"]
    for n, car in enumerate(first.vehicle_ids):
        view = every[car]
        assert bands(view["shapes"], "x2") == expected_away(result, n)
        assert bands(view["shapes"], "x3") == expected_away(result, n)
        home = int(first.vehicle_home[n])
        mates = first.vehicle_home == home
        for policy, run in result.runs.items():
            np.testing.assert_allclose(view["y"][f"soc:{policy}"], 100 * run.soc[n], atol=0.05)
            np.testing.assert_allclose(
                view["y"][f"power:{policy}"][:-1], run.power_kw[n], atol=5e-3
            )
            household = run.home_load_kw[home] + run.power_kw[mates].sum(axis=0)
            household -= np.where(run.islanded[home], run.home_load_kw[home], 0.0)
            np.testing.assert_allclose(view["y"][f"home:{policy}"][:-1], household, atol=5e-3)
        departures = np.asarray(first.departures.vehicle) == n
        slots = np.asarray(first.departures.slot)[departures]
        assert [pd.Timestamp(t) for t in view["target_x"]] == [
            local(result, 0.25 * s) for s in slots
        ]
    assert "ev-b" in every["ev-a"]["caption"] and "home-1" in every["ev-a"]["caption"]


def test_the_view_opens_on_the_first_car_and_names_its_traces_as_the_views_do(page) -> None:
    chart = figures(page)["voltpool-figure-cars"]
    first = views(page)["ev-a"]
    uids = [trace["uid"] for trace in chart["data"]]
    assert sorted(uids) == sorted(first["y"]) and uids[-1] == "target"
    for trace in chart["data"]:
        np.testing.assert_array_equal(
            array(trace["y"]).astype(float),
            np.array(first["y"][trace["uid"]], dtype=float),
        )
    assert chart["layout"]["shapes"] == first["shapes"]
    assert f'aria-live="polite">{html.escape(first["caption"])}<' in page
    assert '<label for="voltpool-car">' in page


def test_long_tables_are_folded_with_their_row_count(page) -> None:
    folded = re.findall(
        r"<details><summary>([^<]*) \((\d+) rows\)</summary>(<table.*?</table>)</details>", page
    )
    found = {what: int(rows) for what, rows, _ in folded}
    assert found == {
        "Credits per household, v2g": LONG_TABLE_ROWS + 8,
        "Every metric of every policy": len(compare(make_result(seed=11))),
    }
    for _, rows, table in folded:
        assert table.count("<tr>") - 1 == int(rows)  # the header row
    assert "Cut-off homes" not in page  # one cut-off home: short, shown as it is
    assert "Outage: " in page


def test_headings_are_in_order_and_header_cells_have_a_scope(page) -> None:
    markup = re.sub(r"<script.*?</script>", "", page, flags=re.DOTALL)  # plotly.js, the data
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", markup)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    cells = re.findall(r"<th(\s[^>]*)?>", markup)
    assert cells and all('scope="' in (attributes or "") for attributes in cells)


def test_the_page_stays_small(result, tmp_path: Path) -> None:
    """plotly.js once, the cars' views packed: the page grows by what it shows, not by a
    copy of the library per chart."""
    text = write_html_report(result, tmp_path / "r.html", timezone=ZONE).read_text("utf-8")
    assert len(re.findall(r"plotly\.js v\d", text)) == 1
    packed = re.search(r'id="voltpool-car-views">([^<]*)<', text).group(1)
    assert len(packed) < len(json.dumps(views(text))) / 5
