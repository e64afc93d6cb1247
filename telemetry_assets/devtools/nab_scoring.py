"""NAB v1.1 scoring, written from Lavin & Ahmad (2015) and Ahmad et al. (2017).

A detection is a row whose anomaly score is >= the threshold. Inside a labelled window only the
first detection counts, rewarded by a scaled sigmoid of how early it came; a window without a
detection costs A_FN; a detection outside every window costs A_FP, discounted by a sigmoid of
its distance past the preceding window (so a late alarm for a real event is cheap). Rows of the
probationary period are ignored. The threshold is chosen per profile over the whole corpus, and
the raw score is normalised so that the null detector scores 0 and a perfect one 100.

The threshold sweep is exact: every file is reduced to "events" (threshold, change of score),
so one sort of the corpus evaluates every distinct threshold at once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROBATION_FRACTION = 0.15
# NAB caps the probationary period at 15 % of 5,000 rows, so long files learn no longer.
PROBATION_CAP_ROWS = 5000
# A detection this many window widths past a window costs the full A_FP.
SIGMOID_FAR = 3.0


@dataclass(frozen=True)
class CostProfile:
    """Weights of one NAB application profile."""

    name: str
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class FileEvents:
    """A file reduced to what the threshold sweep needs.

    Lowering the threshold to `thresholds[k]` adds `deltas[k]` to the file's raw score; at an
    infinite threshold the file scores `base` (every window missed).
    """

    thresholds: np.ndarray
    deltas: np.ndarray
    base: float
    windows: int


@dataclass(frozen=True)
class ProfileResult:
    """Outcome of one profile over the corpus."""

    profile: str
    threshold: float
    raw: float
    normalized: float


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """NAB's reward curve: +1 well before a window's end, 0 at it, -1 far past it."""
    y = np.asarray(position, dtype=float)
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0
    return np.where(y > SIGMOID_FAR, -1.0, value)


def probation_rows(length: int) -> int:
    """Rows at a file's start whose detections are ignored while a detector learns."""
    return int(
        min(math.floor(PROBATION_FRACTION * length), PROBATION_FRACTION * PROBATION_CAP_ROWS)
    )


def load_profiles(path: Path) -> list[CostProfile]:
    """Reads NAB's config/profiles.json."""
    raw = json.loads(path.read_text())
    return [
        CostProfile(
            name=name,
            tp=float(body["CostMatrix"]["tpWeight"]),
            fp=float(body["CostMatrix"]["fpWeight"]),
            fn=float(body["CostMatrix"]["fnWeight"]),
        )
        for name, body in raw.items()
    ]


def window_bounds(
    timestamps: np.ndarray, windows: list[tuple[np.datetime64, np.datetime64]]
) -> list[tuple[int, int]]:
    """Row index range [first, last] of each labelled window (inclusive timestamps).

    Rows are kept in file order, so a window spans from the first to the last row whose
    timestamp it contains, even if the clock jumps back in between.
    """
    bounds = []
    for start, end in windows:
        inside = np.flatnonzero((timestamps >= start) & (timestamps <= end))
        if inside.size:
            bounds.append((int(inside[0]), int(inside[-1])))
    return sorted(bounds)


def file_events(
    scores: np.ndarray, bounds: list[tuple[int, int]], profile: CostProfile
) -> FileEvents:
    """Reduces one file's scores to threshold events under one profile."""
    n = scores.size
    probation = probation_rows(n)
    max_tp = float(scaled_sigmoid(-1.0))
    outside = np.ones(n, dtype=bool)
    thresholds: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    for left, right in bounds:
        outside[left : right + 1] = False
        first = max(left, probation)
        if first > right:
            continue
        width = right - left + 1
        idx = np.arange(first, right + 1)
        window_scores = scores[first : right + 1]
        tp_value = profile.tp * scaled_sigmoid(-(right - idx + 1) / width) / max_tp
        before = np.concatenate(([-np.inf], np.maximum.accumulate(window_scores)[:-1]))
        # Only a row scoring above every earlier row of its window is ever the first detection;
        # such "record" rows are reached latest-first as the threshold falls, each moving the
        # window's score to an earlier (larger) reward.
        records = np.flatnonzero(window_scores > before)[::-1]
        values = tp_value[records]
        previous = np.concatenate(([-profile.fn], values[:-1]))
        thresholds.append(window_scores[records])
        deltas.append(values - previous)
    outside[:probation] = False
    fp_rows = np.flatnonzero(outside)
    thresholds.append(scores[fp_rows])
    deltas.append(profile.fp * _false_positive_value(fp_rows, bounds))
    return FileEvents(
        thresholds=np.concatenate(thresholds),
        deltas=np.concatenate(deltas),
        base=-profile.fn * len(bounds),
        windows=len(bounds),
    )


def _false_positive_value(rows: np.ndarray, bounds: list[tuple[int, int]]) -> np.ndarray:
    """Unweighted cost of a detection at each row: -1 unless it trails a window closely."""
    value = np.full(rows.size, -1.0)
    if not bounds or not rows.size:
        return value
    rights = np.array([right for _, right in bounds])
    widths = np.array([right - left + 1 for left, right in bounds])
    prev = np.searchsorted(rights, rows, side="left") - 1
    has_prev = prev >= 0
    p = prev[has_prev]
    position = (rows[has_prev] - rights[p]) / np.maximum(widths[p] - 1, 1)
    value[has_prev] = scaled_sigmoid(position)
    return value


def best_threshold(events: list[FileEvents], profile: CostProfile) -> ProfileResult:
    """Chooses the corpus-wide threshold that maximises the raw score, then normalises it."""
    base = sum(e.base for e in events)
    windows = sum(e.windows for e in events)
    thresholds = np.concatenate([e.thresholds for e in events])
    deltas = np.concatenate([e.deltas for e in events])
    order = np.argsort(-thresholds, kind="stable")
    thresholds, totals = thresholds[order], base + np.cumsum(deltas[order])
    # Ties share one threshold: the score at t includes every event with threshold >= t.
    last_of_tie = np.append(thresholds[1:] != thresholds[:-1], True)
    candidates, raws = thresholds[last_of_tie], totals[last_of_tie]
    best_threshold_value, best_raw = math.inf, base
    if raws.size and raws.max() > base:
        k = int(np.argmax(raws))
        best_threshold_value, best_raw = float(candidates[k]), float(raws[k])
    return ProfileResult(
        profile=profile.name,
        threshold=best_threshold_value,
        raw=best_raw,
        normalized=normalize(best_raw, windows, profile),
    )


def normalize(raw: float, windows: int, profile: CostProfile) -> float:
    """Maps raw corpus score onto 0 (all windows missed, no detections) .. 100 (perfect)."""
    null = -profile.fn * windows
    perfect = profile.tp * windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


def score_corpus(
    files: list[tuple[np.ndarray, list[tuple[int, int]]]], profiles: list[CostProfile]
) -> list[ProfileResult]:
    """Scores (scores, window bounds) pairs of every file under every profile."""
    return [
        best_threshold([file_events(s, b, profile) for s, b in files], profile)
        for profile in profiles
    ]
