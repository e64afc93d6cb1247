"""The anomaly detector's contract (causal, robust, bounded), its lookback primitives against
their definitions, and the NAB scorer's rules."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from telemetry_assets.devtools import nab_scoring
from telemetry_assets.observability import lookback
from telemetry_assets.observability.anomaly_detection import (
    MODEL_VERSION,
    detect_frame,
    detect_series,
    score_points,
)
from telemetry_assets.observability.service_series import anomalies_of_days
from telemetry_assets.schemas.tables import ANOMALIES, METRIC_SERIES

START = dt.datetime(2025, 3, 1)


def hours(n: int) -> list[dt.datetime]:
    return [START + dt.timedelta(hours=i) for i in range(n)]


def daily_series(n: int, seed: int = 7) -> np.ndarray:
    """Hourly-looking traffic: a daily cycle plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 20 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 2, n)


def assert_well_formed(out: pl.DataFrame, n: int) -> None:
    assert out.height == n
    score = out["score"].to_numpy()
    assert not np.isnan(score).any()
    assert ((score >= 0) & (score <= 1)).all()
    assert out["is_anomaly"].null_count() == 0
    assert set(out["severity"].drop_nulls().to_list()) <= {"warning", "critical"}


def test_appending_points_never_changes_earlier_rows() -> None:
    values = daily_series(900)
    values[700] += 80
    full = detect_series(hours(900), values)
    for cut in (1, 2, 50, 300, 701):
        prefix = detect_series(hours(cut), values[:cut])
        assert prefix.equals(full.head(cut)), cut


def test_clear_spike_is_flagged_once() -> None:
    values = daily_series(600)
    values[500] += 100
    out = detect_series(hours(600), values)
    assert out["is_anomaly"][500]
    assert out["severity"][500] == "critical"
    assert out["score"][500] == out["score"].max()
    assert out["is_anomaly"][501:520].sum() == 0


def test_regular_noisy_series_is_mostly_quiet() -> None:
    out = detect_series(hours(1000), daily_series(1000, seed=3))
    assert out["is_anomaly"][100:].mean() < 0.02


def test_band_surrounds_expected_value() -> None:
    out = detect_series(hours(200), daily_series(200)).slice(50)
    assert (out["lower"] <= out["expected"]).all()
    assert (out["expected"] <= out["upper"]).all()


@pytest.mark.parametrize(
    "values",
    [
        [],
        [5.0],
        [5.0, 6.0],
        [3.0] * 300,
        [1e300, -1e300] * 150,
        [float(np.finfo(float).max)] * 100 + [-float(np.finfo(float).max)] * 100,
        [None, 1.0, float("nan"), 2.0, float("inf"), None] * 50,
    ],
    ids=["empty", "one", "two", "constant", "huge", "extreme", "gaps"],
)
def test_bad_inputs_give_bounded_scores(values: list[float | None]) -> None:
    out = detect_series(hours(len(values)), values)
    assert_well_formed(out, len(values))


def test_missing_values_are_kept_as_null_rows_with_zero_score() -> None:
    values = list(daily_series(120))
    values[100] = None
    out = detect_series(hours(120), values)
    assert out["value"][100] is None
    assert out["score"][100] == 0.0
    assert not out["is_anomaly"][100]


def test_constant_series_breaking_is_critical() -> None:
    values = [3.0] * 200 + [9.0]
    out = detect_series(hours(201), values)
    assert out["is_anomaly"][:200].sum() == 0
    assert out["severity"][200] == "critical"


def test_frame_helper_scores_each_group_like_a_single_series() -> None:
    a, b = daily_series(300, seed=1), daily_series(300, seed=2) * 1000
    frame = pl.DataFrame(
        {
            "service": ["api"] * 300 + ["db"] * 300,
            "metric": ["requests"] * 600,
            "hour": pl.Series(hours(300) * 2).dt.replace_time_zone("UTC"),
            "value": np.concatenate([a, b]),
        }
    ).reverse()
    out = detect_frame(frame)
    assert out["model_version"].unique().to_list() == [MODEL_VERSION]
    db = out.filter(pl.col("service") == "db")
    assert db["hour"].is_sorted()
    assert db.schema["hour"] == pl.Datetime("us", "UTC")
    assert db["score"].equals(detect_series(hours(300), b)["score"])


def test_frame_helper_on_empty_frame_keeps_schema() -> None:
    frame = pl.DataFrame(
        schema={"service": pl.String, "metric": pl.String, "hour": pl.Datetime, "value": pl.Float64}
    )
    out = detect_frame(frame)
    assert out.height == 0
    assert {"score", "is_anomaly", "severity", "model_version"} <= set(out.columns)


# The lookback primitives against their definitions.
def brute_nearest(values: np.ndarray, length: int, memory: int, centred: bool) -> np.ndarray:
    """Squared distance to the nearest pattern ending length..memory points earlier, directly."""
    patterns = np.lib.stride_tricks.sliding_window_view(values, length)
    if centred:
        patterns = patterns - patterns.mean(axis=1, keepdims=True)
    out = np.full(values.size, np.nan)
    for p in range(length, patterns.shape[0]):
        candidates = patterns[max(0, p - memory) : p - length + 1]
        out[p + length - 1] = ((candidates - patterns[p]) ** 2).sum(axis=1).min()
    return out


def untrimmed_nearest(values: np.ndarray, length: int, memory: int) -> np.ndarray:
    """`nearest_past_distance` with every block padded to the whole memory (no block_reach)."""
    patterns = np.lib.stride_tricks.sliding_window_view(values, length)
    count = patterns.shape[0]
    blocks = -(-count // lookback.QUERY_BLOCK)
    padded = np.zeros((memory + blocks * lookback.QUERY_BLOCK, length))
    padded[memory : memory + count] = patterns
    scratch = np.empty((lookback.QUERY_BLOCK, lookback.CANDIDATE_STEP))
    out = np.full(values.size, np.nan)
    for start in range(0, count, lookback.QUERY_BLOCK):
        stop = min(count, start + lookback.QUERY_BLOCK)
        distance = lookback._block_distance(padded, start, memory, scratch)
        out[start + length - 1 : stop + length - 1] = distance[: stop - start]
    return out


@pytest.mark.parametrize(
    ("n", "length", "memory", "centred"),
    [(60, 12, 3000, False), (700, 12, 300, False), (1300, 12, 1000, False), (600, 5, 450, True)],
)
def test_nearest_past_distance_matches_brute_force(
    n: int, length: int, memory: int, centred: bool
) -> None:
    rng = np.random.default_rng(n)
    values = daily_series(n, seed=n)
    values[rng.integers(0, n, 5)] += 50
    span = min(48, n // 4)  # an exact repeat of `span` points, n // 4 points later
    values[n // 2 : n // 2 + span] = values[n // 4 : n // 4 + span]
    fast = lookback.nearest_past_distance(values, length, memory, centred)
    slow = brute_nearest(values, length, memory, centred)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    # The expansion |q|^2 + |c|^2 - 2 q.c rounds at the scale of the patterns' norms.
    tolerance = 1e-12 * length * np.ptp(values) ** 2
    assert np.nanmax(np.abs(fast**2 - slow)) <= tolerance
    repeated = slice(n // 2 + length - 1, n // 2 + span)
    assert (slow[repeated] == 0).all() and (fast[repeated] == 0).all()


@pytest.mark.parametrize(("n", "memory"), [(30, 3000), (551, 3000), (900, 3000), (3400, 3000)])
def test_trimmed_search_equals_search_over_the_whole_memory(n: int, memory: int) -> None:
    values = daily_series(n, seed=n)
    values[n // 3] += 70
    trimmed = lookback.nearest_past_distance(values, 12, memory)
    assert trimmed.tobytes() == untrimmed_nearest(values, 12, memory).tobytes()


def test_row_nanmedian_is_numpy_nanmedian_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    for width in (1, 2, 7, 48):
        rows = rng.choice([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan], (400, width))
        rows[::3] = np.round(rng.normal(0, 2, (rows[::3].shape)))  # signed zeros, ties
        rows[rng.random(400) < 0.2] = np.nan  # some rows all missing
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanmedian(rows, axis=1)
            assert lookback.row_nanmedian(rows).tobytes() == expected.tobytes(), width


def test_trailing_max_matches_its_definition() -> None:
    values = np.round(np.random.default_rng(5).normal(0, 3, 300))
    for window in (1, 5, 48, 299, 300, 8000):
        expected = [values[max(0, i - window + 1) : i + 1].max() for i in range(values.size)]
        assert np.array_equal(lookback.trailing_max(values, window), expected), window


def test_scoring_from_a_start_gives_the_last_rows_of_the_whole_series() -> None:
    values = daily_series(700)
    values[[10, 300, 650]] = np.nan
    values[680] += 90
    whole = score_points(values)
    for start in (0, 1, 47, 48, 300, 650, 699, 700):
        part = score_points(values, start=start)
        for name, column in whole.items():
            assert part[name].tobytes() == column[start:].tobytes(), (start, name)


def test_days_scored_together_equal_each_day_scored_on_its_own_window() -> None:
    rng = np.random.default_rng(2)
    first = dt.date(2025, 3, 1)
    rows = [
        (first + dt.timedelta(days=d), h, service, metric, 50 + 10 * np.sin(h / 4) + rng.normal())
        for d in range(36)
        for h in range(24)
        for service, metric in (("api", "cpu"), ("api", "p95"), ("db", "cpu"))
        if rng.random() > 0.1 and d != 20 and not (service == "db" and d < 25)
    ]
    series = METRIC_SERIES.conform(pl.DataFrame(rows, schema=METRIC_SERIES.columns, orient="row"))
    days = [first + dt.timedelta(days=d) for d in (0, 20, 26, 33, 35, 40)]
    together = anomalies_of_days(series, days, history_days=28)
    for day in days:
        window = series.filter(pl.col("date").is_between(day - dt.timedelta(days=28), day))
        timed = window.with_columns(
            at=pl.col("date").cast(pl.Datetime("us", "UTC"))
            + pl.duration(hours=pl.col("hour").cast(pl.Int64))
        )
        alone = ANOMALIES.conform(
            detect_frame(timed, time_column="at")
            .filter(pl.col("at").dt.date() == day)
            .with_columns(date=pl.col("at").dt.date(), hour=pl.col("at").dt.hour())
        )
        assert_frame_equal(together[day], alone, check_exact=True)
    assert together[days[1]].height == 0 and together[days[-1]].height == 0
    assert together[days[-2]]["service"].unique().sort().to_list() == ["api", "db"]


# NAB scorer on hand-built files: 200 rows (probation 30), one window over rows 100..119.
STANDARD = nab_scoring.CostProfile("standard", tp=1.0, fp=0.11, fn=1.0)
WINDOW = [(100, 119)]


def nab_score(*detections: int) -> float:
    scores = np.zeros(200)
    scores[list(detections)] = 1.0
    return nab_scoring.score_corpus([(scores, WINDOW)], [STANDARD])[0].normalized


def test_nab_null_detector_scores_zero_and_perfect_scores_hundred() -> None:
    assert nab_score() == 0.0
    assert nab_score(100) == pytest.approx(100.0)


def test_nab_early_detection_beats_late_detection() -> None:
    assert nab_score(100) > nab_score(110) > nab_score(119) > nab_score()


def test_nab_only_the_first_detection_in_a_window_counts() -> None:
    assert nab_score(100, 105, 110) == nab_score(100)


def test_nab_false_positive_costs_and_probation_is_ignored() -> None:
    assert nab_score(100, 60) < nab_score(100)
    assert nab_score(100, 10) == nab_score(100)
    # Right behind a window a false alarm is nearly free; far behind it costs the full A_FP.
    assert nab_score(100, 121) > nab_score(100, 190)


def test_nab_threshold_is_chosen_over_the_corpus() -> None:
    hit = np.zeros(200)
    hit[100] = 0.9
    noisy = np.zeros(200)
    noisy[[50, 60, 70]] = 0.95
    noisy[105] = 0.5
    result = nab_scoring.score_corpus([(hit, WINDOW), (noisy, WINDOW)], [STANDARD])[0]
    assert result.threshold == 0.5
    assert 0 < result.normalized < 100


def brute_force_raw(
    files: list[tuple[np.ndarray, list[tuple[int, int]]]], threshold: float
) -> float:
    """NAB's rules applied row by row, as the paper states them, for one threshold."""
    profile, total = STANDARD, 0.0
    for scores, windows in files:
        probation = nab_scoring.probation_rows(scores.size)
        for left, right in windows:
            hits = [i for i in range(max(left, probation), right + 1) if scores[i] >= threshold]
            if not hits:
                total -= profile.fn
                continue
            position = -(right - hits[0] + 1) / (right - left + 1)
            total += nab_scoring.scaled_sigmoid(position) / nab_scoring.scaled_sigmoid(-1.0)
        for i in range(probation, scores.size):
            if scores[i] < threshold or any(lo <= i <= hi for lo, hi in windows):
                continue
            before = [(lo, hi) for lo, hi in windows if hi < i]
            if before:
                lo, hi = before[-1]
                cost = nab_scoring.scaled_sigmoid((i - hi) / (hi - lo))
            else:
                cost = -1.0
            total += profile.fp * cost
    return float(total)


def test_nab_threshold_sweep_matches_row_by_row_rules() -> None:
    rng = np.random.default_rng(11)
    files = [
        (np.round(rng.random(300), 2), [(80, 99), (200, 229)]),
        (np.round(rng.random(150) ** 3, 2), [(100, 109)]),
        (np.round(rng.random(120), 1), []),
    ]
    result = nab_scoring.score_corpus(files, [STANDARD])[0]
    candidates = np.unique(np.concatenate([s for s, _ in files]))
    best = max(brute_force_raw(files, t) for t in candidates)
    assert result.raw == pytest.approx(max(best, -3.0))
    assert result.raw == pytest.approx(brute_force_raw(files, result.threshold))
