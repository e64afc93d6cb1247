"""Metric samples and log records as rows of `events` (DESIGN §4: channel `metric` / `log`).

Warehouse rows and the rows the service just accepted go through these same selections, so a
query or a stream subscriber sees one shape whatever the source.
"""

from __future__ import annotations

import polars as pl


def metric_rows(events: pl.LazyFrame) -> pl.LazyFrame:
    """Metric samples (format C) among events rows."""
    return events.filter(pl.col("channel") == "metric").select(
        "event_id",
        "timestamp",
        "service",
        metric=pl.col("event"),
        value=pl.col("payload").str.json_path_match("$.value").cast(pl.Float64, strict=False),
    )


def log_rows(events: pl.LazyFrame) -> pl.LazyFrame:
    """Log records (format D, or format A with channel `log`) among events rows."""
    return events.filter(pl.col("channel") == "log").select(
        "event_id",
        "timestamp",
        "service",
        level=pl.col("event"),
        message=pl.col("payload").str.json_path_match("$.message"),
    )
