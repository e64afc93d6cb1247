"""Blocking, partitioned checks on the ingest ledger: they stop a bad day before any metric.

- conservation: an independent count of the landing records (`record_census`, no code shared
  with the readers) against what the reader staged, file by file; and the day's ledger
  against the rows that reached `events`, the duplicates dropped and the `quarantine` rows,
  each counted from its own stage's files;
- malformed_ratio: quarantined / records_read per day within the configured threshold.
"""

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import polars as pl

from telemetry_assets import ledger, staging, warehouse
from telemetry_assets.defs.ingest.assets import ingest_stats
from telemetry_assets.defs.partitions import daily_partitions, days_in_run
from telemetry_assets.defs.resources import IngestPolicy, LandingZone, Warehouse
from telemetry_assets.landing.files import LandingFile
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.record_census import count_records
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE, RAW_EVENTS
from telemetry_assets.table_checks import EXAMPLES

# A day's landing bytes from which its census is counted in threads (below it, they only
# contend: 144 small days took 1.4 s counted in turn and 1.8-2.1 s in threads).
THREADED_CENSUS_BYTES = 32 * 1024 * 1024


def census_problems(
    root: StoragePath, day: dt.date, files: list[LandingFile], changed: list[str]
) -> list[str]:
    """Landing files of the day whose independent record count differs from their part's.

    A file that changed after this run staged it (a producer still appending to its hourly
    file) cannot be compared with its part: it is listed in `changed` instead, and the sensor's
    next run stages and checks it again.
    """
    problems = []
    compared: list[tuple[LandingFile, int, int]] = []  # (file, records read, part rows)
    parts = {staging.part_path(root, file): file for file in files if file.file_day == day}
    for path in warehouse.scan_partitions(root, RAW_EVENTS.name, [day]):
        if path not in parts:
            problems.append(f"{path.name}: a part with no landing file")
    for path, file in parts.items():
        if not path.exists():
            problems.append(f"{file.rel_path}: never staged")
            continue
        # One footer read gives both the part's key-value metadata and its row count.
        footer = warehouse.parquet_footer(path)
        metadata = {k.decode(): v.decode() for k, v in (footer.metadata or {}).items()}
        if metadata.get("fingerprint") != file.fingerprint.token():
            changed.append(file.rel_path)
            continue
        compared.append((file, int(metadata["records_read"]), footer.num_rows))
    counts = census([file for file, _, _ in compared])
    for (file, read, rows), counted in zip(compared, counts, strict=True):
        if not counted == rows == read:
            problems.append(
                f"{file.rel_path}: {counted} records in the file, the reader counted "
                f"{read}, its part holds {rows} rows"
            )
    return problems


def census(files: list[LandingFile]) -> list[int]:
    """Each file's independent record count.

    A big day's files are counted side by side: reading, inflating and numpy's scans release
    the GIL, so two threads halve a 10 M-record day's census on two cores. Small files are
    mostly Python work, which threads would only contend for.
    """

    def count(file: LandingFile) -> int:
        return count_records(file.path, file.gzipped, file.fmt.has_header)

    if sum(file.fingerprint.size for file in files) < THREADED_CENSUS_BYTES:
        return [count(file) for file in files]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(count, files))


def ledger_problems(
    root: StoragePath, day: dt.date, stats: pl.DataFrame
) -> tuple[dict[str, object], list[str]]:
    """The day's ledger row against the rows of `events` and `quarantine`."""
    row = stats.filter(pl.col("date") == day)
    if row.height != 1:
        return {}, [f"ingest_stats has {row.height} rows"]
    read, valid = row["records_read"].item(), row["valid"].item()
    duplicates, quarantined = row["duplicates_removed"].item(), row["quarantined"].item()
    in_events = warehouse.count_rows(root, EVENTS, day)
    in_quarantine = warehouse.count_rows(root, QUARANTINE, day)
    entry = {
        "date": day.isoformat(),
        "records_read": read,
        "events_rows": in_events,
        "duplicates_removed": duplicates,
        "quarantine_rows": in_quarantine,
    }
    problems = []
    if read != in_events + duplicates + in_quarantine:
        problems.append(
            f"records_read {read} != events {in_events} + duplicates {duplicates} "
            f"+ quarantine {in_quarantine}"
        )
    if valid != in_events or quarantined != in_quarantine:
        problems.append(
            f"ledger says valid {valid}, quarantined {quarantined}; the tables hold "
            f"{in_events} events and {in_quarantine} quarantine rows"
        )
    return entry, problems


@dg.asset_check(asset=ingest_stats, blocking=True, partitions_def=daily_partitions)
def conservation(
    context: dg.AssetCheckExecutionContext, landing: LandingZone, warehouse_store: Warehouse
) -> dg.AssetCheckResult:
    """Every landing record is an event, a removed duplicate or a quarantine row, once."""
    root = warehouse_store.root()
    days = days_in_run(context)
    files = landing.scan().for_days(set(days))
    stats = warehouse.scan_table(root, INGEST_STATS, days).collect()
    ledger_rows: list[dict[str, object]] = []
    problems: list[str] = []
    changed: list[str] = []
    for day in days:
        entry, found = ledger_problems(root, day, stats)
        ledger_rows.append(entry)
        found += census_problems(root, day, files, changed)
        problems.extend(f"{day}: {p}" for p in found)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "days": len(days),
            "landing_files": len(files),
            "changed_since_staging": dg.MetadataValue.json(changed),
            "problems": dg.MetadataValue.json(problems),
            "ledger": dg.MetadataValue.json(ledger_rows),
        },
    )


@dg.asset_check(asset=ingest_stats, blocking=True, partitions_def=daily_partitions)
def malformed_ratio(
    context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse, ingest_policy: IngestPolicy
) -> dg.AssetCheckResult:
    """The share of quarantined records per day stays within the configured threshold."""
    root = warehouse_store.root()
    days = days_in_run(context)
    stats = (
        warehouse.scan_table(root, INGEST_STATS, days)
        .collect()
        .with_columns(
            ratio=pl.when(pl.col("records_read") > 0)
            .then(pl.col("quarantined") / pl.col("records_read"))
            .otherwise(0.0)
        )
    )
    rejected = warehouse.scan_table(root, QUARANTINE, days).collect()
    over = stats.filter(pl.col("ratio") > ingest_policy.max_malformed_ratio)
    examples = rejected.head(EXAMPLES).select(
        pl.format(
            "{}:{} {} {}", "source_file", "source_line", "reason", pl.col("raw").str.slice(0, 200)
        )
    )
    return dg.AssetCheckResult(
        passed=over.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "threshold": ingest_policy.max_malformed_ratio,
            "worst_ratio": float(stats["ratio"].fill_null(0.0).max() or 0.0),  # type: ignore[arg-type]
            "days_over_threshold": dg.MetadataValue.json(
                {row["date"].isoformat(): row["ratio"] for row in over.iter_rows(named=True)}
            ),
            "quarantined_by_reason": dg.MetadataValue.json(
                ledger.count_reasons(rejected["reason"])
            ),
            "examples": dg.MetadataValue.json(examples.to_series().to_list()),
        },
    )


ingest_checks = [conservation, malformed_ratio]
