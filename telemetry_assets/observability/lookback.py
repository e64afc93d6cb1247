"""Causal window primitives over numpy arrays, vectorised.

Every function returns, for each index i, a statistic of points strictly before i (or ending at
i), so a detector built from them never looks ahead. None of them depends on how long the array
is beyond i: results are element-wise identical when points are appended, which is what makes
the detector's causality testable exactly rather than approximately.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Query rows handled per block of the nearest-neighbour search (each block is shifted by its
# first query value before the distances are expanded).
QUERY_BLOCK = 256
# Candidate rows per step of a query block's search: small enough for the step's matrices to
# stay in cache, and a multiple of BLAS kernels' column unrolling (16 for OpenBLAS on AVX-512),
# so that no used column falls in a kernel's edge tile and each comes out bit for bit as from
# one product over all the candidates.
CANDIDATE_STEP = 256
# np.nanmedian sorts rows shorter than this (masked arrays) and partitions longer ones.
NANMEDIAN_SORT_BELOW = 600


def trailing_max(values: np.ndarray, window: int) -> np.ndarray:
    """Max of values[i - window + 1 : i + 1] for every i, in O(n) (van Herk / Gil-Werman).

    A Python deque would be O(n) too but interpreted; this keeps long series cheap. The first
    `window` indices see every point so far, so they take a running max, whatever the length:
    a series shorter than its window (a month of hours against 8000) then costs O(n) instead
    of O(window), and a point's result still does not depend on how many points follow.
    """
    head = np.maximum.accumulate(values[:window]).astype(float, copy=False)
    if values.size <= window:
        return head
    return np.concatenate((head, _van_herk_max(values, window)[window:]))


def _van_herk_max(values: np.ndarray, window: int) -> np.ndarray:
    """`trailing_max` for every index by van Herk / Gil-Werman: block-wise running maxima
    from both ends, so each window is the max of two lookups."""
    n = values.size
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


def previous_median_mad(
    values: np.ndarray, window: int, start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of the `window` points before each index from
    `start` on (a caller keeping only the last rows of a series need not pay for the others).

    NaN where no earlier point exists; fewer than `window` earlier points use what there is,
    so the band appears as soon as there is history rather than after a fixed delay.
    """
    if values.size <= start:
        return np.empty(0), np.empty(0)
    history = np.concatenate((np.full(window, np.nan), values[:-1]))
    frames = sliding_window_view(history, window)[start:]
    with np.errstate(all="ignore"):
        all_missing = np.isnan(frames).all(axis=1)
        safe = np.where(all_missing[:, None], 0.0, frames)
        median = row_nanmedian(safe)
        mad = row_nanmedian(np.abs(safe - median[:, None]))
    median[all_missing] = np.nan
    mad[all_missing] = np.nan
    return median, mad


def row_nanmedian(frames: np.ndarray) -> np.ndarray:
    """`np.nanmedian(frames, axis=1)`, bit for bit, without its cost on rows without NaN.

    For rows shorter than NANMEDIAN_SORT_BELOW, `np.nanmedian` masks the NaNs, argsorts each
    row and halves the sum of the two middle values (the middle one twice for odd rows; a sum
    that starts from +0.0, so two -0.0 give +0.0); the masked-array machinery is most of its
    time. Rows without NaN get that same arithmetic on the plain array: the same argsort, so
    the same bits even where signed zeros tie (which a partition could order differently).
    Rows with NaN, and long rows, are left to numpy.
    """
    if frames.shape[1] >= NANMEDIAN_SORT_BELOW:
        return np.nanmedian(frames, axis=1)
    gappy = np.isnan(frames).any(axis=1)
    median = np.empty(frames.shape[0])
    complete = frames[~gappy]
    ordered = np.take_along_axis(complete, complete.argsort(axis=1), axis=1)
    half = frames.shape[1] // 2
    middle = [half, half] if frames.shape[1] % 2 else [half - 1, half]
    median[~gappy] = ordered[:, middle].sum(axis=1) / 2.0
    if gappy.any():
        median[gappy] = np.nanmedian(frames[gappy], axis=1)
    return median


def nearest_past_distance(
    values: np.ndarray, length: int, memory: int, centred: bool = False
) -> np.ndarray:
    """Euclidean distance from the pattern ending at each index to its nearest earlier pattern.

    A pattern is the last `length` values; candidates are patterns ending within the previous
    `memory` points that do not overlap the current one (an overlapping neighbour is trivially
    similar and would hide novelty). `centred` compares shapes, ignoring level. The first
    indices, without a full pattern or any candidate, get NaN.

    The search runs in blocks of QUERY_BLOCK queries against matrix products whose shapes
    depend only on where the block starts (short inputs are padded), so the floating-point
    result for a point cannot depend on how many points follow it. A block near the start of
    the series searches only as far back as the series goes (`block_reach`), not the whole
    `memory`: with memory 3000 and a month of hourly points that is most of the work saved, and
    the skipped candidates are padding that can never be nearest.
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
    lead = block_reach((blocks - 1) * QUERY_BLOCK, length, memory)
    padded = np.zeros((lead + blocks * QUERY_BLOCK, length))
    padded[lead : lead + count] = patterns
    # One scratch matrix for every step: a fresh one per step costs page faults, not work.
    scratch = np.empty((QUERY_BLOCK, CANDIDATE_STEP))
    for block in range(blocks):
        start = block * QUERY_BLOCK
        stop = min(count, start + QUERY_BLOCK)
        reach = block_reach(start, length, memory)
        distance = _block_distance(padded[lead - reach :], start, reach, scratch)
        out[start + length - 1 : stop + length - 1] = distance[: stop - start]
    return out


def block_reach(start: int, length: int, memory: int) -> int:
    """How far back (in patterns) the block of queries from pattern `start` on must search.

    Its last query is pattern start + QUERY_BLOCK - 1, so nothing older than pattern 0 is ever
    more than start + QUERY_BLOCK patterns back: a longer reach only adds padding rows, which
    are never a neighbour. At least `length` keeps the search band non-empty (a candidate must
    end `length` points back), and never more than `memory`. The reach depends only on
    `start`, never on how many patterns follow, which keeps the search causal.
    """
    return min(memory, max(start + QUERY_BLOCK, length))


def _block_distance(padded: np.ndarray, start: int, memory: int, scratch: np.ndarray) -> np.ndarray:
    """Nearest-candidate distance for the QUERY_BLOCK queries from pattern `start` on.

    `padded` holds `memory` dummy rows before the first pattern (`memory` being the block's
    reach, which may be shorter than the view's memory: see `block_reach`). Query r may use
    candidate rows r .. r + memory - length of the block's rows (ending at least `length`
    points earlier, at most `memory`): a diagonal band. Distances are expanded as
    |q|^2 + |c|^2 - 2 q.c after shifting by the block's first query value; a minimum below
    that expansion's rounding error is taken as an exact match, so repeated patterns stay at
    distance 0 instead of noise.

    Candidates are taken CANDIDATE_STEP at a time, each step's product masked to the band and
    reduced to a running nearest (the earliest wins ties, as in one argmin over the band),
    so the matrices stay in cache instead of a QUERY_BLOCK x (memory + QUERY_BLOCK) product.
    Dummy rows are skipped: they can never be nearest. `scratch` (QUERY_BLOCK x
    CANDIDATE_STEP floats) holds each step's product.
    """
    length = padded.shape[1]
    band = memory - length + 1
    rows = padded[start : start + memory + QUERY_BLOCK] - padded[memory + start, -1]
    queries = rows[memory:]
    scaled = -2.0 * queries
    candidate_norm = np.einsum("ij,ij->i", rows, rows)
    query = np.arange(QUERY_BLOCK)
    squared = np.full(QUERY_BLOCK, np.inf)
    nearest = np.zeros(QUERY_BLOCK, dtype=np.intp)
    for first in range(max(0, memory - start), QUERY_BLOCK - 1 + band, CANDIDATE_STEP):
        stop = min(first + CANDIDATE_STEP, rows.shape[0])
        product = np.matmul(scaled, rows[first:stop].T, out=scratch[:, : stop - first])
        product += candidate_norm[first:stop]
        if first < QUERY_BLOCK - 1 or stop > band:
            low, high = max(-first, 1 - QUERY_BLOCK), min(band - first, stop - first)
            product[_outside_band(low, high, stop - first)] = np.inf
        at = product.argmin(axis=1)
        value = product[query, at]
        # As one argmin would: a smaller value wins, an equal one does not, and NaN wins.
        better = (value < squared) | (np.isnan(value) & ~np.isnan(squared))
        squared[better] = value[better]
        nearest[better] = first + at[better]
    query_norm = np.einsum("ij,ij->i", queries, queries)
    squared += query_norm
    noise = (query_norm + candidate_norm[nearest]) * (64 * length * np.finfo(float).eps)
    found = np.isfinite(squared)
    squared[found & (squared <= noise)] = 0.0
    return np.where(found, np.sqrt(squared), np.nan)


@lru_cache(maxsize=64)
def _outside_band(low: int, high: int, width: int) -> np.ndarray:
    """Where column minus row of a QUERY_BLOCK x `width` step falls outside [low, high).

    Cached, read-only: the same few steps recur in every block of every series (a month of
    hourly points needs two), and building the mask costs more than applying it. Callers
    clamp the bounds to the offsets a step has, so equal masks share one entry.
    """
    offset = np.arange(width) - np.arange(QUERY_BLOCK)[:, None]
    outside = (offset < low) | (offset >= high)
    outside.flags.writeable = False
    return outside


def nearest_past_value_distance(values: np.ndarray, memory: int) -> np.ndarray:
    """Distance from each value to the closest of the previous `memory` values (NaN at 0).

    The single-value case of `nearest_past_distance`, kept in a sorted window so that a long
    memory costs O(log memory) comparisons per point instead of `memory` subtractions. The
    loop stays in plain Python floats and lists (the interpreter's cost is the whole cost).
    """
    series = values.tolist()
    out = [math.nan] * len(series)
    window: list[float] = []
    for i, value in enumerate(series):
        k = bisect_left(window, value)
        if window:
            above = window[k] - value if k < len(window) else math.inf
            below = value - window[k - 1] if k > 0 else math.inf
            out[i] = below if below < above else above
        insort(window, value, k)
        if i >= memory:
            del window[bisect_left(window, series[i - memory])]
    return np.array(out, dtype=float)
