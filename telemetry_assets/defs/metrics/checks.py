"""Blocking checks on the metric tables: sums against events, nested windows, ordering.

Schema checks are generated for every table in `defs.schema_checks`.
"""

import datetime as dt
import itertools
from collections.abc import Callable

import dagster as dg
import polars as pl

from telemetry_assets import warehouse
from telemetry_assets.defs.metrics.assets import (
    active_users,
    event_counts,
    feature_usage,
    latency_by_feature,
    latency_by_service,
    service_health,
)
from telemetry_assets.defs.partitions import daily_partitions, days_in_run
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.defs.schema_checks import table_of
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.schemas.tables import EVENT_COUNTS, EVENTS
from telemetry_assets.table_checks import EXAMPLES


def frame_check(
    asset: dg.AssetsDefinition,
    name: str,
    description: str,
    violations: Callable[[pl.LazyFrame], pl.LazyFrame],
) -> dg.AssetChecksDefinition:
    """A check that passes when `violations` finds no rows in the asset's table, days of the run."""
    table = table_of(asset)
    if table is None:
        raise ValueError(f"{asset.key.to_user_string()} writes no warehouse table")

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


def _sums_against_events(root: StoragePath, days: list[dt.date]) -> list[str]:
    problems = []
    counts = warehouse.scan_table(root, EVENT_COUNTS, days).collect()
    for day in days:
        counted = counts.filter(pl.col("date") == day)["events"].sum()
        rows = warehouse.count_rows(root, EVENTS, day)
        if counted != rows:
            problems.append(f"{day}: event_counts sum to {counted}, events has {rows} rows")
    return problems


@dg.asset_check(asset=event_counts, blocking=True, partitions_def=daily_partitions)
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
        active_users,
        "active_users_nested",
        "dau <= wau <= mau wherever the windows are defined.",
        lambda f: f.filter((pl.col("dau") > pl.col("wau")) | (pl.col("wau") > pl.col("mau"))),
    ),
    frame_check(
        feature_usage,
        "feature_users_within_events",
        "A feature cannot have more distinct users than events.",
        lambda f: f.filter(pl.col("users") > pl.col("events")),
    ),
    *(
        frame_check(
            asset,
            f"{asset.key.path[-1]}_percentiles_ordered",
            "p50 <= p95 <= p99 (<= max where the table has it).",
            _unordered_percentiles,
        )
        for asset in (latency_by_feature, latency_by_service, service_health)
    ),
]
