"""``voltpool serve --demo``: the API on a simulated neighbourhood, no hardware needed.

The built-in scenario's world (:func:`voltpool.simulate.world.build_world`: its homes, its
cars with their chargers and their plug-in sessions, its tariff on real day-ahead prices) is
seeded into the database (:func:`seed_demo`, idempotent): one operator, one owner per home,
one community, the homes and the cars, and starting credits for every owner, granted from the
ledger's grants account as an admin's grant is. A simulated charger
(:class:`voltpool.api.demo_driver.DemoDriver`) then follows the plans and the scenario's
comings and goings on a :class:`~voltpool.api.clock.FastClock` that starts inside the shipped
price data (the scenario's first day at 16:00 local time) and runs ``speed`` times faster
than real time.

    settings = demo_settings("sqlite:///demo.sqlite", speed=60)
    app = create_app(settings)   # the lifespan seeds and starts the simulated chargers

Every demo account logs in with one password (:data:`DEFAULT_PASSWORD` unless set); emails
are ``operator@demo.voltpool.example`` and ``owner-home-001@demo.voltpool.example`` ...
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voltpool.api import audit
from voltpool.api.clock import Clock, FastClock
from voltpool.api.security import hash_password, password_matches
from voltpool.api.settings import ServeSettings
from voltpool.api.store.tables import Car, Community, Home, Plan, PlugSession, User
from voltpool.api.wallets import GRANTS, open_grants, open_wallet, to_millicredits, wallet_id
from voltpool.ledger import Conflict, Ledger

if TYPE_CHECKING:
    from voltpool.api.demo_driver import DemoDriver
    from voltpool.api.deps import AppState
    from voltpool.scenario import Scenario
    from voltpool.simulate.world import World

DEMO_DOMAIN = "demo.voltpool.example"
OPERATOR_EMAIL = f"operator@{DEMO_DOMAIN}"
DEFAULT_PASSWORD = "voltpool-demo-password"
DEFAULT_SCENARIO = "neighbourhood"
DEFAULT_SPEED = 60.0
"""Simulated seconds per real second: one simulated hour per real minute."""
STARTING_CREDITS = 100.0
"""What each demo owner is granted at seeding. [credits]"""
BATTERY_AGE_DAYS = (90, 6 * 365)
"""The youngest and oldest demo battery at the scenario's start. [days]"""
BATTERY_AGE_SEED = 2026
START_LOCAL_HOUR = 16
"""The demo clock starts at this local hour of the scenario's first day (cars coming home)."""
BREAKER_KW = 17.25
"""Each demo home's main breaker (3 x 25 A); the scenario has no breakers. [kW]"""
GRANT_PREFIX = "demo-grant-"


def owner_email(home_id: str) -> str:
    """The demo owner of the scenario's home ``home_id`` (``home-001`` ...)."""
    return f"owner-{home_id}@{DEMO_DOMAIN}"


def community_name(scenario: Scenario) -> str:
    return f"voltpool demo: {scenario.name}"


def car_name(world: World, n: int) -> str:
    """How the demo names the scenario's ``n``-th car: its id and its drawn model."""
    return f"{world.vehicle_ids[n]} {world.vehicle_model[n]}"[:128]


@dataclass(frozen=True)
class DemoOptions:
    """What ``--demo`` runs: the built-in scenario (or a scenario file), the one password of
    every demo account, each owner's starting credits, and whether the simulated chargers run
    (off: seeding only)."""

    scenario: str = DEFAULT_SCENARIO
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    starting_credits: float = STARTING_CREDITS
    chargers: bool = True


@dataclass(frozen=True)
class DemoSettings(ServeSettings):
    """:class:`ServeSettings` of a demo: the app's lifespan seeds the scenario and starts the
    simulated chargers (:func:`start_demo`) when its settings carry ``demo``."""

    demo: DemoOptions = field(default_factory=DemoOptions)


@dataclass(frozen=True)
class DemoSeed:
    """What the seeded demo is called in the database: the community, the operator, the
    owner of each scenario home and the database id of each scenario home and car."""

    community_id: str
    operator_id: str
    owner_ids: dict[str, str]
    """Scenario home id (``home-001``) -> the owner's user id."""
    home_ids: dict[str, str]
    """Scenario home id -> database home id."""
    car_ids: dict[str, str]
    """Scenario car id (``car-001``) -> database car id."""
    created: int
    """Rows this seeding created (0: everything was there already)."""


def demo_start(scenario: Scenario) -> datetime:
    """Where the demo clock starts: the scenario's first day at :data:`START_LOCAL_HOUR`
    local time (UTC), inside the shipped day-ahead prices."""
    local = pd.Timestamp(scenario.start).tz_localize(scenario.timezone)
    return (local + pd.Timedelta(hours=START_LOCAL_HOUR)).tz_convert("UTC").to_pydatetime()


def _account(
    db: Session, users: dict[str, User], email: str, role: str, name: str, password_hash: str
) -> tuple[User, bool]:
    user = users.get(email)
    if user is not None:
        return user, False
    user = User(email=email, password_hash=password_hash, role=role, name=name)
    db.add(user)
    users[email] = user
    return user, True


def battery_ages_days(n_cars: int) -> np.ndarray:
    """How long each demo car's battery has been in service at the scenario's start, in days:
    spread evenly over :data:`BATTERY_AGE_DAYS` in a fixed shuffled order (the fleet of a
    street: some new, some six years old)."""
    low, high = BATTERY_AGE_DAYS
    spread = np.linspace(low, high, max(n_cars, 1)).round()[:n_cars]
    return np.random.default_rng(BATTERY_AGE_SEED).permutation(spread)


def seed_demo(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    scenario: Scenario,
    *,
    world: World | None = None,
    password: str = DEFAULT_PASSWORD,
    starting_credits: float = STARTING_CREDITS,
) -> DemoSeed:
    """Put ``scenario``'s world in the database once: seeding again finds every account,
    community, home and car by its email or name and creates nothing twice (a new password
    replaces the demo accounts' old one). ``world``: the scenario's (built when not given)."""
    if world is None:
        from voltpool.simulate.world import build_world

        world = build_world(scenario)
    created = 0
    with sessions() as db:
        users = {
            user.email: user
            for user in db.scalars(sa.select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")))
        }
        operator = users.get(OPERATOR_EMAIL)
        hashed = hash_password(password)  # one hash for every demo account: one password
        if operator is not None and not password_matches(password, operator.password_hash):
            for user in users.values():
                user.password_hash = hashed
        operator, new = _account(db, users, OPERATOR_EMAIL, "operator", "demo operator", hashed)
        created += new
        db.flush()
        name = community_name(scenario)
        community = db.scalar(
            sa.select(Community).where(Community.operator_id == operator.id, Community.name == name)
        )
        if community is None:
            transformer = scenario.transformer
            community = Community(
                name=name,
                operator_id=operator.id,
                timezone=scenario.timezone,
                tariff=scenario.tariff.preset or "day-ahead-plus-fee",
                import_limit_kw=transformer.import_limit_kw,
                export_limit_kw=transformer.export_limit_kw,
            )
            db.add(community)
            db.flush()
            created += 1
        homes = {
            home.name: home
            for home in db.scalars(sa.select(Home).where(Home.community_id == community.id))
        }
        owners: dict[str, User] = {}
        house_load_kw = world.home_load_kw.mean(axis=1)
        for h, home_id in enumerate(world.home_ids):
            owner, new = _account(
                db, users, owner_email(home_id), "owner", f"household {home_id}", hashed
            )
            created += new
            db.flush()
            owners[home_id] = owner
            if home_id not in homes:
                homes[home_id] = Home(
                    owner_id=owner.id,
                    community_id=community.id,
                    name=home_id,
                    breaker_kw=BREAKER_KW,
                    house_load_kw=round(float(house_load_kw[h]), 3),
                )
                db.add(homes[home_id])
                created += 1
        db.flush()
        cars = {
            car.name: car
            for car in db.scalars(
                sa.select(Car)
                .join(Home, Car.home_id == Home.id)
                .where(Home.community_id == community.id)
            )
        }
        levels = scenario.car_levels()
        rules = scenario.rule_blocks()
        ages = battery_ages_days(len(world.vehicle_ids))
        first_day = scenario.start_utc.date()
        car_ids: dict[str, str] = {}
        for n, vehicle_id in enumerate(world.vehicle_ids):
            label = car_name(world, n)
            car = cars.get(label)
            if car is None:
                home = homes[world.home_ids[max(int(world.vehicle_home[n]), 0)]]
                car = Car(
                    owner_id=home.owner_id,
                    home_id=home.id,
                    name=label,
                    capacity_kwh=float(world.capacity_kwh[n]),
                    max_charge_kw=float(world.max_charge_kw[n]),
                    max_discharge_kw=float(world.max_discharge_kw[n]),
                    charge_efficiency=float(world.charge_efficiency[n]),
                    discharge_efficiency=float(world.discharge_efficiency[n]),
                    chemistry=str(world.chemistry[n]),
                    soc_min=float(levels["soc_min"][n]),
                    soc_max=float(levels["soc_max"][n]),
                    soc_target=float(levels["soc_target"][n]),
                    soc_now=float(world.soc_initial[n]),
                    wear_per_kwh=scenario.vehicles.degradation_cost_per_kwh,
                    rules=dict(rules[n]),
                    battery_since=first_day - timedelta(days=int(ages[n])),
                )
                db.add(car)
                db.flush()
                created += 1
            car_ids[vehicle_id] = car.id
        if created:
            audit.record(
                db, None, "demo.seed", community.id, scenario=scenario.name, created=created
            )
        db.commit()
        seed = DemoSeed(
            community_id=community.id,
            operator_id=operator.id,
            owner_ids={home_id: user.id for home_id, user in owners.items()},
            home_ids={home_id: home.id for home_id, home in homes.items()},
            car_ids=car_ids,
            created=created,
        )
    _grant_starting_credits(sessions, ledger, seed, starting_credits)
    return seed


def _grant_starting_credits(
    sessions: sessionmaker[Session], ledger: Ledger, seed: DemoSeed, credits: float
) -> None:
    """Every demo account's wallet, and each owner's starting credits granted once (as
    ``POST /v1/credits/grants`` does: from the grants account, code ``grant``, audited)."""
    open_grants(ledger)
    open_wallet(ledger, seed.operator_id)
    amount = to_millicredits(credits)
    granted: list[tuple[str, str]] = []
    for user_id in seed.owner_ids.values():
        open_wallet(ledger, user_id)
        if amount <= 0:
            continue
        transfer_id = GRANT_PREFIX + user_id
        try:
            ledger.transfer(
                transfer_id, GRANTS, wallet_id(user_id), amount, unit="credit", code="grant"
            )
        except Conflict:  # granted before with another amount: that grant stands
            continue
        granted.append((transfer_id, user_id))
    with sessions() as db:
        for transfer_id, user_id in granted:
            audit.record_once(
                db, None, "credits.grant", transfer_id, to=user_id, millicredits=amount
            )
        db.commit()


def resume_time(sessions: sessionmaker[Session], scenario: Scenario) -> datetime | None:
    """The latest site time a demo in this database reached (its newest plan or plug-in),
    None when there was none: a restarted demo goes on from there rather than back in time."""
    with sessions() as db:
        community = db.scalar(
            sa.select(Community.id)
            .join(User, User.id == Community.operator_id)
            .where(User.email == OPERATOR_EMAIL, Community.name == community_name(scenario))
        )
        if community is None:
            return None
        planned = db.scalar(
            sa.select(sa.func.max(Plan.created_at)).where(Plan.community_id == community)
        )
        plugged = db.scalar(
            sa.select(sa.func.max(PlugSession.arrival))
            .join(Car, Car.id == PlugSession.car_id)
            .join(Home, Home.id == Car.home_id)
            .where(Home.community_id == community)
        )
    times = [t for t in (planned, plugged) if t is not None]
    return max(times) if times else None


def demo_settings(
    db: str,
    speed: float = DEFAULT_SPEED,
    options: DemoOptions | None = None,
    **settings: object,
) -> DemoSettings:
    """The settings of ``voltpool serve --demo`` on ``db``: a :class:`FastClock` at ``speed``
    from :func:`demo_start` (or from where a demo in ``db`` left off, if later)."""
    from voltpool.api.store.schema import open_engine, sessions, upgrade
    from voltpool.scenario import load_scenario

    options = options or DemoOptions()
    scenario = load_scenario(options.scenario)
    start = demo_start(scenario)
    engine = open_engine(db)
    try:
        upgrade(engine)
        left_off = resume_time(sessions(engine, read_only=True), scenario)
    finally:
        engine.dispose()
    if left_off is not None and left_off > start:
        start = left_off
    clock: Clock = FastClock(speed, start=start)
    return DemoSettings(db=db, clock=clock, demo=options, **settings)  # type: ignore[arg-type]


async def start_demo(state: AppState, options: DemoOptions) -> DemoDriver:
    """Seed the demo (in a worker thread) and start its simulated chargers (the app's
    lifespan calls this once the live planner runs); stop the driver on shutdown."""
    from voltpool.api.demo_driver import DemoDriver, DemoSchedule
    from voltpool.scenario import load_scenario
    from voltpool.simulate.world import build_world

    scenario = load_scenario(options.scenario)
    world = await asyncio.to_thread(build_world, scenario)
    seed = await asyncio.to_thread(
        seed_demo,
        state.sessions,
        state.ledger,
        scenario,
        world=world,
        password=options.password,
        starting_credits=options.starting_credits,
    )
    driver = DemoDriver(state, seed, DemoSchedule(world))
    if options.chargers:
        await driver.start()
    return driver


__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_SPEED",
    "OPERATOR_EMAIL",
    "DemoOptions",
    "DemoSeed",
    "DemoSettings",
    "demo_settings",
    "demo_start",
    "owner_email",
    "seed_demo",
    "start_demo",
]
