"""Causal anomaly detection for one numeric series, and for many series of a Polars frame.

The detector asks "has this series ever looked like this before?" rather than "is this far from
the mean?": value ranges, seasonality and noise differ so much between metrics that one
configuration can only serve them all if the score is relative to each series' own past.

* Novelty: for each point, the distance from the recent pattern (the last `length` values, for
  a few lengths) to its nearest neighbour among patterns in the previous `memory` points. A
  value never seen at that level, or a shape never seen, is far from every neighbour.
* Score: each view's distance divided by the largest such distance over the previous
  `reference` points, or by `novelty_floor` times the series' recent range if larger (a wiggle
  of a fraction of a percent of the range is never news). A ratio above 1 means "more novel
  than anything in the recent past". The views' ratios are summed, so a point new in both value
  and shape outranks one new in either, and `score = total / (total + pivot)`: 0.5 is the pivot
  (by default 2, both views at their recent record), and the scale is the same for every series
  whatever its units.
* Episodes: within `rest` points after a point, a score that does not beat the highest ratio
  seen in that span is damped, so one incident raises one alert rather than a burst of them.
* Band: `expected` is the median of the previous `band_window` points, `lower`/`upper` add
  `band_width` robust standard deviations (1.4826 * MAD); it explains the value to a reader and
  does not drive the score.

Every output of a point depends only on that point and earlier ones; appending points never
changes earlier rows (bit for bit). One configuration serves every series. Non-finite values are
treated as missing: they get score 0 and are skipped by the history.

Warm-up: scores are 0 for the first `warmup` finite points (48 by default), and novelty is
relative to the history given: feed at least `reference` points (400) before the points you
keep, i.e. 17+ days of hourly history (21 to 28 days recommended) before the scored day, so
that the score of a day does not depend on how early in the history it sits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import polars as pl

from telemetry_assets.observability.lookback import (
    nearest_past_distance,
    previous_max,
    previous_median_mad,
    previous_range,
)

MODEL_VERSION = "novelty-nn-3"

# Values are clipped to this magnitude so that squared differences of patterns stay finite.
VALUE_LIMIT = 1e150
# A novelty ratio when the reference span held no novelty at all (e.g. a flat line breaking).
UNBOUNDED_RATIO = 1e6
MAD_TO_SIGMA = 1.4826

# Columns after `timestamp`, which keeps the caller's type (naive or zoned, any unit).
OUTPUT_COLUMNS: dict[str, pl.DataType] = {
    "value": pl.Float64(),
    "expected": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
    "score": pl.Float64(),
    "is_anomaly": pl.Boolean(),
    "severity": pl.String(),
}
# The output columns that are NaN (written as null) where a value is missing or not yet known.
BAND_COLUMNS = ("value", "expected", "lower", "upper")


@dataclass(frozen=True)
class PatternScale:
    """One novelty view: patterns of `length` points compared with the previous `memory`."""

    length: int
    memory: int
    centred: bool = False


@dataclass(frozen=True)
class DetectorConfig:
    """The single configuration used for every series (tuned once, on the NAB corpus)."""

    scales: tuple[PatternScale, ...] = field(
        default_factory=lambda: (PatternScale(1, 8000), PatternScale(12, 3000))
    )
    reference: int = 400
    novelty_floor: float = 0.01
    range_memory: int = 8000
    pivot: float = 2.0
    rest: int = 100
    rest_damping: float = 0.3
    warmup: int = 48
    band_window: int = 48
    band_width: float = 3.0
    warning: float = 0.5
    critical: float = 0.75


DEFAULT_CONFIG = DetectorConfig()


def detect_series(
    timestamps: Sequence | np.ndarray | pl.Series,
    values: Sequence | np.ndarray | pl.Series,
    config: DetectorConfig = DEFAULT_CONFIG,
) -> pl.DataFrame:
    """Scores one series given in time order; one output row per input row, same order.

    Timestamps are carried through, not interpreted: gaps in time simply mean fewer points,
    and rows are never reordered or dropped.
    """
    raw = _as_float_array(values)
    if len(timestamps) != raw.size:
        raise ValueError(f"{len(timestamps)} timestamps for {raw.size} values")
    scored = scored_frame(score_points(raw, config), config)
    return scored.insert_column(0, pl.Series("timestamp", timestamps))


def score_points(
    values: np.ndarray, config: DetectorConfig = DEFAULT_CONFIG, start: int = 0
) -> dict[str, np.ndarray]:
    """The detector's numbers for points `start`.. of a series in time order (NaN = missing).

    Returns `value`, `expected`, `lower`, `upper` (NaN where missing or not yet known) and
    `score`, each computed from the series up to that point: the rows from `start` on of
    `detect_series`, as arrays. A caller keeping only the last rows passes `start`, so the
    band, which needs no other rows of its own, is computed for those rows only.
    """
    finite = np.isfinite(values)
    observed = np.clip(values[finite], -VALUE_LIMIT, VALUE_LIMIT)
    score = np.zeros(values.size)
    score[finite] = novelty_score(observed, config)
    kept = finite[start:]
    band = _band(observed, config, start=int(np.count_nonzero(finite[:start])))
    expected, lower, upper = (np.full(kept.size, np.nan) for _ in range(3))
    expected[kept], lower[kept], upper[kept] = band
    return {
        "value": values[start:],
        "expected": expected,
        "lower": lower,
        "upper": upper,
        "score": score[start:],
    }


def scored_frame(points: dict[str, np.ndarray], config: DetectorConfig) -> pl.DataFrame:
    """The OUTPUT_COLUMNS of `score_points` arrays (one series' or several concatenated).

    NaN becomes null; `is_anomaly` and `severity` follow from the score. Two alert levels, so
    a dashboard can page on critical and only list warnings.
    """
    score = points["score"]
    return pl.DataFrame(
        [
            *(pl.Series(name, points[name], nan_to_null=True) for name in BAND_COLUMNS),
            pl.Series("score", score),
            pl.Series("is_anomaly", score >= config.warning),
            pl.Series("critical", score >= config.critical),
        ]
    ).select(
        *BAND_COLUMNS,
        "score",
        "is_anomaly",
        severity=pl.when("critical")
        .then(pl.lit("critical"))
        .when("is_anomaly")
        .then(pl.lit("warning")),
    )


def novelty_score(values: np.ndarray, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Score in [0, 1] for each point of a finite series (see the module docstring)."""
    if values.size == 0:
        return np.zeros(0)
    floor = config.novelty_floor * previous_range(values, config.range_memory)
    ratio = np.sum([_scale_ratio(values, scale, floor, config) for scale in config.scales], axis=0)
    ratio[: config.warmup] = 0.0
    ratio = _fold_episodes(ratio, config)
    return ratio / (ratio + config.pivot)


def _scale_ratio(
    values: np.ndarray, scale: PatternScale, floor: np.ndarray, config: DetectorConfig
) -> np.ndarray:
    """Novelty of one view, relative to its own recent maximum."""
    with np.errstate(over="ignore", invalid="ignore"):
        distance = nearest_past_distance(values, scale.length, scale.memory, scale.centred)
    distance = np.nan_to_num(distance, nan=0.0, posinf=np.finfo(float).max)
    reference = np.maximum(previous_max(distance, config.reference), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            reference > 0,
            distance / np.where(reference > 0, reference, 1.0),
            np.where(distance > 0, UNBOUNDED_RATIO, 0.0),
        )
    return np.clip(np.nan_to_num(ratio, nan=0.0), 0.0, UNBOUNDED_RATIO)


def _fold_episodes(ratio: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """Damps points of an ongoing episode that do not exceed its strongest point so far."""
    if config.rest <= 0:
        return ratio
    recent = previous_max(ratio, config.rest)
    return np.where(ratio > recent, ratio, ratio * config.rest_damping)


def _band(values: np.ndarray, config: DetectorConfig, start: int = 0) -> tuple[np.ndarray, ...]:
    """Expected value and a robust band from the previous points (NaN until there are any),
    for the points from `start` on."""
    median, mad = previous_median_mad(values, config.band_window, start)
    limit = np.finfo(float).max
    with np.errstate(over="ignore", invalid="ignore"):
        half = np.minimum(config.band_width * MAD_TO_SIGMA * mad, limit)
        lower = np.clip(median - half, -limit, limit)
        upper = np.clip(median + half, -limit, limit)
    return median, lower, upper


def _as_float_array(values: Sequence | np.ndarray | pl.Series) -> np.ndarray:
    """Floats with missing values (None/null) as NaN."""
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(float)
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def detect_frame(
    frame: pl.DataFrame,
    keys: Sequence[str] = ("service", "metric"),
    time_column: str = "hour",
    value_column: str = "value",
    config: DetectorConfig = DEFAULT_CONFIG,
) -> pl.DataFrame:
    """Runs `detect_series` on every key group of a long frame, each sorted by time.

    Returns the key columns, the time column and the detector's outputs, with `model_version`,
    ordered by key then time. Sorting is stable, so equal timestamps keep their input order.
    The groups' outputs are gathered as arrays into one frame rather than a frame per group.
    """
    key_list = list(keys)
    ordered = frame.sort([*key_list, time_column], maintain_order=True)
    if ordered.height == 0:
        return _empty_frame(frame, key_list, time_column)
    values = _as_float_array(ordered[value_column])
    lengths = ordered.group_by(key_list, maintain_order=True).len()["len"]
    bounds = [0, *lengths.cum_sum().to_list()]
    groups = [score_points(values[start:end], config) for start, end in pairwise(bounds)]
    points = {name: np.concatenate([group[name] for group in groups]) for name in groups[0]}
    return pl.concat(
        [ordered.select(*key_list, time_column), scored_frame(points, config)], how="horizontal"
    ).with_columns(pl.lit(MODEL_VERSION).alias("model_version"))


def _empty_frame(frame: pl.DataFrame, keys: list[str], time_column: str) -> pl.DataFrame:
    """The output schema with no rows, so callers can write an empty partition."""
    schema = {name: frame.schema[name] for name in [*keys, time_column]}
    schema |= OUTPUT_COLUMNS
    schema["model_version"] = pl.String()
    return pl.DataFrame(schema=schema)
