"""Metrics layer: daily tables over valid, deduplicated events (DESIGN §6).

Every metric depends on `ingest_stats` as well as `events`, so the blocking ingest checks
(conservation, malformed ratio) stop a bad day before any metric is computed from it.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg
import polars as pl

from telemetry_assets import alerting, day_ranges, latency_metrics, usage_metrics, warehouse
from telemetry_assets.defs.ingest.assets import events, ingest_stats
from telemetry_assets.defs.metadata import write_days
from telemetry_assets.defs.partitions import daily_asset, days_in_run, trailing_days
from telemetry_assets.defs.resources import AlertPolicy, Warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.schemas.tables import (
    ACTIVE_USERS,
    ALERTS,
    DAILY_USERS,
    EVENT_COUNTS,
    EVENTS,
    FEATURE_USAGE,
    LATENCY_BY_FEATURE,
    LATENCY_BY_SERVICE,
    SERVICE_HEALTH,
    Table,
)
from telemetry_assets.usage_metrics import Engine
from telemetry_assets.windows import USER_WINDOW_DAYS, trailing

GROUP = "metrics"


Compute = Callable[[pl.LazyFrame, Engine], pl.DataFrame]


def metric_days(
    root: StoragePath, days: list[dt.date], compute: Compute, table: Table
) -> dict[dt.date, pl.DataFrame]:
    """Each day's rows of a metric over `events`, one query per chunk of days.

    `compute` aggregates a frame of events with a `date` column by date; chunks are bounded by
    the days' event counts in the ledger, so memory does not grow with the range; a day over
    the budget is a chunk of its own and streamed (see `usage_metrics.Engine`).
    """
    sizes = day_ranges.events_by_day(root, days)
    frames: dict[dt.date, pl.DataFrame] = {}
    for chunk in day_ranges.chunks(days, sizes, day_ranges.CHUNK_ROWS):
        small = all(
            sizes.get(day, day_ranges.CHUNK_ROWS + 1) <= day_ranges.CHUNK_ROWS for day in chunk
        )
        found = compute(day_ranges.scan_days(root, EVENTS, chunk), "in-memory" if small else "auto")
        frames |= day_ranges.split_by(found, "date", chunk, table.empty)
    return frames


def daily_metric(table: Table, compute: Compute, description: str) -> dg.AssetsDefinition:
    """An asset computing one metric table per day from that day's events (by date)."""

    @daily_asset(
        table=table,
        group_name=GROUP,
        kinds={"polars", "parquet"},
        deps=[events, ingest_stats],
        description=description,
    )
    def _metric(
        context: dg.AssetExecutionContext, warehouse_store: Warehouse
    ) -> dg.MaterializeResult:
        root = warehouse_store.root()
        frames = metric_days(root, days_in_run(context), compute, table)
        return dg.MaterializeResult(metadata=write_days(context, table, root, frames))

    return _metric


event_counts = daily_metric(
    EVENT_COUNTS, usage_metrics.event_counts_by_date, "Events per channel and event name."
)
feature_usage = daily_metric(
    FEATURE_USAGE, usage_metrics.feature_usage_by_date, "Events and distinct users per feature."
)
daily_users = daily_metric(
    DAILY_USERS,
    usage_metrics.daily_users_by_date,
    "The distinct user ids of one day: the small per-day set the 7/30-day windows read.",
)
latency_by_feature = daily_metric(
    LATENCY_BY_FEATURE,
    lambda frame, engine: latency_metrics.latency_by_date(frame, "feature_id", engine),
    "Latency count, p50/p95/p99 (linear interpolation), mean and max per feature.",
)
latency_by_service = daily_metric(
    LATENCY_BY_SERVICE,
    lambda frame, engine: latency_metrics.latency_by_date(frame, "service", engine),
    "Latency per service: metric samples, spans, simulation steps — any event with a service.",
)
service_health = daily_metric(
    SERVICE_HEALTH,
    latency_metrics.service_health_by_date,
    "Per service and hour: spans, throughput, error rate, latency percentiles, cpu, memory.",
)


def first_event_day(root: StoragePath) -> dt.date | None:
    """The first day whose events table has rows, from the per-day files' row counts."""
    for day in warehouse.written_days(root, EVENTS):
        if warehouse.count_rows(root, EVENTS, day) > 0:
            return day
    return None


@daily_asset(
    table=ACTIVE_USERS,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[
        dg.AssetDep(
            daily_users,
            partition_mapping=trailing_days(USER_WINDOW_DAYS),
        ),
        ingest_stats,
    ],
)
def active_users(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """DAU/WAU/MAU from the per-day user sets of the last 30 days — never from raw events."""
    root = warehouse_store.root()
    first = first_event_day(root)
    frames: dict[dt.date, pl.DataFrame] = {}
    files_read: set[str] = set()
    days = days_in_run(context)
    for chunk in day_ranges.chunks(days):
        # The per-day user sets of the chunk's windows, read once: at most 60 small days.
        window = trailing(chunk[-1], USER_WINDOW_DAYS + len(chunk) - 1)
        files = warehouse.scan_partitions(root, DAILY_USERS.name, window)
        files_read.update(str(f).removeprefix(f"{root}/") for f in files)
        users = warehouse.scan_table(root, DAILY_USERS, window).collect().lazy()
        for day in chunk:
            frames[day] = usage_metrics.active_users(users, day, first)
    metadata = write_days(context, ACTIVE_USERS, root, frames)
    metadata["first_event_day"] = first.isoformat() if first else "none"
    metadata["files_read"] = dg.MetadataValue.json(sorted(files_read))
    return dg.MaterializeResult(metadata=metadata)


@daily_asset(table=ALERTS, group_name=GROUP, kinds={"polars", "parquet"}, deps=[service_health])
def alerts(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse, alert_policy: AlertPolicy
) -> dg.MaterializeResult:
    """service_health rows that cross the configured thresholds, with severity."""
    root = warehouse_store.root()
    rules = alert_policy.thresholds()
    frames: dict[dt.date, pl.DataFrame] = {}
    for chunk in day_ranges.chunks(days_in_run(context)):
        health = warehouse.scan_table(root, SERVICE_HEALTH, chunk).collect()
        frames |= day_ranges.split_by(alerting.alerts(health, rules), "date", chunk, ALERTS.empty)
    return dg.MaterializeResult(metadata=write_days(context, ALERTS, root, frames))


metric_assets = [
    event_counts,
    feature_usage,
    daily_users,
    active_users,
    latency_by_feature,
    latency_by_service,
    service_health,
    alerts,
]
