"""voltpool: bidirectional EV charging (V2G, V2H, V2V) scheduled exactly, simulated on real
data, with a credit ledger between people. ``__version__`` is stamped into every output."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voltpool")
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"

GENERATOR = f"voltpool {__version__}"
"""What every output file names as its maker."""

__all__ = ["GENERATOR", "__version__"]
