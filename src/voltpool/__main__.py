"""``python -m voltpool``: the ``voltpool`` command."""

from voltpool.cli import main

main()
