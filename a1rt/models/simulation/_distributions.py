"""Batched probability mass functions on integer grids: Poisson, sums and differences, tails.

Each array holds one distribution per row over the values 0..size-1 (or a centred grid for
differences); sums and differences are convolutions done with the real FFT.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.special import gammaln

from ._types import FloatArray


@cache
def _log_factorials(size: int) -> FloatArray:
    return np.asarray(gammaln(np.arange(size) + 1.0), dtype=np.float64)


def poisson_grid(mean: FloatArray, size: int) -> FloatArray:
    """Poisson(mean) PMFs over 0..size-1, one row per mean (a zero mean puts all mass on 0)."""
    k = np.arange(size, dtype=np.float64)
    log_mean = np.log(np.maximum(mean, 1e-300))[:, None]
    return np.exp(k * log_mean - mean[:, None] - _log_factorials(size))


def convolve(first: FloatArray, second: FloatArray, size: int) -> FloatArray:
    """The PMF of the sum of independent rows of `first` and `second`, over 0..size-1."""
    length = first.shape[-1] + second.shape[-1] - 1
    fft_size = 1 << (length - 1).bit_length()
    spectrum = np.fft.rfft(first, fft_size) * np.fft.rfft(second, fft_size)
    return np.maximum(np.fft.irfft(spectrum, fft_size)[..., :size], 0.0)


def difference(first: FloatArray, second: FloatArray) -> FloatArray:
    """The PMF of X - Y over -(s-1)..(s-1) for rows of X's and Y's PMFs over 0..s-1."""
    size = first.shape[-1]
    return convolve(first, second[..., ::-1], 2 * size - 1)


def doubled(pmf: FloatArray, size: int) -> FloatArray:
    """The PMF of 2X over 0..size-1 for rows of X's PMF."""
    out = np.zeros(pmf.shape[:-1] + (size,))
    half = min(pmf.shape[-1], (size + 1) // 2)
    out[..., 0 : 2 * half : 2] = pmf[..., :half]
    return out


def survival(pmf: FloatArray) -> FloatArray:
    """Row-wise P(value > grid[i]) for each grid point i of the PMF's grid."""
    above = np.cumsum(pmf[..., ::-1], axis=-1)[..., ::-1]
    tail = np.zeros(pmf.shape[:-1] + (1,))
    return np.asarray(np.minimum(np.concatenate([above[..., 1:], tail], axis=-1), 1.0))


def survival_at(pmf: FloatArray, lowest: int, lines: FloatArray) -> FloatArray:
    """P(value > line) for every row of `pmf` (grid starting at `lowest`) and every line."""
    tail = survival(pmf)
    index = np.floor(lines).astype(np.int64) - lowest
    inside = np.clip(index, 0, pmf.shape[-1] - 1)
    below = index < 0
    above = index >= pmf.shape[-1]
    values = tail[..., inside]
    return np.where(below, 1.0, np.where(above, 0.0, values))
