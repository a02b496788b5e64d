# voltpool: every target bootstraps its own virtual environment in .venv
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

BLAST_STAMP := .venv-blast/.installed

.PHONY: demo test test-slow bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/voltpool demo
	@echo "The voltpool command is in $(BIN): run 'source $(BIN)/activate' to put it on your PATH, then 'voltpool -h'."

# BLAST-Lite (the ageing reference the tests compare against) pins numpy<2: it gets its own venv.
$(BLAST_STAMP): scripts/make_blast_env.sh
	-PYTHON=$(PYTHON) ./scripts/make_blast_env.sh

test: $(STAMP) $(BLAST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .venv-blast build dist src/*.egg-info .pytest_cache .ruff_cache
