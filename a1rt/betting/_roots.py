"""Bracketed one-dimensional root finding for the margin models."""

from __future__ import annotations

from collections.abc import Callable

# scipy ships no type information; the ignore stays harmless if stubs or an override appear.
from scipy.optimize import brentq

from ._exceptions import ConvergenceError

TOLERANCE = 1e-12
_MAX_ITERATIONS = 200


def find_root(function: Callable[[float], float], low: float, high: float, what: str) -> float:
    """Return x in [low, high] where function(x) = 0, to TOLERANCE; the ends must differ in sign."""
    try:
        root, report = brentq(
            function,
            low,
            high,
            xtol=TOLERANCE,
            maxiter=_MAX_ITERATIONS,
            full_output=True,
            disp=False,
        )
    except ValueError as exc:  # scipy: the ends do not bracket a root
        raise ConvergenceError(f"{what}: no root between {low!r} and {high!r}") from exc
    if not report.converged:
        raise ConvergenceError(f"{what} did not converge in {report.iterations} iterations")
    return float(root)
