"""Latency and service-health metrics: exact percentiles per feature, service and hour.

Percentiles are exact with linear interpolation (pos = (n-1)q, numpy's default and DuckDB's
`quantile_cont`); Polars' default is `nearest`, so it is set explicitly everywhere via
`latency_stats`.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from telemetry_assets.schemas.tables import LATENCY_BY_FEATURE, LATENCY_BY_SERVICE, SERVICE_HEALTH
from telemetry_assets.usage_metrics import Engine, by_date, on_day

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


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


def latency_by_date(events: pl.LazyFrame, key: str, engine: Engine = "in-memory") -> pl.DataFrame:
    """Latency stats per `key` of every `date` in the frame (one query per range)."""
    table = {"feature_id": LATENCY_BY_FEATURE, "service": LATENCY_BY_SERVICE}[key]
    stats = (
        events.filter(pl.col("latency_ms").is_not_null() & pl.col(key).is_not_null())
        .group_by("date", key)
        .agg(latency_stats(pl.col("latency_ms")))
        .sort("date", key)
    )
    return table.conform(by_date(stats, engine))


def latency_by(events: pl.LazyFrame, key: str, day: dt.date) -> pl.DataFrame:
    return latency_by_date(on_day(day, events), key)


def _payload_number(field: str) -> pl.Expr:
    return pl.col("payload").str.json_path_match(f"$.{field}").cast(pl.Float64, strict=False)


def _sample_mean(metric_type: str) -> pl.Expr:
    return pl.col("_sample").filter(pl.col("event") == metric_type).mean()


def service_health(events: pl.LazyFrame, day: dt.date) -> pl.DataFrame:
    return service_health_by_date(on_day(day, events))


def service_health_by_date(events: pl.LazyFrame, _engine: Engine = "auto") -> pl.DataFrame:
    """Per date, service and UTC hour: spans, throughput, error rate, percentiles, cpu, memory.

    Throughput, cpu and memory are the means of their metric samples. The error rate is the
    mean of `error_rate` samples, or, in hours without samples, the share of spans whose
    `status` is "error" or an HTTP code of at least 500.

    Always collected by the streaming engine, whatever the caller's choice: the payload parse
    then runs in parallel morsels, faster at both sizes measured (144 small days 0.95 s against
    1.35 s in memory, a 2.5 M-event day 1.1 s against 1.9 s) and never more than a chunk held.
    """
    spans = pl.col("channel") == "trace"
    status = pl.col("payload").str.json_path_match("$.status")
    failed = (status.str.to_lowercase() == "error") | (status.cast(pl.Float64, strict=False) >= 500)
    latency = pl.col("latency_ms")
    health = (
        events.filter(pl.col("service").is_not_null())
        # Each payload is parsed once here, not once per aggregate below (five times a row).
        .with_columns(
            hour=pl.col("timestamp").dt.hour().cast(pl.Int32),
            _sample=pl.when(pl.col("channel") == "metric").then(_payload_number("value")),
            _span_failed=pl.when(spans).then(failed.fill_null(False)),
        )
        .group_by("date", "hour", "service")
        .agg(
            requests=spans.sum().cast(pl.Int64),
            throughput=_sample_mean("throughput"),
            error_rate=pl.coalesce(_sample_mean("error_rate"), pl.col("_span_failed").mean()),
            **{
                name: latency.drop_nulls().quantile(q, interpolation="linear")
                for name, q in PERCENTILES.items()
            },
            cpu=_sample_mean("cpu"),
            memory=_sample_mean("memory"),
        )
        .sort("date", "hour", "service")
    )
    return SERVICE_HEALTH.conform(by_date(health, "auto"))
