"""What assets report to the Dagster UI: row counts, paths and escaped previews."""

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


def write_days(
    table: Table, root: StoragePath, frames: dict[dt.date, pl.DataFrame]
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
