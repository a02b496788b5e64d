"""The web app in a real browser: Playwright drives Debian's Chromium against ``voltpool serve
--demo`` (its own process, loopback, a fresh SQLite file, the clock at real speed so the only
re-plans are the ones the test causes).

Every test fails on a console error or an uncaught exception in the page. Screenshots of each
screen at phone and desktop size go to ``build/screenshots/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from voltpool.api.demo import DEFAULT_PASSWORD, OPERATOR_EMAIL, owner_email
from voltpool.api.store.schema import open_engine, sessions
from voltpool.api.store.tables import CarSlot

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright import sync_api as playwright_api
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip(
        "playwright or axe-playwright-python is not installed (pip install -e '.[dev]')",
        allow_module_level=True,
    )

CHROMIUM = os.environ.get("VOLTPOOL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
START_TIMEOUT_S = 60.0
WAIT_MS = 30_000

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium)", allow_module_level=True)


@dataclass
class Demo:
    base_url: str
    db_url: str

    def client(self, email: str | None = None) -> httpx.Client:
        headers = {}
        if email is not None:
            answer = httpx.post(
                f"{self.base_url}/v1/auth/token",
                data={"username": email, "password": DEFAULT_PASSWORD},
                timeout=30.0,
            )
            answer.raise_for_status()
            headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("web-demo")
    port = _free_port()
    command = [sys.executable, "-m", "voltpool", "serve", "--demo", "--speed", "1"]
    db_url = f"sqlite:///{folder / 'demo.sqlite'}"
    command += ["--db", db_url, "--port", str(port)]
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    found = Demo(f"http://127.0.0.1:{port}", db_url)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with found.client() as client:
            while True:
                assert server.poll() is None, (folder / "serve.log").read_text()
                try:
                    if client.get("/healthz").json()["plans_made"] >= 1:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the demo made no plan in time"
                time.sleep(0.25)
        yield found
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@dataclass
class Owner:
    email: str
    car_id: str
    """A plugged-in car of this owner's with a planned discharge."""


@pytest.fixture(scope="module")
def owners(demo: Demo) -> tuple[Owner, Owner]:
    """Two owners with a plugged-in car each; the first's car came home full and needs little
    by tomorrow, so its plan gives energy back at the evening peak."""
    found: list[Owner] = []
    for home_id in _home_ids():
        email = owner_email(home_id)
        with demo.client(email) as client:
            plugged = [car for car in client.get("/v1/cars").json() if car["plugged_in"]]
            if plugged:
                found.append(Owner(email, plugged[0]["id"]))
        if len(found) == 2:
            break
    assert len(found) == 2, "the demo has two owners with a plugged-in car at 16:00"
    giver = found[0]
    with demo.client(giver.email) as client:
        client.patch(f"/v1/cars/{giver.car_id}", json={"soc_now": 0.95}).raise_for_status()
        client.patch(
            f"/v1/cars/{giver.car_id}/sessions/current", json={"soc_target": 0.4}
        ).raise_for_status()
        wait(lambda: client.get(f"/v1/cars/{giver.car_id}/plan").json().get("discharges"))
    return found[0], found[1]


def _home_ids() -> list[str]:
    from voltpool.scenario import load_scenario

    return list(load_scenario("neighbourhood").home_ids)


def wait(probe, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@dataclass
class Screen:
    page: object
    problems: list[str]
    expected_statuses: set[int] = field(default_factory=set)
    """HTTP statuses a test provokes on purpose (Chromium logs each as a console error)."""

    def unexpected(self) -> list[str]:
        def expected(text: str) -> bool:
            found = re.search(r"status of (\d+)", text)
            return found is not None and int(found.group(1)) in self.expected_statuses

        return [text for text in self.problems if not expected(text)]


@pytest.fixture
def screen(browser, demo: Demo) -> Iterator[Screen]:
    context = browser.new_context(viewport=DESKTOP, base_url=demo.base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    shown = Screen(page, problems)
    yield shown
    context.close()
    assert shown.unexpected() == [], shown.problems


def log_in(page, email: str, heading: str = "My cars") -> None:
    """Log in with the keyboard only: type, Tab, type, Enter."""
    page.goto("/app/")
    page.get_by_label("Email").wait_for()
    page.keyboard.type(email)  # the email field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=heading).wait_for(timeout=WAIT_MS)


def card(page, car_id: str):
    return page.locator(f'[data-testid="car"][data-car-id="{car_id}"]')


def snap(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)  # charts follow the width
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_an_owner_logs_in_with_the_keyboard_and_sees_each_car_with_its_plan(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[0]
    page = screen.page
    log_in(page, owner.email)
    with demo.client(owner.email) as client:
        cars = client.get("/v1/cars").json()
        plan = client.get(f"/v1/cars/{owner.car_id}/plan").json()
    cards = page.locator('[data-testid="car"]')
    assert cards.count() == len(cars)
    assert sorted(cards.evaluate_all("cs => cs.map(c => c.dataset.carId)")) == sorted(
        c["id"] for c in cars
    )
    mine = card(page, owner.car_id)
    assert mine.get_attribute("data-plan-id") == plan["plan_id"]
    mine.locator(".chart .main-svg").first.wait_for(timeout=WAIT_MS)  # Plotly drew the plan
    assert mine.locator('[data-testid="discharge"]').count() == len(plan["discharges"])
    first = plan["discharges"][0]
    assert f"{first['from_local'][11:16]}\u2013{first['to_local'][11:16]}" in mine.inner_text()
    snap(page, "owner-home")


def test_a_new_departure_redraws_the_plan(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[0]
    page = screen.page
    log_in(page, owner.email)
    mine = card(page, owner.car_id)
    before = mine.get_attribute("data-plan-id")
    with demo.client() as client:
        now = datetime.fromisoformat(client.get("/healthz").json()["now"])
    with demo.client(owner.email) as client:
        zone = ZoneInfo(client.get(f"/v1/cars/{owner.car_id}/plan").json()["timezone"])
        was = client.get(f"/v1/cars/{owner.car_id}/sessions/current").json()
    leave = (now + timedelta(hours=5)).astimezone(zone)
    mine.get_by_role("button", name="Change").click()
    mine.get_by_label("Leave at").fill(f"{leave:%H:%M}")
    mine.get_by_label("Charged to (%)").fill("85")
    mine.get_by_role("button", name="Save").click()
    goal = f"85 % by {leave:%H:%M}"
    page.wait_for_function(
        """([id, before, goal]) => {
            const c = document.querySelector(`[data-testid="car"][data-car-id="${id}"]`);
            return c && c.dataset.planId && c.dataset.planId !== before
                && c.querySelector('[data-testid="goal"]').textContent === goal;
        }""",
        arg=[owner.car_id, before, goal],
        timeout=WAIT_MS,
    )
    with demo.client(owner.email) as client:
        plan = client.get(f"/v1/cars/{owner.car_id}/plan").json()
    assert plan["reason"] == "session changed"
    assert card(page, owner.car_id).get_attribute("data-plan-id") == plan["plan_id"]
    assert plan["departure_local"][11:16] == f"{leave:%H:%M}"
    with demo.client(owner.email) as client:  # as it was, for the other tests
        client.patch(
            f"/v1/cars/{owner.car_id}/sessions/current",
            json={"departure": was["departure"], "soc_target": was["soc_target"]},
        ).raise_for_status()


def test_no_discharge_today_takes_todays_discharge_blocks_away(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    """The switch sets ``no_discharge_until`` to the next local midnight: the blocks planned
    before it go from the screen; any block after it stays (tomorrow is another day)."""
    owner = owners[0]
    page = screen.page
    with demo.client(owner.email) as client:  # automatic again, whatever ran before
        rules = client.get(f"/v1/cars/{owner.car_id}/rules").json()
        client.put(f"/v1/cars/{owner.car_id}/rules", json={**rules, "no_discharge_until": None})
        before = wait(lambda: client.get(f"/v1/cars/{owner.car_id}/plan").json()["discharges"])
        now = datetime.fromisoformat(demo.client().get("/healthz").json()["now"])
        zone = ZoneInfo(client.get(f"/v1/cars/{owner.car_id}/plan").json()["timezone"])
    midnight = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time_of_day(0))
    midnight = midnight.replace(tzinfo=zone)
    today = [d for d in before if datetime.fromisoformat(d["start"]) < midnight]
    assert today, f"the giver's plan gives energy back before midnight: {before}"
    log_in(page, owner.email)
    mine = card(page, owner.car_id)
    mine.locator('[data-testid="discharge"]').first.wait_for(timeout=WAIT_MS)
    before_id = mine.get_attribute("data-plan-id")
    mine.locator("select[name=mode]").select_option("no-discharge-today")
    page.wait_for_function(
        """([id, before]) => {
            const c = document.querySelector(`[data-testid="car"][data-car-id="${id}"]`);
            return c && c.dataset.planId && c.dataset.planId !== before;
        }""",
        arg=[owner.car_id, before_id],
        timeout=WAIT_MS,
    )
    mine = card(page, owner.car_id)
    assert mine.locator("select[name=mode]").input_value() == "no-discharge-today"
    with demo.client(owner.email) as client:
        plan = client.get(f"/v1/cars/{owner.car_id}/plan").json()
        client.put(f"/v1/cars/{owner.car_id}/rules", json={**rules, "no_discharge_until": None})
    assert plan["reason"] == "rules changed"
    assert all(datetime.fromisoformat(d["start"]) >= midnight for d in plan["discharges"])
    shown = mine.locator('[data-testid="discharge"]')
    assert shown.count() == len(plan["discharges"]) < len(before)


def test_the_owners_rules_edited_on_screen_hold_in_the_next_plan(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[0]
    page = screen.page
    with demo.client(owner.email) as client:
        rules = client.get(f"/v1/cars/{owner.car_id}/rules").json()
    log_in(page, owner.email)
    mine = card(page, owner.car_id)
    before = mine.get_attribute("data-plan-id")
    screen.expected_statuses.add(422)  # the bad window, answered with its field
    mine.get_by_text("My rules for V2G").click()
    mine.get_by_label("Discharge only (e.g. 17:00-22:00)").fill("25:00-26:00")
    mine.get_by_role("button", name="Save rules").click()
    error = card(page, owner.car_id).locator('[role="status"].error')
    page.wait_for_function(
        "e => e.textContent.includes('discharge_hours[0]')", arg=error.element_handle()
    )
    assert error.inner_text().count("discharge_hours[0]") == 1  # each broken rule named once
    try:
        mine.get_by_label("Discharge only (e.g. 17:00-22:00)").fill("")
        mine.get_by_label("V2G floor (%)").fill("70")
        mine.get_by_role("button", name="Save rules").click()
        page.wait_for_function(
            """([id, before]) => {
                const c = document.querySelector(`[data-testid="car"][data-car-id="${id}"]`);
                return c && c.dataset.planId !== before && c.textContent.includes('V2G floor 70 %');
            }""",
            arg=[owner.car_id, before],
            timeout=WAIT_MS,
        )
        with demo.client(owner.email) as client:
            plan = client.get(f"/v1/cars/{owner.car_id}/plan").json()
        assert plan["reason"] == "rules changed"
        for slot in plan["slots"]:  # V2G never takes the car below its floor
            if slot["power_kw"] < -1e-6:
                assert slot["soc_end"] >= 0.7 - 1e-6, slot
    finally:
        with demo.client(owner.email) as client:
            client.put(f"/v1/cars/{owner.car_id}/rules", json=rules).raise_for_status()


def test_credits_sent_to_a_friend_show_on_both_screens(
    screen: Screen, browser, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    sender, friend = owners
    page = screen.page
    with demo.client(sender.email) as a, demo.client(friend.email) as b:
        before = (a.get("/v1/credits").json()["balance_credits"],
                  b.get("/v1/credits").json()["balance_credits"])  # fmt: skip
    log_in(page, sender.email)
    credits = page.get_by_role("region", name="credits")
    credits.get_by_label("Friend's email").fill(friend.email)
    credits.get_by_label("Credits").fill("1.5")
    credits.get_by_label("Note").fill("for the lift")
    credits.get_by_role("button", name="Send").click()
    expected = f"{before[0] - 1.5:.3f}"
    page.wait_for_function(
        "b => document.querySelector('[data-testid=balance]').textContent === b",
        arg=expected,
        timeout=WAIT_MS,
    )
    assert "for the lift" in page.get_by_role("list", name="recent credit moves").inner_text()
    other = browser.new_context(viewport=PHONE, base_url=demo.base_url)
    try:
        friend_page = other.new_page()
        log_in(friend_page, friend.email)
        balance = friend_page.locator('[data-testid="balance"]').inner_text()
        assert balance == f"{before[1] + 1.5:.3f}"
        moves = friend_page.get_by_role("list", name="recent credit moves").inner_text()
        assert "+1.500" in moves and "for the lift" in moves
    finally:
        other.close()


def test_the_backup_screen_answers_how_long_the_car_carries_the_house_and_follows_the_reserve(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[0]
    page = screen.page
    log_in(page, owner.email)
    page.get_by_role("link", name="Backup").click()
    hours = page.locator('[data-testid="hours"]')
    hours.wait_for(timeout=WAIT_MS)
    with demo.client(owner.email) as client:
        home = client.get("/v1/homes").json()[0]
        answer = client.get(f"/v1/homes/{home['id']}/backup").json()
        car = client.get(f"/v1/cars/{owner.car_id}").json()
    full_h = answer["hours_full_house"]
    assert hours.inner_text().startswith((f"{full_h:.1f} h", f"{full_h:.0f} h"))
    above = answer["cars"][0]["energy_above_reserve_kwh"]
    assert (
        f"{above:.1f} kWh above its reserve" in page.locator('[data-testid="backup"]').inner_text()
    )
    snap(page, "owner-backup")
    slider = page.locator('[data-testid="reserve"]').first
    slider.fill("80")  # a higher driving reserve leaves less for the house
    try:
        page.wait_for_function(
            "t => !document.querySelector('[data-testid=backup]').textContent.includes(t)",
            arg=f"{above:.1f} kWh above its reserve",
            timeout=WAIT_MS,
        )
        with demo.client(owner.email) as client:
            after = client.get(f"/v1/homes/{home['id']}/backup").json()
        assert after["cars"][0]["reserve_soc"] == pytest.approx(0.8)
        assert after["cars"][0]["energy_above_reserve_kwh"] < above
        shown = page.locator('[data-testid="backup"]').inner_text()
        assert f"{after['cars'][0]['energy_above_reserve_kwh']:.1f} kWh above its reserve" in shown
    finally:
        with demo.client(owner.email) as client:
            client.patch(f"/v1/cars/{owner.car_id}", json={"soc_min": car["soc_min"]})


def test_another_owners_car_is_refused(screen: Screen, owners: tuple[Owner, Owner]) -> None:
    mine, theirs = owners
    page = screen.page
    log_in(page, mine.email)
    page.goto(f"/app/#/cars/{theirs.car_id}")
    refused = page.locator('[data-testid="refused"]')
    refused.wait_for(timeout=WAIT_MS)
    assert "no such car" in refused.inner_text()
    assert page.locator('[data-testid="car"]').count() == 0
    page.goto(f"/app/#/cars/{mine.car_id}")
    card(page, mine.car_id).wait_for(timeout=WAIT_MS)
    snap(page, "owner-car")


def test_the_operator_posts_a_capacity_limit_and_sees_the_planned_feeder_load_under_it(
    screen: Screen, demo: Demo
) -> None:
    page = screen.page
    log_in(page, OPERATOR_EMAIL, heading="My community")
    section = page.locator('[data-testid="community"]')
    section.locator(".chart .main-svg").first.wait_for(timeout=WAIT_MS)
    community_id = section.get_attribute("data-community-id")
    before = section.get_attribute("data-plan-id")
    with demo.client(OPERATOR_EMAIL) as client:
        plan = client.get(f"/v1/communities/{community_id}/plan").json()
        zone = ZoneInfo(client.get(f"/v1/communities/{community_id}").json()["timezone"])
    slots = plan["slots"][1:13]  # from the next slot, three hours
    peak_kw = max(s["site_import_kw"] for s in slots)
    limit_kw = int(0.8 * peak_kw)
    assert limit_kw > 0, "the demo's evening load is planned above zero"
    start = datetime.fromisoformat(slots[0]["start"]).astimezone(zone)
    end = start + timedelta(hours=3)
    form = section.get_by_role("button", name="Post limit").locator("..")
    form.get_by_label("From").fill(f"{start:%H:%M}")
    form.get_by_label("To").fill(f"{end:%H:%M}")
    form.get_by_label("Import limit (kW)").fill(str(limit_kw))
    form.get_by_role("button", name="Post limit").click()
    page.wait_for_function(
        """before => {
            const s = document.querySelector('[data-testid="community"]');
            return s && s.dataset.planId !== before && s.textContent.includes('(grid event)');
        }""",
        arg=before,
        timeout=WAIT_MS,
    )
    event = page.locator('[data-testid="grid-event"]')
    assert event.count() == 1
    assert f"{start:%H:%M}\u2013{end:%H:%M} import limit {limit_kw} kW" in event.inner_text()
    shown_kw = float(event.locator('[data-testid="response"]').inner_text().split()[0])
    assert shown_kw <= limit_kw + 0.05  # one decimal on screen
    with demo.client(OPERATOR_EMAIL) as client:
        answer = client.get(f"/v1/communities/{community_id}/grid-events").json()[0]
        replanned = client.get(f"/v1/communities/{community_id}/plan").json()
    assert answer["planned_max_import_kw"] <= limit_kw + 1e-6
    assert replanned["plan_id"] == page.locator('[data-testid="community"]').get_attribute(
        "data-plan-id"
    )
    with demo.client(OPERATOR_EMAIL) as client:
        flex = client.get(f"/v1/communities/{community_id}/flexibility").json()
    shown_flex = page.locator('[data-testid="flexibility"]').inner_text()
    assert f"Now: {flex['cars']} cars plugged in" in shown_flex
    targets = page.locator('[data-testid="targets"]').inner_text()
    short = sum(group["cars"] for group in replanned["shortfalls"])
    assert targets == "Every car reaches its target." if not short else f"{short} car" in targets
    snap(page, "operator")


def test_charge_now_plans_full_power_and_no_discharge_on_screen(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[1]
    page = screen.page
    url = f"/v1/cars/{owner.car_id}/sessions/current"
    with demo.client(owner.email) as client:
        car = client.get(f"/v1/cars/{owner.car_id}").json()
        was = client.get(url).json()
        client.patch(f"/v1/cars/{owner.car_id}", json={"soc_now": 0.3}).raise_for_status()
        client.patch(url, json={"soc_target": 0.8}).raise_for_status()
    log_in(page, owner.email)
    mine = card(page, owner.car_id)
    mine.locator('[data-testid="plan-chart"] .main-svg').first.wait_for(timeout=WAIT_MS)
    before = mine.get_attribute("data-plan-id")
    try:
        mine.get_by_label("Mode").select_option("charge-now")
        page.wait_for_function(
            """([id, before]) => {
                const c = document.querySelector(`[data-testid="car"][data-car-id="${id}"]`);
                return c && c.dataset.planId && c.dataset.planId !== before
                    && c.querySelector('select[name=mode]').value === 'charge-now';
            }""",
            arg=[owner.car_id, before],
            timeout=WAIT_MS,
        )
        with demo.client(owner.email) as client:
            plan = client.get(f"/v1/cars/{owner.car_id}/plan").json()
            assert client.get(url).json()["charge_now"] is True
        assert plan["reason"] == "session changed"
        assert plan["slots"][0]["power_kw"] == pytest.approx(car["max_charge_kw"])
        assert plan["discharges"] == []
        assert min(s["power_kw"] for s in plan["slots"]) >= -1e-9
        assert card(page, owner.car_id).locator('[data-testid="discharge"]').count() == 0
        snap(page, "owner-charge-now")
    finally:
        with demo.client(owner.email) as client:
            client.patch(url, json={"charge_now": False, "soc_target": was["soc_target"]})
            client.patch(f"/v1/cars/{owner.car_id}", json={"soc_now": car["soc_now"]})


def test_in_a_power_cut_the_owner_sees_the_banner_and_the_backup_for_what_is_left(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    owner = owners[0]  # its car gives energy back (a two-way charger)
    page = screen.page
    with demo.client(owner.email) as client:
        (home,) = client.get("/v1/homes").json()
    with demo.client(OPERATOR_EMAIL) as client:
        community = client.get("/v1/communities").json()[0]["id"]
        now = datetime.fromisoformat(client.get("/healthz").json()["now"])
        posted = client.post(
            f"/v1/communities/{community}/grid-events",
            json={
                "kind": "outage",
                "home_ids": [home["id"]],
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=2)).isoformat(),
            },
        )
        assert posted.status_code == 201, posted.text
    event = posted.json()
    try:
        log_in(page, owner.email)
        banner = page.locator('[data-testid="outage-banner"]')
        banner.wait_for(timeout=WAIT_MS)
        assert f"expected back at {event['end_local'][11:16]}" in banner.inner_text()
        assert page.get_by_role("alert").count() >= 1
        flow = page.locator('[data-testid="flow"]').inner_text()
        assert "power cut" in flow
        powering = card(page, owner.car_id).locator('[data-testid="no-plan"]')
        powering.wait_for(timeout=WAIT_MS)
        assert "Powering the house" in powering.inner_text()
        snap(page, "owner-power-cut")
        page.get_by_role("link", name="see how long").click()
        backup = page.locator('[data-testid="backup"]')
        backup.wait_for(timeout=WAIT_MS)
        with demo.client(owner.email) as client:
            answer = client.get(f"/v1/homes/{home['id']}/backup").json()
        assert answer["outage"]["event_id"] == event["id"]
        assert answer["hours_planned"] <= 2.25
        assert answer["served_kwh"] > 0 and answer["cars"][0]["max_discharge_kw"] > 0
        assert f"Power cut since {event['start_local'][11:16]}" in backup.inner_text()
        assert page.locator('[data-testid="outage-banner"]').count() == 1
        snap(page, "owner-backup-power-cut")

        # the operator sees it among the grid events and ends it: the banner goes
        operator = page.context.browser.new_context(viewport=DESKTOP, base_url=demo.base_url)
        try:
            other = operator.new_page()
            log_in(other, OPERATOR_EMAIL, heading="My community")
            listed = other.locator(f'[data-testid="grid-event"][data-event-id="{event["id"]}"]')
            listed.wait_for(timeout=WAIT_MS)
            assert "power cut of 1 home" in listed.inner_text()
            listed.get_by_role("button", name="End now").click()
            listed.wait_for(state="detached", timeout=WAIT_MS)
        finally:
            operator.close()
        page.get_by_role("link", name="My cars").click()
        page.get_by_role("heading", name="My cars").wait_for(timeout=WAIT_MS)
        card(page, owner.car_id).wait_for(timeout=WAIT_MS)
        assert page.locator('[data-testid="outage-banner"]').count() == 0
    finally:
        with demo.client(OPERATOR_EMAIL) as client:  # on the grid again, for the other tests
            client.delete(f"/v1/communities/{community}/grid-events/{event['id']}")


def test_the_battery_screen_shows_fade_so_far_and_projected_and_what_v2g_costs(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    """Two recorded days of the giver's car (evening V2G, night charging), written where the
    service keeps each car's slots: the screen shows the service's estimate of them."""
    owner = owners[0]
    page = screen.page
    with demo.client(owner.email) as client:
        car = client.get(f"/v1/cars/{owner.car_id}").json()
        assert client.get(f"/v1/cars/{owner.car_id}/health").json()["status"] == "collecting"
    now = datetime.fromisoformat(demo.client().get("/healthz").json()["now"])
    first = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    engine = open_engine(demo.db_url)
    try:
        with sessions(engine)() as db:
            level = 0.8
            for k in range(2 * 96):
                hour = (k % 96) / 4
                home = hour >= 18 or hour < 7
                kw = -5.0 if home and 18 <= hour < 20 else 0.0
                if home and 1 <= hour < 7 and level < 0.8 - 1e-9:
                    kw = min(7.0, (0.8 - level) * car["capacity_kwh"] / 0.92 / 0.25)
                level -= 12 / car["capacity_kwh"] if hour == 7 else 0.0
                level += kw * 0.25 * (0.92 if kw > 0 else 1 / 0.92) / car["capacity_kwh"]
                db.add(
                    CarSlot(
                        car_id=owner.car_id,
                        slot_start=first + timedelta(minutes=15 * k),
                        soc=level,
                        plugged=home,
                        power_kw=kw,
                    )
                )
            db.commit()
    finally:
        engine.dispose()
    log_in(page, owner.email)
    page.get_by_role("link", name="Battery").click()
    shown = page.locator(f'[data-testid="battery"][data-car-id="{owner.car_id}"]')
    shown.locator('[data-testid="capacity-now"]').wait_for(timeout=WAIT_MS)
    with demo.client(owner.email) as client:
        health = client.get(f"/v1/cars/{owner.car_id}/health").json()
    assert health["status"] == "estimated" and health["v2g_kwh_recorded"] >= 20.0 - 1e-6
    now_pct = health["so_far"]["capacity_pct"]
    assert shown.locator('[data-testid="capacity-now"]').inner_text().startswith(f"{now_pct:.1f} %")
    cents = 100 * health["v2g_cost_eur_per_kwh"]
    assert f"{cents:.1f} cents per kWh given back" in shown.inner_text()
    table = shown.get_by_role("table")
    assert table.get_by_role("row").count() == 3  # header, so far, warranty end
    assert f"{health['projected']['capacity_pct']:.1f} %" in table.inner_text()
    snap(page, "owner-battery")

    operator = page.context.browser.new_context(viewport=DESKTOP, base_url=demo.base_url)
    try:
        other = operator.new_page()
        log_in(other, OPERATOR_EMAIL, heading="My community")
        fleet = other.locator('[data-testid="fleet-health"]')
        fleet.wait_for(timeout=WAIT_MS)
        other.wait_for_function(
            "() => document.querySelector('[data-testid=fleet-health]').textContent"
            ".includes('cars estimated')",
            timeout=WAIT_MS,
        )
        assert fleet.inner_text().startswith("1 of ")
    finally:
        operator.close()


def test_the_login_screen_and_the_home_screen_pass_basic_accessibility_checks(
    screen: Screen, owners: tuple[Owner, Owner]
) -> None:
    page = screen.page
    page.goto("/app/")
    page.get_by_label("Email").wait_for()
    snap(page, "login")
    assert page.evaluate(UNLABELLED) == []
    log_in(page, owners[0].email)
    card(page, owners[0].car_id).locator(".chart .main-svg").first.wait_for(timeout=WAIT_MS)
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []
    # the main actions are reachable with the keyboard, in order
    page.locator("body").focus()
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Change" in reached


UNLABELLED = """() => [...document.querySelectorAll('input, select, button, textarea')]
    .filter(c => c.offsetParent !== null)
    .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                 && !c.textContent.trim())
    .map(c => c.outerHTML)"""

LOW_CONTRAST = """() => {
    const rgb = s => s.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
        const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                     : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = el => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const bad = [];
    for (const el of document.querySelectorAll('main *, header *')) {
        if (el.closest('.chart')) continue;  // Plotly's own SVG text
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || el.offsetParent === null) continue;
        const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
        const bg = lum(background(el));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)}`);
    }
    return bad;
}"""


def test_the_app_is_served_from_the_package_without_a_network(demo: Demo) -> None:
    with demo.client() as client:
        page = client.get("/app/")
        assert page.status_code == 200 and "app.js" in page.text
        assert client.get("/app/vendor/plotly.min.js").status_code == 200
        assert client.get("/", follow_redirects=False).headers["location"] == "/app/"
        for asset in ("/app/", "/app/app.js", "/app/app.css"):
            text = client.get(asset).text
            assert "http://" not in text and "https://" not in text, asset  # no CDN


def test_a_friend_asks_for_kwh_and_both_screens_show_the_agreement(
    screen: Screen, browser, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    giver, receiver = owners
    with demo.client() as client:
        now = datetime.fromisoformat(client.get("/healthz").json()["now"])
    with demo.client(giver.email) as client:
        zone = ZoneInfo(client.get(f"/v1/cars/{giver.car_id}/plan").json()["timezone"])
    until = (now + timedelta(hours=4)).astimezone(zone)
    page = screen.page
    log_in(page, giver.email)
    page.get_by_role("link", name="Share kWh").click()
    offer = page.get_by_role("form", name="offer kWh")
    offer.get_by_label("At most kWh").fill("4")
    offer.get_by_label("Until").fill(f"{until:%H:%M}")
    offer.get_by_label("Keep above (%)").fill("50")
    offer.get_by_label("Credits per kWh").fill("2")
    offer.get_by_role("button", name="Offer").click()
    page.locator('[data-testid="offer"]').wait_for(timeout=WAIT_MS)
    other = browser.new_context(viewport=PHONE, base_url=demo.base_url)
    try:
        friend = other.new_page()
        log_in(friend, receiver.email)
        friend.get_by_role("link", name="Share kWh").click()
        friend.locator('[data-testid="friends-offer"]').wait_for(timeout=WAIT_MS)
        ask = friend.get_by_role("form", name="ask for kWh")
        ask.get_by_label("kWh into the battery").fill("2")
        ask.get_by_label("By").fill(f"{until:%H:%M}")
        ask.get_by_label("Most credits per kWh").fill("5")
        ask.get_by_role("button", name="Ask").click()
        made = friend.locator('[data-testid="agreement"]')
        made.wait_for(timeout=WAIT_MS)
        assert f"from {giver.email}" in made.inner_text() and "running" in made.inner_text()
        snap(friend, "owner-v2v")
    finally:
        other.close()
    page.reload()
    given = page.locator('[data-testid="agreement"]')
    given.wait_for(timeout=WAIT_MS)
    assert f"to {receiver.email}" in given.inner_text()
    with demo.client(receiver.email) as client:
        agreement = client.get("/v1/v2v/agreements").json()[0]
        assert agreement["giver_car_id"] == giver.car_id and agreement["status"] == "running"
    other = browser.new_context(viewport=DESKTOP, base_url=demo.base_url)
    try:  # the hold shows on the receiver's credits screen
        held = other.new_page()
        log_in(held, receiver.email)
        held.get_by_role("link", name="Credits").click()
        hold = held.locator('[data-testid="hold"]')
        hold.wait_for(timeout=WAIT_MS)
        assert f"{agreement['estimate_credits']:.3f} credits held" in hold.inner_text()
        assert held.locator('[data-testid="move"]').count() >= 1
        snap(held, "owner-credits")
        held.get_by_role("button", name="Log out").click()  # the operator sees the flow
        log_in(held, OPERATOR_EMAIL, heading="My community")
        flows = held.locator('[data-testid="credit-flows"]')
        flows.wait_for(timeout=WAIT_MS)
        listed = flows.locator('[data-testid="flow-agreement"]').first.inner_text()
        assert f"{giver.email} \u2192 {receiver.email}" in listed and "running" in listed
        assert f"({agreement['estimate_credits']:.3f} credits held)" in flows.inner_text()
    finally:
        other.close()
        with demo.client(receiver.email) as client:
            client.post(f"/v1/v2v/agreements/{agreement['id']}/cancel").raise_for_status()


AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
AXE_FAILS_ON = {"moderate", "serious", "critical"}  # all but "minor"


def axe_violations(page, where: str) -> list[str]:
    """axe-core (the copy bundled in axe-playwright-python: no network) on the page as it is,
    at desktop and phone size: its WCAG 2.0/2.1 A and AA rules, one line per violation of
    impact moderate or worse (rule, impact, what it asks, the target selector of each node).

    Nothing is excluded: Plotly's SVG passes too. axe leaves the contrast of Plotly's axis
    text "incomplete" (it cannot tell the background of SVG text), which is not a violation;
    LOW_CONTRAST skips the charts as well."""
    found = []
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)  # charts follow the width
        answer = Axe().run(page, options=AXE_OPTIONS).response
        assert answer["passes"], f"{where}: axe-core passed no rule: did it run?"
        found += [
            f"{where} ({size}): {v['id']} ({v['impact']}) {v['help']}: "
            + "; ".join(" >> ".join(node["target"]) for node in v["nodes"])
            for v in answer["violations"]
            if v["impact"] in AXE_FAILS_ON
        ]
    page.set_viewport_size(DESKTOP)
    return found


def test_every_screen_passes_the_axe_core_audit(
    screen: Screen, owners: tuple[Owner, Owner]
) -> None:
    """The log-in screen, each owner screen (with the forms that open on a click open) and
    the operator's: no WCAG 2.0/2.1 A or AA violation of impact moderate or worse."""
    page = screen.page
    owner = owners[0]
    found: list[str] = []
    page.goto("/app/")
    page.get_by_label("Email").wait_for()
    found += axe_violations(page, "log in")
    log_in(page, owner.email)
    mine = card(page, owner.car_id)
    mine.locator(".chart .main-svg").first.wait_for(timeout=WAIT_MS)
    mine.get_by_role("button", name="Change").click()
    mine.get_by_text("My rules for V2G").click()
    found += axe_violations(page, "my cars")
    name = mine.get_attribute("aria-label")
    page.goto(f"/app/#/cars/{owner.car_id}")
    page.get_by_role("heading", level=1, name=name).wait_for(timeout=WAIT_MS)
    card(page, owner.car_id).locator(".chart .main-svg").first.wait_for(timeout=WAIT_MS)
    found += axe_violations(page, "a car")
    for path, heading in (
        ("credits", "Credits"),
        ("v2v", "Share kWh"),
        ("backup", "Backup"),
        ("account", "Account"),
    ):
        page.goto(f"/app/#/{path}")
        page.get_by_role("heading", level=1, name=heading).wait_for(timeout=WAIT_MS)
        found += axe_violations(page, heading)
    page.get_by_role("button", name="Log out").click()
    log_in(page, OPERATOR_EMAIL, heading="My community")
    page.locator('[data-testid="community"] .chart .main-svg').first.wait_for(timeout=WAIT_MS)
    found += axe_violations(page, "my community")
    assert found == [], "axe-core found:\n" + "\n".join(found)


def test_the_axe_audit_names_the_rule_the_impact_and_the_element(screen: Screen) -> None:
    """The audit above is no empty pass: an unlabelled field and grey text put on the page
    are reported, each with its rule, impact and selector."""
    page = screen.page
    page.goto("/app/")
    page.get_by_label("Email").wait_for()
    page.evaluate(
        """() => document.getElementById('main').insertAdjacentHTML('beforeend',
            '<input id="unlabelled"><p id="faint" style="color:#aaa">faint</p>')"""
    )
    found = axe_violations(page, "log in")
    assert any("label (critical)" in line and "#unlabelled" in line for line in found), found
    assert any("color-contrast (serious)" in line and "#faint" in line for line in found), found


def test_the_account_screen_renames_the_owner_and_makes_and_revokes_an_api_key(
    screen: Screen, demo: Demo, owners: tuple[Owner, Owner]
) -> None:
    """Through the screen alone: a new display name, a wrong password refused next to its form
    with the field marked, an API key made (shown once, working), revoked (working no more),
    every control reachable with Tab, and signing out revokes the session. The owner's
    password stays as it is: the demo server is shared by this module's tests."""
    owner = owners[1]
    page = screen.page
    with demo.client(owner.email) as client:
        was = client.get("/v1/me").json()
    log_in(page, owner.email)
    page.get_by_role("link", name="Account").click()
    page.get_by_role("heading", level=1, name="Account").wait_for(timeout=WAIT_MS)
    try:
        named = page.get_by_role("form", name="display name", exact=True)
        named.get_by_label("Display name").fill("Ann at number 7")
        named.get_by_role("button", name="Save name").click()
        page.get_by_text("Saved: you are Ann at number 7 now.").wait_for(timeout=WAIT_MS)
        assert "Ann at number 7" in page.locator('[data-testid="profile"]').inner_text()
        with demo.client(owner.email) as client:
            assert client.get("/v1/me").json()["name"] == "Ann at number 7"

        screen.expected_statuses.add(422)  # the wrong password, answered with its field
        email = page.get_by_role("form", name="email", exact=True)
        email.get_by_label("New email").fill("elsewhere@example.org")
        email.get_by_label("Current password").fill("not the password")
        email.get_by_role("button", name="Change email").click()
        page.wait_for_function(
            "() => document.getElementById('email-message').textContent"
            ".includes('body.current_password: is not your current password')",
            timeout=WAIT_MS,
        )
        assert email.get_by_label("Current password").get_attribute("aria-invalid") == "true"
        with demo.client(owner.email) as client:
            assert client.get("/v1/me").json()["email"] == owner.email

        keys = page.get_by_role("region", name="API keys")
        keys.get_by_label("Name of the device or integration").fill("wallbox in the garage")
        keys.get_by_role("button", name="Create key").click()
        shown = page.locator('[data-testid="key"]')
        shown.wait_for(timeout=WAIT_MS)
        secret = shown.input_value()
        assert secret.startswith("vp_")
        row = keys.locator('[data-testid="api-key"]', has_text="wallbox in the garage")
        row.wait_for(timeout=WAIT_MS)  # the key list refreshes after the secret is shown
        assert row.count() == 1 and " created 20" in row.inner_text()
        device = httpx.Client(base_url=demo.base_url, headers={"X-API-Key": secret}, timeout=30)
        assert device.get("/v1/me").json()["email"] == owner.email

        assert page.evaluate(UNLABELLED) == []
        assert page.evaluate(LOW_CONTRAST) == []
        assert axe_violations(page, "account") == []
        named.get_by_role("textbox", name="Display name").focus()
        reached = []
        for _ in range(25):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        for control in ("Change email", "Change password", "Revoke", "Create key", "Sign out"):
            assert control in reached, reached
        snap(page, "owner-account")

        row.get_by_role("button", name="Revoke wallbox in the garage").click()
        page.get_by_text("Revoked wallbox in the garage: it no longer works.").wait_for(
            timeout=WAIT_MS
        )
        row.wait_for(state="detached", timeout=WAIT_MS)  # the key is gone from the screen
        assert row.count() == 0 and not shown.is_visible()
        assert device.get("/v1/me").status_code == 401
        device.close()
        page.reload()
        page.get_by_role("heading", level=1, name="Account").wait_for(timeout=WAIT_MS)
        assert secret not in page.content()  # shown once, never again

        refresh = page.evaluate("sessionStorage.getItem('voltpool.refresh')")
        with page.expect_response("**/v1/auth/logout") as logged_out:
            page.get_by_role("button", name="Sign out", exact=True).click()
        assert logged_out.value.status == 204
        page.get_by_role("heading", name="Log in to voltpool").wait_for(timeout=WAIT_MS)
        with demo.client() as client:
            refused = client.post("/v1/auth/refresh", json={"refresh_token": refresh})
            assert refused.status_code == 401
    finally:
        with demo.client(owner.email) as client:  # as it was, for the other tests
            client.patch("/v1/me", json={"name": was["name"]}).raise_for_status()
    log_in(page, OPERATOR_EMAIL, heading="My community")
    page.get_by_role("link", name="Account").click()
    page.get_by_role("region", name="API keys").wait_for(timeout=WAIT_MS)
    assert OPERATOR_EMAIL in page.locator('[data-testid="profile"]').inner_text()
