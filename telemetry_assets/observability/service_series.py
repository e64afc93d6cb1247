"""Hourly series per service and metric, the input of anomaly detection.

p95 latency, error rate, throughput, cpu and memory come from `service_health`; any other
metric type is the hourly mean of its samples. One day's series are stored as a small table,
so scoring day D reads the series of its history days instead of rescanning their events.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from telemetry_assets.observability.anomaly_detection import detect_frame
from telemetry_assets.schemas.tables import ANOMALIES, METRIC_SERIES

HEALTH_METRICS = ("p95", "error_rate", "throughput", "cpu", "memory")
# Metric types already summarised in service_health (latency samples feed its p95).
SUMMARISED_TYPES = ("latency", "error_rate", "throughput", "cpu", "memory")


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


def anomalies_of_day(series: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    """Day D's scored hours, each scored causally on its series' history (earlier rows only)."""
    timed = series.with_columns(
        at=pl.col("date").cast(pl.Datetime("us", "UTC"))
        + pl.duration(hours=pl.col("hour").cast(pl.Int64))
    ).collect()
    scored = detect_frame(timed, keys=("service", "metric"), time_column="at")
    return ANOMALIES.conform(
        scored.filter(pl.col("at").dt.date() == day).with_columns(
            date=pl.col("at").dt.date(), hour=pl.col("at").dt.hour().cast(pl.Int32)
        )
    )
