"""Same seed, same figures: the demo's numbers did not move when the controller was extracted.

``tests/golden/demo_metrics.json`` holds every figure of ``make demo`` (the policy table but
solver timings, battery health, credits per household, outage and V2V lines, power checksums),
made by ``tests/golden/demo_golden.py`` on the code before the extraction (main a8845c6).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from golden.demo_golden import demo_figures

GOLDEN = Path(__file__).parent / "golden" / "demo_metrics.json"
RELATIVE = 1e-9


def _differences(expected: object, actual: object, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        found += [f"{path}.{k}: not in the golden file" for k in actual.keys() - expected.keys()]
        for key in expected.keys() & actual.keys():
            found += _differences(expected[key], actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, float) and isinstance(actual, float):
        if math.isclose(expected, actual, rel_tol=RELATIVE, abs_tol=1e-12):
            return []
    elif expected == actual:
        return []
    return [f"{path}: golden {expected!r}, now {actual!r}"]


@pytest.mark.slow
def test_demo_figures_match_the_golden_file() -> None:
    expected = json.loads(GOLDEN.read_text())
    actual = json.loads(json.dumps(demo_figures()))
    differences = _differences(expected, actual)
    assert not differences, "\n".join(sorted(differences)[:40])
