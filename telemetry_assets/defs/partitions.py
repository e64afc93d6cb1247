"""The one day partitioning shared by every asset and check, and the mappings between days.

The mappings are derived from `telemetry_assets.windows`, where each window is written once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg

from telemetry_assets.schemas.tables import Table
from telemetry_assets.windows import EARLY_DAYS, LATE_DAYS, START_DATE, days_between

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), end_offset=1, timezone="UTC"
)

SINGLE_RUN = dg.BackfillPolicy.single_run()

# events[D] reads raw_events of file days D-EARLY_DAYS .. D+LATE_DAYS.
RAW_WINDOW_MAPPING = dg.TimeWindowPartitionMapping(
    start_offset=-EARLY_DAYS, end_offset=LATE_DAYS, allow_nonexistent_upstream_partitions=True
)


def table_metadata(table: Table) -> dict[str, Any]:
    """The table's contract as Dagster shows it (the Columns tab of the asset)."""
    columns = [
        dg.TableColumn(
            name,
            str(dtype),
            constraints=dg.TableColumnConstraints(nullable=name in table.nullable),
        )
        for name, dtype in table.schema.items()
    ]
    return {
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "table_key": ", ".join(table.key),
    }


def daily_asset(table: Table | None = None, **kwargs: Any) -> Callable[..., dg.AssetsDefinition]:
    """Every asset here is day-partitioned and builds a backfill range in one run; an asset
    that writes a warehouse table is named after it and carries its column schema."""
    if table is not None:
        kwargs = {"name": table.name, "metadata": table_metadata(table), **kwargs}
    return dg.asset(partitions_def=daily_partitions, backfill_policy=SINGLE_RUN, **kwargs)


def trailing_days(days: int) -> dg.TimeWindowPartitionMapping:
    """Depend on the `days` partitions ending on the same day (windows such as MAU)."""
    return dg.TimeWindowPartitionMapping(start_offset=1 - days, end_offset=0)


def days_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    """The days a run covers: one partition or a whole single-run backfill range.

    `context.partition_key` raises on ranges, so the key range is the only safe accessor.
    """
    key_range = context.partition_key_range
    return list(
        days_between(dt.date.fromisoformat(key_range.start), dt.date.fromisoformat(key_range.end))
    )
