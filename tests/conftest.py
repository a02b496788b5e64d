import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["ledger_backends"]

settings.register_profile(
    "voltpool",
    derandomize=True,  # fixed seeds: a failure replays on every machine
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("voltpool")
