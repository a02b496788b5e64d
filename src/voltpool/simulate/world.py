"""The simulated world, built once per scenario from real data: the same for every policy.

Time runs on one slot grid of ``scenario.slot_minutes`` that starts a day *before* the
scenario (history for persistence forecasts) and ends a planning horizon *after* it (so the
last plans see a full horizon). Slot ``first_slot`` (one day of slots) is the scenario's first.

- Homes: BDEW H25 profile (demandlib), each home scaled to its own yearly consumption, drawn
  lognormally around the scenario's mean.
- Prices: the scenario's tariff (:mod:`voltpool.model.tariffs`; by default ENTSO-E Netherlands
  day-ahead plus the network fee for imports, minus the export fee for exports). A scenario
  outside the shipped price years replays the same calendar days of the latest shipped year
  with the price data (and says so in ``notes``).
- Cars: models drawn from the V2G-capable list (weighted by Dutch registrations); plug-ins drawn
  from the ElaadNL statistics day by day (weekday or weekend distribution of the local day),
  each day with probability ``plugins_per_week / 7``, dropping any that would start before
  the previous session ended. The energy a session needs
  (ElaadNL energy per session) is the energy the car used driving since it last left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from voltpool.battery import CHEMISTRY_CELLS, chemistry_for_models, temperature_warnings
from voltpool.battery.calibrate import WearCoefficients, calibrate
from voltpool.data import (
    day_ahead_price_per_kwh,
    household_load_kw,
    price_coverage,
    sample_models,
    sample_sessions,
)
from voltpool.errors import FieldIssue, ProblemError
from voltpool.model import PeakBilling, SlotGrid
from voltpool.model.rules import OwnerRules, local_days
from voltpool.model.tariffs import SlotPrices, billing_months
from voltpool.scenario import Scenario
from voltpool.simulate.events import GridEvents, grid_events

MINUTES_PER_DAY = 24 * 60
REFERENCE_ANNUAL_KWH = 1000.0
SESSION_DATA_MINUTES = 15
"""Resolution of the ElaadNL session statistics (arrival slots of 15 minutes)."""


@dataclass(frozen=True, eq=False)
class Sessions:
    """Plug-in sessions of all cars, sorted by arrival slot (struct of arrays, on the grid)."""

    vehicle: np.ndarray
    arrival_slot: np.ndarray
    departure_slot: np.ndarray
    trip_kwh: np.ndarray

    def plugged_slots(self, n_vehicles: int, start_slot: int, end_slot: int) -> np.ndarray:
        """``[N]`` how many slots ``start_slot <= t < end_slot`` each car is plugged in."""
        overlap = np.minimum(self.departure_slot, end_slot) - np.maximum(
            self.arrival_slot, start_slot
        )
        return np.bincount(self.vehicle, weights=np.maximum(overlap, 0), minlength=n_vehicles)


@dataclass(frozen=True, eq=False)
class World:
    """Inputs shared by every policy run (all time arrays on the extended grid)."""

    scenario: Scenario
    index: pd.DatetimeIndex
    dt_h: float
    home_ids: tuple[str, ...]
    home_load_kw: np.ndarray
    base_load_kw: np.ndarray
    """Sum of the homes' load per slot (computed once). [kW]"""
    vehicle_ids: tuple[str, ...]
    vehicle_home: np.ndarray
    vehicle_model: tuple[str, ...]
    chemistry: np.ndarray
    """Cell chemistry of each car (``nmc``, ``lfp``, ``nca``), from its model."""
    capacity_kwh: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    soc_initial: np.ndarray
    import_price_per_kwh: np.ndarray
    export_price_per_kwh: np.ndarray
    import_limit_kw: np.ndarray
    export_limit_kw: np.ndarray
    sessions: Sessions
    notes: tuple[str, ...]
    peak_billing: PeakBilling | None = None
    """The demand charge's billing periods on the world's slots (:func:`peak_billing`)."""
    owner_rules: OwnerRules | None = None
    """The owners' rules of the cars (the scenario's ``[[rules]]``), None without any."""
    events: GridEvents = field(default_factory=lambda: GridEvents((), (), ()))
    """Import limits, outages and V2V offers and requests on the slot grid, fitted to the
    period and the drawn homes and cars (:func:`~voltpool.simulate.events.grid_events`)."""
    home_islanded: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    """``[H, T]`` true where a home is cut off from the grid (an outage)."""
    backup_reserve_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Energy each car keeps when it powers its home in an outage: the larger of
    the car's ``soc_min`` and ``backup.min_range_km`` at the scenario's consumption. [kWh]"""

    def wear_coefficients(self, chemistry: str) -> WearCoefficients:
        """Linear wear costs of a chemistry, fitted to its ageing model (cached): marginal over
        the warranty of a new car on the standard commute, valued as the health report values
        wear (:func:`voltpool.battery.calibrate.calibrate`)."""
        battery = self.scenario.battery
        return calibrate(
            CHEMISTRY_CELLS[chemistry],
            battery.pack_value_per_kwh,
            battery.end_of_life_capacity,
            battery.temperature_c,
            battery.segments,
            horizon_years=battery.warranty_years,
        )

    @property
    def clock(self) -> SlotGrid:
        """The world's slot clock: slot 0 is ``index[0]``."""
        return SlotGrid(self.index[0], self.scenario.slot_minutes)

    @property
    def local_day(self) -> np.ndarray:
        """``[T]`` the local calendar day each slot of the world starts in (0: its first)."""
        return local_days(self.clock, self.scenario.timezone, len(self.index))

    @property
    def slots_per_hour(self) -> int:
        """Whole slots per hour (at least one: the hourly re-plan period)."""
        return max(1, int(self.clock.slots_per_hour))

    @property
    def slots_per_day(self) -> int:
        return self.clock.slots_per_day

    @property
    def first_slot(self) -> int:
        """The scenario's first slot (a day of history comes before it)."""
        return self.slots_per_day

    @property
    def end_slot(self) -> int:
        """One past the scenario's last slot."""
        return self.first_slot + self.scenario.n_slots

    @property
    def n_vehicles(self) -> int:
        return len(self.vehicle_ids)

    def cars_cut_off(self, t: int) -> np.ndarray:
        """``[N]`` cars whose home is cut off by an outage in slot ``t`` (a car without a home
        never is)."""
        has_home = self.vehicle_home >= 0
        cut = np.zeros(self.n_vehicles, dtype=bool)
        cut[has_home] = self.home_islanded[self.vehicle_home[has_home], t]
        return cut


def _prices(scenario: Scenario, index: pd.DatetimeIndex) -> tuple[np.ndarray, list[str]]:
    """Day-ahead prices on ``index``; outside the shipped years, the nearest year that fits."""
    first, end = price_coverage()
    step = pd.Timedelta(minutes=scenario.slot_minutes)
    for years in sorted(range(-30, 31), key=abs):
        shifted = index - pd.DateOffset(years=years)
        if shifted[0] >= first and shifted[-1] + step <= end:
            break
    else:
        raise ProblemError(
            [
                FieldIssue(
                    "start",
                    f"the period is longer than the shipped price data ({first:%Y-%m-%d} .. "
                    f"{end:%Y-%m-%d})",
                )
            ]
        )
    series = day_ahead_price_per_kwh(shifted[0], shifted[-1] + step, freq="15min")
    values = series.reindex(shifted, method="ffill").to_numpy()
    notes = (
        []
        if years == 0
        else [
            f"prices: the period lies outside the shipped day-ahead data ({first:%Y-%m-%d} .. "
            f"{end:%Y-%m-%d}); the same calendar days {-years:+d} year(s) are used"
        ]
    )
    return values, notes


def _tariff_prices(scenario: Scenario, index: pd.DatetimeIndex) -> tuple[SlotPrices, list[str]]:
    """The scenario's import and export prices on ``index``, and notes on how they were made
    (replayed day-ahead years, export capped at import, a capacity tariff over months)."""
    tariff = scenario.tariff.model()
    day_ahead, notes = _prices(scenario, index) if tariff.needs_day_ahead else (None, [])
    prices = tariff.prices(len(index), day_ahead, index)
    first = MINUTES_PER_DAY // scenario.slot_minutes
    capped = int(prices.export_capped[first : first + scenario.n_slots].sum())
    if capped:
        notes.append(
            f"tariff: {tariff.name} pays more for an exported kWh than an imported one costs in "
            f"{capped} slots; there the export price is capped at the import price (the "
            "scheduler's rule)"
        )
    return prices, notes


def peak_billing(scenario: Scenario, index: pd.DatetimeIndex) -> PeakBilling | None:
    """The demand charge over the simulated period, on the slots of ``index``.

    A capacity tariff bills each local calendar month's highest import at the monthly price
    with VAT (at least its minimum kW); a month the period covers in part pays its share, by
    the days simulated over the days of the month (a week of January pays 7/31). A plain
    ``tariff.peak_price_per_kw`` is one charge on the whole period's highest import.
    """
    first = MINUTES_PER_DAY // scenario.slot_minutes
    tariff = scenario.tariff.model()
    monthly = tariff.capacity_price_billed_per_kw_month
    if not monthly:
        price = scenario.tariff.peak_price_per_kw
        return PeakBilling.single(price, first) if price > 0 else None
    days = pd.date_range(scenario.start, periods=scenario.days, freq="D")
    month = np.asarray(days.year * 12 + days.month)
    local = index[first : first + scenario.n_slots].tz_convert(scenario.timezone)
    slot_month = np.asarray(local.year * 12 + local.month)
    starts, prices = [], []
    for value in np.unique(month):
        in_month = np.flatnonzero(month == value)
        starts.append(first + int(np.argmax(slot_month == value)))
        prices.append(monthly * billing_months(days[in_month[0]].date(), in_month.size))
    return PeakBilling(np.array(starts), np.array(prices), tariff.capacity_min_kw)


def _sessions(
    scenario: Scenario, index: pd.DatetimeIndex, rng: np.random.Generator, n_vehicles: int
) -> Sessions:
    """Draw plug-in sessions day by day (local days), dropping overlaps, vectorized over cars."""
    zone = scenario.timezone
    start_local = index[0].tz_convert(zone).normalize()
    step = pd.Timedelta(minutes=scenario.slot_minutes)
    n_days = int(np.ceil(len(index) / (MINUTES_PER_DAY // scenario.slot_minutes))) + 1
    busy_until = np.full(n_vehicles, -1, dtype=np.int64)
    plug_in_probability = scenario.vehicles.plugins_per_week / 7.0
    vehicle, arrival, departure, energy = [], [], [], []
    for day in range(n_days):
        local_midnight = (start_local + pd.Timedelta(days=day)).tz_localize(None)
        weekday = local_midnight.day_of_week < 5
        draw = sample_sessions(
            n_vehicles, rng, weekday=weekday, category=scenario.vehicles.session_category
        )
        local_arrival = pd.DatetimeIndex(
            local_midnight + draw.arrival_slot * pd.Timedelta(minutes=SESSION_DATA_MINUTES)
        )
        utc_arrival = local_arrival.tz_localize(
            zone, ambiguous=True, nonexistent="shift_forward"
        ).tz_convert("UTC")
        slot = ((utc_arrival - index[0]) // step).to_numpy(np.int64)
        length = np.maximum(1, np.rint(draw.connection_h * 60 / scenario.slot_minutes))
        length = length.astype(np.int64)
        wants = rng.random(n_vehicles) < plug_in_probability
        keep = wants & (slot > busy_until) & (slot >= 0) & (slot < len(index))
        cars = np.flatnonzero(keep)
        vehicle.append(cars)
        arrival.append(slot[keep])
        departure.append(slot[keep] + length[keep])
        energy.append(draw.energy_kwh[keep])
        busy_until[keep] = slot[keep] + length[keep]
    vehicle_all = np.concatenate(vehicle)
    arrival_all = np.concatenate(arrival)
    order = np.lexsort((vehicle_all, arrival_all))
    return Sessions(
        vehicle=vehicle_all[order],
        arrival_slot=arrival_all[order],
        departure_slot=np.concatenate(departure)[order],
        trip_kwh=np.concatenate(energy)[order],
    )


def cars_table(world: World) -> pd.DataFrame:
    """One row per car: model, chemistry, capacity and charger limits (``cars.csv``)."""
    return pd.DataFrame(
        {
            "vehicle_id": list(world.vehicle_ids),
            "home_id": [world.home_ids[h] if h >= 0 else "" for h in world.vehicle_home],
            "model": list(world.vehicle_model),
            "chemistry": world.chemistry,
            "capacity_kwh": world.capacity_kwh,
            "max_charge_kw": world.max_charge_kw,
            "max_discharge_kw": world.max_discharge_kw,
        }
    )


def check_transformer(
    scenario: Scenario, index: pd.DatetimeIndex, base_load_kw: np.ndarray, limit_kw: np.ndarray
) -> None:
    """Refuse a scenario whose homes alone overload the transformer: no policy could help."""
    first = MINUTES_PER_DAY // scenario.slot_minutes
    inside = slice(first, first + scenario.n_slots)
    over = np.flatnonzero(base_load_kw[inside] > limit_kw[inside])
    if over.size == 0:
        return
    first = over[0]
    limit = limit_kw[inside][first]
    field = "transformer.import_limit_kw"
    if limit < scenario.transformer.import_limit_kw:
        field = "events[].import_limit_kw"
    when = index[inside][first].tz_convert(scenario.timezone)
    raise ProblemError(
        [
            FieldIssue(
                field,
                f"{limit:g} kW is below the homes' own load "
                f"({base_load_kw[inside][first]:.1f} kW at {when:%Y-%m-%d %H:%M %Z}; "
                f"{over.size} slots in all, homes' peak "
                f"{base_load_kw[inside].max():.1f} kW): the scenario cannot be met by any policy",
            )
        ]
    )


def build_world(scenario: Scenario) -> World:
    """Everything the policies share, from the scenario and the shipped data (seeded)."""
    rng = np.random.default_rng(scenario.seed)
    horizon_slots = scenario.planning.horizon_hours * 60 // scenario.slot_minutes
    history_slots = MINUTES_PER_DAY // scenario.slot_minutes
    index = pd.date_range(
        scenario.start_utc - pd.Timedelta(days=1),
        periods=history_slots + scenario.n_slots + horizon_slots,
        freq=f"{scenario.slot_minutes}min",
    )
    dt_h = scenario.slot_minutes / 60.0
    n_days = int(np.ceil(len(index) / history_slots))

    homes = scenario.homes
    spread = homes.annual_kwh_spread
    annual_kwh = homes.annual_kwh * rng.lognormal(-0.5 * spread**2, spread, homes.count)
    profile = household_load_kw(
        index[0], n_days, REFERENCE_ANNUAL_KWH, local_tz=scenario.timezone
    ).to_numpy()[: len(index)]
    home_load_kw = annual_kwh[:, None] / REFERENCE_ANNUAL_KWH * profile[None, :]

    cars = scenario.vehicles
    n_vehicles = cars.count
    models = sample_models(n_vehicles, rng)
    bidirectional = rng.random(n_vehicles) < cars.bidirectional_share
    max_charge_kw = np.minimum(cars.charger_kw, models["max_ac_charge_kw"].to_numpy(float))
    max_discharge_kw = np.where(
        bidirectional,
        np.minimum(cars.charger_kw, models["max_ac_discharge_kw"].to_numpy(float)),
        0.0,
    )
    efficiency = models["charge_efficiency_ac_3ph_16a"].to_numpy(float)
    vehicle_home = (
        rng.choice(homes.count, n_vehicles, replace=homes.count < n_vehicles)
        if homes.count
        else np.full(n_vehicles, -1)
    )

    sessions = _sessions(scenario, index, rng, n_vehicles)
    prices, notes = _tariff_prices(scenario, index)
    events, event_notes = grid_events(
        scenario, index, np.random.default_rng([scenario.seed, 1]), max_discharge_kw, sessions
    )
    import_limit = np.full(len(index), scenario.transformer.import_limit_kw)
    export_limit_value = scenario.transformer.export_limit_kw
    export_limit = np.full(len(index), np.inf if export_limit_value is None else export_limit_value)
    for limit in events.import_limits:
        window = slice(limit.start_slot, limit.end_slot)
        import_limit[window] = np.minimum(import_limit[window], limit.import_limit_kw)

    check_transformer(scenario, index, home_load_kw.sum(axis=0), import_limit)
    capacity_kwh = models["capacity_kwh"].to_numpy(float)
    chemistry = chemistry_for_models(models["model"])
    backup = scenario.backup
    range_kwh = backup.min_range_km * backup.consumption_kwh_per_100km / 100.0
    levels = scenario.car_levels()
    return World(
        scenario=scenario,
        index=index,
        dt_h=dt_h,
        home_ids=scenario.home_ids,
        home_load_kw=home_load_kw,
        base_load_kw=home_load_kw.sum(axis=0),
        vehicle_ids=scenario.vehicle_ids,
        vehicle_home=vehicle_home,
        vehicle_model=tuple(models["model"]),
        chemistry=chemistry,
        capacity_kwh=capacity_kwh,
        max_charge_kw=max_charge_kw,
        max_discharge_kw=max_discharge_kw,
        charge_efficiency=efficiency,
        discharge_efficiency=efficiency.copy(),
        soc_initial=np.full(n_vehicles, cars.soc_initial),
        import_price_per_kwh=prices.import_price_per_kwh,
        export_price_per_kwh=prices.export_price_per_kwh,
        import_limit_kw=import_limit,
        export_limit_kw=export_limit,
        sessions=sessions,
        peak_billing=peak_billing(scenario, index),
        owner_rules=OwnerRules.from_records(scenario.rule_blocks(), prefix="rules.vehicles"),
        notes=(
            *notes,
            *event_notes,
            *temperature_warnings(chemistry, scenario.battery.temperature_c),
        ),
        events=events,
        home_islanded=events.islanded(homes.count, len(index)),
        backup_reserve_kwh=np.minimum(
            np.maximum(levels["soc_min"] * capacity_kwh, range_kwh),
            levels["soc_max"] * capacity_kwh,
        ),
    )
