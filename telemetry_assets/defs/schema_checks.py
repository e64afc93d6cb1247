"""A blocking schema check for every asset that writes a warehouse table, from the registry.

The table registry (`schemas.tables.TABLES`) is the one place a table's columns, types and key
are written; the checks are generated from it, so a new table gets its check by existing.
"""

from collections.abc import Sequence

import dagster as dg

from telemetry_assets import warehouse
from telemetry_assets.defs.partitions import daily_partitions, days_in_run
from telemetry_assets.defs.resources import Warehouse
from telemetry_assets.schemas.tables import TABLES, Table
from telemetry_assets.table_checks import table_problems


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


def table_of(asset: dg.AssetsDefinition) -> Table | None:
    """The warehouse table an asset writes (assets are named after their table)."""
    return TABLES.get(asset.key.path[-1])


def schema_checks(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    return [table_schema_check(a, table) for a in assets if (table := table_of(a)) is not None]
