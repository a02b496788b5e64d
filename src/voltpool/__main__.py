"""``python -m voltpool``: the ``voltpool`` command."""

from voltpool.cli import main

if __name__ == "__main__":  # not when a worker process re-imports it (multiprocessing spawn)
    main()
