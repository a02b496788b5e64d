"""``voltpool plan``: my car tonight, from plain options, told in local time.

    voltpool plan --capacity-kwh 77 --soc-now 35 --target 80 --plugged 18:00 --leave 07:30 \\
        --date 2024-01-16 --prices day-ahead -o plan.json --save-problem problem.json
    voltpool plan --date 2024-01-16 --plugged 18:00 --tariff nl-dynamic-2024
    voltpool plan --date 2024-01-16 --plugged 18:00 --v2g-floor 60 --v2g-max-kwh-per-day 6 \\
        --discharge-hours 17:00-22:00

The owner's rules for the car (``--v2g-floor``, ``--v2g-max-kwh-per-day``,
``--discharge-hours``, ``--no-discharge``, ``--max-cycles-per-week``) become constraints of
the one LP (:class:`voltpool.service.tonight.CarRules`) and are written with
``--save-problem``.

Every option is checked before any work: all broken rules at once, each naming its option,
exit 2, nothing written. The plan is :func:`voltpool.service.tonight.plan_tonight`'s (the exact
LP, verified independently, beside charging at once on plug-in); this module parses and
renders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import typer

from voltpool import gate
from voltpool.cli.common import (
    COMMAND_LINE,
    NOW_YEARS,
    bad_input,
    bounded_text,
    console,
    decimal,
    path_text,
    refuse,
    shown,
    write_json_atomically,
)
from voltpool.data.prices import price_coverage
from voltpool.errors import FieldIssue, ProblemError
from voltpool.io import problem_to_dict, schedule_to_dict
from voltpool.model import DEFAULT_CHARGE_EFFICIENCY
from voltpool.model.problem import timezone_issue
from voltpool.model.rules import Window, parse_window, window_text
from voltpool.model.tariffs import RetailTariff, tariff_preset, tariff_presets
from voltpool.schedule.explain import moment, span
from voltpool.service.tonight import (
    BREAKER_KW,
    CAR_ID,
    FLAT,
    HOUSE_LOAD_KW,
    Block,
    Car,
    CarRules,
    Home,
    Night,
    Tonight,
    day_ahead_prices,
    flat_prices,
    plan_tonight,
    reference_defaults,
)

T = TypeVar("T")

FLAT_PRICE_PER_KWH = 0.30
"""A Dutch variable contract, energy tax and VAT included (2024). [EUR/kWh]"""
DEFAULT_TIMEZONE = "Europe/Amsterdam"
STAY_H_MAX = 48.0
"""The longest stay planned (one LP of 192 quarter-hours)."""
CAPACITY_KWH_MAX = 1000.0
POWER_KW_MAX = 1000.0
PRICE_PER_KWH_MAX = 100.0
CYCLES_PER_WEEK_MAX = 1000.0
"""The schema's bound on ``max_cycles_per_week``."""
TIME_OF_DAY = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-].*|Z)?")
DEFAULTS = reference_defaults()


class PriceKind(StrEnum):
    flat = "flat"
    day_ahead = "day-ahead"


def _percent(field: str, minimum: float = 0.0) -> Callable[[str | float], float]:
    return decimal(field, minimum, 100.0)


def _collect(issues: list[FieldIssue], check: Callable[[], T]) -> T | None:
    """``check()``'s value, or None with its ProblemError's issues added to ``issues``."""
    try:
        return check()
    except ProblemError as error:
        issues.extend(error.issues)
        return None


def _refused(field: str, rule: str) -> ProblemError:
    return ProblemError([FieldIssue(field, rule)])


def parse_date(text: str, field: str = "--date") -> date:
    """``YYYY-MM-DD`` in the years :data:`~voltpool.cli.common.NOW_YEARS`."""
    try:
        day = date.fromisoformat(text) if DATE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None or not NOW_YEARS[0] <= day.year <= NOW_YEARS[1]:
        first, last = NOW_YEARS
        raise _refused(field, f"{gate.quote(text)} is not a date YYYY-MM-DD in {first}..{last}")
    return day


def parse_when(text: str, field: str) -> time | datetime:
    """``HH:MM`` (a time of day) or a full ISO date and time (``2024-01-16T18:00``, with or
    without an offset)."""
    if match := TIME_OF_DAY.fullmatch(text):
        return time(int(match[1]), int(match[2]))
    try:
        stamp = datetime.fromisoformat(text) if DATE_TIME.fullmatch(text) else None
    except ValueError:
        stamp = None
    if stamp is None or not NOW_YEARS[0] <= stamp.year <= NOW_YEARS[1]:
        raise _refused(
            field,
            f"{gate.quote(text)} is neither a time HH:MM (18:00) nor a date and time "
            "(2024-01-16T18:00)",
        )
    return stamp


def local(stamp: datetime, zone: ZoneInfo, field: str) -> pd.Timestamp:
    """``stamp`` as a timezone-aware time: its own offset if it has one, else local in ``zone``;
    a local time the clocks skip or pass twice (daylight saving) is refused."""
    if stamp.tzinfo is not None:
        return pd.Timestamp(stamp)
    early, late = stamp.replace(tzinfo=zone, fold=0), stamp.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        again = early.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
        happens = "does not happen" if again != stamp else "happens twice"
        raise _refused(
            field,
            f"{stamp:%Y-%m-%d %H:%M} {happens} in {zone.key} (the clocks change): give another "
            "time, or one with its UTC offset (e.g. 2024-10-27T02:30+02:00)",
        )
    return pd.Timestamp(early)


def parse_night(plugged: str | None, leave: str, evening: str | None, zone: ZoneInfo) -> Night:
    """The night the options describe: ``--plugged`` on ``--date`` (default now), ``--leave``
    the next time after it (or a full date and time); raises ProblemError naming the option."""
    now = pd.Timestamp.now(tz=zone)
    issues: list[FieldIssue] = []
    day = _collect(issues, lambda: parse_date(evening)) if evening else now.date()
    plug_at = (
        None if plugged is None else _collect(issues, lambda: parse_when(plugged, "--plugged"))
    )
    leave_at = _collect(issues, lambda: parse_when(leave, "--leave"))
    if issues or day is None or leave_at is None:
        raise ProblemError(issues)
    if plug_at is None:
        if day != now.date():
            raise _refused("--plugged", f"give the plug-in time: --date {day} is not today")
        start = now
    elif isinstance(plug_at, datetime):
        if evening:
            raise _refused("--date", "leave it out when --plugged gives a date and time")
        start = local(plug_at, zone, "--plugged")
    else:
        start = local(datetime.combine(day, plug_at), zone, "--plugged")
    if isinstance(leave_at, datetime):
        end = local(leave_at, zone, "--leave")
        if end <= start:
            raise _refused(
                "--leave", f"{end.isoformat()} is not after the plug-in {start.isoformat()}"
            )
    else:
        plug_day = start.tz_convert(zone).date()
        end = local(datetime.combine(plug_day, leave_at), zone, "--leave")
        if end <= start:
            next_day = plug_day + timedelta(days=1)
            end = local(datetime.combine(next_day, leave_at), zone, "--leave")
    stay_h = (end - start) / pd.Timedelta(hours=1)
    if stay_h > STAY_H_MAX:
        raise _refused(
            "--leave", f"the car stays {stay_h:.2f} h; at most {STAY_H_MAX:g} h are planned"
        )
    night = Night(start, end, zone.key)
    if night.n_slots < 1:
        raise _refused(
            "--leave",
            f"the car leaves before one whole {night.clock.slot_minutes}-minute slot after "
            "plugging in",
        )
    return night


def parse_prices(
    kind: PriceKind | None,
    price_per_kwh: float | None,
    export_price_per_kwh: float | None,
    grid_fee_per_kwh: float | None,
    preset: str | None = None,
) -> RetailTariff:
    """The tariff the options name: ``--tariff``'s preset, or ``--prices`` (default flat)
    with its prices (raises ProblemError naming each option in conflict)."""
    issues: list[FieldIssue] = []
    if preset is not None:
        for field, value in (
            ("--prices", kind),
            ("--price-per-kwh", price_per_kwh),
            ("--export-price-per-kwh", export_price_per_kwh),
            ("--grid-fee-per-kwh", grid_fee_per_kwh),
        ):
            if value is not None:
                issues.append(
                    FieldIssue(field, "leave it out with --tariff: the preset sets the prices")
                )
        tariff = _collect(issues, lambda: tariff_preset(preset, "--tariff"))
        if issues or tariff is None:
            raise ProblemError(issues)
        return tariff
    if kind is PriceKind.day_ahead:
        for field, value in (
            ("--price-per-kwh", price_per_kwh),
            ("--export-price-per-kwh", export_price_per_kwh),
        ):
            if value is not None:
                issues.append(
                    FieldIssue(field, "is for --prices flat; day-ahead prices set both prices")
                )
        prices = day_ahead_prices(
            DEFAULTS.grid_fee_per_kwh if grid_fee_per_kwh is None else grid_fee_per_kwh
        )
    else:
        if grid_fee_per_kwh is not None:
            issues.append(FieldIssue("--grid-fee-per-kwh", "is for --prices day-ahead"))
        import_price = FLAT_PRICE_PER_KWH if price_per_kwh is None else price_per_kwh
        export_price = 0.0 if export_price_per_kwh is None else export_price_per_kwh
        if export_price > import_price:
            issues.append(
                FieldIssue(
                    "--export-price-per-kwh",
                    f"{export_price:g} must be <= the import price --price-per-kwh "
                    f"({import_price:g})",
                )
            )
        prices = flat_prices(import_price, export_price)
    if issues:
        raise ProblemError(issues)
    return prices


def check_price_coverage(night: Night, zone: ZoneInfo) -> None:
    """Refuse a night outside the shipped day-ahead prices, naming ``--date``."""
    first, end = price_coverage()
    if first <= night.start and night.end <= end:
        return

    def shown_local(stamp: pd.Timestamp) -> str:
        return f"{stamp.tz_convert(zone):%Y-%m-%d %H:%M}"

    raise _refused(
        "--date",
        f"the night {shown_local(night.start)} to {shown_local(night.end)} is outside the "
        f"shipped day-ahead prices, which cover {shown_local(first)} to {shown_local(end)} "
        f"({zone.key}); give a --date within them, or use --prices flat",
    )


def parse_windows(texts: list[str] | None, field: str = "--discharge-hours") -> tuple[Window, ...]:
    """Each ``HH:MM-HH:MM`` of a repeated option as a local window (raises ProblemError naming
    ``field`` for every bad one)."""
    issues: list[FieldIssue] = []
    windows = [parse_window(text, field, issues) for text in texts or ()]
    if issues:
        raise ProblemError(issues)
    return tuple(w for w in windows if w is not None)


def output_issues(output: Path | None, save_problem: Path | None) -> list[FieldIssue]:
    """What stops ``--output`` or ``--save-problem`` from being written (checked before any
    work)."""
    issues: list[FieldIssue] = []
    for path, field in ((output, "--output"), (save_problem, "--save-problem")):
        if path is not None:
            try:
                gate.check_output(path, field, "file")
            except ProblemError as error:
                issues += error.issues
    if (
        output is not None
        and save_problem is not None
        and output.resolve() == save_problem.resolve()
    ):
        issues.append(FieldIssue("--save-problem", "is the same file as --output"))
    return issues


def plan_command(
    capacity_kwh: Annotated[
        float,
        typer.Option(
            parser=decimal("--capacity-kwh", 0.1, CAPACITY_KWH_MAX),
            metavar="KWH",
            help="Usable battery capacity, kWh.",
        ),
    ] = 77.0,
    soc_now: Annotated[
        float,
        typer.Option(
            parser=_percent("--soc-now"),
            metavar="PERCENT",
            help="Charge at plug-in, percent of the battery (35 means 35 %).",
        ),
    ] = 35.0,
    target: Annotated[
        float,
        typer.Option(
            parser=_percent("--target"),
            metavar="PERCENT",
            help="Charge wanted at departure, percent.",
        ),
    ] = 80.0,
    reserve: Annotated[
        float,
        typer.Option(
            parser=_percent("--reserve"),
            metavar="PERCENT",
            help="Driving reserve, percent: the car never gives energy back below it.",
        ),
    ] = 20.0,
    plugged: Annotated[
        str | None,
        typer.Option(
            parser=bounded_text("--plugged"),
            metavar="TIME",
            help="Plug-in time: HH:MM on --date, or a date and time such as 2024-01-16T18:00 "
            "(local time unless it has an offset). Default: now, rounded up to the next "
            "quarter hour.",
        ),
    ] = None,
    leave: Annotated[
        str,
        typer.Option(
            parser=bounded_text("--leave"),
            metavar="TIME",
            help="Departure: HH:MM, the next such time after plugging in (07:30 is tomorrow "
            "morning), or a date and time. At most 48 hours after plugging in.",
        ),
    ] = "07:30",
    evening: Annotated[
        str | None,
        typer.Option(
            "--date",
            parser=bounded_text("--date"),
            metavar="YYYY-MM-DD",
            help="The date of the evening you plug in. Default: today.",
        ),
    ] = None,
    timezone: Annotated[
        str,
        typer.Option(
            parser=bounded_text("--timezone"),
            metavar="ZONE",
            help="Time zone of the times given and shown (an IANA name).",
        ),
    ] = DEFAULT_TIMEZONE,
    charger_kw: Annotated[
        float,
        typer.Option(
            parser=decimal("--charger-kw", 0.1, POWER_KW_MAX),
            metavar="KW",
            help="Charging power of the charger (or the car, if lower), kW.",
        ),
    ] = 11.0,
    discharge_kw: Annotated[
        float | None,
        typer.Option(
            parser=decimal("--discharge-kw", 0.0, POWER_KW_MAX),
            metavar="KW",
            help="Power the charger can give back, kW; 0 for a one-way charger. Default: "
            "the charging power.",
        ),
    ] = None,
    efficiency: Annotated[
        float,
        typer.Option(
            parser=_percent("--efficiency", 1.0),
            metavar="PERCENT",
            help="Charger efficiency each way, percent. Default: that of the V2G car models "
            "voltpool ships.",
        ),
    ] = DEFAULT_CHARGE_EFFICIENCY * 100,
    house_load_kw: Annotated[
        float,
        typer.Option(
            parser=decimal("--house-load-kw", 0.0, POWER_KW_MAX),
            metavar="KW",
            help="The home's own load, taken as flat over the night, kW.",
        ),
    ] = HOUSE_LOAD_KW,
    breaker_kw: Annotated[
        float,
        typer.Option(
            parser=decimal("--breaker-kw", 0.1, POWER_KW_MAX),
            metavar="KW",
            help="Limit of the home's grid connection, both ways, kW (17.25 is 3 x 25 A).",
        ),
    ] = BREAKER_KW,
    prices: Annotated[
        PriceKind | None,
        typer.Option(
            help="flat: one price all night (--price-per-kwh); day-ahead: the shipped "
            "ENTSO-E day-ahead prices of the Netherlands for the night (2015 to early 2025) "
            "plus --grid-fee-per-kwh on imports, exports earning the bare day-ahead price. "
            "Default: flat, unless --tariff.",
        ),
    ] = None,
    tariff_name: Annotated[
        str | None,
        typer.Option(
            "--tariff",
            parser=bounded_text("--tariff"),
            metavar="PRESET",
            help="A tariff preset instead of --prices: "
            f"{', '.join(tariff_presets())} (docs/tariffs.md). Its prices for the night; "
            "day-ahead ones from the shipped prices. Money is then in its currency.",
        ),
    ] = None,
    price_per_kwh: Annotated[
        float | None,
        typer.Option(
            parser=decimal("--price-per-kwh", -PRICE_PER_KWH_MAX, PRICE_PER_KWH_MAX),
            metavar="EUR",
            help="Flat price per kWh bought, taxes included, EUR. "
            f"Default {FLAT_PRICE_PER_KWH:.2f}.",
        ),
    ] = None,
    export_price_per_kwh: Annotated[
        float | None,
        typer.Option(
            parser=decimal("--export-price-per-kwh", -PRICE_PER_KWH_MAX, PRICE_PER_KWH_MAX),
            metavar="EUR",
            help="Flat price per kWh sent to the grid, EUR, at most the import price. "
            "Default 0, as after net metering (salderen) ends in 2027: give your contract's "
            "feed-in price, or the import price while net metering still applies.",
        ),
    ] = None,
    grid_fee_per_kwh: Annotated[
        float | None,
        typer.Option(
            parser=decimal("--grid-fee-per-kwh", 0.0, PRICE_PER_KWH_MAX),
            metavar="EUR",
            help=f"With day-ahead prices: network fee and taxes per kWh bought, EUR. "
            f"Default {DEFAULTS.grid_fee_per_kwh:g}, as in the simulator.",
        ),
    ] = None,
    wear_per_kwh: Annotated[
        float,
        typer.Option(
            parser=decimal("--wear-per-kwh", 0.0, PRICE_PER_KWH_MAX),
            metavar="EUR",
            help="Battery wear per kWh given back, in the tariff's currency (the "
            "simulator's default, in EUR).",
        ),
    ] = DEFAULTS.wear_per_kwh,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            parser=path_text("--output"),
            metavar="FILE",
            help="Write the plan as a schedule file (JSON, schedule format v1).",
        ),
    ] = None,
    save_problem: Annotated[
        Path | None,
        typer.Option(
            parser=path_text("--save-problem"),
            metavar="FILE",
            help="Write the night as a problem file (JSON, problem format v1); "
            "voltpool verify FILE PLAN.json then checks the plan again.",
        ),
    ] = None,
    v2g_floor: Annotated[
        float | None,
        typer.Option(
            "--v2g-floor",
            parser=_percent("--v2g-floor"),
            metavar="PERCENT",
            help="Your rule: the car never gives energy back below this charge, percent "
            "(60 means 60 %). The driving reserve still applies when it is higher.",
        ),
    ] = None,
    v2g_max_kwh_per_day: Annotated[
        float | None,
        typer.Option(
            "--v2g-max-kwh-per-day",
            parser=decimal("--v2g-max-kwh-per-day", 0.0, CAPACITY_KWH_MAX),
            metavar="KWH",
            help="Your rule: the car gives back at most this many kWh per calendar day "
            "(midnight to midnight, local time), counted out of the battery (before the "
            "charger's losses).",
        ),
    ] = None,
    discharge_hours: Annotated[
        list[str] | None,
        typer.Option(
            "--discharge-hours",
            parser=bounded_text("--discharge-hours"),
            metavar="HH:MM-HH:MM",
            help="Your rule: the car gives energy back only in these local hours, e.g. "
            "17:00-22:00 (repeat it for more windows; 22:00-02:00 runs over midnight). "
            "Default: at any time.",
        ),
    ] = None,
    no_discharge: Annotated[
        bool,
        typer.Option(
            "--no-discharge",
            help="Your rule for tonight: the car gives no energy back at all, it only "
            "charges (not today).",
        ),
    ] = False,
    max_cycles_per_week: Annotated[
        float | None,
        typer.Option(
            "--max-cycles-per-week",
            parser=decimal("--max-cycles-per-week", 0.0, CYCLES_PER_WEEK_MAX),
            metavar="CYCLES",
            help="Your rule: the car gives back at most this many full batteries a week "
            "(1 is its capacity, counted out of the battery). The plan does not know what "
            "it gave earlier this week: it counts from tonight.",
        ),
    ] = None,
) -> None:
    """Plan my car tonight, in local time.

    When to charge and when to give energy back: plans the car's night at home with the exact
    scheduler, checks the plan independently and compares it with charging at once on
    plug-in.
    """
    issues: list[FieldIssue] = []
    zone_issue = timezone_issue(timezone, "--timezone")
    zone = None if zone_issue else ZoneInfo(timezone)
    if zone_issue:
        issues.append(zone_issue)
    night = (
        None
        if zone is None
        else _collect(issues, lambda: parse_night(plugged, leave, evening, zone))
    )
    tariff = _collect(
        issues,
        lambda: parse_prices(
            prices, price_per_kwh, export_price_per_kwh, grid_fee_per_kwh, tariff_name
        ),
    )
    if tariff is not None and tariff.needs_day_ahead and night is not None and zone is not None:
        _collect(issues, lambda: check_price_coverage(night, zone))
    if target < reserve:
        issues.append(
            FieldIssue("--target", f"{target:g} % is below the reserve --reserve ({reserve:g} %)")
        )
    if house_load_kw >= breaker_kw:
        issues.append(
            FieldIssue(
                "--breaker-kw",
                f"{breaker_kw:g} kW leaves nothing for the car above the home's own load "
                f"(--house-load-kw {house_load_kw:g})",
            )
        )
    windows = _collect(issues, lambda: parse_windows(discharge_hours))
    issues += output_issues(output, save_problem)
    if issues:
        refuse(COMMAND_LINE, issues)
    assert night is not None and tariff is not None
    rules = CarRules(
        v2g_floor_soc=0.0 if v2g_floor is None else v2g_floor / 100,
        v2g_max_kwh_per_day=math.inf if v2g_max_kwh_per_day is None else v2g_max_kwh_per_day,
        discharge_hours=windows or (),
        not_today=no_discharge,
        max_cycles_per_week=math.inf if max_cycles_per_week is None else max_cycles_per_week,
    )
    car = Car(
        capacity_kwh=capacity_kwh,
        soc_now=soc_now / 100,
        soc_target=target / 100,
        soc_reserve=reserve / 100,
        charger_kw=charger_kw,
        discharge_kw=charger_kw if discharge_kw is None else discharge_kw,
        wear_per_kwh=wear_per_kwh,
        charge_efficiency=efficiency / 100,
        discharge_efficiency=efficiency / 100,
        rules=rules,
    )
    with console.status("Planning tonight..."), bad_input("voltpool plan"):
        tonight = plan_tonight(car, Home(house_load_kw, breaker_kw), tariff, night)
    print_tonight(tonight, night, car, tariff)
    if output is not None:
        write_json_atomically(output, schedule_to_dict(tonight.problem, tonight.result))
        console.print(f"wrote {shown(output)} (the schedule)", highlight=False)
    if save_problem is not None:
        write_json_atomically(save_problem, problem_to_dict(tonight.problem, name="tonight"))
        console.print(f"wrote {shown(save_problem)} (the problem)", highlight=False)


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _block_line(tonight: Tonight, block: Block, width: int, currency: str) -> str:
    """One row of the night's table: when, what, mean power, energy, charge, money."""
    when = span(tonight.problem, block.start_slot, block.end_slot).ljust(width)
    if block.kind == "wait":
        return f"  {when}  {'wait':<9}  {'':>10}  {'':>10}  {block.soc_from:.0%}"
    socs = f"{block.soc_from:.0%} -> {block.soc_to:.0%}"
    row = (
        f"  {when}  {block.kind:<9}  {block.power_kw:>7.1f} kW  {block.energy_kwh:>6.1f} kWh"
        f"  {socs:<12}"
    )
    if block.kind == "charge":
        return f"{row}  costs {block.money:.2f} {currency}"
    where = "to the home and the grid" if block.to_grid else "to the home"
    return f"{row}  {where}: worth {block.money:.2f} {currency}, wear {block.wear:.2f} {currency}"


def _tariff_text(tariff: RetailTariff, tonight: Tonight) -> str:
    currency = tariff.currency
    if tariff.name == FLAT:
        return (
            f"flat {tariff.energy_price_per_kwh:.2f} {currency}/kWh bought, "
            f"{tariff.export_price_per_kwh:.2f} sent to the grid"
        )
    prices = tonight.problem.tariff
    bought, sold = prices.import_price_per_kwh, prices.export_price_per_kwh
    if tariff == day_ahead_prices(tariff.network_fee_per_kwh):
        return (
            f"day-ahead (ENTSO-E, NL) + {tariff.network_fee_per_kwh:.2f} grid fee: "
            f"{bought.min():.2f} to {bought.max():.2f} {currency}/kWh bought"
        )
    text = (
        f"{tariff.name}: {bought.min():.2f} to {bought.max():.2f} {currency}/kWh bought, "
        f"{sold.min():.2f} to {sold.max():.2f} sent to the grid"
    )
    if tariff.capacity_price_per_kw_month:
        text += (
            f"; capacity tariff {prices.peak_price_per_kw:.2f} {currency}/kW of the month's "
            f"peak above {prices.peak_baseline_kw:g} kW"
        )
    return f"{text}\n  ({tariff.description})"


def rules_text(rules: CarRules, capacity_kwh: float) -> str:
    """The owner's rules in a few words: ``V2G floor 60 %, at most 6 kWh a day, 17:00-22:00``."""
    parts = []
    if rules.not_today:
        parts.append("no discharge tonight (not today)")
    if rules.v2g_floor_soc > 0:
        parts.append(f"V2G floor {100 * rules.v2g_floor_soc:g} %")
    if math.isfinite(rules.v2g_max_kwh_per_day):
        parts.append(f"at most {rules.v2g_max_kwh_per_day:g} kWh a day")
    if math.isfinite(rules.max_cycles_per_week):
        cycles = rules.max_cycles_per_week
        parts.append(
            f"at most {cycles:g} cycle{'' if cycles == 1 else 's'} a week "
            f"({cycles * capacity_kwh:g} kWh)"
        )
    if rules.discharge_hours:
        parts.append(", ".join(window_text(w) for w in rules.discharge_hours))
    return ", ".join(parts)


def _about_the_car(note: str) -> str:
    """A rule note without the car's id (there is one car): ``Held at 60 % from ...``."""
    for prefix in (f"{CAR_ID}: ", f"{CAR_ID} "):
        if note.startswith(prefix):
            note = note.removeprefix(prefix)
            return note[:1].upper() + note[1:]
    return note


def print_tonight(tonight: Tonight, night: Night, car: Car, tariff: RetailTariff) -> None:
    """The night's plan in local time: its blocks, the charge at departure, the money."""
    problem = tonight.problem
    n_slots = problem.n_slots
    hours = n_slots * problem.dt_h
    _say(
        f"Tonight ({night.timezone}): plugged in {moment(problem, 0)}, leaving "
        f"{moment(problem, n_slots)}, {hours:g} h"
    )
    zone = ZoneInfo(night.timezone)
    if night.start != night.plugged:
        _say(
            f"  (plugged in at {night.plugged.tz_convert(zone):%H:%M}: the plan starts with "
            f"the next whole {problem.slot_minutes}-minute slot)"
        )
    if night.end != night.leave:
        _say(
            f"  (leaving at {night.leave.tz_convert(zone):%H:%M}: the plan ends with the last "
            "whole slot before)"
        )
    giving = (
        "one-way charger" if car.discharge_kw == 0 else f"gives back up to {car.discharge_kw:g} kW"
    )
    _say(
        f"{car.capacity_kwh:g} kWh car at {car.soc_now:.0%}, target {car.soc_target:.0%}, "
        f"reserve {car.soc_reserve:.0%}; charger {car.charger_kw:g} kW, {giving}"
    )
    if car.rules.given:
        _say(f"Your rules: {rules_text(car.rules, car.capacity_kwh)}")
    _say(f"Prices: {_tariff_text(tariff, tonight)}")
    _say("")
    width = max(len(span(problem, b.start_slot, b.end_slot)) for b in tonight.blocks)
    _say(f"  {'when'.ljust(width)}  {'what':<9}  {'mean power':>10}  {'energy':>10}  charge")
    for block in tonight.blocks:
        _say(_block_line(tonight, block, width, tariff.currency))
    _say("")
    for note in tonight.result.rule_notes:
        _say(shown(_about_the_car(note)))
    if tonight.result.rule_notes:
        _say("")
    verdict = shown(tonight.reason) if tonight.shortfall_kwh else "ready"
    _say(
        f"At departure, {moment(problem, n_slots)}: {tonight.soc_departure:.0%} "
        f"(target {car.soc_target:.0%}): {verdict}"
    )
    saving = round(tonight.uncontrolled_cost - tonight.plan_cost, 2) + 0.0  # no "-0.00"
    currency = tariff.currency
    _say(
        f"Money: this plan costs {tonight.plan_cost:.2f} {currency}, charging at once on "
        f"plug-in {tonight.uncontrolled_cost:.2f}: {saving:.2f} saved"
    )
    if tonight.v2g_earned or tonight.wear_cost:
        _say(
            f"  included: V2G earned {tonight.v2g_earned:.2f} {currency}, battery wear "
            f"{tonight.wear_cost:.2f} {currency}"
        )
    _say(f"  (the home's own load, {tonight.home_cost:.2f} {currency}, is not counted)")
    for note in tonight.result.site_notes:
        console.print(f"[yellow]{shown(note)}[/]", highlight=False)
    checked = tonight.outcome.verification.checked
    _say(f"plan verified: all {len(checked)} rules hold")
