"""The simulation report in a real browser (Debian's chromium driven by Playwright, the file
opened from disk, no network): it draws without a console error, picking another car in the
list shows that car's series, bands and caption, and axe-core finds no WCAG 2.1 A/AA
violation of impact moderate or worse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthetic_runs import make_result
from voltpool.report import write_html_report

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright import sync_api as playwright_api
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright or axe-playwright-python is not installed", allow_module_level=True)

CHROMIUM = os.environ.get("VOLTPOOL_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM}")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium)", allow_module_level=True)

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="module")
def opened(tmp_path_factory) -> Iterator[tuple[object, list[str]]]:
    """The synthetic report open in chromium, and the console errors it has logged."""
    path = tmp_path_factory.mktemp("browser") / "report.html"
    write_html_report(make_result(seed=11), path, timezone="Europe/Amsterdam")
    with playwright_api.sync_playwright() as playwright:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5")
        yield page, errors
        browser.close()


CHART = "document.getElementById('voltpool-figure-cars')"


def test_picking_a_car_shows_its_series_bands_and_caption(opened) -> None:
    page, errors = opened
    assert page.locator("#voltpool-car").input_value() == "ev-a"
    before = page.evaluate(f"{CHART}.layout.shapes.map((s) => [s.x0, s.x1])")
    page.locator("#voltpool-car").select_option("ev-c")
    page.wait_for_function(
        "document.getElementById('voltpool-car-caption').textContent.startsWith('ev-c')"
    )
    shown = page.evaluate(
        f"""(() => {{
            const data = {CHART}.data;
            const soc = data.find((t) => t.uid === 'soc:v2g');
            return {{soc: Array.from(soc.y).slice(0, 3), bands: {CHART}.layout.shapes
                .map((s) => [s.x0, s.x1]), rendered: {CHART}.querySelectorAll(
                '.shapelayer path, .layer-below .shapelayer path').length}};
        }})()"""
    )
    soc = make_result(seed=11).runs["v2g"].soc[2, :3]
    assert shown["soc"] == pytest.approx(100 * soc, abs=0.05)
    assert shown["bands"] != before
    assert ["2024-03-04 04:00:00", "2024-03-04 17:00:00"] in shown["bands"]  # 03:00-16:00 UTC
    assert shown["rendered"] >= len(shown["bands"])
    assert errors == []


def test_the_page_passes_the_axe_core_audit(opened) -> None:
    page, _errors = opened
    answer = Axe().run(page, options=AXE_OPTIONS).response
    assert answer["passes"], "axe-core passed no rule: did it run?"
    found = [
        f"{v['id']} ({v['impact']}): "
        + "; ".join(" >> ".join(node["target"]) for node in v["nodes"])
        for v in answer["violations"]
        if v["impact"] in {"moderate", "serious", "critical"}
    ]
    assert found == []


@pytest.mark.parametrize("width_px", [1200, 900, 480])
def test_a_year_of_money_fits_in_every_headline_tile(opened, width_px: int) -> None:
    """A year's cost (five digits and a separator) beside the longest policy name stays
    inside its tile at the common window widths."""
    page, _errors = opened
    page.set_viewport_size({"width": width_px, "height": 900})
    try:
        overflowing = page.evaluate(
            """(() => {
                for (const dt of document.querySelectorAll('.tile dt')) {
                    dt.lastChild.textContent = 'uncontrolled';
                }
                for (const dd of document.querySelectorAll('.tile dd')) {
                    dd.textContent = '19,966.36';
                }
                return Array.from(document.querySelectorAll('.tile dl div'))
                    .filter((row) => row.scrollWidth > row.clientWidth)
                    .map((row) => row.closest('.tile').dataset.metric);
            })()"""
        )
    finally:
        page.reload()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5")
        page.set_viewport_size({"width": 1280, "height": 900})
    assert overflowing == []
