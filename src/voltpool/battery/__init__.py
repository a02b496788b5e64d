"""Battery ageing: capacity fade of a fleet from SoC and temperature, per cell chemistry.

The cell models are NREL BLAST-Lite's (see :mod:`voltpool.battery.cells`), rewritten in numpy and
vectorized over vehicles (:mod:`voltpool.battery.ageing`); results match BLAST-Lite 1.1.1 to
floating-point rounding (``tests/test_battery.py`` checks it against a BLAST-Lite run).
"""

from voltpool.battery.ageing import Fade, fade, fade_by_chemistry, rainflow_cycles
from voltpool.battery.cells import (
    CELLS,
    CHEMISTRY_CELLS,
    EV_MODEL_CHEMISTRY,
    chemistry_for_model,
    chemistry_for_models,
)

__all__ = [
    "CELLS",
    "CHEMISTRY_CELLS",
    "EV_MODEL_CHEMISTRY",
    "Fade",
    "chemistry_for_model",
    "chemistry_for_models",
    "fade",
    "fade_by_chemistry",
    "rainflow_cycles",
]
