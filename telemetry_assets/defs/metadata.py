"""What assets report to the Dagster UI: row counts, paths and escaped previews.

A run over a range of days records one materialization per day. Whatever an asset returns
in its `MaterializeResult` is copied into every one of them, so the per-day facts (row
count, file) go to each day's own event and the result keeps what describes the run: its
total and a preview. A per-day table in the result would be copied once per day, quadratic
in the range (144 days: 20,736 entries per asset), and each day would show the run's total
as its row count.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from telemetry_assets import warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.reporting.markdown import markdown_table
from telemetry_assets.schemas.tables import Table

PREVIEW_ROWS = 10


def preview(frame: pl.DataFrame) -> dg.MetadataValue:
    """The first rows as a Markdown table (data text escaped)."""
    return dg.MetadataValue.md(markdown_table(frame.head(PREVIEW_ROWS)))


def describe_days(
    context: dg.AssetExecutionContext,
    rows: dict[dt.date, int],
    paths: dict[dt.date, StoragePath],
) -> dict[str, dg.MetadataValue | int | str]:
    """Each day's row count and file on its own materialization; the run's total returned."""
    for day, count in rows.items():
        context.add_asset_metadata(
            {"dagster/row_count": count, "path": dg.MetadataValue.path(str(paths[day]))},
            partition_key=day.isoformat(),
        )
    return {"rows_in_run": sum(rows.values()), "days_in_run": len(rows)}


def write_days(
    context: dg.AssetExecutionContext,
    table: Table,
    root: StoragePath,
    frames: dict[dt.date, pl.DataFrame],
) -> dict[str, dg.MetadataValue | int | str]:
    """Write one partition per day and describe the result for the Dagster UI."""
    paths = warehouse.write_partitions(frames, root, table.name)
    everything = pl.concat(list(frames.values())) if frames else table.empty()
    metadata = describe_days(context, {day: frame.height for day, frame in frames.items()}, paths)
    return metadata | {"preview": preview(everything)}
