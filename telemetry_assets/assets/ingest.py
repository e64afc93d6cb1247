"""Ingest layer: raw_events (file day) -> events (event day), quarantine (file day), ingest_stats.

Thin Dagster wiring around `staging` and `ingest`: each asset covers one day or a whole
single-run backfill range, writes its own Parquet and reports what it did in metadata.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from telemetry_assets import ingest, settings, staging, warehouse
from telemetry_assets.partitions import LATE_DAYS, START_DATE, daily_asset, days_in_run
from telemetry_assets.reporting import escape
from telemetry_assets.resources import IngestPolicy, LandingZone, Warehouse
from telemetry_assets.schemas.tables import (
    EVENTS,
    INGEST_STATS,
    QUARANTINE,
    RAW_EVENTS,
    Table,
)

GROUP = "ingest"
EVENTS_ROW_GROUP = 131_072
PREVIEW_ROWS = 10


def raw_window(day: dt.date, late_days: int) -> list[dt.date]:
    """File days whose records may carry event day `day`: D-1 (early) .. D+late (late)."""
    return [day + dt.timedelta(days=offset) for offset in range(-1, late_days + 1)]


RAW_WINDOW_MAPPING = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=LATE_DAYS, allow_nonexistent_upstream_partitions=True
)


def preview(frame: pl.DataFrame) -> dg.MetadataValue:
    """The first rows as a Markdown table for the Dagster UI (data text escaped)."""
    return dg.MetadataValue.md(_markdown(frame.head(PREVIEW_ROWS)))


def _markdown(frame: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        return escape.text(value).replace("|", "\\|").replace("\n", " ")[:120]

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])


def write_days(
    table: Table, root: Path, frames: dict[dt.date, pl.DataFrame]
) -> dict[str, dg.MetadataValue | int | str]:
    """Write one partition per day and describe the result for the Dagster UI."""
    paths = [
        warehouse.write_partition(frame, root, table.name, day) for day, frame in frames.items()
    ]
    everything = pl.concat(list(frames.values())) if frames else table.empty()
    return {
        "dagster/row_count": everything.height,
        "rows_by_day": dg.MetadataValue.json({d.isoformat(): f.height for d, f in frames.items()}),
        "path": dg.MetadataValue.path(str(paths[0].parent.parent if paths else root / table.name)),
        "preview": preview(everything),
    }


@daily_asset(
    group_name=GROUP,
    kinds={"polars", "parquet"},
)
def raw_events(
    context: dg.AssetExecutionContext,
    landing: LandingZone,
    warehouse_store: Warehouse,
    ingest_policy: IngestPolicy,
) -> dg.MaterializeResult:
    """Every record of the day's landing files, parsed once and judged by the pandera gate.

    Partitioned by file day. A file is parsed again only when its size or mtime changed; parts
    of files that disappeared from the landing folder are removed.
    """
    days = days_in_run(context)
    root = warehouse_store.root()
    scan = landing.scan()
    files = scan.for_days(set(days))
    context.log.info(f"staging {len(files)} landing files for {days[0]} .. {days[-1]}")
    staged = staging.stage_files(root, files, ingest_policy.late_days)
    removed = [name for day in days for name in staging.remove_stale_parts(root, day, files)]
    report = staging.StagingReport(staged=staged, removed=removed)
    for item in staged:
        if item.read_error:
            context.log.warning(f"{item.source_file}: {item.read_error}")
    for rel_path, why in scan.skipped.items():
        context.log.warning(f"skipped landing file {rel_path}: {why}")
    before_start = sorted(f.rel_path for f in scan.files if f.file_day < START_DATE)
    if before_start:
        context.log.warning(
            f"{len(before_start)} landing files are dated before {settings.START_DATE.env}="
            f"{START_DATE} and belong to no partition; lower it to read them "
            f"(earliest: {before_start[0]})"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": report.records_read,
            "records_read": report.records_read,
            "files_parsed": sum(not s.reused for s in staged),
            "files_reused": sum(s.reused for s in staged),
            "files_removed": dg.MetadataValue.json(removed),
            "quarantined_by_reason": dg.MetadataValue.json(report.quarantined_by_reason()),
            "read_errors": dg.MetadataValue.json(
                {s.source_file: s.read_error for s in staged if s.read_error}
            ),
            "skipped_files": dg.MetadataValue.json(scan.skipped),
            "files_before_start_date": dg.MetadataValue.json(before_start),
            "path": dg.MetadataValue.path(str(root / RAW_EVENTS.name)),
        }
    )


@daily_asset(
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[raw_events],
)
def quarantine(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """Every rejected record of the file day, with its reason code and the line as written."""
    root = warehouse_store.root()
    frames = {
        day: ingest.quarantine_rows(warehouse.scan_table(root, RAW_EVENTS, [day]))
        for day in days_in_run(context)
    }
    metadata = write_days(QUARANTINE, root, frames)
    rejected = pl.concat(list(frames.values())).get_column("reason")
    metadata["quarantined_by_reason"] = dg.MetadataValue.json(ingest.count_reasons(rejected))
    return dg.MaterializeResult(metadata=metadata)


@daily_asset(
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[dg.AssetDep(raw_events, partition_mapping=RAW_WINDOW_MAPPING)],
)
def events(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse, ingest_policy: IngestPolicy
) -> dg.MaterializeResult:
    """Valid, deduplicated events of the event day, gathered from file days D-1 .. D+late."""
    root = warehouse_store.root()
    rows_by_day = {}
    for day in days_in_run(context):
        raw = warehouse.scan_table(root, RAW_EVENTS, raw_window(day, ingest_policy.late_days))
        path = warehouse.partition_dir(root, EVENTS.name, day) / warehouse.PART_NAME
        rows_by_day[day.isoformat()] = warehouse.sink_parquet_atomic(
            ingest.events_for_day(raw, day), path, EVENTS_ROW_GROUP
        )
        context.log.info(f"events {day}: {rows_by_day[day.isoformat()]} rows")
    last = warehouse.partition_dir(root, EVENTS.name, day) / warehouse.PART_NAME
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(rows_by_day.values()),
            "rows_by_day": dg.MetadataValue.json(rows_by_day),
            "path": dg.MetadataValue.path(str(root / EVENTS.name)),
            "preview": preview(pl.scan_parquet(last).head(PREVIEW_ROWS).collect()),
        }
    )


@daily_asset(
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[dg.AssetDep(raw_events, partition_mapping=RAW_WINDOW_MAPPING), events, quarantine],
)
def ingest_stats(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse, ingest_policy: IngestPolicy
) -> dg.MaterializeResult:
    """The day's ledger from the raw rows: records_read = valid + duplicates + quarantined."""
    root = warehouse_store.root()
    frames = {
        day: ingest.ingest_stats_row(
            ingest.count_day(
                warehouse.scan_table(root, RAW_EVENTS, raw_window(day, ingest_policy.late_days)),
                warehouse.scan_table(root, RAW_EVENTS, [day]),
                day,
            )
        )
        for day in days_in_run(context)
    }
    return dg.MaterializeResult(metadata=write_days(INGEST_STATS, root, frames))
