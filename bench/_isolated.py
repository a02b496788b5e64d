"""Run a benchmark case in a fresh Python process (so its peak memory is its own)."""

from __future__ import annotations

import json
import subprocess
import sys


def run_isolated(script: str, *args: str) -> dict:
    """Run ``script args`` with this interpreter; it prints one JSON line last, returned here."""
    output = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])
