"""Causal window primitives over numpy arrays, vectorised.

Every function returns, for each index i, a statistic of points strictly before i (or ending at
i), so a detector built from them never looks ahead. None of them depends on how long the array
is beyond i: results are element-wise identical when points are appended, which is what makes
the detector's causality testable exactly rather than approximately.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Query rows handled per step of the nearest-neighbour search: bounds its memory to
# about QUERY_BLOCK * (memory + QUERY_BLOCK) floats per pattern coordinate.
QUERY_BLOCK = 256


def trailing_max(values: np.ndarray, window: int) -> np.ndarray:
    """Max of values[i - window + 1 : i + 1] for every i, in O(n) (van Herk / Gil-Werman).

    A Python deque would be O(n) too but interpreted; this keeps long series cheap.
    """
    n = values.size
    if n == 0:
        return values.astype(float)
    padded_len = -(-(n + window - 1) // window) * window
    padded = np.full(padded_len, -np.inf)
    padded[window - 1 : window - 1 + n] = values
    blocks = padded.reshape(-1, window)
    forward = np.maximum.accumulate(blocks, axis=1).ravel()
    backward = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    start = np.arange(n)
    return np.maximum(backward[start], forward[start + window - 1])


def previous_max(values: np.ndarray, window: int) -> np.ndarray:
    """Max of the `window` points before each index; 0 before the first point.

    Scores are non-negative, so 0 is the neutral "nothing seen yet".
    """
    if values.size == 0:
        return values.astype(float)
    shifted = trailing_max(values, window)[:-1]
    return np.maximum(np.concatenate(([0.0], shifted)), 0.0)


def previous_median_mad(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of the `window` points before each index.

    NaN where no earlier point exists; fewer than `window` earlier points use what there is,
    so the band appears as soon as there is history rather than after a fixed delay.
    """
    n = values.size
    padded = np.concatenate((np.full(window, np.nan), values))
    frames = sliding_window_view(padded[:-1], window)[:n] if n else np.empty((0, window))
    with np.errstate(all="ignore"):
        if n == 0:
            return np.empty(0), np.empty(0)
        all_missing = np.isnan(frames).all(axis=1)
        safe = np.where(all_missing[:, None], 0.0, frames)
        median = np.nanmedian(safe, axis=1)
        mad = np.nanmedian(np.abs(safe - median[:, None]), axis=1)
    median[all_missing] = np.nan
    mad[all_missing] = np.nan
    return median, mad


def nearest_past_distance(
    values: np.ndarray, length: int, memory: int, centred: bool
) -> np.ndarray:
    """Euclidean distance from the pattern ending at each index to its nearest earlier pattern.

    A pattern is the last `length` values; candidates are patterns ending within the previous
    `memory` points that do not overlap the current one (an overlapping neighbour is trivially
    similar and would hide novelty). `centred` compares shapes, ignoring level. Distances are
    summed coordinate by coordinate, not through a matrix product, because BLAS may reorder a dot
    product with the array's shape and the result must not change when points are appended.
    The first indices, without a full pattern or any candidate, get NaN.
    """
    n = values.size
    out = np.full(n, np.nan)
    if n < length:
        return out
    patterns = sliding_window_view(values, length)
    if centred:
        patterns = patterns - patterns.mean(axis=1, keepdims=True)
    for start in range(0, patterns.shape[0], QUERY_BLOCK):
        stop = min(patterns.shape[0], start + QUERY_BLOCK)
        out[start + length - 1 : stop + length - 1] = _block_distance(
            patterns, start, stop, length, memory
        )
    return out


def _block_distance(
    patterns: np.ndarray, start: int, stop: int, length: int, memory: int
) -> np.ndarray:
    """Nearest-candidate distance for query patterns [start, stop)."""
    first = max(0, start - memory)
    queries = patterns[start:stop]
    candidates = patterns[first:stop]
    squared = np.zeros((stop - start, stop - first))
    for k in range(length):
        diff = queries[:, k, None] - candidates[None, :, k]
        squared += diff * diff
    query_at = np.arange(start, stop)[:, None]
    candidate_at = np.arange(first, stop)[None, :]
    usable = (candidate_at <= query_at - length) & (candidate_at >= query_at - memory)
    squared = np.where(usable, squared, np.inf)
    nearest = squared.min(axis=1)
    return np.where(np.isfinite(nearest), np.sqrt(nearest), np.nan)
