"""Blocking, partitioned asset checks that stop bad data before it reaches the metrics.

- conservation: the reader's counts against what reached `events`, the duplicates dropped and
  the `quarantine` rows, each counted from its own stage's files;
- malformed_ratio: quarantined / records_read per day within the configured threshold;
- table schemas: every written table read back and validated against its pandera model.
"""

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context

from telemetry_assets import ingest, staging, warehouse
from telemetry_assets.assets import metrics as metric_assets
from telemetry_assets.assets.ingest import events, ingest_stats, quarantine
from telemetry_assets.partitions import daily_partitions, days_in_run
from telemetry_assets.resources import IngestPolicy, Warehouse
from telemetry_assets.schemas.tables import (
    ACTIVE_USERS,
    ALERTS,
    EVENT_COUNTS,
    EVENTS,
    FEATURE_USAGE,
    INGEST_STATS,
    LATENCY_BY_FEATURE,
    LATENCY_BY_SERVICE,
    QUARANTINE,
    RAW_EVENTS,
    SERVICE_HEALTH,
    Table,
)

EXAMPLES = 5


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
    stats = warehouse.scan_table(root, INGEST_STATS, days).collect()
    ledger = []
    problems: list[str] = []
    for day in days:
        row = stats.filter(pl.col("date") == day)
        if row.height != 1:
            problems.append(f"{day}: ingest_stats has {row.height} rows")
            continue
        read, duplicates = row["records_read"].item(), row["duplicates_removed"].item()
        in_events = warehouse.count_rows(root, EVENTS, day)
        in_quarantine = warehouse.count_rows(root, QUARANTINE, day)
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
            "worst_ratio": float(stats["ratio"].max() or 0.0),
            "days_over_threshold": dg.MetadataValue.json(
                {row["date"].isoformat(): row["ratio"] for row in over.iter_rows(named=True)}
            ),
            "quarantined_by_reason": dg.MetadataValue.json(
                ingest.count_reasons(rejected["reason"])
            ),
            "examples": dg.MetadataValue.json(examples.to_series().to_list()),
        },
    )


def repeated_keys(scan: pl.LazyFrame, key: list[str]) -> pl.DataFrame:
    """Key values that occur more than once, found without holding the table in memory:
    keys are hashed to 64 bits, and only rows whose hash repeats are compared in full."""
    hashed = pl.struct(key).hash().alias("_key_hash")
    repeated = (
        scan.select(hashed)
        .filter(pl.col("_key_hash").is_duplicated())
        .unique()
        .collect(engine="streaming")
    )
    if repeated.is_empty():
        return scan.select(key).head(0).collect()
    suspects = scan.with_columns(hashed).join(repeated.lazy(), on="_key_hash", how="semi")
    suspects_in_memory = suspects.select(key).collect(engine="streaming")
    return suspects_in_memory.filter(pl.struct(key).is_duplicated()).unique(maintain_order=True)


def table_problems(files: list[Path], table: Table) -> list[dict[str, object]]:
    """How the Parquet files of a table break its contract (empty when they do not).

    pandera validates each file's columns, their types and order against the table's model from
    the Parquet schema alone; nulls in required columns and repeated keys are then counted by
    streaming queries, so a day of ten million events is checked in bounded memory.
    """
    model = table.model()
    for file in files:
        try:
            with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
                model.validate(pl.scan_parquet(file), lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases.head(EXAMPLES).with_columns(file=pl.lit(file.name))
            return cases.to_dicts()
    scan = pl.scan_parquet(files) if files else table.empty().lazy()
    required = [c for c in table.columns if c not in table.nullable]
    nulls = scan.select(pl.col(required).null_count()).collect(engine="streaming")
    problems: list[dict[str, object]] = [
        {"check": "not_nullable", "column": column, "null_rows": count}
        for column, count in nulls.row(0, named=True).items()
        if count
    ]
    repeated = repeated_keys(scan, list(table.key))
    if not repeated.is_empty():
        problems.append(
            {
                "check": "unique",
                "column": list(table.key),
                "repeated_keys": repeated.height,
                "examples": repeated.head(EXAMPLES).with_columns(pl.all().cast(pl.String)).rows(),
            }
        )
    return problems


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
        files = warehouse.scan_partitions(warehouse_store.root(), table.name, days_in_run(context))
        problems = table_problems(files, table)
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"failures": dg.MetadataValue.json(problems), "files": len(files)},
        )

    return _check


ingest_checks = [
    conservation,
    malformed_ratio,
    table_schema_check(events, EVENTS),
    table_schema_check(quarantine, QUARANTINE),
    table_schema_check(ingest_stats, INGEST_STATS),
]


def frame_check(
    asset: dg.AssetsDefinition,
    table: Table,
    name: str,
    description: str,
    violations: Callable[[pl.LazyFrame], pl.LazyFrame],
) -> dg.AssetChecksDefinition:
    """A check that passes when `violations` finds no rows in the table's days of the run."""

    @dg.asset_check(
        asset=asset,
        name=name,
        blocking=True,
        partitions_def=daily_partitions,
        description=description,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse
    ) -> dg.AssetCheckResult:
        root = warehouse_store.root()
        found = violations(warehouse.scan_table(root, table, days_in_run(context))).collect()
        return dg.AssetCheckResult(
            passed=found.is_empty(),
            metadata={
                "violations": found.height,
                "examples": dg.MetadataValue.json(found.head(EXAMPLES).to_dicts()),
            },
        )

    return _check


def _unordered_percentiles(frame: pl.LazyFrame) -> pl.LazyFrame:
    ordered = [c for c in ("p50", "p95", "p99", "max") if c in frame.collect_schema()]
    out_of_order = pl.any_horizontal(
        pl.col(low) > pl.col(high) for low, high in itertools.pairwise(ordered)
    )
    return frame.filter(out_of_order).with_columns(pl.col(pl.Date).cast(pl.String))


def _sums_against_events(root: Path, days: list[dt.date]) -> list[str]:
    problems = []
    counts = warehouse.scan_table(root, EVENT_COUNTS, days).collect()
    for day in days:
        counted = counts.filter(pl.col("date") == day)["events"].sum()
        rows = warehouse.count_rows(root, EVENTS, day)
        if counted != rows:
            problems.append(f"{day}: event_counts sum to {counted}, events has {rows} rows")
    return problems


@dg.asset_check(asset=metric_assets.event_counts, blocking=True, partitions_def=daily_partitions)
def event_counts_match_events(
    context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse
) -> dg.AssetCheckResult:
    """Every event is counted exactly once: the counts sum to the events table's rows."""
    problems = _sums_against_events(warehouse_store.root(), days_in_run(context))
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": dg.MetadataValue.json(problems)}
    )


metric_checks = [
    event_counts_match_events,
    frame_check(
        metric_assets.active_users,
        ACTIVE_USERS,
        "active_users_nested",
        "dau <= wau <= mau wherever the windows are defined.",
        lambda f: f.filter((pl.col("dau") > pl.col("wau")) | (pl.col("wau") > pl.col("mau"))),
    ),
    frame_check(
        metric_assets.feature_usage,
        FEATURE_USAGE,
        "feature_users_within_events",
        "A feature cannot have more distinct users than events.",
        lambda f: f.filter(pl.col("users") > pl.col("events")),
    ),
    *(
        frame_check(
            asset,
            table,
            f"{table.name}_percentiles_ordered",
            "p50 <= p95 <= p99 (<= max where the table has it).",
            _unordered_percentiles,
        )
        for asset, table in (
            (metric_assets.latency_by_feature, LATENCY_BY_FEATURE),
            (metric_assets.latency_by_service, LATENCY_BY_SERVICE),
            (metric_assets.service_health, SERVICE_HEALTH),
        )
    ),
    *(
        table_schema_check(asset, table)
        for asset, table in (
            (metric_assets.event_counts, EVENT_COUNTS),
            (metric_assets.feature_usage, FEATURE_USAGE),
            (metric_assets.active_users, ACTIVE_USERS),
            (metric_assets.latency_by_feature, LATENCY_BY_FEATURE),
            (metric_assets.latency_by_service, LATENCY_BY_SERVICE),
            (metric_assets.service_health, SERVICE_HEALTH),
            (metric_assets.alerts, ALERTS),
        )
    ),
]
