"""Ingest layer: raw_events (file day) -> events (event day), quarantine (file day), ingest_stats.

Thin Dagster wiring around `staging`, `dedup` and `ledger`: each asset covers one day or a
whole single-run backfill range, writes its own Parquet and reports what it did in metadata.
"""

import datetime as dt

import dagster as dg
import polars as pl

from telemetry_assets import day_ranges, dedup, ledger, settings, staging, warehouse
from telemetry_assets.defs.metadata import PREVIEW_ROWS, describe_days, preview, write_days
from telemetry_assets.defs.partitions import RAW_WINDOW_MAPPING, daily_asset, days_in_run
from telemetry_assets.defs.resources import LandingZone, Warehouse
from telemetry_assets.object_storage import StoragePath, uri
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE, RAW_EVENTS
from telemetry_assets.windows import START_DATE, raw_window

GROUP = "ingest"
EVENTS_ROW_GROUP = 131_072
# Raw bytes (Parquet) a chunk of days may cover; a bigger day is a chunk of its own.
RAW_CHUNK_BYTES = 32 * 1024 * 1024


def chunk_window(chunk: list[dt.date]) -> list[dt.date]:
    """File days whose raw rows may carry an event day of the chunk."""
    return sorted({d for day in (chunk[0], chunk[-1]) for d in raw_window(day)} | set(chunk))


def raw_chunks(root: StoragePath, days: list[dt.date]) -> list[list[dt.date]]:
    """Consecutive days computed together, bounded by the raw Parquet bytes of their windows."""
    sizes = day_ranges.bytes_by_day(root, RAW_EVENTS, chunk_window(days))
    window = {day: sum(sizes.get(d, 0) for d in raw_window(day)) for day in days}
    return list(day_ranges.chunks(days, window, RAW_CHUNK_BYTES))


@daily_asset(table=RAW_EVENTS, group_name=GROUP, kinds={"polars", "parquet"})
def raw_events(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """Every record of the day's landing files, parsed once and judged by the pandera gate.

    Partitioned by file day. A file is parsed again only when its size or content changed;
    parts of files that disappeared from the landing folder are removed.
    """
    days = days_in_run(context)
    root = warehouse_store.root()
    scan = landing.scan()
    files = scan.for_days(set(days))
    context.log.info(f"staging {len(files)} landing files for {days[0]} .. {days[-1]}")
    staged = staging.stage_files(root, files)
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


@daily_asset(table=QUARANTINE, group_name=GROUP, kinds={"polars", "parquet"}, deps=[raw_events])
def quarantine(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """Every rejected record of the file day, with its reason code and the line as written."""
    root = warehouse_store.root()
    frames: dict[dt.date, pl.DataFrame] = {}
    for chunk in raw_chunks(root, days_in_run(context)):
        found = ledger.quarantine_days(warehouse.scan_table(root, RAW_EVENTS, chunk), chunk)
        frames |= day_ranges.split_by(found, "file_day", chunk, QUARANTINE.empty)
    metadata = write_days(context, QUARANTINE, root, frames)
    rejected = pl.concat(list(frames.values())).get_column("reason")
    metadata["quarantined_by_reason"] = dg.MetadataValue.json(ledger.count_reasons(rejected))
    return dg.MaterializeResult(metadata=metadata)


@daily_asset(
    table=EVENTS,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[dg.AssetDep(raw_events, partition_mapping=RAW_WINDOW_MAPPING)],
)
def events(context: dg.AssetExecutionContext, warehouse_store: Warehouse) -> dg.MaterializeResult:
    """Valid, deduplicated events of the event day, gathered from file days D-1 .. D+late."""
    root = warehouse_store.root()
    rows: dict[dt.date, int] = {}
    paths: dict[dt.date, StoragePath] = {}
    for chunk in raw_chunks(root, days_in_run(context)):
        if len(chunk) == 1:  # a big day: streamed from the raw parts into its file
            day = chunk[0]
            raw = warehouse.scan_table(root, RAW_EVENTS, raw_window(day))
            paths[day] = warehouse.partition_dir(root, EVENTS.name, day) / warehouse.PART_NAME
            rows[day] = warehouse.sink_parquet_atomic(
                dedup.events_for_day(raw, day), paths[day], EVENTS_ROW_GROUP
            )
            continue
        # Read once (the dedup passes would each open every small part again), then in memory.
        raw = warehouse.scan_table(root, RAW_EVENTS, chunk_window(chunk)).collect().lazy()
        found = dedup.events_for_days(raw, chunk).collect()
        for day, frame in day_ranges.split_by(found, "event_day", chunk, found.clear).items():
            paths[day] = warehouse.partition_dir(root, EVENTS.name, day) / warehouse.PART_NAME
            warehouse.write_parquet_atomic(
                frame.drop("event_day"), paths[day], row_group_size=EVENTS_ROW_GROUP
            )
            rows[day] = frame.height
    context.log.info(f"events: {sum(rows.values())} rows in {len(rows)} days")
    last = paths[max(paths)]
    return dg.MaterializeResult(
        metadata=describe_days(context, rows, paths)
        | {"preview": preview(pl.scan_parquet(uri(last)).head(PREVIEW_ROWS).collect())}
    )


@daily_asset(
    table=INGEST_STATS,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    deps=[dg.AssetDep(raw_events, partition_mapping=RAW_WINDOW_MAPPING), events, quarantine],
)
def ingest_stats(
    context: dg.AssetExecutionContext, warehouse_store: Warehouse
) -> dg.MaterializeResult:
    """The day's ledger from the raw rows: records_read = valid + duplicates + quarantined."""
    root = warehouse_store.root()
    frames: dict[dt.date, pl.DataFrame] = {}
    for chunk in raw_chunks(root, days_in_run(context)):
        raw = warehouse.scan_table(root, RAW_EVENTS, chunk_window(chunk))
        if len(chunk) > 1:  # small days: read the needed columns once, count in memory
            raw = raw.select(ledger.COUNT_COLUMNS).collect().lazy()
        counts = ledger.count_days(raw, chunk)
        frames |= {day: ledger.ingest_stats_row(counts[day]) for day in chunk}
    return dg.MaterializeResult(metadata=write_days(context, INGEST_STATS, root, frames))


ingest_assets = [raw_events, quarantine, events, ingest_stats]
