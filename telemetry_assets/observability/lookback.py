"""Causal window primitives over numpy arrays, vectorised.

Every function returns, for each index i, a statistic of points strictly before i (or ending at
i), so a detector built from them never looks ahead. None of them depends on how long the array
is beyond i: results are element-wise identical when points are appended, which is what makes
the detector's causality testable exactly rather than approximately.
"""

from __future__ import annotations

from bisect import bisect_left, insort

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

# Query rows handled per step of the nearest-neighbour search: bounds its memory to
# a few QUERY_BLOCK * (memory + QUERY_BLOCK) float matrices.
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


def previous_range(values: np.ndarray, window: int) -> np.ndarray:
    """Max minus min of the `window` points before each index; 0 before the second point."""
    if values.size == 0:
        return values.astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = trailing_max(values, window) + trailing_max(-values, window)
    spread = np.nan_to_num(spread, nan=0.0, posinf=np.finfo(float).max)
    return np.concatenate(([0.0], spread[:-1]))


def previous_median_mad(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of the `window` points before each index.

    NaN where no earlier point exists; fewer than `window` earlier points use what there is,
    so the band appears as soon as there is history rather than after a fixed delay.
    """
    if values.size == 0:
        return np.empty(0), np.empty(0)
    frames = sliding_window_view(np.concatenate((np.full(window, np.nan), values[:-1])), window)
    with np.errstate(all="ignore"):
        all_missing = np.isnan(frames).all(axis=1)
        safe = np.where(all_missing[:, None], 0.0, frames)
        median = np.nanmedian(safe, axis=1)
        mad = np.nanmedian(np.abs(safe - median[:, None]), axis=1)
    median[all_missing] = np.nan
    mad[all_missing] = np.nan
    return median, mad


def nearest_past_distance(
    values: np.ndarray, length: int, memory: int, centred: bool = False
) -> np.ndarray:
    """Euclidean distance from the pattern ending at each index to its nearest earlier pattern.

    A pattern is the last `length` values; candidates are patterns ending within the previous
    `memory` points that do not overlap the current one (an overlapping neighbour is trivially
    similar and would hide novelty). `centred` compares shapes, ignoring level. The first
    indices, without a full pattern or any candidate, get NaN.

    The search runs in blocks of QUERY_BLOCK queries against a matrix product whose shape never
    changes (short inputs are padded), so the floating-point result for a point cannot depend on
    how many points follow it.
    """
    if length == 1 and not centred:
        return nearest_past_value_distance(values, memory)
    n = values.size
    out = np.full(n, np.nan)
    if n < length:
        return out
    patterns = sliding_window_view(values, length)
    if centred:
        patterns = patterns - patterns.mean(axis=1, keepdims=True)
    count = patterns.shape[0]
    blocks = -(-count // QUERY_BLOCK)
    padded = np.zeros((memory + blocks * QUERY_BLOCK, length))
    padded[memory : memory + count] = patterns
    for block in range(blocks):
        start = block * QUERY_BLOCK
        stop = min(count, start + QUERY_BLOCK)
        distance = _block_distance(padded, start, memory)
        out[start + length - 1 : stop + length - 1] = distance[: stop - start]
    return out


def _block_distance(padded: np.ndarray, start: int, memory: int) -> np.ndarray:
    """Nearest-candidate distance for the QUERY_BLOCK queries from pattern `start` on.

    `padded` holds `memory` dummy rows before the first pattern. Query r of the block may use
    candidate columns r .. r + memory - length of the block's rows (ending at least `length`
    points earlier, at most `memory`), a diagonal band that a skewed strided view turns into
    plain rows, so no mask is needed. Distances are expanded as |q|^2 + |c|^2 - 2 q.c after
    shifting by the block's first query value; a minimum below that expansion's rounding error
    is taken as an exact match, so repeated patterns stay at distance 0 instead of noise.
    """
    length = padded.shape[1]
    band = memory - length + 1
    rows = padded[start : start + memory + QUERY_BLOCK] - padded[memory + start, -1]
    queries = rows[memory:]
    candidate_norm = np.einsum("ij,ij->i", rows, rows)
    candidate_norm[: max(0, memory - start)] = np.inf
    partial = (-2.0 * queries) @ rows.T
    partial += candidate_norm
    skewed = as_strided(
        partial,
        shape=(QUERY_BLOCK, band),
        strides=(partial.strides[0] + partial.strides[1], partial.strides[1]),
        writeable=False,
    )
    nearest_at = skewed.argmin(axis=1)
    query_norm = np.einsum("ij,ij->i", queries, queries)
    squared = np.take_along_axis(skewed, nearest_at[:, None], axis=1)[:, 0] + query_norm
    column = np.arange(QUERY_BLOCK) + nearest_at
    noise = (query_norm + candidate_norm[column]) * (64 * length * np.finfo(float).eps)
    found = np.isfinite(squared)
    squared[found & (squared <= noise)] = 0.0
    return np.where(found, np.sqrt(squared), np.nan)


def nearest_past_value_distance(values: np.ndarray, memory: int) -> np.ndarray:
    """Distance from each value to the closest of the previous `memory` values (NaN at 0).

    The single-value case of `nearest_past_distance`, kept in a sorted window so that a long
    memory costs O(log memory) comparisons per point instead of `memory` subtractions.
    """
    out = np.full(values.size, np.nan)
    window: list[float] = []
    series = values.tolist()
    for i, value in enumerate(series):
        if window:
            k = bisect_left(window, value)
            above = window[k] - value if k < len(window) else np.inf
            below = value - window[k - 1] if k > 0 else np.inf
            out[i] = min(above, below)
        insort(window, value)
        if i >= memory:
            del window[bisect_left(window, series[i - memory])]
    return out
