"""Benchmark: ``voltpool value`` on the built-in ``owner-year`` street, end to end.

The command an owner runs ("does V2G pay?"): the whole of 2024 for 10 cars, smart charging
and V2G with the battery wear priced (``v2g-wear``, ~4,700 exact re-plans), battery health,
time series, ledger and report, for one tariff preset, in a fresh process (the CLI as a user
starts it, imports included). Goal (issue #13, the simulator's benchmark goal): a year in 60 s.
``--days N`` (and ``bench/run.py --quick``) simulates N days instead, with no goal.

``python bench/bench_value.py [--days N]`` prints the table.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLTPOOL = ROOT / ".venv" / "bin" / "voltpool"
TARIFF = "day-ahead-plus-fee"
GOAL_S = 60.0
"""Issue #13: a year of ``voltpool value`` on one tariff within the simulator's 60 s goal."""
QUICK_DAYS = 14


def run(days: int | None = None, repeats: int = 2) -> list[dict]:
    """Wall-clock seconds of ``voltpool value`` on one tariff, ``repeats`` times."""
    rows = []
    for attempt in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            command = [str(VOLTPOOL), "value", "--tariff", TARIFF, "-o", f"{folder}/value"]
            if days is not None:
                command += ["--days", str(days)]
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
            rows.append(
                {"days": days or 366, "run": attempt + 1, "s": time.perf_counter() - started}
            )
    return rows


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["case", "run", "voltpool s", "goal"]
    body = []
    for row in rows:
        year = row["days"] == 366
        body.append(
            [
                f"voltpool value, owner-year, {row['days']} days, tariff {TARIFF}",
                str(row["run"]),
                f"{row['s']:.1f}",
                f"{GOAL_S:.0f} s ({'met' if row['s'] <= GOAL_S else 'not met'})" if year else "-",
            ]
        )
    return header, body


if __name__ == "__main__":
    days = int(sys.argv[sys.argv.index("--days") + 1]) if "--days" in sys.argv else None
    header, body = table_rows(run(days))
    print(" | ".join(header))
    for line in body:
        print(" | ".join(line))
