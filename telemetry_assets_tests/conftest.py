import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from telemetry_assets.definitions import ASSETS, CHECKS
from telemetry_assets.defs.resources import (
    AlertPolicy,
    IngestPolicy,
    LandingZone,
    ReportsStore,
    Warehouse,
)
from telemetry_assets.schemas.tables import Table

# Reports start a browser for the PNG (seconds per run); only the report tests need them.
WITHOUT_REPORTS = dg.AssetSelection.all() - dg.AssetSelection.groups("reports")


@dataclass
class Pipeline:
    """Runs the real asset graph in-process against temporary folders."""

    landing: Path
    warehouse: Path
    reports: Path | None = None
    max_malformed_ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.reports is None:
            self.reports = self.warehouse.parent / f"{self.warehouse.name}-reports"

    def resources(self) -> dict[str, dg.ConfigurableResource]:
        return {
            "landing": LandingZone(landing_dir=str(self.landing)),
            "warehouse_store": Warehouse(warehouse_dir=str(self.warehouse)),
            "ingest_policy": IngestPolicy(max_malformed_ratio=self.max_malformed_ratio),
            "alert_policy": AlertPolicy.from_env(),
            "reports": ReportsStore(reports_dir=str(self.reports)),
        }

    def materialize(
        self,
        first: str,
        last: str | None = None,
        selection: str | dg.AssetSelection | None = None,
        extra_assets: tuple = (),
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        assets = [*ASSETS, *CHECKS, *extra_assets]
        tags = {}
        partition_key = first
        if last is not None and last != first:
            tags = {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            }
            partition_key = None
        return dg.materialize(
            assets,
            selection=WITHOUT_REPORTS if selection is None else selection,
            partition_key=partition_key,
            tags=tags,
            resources=self.resources(),
            raise_on_error=raise_on_error,
        )

    def table(self, table: Table | str, day: dt.date | None = None) -> pl.DataFrame:
        name = table if isinstance(table, str) else table.name
        pattern = f"date={day.isoformat()}/*.parquet" if day else "date=*/*.parquet"
        files = sorted((self.warehouse / name).glob(pattern))
        return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    landing = tmp_path / "landing"
    landing.mkdir()
    return Pipeline(landing=landing, warehouse=tmp_path / "warehouse")
