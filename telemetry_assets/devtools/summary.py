"""Print where the tables, reports and dashboard are, and how much room they take against the
landing files (the last thing `make demo` shows)."""

from __future__ import annotations

import sys

import polars as pl

from telemetry_assets import object_storage, settings, storage_size
from telemetry_assets.landing.files import scan_landing
from telemetry_assets.schemas.tables import EVENTS, INGEST_STATS, QUARANTINE


def main() -> int:
    root = object_storage.resolve(settings.env_value(settings.WAREHOUSE_DIR))
    print(f"warehouse: {root}")
    for table in (EVENTS, QUARANTINE, INGEST_STATS):
        files = sorted(object_storage.uri(f) for f in (root / table.name).glob("date=*/*.parquet"))
        rows = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
        print(
            f"  {table.name:<14} {rows:>9} rows in {len(files)} day files under {root / table.name}"
        )
    stats_files = sorted(
        object_storage.uri(f) for f in (root / INGEST_STATS.name).glob("date=*/*.parquet")
    )
    if stats_files:
        with pl.Config(tbl_rows=60, tbl_hide_dataframe_shape=True):
            print(pl.read_parquet(stats_files).sort("date"))
    print(
        "query them with any Parquet reader, e.g. duckdb: "
        f"select * from '{root}/events/*/*.parquet'"
    )
    landing_root = object_storage.resolve(settings.env_value(settings.LANDING_DIR))
    if landing_root.is_dir():
        landing = storage_size.landing_bytes(scan_landing(landing_root).files)
        print("\n".join(storage_size.size_lines(landing, storage_size.warehouse_bytes(root))))
    reports = object_storage.resolve(settings.env_value(settings.REPORTS_DIR))
    days = list(reports.glob("date=*/report.html"))
    if days:
        print(f"daily reports: {reports}/date=*/report.html ({len(days)} days)")
    dashboard = reports / "dashboard.html"
    if dashboard.exists():
        print(f"dashboard: {dashboard}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
