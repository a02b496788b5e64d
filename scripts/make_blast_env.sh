#!/usr/bin/env bash
# Make .venv-blast: NREL BLAST-Lite 1.1.1, the reference the battery-ageing tests compare against.
#
# BLAST-Lite pins numpy < 2 (voltpool runs on numpy 2), so it lives in its own environment and
# the tests call it as a subprocess (tests/blast_reference/reference.py). Idempotent: a stamp
# file records what was installed; a second run with the same pins does nothing.
#
# Usage: scripts/make_blast_env.sh        (PYTHON=python3.11 scripts/make_blast_env.sh to choose)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-blast"
PYTHON="${PYTHON:-python3}"
# blast-lite 1.1.1 requires numpy<2, pandas, scipy, matplotlib, h5pyd, nrel-rex and geopy (the
# last three only for its weather download helpers, imported at package import time).
REQUIREMENTS=("blast-lite==1.1.1" "numpy==1.26.4" "pandas<3")
STAMP="$VENV/.installed"
WANT="${REQUIREMENTS[*]}"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
"$VENV/bin/python" -c "import blast.models, numpy; print('BLAST-Lite ready, numpy', numpy.__version__)"
printf '%s' "$WANT" > "$STAMP"
