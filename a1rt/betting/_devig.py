"""Margin removal (devig) and its inverse, margin application (betting-math §2.2).

Each method is a margin model: `_remove_*` maps implied probabilities r = 1/D to fair
probabilities p summing to 1, and `_add_*` maps p and a margin m back to r summing to 1 + m.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import _validate
from ._exceptions import (
    ConvergenceError,
    InfeasibleMarginError,
    InvalidParameterError,
    InvalidProbabilityError,
    UnknownMethodError,
)
from ._roots import TOLERANCE, find_root
from ._validate import FloatArray, Floats

Method = Literal["multiplicative", "additive", "power", "shin", "odds_ratio"]

_SHIN_MAX_ITERATIONS = 1000


def devig(odds: Floats, method: Method = "multiplicative") -> FloatArray:
    """Return the fair probabilities of one market's decimal prices, summing to 1."""
    model = _model(method)
    implied = 1.0 / _validate.prices(odds, minimum=2)
    return model.remove(implied)


def apply_margin(
    probabilities: Floats, margin: float, method: Method = "multiplicative"
) -> FloatArray:
    """Return decimal prices for fair probabilities whose booksum is 1 + margin."""
    model = _model(method)
    fair = _positive_distribution(probabilities)
    extra = _validate.number(margin, "margin", InvalidParameterError)
    if extra < 0.0:
        raise InvalidParameterError(f"margin = {extra!r} must be 0 or more")
    implied = model.add(fair, extra)
    _reject_prices_at_or_below_one(implied, fair, extra, method)
    return 1.0 / implied


@dataclass(frozen=True)
class _MarginModel:
    remove: Callable[[FloatArray], FloatArray]
    add: Callable[[FloatArray, float], FloatArray]


def _model(method: object) -> _MarginModel:
    model = _MODELS.get(method) if isinstance(method, str) else None
    if model is None:
        known = ", ".join(sorted(_MODELS))
        raise UnknownMethodError(f"unknown margin method {method!r}; expected one of: {known}")
    return model


def _positive_distribution(probabilities: Floats) -> FloatArray:
    fair = _validate.distribution(probabilities, minimum=2)
    zero = np.flatnonzero(fair == 0.0)
    if zero.size:
        raise InvalidProbabilityError(
            f"probabilities[{int(zero[0])}] = 0.0 has no price; drop the outcome instead"
        )
    return fair / float(fair.sum())


def _reject_prices_at_or_below_one(
    implied: FloatArray, fair: FloatArray, margin: float, method: str
) -> None:
    too_high = np.flatnonzero(~(implied < 1.0))
    if too_high.size:
        index = int(too_high[0])
        raise InfeasibleMarginError(
            f"margin {margin!r} by method {method!r} prices outcome {index} (probability"
            f" {float(fair[index])!r}) at or below 1; use a smaller margin"
        )


def _normalised(values: FloatArray) -> FloatArray:
    # The solvers stop within TOLERANCE of the root; renormalising makes the sum exact.
    return values / float(values.sum())


def _remove_multiplicative(implied: FloatArray) -> FloatArray:
    return _normalised(implied)


def _add_multiplicative(fair: FloatArray, margin: float) -> FloatArray:
    return fair * (1.0 + margin)


def _remove_additive(implied: FloatArray) -> FloatArray:
    fair = implied - (float(implied.sum()) - 1.0) / implied.size
    negative = np.flatnonzero(fair < 0.0)
    if negative.size:
        index = int(negative[0])
        raise InfeasibleMarginError(
            f"additive devig gives outcome {index} a negative probability"
            f" ({float(fair[index])!r}); use power, shin or odds_ratio for long shots"
        )
    return fair


def _add_additive(fair: FloatArray, margin: float) -> FloatArray:
    return fair + margin / fair.size


def _remove_power(implied: FloatArray) -> FloatArray:
    # Where r_i^k = 1/n for one outcome; the root k lies between the smallest and largest of them.
    crossings = math.log(implied.size) / -np.log(implied)
    exponent = find_root(
        lambda k: float((implied**k).sum()) - 1.0,
        float(crossings.min()) / 2.0,
        float(crossings.max()) * 2.0,
        "power devig exponent",
    )
    return _normalised(implied**exponent)


def _add_power(fair: FloatArray, margin: float) -> FloatArray:
    target = _share_of_booksum(fair, margin, "power")
    crossings = math.log(target) / np.log(fair)
    exponent = find_root(
        lambda s: float((fair**s).sum()) - (1.0 + margin),
        float(crossings.min()) / 2.0,
        float(crossings.max()) * 2.0,
        "power margin exponent",
    )
    return fair**exponent


def _remove_odds_ratio(implied: FloatArray) -> FloatArray:
    # Solved for t = ln c, where logit p_i = logit r_i - t; t = logit r_i - logit(1/n) brackets it.
    crossings = _logit(implied) - _logit(np.float64(1.0 / implied.size))
    log_ratio = find_root(
        lambda t: float(_shift_odds(implied, -t).sum()) - 1.0,
        float(crossings.min()) - 1.0,
        float(crossings.max()) + 1.0,
        "odds-ratio devig constant",
    )
    return _normalised(_shift_odds(implied, -log_ratio))


def _add_odds_ratio(fair: FloatArray, margin: float) -> FloatArray:
    target = _share_of_booksum(fair, margin, "odds_ratio")
    crossings = _logit(np.float64(target)) - _logit(fair)
    log_ratio = find_root(
        lambda t: float(_shift_odds(fair, t).sum()) - (1.0 + margin),
        float(crossings.min()) - 1.0,
        float(crossings.max()) + 1.0,
        "odds-ratio margin constant",
    )
    return _shift_odds(fair, log_ratio)


def _logit(values: FloatArray | np.float64) -> FloatArray:
    return np.asarray(np.log(values) - np.log1p(-values), dtype=np.float64)


def _shift_odds(probabilities: FloatArray, log_ratio: float) -> FloatArray:
    """Multiply each outcome's odds p/(1-p) by e^log_ratio and return the probabilities."""
    ratio = math.exp(log_ratio)
    return probabilities * ratio / (1.0 - probabilities + probabilities * ratio)


def _share_of_booksum(fair: FloatArray, margin: float, method: str) -> float:
    """Return (1+m)/n, the implied probability of each outcome when all are equal."""
    share = (1.0 + margin) / fair.size
    if share >= 1.0:
        raise InfeasibleMarginError(
            f"method {method!r} cannot spread a margin of {margin!r} over {fair.size} outcomes"
        )
    return share


def _remove_shin(implied: FloatArray) -> FloatArray:
    booksum = float(implied.sum())
    if booksum < 1.0 - _validate.SUM_TOLERANCE:
        raise InfeasibleMarginError(
            f"shin needs a booksum of at least 1 (no insider share below it), got {booksum!r}"
        )
    if booksum <= 1.0:
        return _normalised(implied)  # z = 0: no insiders, nothing to remove but round-off
    if implied.size == 2:
        return _remove_additive(implied)  # Shin's closed form for two outcomes is additive
    z = _shin_insider_share(implied, booksum)
    return _normalised(_shin_probabilities(implied, booksum, z))


def _shin_probabilities(implied: FloatArray, booksum: float, z: float) -> FloatArray:
    root = np.sqrt(z * z + 4.0 * (1.0 - z) * implied * implied / booksum)
    return (root - z) / (2.0 * (1.0 - z))


def _shin_insider_share(implied: FloatArray, booksum: float) -> float:
    """Solve Jullien-Salanie's fixed point z = g(z) from z = 0, with Aitken acceleration.

    The plain iteration z <- g(z) oscillates with g' near -1 on three-way markets with small
    margins and fails to settle in 1000 steps; Steffensen's update finds the same fixed point
    in a handful of steps and still counts every evaluation of g against the 1000 limit.
    """

    def step(z: float) -> float:
        roots = np.sqrt(z * z + 4.0 * (1.0 - z) * implied * implied / booksum)
        return (float(roots.sum()) - 2.0) / (implied.size - 2)

    z = 0.0
    for _ in range(_SHIN_MAX_ITERATIONS // 2):  # each pass evaluates g twice
        following = _steffensen_step(step, z)
        if abs(following - z) < TOLERANCE:
            return following
        z = following
    raise ConvergenceError(
        f"shin's fixed point did not converge in {_SHIN_MAX_ITERATIONS} iterations (z = {z!r})"
    )


def _steffensen_step(step: Callable[[float], float], z: float) -> float:
    """Return the Aitken-extrapolated next z, or the plain step where that leaves [0, 1)."""
    once = step(z)
    twice = step(once)
    curvature = twice - 2.0 * once + z
    accelerated = z - (once - z) ** 2 / curvature if curvature != 0.0 else twice
    for candidate in (accelerated, once):
        if -TOLERANCE < candidate < 1.0:  # an insider share; round-off may dip just below 0
            return candidate
    raise ConvergenceError(f"shin's fixed point left [0, 1) at z = {once!r}")


def _add_shin(fair: FloatArray, margin: float) -> FloatArray:
    # Shin's prices: r_i = q_i * Q, q_i = sqrt(z p_i + (1-z) p_i^2), Q = sum q; so booksum = Q^2.
    if float(fair.sum()) ** 2 >= 1.0 + margin:  # a margin below float resolution: z = 0
        return fair.copy()
    widest = float(np.sqrt(fair).sum()) ** 2
    if widest <= 1.0 + margin:
        raise InfeasibleMarginError(
            f"shin cannot reach a margin of {margin!r} for these probabilities (at most"
            f" {widest - 1.0!r})"
        )
    z = find_root(
        lambda z: float(_shin_quotes(fair, z).sum()) ** 2 - (1.0 + margin),
        0.0,
        1.0,
        "shin insider share",
    )
    quotes = _shin_quotes(fair, z)
    return quotes * float(quotes.sum())


def _shin_quotes(fair: FloatArray, z: float) -> FloatArray:
    return np.sqrt(z * fair + (1.0 - z) * fair * fair)


_MODELS: dict[str, _MarginModel] = {
    "multiplicative": _MarginModel(_remove_multiplicative, _add_multiplicative),
    "additive": _MarginModel(_remove_additive, _add_additive),
    "power": _MarginModel(_remove_power, _add_power),
    "shin": _MarginModel(_remove_shin, _add_shin),
    "odds_ratio": _MarginModel(_remove_odds_ratio, _add_odds_ratio),
}
