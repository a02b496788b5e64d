"""Benchmark: how long the web app takes to draw its first screen, in a real browser.

``voltpool serve --demo`` (the built-in neighbourhood: 40 cars, clock at real speed) runs as
its own process on a fresh SQLite file; Playwright drives Debian's Chromium (headless, on
loopback, the same machine). After a log-in, the page is loaded ``LOADS`` times from scratch
(a reload, the token kept in the tab) and the app's own mark is read: the milliseconds from
the start of the page load to the first screen drawn with the API's data (every car card or
the community's plan; the charts follow, Plotly is loaded after that). ``first plot`` is
until the first chart is on the page too. Goal: first screen under ``GOAL_MS``.

``python bench/bench_web.py`` prints the table; from ``bench/run.py``:
``header, body = bench_web.table_rows(bench_web.run())``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
GOAL_MS = 1000.0
LOADS = 10


def _plugged_owner(base_url: str) -> str:
    """The first demo owner with a car plugged in (so their screen has a plan to draw)."""
    from voltpool.api.demo import DEFAULT_PASSWORD, owner_email
    from voltpool.scenario import load_scenario

    for home_id in load_scenario("neighbourhood").home_ids:
        email = owner_email(home_id)
        token = httpx.post(
            f"{base_url}/v1/auth/token",
            data={"username": email, "password": DEFAULT_PASSWORD},
            timeout=30,
        ).json()["access_token"]
        cars = httpx.get(
            f"{base_url}/v1/cars", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        if any(car["plugged_in"] for car in cars):
            return email
    raise RuntimeError("no demo owner has a car plugged in")


def _wait_for_plans(base_url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{base_url}/healthz", timeout=5).json()["plans_made"] < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the demo made no plan")
        time.sleep(0.25)


def _measure_screen(browser, base_url: str, email: str, heading: str) -> dict:
    from voltpool.api.demo import DEFAULT_PASSWORD

    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/app/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
    first, plotted = [], []
    for _ in range(LOADS):
        page.reload()
        page.wait_for_function("document.body.dataset.firstScreenMs", timeout=30_000)
        first.append(float(page.evaluate("document.body.dataset.firstScreenMs")))
        page.locator(".main-svg").first.wait_for(timeout=30_000)
        plotted.append(page.evaluate("performance.now()"))
    context.close()
    return {"first_ms": first, "plot_ms": plotted}


def run() -> list[dict]:
    from playwright.sync_api import sync_playwright

    from bench_api import serve

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'demo.sqlite'}"
        with serve(url, Path(folder) / "serve.log", ("--demo", "--speed", "1")) as server:
            _wait_for_plans(server.base_url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                from voltpool.api.demo import OPERATOR_EMAIL

                screens = (
                    ("owner", _plugged_owner(server.base_url), "My cars"),
                    ("operator", OPERATOR_EMAIL, "My community"),
                )
                for name, email, heading in screens:
                    measured = _measure_screen(browser, server.base_url, email, heading)
                    rows.append({"screen": name, **measured})
                browser.close()
    return rows


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["screen (demo, 40 cars)", "loads", "first screen ms median / max"]
    header += ["first chart ms median", "goal ms"]
    body = []
    for row in rows:
        first = row["first_ms"]
        met = "ok" if max(first) <= GOAL_MS else "MISSED"
        body.append(
            [
                row["screen"],
                str(len(first)),
                f"{statistics.median(first):.0f} / {max(first):.0f}",
                f"{statistics.median(row['plot_ms']):.0f}",
                f"{GOAL_MS:.0f} {met}",
            ]
        )
    return header, body


if __name__ == "__main__":
    header, body = table_rows(run())
    print(" | ".join(header))
    for line in body:
        print(" | ".join(line))
