"""Observability layer: anomalies in hourly service series, and patterns mined from logs.

Anomaly scores are causal: day D's hours are scored on the series of the previous
ANOMALY_HISTORY_DAYS days (read from their `metric_series` partitions) followed by D's own.
A run of days reads those partitions once per chunk of days, not once per day.

Log records are format D records and format A records with channel `log` (events with
`payload.message`). The miner's state is kept in the warehouse after every day, so pattern ids
stay stable across days and a day re-run from the same state gives the same rows.
"""

import datetime as dt

import dagster as dg
import polars as pl

from telemetry_assets import day_ranges, warehouse
from telemetry_assets.defs.ingest.assets import events, ingest_stats
from telemetry_assets.defs.metadata import preview, write_days
from telemetry_assets.defs.metrics.assets import service_health
from telemetry_assets.defs.partitions import (
    daily_asset,
    days_in_run,
    trailing_days,
)
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.observability.anomaly_detection import MODEL_VERSION
from telemetry_assets.observability.log_templates import mine_log_patterns
from telemetry_assets.observability.service_series import anomalies_of_days, hourly_series
from telemetry_assets.schemas.tables import (
    ANOMALIES,
    EVENTS,
    LOG_PATTERN_STATE,
    LOG_PATTERNS,
    METRIC_SERIES,
    SERVICE_HEALTH,
)
from telemetry_assets.windows import ANOMALY_HISTORY_DAYS, trailing

GROUP = "observability"


def log_records(events_of_day: pl.LazyFrame) -> pl.DataFrame:
    """The day's log records as the miner reads them: timestamp, service, level, message."""
    message = pl.col("payload").str.json_path_match("$.message")
    return (
        events_of_day.filter((pl.col("channel") == "log") & message.is_not_null())
        .select("timestamp", "service", level=pl.col("event"), message=message)
        .collect()
    )


def state_before(root: StoragePath, day: dt.date) -> pl.DataFrame | None:
    """The miner's state after the latest earlier day that has one."""
    earlier = [d for d in warehouse.written_days(root, LOG_PATTERN_STATE) if d < day]
    if not earlier:
        return None
    return warehouse.scan_table(root, LOG_PATTERN_STATE, [earlier[-1]]).drop("date").collect()


@daily_asset(
    table=LOG_PATTERNS,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[events, ingest_stats],
)
def log_patterns(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """Templates mined from the day's log messages, with ids stable across days."""
    root = warehouse_store.root()
    days = days_in_run(context)
    state = state_before(root, days[0])
    rows, states = {}, {}
    for day in days:
        found, state = mine_log_patterns(
            log_records(warehouse.scan_table(root, EVENTS, [day])), state
        )
        on_day = pl.lit(day, dtype=pl.Date).alias("date")
        rows[day] = LOG_PATTERNS.conform(found.with_columns(on_day))
        states[day] = LOG_PATTERN_STATE.conform(state.with_columns(on_day))
    warehouse.write_partitions(states, root, LOG_PATTERN_STATE.name)
    metadata = write_days(context, LOG_PATTERNS, root, rows)
    everything = pl.concat(list(rows.values()))
    metadata["new_patterns"] = int(everything["is_new"].sum())
    metadata["preview"] = preview(everything.sort("count", descending=True))
    return dg.MaterializeResult(metadata=metadata)


@daily_asset(
    table=METRIC_SERIES,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[service_health, events],
)
def metric_series(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """The day's hourly value per service and metric: the small history anomalies read."""
    root = warehouse_store.root()
    frames = {
        day: hourly_series(
            warehouse.scan_table(root, SERVICE_HEALTH, [day]),
            warehouse.scan_table(root, EVENTS, [day]),
            day,
        )
        for day in days_in_run(context)
    }
    return dg.MaterializeResult(metadata=write_days(context, METRIC_SERIES, root, frames))


@daily_asset(
    table=ANOMALIES,
    group_name=GROUP,
    kinds={"polars", "numpy", "parquet"},
    deps=[dg.AssetDep(metric_series, partition_mapping=trailing_days(ANOMALY_HISTORY_DAYS + 1))],
)
def anomalies(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """Every hour of every series scored against its own past: value, band, score, flag."""
    root = warehouse_store.root()
    frames: dict[dt.date, pl.DataFrame] = {}
    for chunk in day_ranges.chunks(days_in_run(context)):
        # The series of the chunk's windows, read once: at most 59 small days.
        window = trailing(chunk[-1], ANOMALY_HISTORY_DAYS + len(chunk))
        frames |= anomalies_of_days(
            warehouse.scan_table(root, METRIC_SERIES, window).collect(), chunk
        )
    metadata = write_days(context, ANOMALIES, root, frames)
    flagged = pl.concat(list(frames.values())).filter("is_anomaly")
    metadata["anomalous_hours"] = flagged.height
    metadata["model_version"] = MODEL_VERSION
    metadata["flagged"] = preview(flagged.sort("score", descending=True))
    return dg.MaterializeResult(metadata=metadata)


observability_assets = [metric_series, anomalies, log_patterns]
