"""Daily metrics over valid, deduplicated events: pure Polars, frames in and frames out.

Percentiles are exact with linear interpolation (pos = (n-1)q, numpy's default and DuckDB's
`quantile_cont`); Polars' default is `nearest`, so it is set explicitly everywhere via
`latency_stats`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from telemetry_assets.schemas.tables import (
    ACTIVE_USERS,
    ALERTS,
    DAILY_USERS,
    EVENT_COUNTS,
    FEATURE_USAGE,
    LATENCY_BY_FEATURE,
    LATENCY_BY_SERVICE,
    SERVICE_HEALTH,
)

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
WINDOWS = {"dau": 1, "wau": 7, "mau": 30}


def _on(day: dt.date, frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(date=pl.lit(day, dtype=pl.Date))


def latency_stats(values: pl.Expr) -> list[pl.Expr]:
    return [
        values.count().alias("count"),
        *(
            values.quantile(q, interpolation="linear").alias(name)
            for name, q in PERCENTILES.items()
        ),
        values.mean().alias("mean"),
        values.max().alias("max"),
    ]


def event_counts(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    counted = events.group_by("channel", "event").agg(events=pl.len()).sort("channel", "event")
    return EVENT_COUNTS.conform(_on(day, counted))


def feature_usage(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    used = (
        events.filter(pl.col("feature_id").is_not_null())
        .group_by("feature_id")
        .agg(events=pl.len(), users=pl.col("user_id").drop_nulls().n_unique())
        .sort("feature_id")
    )
    return FEATURE_USAGE.conform(_on(day, used))


def daily_users(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    users = events.select(pl.col("user_id").drop_nulls().unique().sort())
    return DAILY_USERS.conform(_on(day, users))


def active_users(
    users_by_day: pl.LazyFrame, day: dt.date, first_event_day: dt.date | None
) -> pl.DataFrame:
    """Distinct users over the 1/7/30 days ending on `day`, from the per-day user sets.

    A window that starts before the first day with events is null: its count would silently
    undercount users whose activity predates the data.
    """
    counts = {}
    for name, length in WINDOWS.items():
        start = day - dt.timedelta(days=length - 1)
        if first_event_day is None or start < first_event_day:
            counts[name] = pl.lit(None, dtype=pl.Int64)
        else:
            in_window = pl.col("date").is_between(start, day)
            counts[name] = pl.col("user_id").filter(in_window).n_unique()
    return ACTIVE_USERS.conform(_on(day, users_by_day.select(**counts)))


def latency_by(events: pl.LazyFrame, key: str, day: dt.date) -> pl.DataFrame:
    table = {"feature_id": LATENCY_BY_FEATURE, "service": LATENCY_BY_SERVICE}[key]
    stats = (
        events.filter(pl.col("latency_ms").is_not_null() & pl.col(key).is_not_null())
        .group_by(key)
        .agg(latency_stats(pl.col("latency_ms")))
        .sort(key)
    )
    return table.conform(_on(day, stats))


def _payload_number(field: str) -> pl.Expr:
    return pl.col("payload").str.json_path_match(f"$.{field}").cast(pl.Float64, strict=False)


def _sample_mean(metric_type: str) -> pl.Expr:
    is_sample = (pl.col("channel") == "metric") & (pl.col("event") == metric_type)
    return _payload_number("value").filter(is_sample).mean()


def service_health(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    """Per service and UTC hour: spans, throughput, error rate, latency percentiles, cpu, memory.

    Throughput, cpu and memory are the means of their metric samples. The error rate is the
    mean of `error_rate` samples, or, in hours without samples, the share of spans whose
    `status` is "error" or an HTTP code of at least 500.
    """
    spans = pl.col("channel") == "trace"
    status = pl.col("payload").str.json_path_match("$.status")
    failed = (status.str.to_lowercase() == "error") | (status.cast(pl.Float64, strict=False) >= 500)
    span_error_rate = failed.fill_null(False).filter(spans).mean()
    latency = pl.col("latency_ms")
    health = (
        events.filter(pl.col("service").is_not_null())
        .with_columns(hour=pl.col("timestamp").dt.hour().cast(pl.Int32))
        .group_by("hour", "service")
        .agg(
            requests=spans.sum().cast(pl.Int64),
            throughput=_sample_mean("throughput"),
            error_rate=pl.coalesce(_sample_mean("error_rate"), span_error_rate),
            **{
                name: latency.drop_nulls().quantile(q, interpolation="linear")
                for name, q in PERCENTILES.items()
            },
            cpu=_sample_mean("cpu"),
            memory=_sample_mean("memory"),
        )
        .sort("hour", "service")
    )
    return SERVICE_HEALTH.conform(_on(day, health))


@dataclass(frozen=True)
class Threshold:
    metric: str
    direction: str
    warning: float
    critical: float


def alerts(health: pl.DataFrame, rules: Sequence[Threshold]) -> pl.DataFrame:
    """One row per service-hour and metric that crosses a rule; the worse level wins.

    "above" rules fire when the value reaches the threshold, "below" rules when it drops under.
    """
    found = []
    for rule in rules:
        value = pl.col(rule.metric)
        above = rule.direction == "above"
        crosses_critical = value >= rule.critical if above else value < rule.critical
        crosses_warning = value >= rule.warning if above else value < rule.warning
        found.append(
            health.filter(crosses_warning.fill_null(False)).select(
                "date",
                "hour",
                "service",
                metric=pl.lit(rule.metric),
                value=value,
                threshold=pl.when(crosses_critical)
                .then(float(rule.critical))
                .otherwise(float(rule.warning)),
                severity=pl.when(crosses_critical)
                .then(pl.lit("critical"))
                .otherwise(pl.lit("warning")),
            )
        )
    if not found:
        return ALERTS.empty()
    return ALERTS.conform(pl.concat(found).sort("date", "hour", "service", "metric"))
