"""Blocking, partitioned asset checks that stop bad data before it reaches the metrics.

- conservation: the reader's counts against what reached `events`, the duplicates dropped and
  the `quarantine` rows, each counted from its own stage's files;
- malformed_ratio: quarantined / records_read per day within the configured threshold;
- table schemas: every written table read back and validated against its pandera model.
"""

import datetime as dt
from collections import Counter
from pathlib import Path

import dagster as dg
import pandera.polars as pa
import polars as pl

from telemetry_assets import staging, warehouse
from telemetry_assets.assets.ingest import events, ingest_stats, quarantine
from telemetry_assets.partitions import daily_partitions, days_in_run
from telemetry_assets.resources import IngestPolicy, Warehouse
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE, RAW_EVENTS, Table

EXAMPLES = 5


def read_days(root: Path, table: Table, days: list[dt.date]) -> pl.DataFrame:
    files = warehouse.scan_partitions(root, table.name, days)
    if not files:
        return table.empty()
    return pl.read_parquet(files, schema=table.schema)


def count_rows(root: Path, table: Table, day: dt.date) -> int:
    files = warehouse.scan_partitions(root, table.name, [day])
    if not files:
        return 0
    return pl.scan_parquet(files).select(pl.len()).collect().item()


def reader_mismatches(root: Path, day: dt.date) -> list[str]:
    """Parts whose row count differs from the record count the line reader took."""
    problems = []
    for part in warehouse.scan_partitions(root, RAW_EVENTS.name, [day]):
        expected = int(staging.read_part_metadata(part)["records_read"])
        rows = pl.scan_parquet(part).select(pl.len()).collect().item()
        if rows != expected:
            problems.append(f"{part.name}: reader counted {expected}, part holds {rows}")
    return problems


@dg.asset_check(asset=ingest_stats, blocking=True, partitions_def=daily_partitions)
def conservation(
    context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse
) -> dg.AssetCheckResult:
    """records_read == valid + duplicates_removed + quarantined, with each term from its stage."""
    root = warehouse_store.root()
    days = days_in_run(context)
    stats = read_days(root, INGEST_STATS, days)
    ledger = []
    problems: list[str] = []
    for day in days:
        row = stats.filter(pl.col("date") == day)
        if row.height != 1:
            problems.append(f"{day}: ingest_stats has {row.height} rows")
            continue
        read, duplicates = row["records_read"].item(), row["duplicates_removed"].item()
        in_events = count_rows(root, EVENTS, day)
        in_quarantine = count_rows(root, QUARANTINE, day)
        ledger.append(
            {
                "date": day.isoformat(),
                "records_read": read,
                "events_rows": in_events,
                "duplicates_removed": duplicates,
                "quarantine_rows": in_quarantine,
            }
        )
        if read != in_events + duplicates + in_quarantine:
            problems.append(
                f"{day}: records_read {read} != events {in_events} + duplicates "
                f"{duplicates} + quarantine {in_quarantine}"
            )
        problems.extend(f"{day}: {p}" for p in reader_mismatches(root, day))
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "days": len(days),
            "problems": dg.MetadataValue.json(problems),
            "ledger": dg.MetadataValue.json(ledger),
        },
    )


@dg.asset_check(asset=ingest_stats, blocking=True, partitions_def=daily_partitions)
def malformed_ratio(
    context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse, ingest_policy: IngestPolicy
) -> dg.AssetCheckResult:
    """The share of quarantined records per day stays within the configured threshold."""
    root = warehouse_store.root()
    days = days_in_run(context)
    stats = read_days(root, INGEST_STATS, days).with_columns(
        ratio=pl.when(pl.col("records_read") > 0)
        .then(pl.col("quarantined") / pl.col("records_read"))
        .otherwise(0.0)
    )
    rejected = read_days(root, QUARANTINE, days)
    over = stats.filter(pl.col("ratio") > ingest_policy.max_malformed_ratio)
    by_reason = Counter(rejected.get_column("reason").to_list())
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
            "worst_ratio": float(stats["ratio"].max() or 0.0),
            "days_over_threshold": dg.MetadataValue.json(
                {row["date"].isoformat(): row["ratio"] for row in over.iter_rows(named=True)}
            ),
            "quarantined_by_reason": dg.MetadataValue.json(dict(by_reason.most_common())),
            "examples": dg.MetadataValue.json(examples.to_series().to_list()),
        },
    )


def table_schema_check(asset: dg.AssetsDefinition, table: Table) -> dg.AssetChecksDefinition:
    """The table's Parquet, read back without this project's writer, matches its model."""

    @dg.asset_check(
        asset=asset,
        name=f"{table.name}_schema",
        blocking=True,
        partitions_def=daily_partitions,
        description=f"{table.name} Parquet matches the warehouse contract (columns, types, key).",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse
    ) -> dg.AssetCheckResult:
        root = warehouse_store.root()
        files = warehouse.scan_partitions(root, table.name, days_in_run(context))
        frame = pl.read_parquet(files) if files else table.empty()
        try:
            table.model().validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases.head(EXAMPLES)
            return dg.AssetCheckResult(
                passed=False,
                metadata={"failures": dg.MetadataValue.json(cases.to_dicts()), "files": len(files)},
            )
        return dg.AssetCheckResult(
            passed=True, metadata={"rows": frame.height, "files": len(files)}
        )

    return _check


ingest_checks = [
    conservation,
    malformed_ratio,
    table_schema_check(events, EVENTS),
    table_schema_check(quarantine, QUARANTINE),
    table_schema_check(ingest_stats, INGEST_STATS),
]
