"""HiGHS plumbing shared by every voltpool optimization: a quiet instance, a model from arrays,
a run that recovers from HiGHS's rare ``Unknown`` status, and a clock shared by several runs.

HiGHS: Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 2018.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp


@dataclass
class Budget:
    """A wall-clock budget shared by the HiGHS runs of one plan. [s]"""

    seconds: float
    started: float = field(default_factory=time.perf_counter)

    @property
    def remaining_s(self) -> float:
        return self.seconds - (time.perf_counter() - self.started)

    @property
    def spent_s(self) -> float:
        return time.perf_counter() - self.started

    def arm(self, highs: highspy.Highs) -> bool:
        """Give ``highs`` what is left of the budget; false when nothing is left.

        HiGHS compares ``time_limit`` with the instance's run time summed over all its runs, so
        the limit is that sum plus what is left.
        """
        left = self.remaining_s
        if left <= 0:
            return False
        highs.setOptionValue("time_limit", float(highs.getRunTime() + left))
        return True


_banner_shown = False
"""Whether this process has made its first HiGHS instance (the one that prints the banner)."""


def quiet_highs() -> highspy.Highs:
    """A HiGHS instance with logging off; its one-time start-up banner is kept off stdout too.

    Only the process's first instance prints the banner, so only that one has stdout redirected
    (the redirect cost 1-2 ms a plan, ten times the instance itself)."""
    global _banner_shown
    if _banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved_stdout = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved_stdout, 1)
            os.close(saved_stdout)
        _banner_shown = True
    highs.setOptionValue("output_flag", False)
    return highs


def highs_for(
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    matrix: sp.csc_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    integer_columns: int = 0,
) -> highspy.Highs:
    """A quiet HiGHS instance holding ``min cost @ x`` s.t. ``row_lower <= A x <= row_upper``,
    ``col_lower <= x <= col_upper``; the first ``integer_columns`` columns are integer.

    The model goes to HiGHS as arrays in one call: copying it into a ``highspy.HighsLp`` field
    by field takes two to three times as long (about 1 against 0.4 ms for a plan of 800
    columns)."""
    n_cols = cost.size
    integrality = np.zeros(n_cols, dtype=np.int32)
    integrality[:integer_columns] = int(highspy.HighsVarType.kInteger)
    highs = quiet_highs()
    highs.passModel(
        n_cols,
        row_lower.size,
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        np.ascontiguousarray(cost, dtype=float),
        np.ascontiguousarray(col_lower, dtype=float),
        np.ascontiguousarray(col_upper, dtype=float),
        np.ascontiguousarray(row_lower, dtype=float),
        np.ascontiguousarray(row_upper, dtype=float),
        np.ascontiguousarray(matrix.indptr[:-1], dtype=np.int32),  # column starts
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
        np.ascontiguousarray(matrix.data, dtype=float),
        integrality,
    )
    return highs


def run_highs(highs: highspy.Highs) -> highspy.HighsModelStatus:
    """Run HiGHS and return its model status.

    HiGHS can end with status ``Unknown`` when, after presolve, the solution mapped back to the
    original model keeps a tiny dual infeasibility it cannot clean up (seen on small, badly
    scaled V2V problems). The answer is then re-solved once from scratch without presolve,
    which certifies it; presolve is set back as it was for later runs.
    """
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kUnknown:
        return highs.getModelStatus()
    _, presolve = highs.getOptionValue("presolve")
    highs.clearSolver()
    highs.setOptionValue("presolve", "off")
    highs.run()
    highs.setOptionValue("presolve", presolve)
    return highs.getModelStatus()


_STATUS = {int(s): s for s in highspy.HighsBasisStatus.__members__.values()}


def highs_basis(col_status: np.ndarray, row_status: np.ndarray) -> highspy.HighsBasis:
    """A ``highspy.HighsBasis`` from status arrays (HiGHS ``HighsBasisStatus`` values)."""
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUS[v] for v in np.asarray(col_status).tolist()]
    basis.row_status = [_STATUS[v] for v in np.asarray(row_status).tolist()]
    basis.valid = True
    return basis


PRIMAL_SIMPLEX = 4
"""HiGHS ``simplex_strategy`` of the primal simplex (1 is the dual's)."""


def warm_start_from(highs: highspy.Highs, basis: highspy.HighsBasis, primal: bool = False) -> bool:
    """Give ``highs`` a starting simplex basis; false (and ``highs`` unchanged) when HiGHS
    rejects it (wrong size, or not exactly one basic variable per row).

    ``primal``: start the primal simplex instead of the dual. Measured at 1,000 cars x 96
    slots (``bench/bench_warm.py``): a basis mapped onto a changed layout (a car's window
    moved) re-solves 8x faster with the primal (0.33 s against 2.8 s), a basis of the same
    layout after a price or limit change 10-25 % faster with the dual.

    HiGHS then starts the simplex from that basis instead of a crash basis and skips presolve
    (a basis belongs to the original model), so the solver must be simplex: interior point
    ignores a basis. A basis that is singular is repaired by HiGHS (its dependent columns
    replaced by slacks); one that is primal or dual infeasible costs iterations, never the
    optimum."""
    if highs.setBasis(basis) != highspy.HighsStatus.kOk:
        return False
    highs.setOptionValue("solver", "simplex")
    if primal:
        highs.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
    return True
