"""Hourly series per service and metric, the input of anomaly detection.

p95 latency, error rate, throughput, cpu and memory come from `service_health`; any other
metric type is the hourly mean of its samples. One day's series are stored as a small table,
so scoring day D reads the series of its history days instead of rescanning their events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import polars as pl

from telemetry_assets.observability.anomaly_detection import (
    DEFAULT_CONFIG,
    MODEL_VERSION,
    score_points,
    scored_frame,
)
from telemetry_assets.schemas.tables import ANOMALIES, METRIC_SERIES
from telemetry_assets.windows import ANOMALY_HISTORY_DAYS

HEALTH_METRICS = ("p95", "error_rate", "throughput", "cpu", "memory")
# Metric types already summarised in service_health (latency samples feed its p95).
SUMMARISED_TYPES = ("latency", "error_rate", "throughput", "cpu", "memory")
EPOCH = dt.date(1970, 1, 1)


def hourly_series(health: pl.LazyFrame, events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    """The day's series: one row per (hour, service, metric) with a value."""
    from_health = health.unpivot(
        index=["hour", "service"], on=list(HEALTH_METRICS), variable_name="metric"
    )
    samples = (
        events.filter(
            (pl.col("channel") == "metric")
            & pl.col("service").is_not_null()
            & ~pl.col("event").is_in(SUMMARISED_TYPES)
        )
        .with_columns(
            hour=pl.col("timestamp").dt.hour().cast(pl.Int32),
            value=pl.col("payload").str.json_path_match("$.value").cast(pl.Float64, strict=False),
        )
        .group_by("hour", "service", metric=pl.col("event"))
        .agg(pl.col("value").mean())
    )
    both = pl.concat([from_health.select("hour", "service", "metric", "value"), samples])
    return METRIC_SERIES.conform(
        both.filter(pl.col("value").is_not_null())
        .with_columns(date=pl.lit(day, dtype=pl.Date))
        .sort("service", "metric", "hour")
    )


def anomalies_of_days(
    series: pl.DataFrame, days: Sequence[dt.date], history_days: int = ANOMALY_HISTORY_DAYS
) -> dict[dt.date, pl.DataFrame]:
    """Each day's scored hours, each hour scored causally on its series' history.

    `series` holds the `metric_series` rows of days[0]-history_days .. days[-1], read once for
    the run of days instead of once per day. Day D is still scored on its own window, the rows
    dated D-history_days .. D (the detector's memory is longer than that window, so scoring
    the run as one longer series would change the scores), and keeps the hours that fall on
    D: the rows `detect_frame` gives on that window, with the band computed for those only.
    """
    timed = (
        series.lazy()
        .with_columns(
            at=pl.col("date").cast(pl.Datetime("us", "UTC"))
            + pl.duration(hours=pl.col("hour").cast(pl.Int64))
        )
        .sort("service", "metric", "at", maintain_order=True)
        .with_columns(scored_day=pl.col("at").dt.date(), at_hour=pl.col("at").dt.hour())
        .collect()
    )
    lengths = timed.group_by("service", "metric", maintain_order=True).len()["len"]
    columns = _Columns(
        dated=timed["date"].to_physical().to_numpy(),
        scored_day=timed["scored_day"].to_physical().to_numpy(),
        values=timed["value"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        bounds=[0, *lengths.cum_sum().to_list()],
    )
    return {day: _scored_day(timed, columns, day, history_days) for day in days}


class _Columns(NamedTuple):
    """The columns every day's scoring reads, as arrays made once for the run of days;
    series `i` is rows bounds[i]..bounds[i+1]."""

    dated: np.ndarray
    scored_day: np.ndarray
    values: np.ndarray
    bounds: list[int]


def _scored_day(
    timed: pl.DataFrame, columns: _Columns, day: dt.date, history_days: int
) -> pl.DataFrame:
    """Day `day`'s rows of `timed` (sorted by series then time), each series scored on its
    rows of the day's window."""
    dated, scored_day, values, bounds = columns
    last = (day - EPOCH).days
    rows, points = [], []
    for begin, end in pairwise(bounds):
        window = begin + np.flatnonzero(
            (dated[begin:end] >= last - history_days) & (dated[begin:end] <= last)
        )
        kept = scored_day[window] == last
        if not kept.any():
            continue
        first = int(kept.argmax())
        scored = score_points(values[window], start=first)
        rows.append(window[first:][kept[first:]])
        points.append({name: column[kept[first:]] for name, column in scored.items()})
    if not rows:
        return ANOMALIES.empty()
    joined = {name: np.concatenate([part[name] for part in points]) for name in points[0]}
    return ANOMALIES.conform(
        pl.concat(
            [
                timed[np.concatenate(rows)].select(
                    "service", "metric", date="scored_day", hour="at_hour"
                ),
                scored_frame(joined, DEFAULT_CONFIG),
            ],
            how="horizontal",
        ).with_columns(model_version=pl.lit(MODEL_VERSION))
    )
