"""V2H backup: power the house from the cars in an outage, or keep it under its import limit.

- :func:`plan_outage` - islanded house: which circuits stay on (a relay each) and for how long,
  critical circuits first, then by priority, earlier hours first (MILP, HiGHS).
- :func:`plan_overload` - grid-connected house under an import limit: the cars discharge into
  the house (V2H) and charge in the headroom, through the one voltpool LP scheduler.
- :func:`reserve_kwh_from` - driving reserve from a SoC floor and/or a range floor.
- :func:`load_home`, :func:`plan_home_outage`, :func:`plan_home_overload` - the TOML home file.
- :func:`write_backup_html` - the plan as a self-contained HTML picture.
"""

from voltpool.backup.home import (
    CarArrays,
    Home,
    OutageCase,
    OverloadCase,
    home_from_dict,
    load_home,
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
from voltpool.backup.picture import write_backup_html

__all__ = [
    "DEFAULT_MIP_REL_GAP",
    "DEFAULT_TIME_DISCOUNT",
    "CarArrays",
    "GridReturn",
    "Home",
    "OutageCase",
    "OutagePlan",
    "OutageSolverInfo",
    "OverloadCase",
    "OverloadPlan",
    "circuit_tiers",
    "home_from_dict",
    "load_home",
    "plan_home_outage",
    "plan_home_overload",
    "plan_outage",
    "plan_overload",
    "reserve_kwh_from",
    "write_backup_html",
]
