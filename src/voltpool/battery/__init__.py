"""Battery ageing: capacity fade of a fleet from SoC and temperature, per cell chemistry.

The cell models are NREL BLAST-Lite's (see :mod:`voltpool.battery.cells`), rewritten in numpy and
vectorized over vehicles (:mod:`voltpool.battery.ageing`); results match BLAST-Lite 1.1.1 to
floating-point rounding (``tests/test_battery.py`` checks it against a BLAST-Lite run). Fade
becomes money by one valuation (:mod:`voltpool.battery.valuation`), for the LP's wear costs
(:mod:`voltpool.battery.calibrate`) and the health report (:mod:`voltpool.battery.health`) alike.
"""

from voltpool.battery.ageing import Fade, fade, fade_by_chemistry, rainflow_cycles
from voltpool.battery.cells import (
    CELLS,
    CHEMISTRY_CELLS,
    EV_MODEL_CHEMISTRY,
    chemistry_for_model,
    chemistry_for_models,
    temperature_warning,
    temperature_warnings,
)
from voltpool.battery.valuation import DEFAULT_VALUATION, VALUATIONS, value_per_fade_per_kwh

__all__ = [
    "CELLS",
    "CHEMISTRY_CELLS",
    "DEFAULT_VALUATION",
    "EV_MODEL_CHEMISTRY",
    "VALUATIONS",
    "Fade",
    "chemistry_for_model",
    "chemistry_for_models",
    "fade",
    "fade_by_chemistry",
    "rainflow_cycles",
    "temperature_warning",
    "temperature_warnings",
    "value_per_fade_per_kwh",
]
