"""V2H backup: power the house from the cars in an outage, or keep it under its import limit.

- :func:`plan_outage` - islanded house: which circuits stay on (a relay each) and for how long,
  critical circuits first, then by priority, earlier hours first (MILP, HiGHS).
- :func:`plan_overload` - grid-connected house under an import limit: the cars discharge into
  the house (V2H) and charge in the headroom, through the one voltpool LP scheduler.
- :func:`reserve_kwh_from` - driving reserve from a SoC floor and/or a range floor.
- :class:`Home` (house, circuits, cars, windows), :func:`plan_home_outage`,
  :func:`plan_home_overload` - one home's outage and overload.

Home TOML files are read by :mod:`voltpool.files.home`; the HTML picture of a plan is drawn by
:mod:`voltpool.report.backup`.
"""

from voltpool.backup.home import (
    Car,
    CarArrays,
    Circuit,
    Home,
    House,
    OutageCase,
    Overload,
    OverloadCase,
    Window,
    plan_home_outage,
    plan_home_overload,
)
from voltpool.backup.outage import (
    DEFAULT_MIP_REL_GAP,
    DEFAULT_TIME_DISCOUNT,
    GridReturn,
    OutagePlan,
    OutageSolverInfo,
    circuit_tiers,
    plan_outage,
    reserve_kwh_from,
)
from voltpool.backup.overload import OverloadPlan, plan_overload

__all__ = [
    "DEFAULT_MIP_REL_GAP",
    "DEFAULT_TIME_DISCOUNT",
    "Car",
    "CarArrays",
    "Circuit",
    "GridReturn",
    "Home",
    "House",
    "OutageCase",
    "OutagePlan",
    "OutageSolverInfo",
    "Overload",
    "OverloadCase",
    "OverloadPlan",
    "Window",
    "circuit_tiers",
    "plan_home_outage",
    "plan_home_overload",
    "plan_outage",
    "plan_overload",
    "reserve_kwh_from",
]
