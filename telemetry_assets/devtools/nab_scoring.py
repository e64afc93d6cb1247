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
    """Reduces one file's scores to threshold events under one profile.

    A window lying wholly in the probationary period is not scored at all, as in NAB.
    """
    if np.isnan(scores).any():
        raise ValueError("anomaly scores must be numbers, found NaN")
    probation = probation_rows(scores.size)
    outside = np.ones(scores.size, dtype=bool)
    outside[:probation] = False
    thresholds: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    scored = 0
    for left, right in bounds:
        outside[left : right + 1] = False
        if right >= probation:
            scored += 1
            window_thresholds, window_deltas = _window_events(
                scores, left, right, probation, profile
            )
            thresholds.append(window_thresholds)
            deltas.append(window_deltas)
    fp_rows = np.flatnonzero(outside)
    thresholds.append(scores[fp_rows])
    deltas.append(profile.fp * _false_positive_value(fp_rows, bounds))
    return FileEvents(
        thresholds=np.concatenate(thresholds),
        deltas=np.concatenate(deltas),
        base=-profile.fn * scored,
        windows=scored,
    )


def _window_events(
    scores: np.ndarray, left: int, right: int, probation: int, profile: CostProfile
) -> tuple[np.ndarray, np.ndarray]:
    """Threshold events of one window, starting from "missed" (-A_FN).

    Only a row scoring above every earlier row of its window is ever the first detection; such
    "record" rows are reached latest-first as the threshold falls, each moving the window's
    score to an earlier, larger reward.
    """
    first = max(left, probation)
    window_scores = scores[first : right + 1]
    position = -(right - np.arange(first, right + 1) + 1) / (right - left + 1)
    reward = profile.tp * scaled_sigmoid(position) / float(scaled_sigmoid(-1.0))
    earlier_best = np.concatenate(([-np.inf], np.maximum.accumulate(window_scores)[:-1]))
    records = np.flatnonzero(window_scores > earlier_best)[::-1]
    values = reward[records]
    previous = np.concatenate(([-profile.fn], values[:-1]))
    return window_scores[records], values - previous


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
