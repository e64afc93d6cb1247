"""Checks on the observability tables (their schema checks come from the table registry)."""

import dagster as dg
import polars as pl

from telemetry_assets import warehouse
from telemetry_assets.defs.metadata import preview
from telemetry_assets.defs.observability.assets import log_patterns
from telemetry_assets.defs.partitions import daily_partitions, days_in_run
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.schemas.tables import LOG_PATTERNS

SERIOUS_LEVELS = ["ERROR", "CRITICAL"]


@dg.asset_check(asset=log_patterns, blocking=False, partitions_def=daily_partitions)
def no_new_serious_patterns(
    context: dg.AssetCheckExecutionContext, warehouse_store: Warehouse
) -> dg.AssetCheckResult:
    """New patterns at level ERROR or worse: a warning to look at, never a stop."""
    found = warehouse.scan_table(warehouse_store.root(), LOG_PATTERNS, days_in_run(context))
    serious = (
        found.filter(
            pl.col("is_new")
            & pl.col("levels").list.eval(pl.element().is_in(SERIOUS_LEVELS)).list.any()
        )
        .select("date", "pattern_id", "template", "count")
        .collect()
    )
    return dg.AssetCheckResult(
        passed=serious.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"new_serious_patterns": serious.height, "patterns": preview(serious)},
    )


observability_checks = [no_new_serious_patterns]
