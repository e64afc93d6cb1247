"""Warehouse tables: their columns, types and keys (DESIGN §6), as pandera models.

This is the one place a table's columns are written down; writers select these columns in
this order and the schema checks validate what was written against the same models.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from telemetry_assets.observability.anomaly_detection import OUTPUT_COLUMNS as ANOMALY_COLUMNS
from telemetry_assets.observability.log_templates import PATTERN_SCHEMA, STATE_SCHEMA

UTC_MICROS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Table:
    name: str
    schema: pl.Schema
    key: tuple[str, ...]
    nullable: frozenset[str] = frozenset()

    @property
    def columns(self) -> list[str]:
        return self.schema.names()

    def empty(self) -> pl.DataFrame:
        return self.schema.to_frame()

    def project(self, frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
        """Exactly this table's columns, in order, with its types (still lazy)."""
        return frame.lazy().select(pl.col(c).cast(t) for c, t in self.schema.items())

    def conform(self, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        return self.project(frame).collect()

    def model(self) -> pa.DataFrameSchema:
        return pa.DataFrameSchema(
            {
                name: pa.Column(dtype, nullable=name in self.nullable)
                for name, dtype in self.schema.items()
            },
            unique=list(self.key),
            strict=True,
            ordered=True,
            name=self.name,
        )


EVENTS = Table(
    "events",
    pl.Schema(
        {  # type: ignore[arg-type]  # dtype classes and instances mixed
            "event_id": pl.String,
            "schema_version": pl.String,
            "channel": pl.String,
            "event": pl.String,
            "timestamp": UTC_MICROS,
            "user_id": pl.String,
            "session_id": pl.String,
            "feature_id": pl.String,
            "service": pl.String,
            "latency_ms": pl.Float64,
            "payload": pl.String,
            "source_file": pl.String,
            "source_line": pl.Int64,
        }
    ),
    key=("event_id",),
    nullable=frozenset({"user_id", "session_id", "feature_id", "service", "latency_ms"}),
)

QUARANTINE = Table(
    "quarantine",
    pl.Schema(
        {
            "source_file": pl.String,
            "source_line": pl.Int64,
            "reason": pl.String,
            "detail": pl.String,
            "raw": pl.String,
            "file_day": pl.Date,
        }
    ),
    key=("source_file", "source_line"),
    nullable=frozenset({"detail"}),
)

INGEST_STATS = Table(
    "ingest_stats",
    pl.Schema(
        {
            "date": pl.Date,
            "records_read": pl.Int64,
            "valid": pl.Int64,
            "duplicates_removed": pl.Int64,
            "quarantined": pl.Int64,
        }
    ),
    key=("date",),
)

# Internal staging table: every record of one landing file, parsed once, with its verdict.
RAW_EVENTS = Table(
    "raw_events",
    pl.Schema(
        {  # type: ignore[arg-type]  # dtype classes and instances mixed
            "source_file": pl.String,
            "source_line": pl.Int64,
            "file_day": pl.Date,
            "format": pl.String,
            "reason": pl.String,
            "detail": pl.String,
            "raw": pl.String,
            "event_day": pl.Date,
            "id60": pl.Int64,  # the event id's first 60 bits, see ingest.identity_prefix
            **{
                name: dtype
                for name, dtype in EVENTS.schema.items()
                if name not in ("source_file", "source_line")
            },
        }
    ),
    key=("source_file", "source_line"),
    nullable=frozenset(
        {"reason", "detail", "raw", "event_day", "id60", *EVENTS.columns}
        - {"source_file", "source_line"}
    ),
)

# --- metric tables (DESIGN §6): `date` is the event day; metrics are over `events` ---

_STATS = {
    "count": pl.Int64,
    "p50": pl.Float64,
    "p95": pl.Float64,
    "p99": pl.Float64,
    "mean": pl.Float64,
    "max": pl.Float64,
}

EVENT_COUNTS = Table(
    "event_counts",
    pl.Schema({"date": pl.Date, "channel": pl.String, "event": pl.String, "events": pl.Int64}),
    key=("date", "channel", "event"),
)

FEATURE_USAGE = Table(
    "feature_usage",
    pl.Schema({"date": pl.Date, "feature_id": pl.String, "events": pl.Int64, "users": pl.Int64}),
    key=("date", "feature_id"),
)

# Internal: the distinct users of one day, so 7- and 30-day windows never rescan events.
DAILY_USERS = Table(
    "daily_users",
    pl.Schema({"date": pl.Date, "user_id": pl.String}),
    key=("date", "user_id"),
)

ACTIVE_USERS = Table(
    "active_users",
    pl.Schema({"date": pl.Date, "dau": pl.Int64, "wau": pl.Int64, "mau": pl.Int64}),
    key=("date",),
    nullable=frozenset({"dau", "wau", "mau"}),
)

LATENCY_BY_FEATURE = Table(
    "latency_by_feature",
    pl.Schema({"date": pl.Date, "feature_id": pl.String, **_STATS}),
    key=("date", "feature_id"),
)

LATENCY_BY_SERVICE = Table(
    "latency_by_service",
    pl.Schema({"date": pl.Date, "service": pl.String, **_STATS}),
    key=("date", "service"),
)

SERVICE_HEALTH = Table(
    "service_health",
    pl.Schema(
        {
            "date": pl.Date,
            "hour": pl.Int32,
            "service": pl.String,
            "requests": pl.Int64,
            "throughput": pl.Float64,
            "error_rate": pl.Float64,
            "p50": pl.Float64,
            "p95": pl.Float64,
            "p99": pl.Float64,
            "cpu": pl.Float64,
            "memory": pl.Float64,
        }
    ),
    key=("date", "hour", "service"),
    nullable=frozenset({"throughput", "error_rate", "p50", "p95", "p99", "cpu", "memory"}),
)

ALERTS = Table(
    "alerts",
    pl.Schema(
        {
            "date": pl.Date,
            "hour": pl.Int32,
            "service": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
            "threshold": pl.Float64,
            "severity": pl.String,
        }
    ),
    key=("date", "hour", "service", "metric"),
)

# --- observability tables (DESIGN §6) ---

LOG_PATTERNS = Table(
    "log_patterns",
    pl.Schema({"date": pl.Date(), **PATTERN_SCHEMA}),
    key=("date", "pattern_id"),
)

# Internal: the template miner's state after each day, so pattern ids stay stable across days.
LOG_PATTERN_STATE = Table(
    "log_pattern_state",
    pl.Schema({"date": pl.Date(), **STATE_SCHEMA}),
    key=("date", "pattern_id"),
)

# Internal: the hourly series per service and metric of one day (history for anomalies).
METRIC_SERIES = Table(
    "metric_series",
    pl.Schema(
        {
            "date": pl.Date(),
            "hour": pl.Int32(),
            "service": pl.String(),
            "metric": pl.String(),
            "value": pl.Float64(),
        }
    ),
    key=("date", "hour", "service", "metric"),
)

ANOMALIES = Table(
    "anomalies",
    pl.Schema(
        {
            "date": pl.Date(),
            "service": pl.String(),
            "metric": pl.String(),
            "hour": pl.Int32(),
            **ANOMALY_COLUMNS,
            "model_version": pl.String(),
        }
    ),
    key=("date", "service", "metric", "hour"),
    nullable=frozenset({"expected", "lower", "upper", "severity"}),
)

# The registry: every warehouse table by name (assets that write a table are named after it).
TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        RAW_EVENTS,
        EVENTS,
        QUARANTINE,
        INGEST_STATS,
        EVENT_COUNTS,
        FEATURE_USAGE,
        DAILY_USERS,
        ACTIVE_USERS,
        LATENCY_BY_FEATURE,
        LATENCY_BY_SERVICE,
        SERVICE_HEALTH,
        ALERTS,
        LOG_PATTERNS,
        LOG_PATTERN_STATE,
        METRIC_SERIES,
        ANOMALIES,
    )
}
