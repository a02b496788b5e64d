"""Input files around the core: TOML files validated with pydantic, turned into core objects.

- :mod:`voltpool.files.toml`: built-in and user TOML files, their parse errors and pydantic's
  validation errors as field paths (used by every file kind, and by the scenario);
- :mod:`voltpool.files.circle`: V2V circle files (``voltpool share``) and the built-in circle;
- :mod:`voltpool.files.home`: home backup files (``voltpool backup run``) and the built-in home.

The modules are imported by name (``from voltpool.files.circle import load_circle``), so that
reading a scenario does not load the circle and home schemas.
"""
